"""The database handle on PostgreSQL: autocommit reads, transactional writes, dead connections replaced;
and a migration on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from psycopg.pq import TransactionStatus
from sqlalchemy import select, text

from deconline.service import tactical
from deconline.service.actors import Actor
from deconline.store import db as db_module
from deconline.store.db import MIGRATIONS, Database
from deconline.store.models import Setting, TrackState, UnaffiliatedTrack
from tests.helpers import make_world


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


def test_track_intent_migration_on_a_line_made_before_it(empty_db_url: str) -> None:
    """0012 on a database at 0011 with tracks in it: the rows keep their kinematics and say nothing
    of intent, identity or quality; new reports store them; down and up again on both databases."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    before = Database(empty_db_url)
    with before.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")
    columns = "lat, lon, alt_m, gs_mps, track_deg, vrate_mps, time_s, received_at"
    values = "50.0, 10.0, 9000.0, 200.0, 90.0, 0.0, 100.0, 100.5"
    with before.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO parties (id, public_key, created_at) VALUES ('delta', :k, 1.0)"), {"k": "d" * 43 + "="}
        )
        connection.execute(text(f"INSERT INTO tracks (party_id, track_id, {columns}) VALUES ('delta', 'D1', {values})"))
        connection.execute(
            text(f"INSERT INTO unaffiliated_tracks (track_id, provider_id, {columns}) VALUES ('U1', 'delta', {values})")
        )
    before.dispose()
    world = make_world(empty_db_url)  # migrates to the head
    with world.line.db.read() as session:
        d1 = session.get(TrackState, ("delta", "D1"))
        u1 = session.get(UnaffiliatedTrack, "U1")
        assert d1 is not None and u1 is not None and (d1.alt_m, u1.alt_m) == (9000.0, 9000.0)
        for row in (d1, u1):
            assert (row.selected_alt_m, row.callsign, row.nac_p, row.velocity_age_s) == (None, None, None, None)
        [live] = tactical.live_tracks(session, 0.0)
    assert (live.track_id, live.time_s, live.selected_alt_m) == ("D1", 100.0, None)
    now = world.clock.now
    report = tactical.Report("A1", 50.0, 10.0, 9000.0, 200.0, 90.0, 0.0, now, 9144.0, "ABC12", 11, 2.5)
    tactical.ingest(world.line, Actor("party", "alpha"), [report])
    with world.line.db.read() as session:
        a1 = session.get(TrackState, ("alpha", "A1"))
        assert a1 is not None and (a1.selected_alt_m, a1.callsign, a1.nac_p, a1.velocity_age_s) == (
            9144.0,
            "ABC12",
            11,
            2.5,
        )
    world.line.db.dispose()
    again = Database(empty_db_url)
    with again.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
        command.upgrade(config, "head")
    with again.read() as session:
        assert {s.track_id: s.selected_alt_m for s in tactical.live_tracks(session, 0.0)} == {"D1": None, "A1": None}
    again.dispose()
