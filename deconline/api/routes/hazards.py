"""Hazards: public to every party; any party may declare one, only its declarer withdraws it."""

from __future__ import annotations

from fastapi import APIRouter, Response

from deconline.api.convert import hazard_out, to_volume
from deconline.api.deps import ActorDep, LineDep, SubmissionDep
from deconline.api.routing import JsonRoute
from deconline.api.schemas import HazardChange, HazardIn, HazardOut
from deconline.service import hazards
from deconline.service.errors import Forbidden

router = APIRouter(prefix="/v1/hazards", tags=["hazards"], route_class=JsonRoute)


def _reader(actor_role: str) -> None:
    if actor_role == "auditor":
        raise Forbidden("an auditor token reads the record only")


@router.post("", status_code=201, response_model=HazardOut)
def declare_hazard(
    body: HazardIn, line: LineDep, actor: ActorDep, signed: SubmissionDep, response: Response
) -> HazardOut:
    _reader(actor.role)
    volume = to_volume(body.volume, line.limits, ["body", "volume"])
    hazard = hazards.declare(line, actor, body.kind, volume, body.name, signed.require())
    response.headers["Location"] = f"/v1/hazards/{hazard.id}"
    return hazard_out(hazard)


@router.get("", response_model=list[HazardOut])
def list_hazards(line: LineDep, actor: ActorDep, include_withdrawn: bool = False) -> list[HazardOut]:
    _reader(actor.role)
    return [hazard_out(h) for h in hazards.list_all(line, include_withdrawn)]


@router.get("/{hazard_id}", response_model=HazardOut)
def get_hazard(hazard_id: str, line: LineDep, actor: ActorDep) -> HazardOut:
    _reader(actor.role)
    return hazard_out(hazards.get(line, hazard_id))


@router.put("/{hazard_id}", response_model=HazardOut)
def change_hazard(
    hazard_id: str, body: HazardChange, line: LineDep, actor: ActorDep, signed: SubmissionDep
) -> HazardOut:
    """Move, resize or re-time your active hazard. Owners of accepted and active operations it now
    touches get `hazard` notices; notices it no longer justifies are resolved (`hazard_changed`)."""
    volume = to_volume(body.volume, line.limits, ["body", "volume"])
    hazard = hazards.change(line, actor, hazard_id, body.version, body.kind, volume, body.name, signed.require())
    return hazard_out(hazard)


@router.delete("/{hazard_id}", response_model=HazardOut)
def withdraw_hazard(hazard_id: str, line: LineDep, actor: ActorDep, signed: SubmissionDep) -> HazardOut:
    """Withdraw your hazard: every notice it caused is resolved (`hazard_withdrawn`). The request
    carries a signed statement (`hazard.withdraw:ID`) whose body is `{}`."""
    return hazard_out(hazards.withdraw(line, actor, hazard_id, signed.require()))
