"""``deconline witness``: add-checkpoint over HTTP with the spec's answers, state that concurrent
requests cannot roll back, and a split view refused, kept as evidence and proven offline."""

from __future__ import annotations

import base64
import itertools
import json
import threading
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from deconline.cli import app
from deconline.record.checkpoint import Checkpoint, parse_verifier_key, sign_checkpoint, verifier_key
from deconline.record.cosignature import cosignatures, cosigner
from deconline.record.merkle import MerkleTree, leaf_hash
from deconline.record.signing import generate_key
from deconline.witness import Witness, add_checkpoint, create_app

LOG_KEY = generate_key()
ORIGIN = "deconline/witnessed"
LOG_VKEY = verifier_key(ORIGIN, LOG_KEY.public_key())
runner = CliRunner()


def _tree(n: int, fork_from: int | None = None) -> MerkleTree:
    tree = MerkleTree()
    for k in range(n):
        tag = b"fork" if fork_from is not None and k >= fork_from else b""
        tree.append(leaf_hash(tag + k.to_bytes(8, "big")))
    return tree


def _body(old: int, tree: MerkleTree, size: int) -> bytes:
    proof = tree.consistency_proof(old, size) if 0 < old < size else []
    note = sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), ORIGIN, LOG_KEY)
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def _witness(tmp_path: Path, name: str = "w1.example/witness") -> Witness:
    return Witness(name, generate_key(), {ORIGIN: parse_verifier_key(LOG_VKEY)}, tmp_path / f"{name.split('/')[0]}.db")


def test_add_checkpoint_over_http_answers_as_the_spec_says(tmp_path: Path) -> None:
    witness = _witness(tmp_path)
    client = TestClient(create_app(witness))
    tree = _tree(40)
    first = client.post("/add-checkpoint", content=_body(0, tree, 10))
    assert first.status_code == 200 and first.text.startswith("\u2014 w1.example/witness ")
    note = sign_checkpoint(Checkpoint(ORIGIN, 10, tree.root(10)), ORIGIN, LOG_KEY)
    who = cosigner(witness.name, witness.key.public_key())
    assert list(cosignatures(note + first.text, [who])) == [witness.name]
    stale = client.post("/add-checkpoint", content=_body(0, tree, 20))
    assert (stale.status_code, stale.text, stale.headers["content-type"]) == (409, "10\n", "text/x.tlog.size")
    assert client.post("/add-checkpoint", content=_body(10, tree, 20)).status_code == 200
    assert client.post("/add-checkpoint", content=b"old 1\n").status_code == 400
    other = sign_checkpoint(Checkpoint("another/log", 5, tree.root(5)), "another/log", LOG_KEY)
    assert client.post("/add-checkpoint", content=b"old 0\n\n" + other.encode()).status_code == 404
    unsigned = sign_checkpoint(Checkpoint(ORIGIN, 30, tree.root(30)), ORIGIN, generate_key())
    assert client.post("/add-checkpoint", content=b"old 20\n\n" + unsigned.encode()).status_code == 403
    assert client.post("/add-checkpoint", content=_body(20, _tree(30, fork_from=15), 30)).status_code == 422


def test_concurrent_requests_never_roll_the_state_back(tmp_path: Path) -> None:
    witness = _witness(tmp_path)
    tree = _tree(80)
    assert add_checkpoint(witness, _body(0, tree, 10), 1.0)[0] == 200
    answers: dict[int, int] = {}

    def offer(size: int) -> None:
        answers[size] = add_checkpoint(witness, _body(10, tree, size), 2.0)[0]

    threads = [threading.Thread(target=offer, args=(size,)) for size in range(11, 41)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [size for size, status in answers.items() if status == 200]
    assert len(won) == 1 and sorted(set(answers.values())) == [200, 409]
    status, media, text = add_checkpoint(witness, _body(0, tree, 10), 3.0)
    assert (status, media, text) == (409, "text/x.tlog.size", f"{won[0]}\n")  # the winner's size stayed


@pytest.mark.parametrize("order", list(itertools.permutations(["honest", "forked"])))
def test_a_split_view_is_never_cosigned_twice_and_proven_offline(tmp_path: Path, order: tuple[str, str]) -> None:
    honest, forked = _tree(30), _tree(30, fork_from=10)
    witnesses = [_witness(tmp_path, f"w{k}.example/witness") for k in range(3)]
    for w in witnesses:
        assert add_checkpoint(w, _body(0, honest, 10), 1.0)[0] == 200  # the common past
    views = {"honest": honest, "forked": forked}
    results: dict[tuple[str, str], int] = {}

    def offer(w: Witness, view: str) -> None:
        results[(w.name, view)] = add_checkpoint(w, _body(10, views[view], 30), 2.0)[0]

    threads = [threading.Thread(target=offer, args=(w, v)) for w in witnesses for v in order]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in witnesses:
        statuses = sorted(results[(w.name, v)] for v in order)
        assert statuses[0] == 200 and statuses[1] in (409, 422), statuses  # never both cosigned
        # Whichever lost, offered again from the size now cosigned, is evidence of a fork.
        cosigned = json.loads(runner.invoke(app, ["witness", "evidence", "--db", str(w.db)]).output)
        for view in order:
            add_checkpoint(w, _body(30, views[view], 30), 3.0)
        kept = json.loads(runner.invoke(app, ["witness", "evidence", "--db", str(w.db)]).output)
        assert len(kept) > len(cosigned) and kept[-1]["kind"] == "fork"
        assert runner.invoke(app, ["witness", "check", "--db", str(w.db)]).exit_code == 1
        path = tmp_path / f"{w.name.split('/')[0]}.evidence.json"
        path.write_text(json.dumps(kept[-1:]))
        verified = runner.invoke(app, ["record", "verify", "--evidence", str(path), "--key", LOG_VKEY])
        assert verified.exit_code == 0 and "FORK PROVEN" in verified.output, verified.output
        stranger = verifier_key(ORIGIN, generate_key().public_key())
        assert runner.invoke(app, ["record", "verify", "--evidence", str(path), "--key", stranger]).exit_code == 1


def test_the_cli_makes_a_key_and_checks_a_clean_witness(tmp_path: Path) -> None:
    made = runner.invoke(app, ["witness", "key", "--name", "w9.example/witness", "--out", str(tmp_path / "w.key")])
    assert made.exit_code == 0 and made.output.startswith("w9.example/witness+")
    assert (tmp_path / "w.key").stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, ["witness", "key", "--name", "x", "--out", str(tmp_path / "w.key")])
    assert again.exit_code == 2
    witness = _witness(tmp_path)
    add_checkpoint(witness, _body(0, _tree(5), 5), 1.0)
    clean = runner.invoke(app, ["witness", "check", "--db", str(witness.db)])
    assert clean.exit_code == 0 and "cosigned up to size 5" in clean.output and "no evidence" in clean.output
