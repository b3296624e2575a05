"""Coordinated resolution and guidance in the alert, through the API: each side its own manoeuvre
and the other's sense, answered once, the other side told at once, all of it in the record."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from sqlalchemy import select

from deconline.service import events as events_service
from deconline.service import hotline, tactical
from deconline.store.models import RecordEntry
from tests.api.test_guidance import head_on, iso
from tests.api.test_unaffiliated import adopt, post_unaffiliated
from tests.helpers import World

EARTH = 6_371_000.0
SQLITE_ONLY = pytest.mark.parametrize("world_copy", ["sqlite"], indirect=True)  # the flows run on both
SENSES = {("left", "right"), ("right", "left"), ("up", "down"), ("down", "up")}


def events_of(world: World, party: str, kind: str) -> list[dict[str, Any]]:
    with world.line.db.read() as session:
        found = [json.loads(data) for _, data in events_service.since(session, party, 0)]
    return [e for e in found if e["type"] == kind]


def resolution_of(world: World, party: str) -> dict[str, Any]:
    [message] = [m for m in world.get(party, "/v1/messages").json() if m["kind"] == "resolution"]
    return dict(message)


def recorded(world: World, kind: str) -> list[dict[str, Any]]:
    with world.line.db.read() as session:
        rows = session.scalars(select(RecordEntry).where(RecordEntry.kind == kind).order_by(RecordEntry.seq))
        return [json.loads(r.canonical) | {"readers": r.readers} for r in rows]


def test_a_warning_between_two_parties_proposes_complementary_manoeuvres_to_each(world: World) -> None:
    alert = head_on(world, 40_000)
    mine, theirs = resolution_of(world, "alpha"), resolution_of(world, "charlie")
    a, c = mine["proposal"], theirs["proposal"]
    assert a["alert"] == c["alert"] == alert
    assert (a["manoeuvre"]["sense"], c["manoeuvre"]["sense"]) in SENSES
    assert a["other_sense"] == c["manoeuvre"]["sense"] and c["other_sense"] == a["manoeuvre"]["sense"]
    assert mine["recipients"] == ["alpha"] and theirs["recipients"] == ["charlie"]
    # nothing beyond the alert: not the other aircraft's manoeuvre, position or speed
    assert str(c["manoeuvre"]["to"]) not in json.dumps(a) and "lat" not in json.dumps(mine)
    [shown] = world.get("alpha", "/v1/alerts").json()
    assert shown["resolution"]["message"] == mine["id"] and shown["resolution"]["other_answer"] == "pending"
    assert shown["resolution"]["deadline"] == mine["deadline"]
    assert [e["message"] for e in events_of(world, "alpha", "resolution")] == [mine["id"]]
    # the record holds each message exactly as its party reads it, proposal and deadline included
    sent = {e["event"]["message"]["id"]: e for e in recorded(world, "message.sent")}
    for message in (mine, theirs):
        entry = sent[message["id"]]
        assert entry["event"]["message"]["proposal"] == message["proposal"]
        assert entry["event"]["message"]["deadline"] == message["deadline"]
        assert entry["readers"] == message["recipients"]
    tactical.evaluate(world.line)  # a second evaluation proposes nothing new
    assert len([m for m in world.get("alpha", "/v1/messages").json() if m["kind"] == "resolution"]) == 1


def test_answers_are_told_to_the_other_side_at_once_and_recorded(world: World) -> None:
    head_on(world, 40_000)
    mine, theirs = resolution_of(world, "alpha"), resolution_of(world, "charlie")
    accepted = world.post("alpha", f"/v1/messages/{mine['id']}/answer", {"answer": "accept"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["answers"] == {"alpha": "accepted"}
    [told] = events_of(world, "charlie", "resolution")[-1:]
    assert told["message"] == theirs["id"] and told["other_answer"] == "accepted" and told["answer"] is None
    again = world.post("alpha", f"/v1/messages/{mine['id']}/answer", {"answer": "reject"})
    assert again.status_code == 409 and "already answered" in again.json()["detail"]
    assert world.post("charlie", f"/v1/messages/{theirs['id']}/answer", {"answer": "reject"}).status_code == 200
    assert events_of(world, "alpha", "resolution")[-1]["other_answer"] == "rejected"
    [shown] = world.get("alpha", "/v1/alerts").json()
    assert (shown["resolution"]["answer"], shown["resolution"]["other_answer"]) == ("accepted", "rejected")
    entries = recorded(world, "message.answered")
    assert [(e["event"]["party"], e["event"]["answer"]) for e in entries] == [
        ("alpha", "accepted"),
        ("charlie", "rejected"),
    ]
    assert all(sorted(e["readers"]) == ["alpha", "charlie"] for e in entries)


@SQLITE_ONLY
def test_answering_is_for_the_recipient_of_a_resolution_only(world: World) -> None:
    head_on(world, 40_000)
    mine = resolution_of(world, "alpha")
    assert world.post("charlie", f"/v1/messages/{mine['id']}/answer", {"answer": "accept"}).status_code == 404
    assert world.post("bravo", f"/v1/messages/{mine['id']}/answer", {"answer": "accept"}).status_code == 404
    bad = world.post("alpha", f"/v1/messages/{mine['id']}/answer", {"answer": "maybe"})
    assert bad.status_code == 422
    unsigned = world.post("alpha", f"/v1/messages/{mine['id']}/answer", {"answer": "accept"}, sign=False)
    assert unsigned.status_code == 401
    acked = world.post("alpha", f"/v1/messages/{mine['id']}/ack", {})
    assert acked.status_code == 409 and "/answer" in acked.json()["detail"]
    [safety] = [m for m in world.get("alpha", "/v1/messages").json() if m["kind"] == "safety_alert"]
    wrong = world.post("alpha", f"/v1/messages/{safety['id']}/answer", {"answer": "accept"})
    assert wrong.status_code == 409 and "acknowledge it" in wrong.json()["detail"]


def test_a_deadline_passed_unanswered_is_told_to_the_other_side(world: World) -> None:
    head_on(world, 40_000)
    mine, theirs = resolution_of(world, "alpha"), resolution_of(world, "charlie")
    assert world.post("charlie", f"/v1/messages/{theirs['id']}/answer", {"answer": "accept"}).status_code == 200
    world.clock.now += 3600
    hotline.sweep(world.line)
    told = events_of(world, "charlie", "resolution")[-1]
    assert told["message"] == theirs["id"] and told["other_answer"] == "overdue" and told["answer"] == "accepted"
    assert world.get("alpha", f"/v1/messages/{mine['id']}").json()["status"] == "overdue"
    [entry] = [e for e in recorded(world, "message.overdue") if e["event"]["message"] == mine["id"]]
    assert sorted(entry["readers"]) == ["alpha", "charlie"]


def test_guidance_is_in_each_sides_alert_and_refreshed_by_every_evaluation(world: World) -> None:
    alert = head_on(world, 40_000)
    [mine] = world.get("alpha", "/v1/alerts").json()
    [theirs] = world.get("charlie", "/v1/alerts").json()
    assert mine["guidance"]["own_track"] == "A1" and theirs["guidance"]["own_track"] == "C1"
    assert mine["guidance"]["own"]["track_deg"] == 90.0
    assert "C1" not in json.dumps(mine["guidance"])
    first = mine["guidance"]["time"]
    [pushed] = events_of(world, "alpha", "guidance")
    assert pushed["alert"] == alert and pushed["guidance"]["own_track"] == "A1"
    world.clock.now += 1
    tactical.evaluate(world.line)
    [again] = world.get("alpha", "/v1/alerts").json()
    assert again["guidance"]["time"] > first  # refreshed, though not pushed again within 5 s
    assert len(events_of(world, "alpha", "guidance")) == 1


@SQLITE_ONLY
def test_unaffiliated_traffic_gets_no_resolution(world: World) -> None:
    adopt(world, surveillance_providers=["charlie"])
    east = 20_000 / (EARTH * math.cos(math.radians(50.0)))
    own = {"id": "A1", "lat": 50.0, "lon": 10.0 - math.degrees(east), "alt_m": 9000.0, "gs_mps": 200.0,
           "track_deg": 90, "vrate_mps": 0.0, "time": iso(world.clock.now)}  # fmt: skip
    assert world.post("alpha", "/v1/tracks", {"tracks": [own]}).status_code == 202
    other = {**own, "id": "U1", "lon": 10.0 + math.degrees(east), "track_deg": 270}
    assert post_unaffiliated(world, "charlie", other).status_code == 202
    tactical.evaluate(world.line)
    [alert] = world.get("alpha", "/v1/alerts").json()
    assert alert["intruder"]["party"] == "unaffiliated" and alert["guidance"]["own_track"] == "A1"
    assert "resolution" not in alert
    assert not [m for m in world.get("alpha", "/v1/messages").json() if m["kind"] == "resolution"]
