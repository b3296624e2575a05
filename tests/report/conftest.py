from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import fresh_pg_database
from tests.helpers import World, make_world
from tests.report.scenario import Scenario, build


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
    with fresh_pg_database("deconline_r") as url:
        world = make_world(url)
        yield build(world)
        world.line.db.dispose()
