"""Live tracks and alerts: ingest a party's reports, evaluate the picture, keep alert lifecycles.

The evaluation reads the latest states from the database (so any process may ingest), runs the
pure engine, and updates alerts under the ``tactical`` counter lock, so two processes evaluating
at once never raise the same alert twice. Events go out after the commit, each to the two
parties involved only.

Unaffiliated traffic (aircraft of no party, posted by a surveillance provider the agreement names)
is kept apart, keyed by track id alone; it is evaluated against every party's aircraft, never
against itself, and an alert with it goes to the party whose aircraft is involved only.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Sequence
from dataclasses import replace
from operator import itemgetter
from typing import Any, NamedTuple, cast

import numpy as np
from sqlalchemy import Connection, Float, Integer, Table, bindparam, literal, null, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session, selectinload

from deconline.core.agreement import UNAFFILIATED, Agreement
from deconline.core.alerting import LOS_LEVEL, AlertingRules, Memory, advance, raw_level
from deconline.core.areas import hazard_entries, outside_all
from deconline.core.tactical import UNAFFILIATED_OWNER, TacticalRules, Thresholds, Tracks, detect, extrapolate, rows
from deconline.core.volumes import Volume
from deconline.record.canonical import canonical_json
from deconline.service import resolutions
from deconline.service.actors import Actor, own_side
from deconline.service.alert_guidance import own_guidance, refresh
from deconline.service.errors import Forbidden, Invalid
from deconline.service.geo import iso, volume_from_row
from deconline.service.hotline import safety_alerts
from deconline.service.line import TACTICAL_COUNTER, Line
from deconline.service.record import SERVICE_AUTHOR
from deconline.service.rules import in_force
from deconline.service.statements import Signed
from deconline.store.models import OPEN_ALERT_STATES, Alert, Counter, Hazard, Operation, TrackState, UnaffiliatedTrack

Key = tuple[str, str, str, str, str]  # kind, a_party, a_track, b_party, b_track
Found = tuple[float, float, float, float, bool]  # t_los (or entry), t_cpa, d_cpa, dz_cpa, los (or inside)
FUTURE_TOLERANCE_S = 30.0


class LiveState(NamedTuple):
    """One aircraft's latest state as the evaluator reads it: plain columns, no ORM object (at
    10,000 aircraft a second, building those cost more than the detection)."""

    party_id: str  # ``unaffiliated`` for aircraft of no party
    track_id: str
    lat: float
    lon: float
    alt_m: float
    gs_mps: float
    track_deg: float
    vrate_mps: float
    time_s: float
    selected_alt_m: float | None  # the selected altitude (intent), if the report said it


State = TrackState | UnaffiliatedTrack | LiveState  # all name their owner as ``party_id``
_KINEMATICS = ("lat", "lon", "alt_m", "gs_mps", "track_deg", "vrate_mps", "time_s")
_LIVE_TRACKS = select(
    TrackState.party_id,
    TrackState.track_id,
    *(getattr(TrackState, name) for name in _KINEMATICS),
    TrackState.selected_alt_m,
).where(TrackState.time_s >= bindparam("since"))
_LIVE_UNAFFILIATED = select(
    literal(UNAFFILIATED).label("party_id"),
    UnaffiliatedTrack.track_id,
    *(getattr(UnaffiliatedTrack, name) for name in _KINEMATICS),
    UnaffiliatedTrack.selected_alt_m,
).where(UnaffiliatedTrack.time_s >= bindparam("since"))


class Report(NamedTuple):
    """One position report as posted (a tuple: 5,000 of them are made per batch). The fields after
    ``time_s`` are optional: ``None`` when the report does not say (a velocity age of 0 is as fresh)."""

    track_id: str
    lat: float
    lon: float
    alt_m: float
    gs_mps: float
    track_deg: float
    vrate_mps: float
    time_s: float
    selected_alt_m: float | None = None
    callsign: str | None = None
    nac_p: int | None = None
    velocity_age_s: float | None = None


_OPTIONAL = ("selected_alt_m", "callsign", "nac_p", "velocity_age_s")  # Report's optional fields = their columns


_TRACK_ID, _TIME, _OPTIONAL_FIELDS = itemgetter(0), itemgetter(7), itemgetter(8, 9, 10, 11)
_NOTHING_SAID = (None, None, None, None)  # what a report that says none of them holds


def _newest(reports: Sequence[Report]) -> Sequence[Report]:
    """The newest report of each track (a feed's batch names each once: then all of them)."""
    if len(set(map(_TRACK_ID, reports))) == len(reports):
        return reports
    newest: dict[str, Report] = {}
    for r in reports:
        if r.track_id not in newest or r.time_s > newest[r.track_id].time_s:
            newest[r.track_id] = r
    return list(newest.values())


def _said(r: Report) -> dict[str, Any]:
    """The optional fields a report gave: only these are recorded, so a batch that gives none is
    recorded (and digested) exactly as before they existed."""
    said = {name: value for name, value in zip(_OPTIONAL, r[8:], strict=True) if value is not None}
    if said.get("velocity_age_s") == 0:
        del said["velocity_age_s"]  # as fresh as the position: as if not said
    return said


def ingest(
    line: Line, actor: Actor, reports: Sequence[Report], unaffiliated: bool = False, signed: Signed | None = None
) -> int:
    """Store the newest state of each reported track (older reports never overwrite newer ones).

    ``unaffiliated``: aircraft of no party, which only a surveillance provider named in the
    agreement in force may post. They are stored by track id alone, the newest report winning
    whichever provider sent it, and the flag is part of the recorded digest (a batch without it
    is recorded exactly as before).
    """
    party_id = actor.require_party()
    now = line.clock()
    if reports and max(map(_TIME, reports)) > now + FUTURE_TOLERANCE_S:  # one pass in C; the loop names it
        for k, r in enumerate(reports):
            if r.time_s > now + FUTURE_TOLERANCE_S:
                raise Invalid(["body", "tracks", k, "time"], f"time {iso(r.time_s)} is in the future (now {iso(now)})")
    ordered = sorted(_newest(reports), key=_TRACK_ID)  # one lock order: no deadlock between batches
    rows = [
        {
            "party_id": party_id,
            "track_id": r.track_id,
            "lat": r.lat,
            "lon": r.lon,
            "alt_m": r.alt_m,
            "gs_mps": r.gs_mps,
            "track_deg": r.track_deg,
            "vrate_mps": r.vrate_mps,
            "time_s": r.time_s,
            "received_at": now,
        }
        for r in ordered
    ]
    # does any report say an optional field (else the narrower, faster statements do)
    said = False
    if set(map(_OPTIONAL_FIELDS, ordered)) != {_NOTHING_SAID}:
        for r, row in zip(ordered, rows, strict=True):
            if r.selected_alt_m is not None or r.callsign is not None or r.nac_p is not None or r.velocity_age_s:
                row.update(_said(r))
                said = True
    if unaffiliated:
        stored = [{"provider_id": r["party_id"], **{k: v for k, v in r.items() if k != "party_id"}} for r in rows]
    else:
        stored = rows
    recorded = [{**r, "unaffiliated": True} for r in rows] if unaffiliated else rows
    digest = hashlib.sha256(canonical_json(recorded)).hexdigest()
    event: dict[str, Any] = {"reports": len(reports), "tracks": len(rows), "digest": digest}
    if unaffiliated:
        event["unaffiliated"] = True
    with line.db.write() as session:
        if unaffiliated:
            _require_provider(session, party_id)
        connection = session.connection()
        if line.db.is_sqlite:
            sql, order = _sqlite_upsert(connection, unaffiliated, said)
            connection.exec_driver_sql(sql, _parameters(stored, order, said))
        else:
            _copy_upsert(connection, unaffiliated, stored, said)
        line.append(session, party_id, "tracks.batch", event, [party_id], signed, embed=False)
    return len(rows)


def _track_table(unaffiliated: bool) -> tuple[Table, list[str]]:
    """Where a batch goes, and the columns that name one track there."""
    if unaffiliated:
        return cast(Table, UnaffiliatedTrack.__table__), ["track_id"]
    return cast(Table, TrackState.__table__), ["party_id", "track_id"]


def _columns(table: Table, said: bool) -> list[str]:
    """The columns a batch writes: all, or (when no report says an optional field) all but those,
    which the upsert then sets to NULL: the newest report is the whole state."""
    return [column.name for column in table.columns if said or column.name not in _OPTIONAL]


def _parameters(rows: list[dict[str, Any]], columns: Sequence[str], said: bool) -> list[tuple[Any, ...]]:
    """The rows' values in column order; a row leaves out the optional fields its report did not say."""
    if said:
        return [tuple(map(row.get, columns)) for row in rows]
    return list(map(itemgetter(*columns), rows))


def _copy_upsert(connection: Connection, unaffiliated: bool, rows: list[dict[str, Any]], said: bool) -> None:
    """On PostgreSQL: COPY the batch into this connection's temporary table (emptied at each
    commit; made again if the transaction that made it rolled back), then one upsert from it in
    track order: 5,000 reports cost the service ~2 ms of CPU to send, against ~45 ms as
    executemany."""
    if not rows:
        return
    stored_in, identity = _track_table(unaffiliated)
    table = stored_in.name
    columns = _columns(stored_in, said)
    every = [column.name for column in stored_in.columns]
    updates = ", ".join(f"{c} = EXCLUDED.{c}" if c in columns else f"{c} = NULL" for c in every if c not in identity)
    with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS batch_{table} (LIKE {table}) ON COMMIT DELETE ROWS")
        with cursor.copy(f"COPY batch_{table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_COPY_TYPES.get(type(stored_in.c[c].type), "text") for c in columns])  # formatted in C
            for row in _parameters(rows, columns, said):
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM batch_{table} "
            f"ORDER BY track_id ON CONFLICT ({', '.join(identity)}) DO UPDATE SET {updates} "
            f"WHERE {table}.time_s < EXCLUDED.time_s"
        )


_COPY_TYPES: dict[type, str] = {Float: "float8", Integer: "int4"}  # binary COPY: the column's own type
_SQLITE_UPSERTS: dict[tuple[bool, bool], tuple[str, tuple[str, ...]]] = {}


def _sqlite_upsert(connection: Connection, unaffiliated: bool, said: bool) -> tuple[str, tuple[str, ...]]:
    """On SQLite: the statement that stores a report unless a newer one is there, compiled once to
    the driver's SQL, and the order of its parameters. A batch goes straight to the driver's
    executemany (SQLAlchemy's work per row cost more than the database's). A batch that says no
    optional field binds none (four NULLs bound per row cost 5,000 reports ~5 ms)."""
    if (unaffiliated, said) not in _SQLITE_UPSERTS:
        table, identity = _track_table(unaffiliated)
        columns = _columns(table, said)
        statement = sqlite.insert(table).values({name: bindparam(name) for name in columns})
        statement = statement.on_conflict_do_update(
            index_elements=identity,
            set_={
                column.name: statement.excluded[column.name] if column.name in columns else null()
                for column in table.columns
                if column.name not in identity
            },
            where=table.c.time_s < statement.excluded.time_s,
        )
        compiled = statement.compile(dialect=connection.dialect)
        _SQLITE_UPSERTS[unaffiliated, said] = (str(compiled), tuple(compiled.positiontup or ()))
    return _SQLITE_UPSERTS[unaffiliated, said]


def _require_provider(session: Session, party_id: str) -> None:
    agreement = in_force(session)
    providers = agreement.surveillance_providers if agreement is not None else []
    if party_id not in providers:
        raise Forbidden(
            "only a surveillance provider named in the agreement in force (surveillance_providers: "
            f"{', '.join(providers) or 'none'}) may post unaffiliated traffic; '{party_id}' is not one"
        )


def live_tracks(session: Session, since: float) -> list[LiveState]:
    """Every party's aircraft reported since ``since``."""
    rows = session.connection().execute(_LIVE_TRACKS, {"since": since}).all()  # one fetch, not one a row
    return list(map(LiveState._make, rows))


def live_unaffiliated(session: Session, party_track_ids: set[str], since: float) -> list[LiveState]:
    """Live unaffiliated tracks, less echoes: a receiver also hears the parties' own aircraft, and
    one whose id (ignoring case, as feeds differ) is a live track of any party is that aircraft,
    which must never be alerted against itself nor shown twice."""
    own = {track_id.casefold() for track_id in party_track_ids}
    rows = session.connection().execute(_LIVE_UNAFFILIATED, {"since": since}).all()
    return [LiveState._make(u) for u in rows if u.track_id.casefold() not in own]


def _rules(agreement: Agreement) -> TacticalRules:
    t = agreement.tactical
    return TacticalRules(t.h_m, t.v_m, t.lookahead_s, agreement.max_track_age_s, t.check_same_owner)


def _pair_key(pa: str, ta: str, pb: str, tb: str) -> tuple[str, str, str, str]:
    """One key per pair whichever way it is found; unaffiliated traffic always on the ``b`` side."""
    if pa == UNAFFILIATED or (pb != UNAFFILIATED and (pb, tb) < (pa, ta)):
        return (pb, tb, pa, ta)
    return (pa, ta, pb, tb)


def evaluate(line: Line, now: float | None = None) -> list[Alert]:
    """One cycle: detect, then raise, update and clear alerts; returns the alerts that changed."""
    now = line.clock() if now is None else now
    if not line.alerting and not _anything_to_evaluate(line, now):  # pending confirmations must age too
        return []
    with line.db.write() as session:
        session.execute(update(Counter).where(Counter.name == TACTICAL_COUNTER).values(value=Counter.value + 1))
        agreement = in_force(session)
        if agreement is None:
            return []
        alerting = agreement.alerting_rules
        rules = alerting.engine_rules(_rules(agreement))
        since = now - rules.max_track_age_s
        states = live_tracks(session, since)
        everyone = [*states, *live_unaffiliated(session, {s.track_id for s in states}, since)]
        tracks = track_columns(everyone)  # the parties' aircraft first: their columns are a prefix
        found, t_in = _detect(everyone, tracks, now, rules, alerting.thresholds())
        areas, outside = _areas(session, states, rows(tracks, slice(len(states))), now, rules)
        found.update(areas)
        active = {
            (a.kind, a.a_party, a.a_track, a.b_party, a.b_track): a
            for a in session.scalars(select(Alert).where(Alert.state.in_(OPEN_ALERT_STATES)))
        }
        shown = _confirm(line, active, alerting, found, t_in, now)
        changed = _apply(session, active, shown, outside, now)
        by_key = {(s.party_id, s.track_id): s for s in everyone} if changed else {}
        for alert in changed:
            if alert.state != "cleared":
                _place(alert, by_key, now)
            sides = [(alert.a_party, (alert.b_party, alert.b_track))]
            if alert.kind == "separation":
                sides.append((alert.b_party, (alert.a_party, alert.a_track)))
            told = [(party, other) for party, other in sides if party != UNAFFILIATED]  # nobody to tell there
            line.append(session, SERVICE_AUTHOR, f"alert.{alert.state}", _alert_event(alert), [p for p, _ in told])
            for party, other in told:
                view = alert_view(alert, party, by_key.get(other), own_guidance(alert, party))
                line.emit(session, party, {"type": "alert", "alert": view})
        guided = agreement.guidance != "off" and any(key[0] != "nonconformance" for key in shown)
        if guided and not changed:  # nothing to push: nobody waits for this commit, guide in it
            _guide(line, session, agreement, everyone, tracks, [], now)
    safety_alerts(line, changed)
    if guided and changed:  # after the alerts and their safety messages are pushed: never delays one
        with line.db.write() as session:
            _guide(line, session, agreement, everyone, tracks, changed, now)
    elif not guided:
        line.guidance_told.clear()
    return changed


def _guide(
    line: Line,
    session: Session,
    agreement: Agreement,
    everyone: list[LiveState],
    tracks: Tracks,
    changed: list[Alert],
    now: float,
) -> None:
    """Refresh each open alert's guidance, and propose a coordinated resolution for each new
    warning between two parties (``changed``: the alerts this evaluation raised or changed)."""
    if not everyone:
        return
    s = extrapolate(tracks, now, agreement.max_track_age_s)
    where = {(everyone[int(k)].party_id, everyone[int(k)].track_id): n for n, k in enumerate(s.index)}
    refresh(line, session, agreement, s, where, now)
    resolutions.propose(line, session, agreement, changed, s, where, now)  # reads the (detached) alerts


def _place(alert: Alert, by_key: dict[tuple[str, str], LiveState], now: float) -> None:
    """Where each side's aircraft is predicted at the closest approach, for its owner's review map
    (a hazard alert has an aircraft on the ``a`` side only; a nonconformance is placed at the first
    aircraft it lists)."""
    own = alert.aircraft[0] if alert.aircraft else alert.a_track
    for side, key in (("a", (alert.a_party, own)), ("b", (alert.b_party, alert.b_track))):
        state = by_key.get(key)
        if state is None:
            continue
        ahead = extrapolate(track_columns([state]), now + max(alert.t_cpa, 0.0), math.inf)
        lat, lon = math.degrees(float(ahead.lat[0])), (math.degrees(float(ahead.lon[0])) + 180.0) % 360.0 - 180.0
        if side == "a":
            alert.a_lat, alert.a_lon = lat, lon
        else:
            alert.b_lat, alert.b_lon = lat, lon


def _anything_to_evaluate(line: Line, now: float) -> bool:
    """No recent track and no open alert: nothing can be raised or cleared, so take no write lock."""
    with line.db.read() as session:
        agreement = in_force(session)
        if agreement is None:
            return False
        recent = select(TrackState.track_id).where(TrackState.time_s >= now - agreement.max_track_age_s).limit(1)
        open_alert = select(Alert.id).where(Alert.state.in_(OPEN_ALERT_STATES)).limit(1)
        return session.scalar(recent) is not None or session.scalar(open_alert) is not None


def track_columns(states: Sequence[LiveState]) -> Tracks:
    """The engine's columns, read off the states' tuples at once (not one attribute at a time)."""
    if not states:
        empty = np.empty(0, dtype=np.float64)
        return Tracks(empty, empty, empty, empty, empty, empty, empty, np.empty(0, dtype=np.int64))
    party, _, lat, lon, alt_m, gs_mps, track_deg, vrate_mps, time_s, selected = zip(*states, strict=True)
    codes: dict[str, int] = {}
    owner = np.fromiter(
        (UNAFFILIATED_OWNER if p == UNAFFILIATED else codes.setdefault(p, len(codes)) for p in party),
        dtype=np.int64,
        count=len(party),
    )

    def column(values: tuple[float, ...]) -> np.ndarray:
        return np.array(values, dtype=np.float64)

    # Selected altitudes (NaN where a report gave none) cap a climb or descent; none at all: no column.
    intent = None if all(v is None for v in selected) else np.array(selected, dtype=np.float64)
    return Tracks(
        column(lat), column(lon), column(alt_m), column(gs_mps), column(track_deg), column(vrate_mps),
        column(time_s), owner, intent,
    )  # fmt: skip


def _areas(
    session: Session, states: list[LiveState], tracks: Tracks, now: float, rules: TacticalRules
) -> tuple[dict[Key, Found], dict[str, list[str]]]:
    """Predicted hazard entries of the parties' aircraft (``tracks``: their columns), keyed like
    separation alerts, and one nonconformance per party with aircraft outside all its operations
    (keyed by the party alone), with those aircraft."""
    if not states:
        return {}, {}
    s = extrapolate(tracks, now, rules.max_track_age_s)
    live = [states[int(k)] for k in s.index]
    found: dict[Key, Found] = {}
    hazards = list(session.scalars(select(Hazard).where(Hazard.state == "active")))
    volumes = [volume_from_row(h) for h in hazards]
    for entry in hazard_entries(s, volumes, now, rules.lookahead_s):
        state = live[entry.track]
        found[("hazard", state.party_id, state.track_id, "", hazards[entry.volume].id)] = (
            entry.t_entry,
            entry.t_entry,
            0.0,
            0.0,
            entry.t_entry == 0.0,
        )
    owned: dict[str, list[Volume]] = {}
    for op in session.scalars(
        select(Operation).where(Operation.state == "active").options(selectinload(Operation.volumes))
    ):
        owned.setdefault(op.party_id, []).extend(volume_from_row(v) for v in op.volumes)
    # Only parties that fly under filed operations are held to them; a feed of others' traffic is not.
    flying = [k for k, state in enumerate(live) if state.party_id in owned]
    outside: dict[str, list[str]] = {}
    for k in outside_all(rows(s, np.array(flying, dtype=np.int64)), [owned[live[k].party_id] for k in flying], now):
        state = live[flying[k]]
        outside.setdefault(state.party_id, []).append(state.track_id)
    for party, aircraft in outside.items():
        aircraft.sort()
        found[("nonconformance", party, "", "", "")] = (0.0, 0.0, 0.0, 0.0, True)
    return found, outside


def _detect(
    states: list[LiveState], tracks: Tracks, now: float, rules: TacticalRules, levels: tuple[Thresholds, ...]
) -> tuple[dict[Key, Found], dict[Key, list[float]]]:
    """Pairs within some level's horizon: their geometry, and when each level's thresholds are
    first violated."""
    if len(states) < 2:
        return {}, {}
    result = detect(tracks, now, rules, levels)
    found: dict[Key, Found] = {}
    t_in: dict[Key, list[float]] = {}
    for k in range(len(result)):
        a, b = states[int(result.a[k])], states[int(result.b[k])]
        key: Key = ("separation", *_pair_key(a.party_id, a.track_id, b.party_id, b.track_id))
        t_in[key] = result.t_in[k].tolist()
        t_los = float(result.t_los[k])
        found[key] = (
            t_los if math.isfinite(t_los) else min(t_in[key]),  # a level wider than the minima: when it is entered
            float(result.t_cpa[k]),
            float(result.d_cpa_m[k]),
            float(result.dz_cpa_m[k]),
            bool(result.los[k]),
        )
    return found, t_in


Shown = dict[Key, tuple[str, Found | None]]  # what each open alert shows: its level, and its geometry now if any


def _confirm(
    line: Line,
    active: dict[Key, Alert],
    alerting: AlertingRules,
    found: dict[Key, Found],
    t_in: dict[Key, list[float]],
    now: float,
) -> Shown:
    """The alerts to show after this evaluation: separation and hazard predictions go through the
    confirmation state machine (``core.alerting``, as ``replay`` does); a nonconformance is a fact
    and shows at once."""
    top = len(alerting.levels)
    memories = _remembered(line, active, alerting, now)
    raw: dict[Key, int] = {}
    for key, (t_los, _, _, _, los) in found.items():
        if key[0] == "nonconformance":
            continue
        shown = memories[key].level if key in memories else 0
        times = t_in[key] if key[0] == "separation" else [t_los] * top  # a hazard's entry time, for every level
        raw[key] = top if los else raw_level(times, alerting.levels, shown)
    line.alerting = memories = advance(memories, raw, now, alerting.confirmation)
    out: Shown = {key: ("nonconformance", f) for key, f in found.items() if key[0] == "nonconformance"}
    for key, memory in memories.items():
        if memory.level:
            geometry = found.get(key)
            los = geometry is not None and geometry[4]
            if key[0] == "hazard":
                out[key] = ("inside_hazard" if los else alerting.levels[memory.level - 1].name, geometry)
            else:
                out[key] = (alerting.name(memory.level, los) or "", geometry)
    return out


def _remembered(line: Line, active: dict[Key, Alert], alerting: AlertingRules, now: float) -> dict[Key, Memory]:
    """The state machine's memory; an open alert this process has no memory of (it was raised
    before a restart or under another leader) is taken up at its level."""
    names = {level.name: k for k, level in enumerate(alerting.levels, 1)}
    top, n = len(alerting.levels), alerting.confirmation.n
    memories: dict[Key, Memory] = line.alerting
    if any(m.level > top or max(m.recent, default=0) > top for m in memories.values()):  # fewer levels now
        memories = {key: _at_most(m, top) for key, m in memories.items()}
    for key, alert in active.items():
        if alert.kind != "nonconformance" and key not in memories:
            level = names.get(alert.level, top if alert.level in (LOS_LEVEL, "inside_hazard") else 1)
            memories[key] = Memory((level,) * n, level, alert.raised_at, math.inf, min(alert.updated_at, now))
    return memories


def _at_most(memory: Memory, top: int) -> Memory:
    """A memory under an agreement with fewer levels than the one it was made under."""
    return replace(memory, recent=tuple(min(r, top) for r in memory.recent), level=min(memory.level, top))


def _apply(
    session: Session, active: dict[Key, Alert], shown: Shown, outside: dict[str, list[str]], now: float
) -> list[Alert]:
    """Raise, update and clear; ``active`` (the open alerts) is used up: what is left of it is
    cleared. A nonconformance is updated when its aircraft change."""
    changed = []
    for key, (level, geometry) in shown.items():
        aircraft = outside.get(key[1]) if key[0] == "nonconformance" else None
        alert = active.pop(key, None)
        if alert is None:
            kind, a_party, a_track, b_party, b_track = key
            alert = Alert(
                id=f"al_{secrets.token_hex(8)}",
                kind=kind,
                a_party=a_party,
                a_track=a_track,
                b_party=b_party,
                b_track=b_track,
                state="raised",
                level=level,
                raised_at=now,
                cleared_at=None,
                aircraft=aircraft,
            )
            session.add(alert)
            changed.append(alert)
        elif alert.level != level or alert.aircraft != aircraft:
            alert.state = "updated"
            changed.append(alert)
        alert.level, alert.aircraft = level, aircraft
        if geometry is not None:
            alert.t_los, alert.t_cpa, alert.d_cpa_m, alert.dz_cpa_m, alert.los = geometry
        elif alert.t_los is None:  # cannot happen (a raise needs a prediction now), but never store nothing
            alert.t_los, alert.t_cpa, alert.d_cpa_m, alert.dz_cpa_m, alert.los = 0.0, 0.0, 0.0, 0.0, False
        else:
            alert.los = False
        alert.updated_at = now
    for alert in active.values():
        alert.state, alert.cleared_at, alert.updated_at = "cleared", now, now
        changed.append(alert)
    session.flush()
    return changed


def _alert_event(alert: Alert) -> dict[str, Any]:
    entry = {
        "alert": alert.id,
        "alert_kind": alert.kind,
        "level": alert.level,
        "a": [alert.a_party, alert.a_track],
        "b": [alert.b_party, alert.b_track],
        "t_los": alert.t_los,
        "los": alert.los,
    }
    if alert.aircraft is not None:
        entry["aircraft"] = alert.aircraft
    return entry


def _state_view(state: State) -> dict[str, Any]:
    return {
        "lat": state.lat,
        "lon": state.lon,
        "alt_m": state.alt_m,
        "gs_mps": state.gs_mps,
        "track_deg": state.track_deg,
        "vrate_mps": state.vrate_mps,
        "time": iso(state.time_s),
    }


def alert_view(
    alert: Alert,
    viewer: str,
    intruder_state: State | None,
    guidance: dict[str, Any] | None = None,
    resolution: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What ``viewer`` sees: its own track, the intruder's id, and the intruder's state only while
    active; its own aircraft's guidance and the resolution proposed to it, if any."""
    mine_first = alert.a_party == viewer
    own_track = alert.a_track if mine_first else alert.b_track
    view: dict[str, Any] = {"id": alert.id, "kind": alert.kind, "state": alert.state, "level": alert.level}
    view["own_track"] = own_track
    if alert.kind == "separation":
        other_party, other_track = (alert.b_party, alert.b_track) if mine_first else (alert.a_party, alert.a_track)
        intruder: dict[str, Any] = {"party": other_party, "track": other_track}
        if alert.state != "cleared" and intruder_state is not None:
            intruder["state"] = _state_view(intruder_state)
        view["intruder"] = intruder
    elif alert.kind == "hazard":
        view["hazard_id"] = alert.b_track
    elif alert.aircraft is not None:  # a nonconformance of this party's: its aircraft outside, if any left
        view["aircraft"] = alert.aircraft if alert.state != "cleared" else []
    view.update(
        {
            "t_los": round(alert.t_los, 2),
            "t_cpa": round(alert.t_cpa, 2),
            "d_cpa_m": round(alert.d_cpa_m, 1),
            "dz_cpa_m": round(alert.dz_cpa_m, 1),
            "los": alert.los,
            "raised_at": iso(alert.raised_at),
            "updated_at": iso(alert.updated_at),
            "cleared_at": iso(alert.cleared_at) if alert.cleared_at is not None else None,
            "guidance": guidance,
        }
    )
    if resolution is not None:
        view["resolution"] = resolution
    return view


def list_alerts(line: Line, actor: Actor, active_only: bool = True, limit: int = 100) -> list[dict[str, Any]]:
    """The caller's own alerts (its own aircraft on one side), newest first."""
    party_id = actor.require_party()
    with line.db.read() as session:
        query = select(Alert).where(or_(Alert.a_party == party_id, Alert.b_party == party_id))
        if active_only:
            query = query.where(Alert.state.in_(OPEN_ALERT_STATES))
        alerts = list(session.scalars(query.order_by(Alert.updated_at.desc(), Alert.id).limit(limit)))
        proposed = resolutions.views(session, party_id, [a for a in alerts if a.kind == "separation"])
        views = []
        for alert in alerts:
            other = (alert.b_party, alert.b_track) if alert.a_party == party_id else (alert.a_party, alert.a_track)
            state = _state_of(session, *other)
            views.append(alert_view(alert, party_id, state, own_guidance(alert, party_id), proposed.get(alert.id)))
        return views


def _state_of(session: Session, party: str, track: str) -> State | None:
    if party == UNAFFILIATED:
        return session.get(UnaffiliatedTrack, track)
    return session.get(TrackState, (party, track))


def visible_tracks(line: Line, actor: Actor) -> list[dict[str, Any]]:
    """Own side's tracks, other parties' only while in an active alert with an own track, and
    every live unaffiliated track (they are public), marked ``"unaffiliated": true``."""
    party_id = actor.require_party()
    with line.db.read() as session:
        side = own_side(session, party_id, actor.group)
        agreement = in_force(session)
        show_all = agreement is not None and agreement.disclosure.tracks_of_others == "always"
        query = select(TrackState)
        if not show_all:
            partners = set()
            for alert in session.scalars(
                select(Alert).where(
                    Alert.state.in_(OPEN_ALERT_STATES), or_(Alert.a_party == party_id, Alert.b_party == party_id)
                )
            ):
                partners.add(
                    (alert.b_party, alert.b_track) if alert.a_party == party_id else (alert.a_party, alert.a_track)
                )
            rows = [s for s in session.scalars(query.where(TrackState.party_id.in_(side)))]
            rows += [
                s for key in partners if (s := session.get(TrackState, key)) is not None and s.party_id not in side
            ]
        else:
            rows = list(session.scalars(query))
        views = [
            {"party": s.party_id, "id": s.track_id, **_state_view(s), **(_own_view(s) if s.party_id in side else {})}
            for s in rows
        ]
        if agreement is not None:
            since = line.clock() - agreement.max_track_age_s
            live = set(session.scalars(select(TrackState.track_id).where(TrackState.time_s >= since)))
            callsigns: dict[str, str | None] = {
                track_id: callsign
                for track_id, callsign in session.execute(
                    select(UnaffiliatedTrack.track_id, UnaffiliatedTrack.callsign).where(
                        UnaffiliatedTrack.time_s >= since, UnaffiliatedTrack.callsign.is_not(None)
                    )
                )
            }
            views += [
                {"party": UNAFFILIATED, "id": u.track_id, "unaffiliated": True, **_state_view(u)}
                | ({"callsign": callsigns[u.track_id]} if u.track_id in callsigns else {})  # broadcast in public
                for u in live_unaffiliated(session, live, since)
            ]
        return views


def _own_view(state: TrackState) -> dict[str, Any]:
    """What only the track's own side sees beside the kinematics: what its report said of intent,
    identity and quality (another party's track, even in alert, shows the kinematics only)."""
    view: dict[str, Any] = {}
    if state.selected_alt_m is not None:
        view["selected_altitude_m"] = state.selected_alt_m
    if state.callsign is not None:
        view["callsign"] = state.callsign
    if state.nac_p is not None:
        view["nac_p"] = state.nac_p
    if state.velocity_age_s:
        view["velocity_age_s"] = state.velocity_age_s
    return view
