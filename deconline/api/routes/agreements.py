"""The agreement: propose a version, sign it, read the one in force."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response

from deconline.api.convert import agreement_out
from deconline.api.deps import ActorDep, LineDep, SubmissionDep
from deconline.api.routing import JsonRoute
from deconline.api.schemas import AgreementOut, SignatureIn
from deconline.service import agreements
from deconline.service.errors import Forbidden

router = APIRouter(prefix="/v1/agreements", tags=["agreement"], route_class=JsonRoute)

Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _not_auditor(role: str) -> None:
    if role == "auditor":
        raise Forbidden("an auditor token reads the record only")


@router.post("", status_code=201, response_model=AgreementOut)
def propose(
    line: LineDep,
    actor: ActorDep,
    signed: SubmissionDep,
    document: dict[str, Any] = Body(description="the agreement document; see the README for its fields"),
) -> AgreementOut:
    """Propose the next version. It takes effect when every listed party has signed it. A party
    proposes in a signed statement (`agreement.propose`); the admin, unsigned."""
    _not_auditor(actor.role)
    return agreement_out(agreements.propose(line, actor, document, signed.require()))


@router.get("", response_model=list[AgreementOut])
def list_agreements(line: LineDep, actor: ActorDep) -> list[AgreementOut]:
    _not_auditor(actor.role)
    return [agreement_out(s) for s in agreements.list_all(line)]


@router.get("/current", response_model=AgreementOut)
def current(line: LineDep, actor: ActorDep) -> AgreementOut:
    """The agreement in force (404 while none is)."""
    _not_auditor(actor.role)
    return agreement_out(agreements.get(line))


@router.get("/{version}", response_model=AgreementOut)
def get_version(version: Version, line: LineDep, actor: ActorDep) -> AgreementOut:
    _not_auditor(actor.role)
    return agreement_out(agreements.get(line, version))


@router.get("/{version}/document", response_class=Response)
def document_bytes(version: Version, line: LineDep, actor: ActorDep) -> Response:
    """The exact canonical JSON (RFC 8785) bytes that a party signs."""
    _not_auditor(actor.role)
    return Response(agreements.document_bytes(line, version), media_type="application/json")


@router.post("/{version}/signatures", response_model=AgreementOut)
def sign(version: Version, body: SignatureIn, line: LineDep, actor: ActorDep, signed: SubmissionDep) -> AgreementOut:
    """Add your Ed25519 signature over the canonical document (401 if it does not verify), sent in a
    signed statement (`agreement.sign:VERSION`) like every other write of a party."""
    return agreement_out(agreements.sign(line, actor, version, body.signature, signed.require()))
