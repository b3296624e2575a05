"""The database handle on PostgreSQL: autocommit reads, transactional writes, dead connections replaced."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import select, text

from deconline.store import db as db_module
from deconline.store.db import Database
from deconline.store.models import Setting


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:
    database = Database(pg_url)
    database.migrate()
    yield database
    database.dispose()


def _status(session: object) -> TransactionStatus:
    return session.connection().connection.driver_connection.info.transaction_status  # type: ignore[attr-defined]


def test_reads_open_no_transaction(database: Database) -> None:
    with database.read() as session:
        session.execute(select(Setting))
        assert _status(session) == TransactionStatus.IDLE  # autocommit: no BEGIN, no COMMIT


def test_writes_stay_transactions_after_reads_on_the_same_connections(database: Database) -> None:
    for _ in range(3):
        with database.read() as session:
            session.execute(select(Setting))
    with pytest.raises(RuntimeError), database.write() as session:
        session.add(Setting(key="half-done", value="x"))
        session.flush()
        assert _status(session) == TransactionStatus.INTRANS
        raise RuntimeError("rolled back")
    with database.read() as session:
        assert session.get(Setting, "half-done") is None


def test_a_connection_the_server_closed_is_replaced(
    database: Database, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)
    with database.read() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    with database.read() as session:  # the pooled connection is dead: pinged, dropped, replaced
        assert session.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
