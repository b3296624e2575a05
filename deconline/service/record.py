"""The record in the service: entries appended in the same transaction as the change they record,
an in-memory Merkle tree rebuilt from the stored leaves, signed checkpoints, proofs, disclosure.

Sequence numbers come from the ``record`` counter row, taken inside the writing transaction, so
they are dense and in commit order on SQLite and PostgreSQL alike; a rolled-back change leaves no
leaf. The tree is derived from stored leaf hashes only, so a crash can never change a root that
was published.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy import BigInteger, Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deconline.record.checkpoint import Checkpoint, sign_checkpoint, verifier_key
from deconline.record.entries import entry_bytes, entry_leaf_hash
from deconline.record.merkle import MerkleTree
from deconline.record.signing import generate_key, private_key_pem
from deconline.service import key_validity
from deconline.service.actors import Actor, own_side
from deconline.service.errors import Forbidden, Invalid, NotFound
from deconline.service.statements import Repeated, Signed, carried_out, claims
from deconline.store import pipeline
from deconline.store.db import at_commit, write_queued
from deconline.store.models import CheckpointRow, Counter, RecordEntry, Setting

RECORD_COUNTER = "record"
SERVICE_AUTHOR = "service"
PUBLIC = "*"


@dataclass
class RecordTree:
    """This process's copy of the tree, extended from the database on demand."""

    tree: MerkleTree = field(default_factory=MerkleTree)
    lock: threading.Lock = field(default_factory=threading.Lock)
    key: Ed25519PrivateKey | None = None
    origin: str = ""

    def sync(self, session: Session) -> int:
        with self.lock:
            rows = session.execute(
                select(RecordEntry.leaf_hash).where(RecordEntry.seq >= len(self.tree)).order_by(RecordEntry.seq)
            )
            for (leaf,) in rows:
                self.tree.append(bytes.fromhex(leaf))
            return len(self.tree)


def setup(session: Session) -> None:
    """Made once by ``init``: the service's record key and origin line."""
    if session.get(Counter, RECORD_COUNTER) is None:
        session.add(Counter(name=RECORD_COUNTER, value=0))
    if session.get(Setting, "record_key") is None:
        session.add(Setting(key="record_key", value=private_key_pem(generate_key()).decode()))
        session.add(Setting(key="record_origin", value=f"deconline/{secrets.token_hex(4)}"))


def _service_key(record: RecordTree, session: Session) -> tuple[Ed25519PrivateKey, str]:
    if record.key is None:
        pem, origin = session.get(Setting, "record_key"), session.get(Setting, "record_origin")
        if pem is None or origin is None:
            raise RuntimeError("the database is not initialised: run 'deconline init'")
        key = load_pem_private_key(pem.value.encode(), password=None)
        assert isinstance(key, Ed25519PrivateKey)
        record.key, record.origin = key, origin.value
    return record.key, record.origin


def origin(record: RecordTree, session: Session) -> str:
    """The line's id: the record's origin, which every statement for this line names."""
    return _service_key(record, session)[1]


_TAKE_SEQS = (  # built once, so compiled once: n numbers at a time
    update(Counter)
    .where(Counter.name == RECORD_COUNTER)
    .values(value=Counter.value + bindparam("n", type_=BigInteger))
    .returning(Counter.value)
)
_INSERT_ENTRY = insert(RecordEntry)
_PENDING = "deconline_pending_entries"


@dataclass(frozen=True)
class _Pending:
    time_s: float
    author: str
    kind: str
    event: dict[str, Any]
    readers: list[str]
    signature: str | None
    message: bytes | None  # what the signature covers
    claim: Signed | None  # the statement this entry carries out, whose nonce it claims


def append(
    record: RecordTree,
    session: Session,
    now: float,
    author: str,
    kind: str,
    event: dict[str, Any],
    readers: list[str],
    signed: Signed | None = None,
    embed: bool = True,
) -> None:
    """Append one entry in the caller's transaction, numbered when it commits.

    The numbers come from the ``record`` row, taken just before the commit (one update for all
    the transaction's entries), so a decision holds the record's lock for the length of its
    commit only, not of its work. The service does not sign each entry: every signed checkpoint
    commits to all entries before it.

    ``signed``: the party's statement this entry carries out; its nonce is claimed in the same
    transaction, and the entry embeds the statement's exact bytes and keeps the signature
    (``embed=False``: only the statement's digest, nonce and time, for a track batch, whose
    reports the entry already sums up by digest).
    """
    signature: str | None = None
    message: bytes | None = None
    if signed is not None:
        if embed:
            event = {**event, "statement": signed.statement.decode()}
            signature, message = base64.b64decode(signed.signature).hex(), signed.message
        else:
            said = signed.said
            event = {**event, "envelope": {"sha256": signed.digest, "nonce": said.nonce, "created": said.created}}
    entry = _Pending(now, author, kind, event, sorted(set(readers)), signature, message, signed)
    at_commit(session, _PENDING, entry, _write_entries)


def append_numbered(
    record: RecordTree,
    session: Session,
    now: float,
    author: str,
    kind: str,
    event: dict[str, Any],
    readers: list[str],
    signed: Signed | None = None,
) -> int:
    """Like :func:`append`, but numbered at once (the record's lock is held from here to the
    commit), for the rare change that must store its own index; returns it."""
    append(record, session, now, author, kind, event, readers, signed)
    return int(write_queued(session, _PENDING, _write_entries))


def _take_numbers(connection: Connection, n: int, keys: dict[str, Any] | None) -> tuple[int, Sequence[Any]]:
    """Lock the counter row and take ``n`` numbers (returned: the counter's new value, one past the
    last number taken), then read the keys that signed entries must be checked against (``keys``:
    their parameters) once the row is locked; on PostgreSQL in one round trip."""
    if connection.dialect.name != "postgresql":
        last = int(connection.execute(_TAKE_SEQS, {"n": n}).scalar_one())
        return last, connection.execute(key_validity.RECENT_KEYS, keys).all() if keys else []
    with pipeline.together(connection):
        taken = pipeline.rows(connection, _TAKE_SEQS, {"n": n})
        read = pipeline.rows(connection, key_validity.RECENT_KEYS_PG, keys) if keys else None
        last = int(pipeline.one(taken)[0])
        return last, read.fetchall() if read is not None else []


def _write_entries(session: Session, pending: list[_Pending]) -> int:
    """Number and write waiting entries (one counter update, one insert); the index of the last one."""
    connection = session.connection()  # plain Core statements: the ORM bulk path costs more than the work
    signed = [(e.author, e.time_s, e.message, e.signature) for e in pending if e.message and e.signature]
    last, keys = _take_numbers(connection, len(pending), key_validity.keys_wanted(signed))
    key_validity.check_signed(keys, signed)
    rows = []
    claimed = claims((e.claim, e.author) for e in pending)
    for seq, entry, claim in zip(range(last - len(pending), last), pending, claimed, strict=True):
        canonical = entry_bytes(seq, entry.time_s, entry.author, {"kind": entry.kind, **entry.event}, entry.readers)
        salt = os.urandom(32)
        rows.append(
            {
                "seq": seq,
                "time_s": entry.time_s,
                "author": entry.author,
                "kind": entry.kind,
                "readers": entry.readers,
                "canonical": canonical.decode(),
                "salt": salt.hex(),
                "leaf_hash": entry_leaf_hash(salt, canonical).hex(),
                "signature": entry.signature,
                **claim,
            }
        )
    try:
        connection.execute(_INSERT_ENTRY, rows)
    except IntegrityError as exc:  # a statement's nonce, claimed by a transaction that committed first
        taken = next((e for e in pending if e.claim is not None), None)
        if taken is None or taken.claim is None:
            raise
        raise Repeated(taken.author, taken.claim.said.nonce) from exc
    carried_out(e.claim for e in pending)
    return last - 1


def publish_checkpoint(record: RecordTree, session: Session, now: float) -> str | None:
    """Sign and store a checkpoint if the tree grew since the last one; returns the new note."""
    size = record.sync(session)
    latest = session.scalar(select(func.max(CheckpointRow.size))) or 0
    if size == 0 or size <= latest:
        return None
    key, origin = _service_key(record, session)
    root = record.tree.root(size)
    note = sign_checkpoint(Checkpoint(origin, size, root), origin, key)
    try:
        with session.begin_nested():
            session.add(CheckpointRow(size=size, root=root.hex(), note=note, created_at=now))
    except IntegrityError:
        return None  # another process published this size first
    return note


def latest_checkpoint(session: Session) -> str:
    return latest_checkpoint_row(session).note


def latest_checkpoint_row(session: Session) -> CheckpointRow:
    row = session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1)).first()
    if row is None:
        raise NotFound("no checkpoint has been published yet")
    return row


def service_verifier_key(record: RecordTree, session: Session) -> str:
    key, origin = _service_key(record, session)
    return verifier_key(origin, key.public_key())


def _check_size(record: RecordTree, session: Session, size: int, name: str) -> None:
    current = record.sync(session)
    if not 1 <= size <= current:
        raise Invalid(["query", name], f"{name} must be between 1 and the tree size {current}")


def inclusion(record: RecordTree, session: Session, index: int, size: int) -> dict[str, Any]:
    _check_size(record, session, size, "size")
    if not 0 <= index < size:
        raise Invalid(["query", "index"], f"index must be in [0, {size})")
    return {
        "index": index,
        "size": size,
        "leaf_hash": record.tree.levels[0][index],
        "hashes": record.tree.inclusion_proof(index, size),
    }


def consistency(record: RecordTree, session: Session, first: int, second: int) -> dict[str, Any]:
    _check_size(record, session, second, "second")
    if not 1 <= first <= second:
        raise Invalid(["query", "first"], f"first must be between 1 and second ({second})")
    return {"first": first, "second": second, "hashes": record.tree.consistency_proof(first, second)}


def readable(side: Collection[str], readers: list[str]) -> bool:
    """The record's rule: a public entry, or one naming a party of the reader's side."""
    return PUBLIC in readers or not set(side).isdisjoint(readers)


def entitled(session: Session, actor: Actor, readers: list[str]) -> bool:
    """Public events to every token; others to a party among the readers or in a reader's group."""
    if PUBLIC in readers:
        return True
    if actor.role != "party" or actor.party_id is None:
        return False
    return readable(own_side(session, actor.party_id, actor.group), readers)


def entry(session: Session, actor: Actor, index: int) -> RecordEntry:
    if actor.role == "admin":
        raise Forbidden("entries are disclosed to the parties entitled to them, not to the admin")
    row = session.get(RecordEntry, index)
    if row is None or not entitled(session, actor, row.readers):
        raise NotFound(f"no entry {index} that you may see")
    return row


def own_entries(session: Session, actor: Actor, limit: int) -> list[RecordEntry]:
    """The newest entries the party itself authored (its own signed submissions), for inclusion checks."""
    party = actor.require_party()
    query = select(RecordEntry).where(RecordEntry.author == party).order_by(RecordEntry.seq.desc()).limit(limit)
    return list(session.scalars(query))
