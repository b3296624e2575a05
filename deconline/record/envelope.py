"""Signed envelopes: a party's word bound to one line, one action, one time and one use (issue 24).

A submission is signed today over its body alone, so the same bytes mean the same on any line,
for any route, at any time, any number of times. An envelope says all of it in the signed bytes:

    statement = canonical JSON of {"action", "body", "created", "line", "nonce"}
    signature = Ed25519(PAE(PAYLOAD_TYPE, statement))

``PAE`` is DSSE's pre-authentication encoding (github secure-systems-lab/dsse, ``protocol.md``):
``"DSSEv1" SP len(type) SP type SP len(payload) SP payload``, lengths in ASCII decimal. It gives
domain separation (bytes signed as one type can never verify as another, nor as a bare body signed
the old way) without parsing anything before the signature is checked. The statement's exact
bytes are what is signed and what the record keeps: verification never re-canonicalises.

Why not RFC 9421 (HTTP Message Signatures): it signs components of one HTTP exchange (method,
path, chosen headers, a content digest), so a claim checked offline years later would need the
request rebuilt from those components; an envelope is one self-contained byte string that reads
the same through the API, the CLI, the feeder, the browser and a disclosure bundle. RFC 9421's
``created``/``nonce`` parameters are kept here as fields of the statement.

Pure: keys, bytes and values in, bytes and values out; the shell decides which line and action a
route expects, the clock window, and whether a nonce was used before.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconline.record.canonical import canonical_json
from deconline.record.signing import SignatureError, load_public_key

PAYLOAD_TYPE = "application/vnd.deconline.statement+json"
# Over HTTP: the body is the statement, this header its signature; a copy's replayed answer says so.
SIGNATURE_HEADER = "X-Deconline-Signature"
REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_HEADER = "Idempotency-Key"  # the admin's unsigned writes (IETF draft-ietf-httpapi-idempotency-key-header)
NONCE_BYTES = 16  # 128 random bits: never repeated by chance
FIELDS = ("action", "body", "created", "line", "nonce")
_CREATED = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22,128}$")  # 22 base64url characters carry 132 bits
_NAME = re.compile(r"^[a-z0-9][a-z0-9._:/-]{0,127}$")


class EnvelopeError(ValueError):
    """The envelope is malformed, or its signature does not verify."""


@dataclass(frozen=True)
class Statement:
    """What a party says: ``body`` as ``action`` on line ``line`` at ``created``, once (``nonce``)."""

    line: str
    action: str
    created: str  # ISO 8601 UTC with a Z, as signed
    nonce: str  # base64url without padding, at least 128 bits
    body: Any

    @property
    def created_s(self) -> float:
        return datetime.fromisoformat(self.created.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Sealed:
    """The statement's exact bytes and the base64 Ed25519 signature over their PAE."""

    statement: bytes
    signature: str


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def new_nonce() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(NONCE_BYTES)).rstrip(b"=").decode("ascii")


def utc_now() -> str:
    return created_at(datetime.now(UTC).timestamp())


def created_at(seconds: float) -> str:
    """A POSIX time as a statement's ``created``: UTC to the millisecond, with a Z."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seal(
    key: Ed25519PrivateKey, line: str, action: str, body: Any, created: str | None = None, nonce: str | None = None
) -> Sealed:
    """Sign ``body`` as ``action`` on ``line``, now (or at ``created``) and once (a new nonce)."""
    statement = Statement(line, action, created or utc_now(), nonce or new_nonce(), body)
    _check(statement)
    try:
        data = canonical_json(
            {"action": action, "body": body, "created": statement.created, "line": line, "nonce": statement.nonce}
        )
    except (TypeError, ValueError) as exc:
        raise EnvelopeError(f"the body cannot be signed: {exc}") from exc
    return Sealed(data, base64.b64encode(key.sign(pae(PAYLOAD_TYPE, data))).decode("ascii"))


def open_sealed(statement: bytes, signature_b64: str, public_key_b64: str) -> Statement:
    """The statement, once its signature verifies over exactly these bytes; raises
    :class:`EnvelopeError` naming what is wrong."""
    check_signature(statement, signature_b64, public_key_b64)
    return read_statement(statement)


def check_signature(statement: bytes, signature_b64: str, public_key_b64: str) -> None:
    """Raise :class:`EnvelopeError` unless the signature verifies over exactly these bytes."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EnvelopeError("the signature must be base64") from exc
    try:
        load_public_key(public_key_b64).verify(signature, pae(PAYLOAD_TYPE, statement))
    except SignatureError as exc:
        raise EnvelopeError(str(exc)) from exc
    except InvalidSignature as exc:
        raise EnvelopeError("the signature does not verify over the statement's bytes with the party's key") from exc


def read_statement(statement: bytes, parsed: Any = None) -> Statement:
    """The fields of a statement's bytes (checked, not verified: see :func:`open_sealed`);
    ``parsed``: the bytes already parsed as JSON, if they were (a 5,000-report batch is 0.9 MB)."""
    if parsed is not None:
        value = parsed
    else:
        try:
            value = orjson.loads(statement)
        except orjson.JSONDecodeError as exc:
            raise EnvelopeError(f"the statement is not JSON: {exc}") from exc
    if not isinstance(value, dict) or sorted(value) != list(FIELDS):
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise EnvelopeError(f"a statement has exactly the fields {', '.join(FIELDS)}; this one has {found}")
    said = Statement(value["line"], value["action"], value["created"], value["nonce"], value["body"])
    _check(said)
    try:
        canonical = canonical_json(value)
    except (TypeError, ValueError) as exc:
        raise EnvelopeError(f"the statement holds a value canonical JSON cannot: {exc}") from exc
    if canonical != statement:
        raise EnvelopeError("the statement is not in canonical JSON (RFC 8785): sign the bytes you send")
    return said


def _check(s: Statement) -> None:
    for name in ("line", "action"):
        text = getattr(s, name)
        if not isinstance(text, str) or not _NAME.match(text):
            raise EnvelopeError(f"{name} must be 1-128 characters of a-z, 0-9 and . _ : / - (got {text!r})")
    if not isinstance(s.created, str) or not _CREATED.match(s.created):
        raise EnvelopeError(f"created must be UTC as YYYY-MM-DDTHH:MM:SS[.ffffff]Z (got {s.created!r})")
    if not isinstance(s.nonce, str) or not _NONCE.match(s.nonce):
        raise EnvelopeError(f"nonce must be base64url (no padding) of at least {NONCE_BYTES} random bytes (128 bits)")
