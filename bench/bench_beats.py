"""The worker's statements that run every beat, against a line with a long history: this code
against what it replaced, side by side on the same tables.

    .venv/bin/python bench/bench_beats.py [--db postgresql|sqlite] [--parties 8]
        [--sizes 250,1000,4000,25000] [--before-up-to 1000] [--messages 20000,200000]

*Pruning the events* (every checkpoint beat). Each party holds ``size`` events, one a second, the
oldest tenth older than the retention. Timed (median of five, each in a transaction rolled back):
a beat with nothing to prune (the usual one: the beat before took the old ones) and a beat that
prunes the oldest tenth. The statement before asked, for every row of the table, for its party's
last old number, walking the party's rows from the newest down to an old one: quadratic in a
party's events, so it runs only up to ``--before-up-to`` events a party.

*The hotline's sweep* (every second): does any message wait past its deadline? ``messages``
messages, 19 in 20 asking for no acknowledgement (they stay "sent" for good), the rest
acknowledged. Timed (median of fifteen) with the partial index ``ix_messages_awaiting_ack`` and,
before, without it.

*Operations past their end* (every second) and *the active ones* (the evaluator, every cycle):
``operations`` operations, 99 in 100 ended long ago. Timed (median of fifteen) with this code's
condition and indexes (``ix_operations_pending_ends_at``, ``ix_operations_state``) and, before,
with the condition as a list of states and neither index.

*The open alerts* (the evaluator, every cycle): ``alerts`` alerts, all but 1 in 20,000 cleared,
read with this code's condition (the open states) and before ("not cleared").

Writes bench/out/beats_<db>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench_filing import OUT, database
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session, aliased, selectinload

from deconline.service.events import prune
from deconline.service.hotline import past_deadline
from deconline.service.notices import PENDING_STATES
from deconline.service.operations import past_their_end
from deconline.store.db import Database
from deconline.store.models import OPEN_ALERT_STATES, PENDING_OPERATIONS, Alert, Message, Operation, PartyEvent

RETENTION_S = 7 * 86_400.0
NOW = 1_800_000_000.0


def prune_before(session: Session, older_than: float) -> int:
    """The statement before (one ``DELETE`` with a subquery for each row), kept to measure against."""
    older = aliased(PartyEvent)
    last_old = (
        select(func.max(older.seq))
        .where(older.party_id == PartyEvent.party_id, older.created_at < older_than)
        .scalar_subquery()
    )
    return int(session.execute(delete(PartyEvent).where(PartyEvent.seq <= last_old)).rowcount or 0)  # type: ignore[attr-defined]


def fill(db: Database, parties: int, size: int) -> None:
    """``size`` events a party, one a second, ending now; the oldest tenth older than the retention."""
    first = NOW - RETENTION_S - size // 10
    with db.write() as session:
        session.execute(delete(PartyEvent))
        for p in range(parties):
            rows = [
                {"party_id": f"p{p}", "seq": n, "type": "test", "data": "{}", "created_at": first + n}
                for n in range(1, size + 1)
            ]
            session.execute(insert(PartyEvent), rows)
    _analyze(db, "party_events")


def refill(db: Database, table: Any, size: int, row: Callable[[int], dict[str, Any]]) -> None:
    """``table`` emptied, then ``size`` rows made by ``row`` from their index, 20,000 a statement."""
    with db.write() as session:
        session.execute(delete(table))
        for start in range(0, size, 20_000):
            session.execute(insert(table), [row(i) for i in range(start, min(size, start + 20_000))])


def _analyze(db: Database, table: str) -> None:
    """The table's statistics as autovacuum would have them by then (PostgreSQL)."""
    if not db.is_sqlite:
        with db.engine.connect() as connection:
            connection.exec_driver_sql(f"ANALYZE {table}")
            connection.commit()


def timed(db: Database, work: Callable[[Session, float], int], older_than: float, runs: int = 5) -> tuple[float, int]:
    """Median milliseconds of ``work`` over ``runs``, each rolled back; and the rows it deleted."""
    times, deleted = [], 0
    for _ in range(runs):
        with db.engine.connect() as connection, Session(bind=connection) as session:
            began = time.perf_counter()
            deleted = work(session, older_than)
            times.append(1000 * (time.perf_counter() - began))
            session.rollback()
    return statistics.median(times), deleted


def prune_rows(db: Database, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for size in (int(s) for s in args.sizes.split(",")):
        fill(db, args.parties, size)
        row: dict[str, Any] = {"parties": args.parties, "events_a_party": size}
        cut_nothing = NOW - RETENTION_S - size  # older than every event: a beat with nothing to prune
        cut_tenth = NOW - RETENTION_S
        for name, work in (("this", prune), ("before", prune_before)):
            if name == "before" and size > args.before_up_to:
                continue
            row[f"{name}_nothing_ms"], nothing = timed(db, work, cut_nothing)
            row[f"{name}_tenth_ms"], tenth = timed(db, work, cut_tenth)
            row[f"{name}_deleted"] = (nothing, tenth)
            took = f"{row[f'{name}_nothing_ms']:.2f} / {row[f'{name}_tenth_ms']:.2f} ms"
            print(f"  prune, {size:,} events a party, {name}: {took}", file=sys.stderr)
        if "before_deleted" in row and row["before_deleted"] != row["this_deleted"]:
            raise SystemExit(f"the two statements deleted different rows: {row}")
        results.append(row)
    with db.write() as session:
        session.execute(delete(PartyEvent))
    print(
        f"| events a party ({args.parties} parties, {args.db}) | nothing to prune, this / before ms "
        "| a tenth, this / before ms | before ÷ this (a tenth) |"
    )
    print("| --- | --- | --- | --- |")
    for r in results:
        before = r.get("before_tenth_ms")
        ratio = f"{before / r['this_tenth_ms']:.0f}×" if before else "not run"
        print(
            f"| {r['events_a_party']:,} | {_ms(r['this_nothing_ms'])} / {_ms(r.get('before_nothing_ms'))} "
            f"| {_ms(r['this_tenth_ms'])} / {_ms(before)} | {ratio} |"
        )
    return results


def sweep_rows(db: Database, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    probe = select(Message.id).where(*past_deadline(NOW)).limit(1)
    for size in (int(s) for s in args.messages.split(",")):
        refill(db, Message, size, _message)
        with db.read() as session:
            assert session.scalar(probe) is None  # nothing is late: the sweep's usual second
        row: dict[str, Any] = {"messages": size}
        for name in ("this", "before"):
            _awaiting_index(db, name == "this")
            row[f"{name}_ms"] = _median_ms(db, probe)
            print(f"  sweep, {size:,} messages, {name}: {row[f'{name}_ms']:.2f} ms", file=sys.stderr)
        _awaiting_index(db, True)
        results.append(row)
    print(f"\n| messages ({args.db}) | the sweep's look, this / before ms | before ÷ this |")
    print("| --- | --- | --- |")
    for r in results:
        print(
            f"| {r['messages']:,} | {_ms(r['this_ms'])} / {_ms(r['before_ms'])} "
            f"| {r['before_ms'] / r['this_ms']:.0f}× |"
        )
    return results


def _awaiting_index(db: Database, present: bool) -> None:
    """The partial index as the migration makes it (this code), or none (before)."""
    where = "requires_ack = 1" if db.is_sqlite else "requires_ack"
    with db.engine.connect() as connection:
        if present:
            connection.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_messages_awaiting_ack"
                    f" ON messages (status, deadline_s) WHERE {where}"
                )
            )
        else:
            connection.execute(text("DROP INDEX IF EXISTS ix_messages_awaiting_ack"))
        connection.commit()
    _analyze(db, "messages")


def operation_rows(db: Database, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The worker's search for operations past their end, and the evaluator's read of the active
    ones, on a history of ended operations: this code's queries and indexes, and before (the
    search's condition as a list of states, neither index)."""
    results: list[dict[str, Any]] = []
    cutoff = NOW - 3600.0
    this_search = past_their_end(cutoff).options(selectinload(Operation.volumes))
    before_search = (
        select(Operation)
        .where(Operation.state.in_(PENDING_STATES), Operation.ends_at < cutoff)
        .options(selectinload(Operation.volumes))
        .order_by(Operation.ends_at, Operation.id)
        .limit(100)
    )
    active = select(Operation).where(Operation.state == "active").options(selectinload(Operation.volumes))
    with db.write() as session:
        session.execute(
            text("INSERT INTO parties (id, public_key, created_at) VALUES ('p0', :k, 1.0)"), {"k": "A" * 43 + "="}
        )
    for size in (int(s) for s in args.operations.split(",")):
        refill(db, Operation, size, partial(_operation, size=size))
        row: dict[str, Any] = {"operations": size}
        for name, search in (("this", this_search), ("before", before_search)):
            _operation_indexes(db, name == "this")
            row[f"{name}_search_ms"] = _median_ms(db, search)
            row[f"{name}_active_ms"] = _median_ms(db, active)
            took = f"{row[f'{name}_search_ms']:.2f} / {row[f'{name}_active_ms']:.2f} ms"
            print(f"  operations, {size:,}, {name}: {took}", file=sys.stderr)
        _operation_indexes(db, True)
        results.append(row)
    print(
        f"\n| operations, 99 in 100 ended ({args.db}) | search past their end, this / before ms "
        "| active ones, this / before ms |"
    )
    print("| --- | --- | --- |")
    for r in results:
        print(
            f"| {r['operations']:,} | {_ms(r['this_search_ms'])} / {_ms(r['before_search_ms'])} "
            f"| {_ms(r['this_active_ms'])} / {_ms(r['before_active_ms'])} |"
        )
    return results


def alert_rows(db: Database, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The evaluator's read of the open alerts, every cycle, on a history of cleared ones: this
    code's condition (the open states, on the index of state) against before ("not cleared")."""
    results: list[dict[str, Any]] = []
    this, before = Alert.state.in_(OPEN_ALERT_STATES), Alert.state != "cleared"
    for size in (int(s) for s in args.alerts.split(",")):
        refill(db, Alert, size, _alert)
        _analyze(db, "alerts")
        row: dict[str, Any] = {"alerts": size}
        for name, condition in (("this", this), ("before", before)):
            row[f"{name}_ms"] = _median_ms(db, select(Alert).where(condition))
            print(f"  alerts, {size:,}, {name}: {row[f'{name}_ms']:.2f} ms", file=sys.stderr)
        results.append(row)
    print(f"\n| alerts, 1 in 20,000 open ({args.db}) | the open ones, this / before ms |")
    print("| --- | --- |")
    for r in results:
        print(f"| {r['alerts']:,} | {_ms(r['this_ms'])} / {_ms(r['before_ms'])} |")
    return results


def _alert(i: int) -> dict[str, Any]:
    return {
        "id": f"al{i}",
        "kind": "separation",
        "a_party": "p0",
        "a_track": f"a{i}",
        "b_party": "p1",
        "b_track": f"b{i}",
        "state": "raised" if i % 20_000 == 0 else "cleared",
        "level": "alert",
        "t_los": 0.0,
        "t_cpa": 0.0,
        "d_cpa_m": 0.0,
        "dz_cpa_m": 0.0,
        "los": False,
        "raised_at": NOW - i,
        "updated_at": NOW - i,
        "cleared_at": NOW - i,
    }


def _operation(i: int, size: int) -> dict[str, Any]:
    """99 in 100 ended long ago (the oldest first); the rest accepted, ending later (1 in 20 of them active)."""
    live = i % 100 == 0
    return {
        "id": f"op{i}",
        "party_id": "p0",
        "name": "",
        "state": ("active" if i % 2000 == 0 else "accepted") if live else "ended",
        "version": 1,
        "agreement_version": 1,
        "created_at": NOW - 10.0 * size + i,
        "updated_at": NOW,
        "ends_at": NOW + 3600.0 + i if live else NOW - 10.0 * size + 10.0 * i,
    }


def _operation_indexes(db: Database, present: bool) -> None:
    with db.engine.connect() as connection:
        if present:
            connection.execute(text("CREATE INDEX IF NOT EXISTS ix_operations_state ON operations (state)"))
            connection.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_operations_pending_ends_at"
                    f" ON operations (ends_at) WHERE {PENDING_OPERATIONS}"
                )
            )
        else:
            connection.execute(text("DROP INDEX IF EXISTS ix_operations_state"))
            connection.execute(text("DROP INDEX IF EXISTS ix_operations_pending_ends_at"))
        connection.commit()
    _analyze(db, "operations")


def _median_ms(db: Database, query: Any, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        with db.read() as session:
            began = time.perf_counter()
            session.scalars(query).all()
            times.append(1000 * (time.perf_counter() - began))
    return statistics.median(times)


def _message(i: int) -> dict[str, Any]:
    """19 in 20 ask for no acknowledgement (and stay "sent"); the rest were acknowledged in time."""
    asks = i % 20 == 0
    return {
        "id": f"m{i}",
        "sender": "p0",
        "recipients": ["p1"],
        "kind": "notice",
        "references": [],
        "proposal": None,
        "subjects": {},
        "text": "for your information",
        "requires_ack": asks,
        "deadline_s": NOW - 600.0 if asks else None,
        "status": "acknowledged" if asks else "sent",
        "created_at": NOW - 3600.0 - i,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--parties", type=int, default=8)
    parser.add_argument("--sizes", default="250,1000,4000,25000", help="events a party, comma-separated")
    parser.add_argument("--before-up-to", type=int, default=1000, help="largest size to run the statement before at")
    parser.add_argument("--messages", default="20000,200000", help="hotline messages, comma-separated")
    parser.add_argument("--operations", default="20000,200000", help="operations, comma-separated")
    parser.add_argument("--alerts", default="20000,200000", help="alerts, comma-separated")
    args = parser.parse_args()
    with database(args.db) as url:
        db = Database(url)
        db.migrate()
        results = {
            "prune": prune_rows(db, args),
            "sweep": sweep_rows(db, args),
            "operations": operation_rows(db, args),
            "alerts": alert_rows(db, args),
        }
        db.dispose()
    OUT.mkdir(exist_ok=True)
    (OUT / f"beats_{args.db}.json").write_text(json.dumps(results, indent=2))


def _ms(value: float | None) -> str:
    return "not run" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
