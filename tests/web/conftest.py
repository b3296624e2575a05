"""Browser tests: Debian's chromium driven by Playwright against a real ``deconline serve``.

They are skipped, with the reason, when chromium or Playwright is missing (``make test`` installs
chromium with apt-get when it runs as root). Every page is watched: a console error, an uncaught
exception or a request to any host but the service fails the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from deconline.record.signing import generate_key, public_key_b64, write_private_key
from deconline.service import agreements, operations, parties
from deconline.service.actors import Actor
from deconline.service.line import Line
from deconline.store.db import Database
from tests.helpers import server

CHROMIUM = Path("/usr/bin/chromium")
# headless on a closed network: no background connections that this machine would refuse
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PARTIES = (("alpha", "allies"), ("bravo", "allies"), ("charlie", None), ("delta", None))
AGREEMENT: dict[str, Any] = {
    "version": 1,
    "title": "console tests",
    "parties": [p for p, _ in PARTIES],
    "h_strategic_m": 5000.0,
    "v_m": 300.0,
    "time_buffer_s": 600.0,
    "ack_deadlines_s": {"default": 300, "deconfliction_request": 600, "comm_check": 3600},
    "comm_check_interval_s": 86_400,
}
# alpha's accepted patrol, where charlie will draw its own operation on the map
PATROL_CENTRE = (18.0, 57.0)


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return "needs Debian's chromium at /usr/bin/chromium (make test installs it with apt-get when run as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs Playwright for Python (pip install -e '.[dev]')"
    return None


SKIP = _skip_reason()
needs_browser = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


@dataclass
class Site:
    url: str
    db_url: str
    tokens: dict[str, str]
    keys: dict[str, Path]
    patrol_id: str


def square(lon: float, lat: float, half_deg: float) -> list[list[float]]:
    return [
        [lon - half_deg, lat - half_deg],
        [lon + half_deg, lat - half_deg],
        [lon + half_deg, lat + half_deg],
        [lon - half_deg, lat + half_deg],
        [lon - half_deg, lat - half_deg],
    ]


def build_site(directory: Path) -> tuple[str, dict[str, str], dict[str, Path], str]:
    """Four parties (alpha and bravo in group 'allies'), a signed agreement, alpha's accepted patrol."""
    from shapely.geometry import Polygon

    from deconline.core.volumes import Volume
    from deconline.record.signing import sign_document

    db_url = f"sqlite:///{directory / 'line.db'}"
    line = Line(Database(db_url), evaluate_every_s=0)
    admin = parties.initialise(line)
    assert admin is not None
    tokens = {"admin": admin, "auditor": parties.issue_token(line, "auditor")}
    keys: dict[str, Path] = {}
    signing = {}
    for party, group in PARTIES:
        key = generate_key()
        signing[party] = key
        keys[party] = directory / "keys" / f"{party}.key"
        write_private_key(key, keys[party])
        tokens[party] = parties.add_party(line, party, public_key_b64(key), group)
    proposed = agreements.propose(line, Actor("admin"), AGREEMENT)
    for party, group in PARTIES:
        document = proposed.agreement.document()
        agreements.sign(line, Actor("party", party, group), 1, sign_document(signing[party], document))
    now = time.time()
    lon, lat = PATROL_CENTRE
    patrol = Volume(Polygon(square(lon, lat, 0.3)[:-1]), 0.0, 1000.0, 9000.0, now, now + 6 * 3600)
    filed = operations.file(line, Actor("party", "alpha", "allies"), operations.Draft([patrol], "alpha patrol"))
    line.db.dispose()
    return db_url, tokens, keys, filed.id


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if SKIP is not None:
        pytest.skip(SKIP)
    directory = tmp_path_factory.mktemp("console")
    db_url, tokens, keys, patrol_id = build_site(directory)
    with server(db_url) as url:
        yield Site(url, db_url, tokens, keys, patrol_id)


@dataclass
class DemoSite:
    """The demo scenario (``make run``) served, its aircraft fed as ``serve --demo-feed`` does."""

    url: str
    tokens: dict[str, str]
    keys: dict[str, Path]
    epoch: float


# Where in its cycle the demo's story starts (deconline.demo_flights.TANKER_GAP): 90 s in, the tanker
# SHELL71 (orange-af) is a minute from losing separation with VIPER11 (blue-af): a warning until 150 s,
# a loss of separation until 210 s.
DEMO_STARTS_AT_S = 90.0


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSite]:
    if SKIP is not None:
        pytest.skip(SKIP)
    from deconline import demo, demo_feed

    directory = tmp_path_factory.mktemp("demo")
    db_url = f"sqlite:///{directory / 'demo.db'}"
    keys_dir = directory / "keys"
    line = Line(Database(db_url), evaluate_every_s=0)
    tokens = demo.load(line, keys_dir)
    line.db.dispose()
    demo.write_tokens(keys_dir, tokens)
    keys = {party: keys_dir / f"{party}.key" for party, _ in demo.PARTIES}
    with server(db_url) as url:
        stop = threading.Event()
        epoch = time.time() - DEMO_STARTS_AT_S
        feeders = [
            threading.Thread(target=demo_feed.feed_party, args=(url, who, epoch, stop, lambda _: None), daemon=True)
            for who in demo_feed.credentials(keys_dir)
        ]
        for feeder in feeders:
            feeder.start()
        try:
            yield DemoSite(url, tokens, keys, epoch)
        finally:
            stop.set()
            for feeder in feeders:
                feeder.join(timeout=10)


@dataclass
class Watched:
    """A page and everything it did wrong: console errors, uncaught exceptions, foreign requests."""

    page: Any
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    def assert_clean(self, expected_status: tuple[int, ...] = ()) -> None:
        """``expected_status``: HTTP errors the test provoked on purpose (Chromium logs each one)."""
        unexpected = [e for e in self.errors if not any(f"status of {code}" in e for code in expected_status)]
        assert unexpected == [], unexpected
        assert self.foreign == [], self.foreign


def open_console(browser: Any, url: str) -> Watched:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    watched = Watched(page)
    allowed = urlsplit(url).netloc

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).netloc == allowed:
            route.continue_()
        else:
            watched.foreign.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page.on("console", lambda m: watched.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(f"uncaught: {e}"))
    page.goto(url + "/")
    return watched


def sign_in(watched: Watched, token: str, key: Path | None) -> None:
    page = watched.page
    page.get_by_label("API token").fill(token)
    if key is not None:
        page.locator("#signin-key").set_input_files(str(key))
    page.get_by_role("button", name="Sign in").click()


def open_record(browser: Any, site: Site, who: str) -> Watched:
    """The console signed in as ``who``, on the Record tab once its checkpoint has verified."""
    watched = open_console(browser, site.url)
    sign_in(watched, site.tokens[who], site.keys[who])
    watched.page.get_by_role("tab", name="Record").click()
    watched.page.get_by_text("checkpoint signature verified with the service key").wait_for(timeout=15_000)
    return watched
