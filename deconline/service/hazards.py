"""Hazards: volumes declared to every party (air-defence zones, live fire, firefighting)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconline.core.volumes import Volume
from deconline.service.errors import Conflict, Forbidden, Invalid, NotFound
from deconline.service.geo import geometry_json
from deconline.service.line import Line, new_id
from deconline.service.parties import Actor
from deconline.service.record import Signed
from deconline.store.models import Hazard

KINDS = ("air_defence", "live_fire", "firefighting", "other")


def declare(
    line: Line, actor: Actor, kind: str, volume: Volume, name: str = "", signed: Signed | None = None
) -> Hazard:
    """Any party (or the admin) may declare a hazard; it is public to all parties at once."""
    if actor.role == "auditor":
        raise Forbidden("an auditor token cannot declare hazards")
    if kind not in KINDS:
        raise Invalid(["body", "kind"], f"kind must be one of {', '.join(KINDS)}")
    with line.strategic_change() as change:
        session, seq = change.session, change.seq
        hazard = Hazard(
            id=new_id("hz"),
            party_id=actor.party_id,
            kind=kind,
            name=name,
            state="active",
            footprint=geometry_json(volume.footprint),
            radius_m=volume.radius_m,
            lower_m=volume.lower_m,
            upper_m=volume.upper_m,
            start_s=volume.start_s,
            end_s=volume.end_s,
            created_at=line.clock(),
            change_seq=seq,
        )
        session.add(hazard)
        change.hazards.append(hazard)
        session.flush()
        _record(line, session, actor, "hazard.declared", hazard, signed)
        return hazard


def withdraw(line: Line, actor: Actor, hazard_id: str) -> Hazard:
    with line.strategic_change() as change:
        session, seq = change.session, change.seq
        hazard = session.get(Hazard, hazard_id)
        if hazard is None:
            raise NotFound(f"no hazard '{hazard_id}'")
        if actor.role != "admin" and (actor.role != "party" or hazard.party_id != actor.party_id):
            raise Forbidden("only the party that declared a hazard (or an admin) can withdraw it")
        if hazard.state != "active":
            raise Conflict(f"hazard '{hazard_id}' is already {hazard.state}")
        hazard.state = "withdrawn"
        hazard.change_seq = seq
        change.hazards.append(hazard)
        session.flush()
        _record(line, session, actor, "hazard.withdrawn", hazard, None)
        return hazard


def _record(line: Line, session: Session, actor: Actor, kind: str, hazard: Hazard, signed: Signed | None) -> None:
    """Hazards are public, and so are their entries."""
    event = {
        "hazard": hazard.id,
        "hazard_kind": hazard.kind,
        "name": hazard.name,
        "state": hazard.state,
        "footprint": hazard.footprint,
        "radius_m": hazard.radius_m,
        "band": [hazard.lower_m, hazard.upper_m],
        "window": [hazard.start_s, hazard.end_s],
    }
    line.append(session, actor.party_id or actor.role, kind, event, ["*"], signed)


def list_all(line: Line, include_withdrawn: bool = False) -> list[Hazard]:
    """Hazards are public: every token may list them."""
    with line.db.read() as session:
        query = select(Hazard).order_by(Hazard.created_at, Hazard.id)
        if not include_withdrawn:
            query = query.where(Hazard.state == "active")
        return list(session.scalars(query))


def get(line: Line, hazard_id: str) -> Hazard:
    with line.db.read() as session:
        hazard = session.get(Hazard, hazard_id)
        if hazard is None:
            raise NotFound(f"no hazard '{hazard_id}'")
        return hazard
