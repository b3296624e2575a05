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
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconline.record.checkpoint import SIGNATURE_PREFIX, NoteError, signature_lines

COSIGNATURE_ALGORITHM = b"\x04"
HEADER = "cosignature/v1\n"
MAX_TIMESTAMP = 2**63 - 1


@dataclass(frozen=True)
class Cosigner:
    """A witness as verifiers know it: its name, key id and Ed25519 public key."""

    name: str
    id: bytes
    key: Ed25519PublicKey

    def vkey(self) -> str:
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(COSIGNATURE_ALGORITHM + raw).decode()}"


def cosigner_key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + COSIGNATURE_ALGORITHM + raw).digest()[:4]


def cosigner(name: str, public: Ed25519PublicKey) -> Cosigner:
    if not name or any(c in name for c in " +\n") or not name.isprintable():
        raise NoteError(f"cosigner name {name!r} must be non-empty printable text without spaces or '+'")
    return Cosigner(name, cosigner_key_id(name, public), public)


def parse_vkey(text: str) -> Cosigner:
    """A cosigner from its vkey (signature type 0x04)."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a witness key is '<name>+<key id hex>+<base64(0x04 || Ed25519 key)>'")
    name, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"malformed witness key: {exc}") from exc
    if len(raw) != 33 or raw[:1] != COSIGNATURE_ALGORITHM:
        raise NoteError("a witness key is an Ed25519 cosignature/v1 key (type 0x04, 32 bytes)")
    found = cosigner(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
    if found.id != claimed:
        raise NoteError("the witness key's id does not match its name and key")
    return found


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
