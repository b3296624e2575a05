"""Signed notes and checkpoints: round trips, tampering, foreign signatures, keys."""

from __future__ import annotations

import base64
import os

import pytest

from deconline.record.checkpoint import (
    Checkpoint,
    NoteError,
    open_checkpoint,
    open_note,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verifier_key,
)
from deconline.record.entries import commitment, entry_bytes, entry_leaf_hash
from deconline.record.merkle import leaf_hash
from deconline.record.signing import generate_key


def test_checkpoint_round_trip_and_format() -> None:
    key = generate_key()
    cp = Checkpoint("deconline.example/log", 12, bytes(range(32)))
    note = sign_checkpoint(cp, "deconline.example/log", key)
    lines = note.split("\n")
    assert lines[:3] == ["deconline.example/log", "12", base64.b64encode(bytes(range(32))).decode()]
    assert lines[3] == "" and lines[4].startswith("\u2014 deconline.example/log ")
    verifier = parse_verifier_key(verifier_key("deconline.example/log", key.public_key()))
    assert open_checkpoint(note, verifier) == cp


def test_tampering_and_wrong_keys_fail() -> None:
    key, other = generate_key(), generate_key()
    note = sign_checkpoint(Checkpoint("log", 5, os.urandom(32)), "log", key)
    verifier = parse_verifier_key(verifier_key("log", key.public_key()))
    with pytest.raises(NoteError):
        open_note(note.replace("\n5\n", "\n6\n"), verifier)
    with pytest.raises(NoteError, match="no signature"):
        open_note(note, parse_verifier_key(verifier_key("other", other.public_key())))
    forged = sign_note("log\n5\n" + base64.b64encode(os.urandom(32)).decode() + "\n", "log", other)
    with pytest.raises(NoteError):
        open_note(forged, verifier)  # same name, other key: the key id differs, so no signature by us
    with pytest.raises(NoteError):
        open_note("no signature here\n", verifier)


def test_witness_signatures_are_ignored() -> None:
    key, witness = generate_key(), generate_key()
    note = sign_checkpoint(Checkpoint("log", 1, bytes(32)), "log", key)
    cosigned = note + sign_note("x\n", "witness", witness).split("\n\n")[1]
    assert open_checkpoint(cosigned, parse_verifier_key(verifier_key("log", key.public_key()))).size == 1


def test_verifier_key_checks() -> None:
    key = generate_key()
    text = verifier_key("log", key.public_key())
    name, _, encoded = text.split("+", 2)
    with pytest.raises(NoteError, match="id"):
        parse_verifier_key(f"{name}+00000000+{encoded}")
    with pytest.raises(NoteError):
        parse_verifier_key("garbage")
    with pytest.raises(NoteError):
        verifier_key("with space", key.public_key())


def test_entry_commitments() -> None:
    canonical = entry_bytes(1, 1700000000.5, "alpha", {"kind": "operation.filed", "id": "op_1"}, ["bravo", "alpha"])
    assert canonical == (
        b'{"author":"alpha","event":{"id":"op_1","kind":"operation.filed"},"seq":1,'
        b'"time":1700000000.5,"to":["alpha","bravo"]}'
    )
    salt = bytes(32)
    assert entry_leaf_hash(salt, canonical) == leaf_hash(commitment(salt, canonical))
    assert commitment(os.urandom(32), canonical) != commitment(salt, canonical)
    with pytest.raises(ValueError):
        commitment(b"short", canonical)
