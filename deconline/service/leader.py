"""One instance at a time runs the line's singletons: the tactical evaluator, the checkpoint
publisher and the hotline's deadlines.

On PostgreSQL the leader holds a session advisory lock on a connection of its own; when the
process dies, even by ``kill -9``, its socket closes, the server ends the session and frees the
lock, and the next instance to ask takes it. On a SQLite file the same is done with an advisory
lock on a file beside it (the kernel frees it with the process); an in-memory database has one
process, which leads.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from deconline.store.db import Database

log = logging.getLogger("deconline.leader")
ADVISORY_KEY = 0x6465636F6E6C  # "deconl": one lock for the whole line


class Leadership:
    """Whether this process leads; ``hold`` is asked every beat from one thread. ``key`` names the
    role (``ADVISORY_KEY``: the duties), ``role`` says it in the log."""

    def __init__(
        self, db: Database, key: int = ADVISORY_KEY, role: str = "evaluator, checkpoints, hotline deadlines"
    ) -> None:
        self.db = db
        self.key, self.role = key, role
        self._held = False
        self._lock = threading.Lock()
        self._connection: Any = None  # PostgreSQL: the session that holds the lock
        self._file: Any = None  # SQLite: the open lock file

    @property
    def held(self) -> bool:
        return self._held

    def hold(self) -> bool:
        """Keep leading, or try to start; never raises (a lost database means not leading)."""
        with self._lock:
            try:
                self._held = self._hold_pg() if not self.db.is_sqlite else self._hold_file()
            except Exception as exc:  # the database went away: someone else may lead now
                if self._held:
                    log.warning("leadership lost: %s", exc)
                self._drop()
                self._held = False
            return self._held

    def release(self) -> None:
        with self._lock:
            self._drop()
            self._held = False

    def _hold_pg(self) -> bool:
        if self._connection is not None:
            self._connection.execute(text("SELECT 1"))  # still ours: the session (and lock) is alive
            return True
        connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        won = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())
        if not won:
            connection.close()
            return False
        self._connection = connection
        log.info("this instance now leads (%s)", self.role)
        return True

    def _hold_file(self) -> bool:
        if self._file is not None:
            return True
        database = make_url(self.db.url).database
        if not database or database == ":memory:":
            return True
        try:
            import fcntl
        except ImportError:  # no POSIX locks here: one process per database file is assumed
            return True
        suffix = "" if self.key == ADVISORY_KEY else f".{self.key:x}"
        handle = Path(f"{database}.leader{suffix}").open("a+b")  # noqa: SIM115 - held open while leading
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        log.info("this instance now leads (%s)", self.role)
        return True

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()  # really closed, not back to the pool with the lock held
                self._connection.close()
            except Exception:  # the connection is already gone; so is the lock
                pass
            self._connection = None
        if self._file is not None:
            self._file.close()  # closing the file frees its lock
            self._file = None
