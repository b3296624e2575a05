"""What a report may say beside its kinematics (selected altitude, callsign, NACp, velocity age):
stored, read by the evaluator, shown to the track's own side only, recorded only when said."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from deconline.service import tactical
from deconline.store.models import TrackState, UnaffiliatedTrack
from tests.api.test_tactical import head_on, report, send
from tests.api.test_unaffiliated import BATCH, BATCH_DIGEST, adopt, batch_entries, post_unaffiliated
from tests.helpers import World

INTENT: dict[str, Any] = {"selected_altitude_m": 10_668.0, "callsign": " rch123 ", "nac_p": 9, "velocity_age_s": 11.3}
SHOWN = {"selected_altitude_m": 10_668.0, "callsign": "RCH123", "nac_p": 9, "velocity_age_s": 11.3}


def track(world: World, who: str, track_id: str) -> dict[str, Any]:
    [found] = [t for t in world.get(who, "/v1/tracks").json() if t["id"] == track_id]
    return found


def test_the_fields_are_stored_and_read_by_the_evaluator(world: World) -> None:
    send(world, "alpha", report(world, "A1", 0, 9000, 90, **INTENT), report(world, "A2", 5000, 9000, 90))
    with world.line.db.read() as session:
        a1 = session.get(TrackState, ("alpha", "A1"))
        a2 = session.get(TrackState, ("alpha", "A2"))
        assert a1 is not None and a2 is not None
        assert (a1.selected_alt_m, a1.callsign, a1.nac_p, a1.velocity_age_s) == (10_668.0, "RCH123", 9, 11.3)
        assert (a2.selected_alt_m, a2.callsign, a2.nac_p, a2.velocity_age_s) == (None, None, None, None)
        live = {s.track_id: s for s in tactical.live_tracks(session, 0.0)}
    assert (live["A1"].selected_alt_m, live["A2"].selected_alt_m) == (10_668.0, None)
    assert {k: track(world, "alpha", "A1")[k] for k in SHOWN} == SHOWN
    assert not set(SHOWN) & set(track(world, "alpha", "A2"))  # nothing said, nothing shown
    # The newest report is the whole state: one that does not say a field leaves it unknown.
    world.clock.now += 1
    send(world, "alpha", report(world, "A1", 100, 9000, 90, callsign="RCH123"))
    assert {k: track(world, "alpha", "A1").get(k) for k in SHOWN} == {**dict.fromkeys(SHOWN), "callsign": "RCH123"}
    tactical.evaluate(world.line)  # the evaluator reads the new column without trouble


def test_only_the_own_side_sees_them(world: World) -> None:
    """alpha's and charlie's aircraft in alert: each sees the other's kinematics, as before, but not
    its intent, callsign or quality; alpha's group (bravo) sees alpha's."""
    send(world, "alpha", report(world, "A1", -15_000, 9000, 90, **INTENT))
    send(world, "charlie", report(world, "C1", 15_000, 9000, 270, selected_altitude_m=9000.0, callsign="C1X"))
    tactical.evaluate(world.line)
    [alert] = world.get("charlie", "/v1/alerts").json()
    assert alert["intruder"]["track"] == "A1" and not set(SHOWN) & set(alert["intruder"]["state"])
    assert not set(SHOWN) & set(track(world, "charlie", "A1"))
    assert {k: track(world, "charlie", "C1")[k] for k in ("selected_altitude_m", "callsign")} == {
        "selected_altitude_m": 9000.0,
        "callsign": "C1X",
    }
    for who in ("alpha", "bravo"):
        assert {k: track(world, who, "A1")[k] for k in SHOWN} == SHOWN
    assert not set(SHOWN) & set(track(world, "alpha", "C1"))  # bravo is not in the alert: it does not see C1
    adopt(world, disclosure={"tracks_of_others": "always"})
    assert not set(SHOWN) & set(track(world, "charlie", "A1"))  # shown always: still the kinematics only


def test_unaffiliated_traffic_shows_its_callsign_to_everyone(world: World) -> None:
    adopt(world, surveillance_providers=["charlie"])
    u1 = report(world, "U1", 0, 3000, 90, **INTENT)
    assert post_unaffiliated(world, "charlie", u1).status_code == 202
    with world.line.db.read() as session:
        stored = session.scalars(select(UnaffiliatedTrack)).one()
        assert (stored.selected_alt_m, stored.callsign, stored.nac_p, stored.velocity_age_s) == (
            10_668.0,
            "RCH123",
            9,
            11.3,
        )
    for who in ("alpha", "bravo", "charlie"):
        seen = track(world, who, "U1")
        assert seen["callsign"] == "RCH123" and seen["unaffiliated"] is True  # broadcast in public
        assert "selected_altitude_m" not in seen and "nac_p" not in seen


def test_a_batch_that_says_none_of_them_is_recorded_as_before(world: World) -> None:
    adopt(world, surveillance_providers=["alpha"])
    assert world.post("alpha", "/v1/tracks", BATCH).status_code == 202
    zero_age = {"tracks": [dict(t, velocity_age_s=0) for t in BATCH["tracks"]]}  # as fresh: as if not said
    assert world.post("alpha", "/v1/tracks", zero_age).status_code == 202
    said = {"tracks": [dict(t, callsign="ABC") if t["id"] == "A1" else t for t in BATCH["tracks"]]}
    assert world.post("alpha", "/v1/tracks", said).status_code == 202
    plain, fresh, with_callsign = (entry["event"] for entry in batch_entries(world))
    assert plain["digest"] == fresh["digest"] == BATCH_DIGEST
    assert with_callsign["digest"] != BATCH_DIGEST


def test_bad_values_are_refused_naming_the_field(world: World) -> None:
    good = report(world, "A1", 0, 9000, 90)
    for field, value in (
        ("selected_altitude_m", 30_001),
        ("selected_altitude_m", "FL350"),
        ("callsign", "RCH-123"),
        ("callsign", "ABCDEFGHI"),
        ("callsign", "   "),
        ("callsign", 123),
        ("nac_p", 12),
        ("nac_p", 9.5),
        ("nac_p", True),
        ("velocity_age_s", -0.1),
        ("velocity_age_s", 3601),
    ):
        response = world.post("alpha", "/v1/tracks", {"tracks": [good, {**good, "id": "A2", field: value}]})
        assert response.status_code == 422, (field, value, response.text)
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "tracks", 1, field], (field, value, error)
    assert world.get("alpha", "/v1/tracks").json() == []


def test_the_intruder_view_in_alerts_is_unchanged(world: World) -> None:
    head_on(world, 30_000)
    tactical.evaluate(world.line)
    [before] = world.get("alpha", "/v1/alerts").json()
    send(world, "charlie", report(world, "C1", 15_000, 9000, 270, **INTENT))
    [after] = world.get("alpha", "/v1/alerts").json()
    assert set(after["intruder"]["state"]) == set(before["intruder"]["state"])
