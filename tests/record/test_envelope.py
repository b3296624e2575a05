"""Signed envelopes: the same bytes as the shared vectors, DSSE's PAE, and every way a statement
can be wrong named."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.record.canonical import canonical_json
from deconline.record.envelope import PAYLOAD_TYPE, EnvelopeError, open_sealed, pae, read_statement, seal
from deconline.record.signing import public_key_b64, sign_document

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "envelopes" / "vectors.json").read_text(encoding="utf-8"))
KEY = Ed25519PrivateKey.from_private_bytes(bytes(32))
PUBLIC = public_key_b64(KEY)


def slow_pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE protocol.md, spelled out."""
    kind = payload_type.encode()
    return b"".join(
        [b"DSSEv1", b" ", str(len(kind)).encode(), b" ", kind, b" ", str(len(payload)).encode(), b" ", payload]
    )


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["action"])
def test_the_shared_vectors_seal_and_open_to_the_same_bytes(vector: dict[str, Any]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["private_key_seed_hex"]))
    assert public_key_b64(key) == vector["public_key"]
    sealed = seal(key, vector["line"], vector["action"], vector["body"], vector["created"], vector["nonce"])
    assert sealed.statement.decode() == vector["statement"]
    assert pae(VECTORS["payload_type"], sealed.statement).hex() == vector["pae_hex"]
    assert sealed.signature == vector["signature"]
    opened = open_sealed(vector["statement"].encode(), vector["signature"], vector["public_key"])
    assert (opened.line, opened.action, opened.nonce, opened.body) == (
        vector["line"], vector["action"], vector["nonce"], vector["body"],
    )  # fmt: skip


@settings(max_examples=50, deadline=None)
@given(
    payload_type=st.text(max_size=40),
    payload=st.binary(max_size=200),
)
def test_pae_is_dsse_v1(payload_type: str, payload: bytes) -> None:
    assert pae(payload_type, payload) == slow_pae(payload_type, payload)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None)
@given(body=JSON)
def test_any_body_opens_as_it_was_sealed(body: Any) -> None:
    sealed = seal(KEY, "line-a", "operations.file", body)
    opened = open_sealed(sealed.statement, sealed.signature, PUBLIC)
    assert opened.body == body and opened.line == "line-a" and opened.action == "operations.file"
    assert len(base64.urlsafe_b64decode(opened.nonce + "==")) >= 16
    assert seal(KEY, "line-a", "operations.file", body).statement != sealed.statement  # a new nonce each time


def test_a_body_canonical_json_cannot_hold_is_refused_by_name() -> None:
    with pytest.raises(EnvelopeError, match="cannot canonicalise"):
        seal(KEY, "line-a", "operations.file", {"n": 2**53})


def test_a_changed_byte_or_a_bare_body_signature_does_not_verify() -> None:
    sealed = seal(KEY, "line-a", "messages.send", {"text": "hold"})
    other = sealed.statement.replace(b"line-a", b"line-b")
    with pytest.raises(EnvelopeError, match="does not verify"):
        open_sealed(other, sealed.signature, PUBLIC)
    body_signature = sign_document(KEY, json.loads(sealed.statement))  # the old way: no PAE
    with pytest.raises(EnvelopeError, match="does not verify"):
        open_sealed(sealed.statement, body_signature, PUBLIC)
    with pytest.raises(EnvelopeError, match="does not verify"):
        open_sealed(sealed.statement, sealed.signature, public_key_b64(Ed25519PrivateKey.generate()))
    with pytest.raises(EnvelopeError, match="base64"):
        open_sealed(sealed.statement, "not base64!", PUBLIC)


def _statement(**changes: Any) -> bytes:
    value = {"action": "messages.send", "body": {}, "created": "2026-12-06T23:00:00Z", "line": "line-a",
             "nonce": "AAECAwQFBgcICQoLDA0ODw"} | changes  # fmt: skip
    return canonical_json({k: v for k, v in value.items() if v is not None})


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "exactly the fields"),
        (_statement(nonce=None), "exactly the fields"),
        (canonical_json({**json.loads(_statement()), "extra": 1}), "exactly the fields"),
        (_statement(nonce="AAECAwQFBgcICQ"), "at least 16 random bytes"),
        (_statement(nonce="AAECAwQFBgcICQoLDA0ODw=="), "no padding"),
        (_statement(created="2026-12-06T23:00:00+01:00"), "created must be UTC"),
        (_statement(line="Line A"), "line must be"),
        (_statement(action=""), "action must be"),
        (json.dumps(json.loads(_statement()), indent=1).encode(), "canonical JSON"),
    ],
)
def test_a_malformed_statement_is_named(statement: bytes, message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        read_statement(statement)


def test_created_reads_as_epoch_seconds() -> None:
    assert VECTORS["payload_type"] == PAYLOAD_TYPE
    assert read_statement(_statement()).created_s == datetime(2026, 12, 6, 23, 0, tzinfo=UTC).timestamp()
