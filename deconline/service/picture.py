"""The in-memory strategic picture, kept in step with the database one grid cell at a time.

A process holds the index of every live operation volume and active hazard it has learned of.
It knows, for each cell, the change number (``strategic_cells.seq``) its picture reflects. A
decision locks its cells (the row of each, in ascending order) and then reads, for each cell
changed by someone else since, the subjects registered there with a newer number, and reloads
them. Nothing outside the locked cells needs to be current: a decision only looks inside them.

Threads of one process take the same cells in the same order with in-process locks first, so
two requests in distant areas run side by side; index reads and writes are short and guarded by
one mutex.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, select, text
from sqlalchemy.orm import Session

from deconline.core.strategic import Hit, StrategicIndex, StrategicRules
from deconline.core.volumes import Volume
from deconline.locks import FairLock
from deconline.service.geo import volume_from_row
from deconline.store.models import Hazard, Operation, StrategicCell

LIVE_STATES = ("accepted", "active")
Key = tuple[str, str, int]


def operation_key(operation_id: str, ordinal: int) -> Key:
    return ("op", operation_id, ordinal)


def hazard_key(hazard_id: str) -> Key:
    return ("hz", hazard_id, 0)


def hazard_owner(hazard_id: str) -> str:
    """Index owner label of a hazard: never one of the parties, so never excluded as 'own side'."""
    return f"hazard:{hazard_id}"


class SharedExclusive:
    """Many holders of the shared side, or one of the exclusive side (a decision that touches
    everything, such as new rules, waits for the others and keeps them out)."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive)
            self._shared += 1
        try:
            yield
        finally:
            with self._condition:
                self._shared -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: not self._exclusive)
            self._exclusive = True  # new shared holders wait from now on
            self._condition.wait_for(lambda: self._shared == 0)
        try:
            yield
        finally:
            with self._condition:
                self._exclusive = False
                self._condition.notify_all()


class CellLocks:
    """One in-process lock per cell, taken in ascending order (the database's order too)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[int, FairLock] = {}

    @contextmanager
    def holding(self, cells: Iterable[int]) -> Iterator[None]:
        with self._guard:
            locks = [self._locks.setdefault(cell, FairLock()) for cell in sorted(cells)]
        taken: list[FairLock] = []
        try:
            for lock in locks:
                lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()


@dataclass
class StrategicPicture:
    index: StrategicIndex = field(default_factory=StrategicIndex)
    keys_of: dict[str, list[Key]] = field(default_factory=dict)
    facts: dict[str, tuple[str | None, int]] = field(default_factory=dict)  # id -> (party or declarer, version)
    known: dict[int, int] = field(default_factory=dict)  # cell -> the change number the picture reflects
    mutex: threading.Lock = field(default_factory=threading.Lock)
    gate: SharedExclusive = field(default_factory=SharedExclusive)
    cells: CellLocks = field(default_factory=CellLocks)
    grid_ready: bool = False  # the stored registrations use this code's grid

    # --- reading (any thread holding the cells it asks about) ----------------------------------

    def conflicts(self, volume: Volume, rules: StrategicRules, exclude_owners: Collection[str]) -> list[Hit]:
        with self.mutex:
            return self.index.conflicts(volume, rules, exclude_owners=exclude_owners)

    def pairs(self, rules: StrategicRules) -> list[tuple[Key, Key]]:
        with self.mutex:
            return self.index.pairs(rules)  # type: ignore[return-value]

    def live(self, subject_id: str) -> tuple[str | None, int, tuple[Volume, ...]] | None:
        """Owner, version and volumes of a live operation or active hazard, as the picture holds them."""
        with self.mutex:
            keys, facts = self.keys_of.get(subject_id), self.facts.get(subject_id)
            if keys is None or facts is None:
                return None
            volumes = tuple(self.index.volume(key) for key in keys)
        if any(v is None for v in volumes):
            return None
        return facts[0], facts[1], volumes  # type: ignore[return-value]

    # --- writing ------------------------------------------------------------------------------

    def _replace(self, subject_id: str, entries: list[tuple[Key, Volume, str]], facts: tuple[str | None, int]) -> None:
        for key in self.keys_of.pop(subject_id, []):
            self.index.remove(key)
        self.facts.pop(subject_id, None)
        for key, volume, owner in entries:
            self.index.add(key, volume, owner)
        if entries:
            self.keys_of[subject_id] = [key for key, _, _ in entries]
            self.facts[subject_id] = facts

    def apply(
        self, operations: Iterable[Operation], hazards: Iterable[Hazard], read: dict[str, list[Volume]] | None = None
    ) -> None:
        """Make the picture hold these subjects as they are now (after this process changed them);
        ``read``: volumes already read from some operations' rows, in order."""
        read = read or {}
        with self.mutex:
            for op in operations:
                known = read.get(op.id) or [volume_from_row(v) for v in op.volumes]
                volumes = [(v.ordinal, volume) for v, volume in zip(op.volumes, known, strict=True)]
                self._set_operation(op.id, op.party_id, op.version, op.state in LIVE_STATES, volumes)
            for hz in hazards:
                self._set_hazard(hz.id, hz.party_id, hz.version, hz.state == "active", volume_from_row(hz))

    def _set_operation(
        self, op_id: str, party: str, version: int, live: bool, volumes: list[tuple[int, Volume]]
    ) -> None:
        entries = [(operation_key(op_id, ordinal), volume, party) for ordinal, volume in volumes]
        self._replace(op_id, entries if live else [], (party, version))

    def _set_hazard(self, hz_id: str, party: str | None, version: int, active: bool, volume: Volume) -> None:
        self._replace(hz_id, [(hazard_key(hz_id), volume, hazard_owner(hz_id))] if active else [], (party, version))

    def forget(self, subject_ids: Iterable[str], cells: Iterable[int]) -> None:
        """Drop subjects applied ahead of a commit that did not happen, and read ``cells`` again
        from the database at their next decision."""
        with self.mutex:
            for subject_id in subject_ids:
                self._replace(subject_id, [], (None, 0))
            for cell in cells:
                self.known.pop(cell, None)

    def sync(self, session: Session, upto: dict[int, int]) -> None:
        """Bring the given cells to the given change numbers (exclusive: each cell's number before
        the caller's own change) by reloading every subject registered there since."""
        stale = {cell: self.known.get(cell) for cell, seq in upto.items() if seq > 0 and self.known.get(cell) != seq}
        if stale:  # (a cell at 0 has never changed: nothing to read)
            pairs = sorted((cell, -1 if known is None else known) for cell, known in stale.items())
            rows = _changed_since(session, pairs)
            self._reload([r for r in rows if r.kind == "operation"], [r for r in rows if r.kind == "hazard"])
        self.known.update(upto)

    def _reload(self, op_rows: Iterable[Any], hazard_rows: Iterable[Any]) -> None:
        """From plain rows: the operations (one row per volume) and the hazards changed."""
        ops: dict[str, tuple[str, int, bool, list[tuple[int, Volume]]]] = {}
        for row in op_rows:
            if row.id not in ops:
                ops[row.id] = (row.party_id, row.version, row.state in LIVE_STATES, [])
            if row.ordinal is not None:
                ops[row.id][3].append((row.ordinal, volume_from_row(row)))
        hazards = list(hazard_rows)
        with self.mutex:
            for op_id, (party, version, live, volumes) in ops.items():
                self._set_operation(op_id, party, version, live, volumes)
            for hz in hazards:
                self._set_hazard(hz.id, hz.party_id, hz.version, hz.state == "active", volume_from_row(hz))


# The subjects registered in the given cells with a number above the given one: the cells and
# numbers as arrays on PostgreSQL, as a JSON list of pairs on SQLite; the operations (a row per
# volume, in order) and the hazards in one statement, compiled once.
_CHANGED = {
    "postgresql": "SELECT m.subject_id FROM strategic_cell_members m JOIN unnest(CAST(:cells AS integer[]), "
    "CAST(:seqs AS bigint[])) AS k(cell, seq) ON m.cell = k.cell AND m.seq > k.seq",
    "sqlite": "SELECT m.subject_id FROM strategic_cell_members m JOIN (SELECT json_extract(value, '$[0]') AS cell, "
    "json_extract(value, '$[1]') AS seq FROM json_each(:pairs)) AS k ON m.cell = k.cell AND m.seq > k.seq",
}
_CHANGED_STATEMENTS = {
    dialect: text(
        f"WITH changed AS ({changed}) "
        "SELECT 'operation' AS kind, o.id, o.party_id, o.version, o.state, v.ordinal, v.footprint, v.radius_m, "
        "v.lower_m, v.upper_m, v.start_s, v.end_s FROM operations o "
        "LEFT JOIN operation_volumes v ON v.operation_id = o.id WHERE o.id IN (SELECT subject_id FROM changed) "
        "UNION ALL SELECT 'hazard', id, party_id, version, state, NULL, footprint, radius_m, lower_m, upper_m, "
        "start_s, end_s FROM hazards WHERE id IN (SELECT subject_id FROM changed) ORDER BY 1, 2, 6"
    ).columns(footprint=JSON())
    for dialect, changed in _CHANGED.items()
}


def _changed_since(session: Session, pairs: list[tuple[int, int]]) -> list[Any]:
    """The rows of every subject registered in the cells after the given numbers (see ``_reload``)."""
    if session.get_bind().dialect.name == "postgresql":
        values: dict[str, Any] = {"cells": [c for c, _ in pairs], "seqs": [s for _, s in pairs]}
        return list(session.execute(_CHANGED_STATEMENTS["postgresql"], values))
    return list(session.execute(_CHANGED_STATEMENTS["sqlite"], {"pairs": json.dumps(pairs)}))


def all_cells(session: Session) -> dict[int, int]:
    return {int(cell): int(seq) for cell, seq in session.execute(select(StrategicCell.cell, StrategicCell.seq))}
