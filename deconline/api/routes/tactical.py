"""Live tracks, alerts and the event stream; each party sees its own alerts only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from deconline.api.deps import ActorDep, LineDep, SubmissionDep
from deconline.api.routing import JsonRoute
from deconline.api.schemas import TrackAccepted, TrackBatch
from deconline.service import guidance, tactical

router = APIRouter(prefix="/v1", tags=["tactical"], route_class=JsonRoute)


@router.post("/tracks", response_model=TrackAccepted, status_code=202)
def post_tracks(body: TrackBatch, line: LineDep, actor: ActorDep, signed: SubmissionDep) -> TrackAccepted:
    """A batch of reports of your own aircraft; the newest state per track is kept.

    With ``"unaffiliated": true`` the reports are of aircraft of no party, which a surveillance
    provider named in the agreement posts for everyone to see and be alerted against.
    """
    actor.require_party()
    statement = signed.require()
    return TrackAccepted(stored=tactical.ingest(line, actor, body.reports(), body.unaffiliated, statement))


@router.get("/tracks")
def get_tracks(line: LineDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Your side's tracks, another party's track only while it is in an alert with yours, and every
    live unaffiliated track (``"party": "unaffiliated"``, ``"unaffiliated": true``)."""
    return tactical.visible_tracks(line, actor)


@router.get("/alerts")
def get_alerts(
    line: LineDep,
    actor: ActorDep,
    state: Literal["active", "all"] = "active",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Your alerts (predicted or actual losses of separation involving your aircraft). Each open
    separation or hazard alert carries `guidance`: your own aircraft's conflict-free and conflicting
    ranges, refreshed by every evaluation (null under `guidance: off`, or before the first); a
    warning between two parties' aircraft carries the coordinated `resolution` proposed to you."""
    return tactical.list_alerts(line, actor, active_only=state == "active", limit=limit)


@router.get("/alerts/{alert_id}/guidance")
def get_alert_guidance(alert_id: str, line: LineDep, actor: ActorDep) -> dict[str, Any]:
    """Which manoeuvres of your own aircraft in this alert would conflict with any other aircraft
    over the look-ahead: ranges of track angle (degrees true), ground speed (m/s), vertical speed
    (m/s) and level altitude (m), each flown alone and at once (DAIDALUS's CD3D semantics). Nothing
    about any other aircraft beyond the alert itself. 404 for an alert that is not yours, 409 once
    cleared or without a live track, 403 when the agreement turns guidance off."""
    return guidance.alert_guidance(line, actor, alert_id)
