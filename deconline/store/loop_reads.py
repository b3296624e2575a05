"""Reads of one row on the event loop, for what every request asks first (its token).

On PostgreSQL the service answers requests on an event loop and runs blocking work in a thread
pool. A token check that blocks costs a hop to that pool and back, and SQLAlchemy's execution
around its one row, on every request: about 0.3 ms of CPU, measured, where the query itself costs
0.05. Here the statement is compiled once to SQL and sent over psycopg's async connections, which
the loop waits on without a thread.

The connections are kept in a plain list rather than a pool with its own tasks, because the same
application may be driven by more than one event loop (a test client starts one per request): a
connection belongs to no loop while it is idle, and it is used by one request at a time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from deconline.store import pipeline
from deconline.store.db import Database

KEEP_IDLE = 8  # connections kept open between requests; more are opened under load, then closed
MAX_OPEN = 16  # connections open at once: a burst of requests waits for one rather than exhaust the server's


class LoopReads:
    """``first(statement, params)``: the first row a SELECT returns, or None (PostgreSQL only)."""

    def __init__(self, db: Database, keep_idle: int = KEEP_IDLE, max_open: int = MAX_OPEN) -> None:
        self._dsn = make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._keep = keep_idle
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._turns = asyncio.Semaphore(max_open)
        self.opened = 0  # connections opened so far

    async def first(self, statement: ClauseElement, params: dict[str, Any]) -> tuple[Any, ...] | None:
        compiled = pipeline.compiled(statement)  # the SQL with ``%(name)s`` parameters, compiled once
        sql, params = compiled.sql, {**compiled.fixed, **params}
        try:
            async with self._turns:
                return await self._first(sql, params)
        except psycopg.Error as exc:  # as SQLAlchemy raises it elsewhere (a 503 "busy" for the API)
            raise DBAPIError.instance(sql, params, exc, psycopg.Error) from exc

    async def _first(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        reused = bool(self._idle)
        connection = self._idle.pop() if reused else await self._connect()
        try:
            row = await self._fetch(connection, sql, params)
        except psycopg.OperationalError:  # _fetch closed it
            if not reused:
                raise
            connection = await self._connect()  # an idle one may have been closed by the server: once more
            row = await self._fetch(connection, sql, params)
        if len(self._idle) < self._keep:
            self._idle.append(connection)
        else:
            await connection.close()
        return row

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        self.opened += 1
        return await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)

    @staticmethod
    async def _fetch(
        connection: psycopg.AsyncConnection[Any], sql: str, params: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        try:
            cursor = await connection.execute(sql, params)  # prepared by the server from its fifth use
            return await cursor.fetchone()
        except BaseException:
            await connection.close()
            raise
