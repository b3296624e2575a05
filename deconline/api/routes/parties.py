"""Parties on the line (public ids, groups and keys); registration is for the admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from deconline.api.deps import ActorDep, LineDep, SubmissionDep
from deconline.api.key_schemas import KeyRotationIn, PartyKeyOut
from deconline.api.routing import JsonRoute
from deconline.api.schemas import PartyCreated, PartyIn, PartyOut, WhoAmI
from deconline.core.agreement import PARTY_ID_PATTERN
from deconline.service import parties, party_keys, record
from deconline.service.errors import Forbidden
from deconline.service.geo import iso
from deconline.store.models import PartyKey

router = APIRouter(prefix="/v1", tags=["parties"], route_class=JsonRoute)
PartyPath = Annotated[str, Path(pattern=PARTY_ID_PATTERN, description="the party's id")]


@router.get("/whoami", response_model=WhoAmI)
def whoami(actor: ActorDep, line: LineDep) -> WhoAmI:
    """Who your token is, and the id of this line, which every statement you sign names."""
    with line.db.read() as session:
        line_id = record.origin(line.record, session)
    return WhoAmI(role=actor.role, party=actor.party_id, group=actor.group, line=line_id)


@router.get("/parties", response_model=list[PartyOut])
def list_parties(line: LineDep, actor: ActorDep) -> list[PartyOut]:
    if actor.role == "auditor":
        raise Forbidden("an auditor token reads the record only")
    return [PartyOut(id=p.id, group=p.group, public_key=p.public_key) for p in parties.list_parties(line)]


@router.post("/parties", status_code=201, response_model=PartyCreated)
def add_party(body: PartyIn, line: LineDep, actor: ActorDep) -> PartyCreated:
    """Register a party with the public half of a key it made itself; its token is shown once."""
    actor.require_admin()
    token = parties.add_party(line, body.id, body.public_key, body.group)
    return PartyCreated(id=body.id, group=body.group, public_key=body.public_key, token=token)


def _key_out(row: PartyKey) -> PartyKeyOut:
    return PartyKeyOut(
        party=row.party_id,
        public_key=row.public_key,
        valid_from=iso(row.valid_from),
        valid_until=iso(row.valid_until) if row.valid_until is not None else None,
        record_index=row.record_index,
        signature=row.signature,
    )


@router.post("/parties/{party_id}/keys", status_code=201, response_model=PartyKeyOut)
def rotate_key(
    party_id: PartyPath, body: KeyRotationIn, line: LineDep, actor: ActorDep, signed: SubmissionDep, response: Response
) -> PartyKeyOut:
    """Replace your party's key. The body names the new key and is signed (`X-Deconline-Signature`)
    with the *current* one; from acceptance the new key signs everything (the old one is refused),
    the old one keeps verifying what it signed before, and the rotation is a public record entry.
    Only the party itself may do it (not the admin): `403` for any other token."""
    actor.require_party()
    request = party_keys.Rotation(body.party, body.previous_key, body.public_key)
    row = party_keys.rotate(line, actor, party_id, request, signed.require())
    response.headers["Location"] = f"/v1/parties/{party_id}/keys"
    return _key_out(row)


@router.get("/parties/{party_id}/keys", response_model=list[PartyKeyOut])
def key_history(party_id: PartyPath, line: LineDep, actor: ActorDep) -> list[PartyKeyOut]:
    """Every key the party has held, oldest first, with the interval each signs for."""
    return [_key_out(row) for row in party_keys.history(line, actor, party_id)]
