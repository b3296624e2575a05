"""The record through the API: every change is an entry; checkpoints, proofs and disclosure verify."""

from __future__ import annotations

import base64
import json

import pytest

from deconline.record.checkpoint import open_checkpoint, parse_verifier_key
from deconline.record.entries import entry_leaf_hash
from deconline.record.merkle import ProofError, verify_consistency, verify_inclusion
from deconline.service import record
from tests.helpers import World, box, circle


def publish(world: World) -> str | None:
    with world.line.db.write() as session:
        return record.publish_checkpoint(world.line.record, session, world.clock.now)


def checkpoint(world: World, who: str = "auditor"):  # type: ignore[no-untyped-def]
    note = world.get(who, "/v1/record/checkpoint").text
    verifier = parse_verifier_key(world.get(who, "/v1/record/key").text)
    return open_checkpoint(note, verifier)


def entries(world: World, who: str, size: int) -> dict[int, dict[str, object]]:
    found = {}
    for i in range(size):
        response = world.get(who, f"/v1/record/entries/{i}")
        if response.status_code == 200:
            found[i] = response.json()
        else:
            assert response.status_code == 404
    return found


def test_every_change_is_recorded_and_proven(world: World) -> None:
    op = world.file("alpha", box())
    world.file("charlie", box())  # conflicts: proposed with a notice
    world.post("alpha", f"/v1/operations/{op['id']}/state", {"version": 1, "state": "active"})
    world.post("charlie", "/v1/hazards", {"kind": "live_fire", "volume": circle(12, 50, 3000)})
    assert publish(world) is not None
    cp = checkpoint(world)
    kinds = [json.loads(e["entry"])["event"]["kind"] for e in entries(world, "alpha", cp.size).values()]
    assert kinds[:2] == ["agreement.proposed", "agreement.signed"]
    assert {"operation.filed", "operation.active", "hazard.declared"} <= set(kinds)
    for i, e in entries(world, "alpha", cp.size).items():
        leaf = entry_leaf_hash(base64.b64decode(e["salt"]), e["entry"].encode())
        proof = world.get("auditor", "/v1/record/proof/inclusion", params={"index": i, "size": cp.size}).json()
        assert base64.b64decode(proof["leaf_hash"]) == leaf
        verify_inclusion(i, cp.size, leaf, [base64.b64decode(h) for h in proof["hashes"]], cp.root)
        tampered = entry_leaf_hash(base64.b64decode(e["salt"]), e["entry"].replace("alpha", "alphb").encode())
        if tampered != leaf:
            with pytest.raises(ProofError):
                verify_inclusion(i, cp.size, tampered, [base64.b64decode(h) for h in proof["hashes"]], cp.root)


def test_checkpoints_stay_consistent(world: World) -> None:
    world.file("alpha", box())
    publish(world)
    first = checkpoint(world)
    assert publish(world) is None  # nothing new, nothing published
    world.file("alpha", box(12, 50))
    world.post(
        "alpha",
        "/v1/tracks",
        {
            "tracks": [
                {
                    "id": "A1",
                    "lat": 50,
                    "lon": 10,
                    "alt_m": 900,
                    "gs_mps": 100,
                    "track_deg": 0,
                    "time": "2036-11-23T06:00:00Z",
                }
            ]
        },
    )
    publish(world)
    second = checkpoint(world)
    assert second.size > first.size
    proof = world.get(
        "alpha", "/v1/record/proof/consistency", params={"first": first.size, "second": second.size}
    ).json()
    verify_consistency(first.size, second.size, first.root, second.root, [base64.b64decode(h) for h in proof["hashes"]])


def test_entries_are_disclosed_only_to_those_entitled(world: World) -> None:
    op = world.file("alpha", box())
    world.post("charlie", "/v1/hazards", {"kind": "other", "volume": circle(12, 50, 3000)})
    publish(world)
    size = checkpoint(world).size
    mine = entries(world, "alpha", size)
    group = entries(world, "bravo", size)
    other = entries(world, "charlie", size)
    auditor = entries(world, "auditor", size)
    filed = [i for i, e in mine.items() if op["id"] in e["entry"]]
    assert filed and all(i in group for i in filed) and not any(i in other for i in filed)
    public = [i for i, e in mine.items() if "hazard.declared" in e["entry"]]
    assert public and all(i in other and i in auditor for i in public)
    assert not any(op["id"] in str(e) for e in auditor.values())
    assert world.get("admin", "/v1/record/entries/0").status_code == 403


def test_bad_proof_queries(world: World) -> None:
    world.file("alpha", box())
    publish(world)
    size = checkpoint(world).size
    assert world.get("alpha", "/v1/record/proof/inclusion", params={"index": size, "size": size}).status_code == 422
    assert world.get("alpha", "/v1/record/proof/inclusion", params={"index": 0, "size": size + 5}).status_code == 422
    assert world.get("alpha", "/v1/record/proof/consistency", params={"first": 0, "second": size}).status_code == 422
    assert world.get("alpha", "/v1/record/entries/999999").status_code == 404
    assert world.client.get("/v1/record/checkpoint").status_code == 200  # public, like the tiles
