"""Feed the demo's aircraft through the API, as each party's own system would.

One thread per party posts its aircraft (:mod:`deconline.demo_flights`) every second with
:class:`deconline.client.Client`, signed with the party's key, to the server's own URL. A failure
(server busy, 5xx, connection lost) is told in one line when it starts and when feeding resumes,
and the next second simply tries again: the feed never stops the server, and the server never
stops the feed.

``deconline serve --demo-feed DIR`` runs it in the server's process (:func:`serve_with_feed`);
``DIR`` holds ``tokens.json`` and the parties' keys, as ``deconline demo`` writes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from deconline.client import Client, describe
from deconline.demo import read_tokens
from deconline.demo_flights import fleet, fleet_states, parties

Say = Callable[[str], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class Credentials:
    party: str
    token: str
    key: Path


def credentials(directory: Path) -> list[Credentials]:
    """Each flying party's token and key file from ``directory``; ``ValueError`` saying what is missing."""
    try:
        tokens = read_tokens(directory)
    except (OSError, ValueError) as exc:
        raise ValueError(f"no demo tokens in {directory} ({exc}): run 'deconline demo --keys-dir {directory}'") from exc
    found = []
    for party in parties():
        key = directory / f"{party}.key"
        if party not in tokens:
            raise ValueError(f"{directory}/tokens.json has no token for {party}")
        if not key.is_file():
            raise ValueError(f"no key file {key}")
        found.append(Credentials(party, tokens[party], key))
    return found


def feed_party(
    url: str,
    who: Credentials,
    epoch: float,
    stop: threading.Event,
    say: Say,
    period_s: float = 1.0,
    clock: Clock = time.time,
    transport: Any = None,
) -> int:
    """Post ``who``'s aircraft every ``period_s`` until ``stop``; returns how many batches were stored."""
    stored = 0
    failing: str | None = None
    # One resend of an unanswered batch, then the next period's fresher one: live tracks age fast.
    timeout = max(5.0, 5 * period_s)
    client = Client(
        url, who.token, key=who.key, timeout=timeout, transport=transport, retries=1, backoff_s=period_s / 2
    )
    try:
        while not stop.is_set():
            reports = [s.report() for s in fleet_states(clock(), epoch, who.party)]
            try:
                client.post_tracks(reports)
            except Exception as exc:  # one line, whatever it is: the feed goes on
                reason = describe(exc)
                if reason != failing:
                    say(f"demo feed {who.party}: {reason}; trying again every {period_s:g} s")
                    failing = reason
            else:
                stored += 1
                if failing is not None:
                    say(f"demo feed {who.party}: feeding again")
                    failing = None
            stop.wait(period_s - (clock() - epoch) % period_s)
    finally:
        client.close()
    return stored


def wait_for_server(url: str, stop: threading.Event, poll_s: float = 0.2, transport: Any = None) -> bool:
    """Poll ``/healthz`` until it answers (True) or ``stop`` is set (False)."""
    with httpx.Client(base_url=url, timeout=2.0, transport=transport) as http:
        while not stop.is_set():
            try:
                if http.get("/healthz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            stop.wait(poll_s)
    return False


def start(
    url: str,
    who: list[Credentials],
    stop: threading.Event,
    say: Say,
    period_s: float = 1.0,
    clock: Clock = time.time,
) -> threading.Thread:
    """A thread that waits for the server, then runs one feeder thread per party until ``stop``.

    The scenario starts (``epoch``) when the server first answers, so its story begins then."""

    def run() -> None:
        if not wait_for_server(url, stop):
            return
        epoch = clock()
        aircraft = ", ".join(f"{a.track_id} ({a.party})" for a in fleet())
        say(f"demo feed: {aircraft} report to {url} every {period_s:g} s")
        feeders = [
            threading.Thread(
                target=feed_party, args=(url, w, epoch, stop, say, period_s, clock), name=f"demo feed {w.party}"
            )
            for w in who
        ]
        for feeder in feeders:
            feeder.daemon = True
            feeder.start()
        for feeder in feeders:
            feeder.join()

    thread = threading.Thread(target=run, name="demo feed", daemon=True)
    thread.start()
    return thread


def local_url(host: str, port: int) -> str:
    """Where this process reaches its own server."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve_with_feed(config: Any, who: list[Credentials], say: Say) -> None:
    """Run the server (a ``uvicorn.Config``) with the feed beside it; Ctrl-C stops the feed first,
    then the server."""
    import uvicorn

    stop = threading.Event()

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            stop.set()  # before the server closes, so the feed does not report it going away
            super().handle_exit(sig, frame)

    server = Server(config)
    feed = start(local_url(config.host, config.port), who, stop, say)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        feed.join(timeout=5)
