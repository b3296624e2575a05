"""The line and its witnesses (issue 25): three real witness services on loopback cosign every new
checkpoint; with one down the quorum of two still holds; with all down the checkpoint is
published short of quorum, flagged on /readyz, and writes go on; an instance that has never
talked to a witness catches up from its 409."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from deconline.cli import app
from deconline.record.checkpoint import Checkpoint, parse_verifier_key, sign_checkpoint
from deconline.record.cosignature import Cosigner, cosignatures, cosigner
from deconline.record.merkle import MerkleTree, leaf_hash
from deconline.record.signing import generate_key
from deconline.service import record
from deconline.service.duties import checkpoint_beat
from deconline.service.witnesses import Witnesses
from deconline.witness import Witness, create_app
from tests.helpers import AGREEMENT, World, adopt, box, make_world

runner = CliRunner()


class Running:
    """A witness service in a thread of this process, on a port of its own."""

    def __init__(self, witness: Witness) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(create_app(witness), host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def witnessed(tmp_path: Path) -> Iterator[tuple[World, list[Running], list[Cosigner]]]:
    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    with world.line.db.read() as session:
        log_key = parse_verifier_key(record.service_verifier_key(world.line.record, session))
    services, trusted, refs = [], [], []
    for party in AGREEMENT["parties"]:
        name = f"w.{party}.example/witness"
        key = generate_key()
        services.append(Running(Witness(name, key, {log_key.name: log_key}, tmp_path / f"{party}.db")))
        trusted.append(cosigner(name, key.public_key()))
        refs.append({"party": party, "url": f"http://127.0.0.1:{services[-1].port}", "key": trusted[-1].vkey()})
    adopt(world, witnesses=refs, witness_quorum=2)
    yield world, services, trusted
    for service in services:
        service.stop()


def _cosigned(world: World, trusted: list[Cosigner]) -> list[str]:
    note = world.client.get("/v1/record/checkpoint").text  # public: no token
    return sorted(cosignatures(note, trusted))


def test_checkpoints_are_cosigned_by_a_quorum_and_never_wait_for_it(
    witnessed: tuple[World, list[Running], list[Cosigner]], tmp_path: Path
) -> None:
    world, services, trusted = witnessed
    book = Witnesses()
    world.file("alpha", box())
    world.clock.now += 2  # a checkpoint is due again
    checkpoint_beat(world.line, book)
    assert _cosigned(world, trusted) == sorted(c.name for c in trusted)
    ready = world.client.get("/readyz").json()
    assert ready["witnesses"]["cosigned"] == 3 and ready["witnesses"]["status"] == "ok"

    witnessed_bundle = tmp_path / "witnessed.bundle"
    witnessed_bundle.write_text(json.dumps(world.get("alpha", "/v1/record/export", params={"from": 0, "to": 3}).json()))
    key = tmp_path / "line.key"
    key.write_text(world.get("alpha", "/v1/record/key").text)
    verified = runner.invoke(app, ["record", "verify", str(witnessed_bundle), "--key", str(key)])
    assert verified.exit_code == 0 and "WITNESSED by" in verified.output and "2 needed" in verified.output
    strangers = tmp_path / "strangers.vkeys"
    strangers.write_text(cosigner("w.x.example/witness", generate_key().public_key()).vkey() + "\n")
    pinned = runner.invoke(app, ["record", "verify", str(witnessed_bundle), "--key", str(key),
                                 "--witness-keys", str(strangers), "--quorum", "1"])  # fmt: skip
    assert pinned.exit_code == 1 and "UNWITNESSED" in pinned.output

    fresh = Witnesses()  # another instance took over: it learns each witness's size from a 409
    world.file("alpha", box(12.0))
    world.clock.now += 2
    checkpoint_beat(world.line, fresh)
    assert len(_cosigned(world, trusted)) == 3

    services[0].stop()
    world.file("alpha", box(13.0))
    world.clock.now += 2  # a checkpoint is due again
    checkpoint_beat(world.line, book)
    assert len(_cosigned(world, trusted)) == 2  # the quorum of 2 still holds
    assert world.client.get("/readyz").json()["witnesses"]["status"] == "ok"

    for service in services[1:]:
        service.stop()
    filed = world.post("alpha", "/v1/operations", {"volumes": [box(14.0)]})
    assert filed.status_code == 201  # a write never waits for a witness
    world.clock.now += 2  # a checkpoint is due again
    checkpoint_beat(world.line, book)
    ready = world.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["witnesses"]["status"] == "short of quorum"
    assert _cosigned(world, trusted) == []
    bundle = world.get("alpha", "/v1/record/export", params={"from": 0, "to": 3}).json()
    assert cosignatures(bundle["checkpoint"], trusted) == {}
    alone = tmp_path / "alone.bundle"  # a checkpoint no witness saw: perhaps a view shown to alpha alone
    alone.write_text(json.dumps(bundle))
    refused = runner.invoke(app, ["record", "verify", str(alone), "--key", str(key)])
    assert refused.exit_code == 1 and "UNWITNESSED" in refused.output and "0 of the 2" in refused.output
    book.close()
    fresh.close()


def test_a_view_shown_to_one_party_alone_fails_for_lack_of_quorum(
    witnessed: tuple[World, list[Running], list[Cosigner]], tmp_path: Path
) -> None:
    """The operator rewrites a leaf that alpha cannot see, signs the new root with the line's own
    key and shows alpha that checkpoint: every cryptographic check of alpha's bundle passes, but no
    witness cosigns a second root for a size it cosigned, so record verify says UNWITNESSED."""
    world, _, trusted = witnessed
    book = Witnesses()
    world.file("alpha", box())
    world.file("charlie", box(20.0))  # charlie's entries are withheld from alpha
    world.clock.now += 2
    checkpoint_beat(world.line, book)
    with world.line.db.read() as session:
        size = world.line.record.sync(session)
        log_key, origin = record._service_key(world.line.record, session)
    honest = world.get("alpha", "/v1/record/export", params={"from": 0, "to": size - 1}).json()
    assert len(cosignatures(honest["checkpoint"], trusted)) == 3
    forged = json.loads(json.dumps(honest))
    forged["withheld"][-1]["commitment"] = base64.b64encode(b"\x42" * 32).decode()  # a rewritten leaf
    leaves = {e["index"]: hashlib.sha256(base64.b64decode(e["salt"]) + e["entry"].encode()).digest()
              for e in forged["entries"]}  # fmt: skip
    leaves |= {w["index"]: base64.b64decode(w["commitment"]) for w in forged["withheld"]}
    tree = MerkleTree()
    for index in range(size):
        tree.append(leaf_hash(leaves[index]))
    note = sign_checkpoint(Checkpoint(origin, size, tree.root(size)), origin, log_key)
    forged["checkpoint"], forged["consistency"] = note, {}
    answers = [book.http.post(w["url"] + "/add-checkpoint", content=f"old {size}\n\n{note}".encode())
               for w in _refs(world)]  # fmt: skip
    assert {a.status_code for a in answers} == {422}  # each witness refuses a second root for that size
    path = tmp_path / "forged.bundle"
    path.write_text(json.dumps(forged))
    key = tmp_path / "line.key"
    key.write_text(world.get("alpha", "/v1/record/key").text)
    result = runner.invoke(app, ["record", "verify", str(path), "--key", str(key)])
    assert result.exit_code == 1 and "UNWITNESSED" in result.output, result.output
    honest_path = tmp_path / "honest.bundle"
    honest_path.write_text(json.dumps(honest))
    assert runner.invoke(app, ["record", "verify", str(honest_path), "--key", str(key)]).exit_code == 0
    book.close()


def _refs(world: World) -> list[dict[str, str]]:
    document = world.get("alpha", "/v1/agreements/current").json()["document"]
    refs: list[dict[str, str]] = document["witnesses"]
    return refs
