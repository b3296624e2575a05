"""Shared fixtures: a fresh database per test on SQLite and, when available, PostgreSQL."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# pytest-xdist's workers start with COLUMNS=80, which rich reads once, when the CLI's consoles are
# made: without it they size themselves as in any other run (the tests that need a width set it).
os.environ.pop("COLUMNS", None)

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import make_url

from deconline.store.db import Database, normalise_url
from tests.helpers import World, make_world, world_on

PG_ENV = "DECONLINE_TEST_PG_URL"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pg_admin_url() -> str | None:
    value = os.environ.get(PG_ENV)
    return normalise_url(value) if value else None


def _pg_skip_reason() -> str:
    return f"PostgreSQL tests need {PG_ENV} (make test sets it when 127.0.0.1:5432 answers)"


@contextmanager
def fresh_pg_database(prefix: str = "deconline_t", template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database for a test or a module, empty or a copy of ``template`` (a
    database's URL), dropped afterwards (skips without one)."""
    admin = pg_admin_url()
    if admin is None:
        pytest.skip(_pg_skip_reason())
    import psycopg

    url = make_url(admin)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    with fresh_pg_database() as url:
        yield url


@dataclass
class Template:
    """A database made once per test process, copied for each test that wants one like it."""

    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)


class Templates:
    """Migrated databases ('empty') and ones holding a World ('world'), per kind of database, made
    when first asked for: migrating and building a World took 0.3-0.5 s of every test."""

    def __init__(self, folder: Path, stack: ExitStack) -> None:
        self._folder, self._stack, self._made = folder, stack, dict[tuple[str, str], Template]()

    def get(self, kind: str, content: str) -> Template:
        if (kind, content) not in self._made:
            if kind == "sqlite":
                url = f"sqlite:///{self._folder / f'{content}.db'}"
            else:
                url = self._stack.enter_context(fresh_pg_database(f"deconline_tpl_{content}"))
            template = Template(url)
            if content == "world":
                world = make_world(url)
                template.tokens, template.keys = dict(world.tokens), dict(world.keys)
                world.line.db.dispose()
            else:
                database = Database(url)
                database.migrate()
                database.dispose()
            self._made[(kind, content)] = template
        return self._made[(kind, content)]

    @contextmanager
    def copy(self, kind: str, content: str, tmp_path: Path) -> Iterator[tuple[str, Template]]:
        """A copy of the template for one test, removed afterwards (SQLite: with ``tmp_path``)."""
        template = self.get(kind, content)
        if kind == "sqlite":
            source = Path(make_url(template.url).database or "")
            for suffix in ("", "-wal"):  # no connection is open: the pair is consistent
                if Path(f"{source}{suffix}").exists():
                    shutil.copyfile(f"{source}{suffix}", tmp_path / f"line.db{suffix}")
            yield f"sqlite:///{tmp_path / 'line.db'}", template
            return
        with fresh_pg_database(template=template.url) as url:
            yield url, template


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    with ExitStack() as stack:
        yield Templates(tmp_path_factory.mktemp("templates"), stack)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, templates: Templates) -> Iterator[str]:
    """The same test on both databases, migrated and empty (``empty_db_url`` for one not yet migrated)."""
    with templates.copy(request.param, "empty", tmp_path) as (url, _):
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on both databases, new and empty (to test the migrations themselves)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'line.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def world_copy(request: pytest.FixtureRequest, tmp_path: Path, templates: Templates) -> Iterator[tuple[str, Template]]:
    """The database of ``world`` (a copy of one World made per test process), and its template."""
    with templates.copy(request.param, "world", tmp_path) as copied:
        yield copied


@pytest.fixture
def world(world_copy: tuple[str, Template]) -> Iterator[World]:
    """A line with parties and an agreement in force, on each database (see tests.helpers)."""
    url, template = world_copy
    w = world_on(url, template.tokens, template.keys)
    yield w
    w.line.db.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session (Playwright's sync API allows one at a time in a
    process: the console's tests and the review's share it, whichever order a worker runs them in)."""
    from tests.web.conftest import CHROMIUM, CHROMIUM_FLAGS, SKIP

    if SKIP is not None:
        pytest.skip(SKIP)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


# The files whose tests take longest (``--durations=0``, summed per file), run first: with a file's
# tests kept in one process, the two processes then end together instead of one finishing a long
# file alone at the end. Only the order changes: a stale list costs time, never a result.
RUN_FIRST = (
    "tests/api/test_instances.py",
    "tests/test_worker.py",
    "tests/web/test_console.py",
    "tests/api/test_concurrency.py",
    "tests/api/test_alerting.py",
    "tests/service/test_notice_invariants.py",
    "tests/api/test_event_order.py",
    "tests/test_feed_loopback.py",
    "tests/api/test_statements.py",
    "tests/test_feed.py",
    "tests/test_client.py",
    "tests/api/test_cells_instances.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: k for k, path in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(RUN_FIRST)))
