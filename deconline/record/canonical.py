"""Canonical JSON (RFC 8785, JCS): the one byte string that every signature covers."""

from __future__ import annotations

from typing import Any

import rfc8785


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 serialisation of ``value``; raises ``ValueError`` on what JCS cannot encode."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"cannot canonicalise: {exc}") from exc
