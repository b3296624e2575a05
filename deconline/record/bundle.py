"""Disclosure bundles and their offline verification, in small named steps.

A bundle covers the leaves ``[start, end]`` of a tree whose signed checkpoint it carries. Every
leaf in the range is accounted for: disclosed (the canonical entry, its salt and signature) or
withheld (only its commitment). One *range proof* — the hashes of the subtrees outside the range
— lets a verifier rebuild the checkpoint's root from the range's leaves, so a bundle of a
million entries verifies in one pass.

A party's signature on an entry covers what the entry embeds (:mod:`deconline.record.statements`):
an envelope's exact statement, which must also fit the entry (this log's line, an action that
makes the entry's kind, created near the entry's time, a nonce no other disclosed entry of the
signer carries), or, for an entry recorded before envelopes, the bare submission.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from deconline.record.checkpoint import Checkpoint, NoteError, Verifier, open_checkpoint
from deconline.record.envelope import Statement
from deconline.record.key_history import (
    KeyHistory,
    KeyHistoryError,
    KeySpan,
    check_key_history,
    key_text,
    keys_at,
    legacy_keys,
    pin,
    when,
)
from deconline.record.merkle import MerkleTree, ProofError, leaf_hash, node_hash, verify_consistency
from deconline.record.statements import StatementError, envelope_problem, signed_part

FORMAT = "deconline-bundle/1"


class BundleError(ValueError):
    """Verification failed; ``step`` names what failed and the message says where."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def range_proof(tree: MerkleTree, start: int, end: int, size: int) -> list[bytes]:
    """Hashes of the maximal subtrees of tree ``size`` outside leaves ``[start, end)``, left to right."""
    out: list[bytes] = []

    def walk(a: int, b: int) -> None:
        if b <= start or a >= end:
            out.append(tree.root_of(a, b))
        elif not (start <= a and b <= end):
            k = _split(b - a)
            walk(a, a + k)
            walk(a + k, b)

    walk(0, size)
    return out


def root_from_range(leaves: list[bytes], start: int, size: int, proof: list[bytes]) -> bytes:
    """Rebuild the root of tree ``size`` from the leaf hashes of ``[start, start + len(leaves))``."""
    end = start + len(leaves)
    hashes = iter(proof)

    def walk(a: int, b: int) -> bytes:
        if b <= start or a >= end:
            value = next(hashes, None)
            if value is None or len(value) != 32:
                raise ProofError("the range proof is too short or holds a hash that is not 32 bytes")
            return value
        if b - a == 1:
            return leaves[a - start]
        k = _split(b - a)
        return node_hash(walk(a, a + k), walk(a + k, b))

    root = walk(0, size)
    if next(hashes, None) is not None:
        raise ProofError("the range proof is longer than needed")
    return root


def _b64(value: str, what: str, step: str) -> bytes:
    """Strict base64: the one canonical spelling, so no byte of a bundle can change unnoticed."""
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BundleError(step, f"{what} is not base64") from exc
    if base64.b64encode(decoded).decode() != value:
        raise BundleError(step, f"{what} is not in canonical base64")
    return decoded


SignedAs = Statement | bool | None  # how an entry is signed: its envelope, True the old way, None not at all


@dataclass
class Verified:
    checkpoint: Checkpoint
    start: int
    end: int
    entries: dict[int, str] = field(default_factory=dict)  # disclosed entries, as committed to
    withheld: list[int] = field(default_factory=list)
    in_envelopes: int = 0  # disclosed entries signed in an envelope (a statement of line, action, time, nonce)
    without_envelope: int = 0  # disclosed entries signed the old way, over their body alone

    @property
    def signed(self) -> int:
        """Disclosed entries that carry a party's signature."""
        return self.in_envelopes + self.without_envelope


def check_checkpoint(bundle: dict[str, Any], verifier: Verifier) -> Checkpoint:
    try:
        return open_checkpoint(bundle["checkpoint"], verifier)
    except (NoteError, KeyError, TypeError) as exc:
        raise BundleError("checkpoint", f"the checkpoint does not verify: {exc}") from exc


def check_complete(bundle: dict[str, Any], checkpoint: Checkpoint) -> tuple[int, int, dict[int, Any], dict[int, Any]]:
    """Every index from ``from`` to ``to`` appears exactly once, disclosed or withheld."""
    step = "completeness"
    start, end = bundle.get("from"), bundle.get("to")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end < checkpoint.size:
        raise BundleError(step, f"range [{start}, {end}] is not inside the checkpoint's tree of {checkpoint.size}")
    disclosed: dict[int, Any] = {}
    withheld: dict[int, Any] = {}
    for kind, target in (("entries", disclosed), ("withheld", withheld)):
        previous = -1
        for item in bundle.get(kind, []):
            index = item.get("index") if isinstance(item, dict) else None
            if not isinstance(index, int) or not start <= index <= end:
                raise BundleError(step, f"{kind} item with index {index!r} is outside [{start}, {end}]")
            if index in disclosed or index in withheld:
                raise BundleError(step, f"index {index} appears twice")
            if index < previous:
                raise BundleError(step, f"{kind} are not in index order at {index}")
            previous = index
            target[index] = item
    missing = (end - start + 1) - len(disclosed) - len(withheld)
    if missing:
        raise BundleError(step, f"{missing} leaves of [{start}, {end}] are neither disclosed nor withheld")
    return start, end, disclosed, withheld


def _seq_of(raw: str) -> int | None:
    """The entry's own number, read without parsing it all: in canonical JSON the top-level
    ``"seq"`` comes after ``"event"``, so it is the last occurrence."""
    at = raw.rfind('"seq":')
    if at < 0:
        return None
    digits = raw[at + 6 : at + 26].split(",", 1)[0]
    return int(digits) if digits.isdigit() else None


def check_entry(
    index: int, item: dict[str, Any], keys: KeyHistory | dict[str, Ed25519PublicKey], origin: str | None = None
) -> bytes:
    """Position, salt and (for a party's submission) signature; returns the leaf commitment.
    ``keys``: each party's keys over time (or one key per party, valid at any time); ``origin``:
    the checkpoint's, which an envelope's line must be (None: the line is not checked)."""
    return _check_entry(index, item, _spans(keys), origin)[0]


def _check_entry(index: int, item: dict[str, Any], keys: KeyHistory, origin: str | None) -> tuple[bytes, SignedAs]:
    """:func:`check_entry`, also saying whether (and how) the entry is signed."""
    raw = item.get("entry")
    if not isinstance(raw, str):
        raise BundleError(f"entry {index}", "no entry text")
    if _seq_of(raw) != index:
        raise BundleError(f"entry {index}", "the entry's own number is not its index")
    canonical = raw.encode()  # the commitment binds these exact bytes
    signed: SignedAs = None
    if "signature" in item or "signer" in item:  # a party's own signature; the checkpoint covers the rest
        signed = _check_signature(index, item, raw, keys, origin)
    elif '"statement":' in raw and _embeds_statement(raw):
        raise BundleError(f"entry {index}", "it embeds a party's statement, but the bundle has no signature for it")
    salt_text = item.get("salt")
    try:
        salt = base64.b64decode(salt_text, validate=True)  # type: ignore[arg-type]
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BundleError(f"entry {index}", "the salt is not base64") from exc
    if len(salt) != 32 or base64.b64encode(salt).decode() != salt_text:
        raise BundleError(f"entry {index}", "the salt is not 32 bytes in canonical base64")
    return hashlib.sha256(salt + canonical).digest(), signed


def _embeds_statement(raw: str) -> bool:
    """Whether the entry's event embeds a statement (read only when its text may: canonical JSON
    writes a key as ``"statement":`` and escapes that inside a string)."""
    try:
        event = json.loads(raw).get("event")
    except (ValueError, AttributeError):
        return False
    return isinstance(event, dict) and "statement" in event


def _spans(keys: KeyHistory | dict[str, Ed25519PublicKey]) -> KeyHistory:
    """Keys over time as they are, or one key per party valid at any time (the shape before histories)."""
    if all(isinstance(k, list) for k in keys.values()):
        return cast(KeyHistory, keys)
    return {p: k if isinstance(k, list) else [KeySpan(key_text(k), k, None, None)] for p, k in keys.items()}


def _check_signature(
    index: int, item: dict[str, Any], raw: str, keys: KeyHistory, origin: str | None
) -> Statement | bool:
    """A party's signature covers what the entry embeds (the PAE of its statement's exact bytes, or
    before envelopes the canonical JSON of its submission), and is by the key the party held at the
    entry's time; an envelope must fit the entry (:func:`envelope_problem`). Returns the statement,
    or True for an entry signed the old way."""
    step = f"entry {index}"
    try:
        parsed = json.loads(raw)
        time_s = float(parsed["time"])
        signed = signed_part(parsed["event"])
    except StatementError as exc:
        raise BundleError(step, str(exc)) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise BundleError(step, "a signed entry must embed what the party signed, and its time") from exc
    signer = item.get("signer")
    if not isinstance(signer, str) or signer not in keys or signer != parsed.get("author"):
        raise BundleError(step, f"no key for signer {signer!r}, or the signer is not the entry's author")
    valid = keys_at(keys, signer, time_s)
    if not valid:
        raise BundleError(step, f"no key of {signer} is valid at the entry's time {when(time_s)}")
    signature = _b64(item.get("signature", ""), "the signature", step)
    if not any(_verifies(span.key, signature, signed.message) for span in valid):
        held = "; ".join(span.describe() for span in valid)
        over = " over its statement" if signed.statement is not None else ""
        raise BundleError(
            step,
            f"the signature by {signer}{over} does not match the key valid at the entry's time {when(time_s)}: {held}",
        )
    if signed.statement is None:
        return True
    problem = envelope_problem(signed.statement, origin, parsed["event"].get("kind"), time_s)
    if problem is not None:
        raise BundleError(step, problem)
    return signed.statement


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def check_range(leaves: list[bytes], start: int, bundle: dict[str, Any], checkpoint: Checkpoint) -> None:
    proof = [_b64(h, "a range proof hash", "range") for h in bundle.get("range_proof", [])]
    try:
        root = root_from_range(leaves, start, checkpoint.size, proof)
    except ProofError as exc:
        raise BundleError("range", str(exc)) from exc
    if root != checkpoint.root:
        raise BundleError("range", "the leaves and the range proof do not lead to the checkpoint's root")


def check_older(bundle: dict[str, Any], older: Checkpoint, checkpoint: Checkpoint) -> None:
    """The bundle's checkpoint extends an older one the verifier already trusts."""
    step = "consistency"
    if older.origin != checkpoint.origin:
        raise BundleError(step, f"the older checkpoint is of another log ({older.origin})")
    if older.size == checkpoint.size:
        if older.root != checkpoint.root:
            raise BundleError(step, f"two different roots for size {older.size}: the log forked")
        return
    proofs = bundle.get("consistency", {})
    if str(older.size) not in proofs:
        raise BundleError(step, f"the bundle has no consistency proof from size {older.size}")
    hashes = [_b64(h, "a consistency hash", step) for h in proofs[str(older.size)]]
    try:
        verify_consistency(older.size, checkpoint.size, older.root, checkpoint.root, hashes)
    except ProofError as exc:
        raise BundleError(step, str(exc)) from exc


def check_party_keys(bundle: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The keys of the parties whose signed submissions the bundle discloses."""
    keys = {}
    given = bundle.get("party_keys") or {}
    if not isinstance(given, dict):
        raise BundleError("party keys", "party_keys must map party ids to keys")
    for party, public in given.items():
        raw = _b64(public, f"the key of {party}", "party keys")
        if len(raw) != 32:
            raise BundleError("party keys", f"the key of {party} is not 32 bytes")
        keys[party] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


def check_keys(bundle: dict[str, Any], checkpoint: Checkpoint) -> KeyHistory:
    """The parties' keys over time: the history when the bundle has one (every rotation checked
    against the checkpoint, and the old ``party_keys`` field agreeing with it), else ``party_keys``."""
    given = bundle.get("key_history")
    try:
        if given is None:
            return legacy_keys(bundle.get("party_keys") or {})
        history = check_key_history(given, checkpoint)
        legacy = legacy_keys(bundle.get("party_keys") or {})
    except KeyHistoryError as exc:
        raise BundleError("party keys", str(exc)) from exc
    for party, spans in legacy.items():
        if party not in history or history[party][-1].text != spans[0].text:
            raise BundleError("party keys", f"party_keys gives {party} a key that is not the last of its key history")
    return history


def verify_bundle(
    bundle: dict[str, Any],
    verifier: Verifier,
    party_keys: dict[str, Ed25519PublicKey] | None = None,
    older: Checkpoint | None = None,
) -> Verified:
    """All steps; raises :class:`BundleError` at the first failure. Party keys default to the
    bundle's own (its key history, each rotation signed by the key before it, from the key each
    party was registered with); pass keys to pin them: a chain is then trusted from that key on."""
    if bundle.get("format") != FORMAT:
        raise BundleError("format", f"not a {FORMAT} bundle")
    checkpoint = check_checkpoint(bundle, verifier)
    history = check_keys(bundle, checkpoint)
    if party_keys is not None:
        try:
            history = pin(history, party_keys)
        except KeyHistoryError as exc:
            raise BundleError("party keys", str(exc)) from exc
    start, end, disclosed, withheld = check_complete(bundle, checkpoint)
    keys = {**_spans({"service": verifier.key}), **history}
    result = Verified(checkpoint, start, end)
    leaves = []
    nonces: dict[tuple[str, str], int] = {}  # (signer, nonce) -> the entry that carries it
    for index in range(start, end + 1):
        if index in disclosed:
            commitment, signed = _check_entry(index, disclosed[index], keys, checkpoint.origin)
            if isinstance(signed, Statement):
                result.in_envelopes += 1
                first = nonces.setdefault((disclosed[index]["signer"], signed.nonce), index)
                if first != index:
                    raise BundleError(
                        f"entry {index}",
                        f"repeats the nonce of entry {first} ({disclosed[index]['signer']}'s {signed.nonce}): a "
                        "statement is carried out once, so no two entries record it",
                    )
            elif signed:
                result.without_envelope += 1
            result.entries[index] = disclosed[index]["entry"]
        else:
            commitment = _b64(withheld[index].get("commitment", ""), f"commitment {index}", "completeness")
            if len(commitment) != 32:
                raise BundleError("completeness", f"commitment {index} is not 32 bytes")
            result.withheld.append(index)
        leaves.append(leaf_hash(commitment))
    check_range(leaves, start, bundle, checkpoint)
    if older is not None:
        check_older(bundle, older, checkpoint)
    return result
