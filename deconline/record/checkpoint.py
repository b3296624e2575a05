"""Checkpoints as C2SP signed notes (tlog-checkpoint, signed-note) with Ed25519.

A checkpoint body is ``<origin>\\n<size>\\n<base64 root>\\n``. A signed note is the body, an empty
line, and one line per signature: ``— <key name> <base64(key id || signature)>``, where the key id
is the first 4 bytes of SHA-256(key name || "\\n" || 0x01 || public key). A verifier key is
written ``<name>+<hex key id>+<base64(0x01 || public key)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519_ALGORITHM = b"\x01"
SIGNATURE_PREFIX = "\u2014 "


class NoteError(ValueError):
    """A note, checkpoint or key is malformed, or no trusted signature verifies."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, public: Ed25519PublicKey, algorithm: bytes = ED25519_ALGORITHM) -> bytes:
    """``algorithm``: the signature type byte (0x01 a note signature; 0x04 a cosignature/v1)."""
    return hashlib.sha256(name.encode() + b"\n" + algorithm + _raw_public(public)).digest()[:4]


def check_key_name(name: str) -> None:
    if not name or any(c in name for c in " +\n") or not name.isprintable():
        raise NoteError(f"key name {name!r} must be non-empty printable text without spaces or '+'")


def verifier_key(name: str, public: Ed25519PublicKey, algorithm: bytes = ED25519_ALGORITHM) -> str:
    check_key_name(name)
    encoded = base64.b64encode(algorithm + _raw_public(public)).decode()
    return f"{name}+{key_id(name, public, algorithm).hex()}+{encoded}"


@dataclass(frozen=True)
class Verifier:
    name: str
    id: bytes
    key: Ed25519PublicKey


def parse_verifier_key(text: str, algorithm: bytes = ED25519_ALGORITHM) -> Verifier:
    parts = text.strip().split("+", 2)  # base64 may itself contain "+"
    if len(parts) != 3:
        raise NoteError("a verifier key is '<name>+<key id hex>+<base64 key>'")
    name, hex_id, encoded = parts
    check_key_name(name)
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"malformed verifier key: {exc}") from exc
    if len(raw) != 33 or raw[:1] != algorithm:
        raise NoteError(f"only Ed25519 verifier keys (algorithm 0x{algorithm.hex()}, 32 bytes) are supported here")
    public = Ed25519PublicKey.from_public_bytes(raw[1:])
    if claimed != key_id(name, public, algorithm):
        raise NoteError("the verifier key's id does not match its name and key")
    return Verifier(name, claimed, public)


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """The signed note: ``text`` (ending in a newline), an empty line, one signature line."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    check_key_name(name)
    signature = key.sign(text.encode())
    encoded = base64.b64encode(key_id(name, key.public_key()) + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {encoded}\n"


def signature_lines(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """A signed note's text (with its final newline) and its signatures as (key name, blob)."""
    text, separator, signatures = note.rpartition("\n\n")
    if not separator or not signatures.endswith("\n"):
        raise NoteError("not a signed note: expected text, an empty line and signature lines")
    found = []
    for line in signatures[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError(f"malformed signature line: {line[:60]!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NoteError(f"malformed signature line: {exc}") from exc
        if base64.b64encode(blob).decode() != encoded:
            raise NoteError("signature is not in canonical base64")
        found.append((name, blob))
    return text + "\n", found


def open_note(note: str, verifier: Verifier) -> str:
    """The note's text, if a signature by ``verifier`` verifies; else :class:`NoteError`."""
    text, signatures = signature_lines(note)
    for name, blob in signatures:
        if name != verifier.name or blob[:4] != verifier.id:
            continue  # someone else's signature (a witness, say)
        try:
            verifier.key.verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise NoteError(f"the signature by {name} does not verify") from exc
        return text
    raise NoteError(f"no signature by {verifier.name} on this note")


def sign_checkpoint(checkpoint: Checkpoint, name: str, key: Ed25519PrivateKey) -> str:
    return sign_note(checkpoint.body(), name, key)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Verify the signature, then parse origin, size and root."""
    lines = open_note(note, verifier).split("\n")
    if len(lines) < 4:
        raise NoteError("a checkpoint has an origin, a size and a root hash")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise NoteError(f"checkpoint size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"checkpoint root is not base64: {exc}") from exc
    if len(root) != 32 or base64.b64encode(root).decode() != root_text:
        raise NoteError("checkpoint root is not 32 bytes in canonical base64")
    return Checkpoint(origin, int(size_text), root)
