"""The periodic review's second half: tactical alerts and the hotline (see ``review``).

Alerts of a party are those of its own aircraft (as ``GET /v1/alerts``); its messages are those
its side sent or received (as ``GET /v1/messages``); comm-check health is every party's (as
``GET /v1/line/health``). The admin and the auditor get counts, distances and timing, per party
at most: no track ids, no message ids, no positions.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from statistics import median
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from deconline.core.alerting import LOS_LEVEL
from deconline.service.geo import iso
from deconline.service.review_scope import Scope, events
from deconline.service.rules import parse_document
from deconline.store.models import (
    Acknowledgement,
    AgreementVersion,
    Alert,
    Hazard,
    Message,
    Operation,
    Party,
    PartyEvent,
)

WORST = (LOS_LEVEL, "inside_hazard")
MAP_SHAPES = 200  # operations and hazards drawn on a party's map, at most
CLOSEST_ROWS = 15  # rows of the closest-approach table
CHUNK = 500  # ids per IN (...) lookup


def _severities(session: Session) -> dict[str, float]:
    """Higher is worse: the agreements' levels by their horizon (a shorter one is more urgent)."""
    ranks: dict[str, float] = {name: math.inf for name in WORST}
    for document in session.scalars(select(AgreementVersion.document)):
        for level in parse_document(document).alert_levels:
            ranks[level.name] = max(ranks.get(level.name, -math.inf), -level.within_s)
    return ranks


def alerts(session: Session, scope: Scope) -> dict[str, Any]:
    """Alerts alive in the period: raised (by kind and worst level), closest approaches, losses of
    separation, and the time aircraft spent outside their operations (nonconformance)."""
    query = select(Alert).where(
        Alert.raised_at <= scope.end, or_(Alert.cleared_at.is_(None), Alert.cleared_at >= scope.start)
    )
    if scope.detailed:
        query = query.where(or_(Alert.a_party == scope.party, Alert.b_party == scope.party))
    rows = list(session.scalars(query.order_by(Alert.raised_at, Alert.id)))
    ranks = _severities(session)
    seen: dict[str, list[str]] = {}
    lost: set[str] = set()
    for _, event in events(session, scope, "alert.%"):
        seen.setdefault(event["alert"], []).append(event["level"])
        if event.get("los") and event.get("alert_kind") == "separation":
            lost.add(event["alert"])
    worst = {a.id: max([a.level, *seen.get(a.id, [])], key=lambda lvl: (ranks.get(lvl, -math.inf), lvl)) for a in rows}
    lost = {a.id for a in rows if a.kind == "separation" and (a.id in lost or worst[a.id] == LOS_LEVEL)}
    raised = [a for a in rows if scope.during(a.raised_at)]
    levels = sorted({worst[a.id] for a in raised}, key=lambda lvl: (ranks.get(lvl, -math.inf), lvl))
    separations = sorted(
        (a for a in rows if a.kind == "separation"), key=lambda a: (a.d_cpa_m, abs(a.dz_cpa_m), a.raised_at, a.id)
    )
    outside: dict[str, float] = {}
    for a in rows:
        if a.kind == "nonconformance":
            span = min(a.cleared_at if a.cleared_at is not None else scope.end, scope.end) - max(
                a.raised_at, scope.start
            )
            outside[a.a_party] = outside.get(a.a_party, 0.0) + max(span, 0.0)
    result: dict[str, Any] = {
        "raised": len(raised),
        "alive": len(rows),
        "by_kind": dict(sorted(Counter(a.kind for a in raised).items())),
        "by_level": dict(sorted(Counter(worst[a.id] for a in raised).items())),
        "levels": levels,
        "series": [{"t": a.raised_at, "kind": a.kind, "level": worst[a.id]} for a in raised],
        "closest": [_encounter(a, scope, worst[a.id]) for a in separations[:CLOSEST_ROWS]],
        "loss_of_separation": len(lost),
        "losses": [_encounter(a, scope, worst[a.id]) for a in rows if a.id in lost],
        "nonconformance_s": round(sum(outside.values()), 1),
        "nonconformance_by_party": {p: round(s, 1) for p, s in sorted(outside.items())},
    }
    if scope.detailed:
        result["positions"] = [p for a in rows if (p := _own_position(a, scope, worst[a.id])) is not None]
    return result


def _encounter(alert: Alert, scope: Scope, level: str) -> dict[str, Any]:
    """One separation alert as a row: a party sees its own track and the intruder's id, the others
    see the two parties."""
    row: dict[str, Any] = {"raised_at": iso(alert.raised_at)}
    row["cleared_at"] = iso(alert.cleared_at) if alert.cleared_at is not None else None
    if scope.detailed:
        mine = alert.a_party == scope.party
        row["own_track"] = alert.a_track if mine else alert.b_track
        row["other_party"], row["other_track"] = (
            (alert.b_party, alert.b_track) if mine else (alert.a_party, alert.a_track)
        )
    else:
        row["parties"] = [alert.a_party, alert.b_party]
    row.update({"level": level, "d_cpa_m": round(alert.d_cpa_m, 1), "dz_cpa_m": round(alert.dz_cpa_m, 1)})
    return row


def _own_position(alert: Alert, scope: Scope, level: str) -> dict[str, Any] | None:
    """Where the party's own aircraft was predicted at the closest approach (never the other's)."""
    lat, lon = (alert.a_lat, alert.a_lon) if alert.a_party == scope.party else (alert.b_lat, alert.b_lon)
    if lat is None or lon is None:
        return None
    return {"lat": round(lat, 5), "lon": round(lon, 5), "kind": alert.kind, "level": level}


def encounter_map(session: Session, scope: Scope, positions: list[dict[str, Any]]) -> dict[str, Any]:
    """A party's map: its own aircraft at its encounters, over its own side's operations and the
    public hazards of the period (nobody else's geometry)."""
    ops = session.scalars(
        select(Operation)
        .where(Operation.party_id.in_(scope.side), Operation.created_at <= scope.end)
        .order_by(Operation.created_at, Operation.id)
        .options(selectinload(Operation.volumes))
    )
    shapes = [
        {"operation": op.id, "footprint": v.footprint, "radius_m": v.radius_m}
        for op in ops
        for v in op.volumes
        if v.start_s <= scope.end and v.end_s >= scope.start
    ][:MAP_SHAPES]
    hazards = session.scalars(
        select(Hazard)
        .where(Hazard.created_at <= scope.end, Hazard.start_s <= scope.end, Hazard.end_s >= scope.start)
        .order_by(Hazard.created_at, Hazard.id)
    )
    public = [{"hazard": h.id, "footprint": h.footprint, "radius_m": h.radius_m} for h in hazards][:MAP_SHAPES]
    return {
        "encounters": sorted(positions, key=lambda p: (p["lat"], p["lon"], p["kind"])),
        "operations": shapes,
        "hazards": public,
    }


def hotline(session: Session, scope: Scope) -> dict[str, Any]:
    """Messages by kind, acknowledgement delays against their deadlines, overdue messages,
    escalations and comm-check health per party."""
    sent = list(
        session.scalars(
            select(Message)
            .where(Message.created_at.between(scope.start, scope.end))
            .order_by(Message.created_at, Message.id)
        )
    )
    checks = [m for m in sent if m.kind == "comm_check"]
    acks: dict[str, dict[str, float]] = {}
    answers: dict[str, str] = {}  # a resolution's answer, by message
    for message_id, party, at, answer in session.execute(
        select(Acknowledgement.message_id, Acknowledgement.party_id, Acknowledgement.at, Acknowledgement.answer)
        .join(Message, Message.id == Acknowledgement.message_id)
        .where(Message.created_at.between(scope.start, scope.end))
    ):
        acks.setdefault(message_id, {})[party] = at
        if answer is not None:
            answers[message_id] = answer
    health = _health(session, scope, checks, acks)
    if scope.detailed:
        sent = [m for m in sent if m.sender in scope.side or scope.side & set(m.recipients)]
    delays: list[dict[str, Any]] = sorted(
        (
            {
                "kind": m.kind,
                "deadline_s": round(m.deadline_s - m.created_at, 1),
                "delay_s": round(at - m.created_at, 1),
            }
            for m in sent
            if m.deadline_s is not None
            for at in acks.get(m.id, {}).values()
        ),
        key=lambda d: (d["kind"], d["deadline_s"], d["delay_s"]),
    )
    unanswered = sum(
        1
        for m in sent
        if m.requires_ack and m.deadline_s is not None and m.deadline_s <= scope.end
        for p in m.recipients
        if p not in acks.get(m.id, {})
    )
    result: dict[str, Any] = {
        "messages": len(sent),
        "by_kind": dict(sorted(Counter(m.kind for m in sent).items())),
        "by_sender": dict(sorted(Counter(m.sender for m in sent).items())),
        "acknowledgements": len(delays),
        "late_acknowledgements": sum(1 for d in delays if d["delay_s"] > d["deadline_s"]),
        "never_acknowledged": unanswered,
        "resolutions": _resolutions([m for m in sent if m.kind == "resolution"], answers),
        "delays": delays,
        "comm_checks": health,
    }
    result.update(_overdue(session, scope, events(session, scope, "message.overdue")))
    return result


def _resolutions(proposed: list[Message], answers: dict[str, str]) -> dict[str, int]:
    """Coordinated resolutions proposed (one message per side) and how each side answered."""
    told = Counter(answers.get(m.id, "unanswered") for m in proposed)
    return {"proposed": len(proposed), **{k: told.get(k, 0) for k in ("accepted", "rejected", "unanswered")}}


def _overdue(session: Session, scope: Scope, overdue: list[tuple[float, dict[str, Any]]]) -> dict[str, Any]:
    """Messages that went overdue in the period, and the escalations they caused (a party: the
    escalations sent to it, as on its event stream)."""
    query = select(PartyEvent.party_id, PartyEvent.data, PartyEvent.created_at).where(
        PartyEvent.type == "escalation", PartyEvent.created_at.between(scope.start, scope.end)
    )
    if scope.detailed:
        query = query.where(PartyEvent.party_id == scope.party)
    escalations = [(party, json.loads(data), at) for party, data, at in session.execute(query.order_by(PartyEvent.id))]
    silent = Counter(p for _, event in overdue for p in event.get("silent", []))
    result: dict[str, Any] = {
        "overdue": len(overdue),
        "overdue_silent": dict(sorted(silent.items())),
        "escalations": len(escalations),
        "escalations_by_contact": dict(sorted(Counter(p for p, _, _ in escalations).items())),
    }
    if scope.detailed:
        wanted = sorted({e["message"] for _, e in overdue})
        kinds: dict[str, tuple[str, str]] = {}
        for k in range(0, len(wanted), CHUNK):
            chunk = select(Message.id, Message.kind, Message.sender).where(Message.id.in_(wanted[k : k + CHUNK]))
            kinds.update({mid: (kind, sender) for mid, kind, sender in session.execute(chunk)})
        result["overdue_items"] = [
            {
                "message": e["message"],
                "kind": kinds.get(e["message"], ("", ""))[0],
                "sender": kinds.get(e["message"], ("", ""))[1],
                "silent": sorted(e.get("silent", [])),
                "at": iso(t),
            }
            for t, e in overdue
        ]
        result["escalation_items"] = [
            {"message": e.get("message"), "silent": e.get("silent"), "at": iso(at)} for _, e, at in escalations
        ]
    return result


def _health(
    session: Session, scope: Scope, checks: list[Message], acks: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """Per party, the comm checks of the period: answered, answered in time, delays, missed (no
    answer by the deadline, once the deadline has passed within the period)."""
    result = []
    for party in sorted(session.scalars(select(Party.id))):
        mine = [c for c in checks if party in c.recipients]
        delays = sorted(acks[c.id][party] - c.created_at for c in mine if party in acks.get(c.id, {}))
        in_time = sum(
            1
            for c in mine
            if party in acks.get(c.id, {}) and (c.deadline_s is None or acks[c.id][party] <= c.deadline_s)
        )
        missed = sum(
            1
            for c in mine
            if c.deadline_s is not None
            and c.deadline_s <= scope.end
            and not (party in acks.get(c.id, {}) and acks[c.id][party] <= c.deadline_s)
        )
        result.append(
            {
                "party": party,
                "checks": len(mine),
                "answered": len(delays),
                "in_time": in_time,
                "missed": missed,
                "median_delay_s": round(median(delays), 1) if delays else None,
                "worst_delay_s": round(delays[-1], 1) if delays else None,
            }
        )
    return result
