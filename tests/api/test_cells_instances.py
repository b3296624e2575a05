"""Two service processes on one database, deciding by area: submissions that conflict across cell
boundaries never both end accepted, distant ones do not wait for each other, and each process
learns what the other changed in the cells it locks. Real processes, real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import httpx
import pytest

from deconline.core.cells import CELL_DEG
from tests.conftest import fresh_pg_database
from tests.helpers import World, at, box, make_world, server

EDGE_LON = 21 * CELL_DEG  # 5.25: a cell boundary
EDGE_LAT = 201 * CELL_DEG  # 50.25


def polygon(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "footprint": {"type": "Polygon", "coordinates": [ring]},
        "lower_m": 1000.0,
        "upper_m": 2000.0,
        "start": at(1),
        "end": at(2),
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def two(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[World, dict[str, httpx.Client]]]:
    """Two instances for the whole module (the tests work in different places), per database."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            db_url = f"sqlite:///{tmp_path_factory.mktemp('cells') / 'line.db'}"
        else:
            db_url = stack.enter_context(fresh_pg_database("deconline_cells"))
        yield from _two_instances(db_url)


def _two_instances(db_url: str) -> Iterator[tuple[World, dict[str, httpx.Client]]]:
    world = make_world(db_url)
    world.line.db.dispose()
    with server(db_url) as first, server(db_url) as second:
        clients = {
            who: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {world.tokens[who]}"}, timeout=60)
            for who, url in (("alpha", first), ("charlie", second))
        }
        yield world, clients
        for client in clients.values():
            client.close()


def _file(world: World, client: httpx.Client, who: str, volume: dict[str, Any]) -> dict[str, Any]:
    body = {"volumes": [volume]}
    response = client.post("/v1/operations", **world.signed_request(who, "POST", "/v1/operations", body))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _race(world: World, clients: dict[str, httpx.Client], mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = pool.map(lambda w, v: _file(world, clients[w], w, v)["state"], ["alpha", "charlie"], [mine, theirs])
        return sorted(done)


def _shifted(volume: dict[str, Any], dlat: float) -> dict[str, Any]:
    ring = [[x, y + dlat] for x, y in volume["footprint"]["coordinates"][0]]
    return {**volume, "footprint": {"type": "Polygon", "coordinates": [ring]}}


def test_conflicts_across_cell_boundaries_are_never_both_accepted(two: tuple[World, dict[str, httpx.Client]]) -> None:
    world, clients = two
    cases = {
        # neighbours 3 km apart on either side of a cell edge (the minimum is 5 km)
        "across an edge": (box(EDGE_LON - 0.035, 50.1, 1.0), box(EDGE_LON + 0.035, 50.1, 1.0)),
        # two footprints touching exactly on the edge
        "on the edge": (
            polygon(EDGE_LON - 0.02, 50.1, EDGE_LON, 50.12),
            polygon(EDGE_LON, 50.1, EDGE_LON + 0.02, 50.12),
        ),
        # one over four cells, the other in a corner of one of them
        "spanning cells": (box(EDGE_LON, EDGE_LAT, 20.0), box(EDGE_LON + 0.2, EDGE_LAT + 0.15, 0.5)),
        # across a corner, diagonally
        "across a corner": (
            polygon(EDGE_LON - 0.02, EDGE_LAT - 0.02, EDGE_LON - 0.005, EDGE_LAT - 0.005),
            polygon(EDGE_LON + 0.005, EDGE_LAT + 0.005, EDGE_LON + 0.02, EDGE_LAT + 0.02),
        ),
    }
    for round_ in range(3):
        for name, (mine, theirs) in cases.items():
            dlat = round_ * 2.0  # each round in fresh cells, same geometry relative to the grid
            states = _race(world, clients, _shifted(mine, dlat), _shifted(theirs, dlat))
            assert states == ["accepted", "proposed"], (name, round_, states)


def test_distant_submissions_are_both_accepted(two: tuple[World, dict[str, httpx.Client]]) -> None:
    world, clients = two
    for i in range(4):
        states = _race(world, clients, box(2.0 + i, 45.0, 3.0), box(2.0 + i, 47.0, 3.0))
        assert states == ["accepted", "accepted"]


def test_each_process_learns_what_the_other_changed_in_its_cells(two: tuple[World, dict[str, httpx.Client]]) -> None:
    world, clients = two
    alpha, charlie = clients["alpha"], clients["charlie"]
    here, far = box(8.0, 48.0, 3.0), box(8.0, 40.0, 3.0)
    mine = _file(world, alpha, "alpha", here)
    assert mine["state"] == "accepted"
    theirs = _file(world, charlie, "charlie", here)  # the other process saw alpha's operation
    assert theirs["state"] == "proposed"

    body = {"version": mine["version"], "volumes": [far]}
    path = f"/v1/operations/{mine['id']}"
    moved = alpha.put(path, **world.signed_request("alpha", "PUT", path, body))
    assert moved.status_code == 200, moved.text
    body = {"version": theirs["version"]}
    check = f"/v1/operations/{theirs['id']}/check"
    checked = charlie.post(check, **world.signed_request("charlie", "POST", check, body))
    assert checked.status_code == 200, checked.text
    assert checked.json()["state"] == "accepted"  # the second process learned alpha's operation left

    body = {"version": moved.json()["version"], "volumes": [here]}
    back = alpha.put(path, **world.signed_request("alpha", "PUT", path, body))
    assert back.json()["state"] == "proposed"  # and the first learned charlie's was accepted there
