"""Live events: persisted first, pushed second, replayed on reconnection.

Every event a party receives is a row of ``party_events`` written in the transaction of the
change that caused it (``emit``); once that transaction commits, the event is pushed to the
party's open streams in this process. A party's events are numbered 1, 2, 3, ... in the order
their transactions commit: just before its commit a transaction takes the lock of the party's
``event_counters`` row (held to the commit) and numbers its events from it. A stream shows
``party:n``; a stream that reconnects with that ``Last-Event-ID`` reads what it missed from the
table, and one that is pushed ``n + 2`` before ``n + 1`` reads ``n + 1`` (committed first) from
the table too, so no restart, slow reader or commit order can make a party miss an event, and a
number says nothing about any other party. Events older than the retention are pruned; a stream
asking for an event that is gone is told to ``resync``.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CursorResult, delete, func, insert, select, text
from sqlalchemy.orm import Session

from deconline.store.db import at_commit
from deconline.store.models import EventCounter, PartyEvent
from deconline.store.together import rows_document

Event = dict[str, Any]
QUEUE_LIMIT = 1000
REPLAY_BATCH = 500
_PENDING = "deconline_pending_events"


def stream_id(party: str, seq: int) -> str:
    """What a stream shows as an event's id: the party's own number (``alpha:17``)."""
    return f"{party}:{seq}"


def read_stream_id(text: str) -> tuple[str, int] | None:
    """``(party, seq)`` of a ``Last-Event-ID``; None for anything else (an old global id included)."""
    party, colon, number = text.strip().rpartition(":")
    if not colon or not party or not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    return party, int(number)


@dataclass(eq=False)
class Subscription:
    """One open stream: pushed ``(seq, data)`` pairs, and whether any were dropped for lack of room."""

    party: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[tuple[int, str]] = field(default_factory=lambda: asyncio.Queue(maxsize=QUEUE_LIMIT))
    lagged: bool = False


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[Subscription]] = {}
        self.origin = secrets.token_hex(6)  # this process, in notifications to the others
        self.opened = threading.Event()  # set when a stream opens (the relay starts listening then)

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
            subscription.loop.call_soon_threadsafe(_offer, subscription, 0, "")  # wakes it; 0 is never sent

    def subscribe(self, party: str) -> Subscription:
        """A subscription for the calling event loop, live until unsubscribed."""
        subscription = Subscription(party, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.setdefault(party, set()).add(subscription)
        self.opened.set()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.get(subscription.party, set()).discard(subscription)

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())

    def push(self, party: str, seq: int, data: str) -> None:
        """Thread-safe, never blocks: a full queue marks its stream lagged (it re-reads the table)."""
        with self._lock:
            targets = list(self._subscribers.get(party, ()))
        for subscription in targets:
            subscription.loop.call_soon_threadsafe(_offer, subscription, seq, data)


def _offer(subscription: Subscription, seq: int, data: str) -> None:
    if subscription.queue.full():
        subscription.lagged = True
    else:
        subscription.queue.put_nowait((seq, data))


def emit(hub: EventHub, session: Session, now: float, party: str, payload: Event) -> None:
    """Persist ``payload`` for ``party`` with the caller's transaction; push it once that commits.

    The transaction's events are written together just before its commit (one statement), and
    other processes are told of them by the same commit."""
    data = json.dumps(payload, separators=(",", ":"))
    row = {"party_id": party, "type": str(payload["type"]), "data": data, "created_at": now}

    def write(committing: Session, rows: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
        return _insert(committing, rows, hub.origin)

    def push(written: list[tuple[str, int, str]]) -> None:
        for item in written:
            hub.push(*item)

    at_commit(session, _PENDING, row, write, push)


CHANNEL = "deconline_events"
NOTIFY_LIMIT = 7000  # bytes of one payload (PostgreSQL's limit is 8000)


# The events of a transaction, numbered and inserted. PostgreSQL: one statement, the parties'
# counters bumped in ascending order of party (so no two transactions wait on each other), each
# event numbered from its party's new last, and the other processes notified (``notify``'s
# payload, made by the server from the numbers it gave); SQLite (one writer): the counters, then
# the rows.
# The events come as one JSON document (one ``json.dumps`` in C; arrays cost psycopg a Python pass
# over every value).
_NUMBER_AND_INSERT_PG = (
    "WITH e AS (SELECT * FROM json_to_recordset(CAST(:events AS json)) "
    "AS e(party_id varchar, k bigint, type varchar, data text, created_at double precision, o bigint)), "
    "counts AS (SELECT party_id, count(*) AS n FROM e GROUP BY party_id), "
    "bumped AS (INSERT INTO event_counters (party_id, last) SELECT party_id, n FROM counts ORDER BY party_id "
    "ON CONFLICT (party_id) DO UPDATE SET last = event_counters.last + excluded.last RETURNING party_id, last), "
    "inserted AS (INSERT INTO party_events (party_id, seq, type, data, created_at) "
    "SELECT e.party_id, b.last - c.n + e.k, e.type, e.data, e.created_at "
    "FROM e JOIN bumped b ON b.party_id = e.party_id JOIN counts c ON c.party_id = e.party_id ORDER BY e.o "
    "RETURNING party_id, seq) "
)
# Both answer each party's new last number, as SQLite's bump does (``inserted`` runs either way).
_INSERT_PG = text(_NUMBER_AND_INSERT_PG + "SELECT party_id, last FROM bumped")
_INSERT_AND_NOTIFY_PG = text(
    _NUMBER_AND_INSERT_PG + "SELECT b.party_id, b.last FROM bumped b CROSS JOIN (SELECT pg_notify(:channel, "
    ":origin || ' ' || string_agg(party_id || ':' || seq, ' ' ORDER BY party_id, seq)) FROM inserted) AS told"
)
_BUMP_SQLITE = text(
    "INSERT INTO event_counters (party_id, last) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') "
    "FROM json_each(:counts) WHERE true "
    "ON CONFLICT (party_id) DO UPDATE SET last = event_counters.last + excluded.last RETURNING party_id, last"
)
_INSERT_SQLITE = insert(PartyEvent)
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


def _insert(session: Session, rows: list[dict[str, Any]], origin: str) -> list[tuple[str, int, str]]:
    """Number the waiting events, insert them and tell the other processes (``notify``); (party,
    seq, data) of each.

    Each party's counter is bumped by its count of events in one statement whose row lock lasts
    to the commit; the k-th event of a party in this transaction gets the counter's old value + k."""
    counts: dict[str, int] = {}
    ks = []
    for row in rows:
        counts[row["party_id"]] = counts.get(row["party_id"], 0) + 1
        ks.append(counts[row["party_id"]])
    parties = sorted(counts)
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    # the longest payload these numbers can make (a number of at most 19 digits)
    told_at_once = postgresql and len(origin) + sum(len(row["party_id"].encode()) + 21 for row in rows) <= NOTIFY_LIMIT
    if postgresql:
        bumped = connection.execute(
            _INSERT_AND_NOTIFY_PG if told_at_once else _INSERT_PG,
            {
                "channel": CHANNEL,
                "origin": origin,
                "events": rows_document(
                    [{**row, "k": k, "o": o} for o, (row, k) in enumerate(zip(rows, ks, strict=True))]
                ),
            },
        )
    else:
        bumped = connection.execute(_BUMP_SQLITE, {"counts": json.dumps([[p, counts[p]] for p in parties])})
    first = {str(party): int(last) - counts[str(party)] + 1 for party, last in bumped}
    written = [(row["party_id"], first[row["party_id"]] + k - 1, row["data"]) for row, k in zip(rows, ks, strict=True)]
    if not postgresql:
        numbered = [{**row, "seq": seq} for row, (_, seq, _) in zip(rows, written, strict=True)]
        connection.execute(_INSERT_SQLITE, numbered)
    elif not told_at_once:
        notify(session, origin, written)
    return written


def notify(session: Session, origin: str, pending: list[tuple[str, int, str]]) -> None:
    """On PostgreSQL, tell the other processes which events this transaction adds; delivered by
    the server at the commit, and only if it commits. ``origin`` lets this process skip its own.
    (Events too many for one payload; fewer are told by the statement that inserts them.)"""
    if not pending or session.get_bind().dialect.name != "postgresql":
        return
    payloads, current = [], [origin]
    for party, seq, _ in pending:
        item = stream_id(party, seq)
        if sum(len(x) + 1 for x in current) + len(item) > NOTIFY_LIMIT:
            payloads.append(" ".join(current))
            current = [origin]
        current.append(item)
    payloads.append(" ".join(current))
    connection = session.connection()
    for payload in payloads:
        connection.execute(_NOTIFY, {"channel": CHANNEL, "payload": payload})


def by_numbers(session: Session, numbered: list[tuple[str, int]]) -> list[tuple[str, int, str]]:
    """(party, seq, data) of the events named, by party and in number order."""
    found: list[tuple[str, int, str]] = []
    parties = sorted({party for party, _ in numbered})
    for party in parties:
        seqs = [seq for p, seq in numbered if p == party]
        rows = session.execute(
            select(PartyEvent.seq, PartyEvent.data)
            .where(PartyEvent.party_id == party, PartyEvent.seq.in_(seqs))
            .order_by(PartyEvent.seq)
        )
        found += [(party, int(seq), str(data)) for seq, data in rows]
    return found


def after_row(
    session: Session, parties: set[str], after_id: int, limit: int = REPLAY_BATCH
) -> list[tuple[int, str, int, str]]:
    """(row id, party, seq, data) of the parties' events in rows after ``after_id`` (the SQLite
    relay's poll: with one writer, row order is commit order)."""
    rows = session.execute(
        select(PartyEvent.id, PartyEvent.party_id, PartyEvent.seq, PartyEvent.data)
        .where(PartyEvent.id > after_id, PartyEvent.party_id.in_(sorted(parties)))
        .order_by(PartyEvent.id)
        .limit(limit)
    )
    return [(int(i), str(p), int(n), str(d)) for i, p, n, d in rows]


def latest_row(session: Session) -> int:
    return int(session.scalar(select(func.max(PartyEvent.id))) or 0)


def latest_seq(session: Session, party: str) -> int:
    """The number of the party's last committed event (0 before its first)."""
    return int(session.scalar(select(EventCounter.last).where(EventCounter.party_id == party)) or 0)


def first_kept_after(session: Session, party: str, after: int) -> int | None:
    """The lowest number after ``after`` still kept (older events may have been pruned)."""
    found = session.scalar(select(func.min(PartyEvent.seq)).where(PartyEvent.party_id == party, PartyEvent.seq > after))
    return None if found is None else int(found)


def since(session: Session, party: str, after: int, limit: int = REPLAY_BATCH) -> list[tuple[int, str]]:
    """(seq, data) of the party's events numbered after ``after``, in order."""
    rows = session.execute(
        select(PartyEvent.seq, PartyEvent.data)
        .where(PartyEvent.party_id == party, PartyEvent.seq > after)
        .order_by(PartyEvent.seq)
        .limit(limit)
    )
    return [(int(n), str(d)) for n, d in rows]


def replay(read: Any, party: str, after: int) -> Iterator[tuple[int, str]]:
    """Every persisted event of ``party`` numbered after ``after``, in batches (``read`` opens a read session)."""
    while True:
        with read() as session:
            batch = since(session, party, after)
        yield from batch
        if len(batch) < REPLAY_BATCH:
            return
        after = batch[-1][0]


def prune(session: Session, older_than: float) -> int:
    """Delete each party's events up to its last one created before ``older_than``: what is kept
    is always a run of numbers with no hole (a stream that asks for one gone is told to resync).
    Each party's last old number is read on the index of ``created_at`` (only the old rows), then
    a range of its numbers deleted: one ``DELETE`` asking that number for every row was quadratic
    in a party's events, and ran at every checkpoint beat (``bench/bench_beats.py``)."""
    party = PartyEvent.party_id.concat("")  # not the column: SQLite would group it on its index, reading every row
    lasts = session.execute(
        select(party, func.max(PartyEvent.seq)).where(PartyEvent.created_at < older_than).group_by(party)
    ).all()
    deleted = 0
    for party_id, last in lasts:
        result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            delete(PartyEvent).where(PartyEvent.party_id == party_id, PartyEvent.seq <= last)
        )
        deleted += int(result.rowcount or 0)
    return deleted
