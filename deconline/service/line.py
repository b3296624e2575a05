"""The service object: database, clock, limits and the in-memory strategic picture.

There is no global state: the API builds one ``Line`` per process and hands it to every use case.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from deconline.core.strategic import StrategicIndex
from deconline.core.volumes import Limits, Volume
from deconline.service.events import EventHub
from deconline.service.geo import volume_from_row
from deconline.service.record import RecordTree, Signed
from deconline.store.db import Database
from deconline.store.models import Counter, Hazard, Operation, Setting

Clock = Callable[[], float]
LIVE_STATES = ("accepted", "active")
STRATEGIC_COUNTER = "strategic"
TACTICAL_COUNTER = "tactical"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def operation_key(operation_id: str, ordinal: int) -> tuple[str, str, int]:
    return ("op", operation_id, ordinal)


def hazard_key(hazard_id: str) -> tuple[str, str, int]:
    return ("hz", hazard_id, 0)


def hazard_owner(hazard_id: str) -> str:
    """Index owner label of a hazard: never one of the parties, so never excluded as 'own side'."""
    return f"hazard:{hazard_id}"


@dataclass
class StrategicPicture:
    """The index of every live operation volume and active hazard, as of ``last_seq``.

    It is brought up to date from the database inside the filing transaction, after the
    strategic counter has been bumped, so several processes sharing one database decide on the
    same picture.
    """

    index: StrategicIndex = field(default_factory=StrategicIndex)
    last_seq: int = 0
    keys_of: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    facts: dict[str, tuple[str | None, int]] = field(default_factory=dict)  # id -> (party or declarer, version)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _replace(
        self, owner_id: str, entries: list[tuple[tuple[str, str, int], Volume, str]], facts: tuple[str | None, int]
    ) -> None:
        for key in self.keys_of.pop(owner_id, []):
            self.index.remove(key)
        self.facts.pop(owner_id, None)
        for key, volume, owner in entries:
            self.index.add(key, volume, owner)
        if entries:
            self.keys_of[owner_id] = [key for key, _, _ in entries]
            self.facts[owner_id] = facts

    def _apply_operation(self, op: Operation) -> None:
        live = op.state in LIVE_STATES
        entries = [(operation_key(op.id, v.ordinal), volume_from_row(v), op.party_id) for v in op.volumes]
        self._replace(op.id, entries if live else [], (op.party_id, op.version))

    def _apply_hazard(self, hz: Hazard) -> None:
        entries = [(hazard_key(hz.id), volume_from_row(hz), hazard_owner(hz.id))]
        self._replace(hz.id, entries if hz.state == "active" else [], (hz.party_id, hz.version))

    def volumes_of(self, subject_id: str) -> tuple[Volume, ...] | None:
        """The volumes of a live operation or an active hazard, in order, as the picture holds them."""
        keys = self.keys_of.get(subject_id)
        if keys is None:
            return None
        volumes = tuple(self.index.volume(key) for key in keys)
        return volumes if all(v is not None for v in volumes) else None  # type: ignore[return-value]

    def sync(self, session: Session, upto: int) -> None:
        """Apply every change with ``last_seq < change_seq <= upto`` from the database."""
        if self.last_seq == upto:
            return
        operations = session.scalars(
            select(Operation)
            .where(Operation.change_seq > self.last_seq, Operation.change_seq <= upto)
            .options(selectinload(Operation.volumes))
        )
        for op in operations:
            self._apply_operation(op)
        hazards = session.scalars(select(Hazard).where(Hazard.change_seq > self.last_seq, Hazard.change_seq <= upto))
        for hz in hazards:
            self._apply_hazard(hz)
        self.last_seq = upto

    def apply_committed(self, change: StrategicChange) -> None:
        """After a commit, apply this process's own change without reading it back.

        Only when nothing happened in between (no other process took a number); otherwise the
        next ``sync`` reads everything from the database.
        """
        if self.last_seq != change.seq - 1:
            return
        for op in change.operations:
            self._apply_operation(op)
        for hz in change.hazards:
            self._apply_hazard(hz)
        self.last_seq = change.seq


@dataclass
class StrategicChange:
    """One change to the strategic picture: its transaction, its number, what it touched."""

    session: Session
    seq: int
    operations: list[Operation] = field(default_factory=list)
    hazards: list[Hazard] = field(default_factory=list)


_BUMP = (
    update(Counter).where(Counter.name == STRATEGIC_COUNTER).values(value=Counter.value + 1).returning(Counter.value)
)


def bump_strategic_counter(session: Session) -> int:
    """Take the filing lock (the counter row) and return the sequence number for this change."""
    value = session.connection().execute(_BUMP).scalar_one_or_none()
    if value is None:
        raise RuntimeError("the database is not initialised: run 'deconline init'")
    return int(value)


def _ignore(*_: object) -> None:
    return None


@dataclass
class Probes:
    """Where the service reports what it measures (the API wires these to its metrics); by default
    nowhere, so the core of the service knows nothing of any monitoring system."""

    lock_wait: Callable[[float], None] = _ignore  # seconds spent waiting for the filing lock
    decision: Callable[[str, str], None] = _ignore  # (what: operation.filed…, outcome: the state after)


@dataclass
class Line:
    db: Database
    clock: Clock = time.time
    limits: Limits = field(default_factory=Limits)
    picture: StrategicPicture = field(default_factory=StrategicPicture)
    events: EventHub = field(default_factory=EventHub)
    record: RecordTree = field(default_factory=RecordTree)
    evaluate_every_s: float = 1.0
    checkpoint_every_s: float = 10.0
    event_retention_s: float = 7 * 86_400.0
    probes: Probes = field(default_factory=Probes)

    def emit(self, session: Session, party: str, event: dict[str, Any]) -> None:
        """Persist a live event for ``party`` in the caller's transaction; it is pushed after the commit."""
        from deconline.service import events

        events.emit(self.events, session, self.clock(), party, event)

    def append(
        self,
        session: Session,
        author: str,
        kind: str,
        event: dict[str, Any],
        readers: list[str],
        signed: Signed | None = None,
    ) -> int:
        """Record an event in the caller's transaction (see ``deconline.service.record``)."""
        from deconline.service import record

        return record.append(self.record, session, self.clock(), author, kind, event, readers, signed)

    _secret: bytes | None = None

    @contextmanager
    def strategic_change(self) -> Iterator[StrategicChange]:
        """The filing lock (the counter row, taken first), a picture synchronised under it, and,
        after the commit, the picture brought up to date with the change itself."""
        asked = time.perf_counter()
        with self.picture.lock:
            with self.db.write() as session:
                change = StrategicChange(session, bump_strategic_counter(session))
                self.probes.lock_wait(time.perf_counter() - asked)
                self.picture.sync(session, change.seq - 1)
                yield change
            self.picture.apply_committed(change)

    def secret(self, session: Session) -> bytes:
        """The key behind opaque references, made once by ``init``."""
        if self._secret is None:
            value = session.get(Setting, "ref_secret")
            if value is None:
                raise RuntimeError("the database is not initialised: run 'deconline init'")
            self._secret = bytes.fromhex(value.value)
        return self._secret
