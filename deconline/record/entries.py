"""Record entries and their salted commitments: the tree reveals nothing until an entry is disclosed.

An entry is the canonical JSON (RFC 8785) of the event with its sequence number, time and author.
The leaf data is ``SHA-256(salt || canonical entry)`` with a fresh 32-byte salt per entry; the
leaf hash is then RFC 9162's ``SHA-256(0x00 || leaf data)``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from deconline.record.canonical import canonical_json
from deconline.record.merkle import leaf_hash

SALT_SIZE = 32


def entry_bytes(seq: int, time_s: float, author: str, event: dict[str, Any], to: list[str] | None = None) -> bytes:
    """The canonical bytes of one entry (what is signed and committed to); ``to`` names who it concerns."""
    return canonical_json({"seq": seq, "time": time_s, "author": author, "to": sorted(to or []), "event": event})


def commitment(salt: bytes, canonical: bytes) -> bytes:
    if len(salt) != SALT_SIZE:
        raise ValueError(f"a salt is {SALT_SIZE} bytes")
    return hashlib.sha256(salt + canonical).digest()


def entry_leaf_hash(salt: bytes, canonical: bytes) -> bytes:
    return leaf_hash(commitment(salt, canonical))
