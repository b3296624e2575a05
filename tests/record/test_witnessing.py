"""C2SP tlog-cosignature (Ed25519 cosignature/v1) and tlog-witness add-checkpoint, from the specs'
own text: the signed message, the key id, and every answer of add-checkpoint."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization

from deconline.record.checkpoint import Checkpoint, NoteError, parse_verifier_key, sign_checkpoint, verifier_key
from deconline.record.cosignature import cosign, cosignatures, cosigner, parse_vkey
from deconline.record.merkle import MerkleTree, leaf_hash
from deconline.record.signing import generate_key
from deconline.record.witnessing import (
    EMPTY_ROOT,
    AddCheckpoint,
    Seen,
    WitnessError,
    decide,
    parse_add_checkpoint,
)

LOG_KEY = generate_key()
ORIGIN = "deconline/test"
LOGS = {ORIGIN: parse_verifier_key(verifier_key(ORIGIN, LOG_KEY.public_key()))}


def _tree(n: int, salt: bytes = b"") -> MerkleTree:
    tree = MerkleTree()
    for k in range(n):
        tree.append(leaf_hash(salt + k.to_bytes(8, "big")))
    return tree


def _note(tree: MerkleTree, size: int, key=LOG_KEY) -> str:  # type: ignore[no-untyped-def]
    return sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), ORIGIN, key)


def _request(old: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def test_a_cosignature_is_the_specs_message_key_id_and_timestamp() -> None:
    key = generate_key()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body = Checkpoint(ORIGIN, 5, b"\x07" * 32).body()
    line = cosign(key, "witness.example/w1", body, 1679315147)
    name, encoded = line.removeprefix("\u2014 ").rstrip("\n").split(" ")
    blob = base64.b64decode(encoded)
    assert name == "witness.example/w1" and len(blob) == 4 + 8 + 64
    assert blob[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + raw).digest()[:4]
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    key.public_key().verify(blob[12:], b"cosignature/v1\ntime 1679315147\n" + body.encode())
    who = cosigner("witness.example/w1", key.public_key())
    assert parse_vkey(who.vkey()) == who
    note = sign_checkpoint(Checkpoint(ORIGIN, 5, b"\x07" * 32), ORIGIN, LOG_KEY)
    assert cosignatures(note + line, [who]) == {"witness.example/w1": 1679315147}
    assert cosignatures(note, [who]) == {}
    forged = note + cosign(key, "witness.example/w1", Checkpoint(ORIGIN, 6, b"\x07" * 32).body(), 1679315147)
    with pytest.raises(NoteError, match="does not verify"):
        cosignatures(forged, [who])


def test_every_answer_of_add_checkpoint() -> None:
    tree = _tree(20)
    seen = Seen(10, tree.root(10), _note(tree, 10))
    good = parse_add_checkpoint(_request(10, tree.consistency_proof(10, 20), _note(tree, 20)))
    assert decide(good, LOGS, seen).status == 200
    first = parse_add_checkpoint(_request(0, [], _note(tree, 10)))
    assert decide(first, LOGS, None).status == 200
    assert decide(first, {}, None).status == 404  # an unknown origin
    stranger = parse_add_checkpoint(_request(0, [], _note(tree, 10, generate_key())))
    assert decide(stranger, LOGS, None).status == 403  # not signed by the log
    assert decide(AddCheckpoint(21, [], good.note), LOGS, seen).status == 400  # old larger than size
    stale = decide(AddCheckpoint(5, tree.consistency_proof(5, 20), good.note), LOGS, seen)
    assert (stale.status, stale.known_size) == (409, 10)
    empty = sign_checkpoint(Checkpoint(ORIGIN, 0, b"\x01" * 32), ORIGIN, LOG_KEY)
    assert decide(AddCheckpoint(0, [], empty), LOGS, None).status == 422  # size 0, not the empty root
    zero = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), ORIGIN, LOG_KEY)
    assert decide(AddCheckpoint(0, [], zero), LOGS, None).status == 200
    assert decide(AddCheckpoint(0, [b"\x00" * 32], first.note), LOGS, None).status == 422  # proof from 0
    bad_proof = decide(AddCheckpoint(10, [b"\x00" * 32], good.note), LOGS, seen)
    assert (bad_proof.status, bad_proof.evidence) == (422, "inconsistent")
    assert decide(AddCheckpoint(10, [], _note(tree, 10)), LOGS, seen).status == 200  # the same again


def test_a_split_view_is_refused_and_proven() -> None:
    honest, forked = _tree(30), _tree(30, b"fork")
    for k in range(10):  # the first 10 leaves agree
        forked.levels[0][k] = honest.levels[0][k]
    seen = Seen(10, honest.root(10), _note(honest, 10))
    other = decide(AddCheckpoint(10, [], _note(_tree(10, b"x"), 10)), LOGS, seen)
    assert (other.status, other.evidence) == (422, "fork")
    onward = decide(AddCheckpoint(10, forked.consistency_proof(10, 30), _note(forked, 30)), LOGS, seen)
    assert (onward.status, onward.evidence) == (422, "inconsistent")


@pytest.mark.parametrize(
    "body",
    [b"", b"old 01\n\nx", b"new 1\n\nx", b"old 1\nnot base64!\n\nx", b"old 1\nAAAA\n\nx", b"\xff\n\n", b"old 1\n"],
)
def test_requests_the_spec_does_not_allow_are_400(body: bytes) -> None:
    with pytest.raises(WitnessError):
        parse_add_checkpoint(body)
    many = "old 1\n" + "\n".join([base64.b64encode(b"\x00" * 32).decode()] * 64) + "\n\nx"
    with pytest.raises(WitnessError, match="63"):
        parse_add_checkpoint(many.encode())
