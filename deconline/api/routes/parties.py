"""Parties on the line (public ids, groups and keys); registration is for the admin."""

from __future__ import annotations

from fastapi import APIRouter

from deconline.api.deps import ActorDep, LineDep
from deconline.api.schemas import PartyCreated, PartyIn, PartyOut, WhoAmI
from deconline.service import parties
from deconline.service.errors import Forbidden

router = APIRouter(prefix="/v1", tags=["parties"])


@router.get("/whoami", response_model=WhoAmI)
def whoami(actor: ActorDep) -> WhoAmI:
    return WhoAmI(role=actor.role, party=actor.party_id, group=actor.group)


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
