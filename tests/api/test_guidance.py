"""Guidance through the API: one's own aircraft's manoeuvres, nobody else's data, and only one's own alerts."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from deconline.record.signing import sign_document
from deconline.service import agreements, tactical
from deconline.service.actors import Actor
from tests.helpers import AGREEMENT, World

EARTH = 6_371_000.0


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def head_on(world: World, distance_m: float) -> str:
    """alpha's A1 east-bound and charlie's C1 west-bound at the same level; the alert's id."""
    for who, track, east, heading in (("alpha", "A1", -distance_m / 2, 90), ("charlie", "C1", distance_m / 2, 270)):
        lon = 10.0 + math.degrees(east / (EARTH * math.cos(math.radians(50.0))))
        body = {"id": track, "lat": 50.0, "lon": lon, "alt_m": 9000.0, "gs_mps": 200.0, "track_deg": heading,
                "vrate_mps": 0.0, "time": iso(world.clock.now)}  # fmt: skip
        assert world.post(who, "/v1/tracks", {"tracks": [body]}).status_code == 202
    tactical.evaluate(world.line)
    [alert] = world.get("alpha", "/v1/alerts").json()
    return str(alert["id"])


def conflicting(ranges: list[dict[str, float]], value: float) -> bool:
    return next(bool(r["conflict"]) for r in ranges if r["from"] <= value <= r["to"])


def test_each_side_gets_its_own_aircrafts_ranges_and_nothing_of_the_other(world: World) -> None:
    alert = head_on(world, 40_000)
    mine = world.get("alpha", f"/v1/alerts/{alert}/guidance")
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert set(body) == {"alert", "own_track", "time", "lookahead_s", "own", "track_deg", "gs_mps", "vs_mps", "alt_m"}
    assert body["own_track"] == "A1"
    assert conflicting(body["track_deg"], 90.0) and not conflicting(body["track_deg"], 0.0)  # straight on, or north
    assert conflicting(body["alt_m"], 9000.0) and not conflicting(body["alt_m"], 10_000.0)
    assert "C1" not in mine.text and "charlie" not in mine.text and "lat" not in mine.text
    theirs = world.get("charlie", f"/v1/alerts/{alert}/guidance").json()
    assert theirs["own_track"] == "C1" and conflicting(theirs["track_deg"], 270.0)


def test_only_the_parties_of_the_alert_get_guidance(world: World) -> None:
    alert = head_on(world, 40_000)
    assert world.get("bravo", f"/v1/alerts/{alert}/guidance").status_code == 404  # a group member: not its aircraft
    assert world.get("alpha", "/v1/alerts/al_0000000000000000/guidance").status_code == 404
    for who in ("admin", "auditor"):
        assert world.get(who, f"/v1/alerts/{alert}/guidance").status_code == 403
    assert world.client.get(f"/v1/alerts/{alert}/guidance").status_code == 401


def test_cleared_alerts_and_an_agreement_without_guidance(world: World) -> None:
    alert = head_on(world, 40_000)
    document = {**AGREEMENT, "version": 2, "guidance": "off"}
    state = agreements.propose(world.line, Actor("admin"), document)
    assert state.agreement.document()["guidance"] == "off"
    for party in AGREEMENT["parties"]:
        agreements.sign(
            world.line, Actor("party", party), 2, sign_document(world.keys[party], state.agreement.document())
        )
    refused = world.get("alpha", f"/v1/alerts/{alert}/guidance")
    assert refused.status_code == 403 and "guidance off" in refused.json()["detail"]
    world.clock.now += 60  # stale: the alert clears
    tactical.evaluate(world.line)
    gone = world.get("alpha", f"/v1/alerts/{alert}/guidance")
    assert gone.status_code == 409 and "cleared" in gone.json()["detail"]
