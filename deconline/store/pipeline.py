"""Statements sent to PostgreSQL together: one round trip where each would make its own.

A decision holds its cells' locks across every round trip it makes, and on a busy host each
costs the time the server takes to be scheduled as well as its work. psycopg's pipeline sends
statements without waiting for each answer; the server still runs them one after the other, each
with its own snapshot, so a statement sent after a lock's sees what was committed before the lock
was granted, exactly as when sent alone. SQLAlchemy cannot read rows in a pipeline, so
statements whose rows are wanted go as the driver's own (``rows``), compiled once from the Core
statement (``compiled``, which ``loop_reads`` uses too); statements whose results are not read go
through ``connection.execute`` as usual.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

if TYPE_CHECKING:  # psycopg itself is imported when a PostgreSQL connection is made (SQLite never does)
    from psycopg import Cursor

_DIALECT = psycopg_dialect()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class Compiled:
    """A Core statement as psycopg takes it, with the values it binds itself (``name = 'record'``)."""

    sql: str
    fixed: Mapping[str, Any]


_COMPILED: dict[int, tuple[ClauseElement, Compiled]] = {}  # by the statement's identity (a clause's == builds SQL)


def compiled(statement: ClauseElement) -> Compiled:
    """Made once a statement and kept: for statements built once, at import (as every one here is)."""
    known = _COMPILED.get(id(statement))
    if known is not None and known[0] is statement:
        return known[1]
    done = statement.compile(dialect=_DIALECT)
    assert isinstance(done, SQLCompiler)
    fixed = {done.bind_names[bind]: bind.effective_value for bind in done.binds.values() if not bind.required}
    result = Compiled(str(done), fixed)
    _COMPILED[id(statement)] = (statement, result)
    return result


@contextmanager
def together(connection: Connection) -> Iterator[None]:
    """PostgreSQL: what is executed inside goes out at once, and the answers are read at the end
    or at the first ``fetch`` of a ``rows`` cursor. The driver's errors are raised as SQLAlchemy's,
    as ``connection.execute`` would raise them (the API answers those without a 500)."""
    driver = connection.connection.driver_connection
    assert driver is not None
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        with driver.pipeline():
            yield
    except dbapi_error as exc:  # raised by the pipeline's sync, outside SQLAlchemy
        if driver.broken:
            connection.invalidate(exc)
        raise DBAPIError.instance("(statements sent together)", None, exc, dbapi_error, driver.broken) from exc


def rows(connection: Connection, statement: ClauseElement, params: Mapping[str, Any]) -> Cursor[Any]:
    """Execute ``statement`` on the connection's transaction as the driver's own, inside
    ``together`` (whose errors are SQLAlchemy's); its rows (plain tuples, in the order of the
    statement's columns) are read from the cursor returned, there or after it."""
    driver = connection.connection.driver_connection
    assert driver is not None
    statement_compiled = compiled(statement)
    cursor: Cursor[Any] = driver.cursor()
    cursor.execute(statement_compiled.sql, {**statement_compiled.fixed, **params})
    return cursor


def one(cursor: Cursor[Any]) -> Any:
    """The cursor's one row (the statement is known to answer one)."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("a statement that answers one row answered none")
    return row
