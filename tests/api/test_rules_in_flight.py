"""A filing that waits while new rules come into force is decided under the new rules.

On PostgreSQL, decisions that lock cells share the lock on everything that bringing new rules into
force takes alone; a filing that waited for it must then read the rules the others committed, not
the rules of the moment its statement began (each statement reads a snapshot taken at its start)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy.engine import make_url

from deconline.service.line import EVERYTHING_KEY
from tests.helpers import AGREEMENT, World, box


def _waiting_for_an_advisory_lock(dsn: str) -> bool:
    with psycopg.connect(dsn, autocommit=True) as watcher:
        row = watcher.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("world_copy", ["postgresql"], indirect=True)
def test_a_filing_that_waited_for_new_rules_is_decided_under_them(world: World) -> None:
    assert world.file("alpha", box(10.0, 50.0, 3.0, lower=1000.0, upper=2000.0))["state"] == "accepted"
    stricter = world.post("admin", "/v1/agreements", dict(AGREEMENT, version=2, v_m=800.0))
    assert stricter.status_code == 201, stricter.text
    dsn = make_url(world.line.db.url).set(drivername="postgresql").render_as_string(hide_password=False)
    # Another instance brings version 2 into force, holding the lock on everything as it does.
    with psycopg.connect(dsn) as adopting, ThreadPoolExecutor(1) as pool:
        adopting.execute("SELECT pg_advisory_xact_lock(%s)", (EVERYTHING_KEY,))
        adopting.execute("UPDATE agreements SET in_force_at = %s WHERE version = 2", (world.clock.now,))
        # 500 m above alpha's: clear under version 1's 300 m, in conflict under version 2's 800 m
        filing = pool.submit(world.file, "charlie", box(10.0, 50.0, 3.0, lower=2500.0, upper=3000.0))
        deadline = time.monotonic() + 10
        while not _waiting_for_an_advisory_lock(dsn) and time.monotonic() < deadline:
            time.sleep(0.02)
        adopting.commit()
        decided = filing.result(10)
    assert decided["state"] == "proposed"
