"""Guidance for one's own aircraft in an alert: which of its manoeuvres would conflict.

Computed by the line over every live aircraft (the parties' and unaffiliated traffic), as the
evaluator sees them now; the party learns ranges of its *own* track, speed, vertical speed and
level, never another aircraft's position or identity beyond the alert it already has
(ARCHITECTURE.md, "Disclosure"). The agreement may turn it off (``guidance: off``).
"""

from __future__ import annotations

from typing import Any

from deconline.core.guidance import guidance_many, ownship
from deconline.core.tactical import extrapolate
from deconline.service.actors import Actor
from deconline.service.alert_guidance import active_hazards, band_rules, view
from deconline.service.errors import Conflict, Forbidden, NotFound
from deconline.service.line import Line
from deconline.service.rules import require_in_force
from deconline.service.tactical import live_tracks, live_unaffiliated, track_columns
from deconline.store.models import Alert


def alert_guidance(line: Line, actor: Actor, alert_id: str) -> dict[str, Any]:
    """The conflict-free and conflicting ranges of the caller's own aircraft in ``alert_id``."""
    party = actor.require_party()
    now = line.clock()
    with line.db.read() as session:
        alert = session.get(Alert, alert_id)
        if alert is None or party not in (alert.a_party, alert.b_party):  # someone else's looks like none
            raise NotFound(f"no alert {alert_id!r} of yours")
        if alert.state == "cleared":
            raise Conflict(f"alert {alert_id} is cleared: there is nothing to keep clear of")
        agreement = require_in_force(session)
        if agreement.guidance == "off":
            raise Forbidden("the agreement in force turns guidance off (guidance: off)")
        own = (alert.a_party, alert.a_track) if alert.a_party == party else (alert.b_party, alert.b_track)
        since = now - agreement.max_track_age_s
        states = live_tracks(session, since)
        everyone = [*states, *live_unaffiliated(session, {s.track_id for s in states}, since)]
        hazards = active_hazards(session)
    s = extrapolate(track_columns(everyone), now, agreement.max_track_age_s)
    keys = [(everyone[int(k)].party_id, everyone[int(k)].track_id) for k in s.index]
    if own not in keys:
        raise Conflict(f"your aircraft {own[1]} has no live track now (none for {agreement.max_track_age_s:g} s)")
    index = keys.index(own)
    rules = band_rules(agreement)
    (found,) = guidance_many(s, [index], rules, hazards, now)
    return {"alert": alert.id, **view(found, ownship(s, index), own[1], now, rules.lookahead_s)}
