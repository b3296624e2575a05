"""What the worker reads every second is read on an index that holds only what it looks for, on
both databases: ended operations and messages that ask for nothing stay in their tables for good,
and a read that walked them grew with the line's whole history (``bench/bench_beats.py``).

Each test asks the database's own planner. On PostgreSQL a table this small is cheapest to scan,
so the planner is asked to avoid scans: it then shows whether the index can serve the read at all
(a partial index only serves a query whose condition implies the index's own)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text

from deconline.service import hotline, notices, operations
from deconline.store.models import OPEN_ALERT_STATES, PENDING_OPERATIONS, Alert, Message, Operation
from tests.helpers import World, box


def _plan(world: World, query: Any) -> str:
    with world.line.db.read() as session:
        connection = session.connection()
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        if world.line.db.is_sqlite:
            return str(connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")).all())
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        return str(connection.execute(text(f"EXPLAIN {sql}")).all())


def test_the_sweep_reads_only_the_messages_that_ask_to_be_acknowledged(world: World) -> None:
    note = {"recipients": ["charlie"], "kind": "notice", "text": "for your information", "requires_ack": False}
    informational = world.post("alpha", "/v1/messages", note)
    assert informational.status_code == 201, informational.text
    plan = _plan(world, select(Message.id).where(*hotline.past_deadline(world.clock.now + 3600)))
    assert "ix_messages_awaiting_ack" in plan, plan
    world.clock.now += 86_400
    assert informational.json()["id"] not in [m.id for m in hotline.sweep(world.line)]


def test_the_search_for_operations_past_their_end_reads_only_pending_ones(world: World) -> None:
    assert "state IN ({})".format(", ".join(f"'{s}'" for s in notices.PENDING_STATES)) == PENDING_OPERATIONS
    plan = _plan(world, operations.past_their_end(world.clock.now))
    # the pending ones alone (SQLite's planner takes them by state, then sorts them: as good)
    assert "ix_operations_pending_ends_at" in plan or "INDEX ix_operations_state (state=?)" in plan, plan
    filed = world.file("alpha", box())
    world.clock.now += 30 * 86_400
    assert operations.end_past(world.line) == [filed["id"]]
    assert operations.end_past(world.line) == []  # ended: no longer among those it reads


def test_the_evaluator_reads_the_active_operations_on_their_state(world: World) -> None:
    plan = _plan(world, select(Operation.id).where(Operation.state == "active"))
    assert "ix_operations_state" in plan, plan


def test_the_evaluator_reads_the_open_alerts_on_their_state(world: World) -> None:
    """Cleared alerts stay for good; "not cleared" cannot be read on an index, the open states can."""
    assert {*OPEN_ALERT_STATES, "cleared"} == {"raised", "updated", "cleared"}
    plan = _plan(world, select(Alert.id).where(Alert.state.in_(OPEN_ALERT_STATES)))
    assert "ix_alerts_state" in plan, plan
