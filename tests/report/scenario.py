"""A review scenario with known counts: filings and a conflict resolved after a request, a hazard
declared and withdrawn, an encounter that goes from advisory to loss of separation, an aircraft
outside its operation, hotline messages acknowledged in time, late or never, checkpoints.

Timeline (seconds after T0, the test clock's start; the review covers T0 - 60 .. T0 + 3600):
     0  agreement v1 in force (made by make_world)
    10  agreement v2 (escalation: charlie -> bravo) signed by all: in force
    20  alpha files "alpha patrol" (accepted); bravo files "bravo tanker" (accepted);
        charlie files "charlie far sortie" (accepted)
    60  charlie files "charlie secret sortie" over alpha's patrol: proposed, a notice to each owner,
        and a service message (notice) to alpha
   120  alpha asks charlie from its notice (deconfliction_request); charlie acknowledges at 200
   180  bravo declares a hazard over alpha's patrol: a hazard notice and a service message to alpha
   240  charlie cancels its secret sortie: both operation notices resolved (cancelled, after the request)
   300  bravo withdraws the hazard: alpha's hazard notice resolved (hazard withdrawn, no request)
   360  alpha sets its patrol active
   400  A1 (alpha) and C1 (charlie) head on: advisory; A1 outside alpha's active patrol: nonconformance;
        a safety alert (deadline 60 s) to alpha and charlie; alpha acknowledges at 430
   470  sweep: the first service notice (deadline 360) and the safety alert (charlie silent) go overdue;
        charlie's silence is escalated to bravo
   500  warning; charlie acknowledges the safety alert late; 600 loss of separation; 660 apart (cleared)
   700  A1 stale: the nonconformance alert clears (300 s outside)
   800  comm check to all; alpha answers at 810, bravo at 900, charlie never (deadline 920)
  1000  sweep: the hazard notice message (deadline 480) and the comm check (charlie) go overdue; escalation
checkpoints at 100, 500 and 1000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from deconline.record.signing import sign_document
from deconline.service import agreements, hotline, tactical
from deconline.service import record as record_service
from deconline.service.actors import Actor
from tests.helpers import AGREEMENT, T0, World, box

START = T0.timestamp() - 60
END = T0.timestamp() + 3600
EARTH = 6_371_000.0
SECRET_NAME = "charlie secret sortie"
CHARLIE_LON, CHARLIE_LAT = 12.345678, 52.345678  # charlie's far sortie: these digits must never reach alpha


@dataclass
class Scenario:
    world: World
    ids: dict[str, str] = field(default_factory=dict)
    charlie_coordinates: list[str] = field(default_factory=list)
    alpha_coordinates: list[str] = field(default_factory=list)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _at(world: World, seconds: float) -> None:
    world.clock.now = T0.timestamp() + seconds


def _report(world: World, track_id: str, east_m: float, track_deg: float) -> dict[str, Any]:
    lat = 50.0
    lon = 10.0 + math.degrees(east_m / (EARTH * math.cos(math.radians(lat))))
    return {
        "id": track_id,
        "lat": lat,
        "lon": lon,
        "alt_m": 9000.0,
        "gs_mps": 200.0,
        "track_deg": track_deg,
        "vrate_mps": 0.0,
        "time": iso(world.clock.now),
    }


def _head_on(world: World, distance_m: float) -> None:
    for who, track, east, heading in (("alpha", "A1", -distance_m / 2, 90), ("charlie", "C1", distance_m / 2, 270)):
        response = world.post(who, "/v1/tracks", {"tracks": [_report(world, track, east, heading)]})
        assert response.status_code == 202, response.text
    tactical.evaluate(world.line)


def _ack(world: World, who: str, message_id: str) -> None:
    response = world.post(who, f"/v1/messages/{message_id}/ack", {})
    assert response.status_code == 200, response.text


def _checkpoint(world: World) -> None:
    with world.line.db.write() as session:
        assert record_service.publish_checkpoint(world.line.record, session, world.clock.now) is not None


def build(world: World) -> Scenario:
    s = Scenario(world)
    _at(world, 10)
    v2 = agreements.propose(world.line, Actor("admin"), dict(AGREEMENT, version=2, escalation={"charlie": "bravo"}))
    for party in AGREEMENT["parties"]:
        document = v2.agreement.document()
        agreements.sign(world.line, Actor("party", party), 2, sign_document(world.keys[party], document))
    _at(world, 20)
    patrol = box(10.0, 50.0, 5)
    s.alpha_coordinates = [repr(c) for point in patrol["footprint"]["coordinates"][0] for c in point if c % 1]
    s.ids["patrol"] = world.file("alpha", patrol, name="alpha patrol")["id"]
    s.ids["tanker"] = world.file("bravo", box(11.0, 51.0, 5), name="bravo tanker")["id"]
    far = box(CHARLIE_LON, CHARLIE_LAT, 5)
    s.charlie_coordinates = [repr(c) for point in far["footprint"]["coordinates"][0] for c in point]
    s.ids["far"] = world.file("charlie", far, name="charlie far sortie")["id"]
    _at(world, 60)
    secret = world.file("charlie", box(10.03, 50.02, 5), name=SECRET_NAME)
    assert secret["state"] == "proposed"
    s.ids["secret"] = secret["id"]
    _at(world, 100)
    _checkpoint(world)
    _at(world, 120)
    [notice] = world.get("alpha", "/v1/notices", params={"state": "open"}).json()
    asked = world.post("alpha", f"/v1/operations/{s.ids['patrol']}/notices/{notice['id']}/request", {"text": "Move?"})
    assert asked.status_code == 201, asked.text
    _at(world, 180)
    body = {
        "kind": "air_defence",
        "name": "SAM <script>alert(1)</script>",
        "volume": box(10.0, 50.0, 3, lower=0, upper=20_000),
    }
    hazard = world.post("bravo", "/v1/hazards", body)
    assert hazard.status_code == 201, hazard.text
    s.ids["hazard"] = hazard.json()["id"]
    _at(world, 200)
    _ack(world, "charlie", asked.json()["id"])
    _at(world, 240)
    cancel = world.post("charlie", f"/v1/operations/{s.ids['secret']}/state", {"version": 1, "state": "cancelled"})
    assert cancel.status_code == 200, cancel.text
    _at(world, 300)
    assert world.delete("bravo", f"/v1/hazards/{s.ids['hazard']}").status_code == 200
    _at(world, 360)
    active = world.post("alpha", f"/v1/operations/{s.ids['patrol']}/state", {"version": 1, "state": "active"})
    assert active.status_code == 200, active.text
    _at(world, 400)
    _head_on(world, 9260 + 400 * 200)  # loss of separation predicted in 200 s: advisory
    [safety] = [m for m in world.get("alpha", "/v1/messages").json() if m["kind"] == "safety_alert"]
    _at(world, 430)
    _ack(world, "alpha", safety["id"])
    _at(world, 470)
    hotline.sweep(world.line)
    _at(world, 500)
    _head_on(world, 9260 + 400 * 100)  # warning
    _ack(world, "charlie", safety["id"])  # 100 s after, deadline 60 s: late
    _checkpoint(world)
    _at(world, 600)
    _head_on(world, 5000)  # loss of separation
    _at(world, 660)
    for who, track, east, heading in (("alpha", "A1", 0, 90), ("charlie", "C1", 40_000, 0)):
        report = _report(world, track, east, heading)
        if who == "charlie":
            report["alt_m"] = 12_000.0
        world.post(who, "/v1/tracks", {"tracks": [report]})
    tactical.evaluate(world.line)
    _at(world, 700)
    tactical.evaluate(world.line)  # every track stale: everything clears
    _at(world, 800)
    check = hotline.comm_check(world.line, force=True)
    assert check is not None
    _at(world, 810)
    _ack(world, "alpha", check.id)
    _at(world, 900)
    _ack(world, "bravo", check.id)
    _at(world, 1000)
    hotline.sweep(world.line)
    _checkpoint(world)
    _at(world, 1100)
    return s
