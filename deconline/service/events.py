"""Live events: persisted first, pushed second, replayed on reconnection.

Every event a party receives is a row of ``party_events`` written in the transaction of the
change that caused it (``emit``); once that transaction commits, the event is pushed to the
party's open streams in this process. A stream that reconnects with ``Last-Event-ID`` reads what
it missed from the table, and a subscriber too slow to keep up is caught up from the table too,
so no restart or slow reader can make a party miss an event. Events older than the retention are
pruned; a stream asking for an event that is gone is told to ``resync``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CursorResult, delete, func, insert, select
from sqlalchemy.orm import Session

from deconline.store.db import at_commit
from deconline.store.models import PartyEvent, Setting

Event = dict[str, Any]
QUEUE_LIMIT = 1000
REPLAY_BATCH = 500
PRUNED_SETTING = "events_pruned_upto"
_PENDING = "deconline_pending_events"


@dataclass(eq=False)
class Subscription:
    """One open stream: pushed ``(id, data)`` pairs, and whether any were dropped for lack of room."""

    party: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[int, str]] = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT))
    lagged: bool = False


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = {}
        self.origin = secrets.token_hex(6)  # this process, in notifications to the others

    def parties(self) -> set[str]:
        """The parties with an open stream here."""
        with self._lock:
            return {party for party, subs in self._subscribers.items() if subs}

    def nudge(self) -> None:
        """Some events may not have been pushed (a relay reconnected): every stream re-reads the table."""
        with self._lock:
            targets = [s for subs in self._subscribers.values() for s in subs]
        for subscription in targets:
            subscription.lagged = True
            subscription.loop.call_soon_threadsafe(_offer, subscription, 0, "")  # wakes it; id 0 is never sent

    def subscribe(self, party: str) -> Subscription:
        """A subscription for the calling event loop, live until unsubscribed."""
        subscription = Subscription(party, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.setdefault(party, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.get(subscription.party, set()).discard(subscription)

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())

    def push(self, party: str, event_id: int, data: str) -> None:
        """Thread-safe, never blocks: a full queue marks its stream lagged (it re-reads the table)."""
        with self._lock:
            targets = list(self._subscribers.get(party, ()))
        for subscription in targets:
            subscription.loop.call_soon_threadsafe(_offer, subscription, event_id, data)


def _offer(subscription: Subscription, event_id: int, data: str) -> None:
    if subscription.queue.full():
        subscription.lagged = True
    else:
        subscription.queue.put_nowait((event_id, data))


_INSERT_EVENTS = insert(PartyEvent).returning(PartyEvent.id, sort_by_parameter_order=True)


def emit(hub: EventHub, session: Session, now: float, party: str, payload: Event) -> None:
    """Persist ``payload`` for ``party`` with the caller's transaction; push it once that commits.

    The transaction's events are written together just before its commit (one statement), and
    other processes are told of them by the same commit."""
    data = json.dumps(payload, separators=(",", ":"))
    row = {"party_id": party, "type": str(payload["type"]), "data": data, "created_at": now}

    def write(committing: Session, rows: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
        written = _insert(committing, rows)
        notify(committing, hub.origin, written)
        return written

    def push(written: list[tuple[str, int, str]]) -> None:
        for item in written:
            hub.push(*item)

    at_commit(session, _PENDING, row, write, push)


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """Insert waiting events (Core, one statement); (party, id, data) of each."""
    ids = session.connection().execute(_INSERT_EVENTS, rows).scalars().all()
    return [(row["party_id"], int(event_id), row["data"]) for row, event_id in zip(rows, ids, strict=True)]


CHANNEL = "deconline_events"
NOTIFY_LIMIT = 7000  # bytes of one payload (PostgreSQL's limit is 8000)


def notify(session: Session, origin: str, pending: list[tuple[str, int, str]]) -> None:
    """On PostgreSQL, tell the other processes which events this transaction adds; delivered by
    the server at the commit, and only if it commits. ``origin`` lets this process skip its own."""
    if not pending or session.get_bind().dialect.name != "postgresql":
        return
    payloads, current = [], [origin]
    for party, event_id, _ in pending:
        item = f"{party}:{event_id}"
        if sum(len(x) + 1 for x in current) + len(item) > NOTIFY_LIMIT:
            payloads.append(" ".join(current))
            current = [origin]
        current.append(item)
    payloads.append(" ".join(current))
    connection = session.connection()
    for payload in payloads:
        connection.execute(select(func.pg_notify(CHANNEL, payload)))


def by_ids(session: Session, ids: list[int]) -> list[tuple[int, str, str]]:
    columns = select(PartyEvent.id, PartyEvent.party_id, PartyEvent.data)
    rows = session.execute(columns.where(PartyEvent.id.in_(ids)).order_by(PartyEvent.id))
    return [(int(i), str(p), str(d)) for i, p, d in rows]


def after(session: Session, parties: set[str], after_id: int, limit: int = REPLAY_BATCH) -> list[tuple[int, str, str]]:
    rows = session.execute(
        select(PartyEvent.id, PartyEvent.party_id, PartyEvent.data)
        .where(PartyEvent.id > after_id, PartyEvent.party_id.in_(sorted(parties)))
        .order_by(PartyEvent.id)
        .limit(limit)
    )
    return [(int(i), str(p), str(d)) for i, p, d in rows]


def latest(session: Session) -> int:
    return int(session.scalar(select(func.max(PartyEvent.id))) or 0)


def latest_id(session: Session, party: str) -> int:
    return int(session.scalar(select(func.max(PartyEvent.id)).where(PartyEvent.party_id == party)) or 0)


def pruned_upto(session: Session) -> int:
    value = session.get(Setting, PRUNED_SETTING)
    return int(value.value) if value else 0


def since(session: Session, party: str, after: int, limit: int = REPLAY_BATCH) -> list[tuple[int, str]]:
    rows = session.execute(
        select(PartyEvent.id, PartyEvent.data)
        .where(PartyEvent.party_id == party, PartyEvent.id > after)
        .order_by(PartyEvent.id)
        .limit(limit)
    )
    return [(int(i), str(d)) for i, d in rows]


def replay(read: Any, party: str, after: int) -> Iterator[tuple[int, str]]:
    """Every persisted event of ``party`` after ``after``, in batches (``read`` opens a read session)."""
    while True:
        with read() as session:
            batch = since(session, party, after)
        yield from batch
        if len(batch) < REPLAY_BATCH:
            return
        after = batch[-1][0]


def prune(session: Session, older_than: float) -> int:
    """Delete events created before ``older_than``; remember the highest id gone (for resync)."""
    gone = session.scalar(select(func.max(PartyEvent.id)).where(PartyEvent.created_at < older_than))
    if gone is None:
        return 0
    result: CursorResult[Any] = session.execute(delete(PartyEvent).where(PartyEvent.id <= gone))  # type: ignore[assignment]
    deleted = result.rowcount or 0
    setting = session.get(Setting, PRUNED_SETTING)
    if setting is None:
        session.add(Setting(key=PRUNED_SETTING, value=str(gone)))
    else:
        setting.value = str(max(int(setting.value), int(gone)))
    return int(deleted)
