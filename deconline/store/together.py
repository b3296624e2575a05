"""Rows written just before the commit, every table's in one statement on PostgreSQL.

A decision that holds its cells waits for each round trip to the database (and then for the
interpreter), so the rows a transaction only adds — new operations and their volumes, new
notices, cell registrations — are queued (``insert_at_commit``) and written together: on
PostgreSQL one statement, each table's rows a data-modifying ``WITH`` over one JSON document
(``json_populate_recordset``: the table's own column types; one ``json.dumps`` in C, where an
array a column cost psycopg a Python pass over every value); foreign keys are checked at the
statement's end, so the order of the parts does not matter. On SQLite, one ``executemany`` a
table, in the order first queued.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Executable, Table, TextClause, insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from deconline.store.db import at_commit

_KEY = "deconline_rows_together"


@dataclass(frozen=True)
class Rows:
    """Rows of one table, all with the same keys; ``update``: on a conflict on the primary key,
    these columns take the new row's values (an upsert; a transaction may name a row once), else
    a conflict is an error."""

    table: Table
    rows: list[dict[str, Any]]
    update: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[Table, tuple[str, ...], tuple[str, ...]]:
        return self.table, tuple(self.rows[0]), self.update


def insert_at_commit(session: Session, table: Table, rows: list[dict[str, Any]], update: Sequence[str] = ()) -> None:
    """Queue ``rows`` of ``table`` to be written just before the transaction commits."""
    if rows:
        at_commit(session, _KEY, Rows(table, rows, tuple(update)), _write)


def _write(session: Session, queued: list[Rows]) -> None:
    groups: dict[tuple[Table, tuple[str, ...], tuple[str, ...]], Rows] = {}
    for item in queued:  # rows of one shape together, in the order first queued
        if item.shape in groups:
            groups[item.shape].rows.extend(item.rows)
        else:
            groups[item.shape] = Rows(item.table, list(item.rows), item.update)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        params = {f"w{i}": rows_document(part.rows) for i, part in enumerate(groups.values())}
        connection.execute(_statement(tuple(groups)), params)
        return
    for part in groups.values():
        statement: Executable = insert(part.table)
        if part.update:
            upsert = sqlite.insert(part.table)
            keys = [c.name for c in part.table.primary_key.columns]
            statement = upsert.on_conflict_do_update(
                index_elements=keys, set_={c: upsert.excluded[c] for c in part.update}
            )
        connection.execute(statement, part.rows)


def rows_document(rows: list[dict[str, Any]]) -> str:
    """The rows as one JSON array of objects (a JSON column's value nested as it is), for
    ``json_populate_recordset`` or ``json_to_recordset``. A value JSON cannot carry exactly (NaN,
    an infinity) is refused, never stored as null."""
    return json.dumps(rows, separators=(",", ":"), allow_nan=False)


@lru_cache(maxsize=64)
def _statement(shapes: tuple[tuple[Table, tuple[str, ...], tuple[str, ...]], ...]) -> TextClause:
    """One statement for these shapes (made once each): ``WITH w0 AS (INSERT ...), ... SELECT 1``."""
    parts = []
    for i, (table, columns, update) in enumerate(shapes):
        name, listed = table.name, ", ".join(columns)
        rows = f"json_populate_recordset(NULL::{name}, CAST(:w{i} AS json))"
        sql = f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {rows}"
        if update:
            keys = ", ".join(c.name for c in table.primary_key.columns)
            sql += f" ON CONFLICT ({keys}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)
        parts.append(f"w{i} AS ({sql})")
    return text(f"WITH {', '.join(parts)} SELECT 1")
