"""Request-scoped dependencies: the service object and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deconline.client import SIGNATURE_HEADER
from deconline.record.signing import SignatureError, verify_document
from deconline.service.errors import Unauthorized
from deconline.service.line import Line
from deconline.service.parties import Actor, authenticate
from deconline.service.record import Signed

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


@dataclass(frozen=True)
class SignatureCheck:
    """The outcome of checking a submission's signature, raised by the route only after the body
    itself has been validated — so malformed input is a 422 before it is a 401."""

    signed: Signed | None = None
    problem: str | None = None

    def require(self) -> Signed | None:
        if self.problem is not None:
            raise Unauthorized(self.problem)
        return self.signed


async def signed_submission(
    request: Request,
    actor: ActorDep,
    signature: Annotated[
        str | None,
        Header(
            alias=SIGNATURE_HEADER,
            description="base64 Ed25519 signature by your party key over the canonical JSON (RFC 8785) of the body",
        ),
    ] = None,
) -> SignatureCheck:
    """Verify the party's Ed25519 signature over the canonical JSON (RFC 8785) of the body."""
    if actor.role != "party" or actor.party_id is None:
        return SignatureCheck()  # the admin holds no party key
    if not signature:
        return SignatureCheck(
            problem=f"sign your submission: send {SIGNATURE_HEADER} with the base64 Ed25519 signature of the "
            "body's canonical JSON (RFC 8785); the Python client and the CLI do it with your key"
        )
    try:
        document = await request.json()  # parsed once, for the body's validation too (api.routing)
    except ValueError:
        return SignatureCheck(problem="the body is not JSON")
    try:
        verify_document(actor.public_key or "", document, signature)  # the key came with the token
    except (SignatureError, ValueError) as exc:
        return SignatureCheck(problem=f"signature rejected: {exc}")
    return SignatureCheck(Signed(document, signature))


SubmissionDep = Annotated[SignatureCheck, Depends(signed_submission)]
