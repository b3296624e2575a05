"""Request-scoped dependencies: the service object and the authenticated caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deconline.service.line import Line
from deconline.service.parties import Actor, authenticate

bearer = HTTPBearer(auto_error=False, description="the API token printed by 'deconline party add' or 'init'")


def get_line(request: Request) -> Line:
    line: Line = request.app.state.line
    return line


def get_actor(
    line: Annotated[Line, Depends(get_line)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    return authenticate(line, credentials.credentials if credentials else None)


LineDep = Annotated[Line, Depends(get_line)]
ActorDep = Annotated[Actor, Depends(get_actor)]
