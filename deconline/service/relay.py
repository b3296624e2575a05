"""Events raised by other processes, pushed to this process's streams.

Every event is a row first (``deconline.service.events``). On PostgreSQL the transaction that
adds events also sends a ``NOTIFY`` naming them; each process ``LISTEN``s on a connection of its
own, while a stream is open here, and pushes the ones for parties with a stream open. Should that
connection break, or the listening begin after a stream opened, the streams re-read the table once
it listens, so nothing is lost in the gap. A process without streams does not listen: every
commit on the line would otherwise wake it to drop what it is told. On SQLite (one writer, so
the rows' ids are in commit order) the table is polled instead, only while a stream is open.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url

from deconline.service import events
from deconline.service.events import EventHub
from deconline.store.db import Database

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("deconline.relay")
POLL_S = 0.25
RECONNECT_S = 1.0


class EventRelay:
    def __init__(self, db: Database, hub: EventHub) -> None:
        self.db, self.hub = db, hub
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.db.is_sqlite and make_url(self.db.url).database in (None, "", ":memory:"):
            return  # a database in memory has this one process: nobody else raises events
        target = self._poll if self.db.is_sqlite else self._listen
        self._thread = threading.Thread(target=target, name="event relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- PostgreSQL: LISTEN -------------------------------------------------------------------

    def _listen(self) -> None:
        import psycopg  # on PostgreSQL only: SQLite's processes never load the driver

        dsn = make_url(self.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        first = True
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as connection:
                    if not first:
                        self.hub.nudge()  # notifications sent while we were away are lost: re-read
                    first = False
                    self._listen_while_wanted(connection)
            except Exception as exc:  # the server restarted or the network broke: listen again
                log.warning("event relay lost its connection (%s); reconnecting", exc)
                self._stop.wait(RECONNECT_S)

    def _listen_while_wanted(self, connection: psycopg.Connection[Any]) -> None:
        """LISTEN while a stream is open here, UNLISTEN once none is."""
        listening = False
        while not self._stop.is_set():
            self.hub.opened.clear()
            wanted = self.hub.subscriber_count() > 0
            if wanted != listening:
                connection.execute(f"{'LISTEN' if wanted else 'UNLISTEN'} {events.CHANNEL}")
                listening = wanted
                if listening:
                    self.hub.nudge()  # what was committed since the streams opened is read from the table
            if listening:
                for note in connection.notifies(timeout=0.5):
                    self._deliver(note.payload)
            else:
                self.hub.opened.wait(0.5)

    def _deliver(self, payload: str) -> None:
        origin, *items = payload.split(" ")
        if origin == self.hub.origin:
            return  # this process pushed them itself, after its commit
        wanted = self.hub.parties()
        numbered = [read for item in items if (read := events.read_stream_id(item)) is not None and read[0] in wanted]
        if not numbered:
            return
        with self.db.read() as session:
            rows = events.by_numbers(session, numbered)
        for party, seq, data in rows:
            self.hub.push(party, seq, data)

    # --- SQLite: polling ----------------------------------------------------------------------

    def _poll(self) -> None:
        last: int | None = None
        while not self._stop.wait(POLL_S):
            try:
                last = self._poll_once(last)
            except Exception as exc:  # a busy or missing database: try again next time
                log.debug("event relay poll failed: %s", exc)

    def _poll_once(self, last: int | None) -> int:
        with self.db.read() as session:
            if last is None:
                return events.latest_row(session)
            wanted = self.hub.parties()
            if not wanted:
                return events.latest_row(session)
            rows = events.after_row(session, wanted, last)
        for row_id, party, seq, data in rows:
            self.hub.push(party, seq, data)  # streams drop what they already have
            last = max(last, row_id)
        return last
