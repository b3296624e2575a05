"""What a witness answers to C2SP tlog-witness ``add-checkpoint``, decided without I/O (issue 25).

The request body is ``old <size>\\n``, up to 63 base64 consistency-proof lines, an empty line and
the signed checkpoint. The witness cosigns only a checkpoint the log signed, whose old size is the
size it last cosigned for that origin, and which consistently extends that tree; each other case
has the status the spec gives it (400, 403, 404, 409 with the size it knows, 422). Two signed
checkpoints that cannot both be true are *evidence* that the log forked: the shell keeps them.

The shell (``deconline.witness``) reads the state, calls :func:`decide` and writes the new state
in one transaction, so two requests can never roll the state back.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any

from deconline.record.checkpoint import Checkpoint, NoteError, Verifier, open_checkpoint
from deconline.record.merkle import ProofError, verify_consistency

MAX_PROOF_LINES = 63
EMPTY_ROOT = hashlib.sha256(b"").digest()


class WitnessError(ValueError):
    """The request cannot be read (400)."""


@dataclass(frozen=True)
class AddCheckpoint:
    old: int
    proof: list[bytes]
    note: str  # the signed checkpoint as sent

    @property
    def origin(self) -> str:
        return self.note.split("\n", 1)[0]


@dataclass(frozen=True)
class Seen:
    """The latest checkpoint the witness cosigned for a log."""

    size: int
    root: bytes
    note: str


@dataclass(frozen=True)
class Decision:
    status: int
    message: str
    checkpoint: Checkpoint | None = None  # the checkpoint to cosign (200)
    known_size: int | None = None  # 409: the size the witness last cosigned
    evidence: str | None = None  # the kind of misbehaviour the two checkpoints prove, if any


def _decimal(text: str, what: str) -> int:
    if not text.isdigit() or (text != "0" and text.startswith("0")) or not text.isascii():
        raise WitnessError(f"{what} must be a decimal number without leading zeroes")
    return int(text)


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """The request's parts; :class:`WitnessError` for anything the spec's format does not allow."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessError("the request is not UTF-8 text") from exc
    head, separator, note = text.partition("\n\n")
    if not separator or not note:
        raise WitnessError("expected an old size line, proof lines, an empty line and a checkpoint")
    lines = head.split("\n")
    if not lines[0].startswith("old "):
        raise WitnessError("the first line is 'old <size>'")
    old = _decimal(lines[0][4:], "the old size")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise WitnessError(f"at most {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in lines[1:]:
        try:
            hashed = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WitnessError("a consistency proof line is one base64 hash") from exc
        if len(hashed) != 32:
            raise WitnessError("a consistency proof hash is 32 bytes")
        proof.append(hashed)
    return AddCheckpoint(old, proof, note)


def decide(request: AddCheckpoint, logs: dict[str, Verifier], seen: Seen | None) -> Decision:
    """The answer to ``request`` by a witness that trusts ``logs`` (origin → the log's key) and last
    cosigned ``seen`` for the request's origin (None: never)."""
    verifier = logs.get(request.origin)
    if verifier is None:
        return Decision(404, f"unknown log {request.origin!r}")
    try:
        checkpoint = open_checkpoint(request.note, verifier)
    except NoteError as exc:
        return Decision(403, f"the checkpoint is not signed by the log's key: {exc}")
    if request.old > checkpoint.size:
        return Decision(400, f"the old size {request.old} is larger than the checkpoint's {checkpoint.size}")
    current = seen.size if seen is not None else 0
    if request.old != current:
        return Decision(409, f"the last cosigned size is {current}", known_size=current)
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        return Decision(422, "a checkpoint of size 0 has the empty tree's root")
    if request.old == 0:
        if request.proof:
            return Decision(422, "from size 0 the consistency proof is empty")
        return Decision(200, "cosigned", checkpoint)
    assert seen is not None
    if request.old == checkpoint.size:
        if checkpoint.root != seen.root:
            return Decision(422, f"two roots for size {checkpoint.size}: the log forked", evidence="fork")
        return Decision(200, "cosigned", checkpoint)
    try:
        verify_consistency(request.old, checkpoint.size, seen.root, checkpoint.root, request.proof)
    except ProofError as exc:
        message = f"the checkpoint does not extend size {request.old} consistently: {exc}"
        return Decision(422, message, evidence="inconsistent")
    return Decision(200, "cosigned", checkpoint)


def check_evidence(item: dict[str, Any], verifier: Verifier) -> str:
    """What a piece of a witness's evidence proves, checked offline against the log's key: both
    checkpoints must be signed by the log. Raises :class:`NoteError` when they are not."""
    first = open_checkpoint(str(item["cosigned"]), verifier)
    second = open_checkpoint(str(item["offered"]), verifier)
    if first.origin != second.origin:
        raise NoteError("the two checkpoints are of different logs")
    if first.size == second.size:
        if first.root == second.root:
            raise NoteError("the two checkpoints agree: this is no evidence")
        return f"FORK PROVEN: the log signed two different roots for size {first.size}"
    proof = [bytes.fromhex(str(h)) for h in item.get("proof") or []]
    small, large = sorted((first, second), key=lambda c: c.size)
    try:
        verify_consistency(small.size, large.size, small.root, large.root, proof)
    except ProofError:
        return (
            f"UNPROVEN: the log signed sizes {small.size} and {large.size}, and the proof offered between them "
            "fails; ask the log for a consistency proof: if none verifies, the log forked"
        )
    raise NoteError("the offered proof verifies: the two checkpoints are consistent")
