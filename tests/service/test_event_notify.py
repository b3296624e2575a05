"""Other processes are told of a transaction's events at its commit: by the statement that inserts
them, or, when their numbers do not fit in one notification, by as many as they need."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy.engine import make_url

from deconline.service import events
from deconline.service.events import CHANNEL, NOTIFY_LIMIT, EventHub, emit
from deconline.service.relay import EventRelay
from deconline.store.db import Database


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("count", [1, 7, 600])
def test_every_event_is_told_once_in_payloads_that_fit(db_url: str, count: int) -> None:
    db, hub = Database(db_url), EventHub()
    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    parties = ["alpha", "bravo-with-a-much-longer-name", "charlie"]
    with psycopg.connect(dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        for _ in range(2):  # the second transaction numbers on from the first
            with db.write() as session:
                for i in range(count):
                    emit(hub, session, 0.0, parties[i % 3], {"type": "message", "i": i})
        payloads = [note.payload for note in listener.notifies(timeout=1.0, stop_after=100)]
    told = [item for payload in payloads for item in payload.split(" ")[1:]]
    assert all(payload.split(" ")[0] == hub.origin for payload in payloads)
    assert all(len(payload.encode()) <= NOTIFY_LIMIT for payload in payloads)
    per_party = {p: 2 * len(range(i, count, 3)) for i, p in enumerate(parties)}
    expected = [events.stream_id(p, seq) for p, n in per_party.items() for seq in range(1, n + 1)]
    assert sorted(told) == sorted(expected)
    if count < 100:
        assert len(payloads) == 2  # one a transaction, sent by the statement that inserted them
    else:
        assert len(payloads) > 2  # too many for one: split
    db.dispose()


class _CountingRelay(EventRelay):
    """A real relay that also counts what it is told."""

    def __init__(self, db: Database, hub: EventHub) -> None:
        super().__init__(db, hub)
        self.told: list[str] = []

    def _deliver(self, payload: str) -> None:
        self.told.append(payload)
        super()._deliver(payload)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_relay_listens_only_while_a_stream_is_open_and_misses_nothing(db_url: str) -> None:
    """A process without streams is not woken by every commit on the line; once a stream opens it
    listens, the stream re-reads what was committed meanwhile, and it hears the next events."""
    db, here, elsewhere = Database(db_url), EventHub(), EventHub()
    relay = _CountingRelay(db, here)

    def commit(party: str) -> None:
        with db.write() as session:
            emit(elsewhere, session, 0.0, party, {"type": "message"})

    relay.start()
    try:
        time.sleep(0.5)
        commit("alpha")
        time.sleep(1.0)
        assert relay.told == []  # nobody streams here: not woken

        async def stream() -> tuple[int, str]:
            subscription = here.subscribe("alpha")
            try:
                nudged = await asyncio.wait_for(subscription.queue.get(), 5)  # it listens now: re-read
                assert nudged == (0, "") and subscription.lagged
                await asyncio.to_thread(commit, "alpha")
                return await asyncio.wait_for(subscription.queue.get(), 5)
            finally:
                here.unsubscribe(subscription)

        with ThreadPoolExecutor(1) as pool:  # a loop of its own, whatever runs in this thread
            seq, data = pool.submit(asyncio.run, stream()).result(timeout=20)
        assert seq == 2 and json.loads(data)["type"] == "message"
        heard = len(relay.told)
        time.sleep(1.0)  # the stream closed: it stops listening
        commit("alpha")
        time.sleep(1.0)
        assert len(relay.told) == heard
    finally:
        relay.stop()
        db.dispose()
