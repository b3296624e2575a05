"""Every kind of bad input gets a 4xx naming the field and the rule, and changes nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import World, box, circle

Mutation = Callable[[dict[str, Any]], Any]


def _set(path: list[Any], value: Any) -> Mutation:
    def apply(volume: dict[str, Any]) -> None:
        target = volume
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return apply


def _bow_tie(v: dict[str, Any]) -> None:
    v["footprint"]["coordinates"] = [[[10, 50], [10.1, 50.1], [10.1, 50], [10, 50.1], [10, 50]]]


def _unclosed(v: dict[str, Any]) -> None:
    v["footprint"]["coordinates"][0].pop()


def _many_vertices(v: dict[str, Any]) -> None:
    import math

    ring = [
        [10 + 0.1 * math.cos(2 * math.pi * i / 1001), 50 + 0.1 * math.sin(2 * math.pi * i / 1001)] for i in range(1001)
    ]
    v["footprint"]["coordinates"] = [[*ring, ring[0]]]


def _wide(v: dict[str, Any]) -> None:
    v["footprint"]["coordinates"] = [[[0, 45], [15, 45], [15, 46], [0, 46], [0, 45]]]


CASES: list[tuple[str, Mutation, str]] = [
    ("self-intersecting polygon", _bow_tie, "Self-intersection"),
    ("unclosed ring", _unclosed, "not closed"),
    ("more than 1,000 vertices", _many_vertices, "at most 1000"),
    ("latitude out of range", _set(["footprint", "coordinates", 0, 0], [10, 91]), "latitude"),
    ("longitude out of range", _set(["footprint", "coordinates", 0, 0], [181, 50]), "longitude"),
    ("lower >= upper", _set(["lower_m"], 2000), "below upper_m"),
    ("altitude too high", _set(["upper_m"], 30_001), "outside"),
    ("altitude too low", _set(["lower_m"], -501), "outside"),
    ("start >= end", _set(["end"], "2036-11-23T06:30:00Z"), "before end"),
    ("longer than 24 h", _set(["end"], "2036-11-25T06:00:00Z"), "at most 86400"),
    ("wider than 1,000 km", _wide, "km wide"),
    ("time without a zone", _set(["start"], "2036-11-23T07:00:00"), "timezone"),
    ("unknown field", _set(["target"], "x"), "Extra inputs"),
    ("missing field", lambda v: v.pop("upper_m"), "Field required"),
    ("wrong geometry type", _set(["footprint", "type"], "LineString"), "tag"),
    ("string for a number", _set(["lower_m"], "high"), "number"),
    ("empty ring", _set(["footprint", "coordinates"], [[]]), "at least 4"),
    (
        "hole in polygon",
        lambda v: v["footprint"]["coordinates"].append([[10, 50], [10.001, 50], [10, 50.001], [10, 50]]),
        "holes",
    ),
]


def _count(world: World) -> int:
    return len(world.get("alpha", "/v1/operations").json())


@pytest.mark.parametrize(("name", "mutate", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_volume_is_refused_with_a_clear_message(world: World, name: str, mutate: Mutation, message: str) -> None:
    volume = copy.deepcopy(box())
    mutate(volume)
    before = _count(world)
    response = world.post("alpha", "/v1/operations", {"volumes": [volume]})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"][:3] == ["body", "volumes", 0], detail
    assert message.lower() in response.text.lower(), response.text
    assert _count(world) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(world: World, literal: str) -> None:
    body = '{"volumes": [' + str(box()).replace("'", '"').replace("1000.0", literal) + "]}"
    response = world.client.post(
        "/v1/operations", content=body, headers={**world.headers("alpha"), "content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert _count(world) == 0


def test_circle_rules(world: World) -> None:
    no_radius = circle(10, 50, 1000)
    del no_radius["radius_m"]
    response = world.post("alpha", "/v1/operations", {"volumes": [no_radius]})
    assert response.status_code == 422 and "radius_m" in response.text
    zero = world.post("alpha", "/v1/operations", {"volumes": [circle(10, 50, 0)]})
    assert zero.status_code == 422
    polygon_with_radius = dict(box(), radius_m=100)
    assert world.post("alpha", "/v1/operations", {"volumes": [polygon_with_radius]}).status_code == 422


def test_body_shape_errors(world: World) -> None:
    headers = {**world.headers("alpha"), "content-type": "application/json"}
    assert world.client.post("/v1/operations", content=b"{not json", headers=headers).status_code == 422
    assert world.client.post("/v1/operations", content=b"[]", headers=headers).status_code == 422
    assert world.post("alpha", "/v1/operations", {"volumes": []}).status_code == 422
    assert world.post("alpha", "/v1/operations", {"volumes": [box()], "name": "x" * 201}).status_code == 422


def test_body_over_one_mebibyte_is_413(world: World) -> None:
    body = b'{"name": "' + b"x" * (1024 * 1024) + b'", "volumes": []}'
    headers = {**world.headers("alpha"), "content-type": "application/json"}
    response = world.client.post("/v1/operations", content=body, headers=headers)
    assert response.status_code == 413


def test_odd_ids_and_numbers_never_make_a_500(world: World) -> None:
    for path in ("/v1/operations/%00", "/v1/operations/" + "x" * 5000, "/v1/agreements/99999999999999999999"):
        assert world.get("alpha", path).status_code in (404, 422), path
    assert world.post("alpha", "/v1/operations", {"volumes": [box()], "name": "nul\x00"}).status_code in (201, 422)
    response = world.post("alpha", "/v1/operations/op_x/state", {"version": 2**40, "state": "active"})
    assert response.status_code == 422
