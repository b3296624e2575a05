"""Who is told, and when the telling ends: both sides of a conflict, hazards over existing plans,
new rules re-checking them, the notice lifecycle and the automatic end of past operations."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from deconline.service import operations
from deconline.store.models import PartyEvent, RecordEntry
from tests.api.test_unaffiliated import adopt
from tests.helpers import T0, World, box


def events(world: World, party: str, kind: str = "notice") -> list[dict[str, Any]]:
    with world.line.db.read() as session:
        rows = session.scalars(
            select(PartyEvent).where(PartyEvent.party_id == party, PartyEvent.type == kind).order_by(PartyEvent.id)
        )
        return [json.loads(r.data) for r in rows]


def recorded(world: World, kind: str) -> list[tuple[list[str], dict[str, Any]]]:
    """(readers, event) of every record entry of ``kind``."""
    with world.line.db.read() as session:
        rows = session.scalars(select(RecordEntry).where(RecordEntry.kind == kind).order_by(RecordEntry.seq))
        return [(r.readers, json.loads(r.canonical)["event"]) for r in rows]


def notices(world: World, who: str, **params: Any) -> list[dict[str, Any]]:
    response = world.get(who, "/v1/notices", params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def inbox(world: World, who: str) -> list[dict[str, Any]]:
    return [m for m in world.get(who, "/v1/messages").json() if m["sender"] == "service" and m["kind"] == "notice"]


def conflicting_pair(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    """charlie's accepted operation, then alpha's filing over it (proposed)."""
    theirs = world.file("charlie", box(10.0, 50.0, 10), name="range day")
    mine = world.file("alpha", box(10.05, 50.0, 3, lower=1500), name="patrol")
    assert theirs["state"] == "accepted" and mine["state"] == "proposed"
    return theirs, mine


# --- 1. both sides told -----------------------------------------------------------------------


def test_the_accepted_owner_is_told_about_its_own_operation(world: World) -> None:
    theirs, mine = conflicting_pair(world)
    [told] = world.get("charlie", f"/v1/operations/{theirs['id']}").json()["notices"]
    assert told["kind"] == "operation" and told["state"] == "open" and told["operation"] == theirs["id"]
    assert told["other_party"] == "alpha" and told["other_ref"].startswith("ref_")
    # The part of charlie's OWN volume: within its own footprint and band, nothing of alpha's.
    assert told["conflict"]["lower_m"] >= 1000 and told["conflict"]["upper_m"] <= 2000
    text = json.dumps(world.get("charlie", f"/v1/operations/{theirs['id']}").json())
    assert mine["id"] not in text and "patrol" not in text
    for lon, lat in mine["volumes"][0]["footprint"]["coordinates"][0]:
        assert str(lon) not in text and str(lat) not in text
    # The filer's notice is unchanged: about its own operation, with charlie's op as an opaque reference.
    [filer] = mine["notices"]
    assert filer["operation"] == mine["id"] and theirs["id"] not in json.dumps(mine)


def test_the_accepted_owner_gets_an_event_a_message_and_a_record_entry(world: World) -> None:
    theirs, mine = conflicting_pair(world)
    [event] = events(world, "charlie")
    assert event["notice"]["operation"] == theirs["id"] and event["notice"]["state"] == "open"
    assert mine["id"] not in json.dumps(event)
    [message] = inbox(world, "charlie")
    assert message["your_operations"] == [theirs["id"]] and "alpha" in message["text"]
    assert message["references"][0]["type"] == "notice" and mine["id"] not in json.dumps(message)
    assert inbox(world, "alpha") == []  # the filer has its answer already
    opened = recorded(world, "notice.opened")
    assert sorted(readers[0] for readers, _ in opened) == ["alpha", "charlie"]
    assert all(len(readers) == 1 for readers, _ in opened)  # each entry readable by its owner only


def test_either_side_can_start_the_conversation_from_its_notice(world: World) -> None:
    theirs, _ = conflicting_pair(world)
    [told] = world.get("charlie", f"/v1/operations/{theirs['id']}").json()["notices"]
    asked = world.post("charlie", f"/v1/operations/{theirs['id']}/notices/{told['id']}/request", {"text": "Move?"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["recipients"] == ["alpha"]


def test_notices_are_seen_by_the_owners_side_only(world: World) -> None:
    theirs, mine = conflicting_pair(world)
    assert [n["operation"] for n in notices(world, "alpha")] == [mine["id"]]
    assert [n["operation"] for n in notices(world, "bravo")] == [mine["id"]]  # alpha's group
    assert [n["operation"] for n in notices(world, "charlie")] == [theirs["id"]]
    assert notices(world, "charlie", operation=mine["id"]) == []
    assert world.get("auditor", "/v1/notices").status_code == 403
    assert world.get("alpha", "/v1/notices", params={"state": "closed"}).status_code == 422


# --- 4. the lifecycle: revise / cancel / end --------------------------------------------------


def test_a_revision_clear_resolves_both_sides(world: World) -> None:
    theirs, mine = conflicting_pair(world)
    moved = world.put("alpha", f"/v1/operations/{mine['id']}", {"version": 1, "volumes": [box(12.0, 50.0, 3)]})
    assert moved.status_code == 200 and moved.json()["state"] == "accepted" and moved.json()["notices"] == []
    [own] = notices(world, "alpha", state="resolved")
    assert own["resolution"] == "own_revised" and own["resolved_at"] is not None
    [other] = notices(world, "charlie", state="resolved")
    assert other["resolution"] == "other_revised" and other["operation"] == theirs["id"]
    assert world.get("charlie", f"/v1/operations/{theirs['id']}").json()["notices"] == []
    assert [e["notice"]["state"] for e in events(world, "charlie")] == ["open", "resolved"]
    resolved = recorded(world, "notice.resolved")
    assert sorted((r[0], e["resolution"]) for r, e in resolved) == [
        ("alpha", "own_revised"),
        ("charlie", "other_revised"),
    ]


def test_a_revision_still_in_conflict_supersedes_and_tells_again(world: World) -> None:
    theirs, mine = conflicting_pair(world)
    body = {"version": 1, "volumes": [box(9.95, 50.0, 3, lower=1500)]}
    moved = world.put("alpha", f"/v1/operations/{mine['id']}", body).json()
    assert moved["state"] == "proposed" and len(moved["notices"]) == 1
    assert [n["resolution"] for n in notices(world, "charlie", state="resolved")] == ["superseded"]
    [now] = notices(world, "charlie", state="open")
    assert now["operation"] == theirs["id"]
    assert len(inbox(world, "charlie")) == 2  # told again


def test_a_revision_by_the_accepted_owner_resolves_the_filers_notice(world: World) -> None:
    theirs, mine = conflicting_pair(world)
    moved = world.put("charlie", f"/v1/operations/{theirs['id']}", {"version": 1, "volumes": [box(14.0, 50.0, 3)]})
    assert moved.status_code == 200 and moved.json()["notices"] == []
    [resolved] = notices(world, "alpha", state="resolved")
    assert resolved["resolution"] == "other_revised"
    assert world.get("alpha", f"/v1/operations/{mine['id']}").json()["notices"] == []
    checked = world.post("alpha", f"/v1/operations/{mine['id']}/check", {"version": 1})
    assert checked.json()["state"] == "accepted"


def test_cancellation_resolves_both_sides(world: World) -> None:
    _, mine = conflicting_pair(world)
    cancelled = world.post("alpha", f"/v1/operations/{mine['id']}/state", {"version": 1, "state": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    assert [n["resolution"] for n in notices(world, "alpha")] == ["own_cancelled"]
    assert [n["resolution"] for n in notices(world, "charlie")] == ["other_cancelled"]


def test_the_end_of_the_accepted_operation_resolves_the_filers_notice(world: World) -> None:
    theirs, _ = conflicting_pair(world)
    assert world.post("charlie", f"/v1/operations/{theirs['id']}/state", {"version": 1, "state": "active"}).is_success
    ended = world.post("charlie", f"/v1/operations/{theirs['id']}/state", {"version": 2, "state": "ended"})
    assert ended.status_code == 200, ended.text
    assert [n["resolution"] for n in notices(world, "alpha")] == ["other_ended"]
    assert [n["resolution"] for n in notices(world, "charlie")] == ["own_ended"]


def test_a_resolved_notice_cannot_start_a_request(world: World) -> None:
    _, mine = conflicting_pair(world)
    notice = mine["notices"][0]
    world.put("alpha", f"/v1/operations/{mine['id']}", {"version": 1, "volumes": [box(12.0, 50.0, 3)]})
    asked = world.post("alpha", f"/v1/operations/{mine['id']}/notices/{notice['id']}/request", {"text": "?"})
    assert asked.status_code == 409 and "resolved" in asked.text


# --- 2. hazards reach existing plans ---------------------------------------------------------


def hazard_body(lon: float, half_km: float = 4.0, **kw: Any) -> dict[str, Any]:
    return {"kind": "air_defence", "name": "SAM site", "volume": box(lon, 50.0, half_km, lower=0, upper=20_000), **kw}


def test_a_hazard_declared_over_accepted_and_active_operations_tells_their_owners_only(world: World) -> None:
    accepted = world.file("alpha", box(10.0, 50.0, 3))
    active = world.file("charlie", box(10.2, 50.0, 3))
    world.post("charlie", f"/v1/operations/{active['id']}/state", {"version": 1, "state": "active"})
    far = world.file("bravo", box(30.0, 50.0, 3))
    declared = world.post("admin", "/v1/hazards", hazard_body(10.1, 12.0), sign=False)
    assert declared.status_code == 201, declared.text
    hazard_id = declared.json()["id"]
    for who, op in (("alpha", accepted), ("charlie", active)):
        [notice] = notices(world, who, operation=op["id"])
        assert notice["kind"] == "hazard" and notice["hazard_id"] == hazard_id and notice["state"] == "open"
        assert [m["kind"] for m in inbox(world, who)] == ["notice"]
        assert [e["notice"]["hazard_id"] for e in events(world, who)] == [hazard_id]
    assert notices(world, "bravo", operation=far["id"]) == []
    # Nobody's state changes: the notice says what to resolve.
    assert world.get("alpha", f"/v1/operations/{accepted['id']}").json()["state"] == "accepted"
    assert world.get("charlie", f"/v1/operations/{active['id']}").json()["state"] == "active"
    assert sorted(r[0] for r, _ in recorded(world, "notice.opened")) == ["alpha", "charlie"]


def test_a_hazard_changed_and_withdrawn_resolves_what_it_caused(world: World) -> None:
    west = world.file("alpha", box(10.0, 50.0, 3))
    east = world.file("charlie", box(11.0, 50.0, 3))
    declared = world.post("charlie", "/v1/hazards", hazard_body(10.0)).json()
    assert [n["kind"] for n in notices(world, "alpha", operation=west["id"])] == ["hazard"]
    assert inbox(world, "alpha") and inbox(world, "charlie") == []  # charlie made the change
    moved = world.put("charlie", f"/v1/hazards/{declared['id']}", {**hazard_body(11.0), "version": 1})
    assert moved.status_code == 200 and moved.json()["version"] == 2, moved.text
    assert [n["resolution"] for n in notices(world, "alpha", state="resolved")] == ["hazard_changed"]
    [over_east] = notices(world, "charlie", state="open")
    assert over_east["operation"] == east["id"]
    withdrawn = world.delete("charlie", f"/v1/hazards/{declared['id']}")
    assert withdrawn.status_code == 200
    assert [n["resolution"] for n in notices(world, "charlie", state="resolved")] == ["hazard_withdrawn"]
    assert notices(world, "alpha", state="open") == notices(world, "charlie", state="open") == []
    kinds = [e["hazard_kind"] for _, e in recorded(world, "hazard.changed")]
    assert kinds == ["air_defence"]


def test_changing_a_hazard_is_checked(world: World) -> None:
    declared = world.post("charlie", "/v1/hazards", hazard_body(10.0)).json()
    path = f"/v1/hazards/{declared['id']}"
    assert world.put("alpha", path, {**hazard_body(11.0), "version": 1}).status_code == 403  # not the declarer
    assert world.put("charlie", path, {**hazard_body(11.0), "version": 7}).status_code == 409
    assert world.put("charlie", path, {**hazard_body(11.0), "version": 1, "kind": "strike"}).status_code == 422
    assert world.put("charlie", "/v1/hazards/hz_nope", {**hazard_body(11.0), "version": 1}).status_code == 404
    auditor = world.client.put(path, json={**hazard_body(11.0), "version": 1}, headers=world.headers("auditor"))
    assert auditor.status_code in (401, 403)
    assert world.get("alpha", path).json()["version"] == 1  # nothing changed


# --- 3. new rules re-check the plans -----------------------------------------------------------


def test_wider_minima_tell_both_owners_and_revoke_nothing(world: World) -> None:
    # 8 km apart: clear under 5 km, in conflict under 10 km.
    west = world.file("alpha", box(10.0, 50.0, 2))
    east = world.file("charlie", box(10.0 + 12 / 71.6, 50.0, 2))
    assert west["state"] == east["state"] == "accepted"
    adopt(world, 2, h_strategic_m=10_000.0)
    for who, op in (("alpha", west), ("charlie", east)):
        [notice] = notices(world, who)
        assert notice["kind"] == "rules_changed" and notice["operation"] == op["id"]
        assert world.get(who, f"/v1/operations/{op['id']}").json()["state"] == "accepted"
        assert [m["kind"] for m in inbox(world, who)] == ["notice"]
    assert west["id"] not in json.dumps(notices(world, "charlie"))
    opened = recorded(world, "notice.opened")
    assert sorted((r[0], e["cause"]) for r, e in opened) == [
        ("alpha", "agreement.in_force"),
        ("charlie", "agreement.in_force"),
    ]
    adopt(world, 3, h_strategic_m=5_000.0)  # and back: the rules no longer justify them
    assert [n["resolution"] for n in notices(world, "alpha")] == ["rules_changed"]
    assert [n["resolution"] for n in notices(world, "charlie")] == ["rules_changed"]
    assert sorted(e["resolution"] for _, e in recorded(world, "notice.resolved")) == ["rules_changed"] * 2


def test_an_agreement_that_changes_nothing_tells_nobody(world: World) -> None:
    conflicting_pair(world)
    before = notices(world, "charlie")
    adopt(world, 2, title="renewed")
    after = notices(world, "charlie")
    assert after == before, (before, after)


# --- automatic end ----------------------------------------------------------------------------


def test_operations_end_on_their_own_after_their_last_window(world: World) -> None:
    theirs, mine = conflicting_pair(world)  # both windows end at T0 + 2 h
    later = world.file("bravo", box(20.0, 50.0, 3, start_h=3, end_h=4))
    world.clock.now = T0.timestamp() + 2 * 3600 - 1
    assert operations.end_past(world.line) == []
    world.clock.now += 2
    assert sorted(operations.end_past(world.line)) == sorted([theirs["id"], mine["id"]])
    assert world.get("charlie", f"/v1/operations/{theirs['id']}").json()["state"] == "ended"
    assert world.get("alpha", f"/v1/operations/{mine['id']}").json()["state"] == "ended"
    assert world.get("bravo", f"/v1/operations/{later['id']}").json()["state"] == "accepted"
    assert {n["resolution"] for n in notices(world, "charlie")} <= {"own_ended", "other_ended"}
    assert all(n["state"] == "resolved" for n in notices(world, "alpha") + notices(world, "charlie"))
    ended = recorded(world, "operation.ended")
    assert len(ended) == 2 and all(e["automatic"] for _, e in ended)
    assert [e["operation"] for e in events(world, "charlie", "operation")] == [theirs["id"]]
    assert operations.end_past(world.line) == []  # once


def test_the_agreement_sets_how_long_after_its_window_an_operation_ends(world: World) -> None:
    adopt(world, 2, auto_end_after_s=1800.0)
    op = world.file("alpha", box())
    world.clock.now = T0.timestamp() + 2 * 3600 + 1700
    assert operations.end_past(world.line) == []
    world.clock.now += 200
    assert operations.end_past(world.line) == [op["id"]]
    document = world.get("alpha", "/v1/agreements/2/document").content
    assert b'"auto_end_after_s":1800' in document
    assert b"auto_end_after_s" not in world.get("alpha", "/v1/agreements/1/document").content
