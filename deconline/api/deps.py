"""Request-scoped dependencies: the service object and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from deconline.api.statements import LineFacts, SignatureCheck, check_statement
from deconline.record.envelope import SIGNATURE_HEADER
from deconline.service.actors import Actor
from deconline.service.line import Line
from deconline.service.parties import authenticate, authenticate_on_loop
from deconline.store.loop_reads import LoopReads

__all__ = ["SIGNATURE_HEADER", "ActorDep", "LineDep", "SignatureCheck", "SubmissionDep"]

bearer = HTTPBearer(auto_error=False, description="the API token printed by 'deconline party add' or 'init'")


async def get_line(request: Request) -> Line:
    """Async because it does no I/O: a plain function would cost a hop to the thread pool."""
    line: Line = request.app.state.line
    return line


async def get_actor(
    request: Request,
    line: Annotated[Line, Depends(get_line)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """On PostgreSQL the token is read on the event loop (``store.loop_reads``), else in the pool."""
    token = credentials.credentials if credentials else None
    reads: LoopReads | None = request.app.state.loop_reads
    if reads is None:
        return await run_in_threadpool(authenticate, line, token)
    return await authenticate_on_loop(line, reads, token)


LineDep = Annotated[Line, Depends(get_line)]
ActorDep = Annotated[Actor, Depends(get_actor)]


async def signed_submission(request: Request, actor: ActorDep, line: LineDep) -> SignatureCheck:
    """The statement a party's write carries, checked (see ``deconline.api.statements``)."""
    facts: LineFacts = request.app.state.statement_facts
    return await check_statement(request, actor, line, facts)


SubmissionDep = Annotated[SignatureCheck, Depends(signed_submission)]
