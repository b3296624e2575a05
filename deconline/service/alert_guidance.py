"""Guidance in every open separation and hazard alert, refreshed by each evaluation.

Each side's aircraft gets the ranges of its own track, speed, vertical speed and level that keep
clear of every other live aircraft and every active hazard (``core.guidance``), stored on the alert
for that side alone and shown to it alone (ARCHITECTURE.md, "Disclosure"). A live ``guidance``
event tells the side when its ranges change, at most once every ``EVENT_INTERVAL_S`` per alert: the
ranges move by a step most seconds of an encounter, and a stream of them would bury the alerts.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconline.core.agreement import UNAFFILIATED, Agreement
from deconline.core.guidance import BandRules, Bands, Ownship, Range, guidance_many, ownship
from deconline.core.tactical import Extrapolated
from deconline.core.volumes import Volume
from deconline.service.geo import iso, volume_from_row
from deconline.service.line import Line
from deconline.store.models import OPEN_ALERT_STATES, Alert, Hazard

EVENT_INTERVAL_S = 5.0
KINDS = ("separation", "hazard")


def _ranges(ranges: list[Range], digits: int) -> list[dict[str, Any]]:
    return [
        {"from": round(r.lo, digits), "to": round(r.hi, digits), "conflict": r.conflict, "recovery": r.recovery}
        for r in ranges
    ]


def view(found: Bands, own: Ownship, own_track: str, now: float, lookahead_s: float) -> dict[str, Any]:
    """The JSON form of one aircraft's guidance (what its own side is shown)."""
    return {
        "own_track": own_track,
        "time": iso(now),
        "lookahead_s": lookahead_s,
        "own": {
            "track_deg": round(own.track_deg, 2),
            "gs_mps": round(own.gs_mps, 2),
            "vs_mps": round(own.vz_mps, 3),
            "alt_m": round(own.alt_m, 1),
        },
        "track_deg": _ranges(found.track_deg, 2),
        "gs_mps": _ranges(found.gs_mps, 2),
        "vs_mps": _ranges(found.vs_mps, 3),
        "alt_m": _ranges(found.alt_m, 1),
    }


def band_rules(agreement: Agreement) -> BandRules:
    t = agreement.tactical
    return BandRules(t.h_m, t.v_m, t.lookahead_s)


def active_hazards(session: Session) -> list[Volume]:
    return [volume_from_row(h) for h in session.scalars(select(Hazard).where(Hazard.state == "active"))]


def _changed(line: Line, key: tuple[str, str], shown: dict[str, Any], now: float) -> bool:
    """Whether ``key``'s side should be told: its ranges changed and it was not told just now."""
    ranges = json.dumps({k: v for k, v in shown.items() if k not in ("time", "own")}, sort_keys=True)
    last = line.guidance_told.get(key)
    if last is not None and (last[1] == ranges or now - last[0] < EVENT_INTERVAL_S):
        return False
    line.guidance_told[key] = (now, ranges)
    return True


def refresh(
    line: Line,
    session: Session,
    agreement: Agreement,
    s: Extrapolated,
    where: dict[tuple[str, str], int],
    now: float,
) -> int:
    """Compute and store each open alert's guidance for its parties' aircraft; returns how many
    aircraft it was computed for."""
    alerts = list(session.scalars(select(Alert).where(Alert.state.in_(OPEN_ALERT_STATES), Alert.kind.in_(KINDS))))
    open_ids = {a.id for a in alerts}
    line.guidance_told = {k: v for k, v in line.guidance_told.items() if k[0] in open_ids}
    if agreement.guidance == "off" or not alerts:
        return 0
    sides: list[tuple[Alert, str, str, str]] = []
    for alert in alerts:
        sides.append((alert, "a", alert.a_party, alert.a_track))
        if alert.kind == "separation" and alert.b_party != UNAFFILIATED:
            sides.append((alert, "b", alert.b_party, alert.b_track))
    owns = sorted({where[(p, t)] for _, _, p, t in sides if (p, t) in where})
    rules = band_rules(agreement)
    found = dict(zip(owns, guidance_many(s, owns, rules, active_hazards(session), now), strict=True))
    for alert, side, party, track in sides:
        index = where.get((party, track))
        shown = None if index is None else view(found[index], ownship(s, index), track, now, rules.lookahead_s)
        setattr(alert, f"{side}_guidance", shown)
        if shown is not None and _changed(line, (alert.id, party), shown, now):
            line.emit(session, party, {"type": "guidance", "alert": alert.id, "guidance": shown})
    return len(owns)


def own_guidance(alert: Alert, viewer: str) -> dict[str, Any] | None:
    """The viewer's side's stored guidance (never the other side's)."""
    if alert.state == "cleared" or alert.kind not in KINDS:
        return None
    return alert.a_guidance if alert.a_party == viewer else alert.b_guidance
