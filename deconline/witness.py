"""``deconline witness``: a party's own witness of the line's record (C2SP tlog-witness, issue 25).

A small HTTP service with one route, ``POST /add-checkpoint``, a cosigning key of its own and a
SQLite file of its own. For each log it trusts (origin → the log's verifier key) it keeps the
latest checkpoint it cosigned; the answer is decided by :func:`deconline.record.witnessing.decide`
inside one ``BEGIN IMMEDIATE`` transaction, so two requests (threads or processes) can never
roll the state back. Two checkpoints the log signed that cannot both be true are kept as
evidence, which ``record verify --evidence`` checks offline.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from deconline.record.checkpoint import Verifier
from deconline.record.cosignature import cosign
from deconline.record.witnessing import Seen, WitnessError, decide, parse_add_checkpoint

log = logging.getLogger("deconline.witness")
MAX_BODY = 64 * 1024
SCHEMA = """
CREATE TABLE IF NOT EXISTS cosigned (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, root BLOB NOT NULL,
                                     note TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS evidence (id INTEGER PRIMARY KEY, origin TEXT NOT NULL, kind TEXT NOT NULL,
                                     cosigned TEXT NOT NULL, offered TEXT NOT NULL, old INTEGER NOT NULL,
                                     proof TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL);
"""


@dataclass(frozen=True)
class Witness:
    name: str
    key: Ed25519PrivateKey
    logs: dict[str, Verifier]  # origin → the log's key
    db: Path


@contextmanager
def _immediate(db: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction that takes the file's write lock at once (threads and processes alike)."""
    connection = sqlite3.connect(db, timeout=30, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")  # a cosigned size is durable before it is answered
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.strip().split(";"):  # a new file gets its tables (a no-op after)
                if statement.strip():
                    connection.execute(statement)
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


def setup(db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    with _immediate(db):
        pass


def add_checkpoint(witness: Witness, body: bytes, now: float) -> tuple[int, str, str]:
    """Status, content type and body of the answer to one add-checkpoint request."""
    try:
        request = parse_add_checkpoint(body)
    except WitnessError as exc:
        return 400, "text/plain", f"{exc}\n"
    with _immediate(witness.db) as connection:
        row = connection.execute("SELECT size, root, note FROM cosigned WHERE origin = ?", (request.origin,)).fetchone()
        seen = Seen(row[0], row[1], row[2]) if row is not None else None
        decision = decide(request, witness.logs, seen)
        if decision.evidence is not None and seen is not None:
            proof = json.dumps([h.hex() for h in request.proof])
            connection.execute(
                "INSERT INTO evidence (origin, kind, cosigned, offered, old, proof, message, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (request.origin, decision.evidence, seen.note, request.note, request.old, proof, decision.message, now),
            )
            log.error("EVIDENCE of a forked log %s: %s", request.origin, decision.message)
        if decision.status == 409:
            return 409, "text/x.tlog.size", f"{decision.known_size}\n"
        if decision.status != 200 or decision.checkpoint is None:
            return decision.status, "text/plain", f"{decision.message}\n"
        checkpoint = decision.checkpoint
        connection.execute(
            "INSERT INTO cosigned (origin, size, root, note, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin) "
            "DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, at = excluded.at",
            (checkpoint.origin, checkpoint.size, checkpoint.root, request.note, now),
        )
    return 200, "text/plain; charset=utf-8", cosign(witness.key, witness.name, checkpoint.body(), int(now))


def evidence(db: Path) -> list[dict[str, Any]]:
    """Every pair of checkpoints that proved the log forked, oldest first."""
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute(
            "SELECT origin, kind, cosigned, offered, old, proof, message, at FROM evidence ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    fields = ("origin", "kind", "cosigned", "offered", "old", "proof", "message", "at")
    return [dict(zip(fields, row, strict=True)) | {"proof": json.loads(row[5])} for row in rows]


def create_app(witness: Witness) -> Starlette:
    setup(witness.db)

    async def post(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("the request is larger than any add-checkpoint\n", status_code=413)
        status, media, text = await run_in_threadpool(add_checkpoint, witness, body, time.time())
        return Response(text.encode(), status_code=status, headers={"Content-Type": media})

    return Starlette(routes=[Route("/add-checkpoint", post, methods=["POST"])])
