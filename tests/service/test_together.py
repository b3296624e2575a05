"""Rows queued for the commit: written once, every table's together, upserts updating, nothing on
a rollback (both databases)."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import Table, select

from deconline.store.db import Database
from deconline.store.models import Setting, StrategicCellMember
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
