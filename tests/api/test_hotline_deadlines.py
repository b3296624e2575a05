"""Deadlines, escalation and communications checks, on an injectable clock (no sleeping)."""

from __future__ import annotations

import json

from deconline.service import hotline
from deconline.store.models import Message
from tests.api.test_hotline import _request
from tests.helpers import World


def _between_parties(messages: list[Message]) -> list[Message]:
    """Leave out the service's conflict notice to charlie (it has its own, shorter deadline)."""
    return [m for m in messages if m.sender != "service"]


def test_unacknowledged_message_becomes_overdue(world: World) -> None:
    message, _ = _request(world)
    world.clock.now += 599
    assert _between_parties(hotline.sweep(world.line)) == []
    world.clock.now += 2  # past the agreement's 600 s for a deconfliction request
    [late] = _between_parties(hotline.sweep(world.line))
    assert late.id == message["id"]
    assert world.get("alpha", f"/v1/messages/{message['id']}").json()["status"] == "overdue"
    overdue_in = world.get("charlie", "/v1/messages", params={"status": "overdue"}).json()
    assert [m["id"] for m in overdue_in if m["sender"] != "service"] == [message["id"]]
    entries = [world.get("alpha", f"/v1/record/entries/{i}") for i in range(30)]
    overdue = [json.loads(e.json()["entry"]) for e in entries if e.status_code == 200 and "message.overdue" in e.text]
    assert overdue and overdue[0]["event"]["silent"] == ["charlie"]
    assert hotline.sweep(world.line) == []  # once


def test_acknowledged_in_time_never_becomes_overdue(world: World) -> None:
    message, _ = _request(world)
    world.post("charlie", f"/v1/messages/{message['id']}/ack", {})
    world.clock.now += 3600
    assert _between_parties(hotline.sweep(world.line)) == []


def test_comm_checks_and_line_health(world: World) -> None:
    check = hotline.comm_check(world.line)
    assert check is not None and check.recipients == ["alpha", "bravo", "charlie"]
    assert hotline.comm_check(world.line) is None  # not due before the interval (900 s)
    start = world.clock.now
    world.clock.now = start + 30
    assert world.post("alpha", f"/v1/messages/{check.id}/ack", {}).status_code == 200
    world.clock.now = start + 90
    assert world.post("charlie", f"/v1/messages/{check.id}/ack", {}).status_code == 200
    world.clock.now = start + 200  # past the 120 s comm-check deadline: bravo missed it
    hotline.sweep(world.line)
    health = {h["party"]: h for h in world.get("alpha", "/v1/line/health").json()}
    assert health["alpha"]["median_delay_s"] == 30 and health["charlie"]["worst_delay_s"] == 90
    assert health["bravo"]["missed"] == 1 and health["bravo"]["last_answer"] is None
    world.clock.now = start + 901
    assert hotline.comm_check(world.line) is not None
    assert world.get("auditor", "/v1/line/health").status_code == 403


def test_raised_alerts_become_safety_alert_messages(world: World) -> None:
    from deconline.service import tactical
    from tests.api.test_tactical import head_on

    head_on(world, 30_000)
    tactical.evaluate(world.line)
    for who in ("alpha", "charlie"):  # a warning: the safety alert, and a coordinated resolution
        kinds = {m["kind"]: m for m in world.get(who, "/v1/messages").json()}
        assert set(kinds) == {"safety_alert", "resolution"}
        message = kinds["safety_alert"]
        assert message["sender"] == "service" and message["references"][0]["type"] == "alert"
    assert world.get("bravo", "/v1/messages").json() == [] or all(
        m["kind"] in ("safety_alert", "resolution") for m in world.get("bravo", "/v1/messages").json()
    )
    world.clock.now += 1
    tactical.evaluate(world.line)  # the same alert, updated or not: no second message
    assert len(world.get("alpha", "/v1/messages").json()) == 2


def persisted(world: World, party: str) -> list[dict[str, object]]:
    """The live events stored for ``party`` (what its streams got or will replay)."""
    from deconline.service import events

    with world.line.db.read() as session:
        return [json.loads(data) for _, data in events.since(session, party, 0)]


def test_overdue_escalates_to_the_contact_named_in_the_agreement(world: World) -> None:
    from deconline.record.signing import sign_document
    from deconline.service import agreements
    from deconline.service.actors import Actor
    from tests.helpers import AGREEMENT

    state = agreements.propose(world.line, Actor("admin"), dict(AGREEMENT, version=2, escalation={"charlie": "bravo"}))
    for party in AGREEMENT["parties"]:
        agreements.sign(
            world.line, Actor("party", party), 2, sign_document(world.keys[party], state.agreement.document())
        )
    message, _ = _request(world)
    world.clock.now += 601
    hotline.sweep(world.line)
    assert {"type": "overdue", "message": message["id"], "silent": ["charlie"]} in persisted(world, "alpha")
    assert {"type": "escalation", "message": message["id"], "silent": "charlie"} in persisted(world, "bravo")
