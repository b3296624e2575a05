"""The token check on the event loop (PostgreSQL): the same answers as the blocking one, a
connection the server closed is replaced, and no more than a few are kept idle."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import pytest
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError

from deconline.service import parties
from deconline.service.actors import Actor
from deconline.service.errors import Unauthorized
from deconline.service.line import Line
from deconline.store.db import Database
from deconline.store.loop_reads import LoopReads
from deconline.store.models import Setting

pytestmark = pytest.mark.postgres

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """On a loop of its own, in a thread of its own, whatever runs in this one (Playwright's)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


SETTING = select(Setting.key, Setting.value).where(Setting.key == bindparam("key"))


def _db(pg_url: str) -> Database:
    db = Database(pg_url)
    db.migrate()
    with db.write() as session:
        session.add(Setting(key="colour", value="amber"))
    return db


def test_the_first_row_or_none(pg_url: str) -> None:
    db = _db(pg_url)
    reads = LoopReads(db)

    async def ask() -> list[tuple[object, ...] | None]:
        try:
            return [await reads.first(SETTING, {"key": key}) for key in ("colour", "missing", "colour")]
        finally:
            await reads.close()

    assert run(ask()) == [("colour", "amber"), None, ("colour", "amber")]
    db.dispose()


def test_a_connection_the_server_closed_is_replaced(pg_url: str) -> None:
    db = _db(pg_url)
    reads = LoopReads(db)

    async def ask() -> tuple[object, ...] | None:
        return await reads.first(SETTING, {"key": "colour"})

    async def twice_with_a_kill_between() -> list[tuple[object, ...] | None]:
        first = await ask()
        with psycopg.connect(reads._dsn, autocommit=True) as admin:  # as a restarted server would
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        try:
            return [first, await ask()]
        finally:
            await reads.close()

    assert run(twice_with_a_kill_between()) == [("colour", "amber")] * 2
    db.dispose()


def test_a_burst_waits_for_the_connections_it_may_open_and_a_few_are_kept(pg_url: str) -> None:
    db = _db(pg_url)

    async def burst(reads: LoopReads) -> tuple[int, int]:
        rows = await asyncio.gather(*(reads.first(SETTING, {"key": "colour"}) for _ in range(20)))
        assert rows == [("colour", "amber")] * 20
        kept = len(reads._idle)
        await reads.close()
        return reads.opened, kept

    assert run(burst(LoopReads(db, keep_idle=2, max_open=2))) == (2, 2)  # twenty requests over two
    assert run(burst(LoopReads(db, keep_idle=1, max_open=4)))[1] == 1  # the others closed
    db.dispose()


def test_tokens_checked_on_the_loop_as_in_a_thread(pg_url: str) -> None:
    line = Line(Database(pg_url))
    admin = parties.initialise(line)
    revoked = parties.issue_token(line, "auditor")
    parties.revoke_token(line, parties.hash_token(revoked)[:12])
    reads = LoopReads(line.db)

    async def check(token: str | None) -> object:
        try:
            return await parties.authenticate_on_loop(line, reads, token)
        except Unauthorized as exc:
            return exc.message

    async def all_of_them() -> list[object]:
        try:
            return [await check(token) for token in (admin, revoked, "dl_nobody", None)]
        finally:
            await reads.close()

    on_loop = run(all_of_them())
    in_thread: list[object] = []
    for token in (admin, revoked, "dl_nobody", None):
        try:
            in_thread.append(parties.authenticate(line, token))
        except Unauthorized as exc:
            in_thread.append(exc.message)
    assert on_loop == in_thread
    assert on_loop[0] == Actor("admin")
    line.db.dispose()


def test_a_database_that_does_not_answer_is_an_operational_error() -> None:
    """As SQLAlchemy would raise it: the API answers it with a 503 and Retry-After."""
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(OperationalError):
        run(LoopReads(db).first(SETTING, {"key": "colour"}))
