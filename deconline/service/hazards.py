"""Hazards: volumes declared to every party (air-defence zones, live fire, firefighting)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconline.core.volumes import Volume
from deconline.service import notices
from deconline.service.actors import Actor
from deconline.service.errors import Conflict, Forbidden, Invalid, NotFound
from deconline.service.geo import geometry_json, volume_from_row
from deconline.service.line import Line, StrategicChange, new_id
from deconline.service.rules import in_force
from deconline.service.statements import Signed
from deconline.store.models import Hazard

KINDS = ("air_defence", "live_fire", "firefighting", "other")


def _check_kind(actor: Actor, kind: str) -> None:
    if actor.role == "auditor":
        raise Forbidden("an auditor token cannot declare or change hazards")
    if kind not in KINDS:
        raise Invalid(["body", "kind"], f"kind must be one of {', '.join(KINDS)}")


def _examine(line: Line, change: StrategicChange, actor: Actor, hazard: Hazard, cause: str) -> None:
    """Tell the owners of accepted and active operations the hazard now covers (and those whose
    notices about it no longer hold, or hold differently); nothing to do before any agreement."""
    session = change.session
    agreement = in_force(session)
    if agreement is None:
        return
    rules = agreement.strategic_rules
    finder = notices.Finder(line, session, rules)
    scope = notices.open_in_scope(session, notices.about_hazard(hazard.id))
    subject = notices.Subject.of_hazard(hazard) if hazard.state == "active" else None
    pairs = notices.pairs_for(finder, subject, scope, ())
    wanted = notices.wanted(line, session, pairs, "hazard", rules, line.clock())
    reason = "hazard_withdrawn" if hazard.state != "active" else "hazard_changed"
    outcome = notices.reconcile(session, scope, wanted, lambda _: reason, line.clock())
    notices.publish(line, session, outcome, actor.party_id or actor.role, actor.party_id, cause)


def declare(
    line: Line, actor: Actor, kind: str, volume: Volume, name: str = "", signed: Signed | None = None
) -> Hazard:
    """Any party (or the admin) may declare a hazard; it is public to all parties at once."""
    _check_kind(actor, kind)
    with line.strategic_change([volume]) as change:
        session = change.session
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
            updated_at=line.clock(),
            version=1,
        )
        session.add(hazard)
        change.track(hazard)
        session.flush()
        _record(line, session, actor, "hazard.declared", hazard, signed)
        _examine(line, change, actor, hazard, "hazard.declared")
        return hazard


def _volumes_now(line: Line, hazard_id: str) -> list[Volume]:
    """Where the hazard is before its area is locked (the lock checks it has not moved since)."""
    with line.db.read() as session:
        hazard = session.get(Hazard, hazard_id)
        return [volume_from_row(hazard)] if hazard is not None else []


def _load_own(session: Session, actor: Actor, hazard_id: str, doing: str) -> Hazard:
    hazard = session.get(Hazard, hazard_id)
    if hazard is None:
        raise NotFound(f"no hazard '{hazard_id}'")
    if actor.role != "admin" and (actor.role != "party" or hazard.party_id != actor.party_id):
        raise Forbidden(f"only the party that declared a hazard (or an admin) can {doing} it")
    if hazard.state != "active":
        raise Conflict(f"hazard '{hazard_id}' is already {hazard.state}")
    return hazard


def change(
    line: Line,
    actor: Actor,
    hazard_id: str,
    version: int,
    kind: str,
    volume: Volume,
    name: str = "",
    signed: Signed | None = None,
) -> Hazard:
    """Move, resize or re-time an active hazard (optimistic concurrency on ``version``); the
    operations it touches now are told, and notices it no longer justifies are resolved."""
    _check_kind(actor, kind)
    with line.strategic_change([*_volumes_now(line, hazard_id), volume]) as strategic:
        session = strategic.session
        hazard = _load_own(session, actor, hazard_id, "change")
        if hazard.version != version:
            raise Conflict(
                f"hazard '{hazard_id}' is at version {hazard.version}, not {version}: reload it and try again"
            )
        strategic.track(hazard)
        hazard.kind, hazard.name = kind, name or hazard.name
        hazard.footprint, hazard.radius_m = geometry_json(volume.footprint), volume.radius_m
        hazard.lower_m, hazard.upper_m, hazard.start_s, hazard.end_s = (
            volume.lower_m,
            volume.upper_m,
            volume.start_s,
            volume.end_s,
        )
        hazard.version += 1
        hazard.updated_at = line.clock()
        session.flush()
        _record(line, session, actor, "hazard.changed", hazard, signed)
        _examine(line, strategic, actor, hazard, "hazard.changed")
        return hazard


def withdraw(line: Line, actor: Actor, hazard_id: str, signed: Signed | None = None) -> Hazard:
    """Withdrawal resolves every notice the hazard caused."""
    with line.strategic_change(_volumes_now(line, hazard_id)) as change:
        session = change.session
        hazard = _load_own(session, actor, hazard_id, "withdraw")
        change.track(hazard)
        hazard.state = "withdrawn"
        hazard.version += 1
        hazard.updated_at = line.clock()
        session.flush()
        _record(line, session, actor, "hazard.withdrawn", hazard, signed)
        _examine(line, change, actor, hazard, "hazard.withdrawn")
        return hazard


def _record(line: Line, session: Session, actor: Actor, kind: str, hazard: Hazard, signed: Signed | None) -> None:
    """Hazards are public, and so are their entries."""
    event = {
        "hazard": hazard.id,
        "version": hazard.version,
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
