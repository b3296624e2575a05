"""A party's signed statement carried out once: its nonce claimed in the transaction that carries it
out, its first answer kept, the same bytes again answered the same way (issue 24).

The nonce is claimed by the statement's record entry itself (a unique column, ``author:nonce``),
so a statement is carried out if and only if its entry committed: the unique index makes two
instances agree, and a concurrent copy fails at its commit and rolls back everything it did.
Nothing is looked up on the way in: a copy is found when it fails (a stale version, a conflict)
or when its claim does, and only then is the first answer fetched. The answer is written a moment after the commit by a
background writer, in batches (the request does not wait for a second transaction); a copy that
arrives in that moment waits for it, and a copy whose first answer was lost with its instance is
told so, and still changes nothing.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from deconline.record.envelope import (
    PAYLOAD_TYPE,
    EnvelopeError,
    Sealed,
    Statement,
    check_signature,
    pae,
    read_statement,
)
from deconline.record.signing import SignatureError
from deconline.service.errors import Conflict, Invalid
from deconline.store.db import Database
from deconline.store.models import RecordEntry, StatementRow

DEFAULT_WINDOW_S = 300.0  # created within ± this of the line's clock, unless the agreement says
RETENTION_S = 2 * 86_400.0  # longer than the longest window an agreement may set (one day)
ANSWER_WAIT_S = 3.0  # how long a copy waits for its first answer to be written
FLUSH_EVERY_S = 0.2  # answers gathered this long are written in one transaction


@dataclass(eq=False)
class Signed:
    """A party's signed statement: its exact bytes, the base64 Ed25519 signature over their DSSE
    PAE, and what it says. ``carried_out`` turns true when its record entry is written (the
    request fails if that transaction then does not commit)."""

    statement: bytes
    signature: str
    said: Statement
    carried_out: bool = False

    @classmethod
    def of(cls, sealed: Sealed) -> Signed:
        return cls(sealed.statement, sealed.signature, read_statement(sealed.statement))

    @property
    def document(self) -> Any:
        return self.said.body

    @cached_property
    def message(self) -> bytes:
        """The bytes the signature covers."""
        return pae(PAYLOAD_TYPE, self.statement)

    @cached_property
    def digest(self) -> str:
        return hashlib.sha256(self.statement).hexdigest()

    def verify(self, public_key_b64: str) -> None:
        """Raise :class:`SignatureError` unless ``public_key_b64`` made the signature."""
        try:
            check_signature(self.statement, self.signature, public_key_b64)
        except EnvelopeError as exc:
            raise SignatureError(str(exc)) from exc


class Repeated(Conflict):
    """The statement's nonce was claimed by a transaction that committed first."""

    def __init__(self, party: str, nonce: str) -> None:
        super().__init__(f"the statement with nonce {nonce} was already carried out")
        self.party, self.nonce = party, nonce


def claims(entries: Iterable[tuple[Signed | None, str]]) -> list[dict[str, str | None]]:
    """The claim columns of record entries, given (statement carried out, author) for each: the
    first entry carrying a statement out holds its nonce, which the database keeps unique."""
    seen: set[str] = set()
    out: list[dict[str, str | None]] = []
    for signed, author in entries:
        key = f"{author}:{signed.said.nonce}" if signed is not None else ""
        if signed is None or key in seen:
            out.append({"statement_nonce": None, "statement_digest": None})
            continue
        seen.add(key)
        out.append({"statement_nonce": key, "statement_digest": signed.digest})
    return out


def carried_out(entries: Iterable[Signed | None]) -> None:
    for signed in entries:
        if signed is not None:
            signed.carried_out = True  # written; once committed (a rollback raises, and no answer is kept)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    location: str | None = None


class Lost(Conflict):
    """The statement was carried out, but its first answer is not kept (its instance stopped)."""


def first_answer(db: Database, book: AnswerBook, party: str, nonce: str, digest: str) -> Answer | None:
    """The first answer to the statement ``party`` made with ``nonce``; None if it was never
    carried out. Raises :class:`Invalid` for other bytes under a used nonce, :class:`Lost` when
    it was carried out but its answer did not survive."""
    deadline = time.monotonic() + ANSWER_WAIT_S
    while True:
        kept = book.get(party, nonce)
        if kept is not None and kept[0] == digest:
            return kept[1]
        with db.read() as session:
            claim = session.execute(
                select(RecordEntry.statement_digest, RecordEntry.kind, RecordEntry.seq).where(
                    RecordEntry.statement_nonce == f"{party}:{nonce}"
                )
            ).first()
            row = session.get(StatementRow, (party, nonce)) if claim is not None else None
        if claim is None:
            return None
        if claim.statement_digest != digest:
            raise Invalid(
                ["headers", "x-deconline-signature"],
                f"nonce {nonce} was already used for another statement (record entry {claim.seq}, {claim.kind}): "
                "every statement needs a new nonce; a retry sends the same bytes",
            )
        if row is not None and row.status is not None:
            return Answer(row.status, (row.answer or "").encode(), row.location)
        if time.monotonic() >= deadline:
            raise Lost(
                f"this statement was already carried out (record entry {claim.seq}, {claim.kind}), but the instance "
                "that did it stopped before its answer was kept: it will not be carried out again; read the result "
                "with a GET"
            )
        time.sleep(0.05)


@dataclass
class AnswerBook:
    """First answers, kept in memory at once and written to the database in batches a moment later."""

    recent: dict[tuple[str, str], tuple[str, Answer, float]] = field(default_factory=dict)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)
    writer: threading.Thread | None = None
    db: Database | None = None

    def get(self, party: str, nonce: str) -> tuple[str, Answer] | None:
        with self.lock:
            kept = self.recent.get((party, nonce))
        return (kept[0], kept[1]) if kept is not None else None

    def keep(self, db: Database, party: str, signed: Signed, answer: Answer, now: float) -> None:
        said = signed.said
        row = {
            "party_id": party,
            "nonce": said.nonce,
            "digest": signed.digest,
            "action": said.action,
            "created_s": said.created_s,
            "received_s": now,
            "status": answer.status,
            "answer": answer.body.decode(),
            "location": answer.location,
        }
        with self.lock:
            self.recent[(party, said.nonce)] = (signed.digest, answer, time.monotonic())
            self.waiting.append(row)
            if self.writer is None:
                self.db = db
                self.writer = threading.Thread(target=self._write_forever, name="statement answers", daemon=True)
                self.writer.start()
        self.wake.set()

    def flush(self) -> None:
        """Write every waiting answer now."""
        with self.lock:
            batch, self.waiting = self.waiting, []
            horizon = time.monotonic() - 60.0
            for key in [k for k, (_, _, at) in self.recent.items() if at < horizon]:
                del self.recent[key]  # in the database by now
        if batch and self.db is not None:
            _write_answers(self.db, batch)

    def _write_forever(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(FLUSH_EVERY_S)  # gather a batch
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # the database is away: those answers are lost, the statements are not
                continue


def _write_answers(db: Database, batch: list[dict[str, Any]]) -> None:
    insert = sqlite_insert if db.is_sqlite else postgresql_insert
    with db.write() as session:
        if not db.is_sqlite:  # an answer lost in a crash is told as such: no need to wait for the disk
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        session.connection().execute(insert(StatementRow).on_conflict_do_nothing(), batch)


def prune(session: Session, before: float) -> None:
    """Forget statements received before ``before``: older than any window, so refused as stale."""
    session.execute(delete(StatementRow).where(StatementRow.received_s < before))
