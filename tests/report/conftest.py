from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import World, make_world
from tests.report.scenario import Scenario, build


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = make_world(db_url)
    yield w
    w.line.db.dispose()


@pytest.fixture
def scenario(world: World) -> Scenario:
    return build(world)
