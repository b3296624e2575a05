"""Ed25519 keys and signatures over canonical JSON.

Keys travel as base64 of the raw 32 bytes (public) and as PEM PKCS#8 files (private), so a
party can inspect them with ordinary tools.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconline.record.canonical import canonical_json


class SignatureError(ValueError):
    """A key or signature is malformed, or the signature does not verify."""


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


@functools.lru_cache(maxsize=4096)
def load_public_key(b64: str) -> Ed25519PublicKey:
    """Kept once loaded: every signed write checks its party's key, and a key never changes."""
    try:
        raw = base64.b64decode(b64, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("public key must be base64 of 32 raw Ed25519 bytes") from exc


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Write the key as PEM, readable by its owner only (mode 0600 from the first byte)."""
    pem = private_key_pem(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(path, 0o600)


def read_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SignatureError(f"cannot read an Ed25519 private key from {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SignatureError(f"{path} holds a key that is not Ed25519")
    return key


def sign_document(key: Ed25519PrivateKey, document: Any) -> str:
    """Base64 Ed25519 signature over the canonical JSON of ``document``."""
    return base64.b64encode(key.sign(canonical_json(document))).decode("ascii")


def verify_document(public_key_b64_: str, document: Any, signature_b64: str) -> None:
    """Raise :class:`SignatureError` unless the signature covers exactly this document."""
    public = load_public_key(public_key_b64_)
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature must be base64") from exc
    try:
        public.verify(signature, canonical_json(document))
    except InvalidSignature as exc:
        raise SignatureError("the signature does not verify against the party's public key") from exc
