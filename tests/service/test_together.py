"""Rows queued for the commit: written once, every table's together, upserts updating, nothing on
a rollback (both databases)."""

from __future__ import annotations

import math
from typing import cast

import pytest
from sqlalchemy import Table, select

from deconline.store.db import Database
from deconline.store.models import Operation, OperationVolume, Party, Setting, StrategicCellMember
from deconline.store.together import insert_at_commit

MEMBERS = cast(Table, StrategicCellMember.__table__)
SETTINGS = cast(Table, Setting.__table__)


def _members(db: Database) -> set[tuple[int, str, int]]:
    with db.read() as session:
        rows = session.execute(
            select(StrategicCellMember.cell, StrategicCellMember.subject_id, StrategicCellMember.seq)
        )
        return {(int(c), str(s), int(n)) for c, s, n in rows}


def test_queued_rows_are_written_at_the_commit_and_upserts_update(db_url: str) -> None:
    db = Database(db_url)
    with db.write() as session:
        session.add(StrategicCellMember(cell=1, subject_id="op-a", seq=1))
    with db.write() as session:
        insert_at_commit(session, MEMBERS, [{"cell": 1, "subject_id": "op-a", "seq": 7}], update=("seq",))
        insert_at_commit(session, SETTINGS, [{"key": "k1", "value": "one"}])
        insert_at_commit(session, MEMBERS, [{"cell": 2, "subject_id": "op-b", "seq": 7}], update=("seq",))
        insert_at_commit(session, SETTINGS, [{"key": "k2", "value": "two"}, {"key": "k3", "value": "three"}])
        insert_at_commit(session, SETTINGS, [])
        assert session.get(Setting, "k1") is None  # not before the commit
    assert _members(db) == {(1, "op-a", 7), (2, "op-b", 7)}
    with db.read() as session:
        written = session.scalars(select(Setting).where(Setting.key.in_(["k1", "k2", "k3"])))
        assert {s.key: s.value for s in written} == {"k1": "one", "k2": "two", "k3": "three"}
    db.dispose()


def test_a_rollback_writes_nothing_and_a_plain_insert_still_refuses_a_duplicate(db_url: str) -> None:
    db = Database(db_url)
    with pytest.raises(RuntimeError), db.write() as session:
        insert_at_commit(session, MEMBERS, [{"cell": 3, "subject_id": "op-c", "seq": 1}], update=("seq",))
        raise RuntimeError("the decision failed")
    assert _members(db) == set()
    with db.write() as session:
        insert_at_commit(session, SETTINGS, [{"key": "once", "value": "1"}])
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), db.write() as session:
        insert_at_commit(session, SETTINGS, [{"key": "once", "value": "2"}])
    db.dispose()


OPERATIONS = cast(Table, Operation.__table__)
VOLUMES = cast(Table, OperationVolume.__table__)
AWKWARD = [0.1 + 0.2, 1e-300, -0.0, 123456789.123456789, 5e15 + 0.5, -179.99999999999997]


def test_values_come_back_exactly_and_a_value_json_cannot_carry_is_refused(db_url: str) -> None:
    """On PostgreSQL the rows travel as JSON text: every float round-trips to the same double, a
    JSON column's value (non-ASCII, nested, null) comes back equal, and NaN is refused, never stored."""
    db = Database(db_url)
    operation = {
        "id": "op-exact",
        "party_id": "alpha",
        "name": "Überflug «nord» \u2014 1",
        "state": "accepted",
        "version": 1,
        "agreement_version": 1,
        "created_at": AWKWARD[3],
        "updated_at": AWKWARD[4],
        "ends_at": AWKWARD[5],
    }
    footprint = {"type": "Point", "coordinates": [AWKWARD[0], AWKWARD[1]], "note": None, "ünï": ['"q"', "\\"]}
    volumes = [
        {"operation_id": "op-exact", "ordinal": i, "footprint": footprint, "radius_m": value, "lower_m": 0.0}
        | {"upper_m": 1.0, "start_s": 0.0, "end_s": 1.0}
        for i, value in enumerate(AWKWARD)
    ]
    with db.write() as session:
        session.add(Party(id="alpha", group=None, public_key="k", created_at=0.0))
    with db.write() as session:
        insert_at_commit(session, OPERATIONS, [operation])
        insert_at_commit(session, VOLUMES, volumes)
    with db.read() as session:
        stored = session.get(Operation, "op-exact")
        assert stored is not None
        assert {c: getattr(stored, c) for c in operation} == operation
        rows = session.scalars(select(OperationVolume).where(OperationVolume.operation_id == "op-exact"))
        got = sorted((v.ordinal, v.radius_m, v.footprint) for v in rows)
    assert got == [(i, value, footprint) for i, value in enumerate(AWKWARD)]
    if not db.is_sqlite:
        assert math.copysign(1.0, got[2][1]) == -1.0  # -0.0 kept
        with pytest.raises(ValueError, match="JSON compliant"), db.write() as session:
            insert_at_commit(session, SETTINGS, [{"key": "nan", "value": "x"}])
            insert_at_commit(session, VOLUMES, [{**volumes[0], "ordinal": 99, "radius_m": math.nan}])
        with db.read() as session:
            assert session.get(Setting, "nan") is None
    db.dispose()
