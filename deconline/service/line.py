"""The service object: database, clock, limits and the in-memory strategic picture.

There is no global state: the API builds one ``Line`` per process and hands it to every use case.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from sqlalchemy import BigInteger, Connection, Integer, Table, delete, func, select, text
from sqlalchemy.orm import Session, selectinload

from deconline.core.agreement import Agreement
from deconline.core.alerting import Memory
from deconline.core.cells import GRID_ID, Cells, reach_cells, registered_cells
from deconline.core.volumes import Limits, Volume
from deconline.service.batching import Batcher, Ticket
from deconline.service.errors import Conflict
from deconline.service.events import EventHub
from deconline.service.events import emit as emit_event
from deconline.service.geo import volume_from_row
from deconline.service.picture import (
    LIVE_STATES,
    StrategicPicture,
    all_cells,
)
from deconline.service.record import RecordTree
from deconline.service.record import append as append_entry
from deconline.service.rules import in_force, parse_document
from deconline.service.statements import AnswerBook, Signed
from deconline.store import pipeline
from deconline.store.db import Database
from deconline.store.models import (
    AgreementVersion,
    Hazard,
    Operation,
    Setting,
    StrategicCellMember,
)
from deconline.store.together import insert_at_commit

Clock = Callable[[], float]
Decided = TypeVar("Decided")
Work = Callable[["StrategicChange"], Any]
Item = tuple[Sequence[Volume], Work]  # a decision to take together with others: its volumes, the decision
More = Callable[[Callable[[Item], bool]], list[Ticket[Item]]]  # what queued meanwhile and ``fits``, in order
TACTICAL_COUNTER = "tactical"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


GRID_SETTING = "strategic_grid"


class ChangedMeanwhile(Conflict):
    """A subject was changed by someone else between the look before locking and the lock."""

    def __init__(self, subject_id: str) -> None:
        super().__init__(f"'{subject_id}' was changed by another request while this one waited: send it again")


class _WiderReach(Exception):
    """The rules in force reach further than the cells locked: lock again, wider."""


_IN_FORCE_DOCUMENT = (
    select(AgreementVersion.document)
    .where(
        AgreementVersion.version
        == select(func.max(AgreementVersion.version)).where(AgreementVersion.in_force_at.is_not(None)).scalar_subquery()
    )
    .scalar_subquery()
)
# The lock on everything strategic: on PostgreSQL an advisory lock (the lock manager's memory,
# no row written), shared by decisions that lock cells, exclusive for the rest; on SQLite,
# where writers queue on BEGIN IMMEDIATE, none is needed. The rules in force are read after it,
# by a later statement: a statement reads what was committed when it began, and new rules may
# have been committed while it waited for the lock.
EVERYTHING_KEY = 0x64636C7374726174  # "dclstrat"
_SHARE_ALL_PG = select(func.pg_advisory_xact_lock_shared(EVERYTHING_KEY))
_LOCK_ALL_PG = select(func.pg_advisory_xact_lock(EVERYTHING_KEY))
_IN_FORCE_ONLY = select(_IN_FORCE_DOCUMENT)
# One statement whatever the number of cells, compiled once: the cells as an array (PostgreSQL,
# where the rows are taken in ascending order) or a JSON list (SQLite, one writer at a time).
_LOCK_CELLS = {
    "postgresql": text(
        "INSERT INTO strategic_cells (cell, seq) SELECT c, 1 FROM unnest(CAST(:cells AS integer[])) AS c ORDER BY c "
        "ON CONFLICT (cell) DO UPDATE SET seq = strategic_cells.seq + 1 RETURNING cell, seq"
    ),
    "sqlite": text(
        "INSERT INTO strategic_cells (cell, seq) SELECT value, 1 FROM json_each(:cells) WHERE true "
        "ON CONFLICT (cell) DO UPDATE SET seq = strategic_cells.seq + 1 RETURNING cell, seq"
    ),
}
# On PostgreSQL, once the lock on everything is shared, the cells and the rules in force in one
# statement (no new rules can be committed while the lock is shared).
_LOCKED_PG = _LOCK_CELLS["postgresql"].columns(cell=Integer, seq=BigInteger).cte("locked")
_LOCK_CELLS_WITH_RULES_PG = select(_LOCKED_PG.c.cell, _LOCKED_PG.c.seq, _IN_FORCE_DOCUMENT)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_cells(session: Session, cells: Iterable[int]) -> dict[int, int]:
    """Lock the cells' rows in ascending order (one round trip) and number this change in each."""
    ordered = sorted(cells)
    if not ordered:
        return {}
    if _postgresql(session):
        rows = session.connection().execute(_LOCK_CELLS["postgresql"], {"cells": ordered})
    else:
        rows = session.connection().execute(_LOCK_CELLS["sqlite"], {"cells": json.dumps(ordered)})
    return {int(cell): int(seq) for cell, seq in rows}


def _share_all_and_lock_cells(connection: Connection, cells: Cells) -> tuple[str | None, dict[int, int]]:
    """PostgreSQL: begin, share the lock on everything, lock the cells and read the rules in force,
    in one round trip (each statement runs once the one before it is done: the rules are read
    once the lock on everything is shared)."""
    ordered = sorted(cells)
    with pipeline.together(connection):
        connection.execute(_SHARE_ALL_PG)
        if not ordered:
            return pipeline.one(pipeline.rows(connection, _IN_FORCE_ONLY, {}))[0], {}
        rows = pipeline.rows(connection, _LOCK_CELLS_WITH_RULES_PG, {"cells": ordered}).fetchall()
    return rows[0][2], {int(cell): int(seq) for cell, seq, _ in rows}


_MEMBERS = cast(Table, StrategicCellMember.__table__)


def _register(session: Session, members: dict[str, Cells], seqs: dict[int, int]) -> None:
    """Registered at the commit, with the change's other new rows (``store.together``)."""
    rows = [
        {"cell": cell, "subject_id": subject_id, "seq": seqs[cell]}
        for subject_id, cells in sorted(members.items())
        for cell in sorted(cells)
    ]
    insert_at_commit(session, _MEMBERS, rows, update=("seq",))


def _volumes_of(subject: Operation | Hazard) -> list[Volume]:
    if isinstance(subject, Operation):
        return [volume_from_row(v) for v in subject.volumes]
    return [volume_from_row(subject)]


@dataclass
class StrategicChange:
    """One strategic decision: its transaction, the cells it holds (None: all of them), the rules
    in force, and the subjects it changes with where each was registered before."""

    session: Session
    cells: dict[int, int] | None  # locked cell -> the number of this change in it
    reach_m: float
    agreement: Agreement | None
    operations: list[Operation] = field(default_factory=list)
    hazards: list[Hazard] = field(default_factory=list)
    before: dict[str, Cells] = field(default_factory=dict)
    final: dict[str, list[Volume]] = field(default_factory=dict)  # volumes of subjects that change no more
    committed: bool = False  # set once its transaction has committed

    def track(self, subject: Operation | Hazard, final: bool = False) -> None:
        """Call before changing a subject: where it was is registered again with the change.
        ``final``: the subject will not change any more in this decision (a new operation), so its
        volumes are read from its rows once, here, for the registrations and the picture."""
        volumes = _volumes_of(subject)
        if final:
            self.final[subject.id] = volumes
        if self.cells is not None:
            needed = reach_cells(volumes, self.reach_m)
            if needed is None or not needed <= self.cells.keys():
                raise ChangedMeanwhile(subject.id)
        self.before[subject.id] = registered_cells(volumes)
        (self.operations if isinstance(subject, Operation) else self.hazards).append(subject)  # type: ignore[arg-type]

    def registrations(self) -> dict[str, Cells]:
        """Every cell each changed subject was or is in: their holders must learn of the change."""
        members: dict[str, Cells] = {}
        subjects: list[Operation | Hazard] = [*self.operations, *self.hazards]
        for subject in subjects:
            now = registered_cells(self.final.get(subject.id) or _volumes_of(subject))
            if self.cells is not None and not now <= self.cells.keys():
                raise ChangedMeanwhile(subject.id)  # the caller changed it beyond the volumes it declared
            members[subject.id] = self.before.get(subject.id, frozenset()) | now
        return members


def _ignore(*_: object) -> None:
    return None


@dataclass
class Probes:
    """Where the service reports what it measures (the API wires these to its metrics); by default
    nowhere, so the core of the service knows nothing of any monitoring system."""

    lock_wait: Callable[[float], None] = _ignore  # seconds spent waiting for a decision's locks
    lock_hold: Callable[[float], None] = _ignore  # seconds a decision held them, its commit included
    decision: Callable[[str, str], None] = _ignore  # (what: operation.filed…, outcome: the state after)
    batch: Callable[[int], None] = _ignore  # decisions taken together in one transaction (group commit)


@dataclass
class Line:
    db: Database
    clock: Clock = time.time
    limits: Limits = field(default_factory=Limits)
    picture: StrategicPicture = field(default_factory=StrategicPicture)
    events: EventHub = field(default_factory=EventHub)
    record: RecordTree = field(default_factory=RecordTree)
    answers: AnswerBook = field(default_factory=AnswerBook)  # first answers to signed statements
    evaluate_every_s: float = 1.0
    checkpoint_every_s: float = 10.0
    event_retention_s: float = 7 * 86_400.0
    probes: Probes = field(default_factory=Probes)
    alerting: dict[Any, Memory] = field(default_factory=dict)  # the evaluator's confirmation state
    # per (alert, party): when its guidance was last pushed, and the ranges pushed then
    guidance_told: dict[tuple[str, str], tuple[float, str]] = field(default_factory=dict)

    def emit(self, session: Session, party: str, event: dict[str, Any]) -> None:
        """Persist a live event for ``party`` in the caller's transaction; it is pushed after the commit."""
        emit_event(self.events, session, self.clock(), party, event)

    def append(
        self,
        session: Session,
        author: str,
        kind: str,
        event: dict[str, Any],
        readers: list[str],
        signed: Signed | None = None,
        embed: bool = True,
    ) -> None:
        """Record an event in the caller's transaction (see ``deconline.service.record``)."""
        append_entry(self.record, session, self.clock(), author, kind, event, readers, signed, embed)

    _secret: bytes | None = None

    _reach_m: float | None = None  # the horizontal minimum last seen in force
    _together: Batcher[Item] | None = None

    def decide_together(self, volumes: Sequence[Volume], work: Callable[[StrategicChange], Decided]) -> Decided:
        """A decision that adds new subjects in ``volumes``, taken in one transaction and one commit
        with the decisions that arrived while the one before was being taken (group commit,
        ``batching``). Each is decided in arrival order against everything before it, the earlier
        ones of its batch included. Should any fail, the batch is rolled back and each taken again
        on its own, so one's error is never another's."""
        if self._together is None:
            together: Batcher[Item] = Batcher(lambda tickets: self.decide_batch(tickets, together.more))
            self._together = together
        return self._together.submit((volumes, work))  # type: ignore[no-any-return]

    def _decide_alone(self, ticket: Ticket[Item]) -> None:
        volumes, work = ticket.item
        try:
            with self.strategic_change(volumes) as change:
                ticket.result = work(change)
        except BaseException as exc:  # the caller's error, raised in the caller's thread
            ticket.error = exc

    def decide_batch(self, tickets: list[Ticket[Item]], more: More | None = None) -> None:
        """Decide ``tickets`` (their volumes, their decision) in one transaction, in order, each
        ticket answered (``result`` or ``error``); ``more`` gives what arrived meanwhile and fits
        in the cells held, to be decided after them. For a caller that gathers its own batches (the
        filing desk); ``decide_together`` gathers them from threads."""
        added: list[str] = []
        locked: Cells = frozenset()
        change: StrategicChange | None = None
        try:
            with self.strategic_change([v for t in tickets for v in t.item[0]]) as change:
                locked = frozenset(change.cells or ())
                done = 0
                while done < len(tickets) or self._more(tickets, more, change, locked):
                    ticket = tickets[done]
                    done += 1
                    operations, hazards = len(change.operations), len(change.hazards)
                    ticket.result = ticket.item[1](change)
                    new_operations, new_hazards = change.operations[operations:], change.hazards[hazards:]
                    added += [op.id for op in new_operations] + [hazard.id for hazard in new_hazards]
                    self.picture.apply(new_operations, new_hazards, change.final)  # the next one decides against it
        except BaseException:
            if change is not None and change.committed:
                # what failed came after the commit: the decisions stand, taking them again would repeat them
                self.picture.forget((), locked)  # read from the database at the next decision
                raise
            self.picture.forget(added, locked)  # never committed
            for ticket in tickets:
                ticket.result = None
                self._decide_alone(ticket)
        finally:
            self.probes.batch(len(tickets))

    @staticmethod
    def _more(tickets: list[Ticket[Item]], more: More | None, change: StrategicChange, locked: Cells) -> bool:
        """Add to the batch the filings that queued while it waited for its locks or was decided,
        as long as each needs no cell beyond those held (in arrival order)."""
        if more is None or not locked:
            return False

        def fits(item: Item) -> bool:
            needed = reach_cells(item[0], change.reach_m)
            return needed is not None and needed <= locked

        taken = more(fits)
        tickets += taken
        return bool(taken)

    @contextmanager
    def strategic_change(self, volumes: Sequence[Volume] | None) -> Iterator[StrategicChange]:
        """The lock for a decision about ``volumes`` (their old and new forms), or for one that
        touches everything (None): the cells within the rules' reach of them, taken in order in
        this process and in the database, the picture of those cells brought up to date, and,
        after the commit, the change itself applied to the picture."""
        self._check_grid()
        while True:
            reach = self._reach_m if self._reach_m is not None else self._read_reach()
            cells = None if volumes is None else reach_cells(volumes, reach)
            try:
                with self._held(cells, reach) as change:
                    yield change
                return
            except _WiderReach as wider:
                self._reach_m = float(wider.args[0])

    def _read_reach(self) -> float:
        with self.db.read() as session:
            agreement = in_force(session)
        self._reach_m = agreement.strategic_rules.h_m if agreement is not None else 0.0
        return self._reach_m

    @contextmanager
    def _held(self, cells: Cells | None, reach_used: float = math.inf) -> Iterator[StrategicChange]:
        picture = self.picture
        asked = time.perf_counter()
        gate = picture.gate.exclusive() if cells is None else picture.gate.shared()
        with gate, picture.cells.holding(cells or ()):
            with self.db.write() as session:
                connection = session.connection()
                locked: dict[int, int] | None = None
                if self.db.is_sqlite:
                    document = connection.execute(_IN_FORCE_ONLY).scalar()
                    locked = lock_cells(session, cells) if cells is not None else None  # one writer: any order
                elif cells is None:
                    connection.execute(_LOCK_ALL_PG)
                    document = connection.execute(_IN_FORCE_ONLY).scalar()
                else:  # new rules wait for decisions in flight, and they for the new rules
                    document, locked = _share_all_and_lock_cells(connection, cells)
                agreement = parse_document(document) if document is not None else None
                reach = agreement.strategic_rules.h_m if agreement is not None else 0.0
                if reach > reach_used:
                    raise _WiderReach(reach)
                self._reach_m = reach
                held_at = time.perf_counter()
                self.probes.lock_wait(held_at - asked)
                if locked is None:
                    picture.sync(session, all_cells(session))
                else:
                    picture.sync(session, {cell: seq - 1 for cell, seq in locked.items()})
                change = StrategicChange(session, locked, reach, agreement)
                yield change
                members = change.registrations()
                seqs = locked if locked is not None else lock_cells(session, set().union(*members.values()))
                _register(session, members, seqs)
            change.committed = True
            picture.apply(change.operations, change.hazards, change.final)
            picture.known.update(seqs)
            self.probes.lock_hold(time.perf_counter() - held_at)

    def _check_grid(self) -> None:
        """Once per process: registrations made on another grid (or before there was one) are
        made again on this one, under the lock on everything."""
        if self.picture.grid_ready:
            return
        with self.db.read() as session:
            stored = session.get(Setting, GRID_SETTING)
            if stored is not None and stored.value == GRID_ID:
                self.picture.grid_ready = True
                return
        self.picture.grid_ready = True  # re-entry below must not recurse
        try:
            with self._held(None) as change:
                session = change.session
                setting = session.get(Setting, GRID_SETTING)
                if setting is not None and setting.value == GRID_ID:
                    return
                session.execute(delete(StrategicCellMember))
                change.operations.extend(
                    session.scalars(
                        select(Operation)
                        .where(Operation.state.in_(LIVE_STATES))
                        .options(selectinload(Operation.volumes))
                    )
                )
                change.hazards.extend(session.scalars(select(Hazard).where(Hazard.state == "active")))
                session.merge(Setting(key=GRID_SETTING, value=GRID_ID))
        except BaseException:
            self.picture.grid_ready = False
            raise

    def secret(self, session: Session) -> bytes:
        """The key behind opaque references, made once by ``init``."""
        if self._secret is None:
            value = session.get(Setting, "ref_secret")
            if value is None:
                raise RuntimeError("the database is not initialised: run 'deconline init'")
            self._secret = bytes.fromhex(value.value)
        return self._secret
