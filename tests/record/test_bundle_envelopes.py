"""Bundles of entries signed in envelopes (issue 24): the signature over the PAE of the statement's
exact bytes, the statement fitting its entry (line, action, time, nonce), the old form still read.

Built from the pure parts alone (tree, entries, checkpoint, seal): no service, no database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from deconline.cli import app
from deconline.record.bundle import FORMAT, BundleError, Verified, range_proof, verify_bundle
from deconline.record.checkpoint import Checkpoint, parse_verifier_key, sign_checkpoint, verifier_key
from deconline.record.entries import entry_bytes, entry_leaf_hash
from deconline.record.envelope import PAYLOAD_TYPE, created_at, pae, seal
from deconline.record.merkle import MerkleTree
from deconline.record.signing import public_key_b64, sign_document
from deconline.record.statements import (
    CREATED_AFTER_ENTRY_S,
    CREATED_BEFORE_ENTRY_S,
    StatementError,
    envelope_problem,
    signed_part,
)

ORIGIN = "deconline/0a1b2c3d"
T0 = 2_110_000_000.0  # 2036
SERVICE = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
ALPHA = Ed25519PrivateKey.from_private_bytes(bytes([2]) * 32)
ALPHA_NEW = Ed25519PrivateKey.from_private_bytes(bytes([3]) * 32)
BRAVO = Ed25519PrivateKey.from_private_bytes(bytes([4]) * 32)
REGISTERED = {"alpha": ALPHA, "bravo": BRAVO}
FILING = {"name": "survey", "volumes": [{"lower_m": 0, "upper_m": 120}]}
runner = CliRunner()


@dataclass
class Rec:
    """One entry as the service would record it, with the party's signature kept beside it."""

    time_s: float
    author: str
    event: dict[str, Any]
    signature: str | None = None
    to: list[str] = field(default_factory=list)


def enveloped(
    key: Ed25519PrivateKey,
    time_s: float,
    author: str,
    kind: str,
    action: str,
    body: Any,
    *,
    line: str = ORIGIN,
    created: str | None = None,
    nonce: str | None = None,
    to: list[str] | None = None,
    **fields: Any,
) -> Rec:
    sealed = seal(key, line, action, body, created or created_at(time_s - 2), nonce)
    event = {"kind": kind, **fields, "statement": sealed.statement.decode()}
    return Rec(time_s, author, event, sealed.signature, to or [author])


def old_style(key: Ed25519PrivateKey, time_s: float, author: str, kind: str, body: Any, **fields: Any) -> Rec:
    return Rec(time_s, author, {"kind": kind, **fields, "submission": body}, sign_document(key, body), [author])


def rotation(
    time_s: float,
    old: Ed25519PrivateKey,
    new: Ed25519PrivateKey,
    signer: Ed25519PrivateKey | None = None,
    **options: Any,
) -> Rec:
    body = {
        "kind": "key_rotation",
        "party": "alpha",
        "previous_key": public_key_b64(old),
        "public_key": public_key_b64(new),
        "signed_at": created_at(time_s - 2),
    }
    fields: dict[str, Any] = {"party": "alpha", "previous_key": body["previous_key"], "public_key": body["public_key"]}
    return enveloped(signer or old, time_s, "alpha", "party.key_rotated", "key.rotate:alpha", body, **fields, **options)


def salt_of(seq: int) -> bytes:
    return hashlib.sha256(b"salt %d" % seq).digest()


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def build(records: list[Rec]) -> dict[str, Any]:
    """A bundle of every entry, in the format of the service's export (``record._bundle``): the
    tree, the signed checkpoint, each party's keys with each rotation's entry and proof."""
    texts = [entry_bytes(seq, r.time_s, r.author, r.event, r.to) for seq, r in enumerate(records)]
    tree = MerkleTree([entry_leaf_hash(salt_of(seq), text) for seq, text in enumerate(texts)])
    size = len(records)
    history: dict[str, list[dict[str, Any]]] = {
        party: [{"public_key": public_key_b64(key), "valid_from": T0 - 3600, "valid_until": None}]
        for party, key in REGISTERED.items()
    }
    entries = []
    for seq, (record, text) in enumerate(zip(records, texts, strict=True)):
        item: dict[str, Any] = {"index": seq, "entry": text.decode(), "salt": b64(salt_of(seq))}
        if record.signature is not None:
            item |= {"signature": record.signature, "signer": record.author}
        entries.append(item)
        if record.event["kind"] == "party.key_rotated":
            chain = history[record.author]
            chain[-1]["valid_until"] = record.time_s
            chain.append(
                {
                    "public_key": record.event["public_key"],
                    "valid_from": record.time_s,
                    "valid_until": None,
                    "rotation": {
                        "index": seq,
                        "entry": text.decode(),
                        "salt": b64(salt_of(seq)),
                        "signature": record.signature,
                        "proof": [b64(h) for h in tree.inclusion_proof(seq, size)],
                    },
                }
            )
    return {
        "format": FORMAT,
        "party_keys": {party: chain[-1]["public_key"] for party, chain in history.items()},
        "key_history": history,
        "from": 0,
        "to": size - 1,
        "checkpoint": sign_checkpoint(Checkpoint(ORIGIN, size, tree.root()), ORIGIN, SERVICE),
        "key": verifier_key(ORIGIN, SERVICE.public_key()),
        "range_proof": [b64(h) for h in range_proof(tree, 0, size, size)],
        "entries": entries,
        "withheld": [],
        "consistency": {},
    }


def verify(bundle: dict[str, Any]) -> Verified:
    return verify_bundle(bundle, parse_verifier_key(bundle["key"]))


def good_records() -> list[Rec]:
    """The service's own entry, alpha's filing in an envelope and one of the old form, bravo's
    message to alpha, alpha's acknowledgement, its key rotation, a filing with the new key."""
    return [
        Rec(T0, "service", {"kind": "line.opened"}),
        enveloped(ALPHA, T0 + 10, "alpha", "operation.filed", "operation.file", FILING, op_id="op_1"),
        old_style(ALPHA, T0 + 20, "alpha", "operation.filed", FILING, op_id="op_2"),
        enveloped(BRAVO, T0 + 30, "bravo", "message.sent", "message.send", {"text": "hold"}, to=["alpha", "bravo"]),
        enveloped(ALPHA, T0 + 40, "alpha", "message.acknowledged", "message.ack:msg_1", {"seen": True}),
        rotation(T0 + 50, ALPHA, ALPHA_NEW),
        enveloped(ALPHA_NEW, T0 + 60, "alpha", "operation.filed", "operation.file", FILING, op_id="op_3"),
    ]


def test_a_good_bundle_verifies_and_counts_its_signatures() -> None:
    bundle = build(good_records())
    result = verify(bundle)
    assert sorted(result.entries) == list(range(7)) and not result.withheld
    assert (result.signed, result.in_envelopes, result.without_envelope) == (6, 5, 1)
    assert [k["public_key"] for k in bundle["key_history"]["alpha"]] == [
        public_key_b64(ALPHA),
        public_key_b64(ALPHA_NEW),
    ]


def test_entries_of_the_old_form_verify_as_before() -> None:
    records = [
        old_style(ALPHA, T0, "alpha", "operation.filed", FILING),
        old_style(BRAVO, T0 + 1, "bravo", "hazard.declared", {"what": "crane"}),
        Rec(T0 + 2, "service", {"kind": "alert.raised"}),
    ]
    result = verify(build(records))
    assert (result.signed, result.in_envelopes, result.without_envelope) == (2, 0, 2)


def test_the_signature_is_over_the_pae_of_the_exact_text() -> None:
    record = enveloped(ALPHA, T0, "alpha", "operation.filed", "operation.file", FILING)
    signed = signed_part(record.event)
    assert signed.message == pae(PAYLOAD_TYPE, record.event["statement"].encode())
    assert signed.body == FILING and signed.statement is not None and signed.statement.action == "operation.file"
    old = signed_part({"kind": "operation.filed", "submission": FILING})
    assert old.statement is None and old.body == FILING
    with pytest.raises(StatementError, match="not both"):
        signed_part({**record.event, "submission": FILING})
    with pytest.raises(StatementError, match="must embed"):
        signed_part({"kind": "operation.filed"})
    spaced = record.event["statement"].replace(",", ", ", 1)  # the same JSON, not the signed bytes
    with pytest.raises(StatementError, match="canonical"):
        signed_part({**record.event, "statement": spaced})


def test_a_statement_changed_by_one_byte_fails_its_signature() -> None:
    records = good_records()
    records[1].event["statement"] = records[1].event["statement"].replace('"survey"', '"surveY"')
    with pytest.raises(BundleError, match=r"^entry 1: the signature by alpha over its statement does not match"):
        verify(build(records))  # in the log itself, under the checkpoint
    bundle = build(good_records())
    bundle["entries"][3]["entry"] = bundle["entries"][3]["entry"].replace('\\"hold\\"', '\\"holD\\"')
    with pytest.raises(BundleError, match=r"^entry 3: the signature by bravo over its statement"):
        verify(bundle)  # in the bundle only


def test_a_repeated_nonce_fails_at_its_second_entry() -> None:
    records = good_records()
    nonce = json.loads(records[1].event["statement"])["nonce"]
    records[6] = enveloped(ALPHA_NEW, T0 + 60, "alpha", "operation.filed", "operation.file", FILING, nonce=nonce)
    with pytest.raises(BundleError, match=r"^entry 6: repeats the nonce of entry 1 \(alpha's "):
        verify(build(records))
    other = good_records()  # the same nonce by another party is its own
    nonce = json.loads(other[3].event["statement"])["nonce"]
    other[4] = enveloped(ALPHA, T0 + 40, "alpha", "message.acknowledged", "message.ack:msg_1", {}, nonce=nonce)
    assert verify(build(other)).in_envelopes == 5


def test_a_statement_for_another_line_fails() -> None:
    records = good_records()
    records[1] = enveloped(
        ALPHA, T0 + 10, "alpha", "operation.filed", "operation.file", FILING, line="deconline/ffffffff"
    )
    with pytest.raises(BundleError, match=rf"^entry 1: the statement is for line deconline/ffffffff, not .*{ORIGIN}"):
        verify(build(records))


def test_an_action_that_does_not_make_the_entry_fails() -> None:
    records = good_records()
    records[3] = enveloped(
        BRAVO, T0 + 30, "bravo", "message.sent", "operation.file", {"text": "hold"}, to=["alpha", "bravo"]
    )
    with pytest.raises(
        BundleError, match=r"^entry 3: a statement for operation.file does not make message.sent entries"
    ):
        verify(build(records))
    records[3] = enveloped(BRAVO, T0 + 30, "bravo", "message.sent", "no.such.action", {"text": "hold"})
    with pytest.raises(BundleError, match=r"^entry 3: .* \(the action is unknown\)"):
        verify(build(records))


@pytest.mark.parametrize(
    ("offset", "fails"),
    [
        (CREATED_AFTER_ENTRY_S + 1, r"301 s after the entry recording it"),
        (CREATED_AFTER_ENTRY_S - 1, None),
        (-CREATED_BEFORE_ENTRY_S + 1, None),
        (-CREATED_BEFORE_ENTRY_S - 1, r"86401 s before the entry recording it"),
    ],
)
def test_created_must_be_near_the_entry_time(offset: float, fails: str | None) -> None:
    records = good_records()
    records[4] = enveloped(
        ALPHA, T0 + 40, "alpha", "message.acknowledged", "message.ack:msg_1", {}, created=created_at(T0 + 40 + offset)
    )
    if fails is None:
        assert verify(build(records)).in_envelopes == 5
        return
    with pytest.raises(BundleError, match=rf"^entry 4: the statement was created at .*{fails}") as failed:
        verify(build(records))
    assert "at most 300 s after" in str(failed.value) and "at most 86400 s before" in str(failed.value)


def test_envelope_problem_names_nothing_for_a_fitting_statement() -> None:
    statement = signed_part(enveloped(ALPHA, T0, "alpha", "x", "operation.state:op_1", {}).event).statement
    assert statement is not None
    assert envelope_problem(statement, ORIGIN, "operation.cancelled", T0) is None
    assert envelope_problem(statement, None, "operation.cancelled", T0) is None  # the line not checked
    assert "does not make operation.filed entries" in str(envelope_problem(statement, ORIGIN, "operation.filed", T0))


def test_a_statement_without_its_signature_or_beside_a_submission_fails() -> None:
    bundle = build(good_records())
    del bundle["entries"][1]["signature"], bundle["entries"][1]["signer"]
    with pytest.raises(BundleError, match=r"^entry 1: it embeds a party's statement, but the bundle has no signature"):
        verify(bundle)
    records = good_records()
    records[1].event["submission"] = FILING
    with pytest.raises(BundleError, match=r"^entry 1: a signed entry embeds its statement or its submission, not both"):
        verify(build(records))


def test_a_rotation_in_an_envelope_is_checked_as_one() -> None:
    records = good_records()
    records[5] = rotation(T0 + 50, ALPHA, ALPHA_NEW, line="deconline/ffffffff")
    with pytest.raises(BundleError, match=r"^party keys: the rotation of alpha .* the statement is for line"):
        verify(build(records))
    records[5] = rotation(T0 + 50, ALPHA, ALPHA_NEW, signer=ALPHA_NEW)  # by the new key itself
    with pytest.raises(BundleError, match=r"^party keys: .* is not signed by its previous key"):
        verify(build(records))


def test_record_verify_and_claim_say_how_entries_are_signed(tmp_path: Path) -> None:
    bundle = build(good_records())
    path = tmp_path / "line.bundle"
    path.write_text(json.dumps(bundle))
    verified = runner.invoke(app, ["record", "verify", str(path), "--key", bundle["key"]])
    assert verified.exit_code == 0, verified.output
    assert "6 signed entries: 5 in envelopes, 1 signed without an envelope" in verified.output
    window = ["--between", created_at(T0 - 1), created_at(T0 + 100), "--key", bundle["key"]]
    claimed = runner.invoke(app, ["record", "claim", str(path), "--from", "bravo", "--to", "alpha", *window])
    assert claimed.exit_code == 0, claimed.output
    statement = json.loads(json.loads(bundle["entries"][3]["entry"])["event"]["statement"])
    lines = claimed.output.splitlines()
    assert lines[0].startswith("FOUND: entries 3")
    assert lines[1] == (
        f"  entry 3: signed by bravo in an envelope: action message.send, created {statement['created']}, "
        f"nonce {statement['nonce']}"
    )
    old = runner.invoke(app, ["record", "claim", str(path), "--from", "alpha", "--to", "alpha", *window])
    said = old.output.splitlines()
    assert said[0].startswith("FOUND: entries 1, 2, 4, 5, 6")
    assert (
        said[2]
        == "  entry 2: signed by alpha without an envelope (over its body alone: no line, action, time or nonce)"
    )
