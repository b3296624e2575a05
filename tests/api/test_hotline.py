"""The hotline through the API: signed messages, acknowledgements, isolation, bad input, record."""

from __future__ import annotations

import json

from deconline.record.signing import generate_key, public_key_b64
from tests.helpers import World, box


def _request(world: World) -> tuple[dict[str, object], dict[str, object]]:
    world.file("charlie", box())
    mine = world.file("alpha", box(lower=1200))  # conflicts with charlie's: proposed with a notice
    notice = mine["notices"][0]
    body = {
        "recipients": ["charlie"],
        "kind": "deconfliction_request",
        "references": [{"type": "operation", "id": mine["id"]}, {"type": "notice", "id": notice["id"]}],
        "proposal": {"action": "shift_time", "shift_s": 3600},
        "text": "Request you shift your activity by one hour.",
    }
    response = world.post("alpha", "/v1/messages", body)
    assert response.status_code == 201, response.text
    return response.json(), body


def test_send_read_acknowledge(world: World) -> None:
    message, _ = _request(world)
    assert message["status"] == "sent" and message["deadline"] is not None
    inbox = world.get("charlie", "/v1/messages", params={"box": "in"}).json()
    assert [m["id"] for m in inbox if m["sender"] != "service"] == [message["id"]]
    assert [m["kind"] for m in inbox if m["sender"] == "service"] == ["notice"]  # told of alpha's filing
    assert [m["id"] for m in world.get("bravo", "/v1/messages", params={"box": "out"}).json()] == [message["id"]]
    assert world.post("alpha", f"/v1/messages/{message['id']}/ack", {}).status_code == 403  # not a recipient
    acked = world.post("charlie", f"/v1/messages/{message['id']}/ack", {})
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert "charlie" in acked.json()["acknowledged_by"]
    assert world.post("charlie", f"/v1/messages/{message['id']}/ack", {}).status_code == 409  # twice


def test_messages_are_invisible_to_other_parties(world: World) -> None:
    message, _ = _request(world)
    created = world.post("admin", "/v1/parties", {"id": "delta", "public_key": public_key_b64(generate_key())})
    world.tokens["delta"] = created.json()["token"]
    assert world.get("delta", f"/v1/messages/{message['id']}").status_code == 404
    assert world.get("delta", "/v1/messages").json() == []
    assert world.get("delta", "/v1/messages", params={"box": "out"}).json() == []


def test_bad_messages_change_nothing(world: World) -> None:
    _, body = _request(world)
    others = world.file("charlie", box(20, 50))
    cases = [
        {**body, "recipients": ["zulu"]},
        {**body, "recipients": ["alpha"]},  # only oneself
        {**body, "references": [{"type": "operation", "id": others["id"]}]},  # another party's operation
        {**body, "text": "x" * 2001},
        {**body, "kind": "strike_request"},
        {**body, "target": {"lat": 1, "lon": 2}},
        {**body, "proposal": {"action": "hold", "weapon": "none"}},
    ]
    for bad in cases:
        response = world.post("alpha", "/v1/messages", bad)
        assert response.status_code == 422, (bad, response.text)
    unsigned = world.post("alpha", "/v1/messages", body, sign=False)
    assert unsigned.status_code == 401
    assert len([m for m in world.get("charlie", "/v1/messages").json() if m["sender"] != "service"]) == 1


def test_messages_and_acknowledgements_are_recorded(world: World) -> None:
    message, _ = _request(world)
    world.post("charlie", f"/v1/messages/{message['id']}/ack", {})
    kinds = []
    for i in range(30):
        response = world.get("charlie", f"/v1/record/entries/{i}")
        if response.status_code == 200:
            kinds.append(json.loads(response.json()["entry"])["event"]["kind"])
    assert "message.sent" in kinds and "message.acknowledged" in kinds
