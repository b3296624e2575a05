"""The agreement takes effect only when every listed party has signed that exact version."""

from __future__ import annotations

from typing import Any

from deconline.record.signing import sign_document
from tests.helpers import AGREEMENT, World, box


def _sign(world: World, who: str, version: int) -> Any:
    document = world.get(who, f"/v1/agreements/{version}").json()["document"]
    signature = sign_document(world.keys[who], document)
    return world.post(who, f"/v1/agreements/{version}/signatures", {"signature": signature})


def test_no_operation_without_an_agreement(bare_world: World) -> None:
    response = bare_world.post("alpha", "/v1/operations", {"volumes": [box()]})
    assert response.status_code == 409
    assert "no agreement is in force" in response.json()["detail"]
    assert bare_world.get("alpha", "/v1/agreements/current").status_code == 404


def test_in_force_only_when_everyone_signed(bare_world: World) -> None:
    w = bare_world
    proposed = w.post("admin", "/v1/agreements", AGREEMENT)
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["missing_signatures"] == ["alpha", "bravo", "charlie"]
    assert _sign(w, "alpha", 1).json()["current"] is False
    assert _sign(w, "bravo", 1).status_code == 200
    assert w.post("alpha", "/v1/operations", {"volumes": [box()]}).status_code == 409
    final = _sign(w, "charlie", 1).json()
    assert final["current"] is True and final["in_force_at"] is not None
    assert w.get("alpha", "/v1/agreements/current").json()["version"] == 1
    assert w.post("alpha", "/v1/operations", {"volumes": [box()]}).status_code == 201


def test_old_version_stays_in_force_until_the_new_one_is_signed(world: World) -> None:
    v2 = dict(AGREEMENT, version=2, h_strategic_m=50_000.0)
    assert world.post("alpha", "/v1/agreements", v2).status_code == 201
    _sign(world, "alpha", 2)
    _sign(world, "bravo", 2)
    assert world.get("alpha", "/v1/agreements/current").json()["version"] == 1
    world.file("alpha", box(10.0, 50.0, 1))
    assert world.file("charlie", box(10.3, 50.0, 1))["state"] == "accepted"  # ~19 km apart, fine under v1
    _sign(world, "charlie", 2)
    assert world.get("charlie", "/v1/agreements/current").json()["version"] == 2
    assert world.file("charlie", box(10.3, 50.0, 1, lower=1100))["state"] == "proposed"  # 50 km minimum now


def test_bad_signatures_are_refused(world: World) -> None:
    assert world.post("alpha", "/v1/agreements", dict(AGREEMENT, version=2)).status_code == 201
    document = world.get("alpha", "/v1/agreements/2").json()["document"]
    wrong_key = sign_document(world.keys["bravo"], document)
    response = world.post("alpha", "/v1/agreements/2/signatures", {"signature": wrong_key})
    assert response.status_code == 401 and "does not verify" in response.json()["detail"]
    altered = sign_document(world.keys["alpha"], dict(document, h_strategic_m=1.0))
    assert world.post("alpha", "/v1/agreements/2/signatures", {"signature": altered}).status_code == 401
    assert world.post("alpha", "/v1/agreements/2/signatures", {"signature": "!!"}).status_code == 401
    assert _sign(world, "alpha", 2).status_code == 200
    assert _sign(world, "alpha", 2).status_code == 409  # twice


def test_proposals_are_checked(world: World) -> None:
    assert world.post("alpha", "/v1/agreements", dict(AGREEMENT, version=5)).status_code == 409
    unknown = world.post("admin", "/v1/agreements", dict(AGREEMENT, version=2, parties=["alpha", "zulu"]))
    assert unknown.status_code == 422 and "zulu" in unknown.text
    extra = world.post("admin", "/v1/agreements", dict(AGREEMENT, version=2, targets=[1]))
    assert extra.status_code == 422 and "targets" in extra.text
    not_listed = world.post("charlie", "/v1/agreements", dict(AGREEMENT, version=2, parties=["alpha", "bravo"]))
    assert not_listed.status_code == 403
    assert world.get("auditor", "/v1/agreements/current").status_code == 403


def test_document_endpoint_gives_the_signed_bytes(world: World) -> None:
    raw = world.get("alpha", "/v1/agreements/1/document")
    assert raw.status_code == 200
    assert raw.content.startswith(b'{"ack_deadlines_s"')  # RFC 8785 sorts keys
