"""Request-scoped dependencies: the service object and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deconline.api.statements import LineFacts, SignatureCheck, check_statement
from deconline.record.envelope import SIGNATURE_HEADER
from deconline.service.actors import Actor
from deconline.service.line import Line
from deconline.service.parties import authenticate

__all__ = ["SIGNATURE_HEADER", "ActorDep", "LineDep", "SignatureCheck", "SubmissionDep"]

bearer = HTTPBearer(auto_error=False, description="the API token printed by 'deconline party add' or 'init'")


async def get_line(request: Request) -> Line:
    """Async because it does no I/O: a plain function would cost a hop to the thread pool."""
    line: Line = request.app.state.line
    return line


def get_actor(
    line: Annotated[Line, Depends(get_line)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    return authenticate(line, credentials.credentials if credentials else None)


LineDep = Annotated[Line, Depends(get_line)]
ActorDep = Annotated[Actor, Depends(get_actor)]


async def signed_submission(request: Request, actor: ActorDep, line: LineDep) -> SignatureCheck:
    """The statement a party's write carries, checked (see ``deconline.api.statements``)."""
    facts: LineFacts = request.app.state.statement_facts
    return await check_statement(request, actor, line, facts)


SubmissionDep = Annotated[SignatureCheck, Depends(signed_submission)]
