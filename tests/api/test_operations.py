"""Filing, conflicts, disclosure, lifecycle and party isolation through the API, on both databases."""

from __future__ import annotations

import json

import shapely
from shapely.geometry import shape

from tests.helpers import World, box, circle


def test_clear_operation_is_accepted(world: World) -> None:
    op = world.file("alpha", box(), name="patrol")
    assert op["state"] == "accepted"
    assert op["notices"] == []
    assert op["version"] == 1 and op["party"] == "alpha" and op["name"] == "patrol"


def test_conflicting_operation_stays_proposed_with_a_notice(world: World) -> None:
    world.file("alpha", box(10.0, 50.0, 5))
    op = world.file("charlie", box(10.05, 50.0, 5))
    assert op["state"] == "proposed"
    [notice] = op["notices"]
    assert notice["kind"] == "operation"
    assert notice["other_party"] == "alpha"
    assert notice["other_ref"].startswith("ref_")


def test_notice_discloses_only_the_conflicting_part_of_ones_own_volume(world: World) -> None:
    mine = box(10.0, 50.0, 10, lower=1000, upper=5000, start_h=0, end_h=6)
    theirs = box(10.2, 50.1, 3, lower=2000, upper=2500, start_h=2, end_h=3)
    other = world.file("alpha", theirs)
    op = world.file("charlie", mine)
    [notice] = op["notices"]
    part = notice["conflict"]
    own = shape(mine["footprint"])
    conflict_footprint = shape(part["footprint"])
    assert own.buffer(1e-9).contains(conflict_footprint)
    assert conflict_footprint.area < own.area
    assert 1000 <= part["lower_m"] <= part["upper_m"] <= 5000
    assert part["start"] >= mine["start"] and part["end"] <= mine["end"]
    text = json.dumps(op)
    assert other["id"] not in text
    for lon, lat in theirs["footprint"]["coordinates"][0]:
        assert str(round(lon, 9)) not in text and str(round(lat, 9)) not in text


def test_opaque_ref_is_stable_and_differs_per_viewer(world: World) -> None:
    world.file("alpha", box())
    first = world.file("charlie", box(lower=1500, upper=2500))["notices"][0]["other_ref"]
    second = world.file("charlie", box(lower=1200, upper=2400))["notices"][0]["other_ref"]
    assert first == second


def test_group_members_count_as_one_side(world: World) -> None:
    world.file("alpha", box())
    assert world.file("bravo", box())["state"] == "accepted"


def test_circles_and_polygons_conflict(world: World) -> None:
    world.file("alpha", circle(10.0, 50.0, 3000))
    assert world.file("charlie", circle(10.1, 50.0, 3000))["state"] == "proposed"  # ~7.2 km apart, gap ~1.2 km
    assert world.file("charlie", circle(10.3, 50.0, 3000))["state"] == "accepted"


def test_time_buffer_and_vertical_minimum(world: World) -> None:
    world.file("alpha", box(start_h=1, end_h=2, lower=1000, upper=2000))
    assert world.file("charlie", box(start_h=2.1, end_h=3))["state"] == "proposed"  # 6 min < 10 min buffer
    assert world.file("charlie", box(start_h=2.5, end_h=3))["state"] == "accepted"
    assert world.file("charlie", box(lower=2200, upper=3000))["state"] == "proposed"  # 200 m < 300 m
    assert world.file("charlie", box(lower=2300, upper=3000))["state"] == "accepted"  # gap == v is separated


def test_proposed_operations_do_not_block_others(world: World) -> None:
    world.file("alpha", box())
    assert world.file("charlie", box())["state"] == "proposed"
    assert world.file("charlie", box(lower=1200))["state"] == "proposed"


def test_astm_volume4d_is_accepted_like_the_native_shape(world: World) -> None:
    native = box(10.0, 50.0, 5)
    ring = native["footprint"]["coordinates"][0][:-1]
    astm = {
        "volume": {
            "outline_polygon": {"vertices": [{"lat": lat, "lng": lon} for lon, lat in ring]},
            "altitude_lower": {"value": 1000, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": 2000, "reference": "W84", "units": "M"},
        },
        "time_start": {"value": native["start"], "format": "RFC3339"},
        "time_end": {"value": native["end"], "format": "RFC3339"},
    }
    filed = world.file("alpha", astm)
    assert filed["state"] == "accepted"
    assert shape(filed["volumes"][0]["footprint"]).equals_exact(shape(native["footprint"]), 1e-8)
    astm_circle = {
        "volume": {
            "outline_circle": {"center": {"lat": 50.0, "lng": 10.0}, "radius": {"value": 2000, "units": "M"}},
            "altitude_lower": {"value": 1500, "reference": "W84", "units": "M"},
            "altitude_upper": {"value": 2500, "reference": "W84", "units": "M"},
        },
        "time_start": {"value": native["start"], "format": "RFC3339"},
        "time_end": {"value": native["end"], "format": "RFC3339"},
    }
    assert world.file("charlie", astm_circle)["state"] == "proposed"


def test_hazards_are_public_and_give_hazard_notices(world: World) -> None:
    response = world.post(
        "charlie",
        "/v1/hazards",
        {
            "kind": "air_defence",
            "name": "SAM",
            "volume": circle(11, 50, 20_000, lower=0, upper=20_000, start_h=0, end_h=12),
        },
    )
    assert response.status_code == 201, response.text
    hazard = response.json()
    for who in ("alpha", "bravo", "charlie"):
        assert [h["id"] for h in world.get(who, "/v1/hazards").json()] == [hazard["id"]]
    op = world.file("alpha", box(11.1, 50.0, 2))
    assert op["state"] == "proposed"
    [notice] = op["notices"]
    assert notice["kind"] == "hazard" and notice["hazard_id"] == hazard["id"]
    # Only its declarer can withdraw it; then the operation can be accepted.
    assert world.delete("alpha", f"/v1/hazards/{hazard['id']}").status_code == 403
    assert world.delete("charlie", f"/v1/hazards/{hazard['id']}").status_code == 200
    checked = world.post("alpha", f"/v1/operations/{op['id']}/check", {"version": op["version"]}).json()
    assert checked["state"] == "accepted" and checked["notices"] == []


def test_revision_needs_the_latest_version(world: World) -> None:
    world.file("alpha", box())
    op = world.file("charlie", box())
    stale = world.put("charlie", f"/v1/operations/{op['id']}", {"version": 7, "volumes": [box(12, 50)]})
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    moved = world.put("charlie", f"/v1/operations/{op['id']}", {"version": 1, "volumes": [box(12, 50)]})
    assert moved.status_code == 200, moved.text
    assert moved.json()["state"] == "accepted" and moved.json()["version"] == 2 and moved.json()["notices"] == []


def test_revision_does_not_conflict_with_its_own_old_volumes(world: World) -> None:
    op = world.file("charlie", box())
    revised = world.put("charlie", f"/v1/operations/{op['id']}", {"version": 1, "volumes": [box(10.01, 50)]})
    assert revised.json()["state"] == "accepted"


def test_lifecycle(world: World) -> None:
    op = world.file("alpha", box())
    path = f"/v1/operations/{op['id']}/state"
    assert world.post("alpha", path, {"version": 1, "state": "ended"}).status_code == 409
    active = world.post("alpha", path, {"version": 1, "state": "active"}).json()
    assert active["state"] == "active" and active["version"] == 2
    ended = world.post("alpha", path, {"version": 2, "state": "ended"}).json()
    assert ended["state"] == "ended"
    refused = world.post("alpha", path, {"version": 3, "state": "cancelled"})
    assert refused.status_code == 409 and "final" in refused.json()["detail"]
    # An ended operation no longer blocks anyone.
    assert world.file("charlie", box())["state"] == "accepted"


def test_proposed_cannot_be_forced_to_accepted(world: World) -> None:
    world.file("alpha", box())
    op = world.file("charlie", box())
    response = world.post("charlie", f"/v1/operations/{op['id']}/state", {"version": 1, "state": "accepted"})
    assert response.status_code == 409 and "still conflicts" in response.json()["detail"]
    assert world.get("charlie", f"/v1/operations/{op['id']}").json()["state"] == "proposed"


def test_cancelling_frees_the_space(world: World) -> None:
    first = world.file("alpha", box())
    second = world.file("charlie", box())
    world.post("alpha", f"/v1/operations/{first['id']}/state", {"version": 1, "state": "cancelled"})
    checked = world.post("charlie", f"/v1/operations/{second['id']}/check", {"version": 1}).json()
    assert checked["state"] == "accepted"


def test_conflict_part_of_a_circle_lies_in_the_circle(world: World) -> None:
    world.file("alpha", box(10.05, 50.0, 2))
    op = world.file("charlie", circle(10.0, 50.0, 5000))
    part = shape(op["notices"][0]["conflict"]["footprint"])
    assert not part.is_empty
    assert shapely.distance(part.centroid, shape({"type": "Point", "coordinates": [10.0, 50.0]})) < 0.08
