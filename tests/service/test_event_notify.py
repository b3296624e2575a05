"""Other processes are told of a transaction's events at its commit: by the statement that inserts
them, or, when their numbers do not fit in one notification, by as many as they need."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.engine import make_url

from deconline.service import events
from deconline.service.events import CHANNEL, NOTIFY_LIMIT, EventHub, emit
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
