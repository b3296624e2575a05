"""Initialising the line, registering parties and authenticating tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from deconline.core.agreement import PARTY_ID_PATTERN, UNAFFILIATED
from deconline.record.signing import SignatureError, load_public_key
from deconline.service import record
from deconline.service.actors import ROLES, Actor, Role
from deconline.service.errors import Conflict, Invalid, NotFound, Unauthorized
from deconline.service.line import TACTICAL_COUNTER, Line
from deconline.store.loop_reads import LoopReads
from deconline.store.models import Counter, Party, PartyKey, Setting, Token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token(
    session: Session, role: Role, party_id: str | None, label: str, now: float, expires_at: float | None = None
) -> str:
    token = f"dl_{secrets.token_urlsafe(32)}"
    session.add(
        Token(
            token_hash=hash_token(token),
            role=role,
            party_id=party_id,
            label=label,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token


def initialise(line: Line) -> str | None:
    """Create the schema and service settings; return a new admin token on the first run only."""
    line.db.migrate()
    with line.db.write() as session:
        line.db.serialise_setup(session.connection())  # two instances starting at once: one makes the settings
        if session.get(Counter, TACTICAL_COUNTER) is None:  # ('strategic', in older databases, is unused)
            session.add(Counter(name=TACTICAL_COUNTER, value=0))
        record.setup(session)
        if session.get(Setting, "ref_secret") is None:
            session.add(Setting(key="ref_secret", value=secrets.token_hex(32)))
            return _new_token(session, "admin", None, "initial admin", line.clock())
    return None


def issue_token(
    line: Line, role: Role, party_id: str | None = None, label: str = "", expires_in_s: float | None = None
) -> str:
    if role not in ROLES:
        raise Invalid(["role"], f"role must be one of {', '.join(ROLES)}")
    if expires_in_s is not None and not 0 < expires_in_s <= 10 * 366 * 86_400:
        raise Invalid(["expires_in"], "a token's lifetime must be positive and at most ten years")
    with line.db.write() as session:
        if party_id is not None and session.get(Party, party_id) is None:
            raise NotFound(f"no party '{party_id}'")
        if role == "party" and party_id is None:
            raise Invalid(["party"], "a party token needs a party")
        now = line.clock()
        expires_at = now + expires_in_s if expires_in_s is not None else None
        return _new_token(session, role, party_id, label, now, expires_at)


def list_tokens(line: Line) -> list[Token]:
    """Every token ever issued (as hashes), oldest first."""
    with line.db.read() as session:
        return list(session.scalars(select(Token).order_by(Token.created_at, Token.token_hash)))


def revoke_token(line: Line, token_id: str) -> Token:
    """Refuse a token from now on, on every instance (each request reads its token's row). Named
    by its id (the start of its hash, as ``list_tokens`` shows it) or by the token itself."""
    key = hash_token(token_id) if token_id.startswith("dl_") else token_id.lower()
    if not re.fullmatch(r"[0-9a-f]{8,64}", key):
        raise Invalid(["token"], "give a token id (8 or more hex characters, from 'deconline token list') or the token")
    with line.db.write() as session:
        found = list(session.scalars(select(Token).where(Token.token_hash.startswith(key)).limit(2)))
        if not found:
            raise NotFound(f"no token '{token_id}'")
        if len(found) > 1:
            raise Invalid(["token"], f"'{token_id}' names more than one token: give more of its id")
        row = found[0]
        if row.revoked_at is not None:
            raise Conflict(f"token {row.token_id} is already revoked")
        row.revoked_at = line.clock()
        return row


def add_party(line: Line, party_id: str, public_key: str, group: str | None = None) -> str:
    """Register a party with its public key; return its API token (shown once, stored hashed)."""
    if not re.fullmatch(PARTY_ID_PATTERN, party_id):  # not re.match: its "$" lets a final newline through
        raise Invalid(["id"], f"party id '{party_id}' must match {PARTY_ID_PATTERN}")
    if group is not None and not re.fullmatch(PARTY_ID_PATTERN, group):
        raise Invalid(["group"], f"group '{group}' must match {PARTY_ID_PATTERN}")
    if party_id in ("hazard", UNAFFILIATED):
        raise Invalid(["id"], f"'{party_id}' is reserved")
    try:
        load_public_key(public_key)
    except SignatureError as exc:
        raise Invalid(["public_key"], str(exc)) from exc
    with line.db.write() as session:
        if session.get(Party, party_id) is not None:
            raise Conflict(f"party '{party_id}' already exists")
        if key_in_use(session, public_key):
            raise Conflict("this public key is, or was, another party's: each party needs a key pair of its own")
        now = line.clock()
        session.add(Party(id=party_id, group=group, public_key=public_key, created_at=now))
        session.flush()
        session.add(PartyKey(party_id=party_id, public_key=public_key, valid_from=now))  # the start of its history
        return _new_token(session, "party", party_id, f"party {party_id}", now)


def key_in_use(session: Session, public_key: str) -> bool:
    """Has any party ever held this key? A key names one party for good, so an old signature
    can never be read as another party's."""
    held = select(PartyKey.id).where(PartyKey.public_key == public_key).limit(1)
    current = select(Party.id).where(Party.public_key == public_key).limit(1)
    return session.scalar(held) is not None or session.scalar(current) is not None


_WHO = (
    select(Token.role, Token.party_id, Party.group, Party.public_key, Token.expires_at, Token.revoked_at)
    .outerjoin(Party, Party.id == Token.party_id)
    .where(Token.token_hash == bindparam("token_hash"))
)


def authenticate(line: Line, token: str | None) -> Actor:
    with line.db.read_rows() as connection:
        row = connection.execute(_WHO, {"token_hash": _token_hash(token)}).first()
    return _holder(line, row)


async def authenticate_on_loop(line: Line, reads: LoopReads, token: str | None) -> Actor:
    """``authenticate`` without blocking the event loop (PostgreSQL, see ``store.loop_reads``)."""
    return _holder(line, await reads.first(_WHO, {"token_hash": _token_hash(token)}))


def _token_hash(token: str | None) -> str:
    if not token:
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return hash_token(token)


def _holder(line: Line, row: Sequence[Any] | None) -> Actor:
    """Who holds the token whose row this is (``_WHO``), if it is still valid."""
    if row is None:
        raise Unauthorized("unknown token")
    role, party_id, group, public_key, expires_at, revoked_at = row
    if revoked_at is not None:
        raise Unauthorized("this token was revoked: ask the operator for a new one")
    if expires_at is not None and expires_at <= line.clock():
        raise Unauthorized("this token has expired: ask the operator for a new one")
    if role == "party":
        return Actor("party", party_id, group, public_key)
    return Actor(role)


def list_parties(line: Line) -> list[Party]:
    with line.db.read() as session:
        return list(session.scalars(select(Party).order_by(Party.id)))
