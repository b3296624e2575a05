"""Signed words mean one thing, once (issue 24): every write route, enumerated from the OpenAPI
document, on two instances of one database: a copy gets the first answer and changes nothing;
other bytes under a used nonce, another line's or another action's statement, a stale one and a
bad signature are refused and change nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from deconline.api.app import create_app
from deconline.client import AlreadyCarriedOut, Client
from deconline.record.actions import action_for
from deconline.record.envelope import PAYLOAD_TYPE, Sealed, created_at, open_sealed, seal
from deconline.record.signing import generate_key, public_key_b64, sign_document
from deconline.service import hotline, statements
from deconline.service.line import Line
from deconline.store.db import Database
from deconline.store.models import Base, StatementRow
from tests.helpers import AGREEMENT, World, adopt, box

SIGNATURE = "X-Deconline-Signature"


@dataclass
class Case:
    who: str
    method: str
    path: str
    body: Any


def _op(world: World, who: str = "alpha", **kw: Any) -> dict[str, Any]:
    return world.file(who, box(**kw))


def _message(world: World) -> dict[str, Any]:
    body = {"recipients": ["charlie"], "kind": "notice", "text": "hello"}
    response = world.post("alpha", "/v1/messages", body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _resolution(world: World) -> str:
    with world.line.db.write() as session:
        message = hotline.from_service(
            world.line, session, world.clock.now, ["alpha"], "resolution", "turn right", [], deadline_s=60.0
        )
    return str(message.id)


def _hazard(world: World) -> dict[str, Any]:
    response = world.post("charlie", "/v1/hazards", {"kind": "other", "volume": box(20.0, 40.0)})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def _track(world: World) -> dict[str, Any]:
    time = datetime.fromtimestamp(world.clock.now, UTC).isoformat().replace("+00:00", "Z")
    report = {"id": "A1", "lat": 50, "lon": 10, "alt_m": 900, "gs_mps": 90, "track_deg": 0, "time": time}
    return {"tracks": [report]}


def _notice_request(world: World) -> Case:
    _op(world, "alpha", lon=30.0)
    theirs = _op(world, "charlie", lon=30.0)
    [notice] = theirs["notices"]
    body = {"text": "can you move?", "proposal": {"action": "change_band", "band": [3000, 3500]}}
    return Case("charlie", "POST", f"/v1/operations/{theirs['id']}/notices/{notice['id']}/request", body)


def _proposal(world: World) -> Case:
    document = dict(AGREEMENT, version=2, title="second")
    return Case("alpha", "POST", "/v1/agreements", document)


def _signature(world: World) -> Case:
    document = dict(AGREEMENT, version=2, title="second")
    assert world.post("alpha", "/v1/agreements", document).status_code == 201
    stored = world.client.get("/v1/agreements/2/document", headers=world.headers("alpha")).json()
    return Case(
        "bravo", "POST", "/v1/agreements/2/signatures", {"signature": sign_document(world.keys["bravo"], stored)}
    )


def _rotation(world: World) -> Case:
    body = {
        "kind": "key_rotation",
        "party": "alpha",
        "previous_key": public_key_b64(world.keys["alpha"]),
        "public_key": public_key_b64(generate_key()),
        "signed_at": world.now_iso(),
    }
    return Case("alpha", "POST", "/v1/parties/alpha/keys", body)


def _revise(world: World) -> Case:
    op = _op(world)
    return Case("alpha", "PUT", f"/v1/operations/{op['id']}", {"version": op["version"], "volumes": [box(11.0)]})


def _state(world: World) -> Case:
    op = _op(world)
    return Case("alpha", "POST", f"/v1/operations/{op['id']}/state", {"version": op["version"], "state": "active"})


def _change_hazard(world: World) -> Case:
    hazard = _hazard(world)
    body = {"version": hazard["version"], "kind": "other", "volume": box(21.0, 40.0)}
    return Case("charlie", "PUT", f"/v1/hazards/{hazard['id']}", body)


CASES: dict[tuple[str, str], Callable[[World], Case]] = {
    ("POST", "/v1/operations"): lambda w: Case("alpha", "POST", "/v1/operations", {"volumes": [box()]}),
    ("PUT", "/v1/operations/{op_id}"): _revise,
    ("POST", "/v1/operations/{op_id}/check"): lambda w: (
        lambda op: Case("charlie", "POST", f"/v1/operations/{op['id']}/check", {"version": op["version"]})
    )(_op(w, "charlie", lon=_op(w, "alpha", lon=35.0) and 35.0)),
    ("POST", "/v1/operations/{op_id}/state"): _state,
    ("POST", "/v1/operations/{op_id}/notices/{notice_id}/request"): _notice_request,
    ("POST", "/v1/hazards"): lambda w: Case("charlie", "POST", "/v1/hazards", {"kind": "other", "volume": box()}),
    ("PUT", "/v1/hazards/{hazard_id}"): _change_hazard,
    ("DELETE", "/v1/hazards/{hazard_id}"): lambda w: Case("charlie", "DELETE", f"/v1/hazards/{_hazard(w)['id']}", {}),
    ("POST", "/v1/tracks"): lambda w: Case("alpha", "POST", "/v1/tracks", _track(w)),
    ("POST", "/v1/messages"): lambda w: Case(
        "alpha", "POST", "/v1/messages", {"recipients": ["charlie"], "kind": "notice", "text": "hi"}
    ),
    ("POST", "/v1/messages/{message_id}/ack"): lambda w: Case(
        "charlie", "POST", f"/v1/messages/{_message(w)['id']}/ack", {}
    ),
    ("POST", "/v1/messages/{message_id}/answer"): lambda w: Case(
        "alpha", "POST", f"/v1/messages/{_resolution(w)}/answer", {"answer": "accept"}
    ),
    ("POST", "/v1/parties/{party_id}/keys"): _rotation,
    ("POST", "/v1/agreements"): _proposal,
    ("POST", "/v1/agreements/{version}/signatures"): _signature,
}
UNSIGNED = {("POST", "/v1/parties")}  # the admin's: Idempotency-Key (tested below)


def test_every_write_route_is_covered() -> None:
    line = Line(Database("sqlite://"))
    paths = create_app(line).openapi()["paths"]
    writes = {(m.upper(), p) for p, item in paths.items() for m in item if m in ("post", "put", "patch", "delete")}
    assert writes == set(CASES) | UNSIGNED
    for method, path in CASES:  # each takes a statement for an action of its own
        assert action_for(method, path.replace("{", "").replace("}", "")) is not None


def _footprint(world: World) -> dict[str, int]:
    """Rows in every table but the statements' own: what a refusal or a copy must not change."""
    with world.line.db.read() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
            if t.name != "statements"
        }


@pytest.fixture
def second(world: World) -> Iterator[TestClient]:
    """Another instance on the same database."""
    line = Line(Database(world.line.db.url), clock=world.clock, evaluate_every_s=0)
    client = TestClient(create_app(line), raise_server_exceptions=False)
    yield client
    line.db.dispose()


def _headers(world: World, case: Case, sealed: Sealed, signature: str | None = None) -> dict[str, str]:
    return {**world.headers(case.who), SIGNATURE: signature or sealed.signature, "Content-Type": PAYLOAD_TYPE}


def _send(client: TestClient, world: World, case: Case, sealed: Sealed, signature: str | None = None) -> Any:
    return client.request(
        case.method, case.path, content=sealed.statement, headers=_headers(world, case, sealed, signature)
    )


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_copy_is_one_act_and_refusals_change_nothing(
    world: World, second: TestClient, route: tuple[str, str]
) -> None:
    case = CASES[route](world)
    key, now = world.keys[case.who], world.now_iso()
    action = action_for(case.method, case.path)
    assert action is not None
    line_id = world.line_id()

    def refused(sealed: Sealed, status: int, words: str, signature: str | None = None) -> None:
        before = _footprint(world)
        response = _send(world.client, world, case, sealed, signature)
        assert response.status_code == status and words in response.text, response.text
        assert _footprint(world) == before

    # Refusals first: each changes nothing, and its nonce stays unused.
    refused(seal(key, "deconline/elsewhere", action, case.body, now), 403, "deconline/elsewhere")
    refused(
        seal(key, line_id, "operation.file" if action != "operation.file" else "hazard.declare", case.body, now),
        403,
        "this route takes",
    )
    stale = created_at(world.clock.now - 301)
    refused(seal(key, line_id, action, case.body, stale), 401, "301 s behind")
    good = seal(key, line_id, action, case.body, now)
    refused(
        good,
        401,
        "signature rejected",
        seal(world.keys["charlie" if case.who != "charlie" else "alpha"], line_id, action, case.body, now).signature,
    )

    before = _footprint(world)
    first = _send(world.client, world, case, good)
    assert first.status_code < 300, first.text
    assert "Idempotent-Replayed" not in first.headers
    effect = _footprint(world)
    assert effect != before
    for client in (second, world.client):  # replayed to the other instance, then to the same one
        again = _send(client, world, case, good)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again.headers["Idempotent-Replayed"] == "true"
        assert _footprint(world) == effect
    other = seal(
        key, line_id, action, case.body, world.now_iso()[:-4] + "999Z", nonce=json.loads(good.statement)["nonce"]
    )
    refused(other, 422, "already used")


def test_the_signed_statement_is_in_the_record_as_signed(world: World) -> None:
    op = world.file("alpha", box(), name="signed")
    entries = [world.get("alpha", f"/v1/record/entries/{i}").json() for i in range(8)]
    [filed] = [e for e in entries if "entry" in e and op["id"] in e["entry"]]
    assert filed["signer"] == "alpha"
    statement = json.loads(filed["entry"])["event"]["statement"]
    said = open_sealed(statement.encode(), filed["signature"], public_key_b64(world.keys["alpha"]))
    assert said.action == "operation.file" and said.line == world.line_id() and said.body["name"] == "signed"


def test_bare_bodies_and_bare_signatures_are_refused_with_what_to_do(world: World) -> None:
    body = {"volumes": [box()]}
    unsigned = world.post("alpha", "/v1/operations", body, sign=False)
    assert unsigned.status_code == 401 and SIGNATURE in unsigned.json()["detail"]
    bare = {**world.headers("alpha"), SIGNATURE: sign_document(world.keys["alpha"], body)}
    response = world.client.post("/v1/operations", json=body, headers=bare)
    assert response.status_code == 401 and "bare body" in response.json()["detail"]
    malformed = {**world.headers("alpha"), SIGNATURE: "AAAA", "Content-Type": PAYLOAD_TYPE}
    response = world.client.post("/v1/operations", content=b'{"action":1,"body":{}}', headers=malformed)
    assert response.status_code in (401, 422)
    assert world.get("alpha", "/v1/operations").json() == []
    # malformed input is a 422 before it is a 401
    response = world.post("alpha", "/v1/operations", {"volumes": [dict(box(), lower_m=5000)]}, sign=False)
    assert response.status_code == 422


def test_the_admins_writes_honour_idempotency_keys(world: World) -> None:
    body = {"id": "delta", "public_key": public_key_b64(generate_key())}
    headers = {**world.headers("admin"), "Idempotency-Key": '"add-delta-1"'}
    first = world.client.post("/v1/parties", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = world.client.post("/v1/parties", json=body, headers=headers)
    assert (again.status_code, again.json()) == (201, first.json()) and again.headers["Idempotent-Replayed"] == "true"
    other = world.client.post("/v1/parties", json=dict(body, group="x"), headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.text
    assert [p["id"] for p in world.get("admin", "/v1/parties").json()].count("delta") == 1
    bad = world.client.post("/v1/parties", json=body, headers={**world.headers("admin"), "Idempotency-Key": "a b"})
    assert bad.status_code == 422


def test_a_copy_whose_first_answer_was_lost_is_told_so_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not world.line.db.is_sqlite:
        pytest.skip("the claim and its answer are the same rows on both databases: SQLite shows it")
    monkeypatch.setattr(statements, "ANSWER_WAIT_S", 0.2)
    case = Case("alpha", "POST", "/v1/operations", {"volumes": [box()]})
    sealed = world.statement("alpha", "POST", "/v1/operations", case.body, world.now_iso())
    assert _send(world.client, world, case, sealed).status_code == 201
    world.line.answers.flush()
    world.line.answers.recent.clear()  # as if the instance that answered had been killed before keeping it
    with world.line.db.write() as session:
        session.execute(delete(StatementRow))
    before = _footprint(world)
    again = _send(world.client, world, case, sealed)
    assert again.status_code == 409 and again.headers["Idempotent-Replayed"] == "true"
    assert "will not be carried out again" in again.json()["detail"]
    assert _footprint(world) == before
    client = Client("http://test", world.tokens["alpha"], transport=world.client._transport)
    with pytest.raises(AlreadyCarriedOut):  # how the Python client reports it
        client._call("POST", "/v1/operations", content=sealed.statement, headers=_headers(world, case, sealed))


def test_the_agreement_sets_the_window(world: World) -> None:
    if not world.line.db.is_sqlite:
        pytest.skip("the window is read the same way on both databases: SQLite shows it")
    adopt(world, statement_window_s=60)
    world.client.app.state.statement_facts.window_read_at = -1e18  # read again now (it is every 5 s)
    old = created_at(world.clock.now - 90)
    case = Case("alpha", "POST", "/v1/operations", {"volumes": [box()]})
    refused = _send(world.client, world, case, world.statement("alpha", "POST", "/v1/operations", case.body, old))
    assert refused.status_code == 401 and "±60 s" in refused.json()["detail"]
    assert "statement_window_s" in world.get("alpha", "/v1/agreements/current").json()["document"]
