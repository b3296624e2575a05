"""The deconfliction workflow end to end: conflict, request, answer, resolution, proof."""

from __future__ import annotations

from deconline.record.bundle import verify_bundle
from deconline.record.checkpoint import parse_verifier_key
from deconline.service import disclosure
from tests.helpers import World, box


def test_conflict_request_answer_resolve_and_prove(world: World) -> None:
    theirs = world.file("charlie", box(10.0, 50.0, 5), name="range day")
    mine = world.file("alpha", box(10.0, 50.0, 5, lower=1200), name="patrol")
    assert mine["state"] == "proposed"
    notice = mine["notices"][0]
    world.clock.now += 1

    # alpha asks charlie, in one call, from its notice.
    body = {"proposal": {"action": "shift_time", "shift_s": 7200}, "text": "Can you move two hours later?"}
    asked = world.post("alpha", f"/v1/operations/{mine['id']}/notices/{notice['id']}/request", body)
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["recipients"] == ["charlie"] and request["your_operations"] == [mine["id"]]

    # charlie sees which of its own operations is concerned, and nothing of alpha's.
    inbox = world.get("charlie", "/v1/messages").json()
    [told] = [m for m in inbox if m["sender"] == "service"]
    [received] = [m for m in inbox if m["sender"] != "service"]
    assert told["kind"] == "notice" and told["your_operations"] == [theirs["id"]]  # told of alpha's filing
    assert received["your_operations"] == [theirs["id"]]
    assert theirs["id"] not in str(world.get("alpha", f"/v1/messages/{request['id']}").json())

    # charlie accepts, moves its operation, and alpha's is accepted on a new check.
    world.clock.now += 60
    answer = {
        "recipients": ["alpha"],
        "kind": "response",
        "references": [{"type": "message", "id": request["id"]}],
        "proposal": {"action": "accept"},
        "text": "Moved two hours later.",
    }
    assert world.post("charlie", "/v1/messages", answer).status_code == 201
    assert world.post("charlie", f"/v1/messages/{request['id']}/ack", {}).status_code == 200
    moved = world.put(
        "charlie", f"/v1/operations/{theirs['id']}", {"version": 1, "volumes": [box(10.0, 50.0, 5, start_h=3, end_h=4)]}
    )
    assert moved.status_code == 200 and moved.json()["state"] == "accepted"
    checked = world.post("alpha", f"/v1/operations/{mine['id']}/check", {"version": mine["version"]}).json()
    assert checked["state"] == "accepted"

    # Traceable from either operation.
    assert [m["kind"] for m in world.get("alpha", f"/v1/operations/{mine['id']}/messages").json()] == [
        "deconfliction_request",
        "response",
    ]
    assert [m["kind"] for m in world.get("charlie", f"/v1/operations/{theirs['id']}/messages").json()] == [
        "notice",
        "deconfliction_request",
        "response",
    ]

    # And provable: alpha's bundle verifies and shows both messages.
    with world.line.db.write() as session:
        size = world.line.record.sync(session)
        bundle = disclosure.export(world.line.record, session, 0, size - 1, "alpha", world.clock.now)
    verified = verify_bundle(bundle, parse_verifier_key(bundle["key"]))
    texts = " ".join(verified.entries.values())
    assert "Can you move two hours later?" in texts and "Moved two hours later." in texts
