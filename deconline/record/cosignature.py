"""Witness cosignatures in C2SP tlog-cosignature's Ed25519 ``cosignature/v1`` form (issue 25).

A cosignature is a note signature line on a checkpoint: ``— <name> base64(key id || u64 timestamp
|| Ed25519 signature)``, where the key id is ``SHA-256(name || "\\n" || 0x04 || public key)[:4]``
and the signed message is ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint's
whole body. It says: as of that time, this is the largest tree the witness has seen for the log
that consistently extends what it saw before. A witness key is published as a vkey,
``<name>+<hex key id>+<base64(0x04 || public key)>``.
"""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconline.record.checkpoint import (
    SIGNATURE_PREFIX,
    NoteError,
    Verifier,
    check_key_name,
    key_id,
    parse_verifier_key,
    signature_lines,
    verifier_key,
)

COSIGNATURE_ALGORITHM = b"\x04"
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1


class Cosigner(Verifier):
    """A witness as verifiers know it: its name, key id (of type 0x04) and Ed25519 public key."""

    def vkey(self) -> str:
        return verifier_key(self.name, self.key, COSIGNATURE_ALGORITHM)


def cosigner(name: str, public: Ed25519PublicKey) -> Cosigner:
    check_key_name(name)
    return Cosigner(name, key_id(name, public, COSIGNATURE_ALGORITHM), public)


def parse_vkey(text: str) -> Cosigner:
    """A cosigner from its vkey (signature type 0x04)."""
    found = parse_verifier_key(text, COSIGNATURE_ALGORITHM)
    return Cosigner(found.name, found.id, found.key)


def signed_message(body: str, timestamp: int) -> bytes:
    """What a cosignature signs: the header line, the time line, the checkpoint's body."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise NoteError("a cosignature's timestamp is a positive POSIX time")
    if not body.endswith("\n"):
        raise NoteError("a checkpoint body ends with a newline")
    return f"{HEADER}time {timestamp}\n{body}".encode()


def cosign(key: Ed25519PrivateKey, name: str, body: str, timestamp: int) -> str:
    """The cosignature line (ending in a newline) by ``key`` on the checkpoint ``body`` at ``timestamp``."""
    who = cosigner(name, key.public_key())
    signature = key.sign(signed_message(body, timestamp))
    blob = who.id + timestamp.to_bytes(8, "big") + signature
    return f"{SIGNATURE_PREFIX}{name} {base64.b64encode(blob).decode()}\n"


def cosignatures(note: str, trusted: list[Cosigner]) -> dict[str, int]:
    """Which trusted witnesses cosigned the signed checkpoint ``note``, and when: {name: timestamp}.
    Lines by unknown keys are ignored; a line by a trusted key that does not verify is an error."""
    body, signatures = signature_lines(note)
    by_key = {(c.name, c.id): c for c in trusted}
    found: dict[str, int] = {}
    for name, blob in signatures:
        who = by_key.get((name, blob[:4]))
        if who is None or len(blob) != 4 + 8 + 64:
            continue  # the log's own signature, or a witness not trusted here
        timestamp = int.from_bytes(blob[4:12], "big")
        try:
            who.key.verify(blob[12:], signed_message(body, timestamp))
        except (InvalidSignature, NoteError) as exc:
            raise NoteError(f"the cosignature by {name} does not verify") from exc
        found[name] = timestamp
    return found
