"""The database handle: one engine, read sessions and serialised write transactions.

SQLite runs in WAL mode with ``synchronous=NORMAL`` (a committed write survives the process
being killed) and write transactions start with ``BEGIN IMMEDIATE``, so two writers queue on the
busy timeout instead of failing when one upgrades a read snapshot.

On PostgreSQL, reads run in autocommit (under READ COMMITTED a read transaction sees no more
than its statements do, and BEGIN and COMMIT are two more round trips), and a pooled connection
is pinged only when it has been idle a while, not at every checkout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from deconline.locks import FairLock

DEFAULT_URL = "sqlite:///deconline.db"
MIGRATIONS = Path(__file__).parent / "migrations"
SETUP_LOCK = 0x64636C696E6974  # "dclinit": migrations and first-run settings, one process at a time
PING_AFTER_IDLE_S = 1.0  # a connection back from the pool after this long is checked first


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as psycopg 3 URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("deconline_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_QUEUES = "deconline_at_commit"


def at_commit(
    session: Session,
    key: str,
    item: Any,
    write: Callable[[Session, list[Any]], Any],
    after: Callable[[Any], None] | None = None,
) -> None:
    """Queue ``item`` under ``key``: just before the transaction commits (a savepoint's commit is
    not that), ``write(session, items)`` writes everything queued, and once the commit is done
    ``after`` gets what ``write`` returned (the first call for a key gives the session's
    ``write`` and ``after``). A rollback forgets the queue. Record entries and live
    events are written this way, together and late, so the locks they take are held briefly."""
    queues: dict[str, list[Any]] = session.info.setdefault(_QUEUES, {})
    if key not in queues:
        queues[key] = []
        results: list[Any] = []

        def before_commit(committing: Session) -> None:
            if not committing.in_nested_transaction() and queues[key]:
                results.append(write_queued(committing, key, write))

        def after_commit(committed: Session) -> None:
            if not committed.in_nested_transaction():
                done = results[:]
                results.clear()
                if after is not None:
                    for result in done:
                        after(result)

        def after_rollback(rolled_back: Session) -> None:
            if not rolled_back.in_nested_transaction():
                queues[key].clear()
                results.clear()

        event.listen(session, "before_commit", before_commit)
        event.listen(session, "after_commit", after_commit)
        event.listen(session, "after_rollback", after_rollback)
    queues[key].append(item)


def write_queued(session: Session, key: str, write: Callable[[Session, list[Any]], Any]) -> Any:
    """Write what is queued under ``key`` now (``after`` is not called for it); None if nothing is."""
    queue: list[Any] = session.info.get(_QUEUES, {}).get(key, [])
    if not queue:
        return None
    items = queue[:]
    queue.clear()
    return write(session, items)


def _postgresql_setup(engine: Engine) -> None:
    """Ping a pooled connection at checkout only if it sat idle: one used a moment ago is alive,
    and pinging it is a round trip on every transaction. A dead one is replaced (the pool tries
    again on DisconnectionError)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the driver's error for a closed or broken connection
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the connection did not answer a ping")


class Database:
    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.in_memory = self.is_sqlite and parsed.database in (None, "", ":memory:")  # this process's only
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(self.url, connect_args={"check_same_thread": False, "timeout": 30})
            _sqlite_setup(self.engine)
        else:
            self.engine = create_engine(self.url, pool_size=10, max_overflow=20)
            _postgresql_setup(self.engine)
        self._writer = FairLock()
        reads = self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._reads = sessionmaker(bind=reads, expire_on_commit=False)
        self._read_engine = reads
        self._writes = sessionmaker(bind=self.engine.execution_options(deconline_write=True), expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reads() as session, session.begin():
            yield session

    @contextmanager
    def read_rows(self) -> Iterator[Connection]:
        """A plain connection for a read of a few rows: without an ORM session, for what runs on
        every request (the token check)."""
        with self._read_engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception. On SQLite the
        threads of this process queue here, in order, for the one writer the file allows, rather
        than in SQLite's busy handler (which sleeps in growing steps: seconds under load)."""
        if self.is_sqlite:
            self._writer.acquire()
        try:
            with self._writes() as session, session.begin():
                yield session
        finally:
            if self.is_sqlite:
                self._writer.release()

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent). On PostgreSQL, under a lock held
        to the end of the transaction: instances started together migrate one after the other,
        and the later ones find nothing to do."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            self.serialise_setup(connection)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def serialise_setup(self, connection: Connection) -> None:
        """Take the setup lock for the caller's transaction (PostgreSQL; SQLite has one writer)."""
        if not self.is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK})

    def migrations_pending(self) -> list[str]:
        """Revisions between the database's and the newest this code knows (empty: up to date)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        script = ScriptDirectory.from_config(config)
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        head = script.get_current_head()
        if current == head:
            return []
        return [r.revision for r in script.iterate_revisions(head, current)]

    def dispose(self) -> None:
        self.engine.dispose()
