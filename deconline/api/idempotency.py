"""The IETF ``Idempotency-Key`` header (draft-ietf-httpapi-idempotency-key-header) for writes that
carry no signed statement (the admin's): the key is held while the request runs, the answer is
kept, and a retry with the same key and request gets it again, marked ``Idempotent-Replayed``.

A party's writes need no key: their statements' nonces do the same, in the transaction that
carries them out. Here the key is held in a transaction of its own before the write: a crash
between the two leaves a key without an answer, which a retry is told about (409), as the draft
asks of a request still in progress.
"""

from __future__ import annotations

import hashlib
import re

from fastapi import Request, Response
from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from deconline.api.statements import STATEMENT_TYPE, replayed
from deconline.service.errors import Conflict, Invalid
from deconline.service.line import Line
from deconline.service.statements import Answer
from deconline.store.models import StatementRow

HEADER = "Idempotency-Key"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
_KEY = re.compile(r'^"?([\x21\x23-\x7e]{1,128})"?$')  # a structured-field string; quotes optional


class Replay(Exception):
    """The first answer to a retried request, to send instead of carrying it out again."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


def _holder(request: Request) -> str:
    """Whose key it is: a digest of the token (keys of two callers never collide)."""
    token = request.headers.get("authorization", "")
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:40]


def _take(line: Line, holder: str, key: str, digest: str, what: str) -> Answer | None:
    now = line.clock()
    row = {"party_id": holder, "nonce": key, "digest": digest, "action": what, "created_s": now, "received_s": now}
    try:
        with line.db.write() as session:
            session.execute(insert(StatementRow), [row])
        return None
    except IntegrityError:
        pass
    with line.db.read() as session:
        found = session.get(StatementRow, (holder, key))
    if found is None:  # forgotten in between: take it again
        return _take(line, holder, key, digest, what)
    if found.digest != digest:
        raise Invalid(["headers", HEADER.lower()], f"this {HEADER} was used for another request ({found.action})")
    if found.status is None:
        raise Conflict(f"a request with this {HEADER} is still being carried out (or its answer was lost)")
    return Answer(found.status, (found.answer or "").encode(), found.location)


def _settle(line: Line, holder: str, key: str, answer: Answer | None) -> None:
    where = (StatementRow.party_id == holder) & (StatementRow.nonce == key)
    with line.db.write() as session:
        if answer is None:  # it failed: the key is free for a corrected request
            session.execute(delete(StatementRow).where(where))
        else:
            values = {"status": answer.status, "answer": answer.body.decode(), "location": answer.location}
            session.execute(update(StatementRow).where(where).values(**values))


async def held(request: Request) -> tuple[str, str] | None:
    """Hold the request's key, or raise with the first answer to replay (:class:`Replay`)."""
    given = request.headers.get(HEADER)
    if (
        given is None
        or request.method not in WRITES
        or request.headers.get("content-type", "").startswith(STATEMENT_TYPE)
    ):
        return None
    matched = _KEY.match(given.strip())
    if matched is None:
        raise Invalid(["headers", HEADER.lower()], f"{HEADER} must be 1-128 printable characters without spaces")
    key = "key:" + matched.group(1)
    body = await request.body()
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + body).hexdigest()
    holder = _holder(request)
    line: Line = request.app.state.line
    answer = await run_in_threadpool(_take, line, holder, key, digest, f"{request.method} {request.url.path}")
    if answer is not None:
        raise Replay(replayed(answer))
    return holder, key


async def settle(request: Request, hold: tuple[str, str], response: Response | None) -> None:
    line: Line = request.app.state.line
    answer = None
    if response is not None and response.status_code < 300:
        answer = Answer(response.status_code, bytes(response.body), response.headers.get("location"))
    await run_in_threadpool(_settle, line, *hold, answer)
