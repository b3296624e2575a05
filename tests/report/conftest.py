from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import pg_admin_url
from tests.helpers import World, make_world
from tests.report.scenario import Scenario, build


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = make_world(db_url)
    yield w
    w.line.db.dispose()


@pytest.fixture
def scenario(world: World) -> Scenario:
    """A scenario of one's own, for a test that changes it."""
    return build(world)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """One scenario per database and module, for the tests that only read it."""
    if request.param == "sqlite":
        world = make_world(f"sqlite:///{tmp_path_factory.mktemp('review') / 'line.db'}")
        yield build(world)
        world.line.db.dispose()
        return
    admin = pg_admin_url()
    if admin is None:
        pytest.skip("PostgreSQL tests need DECONLINE_TEST_PG_URL (make test sets it when 127.0.0.1:5432 answers)")
    import psycopg

    url = make_url(admin)
    name = f"deconline_r_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        world = make_world(url.set(database=name).render_as_string(hide_password=False))
        yield build(world)
        world.line.db.dispose()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
