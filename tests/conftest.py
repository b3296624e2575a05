"""Shared fixtures: a fresh database per test on SQLite and, when available, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# pytest-xdist's workers start with COLUMNS=80, which rich reads once, when the CLI's consoles are
# made: without it they size themselves as in any other run (the tests that need a width set it).
os.environ.pop("COLUMNS", None)

import pytest
from sqlalchemy.engine import make_url

from deconline.store.db import normalise_url
from tests.helpers import World, make_world

PG_ENV = "DECONLINE_TEST_PG_URL"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pg_admin_url() -> str | None:
    value = os.environ.get(PG_ENV)
    return normalise_url(value) if value else None


def _pg_skip_reason() -> str:
    return f"PostgreSQL tests need {PG_ENV} (make test sets it when 127.0.0.1:5432 answers)"


@contextmanager
def fresh_pg_database(prefix: str = "deconline_t") -> Iterator[str]:
    """A new, empty PostgreSQL database for a test or a module, dropped afterwards (skips without one)."""
    admin = pg_admin_url()
    if admin is None:
        pytest.skip(_pg_skip_reason())
    import psycopg

    url = make_url(admin)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
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


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'line.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    """A line with parties and an agreement in force, on each database (see tests.helpers)."""
    w = make_world(db_url)
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
