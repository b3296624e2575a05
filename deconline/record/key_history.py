"""Party keys over time, as a bundle carries them, checked offline.

A party's first key is the one it was registered with (taken from the bundle, or pinned by the
verifier). Each later key comes with its rotation: the record entry that made it public, its
salt and inclusion proof against the bundle's signed checkpoint, and the party's signature over
the rotation document by the *previous* key (over the document itself, or, since envelopes, over
the statement whose body it is). So the chain is tied to the log, and a key nobody
signed over cannot enter it. An entry's signature is then checked against the key valid at the
entry's time (both keys at the instant of a rotation, which is signed by the old one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deconline.record.checkpoint import Checkpoint
from deconline.record.merkle import ProofError, leaf_hash, verify_inclusion
from deconline.record.statements import StatementError, envelope_problem, signed_part

ROTATED = "party.key_rotated"


class KeyHistoryError(ValueError):
    """The key history is malformed, or a rotation in it does not hold."""


@dataclass(frozen=True)
class KeySpan:
    """One key and the interval it signs for (``None``: open); the first key's start is not
    enforced, since nothing can be signed by a party before it exists."""

    text: str
    key: Ed25519PublicKey
    valid_from: float | None
    valid_until: float | None

    def covers(self, time_s: float) -> bool:
        starts = self.valid_from is None or self.valid_from <= time_s
        return starts and (self.valid_until is None or time_s <= self.valid_until)

    def describe(self) -> str:
        until = "now" if self.valid_until is None else when(self.valid_until)
        since = "its registration" if self.valid_from is None else when(self.valid_from)
        return f"key {self.text[:12]}… (valid from {since} until {until})"


KeyHistory = dict[str, list[KeySpan]]


def when(time_s: float) -> str:
    try:
        return datetime.fromtimestamp(time_s, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return repr(time_s)


def keys_at(history: KeyHistory, party: str, time_s: float) -> list[KeySpan]:
    """The keys of ``party`` valid at ``time_s``: one, or two at the instant of a rotation."""
    return [span for span in history.get(party, []) if span.covers(time_s)]


def _key(value: Any, what: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise KeyHistoryError(f"{what} is not base64") from exc
    if len(raw) != 32 or base64.b64encode(raw).decode() != value:
        raise KeyHistoryError(f"{what} is not 32 bytes in canonical base64")
    return Ed25519PublicKey.from_public_bytes(raw)


def _bytes(value: Any, what: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise KeyHistoryError(f"{what} is not base64") from exc
    if base64.b64encode(raw).decode() != value:
        raise KeyHistoryError(f"{what} is not in canonical base64")
    return raw


def _time(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise KeyHistoryError(f"{what} is not a time in seconds")
    return float(value)


def legacy_keys(given: Any) -> KeyHistory:
    """A bundle without a history: one key per party, valid at every time."""
    if not isinstance(given, dict):
        raise KeyHistoryError("party_keys must map party ids to keys")
    return {party: [KeySpan(text, _key(text, f"the key of {party}"), None, None)] for party, text in given.items()}


def _check_rotation(party: str, previous: KeySpan, item: dict[str, Any], checkpoint: Checkpoint) -> float:
    """The rotation to ``item``'s key is in the log and signed by ``previous``; returns its time."""
    new_key = item["public_key"]
    rotation = item.get("rotation")
    what = f"the rotation of {party} to key {str(new_key)[:12]}…"
    if not isinstance(rotation, dict):
        raise KeyHistoryError(f"{what} comes without its record entry and signature")
    index, raw = rotation.get("index"), rotation.get("entry")
    if not isinstance(index, int) or isinstance(index, bool) or not isinstance(raw, str):
        raise KeyHistoryError(f"{what} needs the index and text of its record entry")
    salt = _bytes(rotation.get("salt"), f"the salt of {what}")
    proof = [_bytes(h, f"a proof hash of {what}") for h in rotation.get("proof") or []]
    leaf = leaf_hash(hashlib.sha256(salt + raw.encode()).digest())
    try:
        verify_inclusion(index, checkpoint.size, leaf, proof, checkpoint.root)
    except ProofError as exc:
        raise KeyHistoryError(f"{what}: entry {index} is not in the checkpoint's tree ({exc})") from exc
    try:
        entry = json.loads(raw)
        event = entry["event"]
        valid_from = _time(entry["time"], f"the time of entry {index}")
        signed = signed_part(event)
    except StatementError as exc:
        raise KeyHistoryError(f"{what}: entry {index} is not a signed rotation ({exc})") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyHistoryError(f"{what}: entry {index} is not a signed rotation") from exc
    document = signed.body  # the submission, or the statement's body: {kind, party, previous_key, public_key, …}
    claims = (entry.get("seq"), entry.get("author"), event.get("kind"), event.get("public_key"))
    if claims != (index, party, ROTATED, new_key) or not isinstance(document, dict):
        raise KeyHistoryError(f"{what}: entry {index} is not {party}'s rotation to that key")
    if (document.get("party"), document.get("public_key")) != (party, new_key):
        raise KeyHistoryError(f"{what}: the signed document names another party or key")
    if document.get("previous_key") != previous.text:
        raise KeyHistoryError(f"{what}: the signed document does not rotate from the key before it")
    signature = _bytes(rotation.get("signature"), f"the signature of {what}")
    try:
        previous.key.verify(signature, signed.message)
    except InvalidSignature as exc:
        raise KeyHistoryError(f"{what} is not signed by its previous key {previous.text[:12]}…") from exc
    if signed.statement is not None:
        problem = envelope_problem(signed.statement, checkpoint.origin, ROTATED, valid_from)
        if problem is not None:
            raise KeyHistoryError(f"{what}: entry {index}: {problem}")
    return valid_from


def check_key_history(given: Any, checkpoint: Checkpoint) -> KeyHistory:
    """Each party's chain of keys, every rotation checked; raises :class:`KeyHistoryError`."""
    if not isinstance(given, dict):
        raise KeyHistoryError("key_history must map party ids to lists of keys")
    history: KeyHistory = {}
    for party, items in given.items():
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise KeyHistoryError(f"the history of {party} must be a non-empty list of keys")
        spans: list[KeySpan] = []
        for n, item in enumerate(items):
            text = item.get("public_key")
            key = _key(text, f"key {n} of {party}")
            if any(span.text == text for span in spans):
                raise KeyHistoryError(f"key {n} of {party} was already used before in its history")
            if item.get("valid_until") is not None:
                _time(item["valid_until"], f"the end of key {n} of {party}")
            if not spans:
                if "rotation" in item:
                    raise KeyHistoryError(f"the first key of {party} is its registered key: it has no rotation")
                _time(item.get("valid_from"), f"the start of key 0 of {party}")
                spans.append(KeySpan(text, key, None, item.get("valid_until")))
                continue
            valid_from = _check_rotation(party, spans[-1], item, checkpoint)
            if item.get("valid_from") != valid_from or spans[-1].valid_until != valid_from:
                raise KeyHistoryError(
                    f"key {n} of {party} must take over at its rotation's time {when(valid_from)}, and the key "
                    "before it end then"
                )
            spans.append(KeySpan(text, key, valid_from, item.get("valid_until")))
        if spans[-1].valid_until is not None:
            raise KeyHistoryError(f"the last key of {party} must still be valid (no valid_until)")
        history[party] = spans
    return history


def pin(history: KeyHistory, pinned: dict[str, Ed25519PublicKey]) -> KeyHistory:
    """Trust a pinned party's chain only from the key the verifier holds on; a party not pinned
    keeps the bundle's own history (the caller says which those were)."""
    out: KeyHistory = dict(history)
    for party, key in pinned.items():
        spans = history.get(party)
        if spans is None:
            out[party] = [KeySpan(key_text(key), key, None, None)]
            continue
        start = next((i for i, span in enumerate(spans) if span.text == key_text(key)), None)
        if start is None:
            raise KeyHistoryError(
                f"{party}: the key you trust for {party} ({key_text(key)[:12]}…) is not in its key history "
                f"in the bundle ({', '.join(span.text[:12] + '…' for span in spans)})"
            )
        out[party] = spans[start:]
    return out


def key_text(key: Ed25519PublicKey) -> str:
    """A public key as bundles write it: base64 of the raw 32 bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()
