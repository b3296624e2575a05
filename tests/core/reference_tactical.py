"""The slow, obvious tactical reference: every pair, scalar float64 arithmetic, no pruning."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from deconline.core.tactical import EARTH_RADIUS_M, UNAFFILIATED_OWNER, VERTICAL_TOLERANCE_M, TacticalRules, Tracks


@dataclass(frozen=True)
class RefConflict:
    a: int
    b: int
    t_los: float
    los: bool


def _state(tracks: Tracks, k: int, t: float) -> tuple[float, float, float, float, float, float]:
    dt = t - float(tracks.time_s[k])
    heading = math.radians(float(tracks.track_deg[k]))
    vx = float(tracks.gs_mps[k]) * math.sin(heading)
    vy = float(tracks.gs_mps[k]) * math.cos(heading)
    lat0 = math.radians(float(tracks.lat[k]))
    lat = lat0 + vy * dt / EARTH_RADIUS_M
    lon = math.radians(float(tracks.lon[k])) + vx * dt / (EARTH_RADIUS_M * max(math.cos(lat0), 1e-6))
    alt = float(tracks.alt_m[k]) + float(tracks.vrate_mps[k]) * dt
    return lat, lon, alt, vx, vy, float(tracks.vrate_mps[k])


def _interval_below(p: float, v: float, limit: float) -> tuple[float, float]:
    """Times where |p + v t| < limit, in one dimension."""
    if v == 0:
        return (-math.inf, math.inf) if abs(p) < limit else (math.inf, -math.inf)
    t1, t2 = (-limit - p) / v, (limit - p) / v
    return min(t1, t2), max(t1, t2)


def _checked_pairs(tracks: Tracks, live: list[int], rules: TacticalRules) -> list[tuple[int, int]]:
    """Every pair of live tracks the rules check: of two owners unless asked, never two unaffiliated."""
    pairs = []
    for x, a in enumerate(live):
        for b in live[x + 1 :]:
            if not rules.check_same_owner and tracks.owner[a] == tracks.owner[b]:
                continue
            if tracks.owner[a] == tracks.owner[b] == UNAFFILIATED_OWNER:
                continue
            pairs.append((a, b))
    return pairs


def reference_conflicts(tracks: Tracks, t: float, rules: TacticalRules) -> list[RefConflict]:
    live = [k for k in range(len(tracks)) if t - float(tracks.time_s[k]) <= rules.max_track_age_s]
    states = {k: _state(tracks, k, t) for k in live}
    v_limit = rules.v_m - VERTICAL_TOLERANCE_M
    found = []
    for a, b in _checked_pairs(tracks, live, rules):
        lat_a, lon_a, alt_a, vxa, vya, vza = states[a]
        lat_b, lon_b, alt_b, vxb, vyb, vzb = states[b]
        dlon = (lon_b - lon_a + math.pi) % (2 * math.pi) - math.pi
        dx = EARTH_RADIUS_M * math.cos((lat_a + lat_b) / 2) * dlon
        dy = EARTH_RADIUS_M * (lat_b - lat_a)
        dvx, dvy = vxb - vxa, vyb - vya
        qa = dvx * dvx + dvy * dvy
        qb = 2 * (dx * dvx + dy * dvy)
        qc = dx * dx + dy * dy - rules.h_m**2
        if qa == 0:
            h_in, h_out = (-math.inf, math.inf) if qc < 0 else (math.inf, -math.inf)
        else:
            disc = qb * qb - 4 * qa * qc
            if disc <= 0:
                continue
            h_in, h_out = (-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)
        v_in, v_out = _interval_below(alt_b - alt_a, vzb - vza, v_limit)
        start, end = max(h_in, v_in), min(h_out, v_out)
        if start < end and end > 0 and start < rules.lookahead_s:
            los = dx * dx + dy * dy < rules.h_m**2 and abs(alt_b - alt_a) < v_limit
            found.append(RefConflict(a, b, max(start, 0.0), los))
    return found


@dataclass(frozen=True)
class RefLevels:
    a: int
    b: int
    t_in: tuple[float, ...]
    los: bool


def _state_with_intent(tracks: Tracks, k: int, t: float, level_rate: float) -> tuple[float, ...]:
    """Like ``_state``, with a level aircraft held level and a climb stopped at the selected altitude:
    (lat, lon, alt, vx, vy, vz, seconds until it levels off)."""
    lat, lon, _, vx, vy, vz = _state(tracks, k, t)
    if abs(vz) <= level_rate:
        vz = 0.0
    alt0, dt = float(tracks.alt_m[k]), t - float(tracks.time_s[k])
    sel = math.nan if tracks.sel_alt_m is None else float(tracks.sel_alt_m[k])
    cap = math.inf
    if not math.isnan(sel) and ((vz > 0 and sel > alt0) or (vz < 0 and sel < alt0)):
        cap = (sel - alt0) / vz - dt
    if cap <= 0:
        return lat, lon, sel, vx, vy, 0.0, math.inf
    return lat, lon, alt0 + vz * dt, vx, vy, vz, cap


def _vertical_pieces(
    dz: float, vza: float, vzb: float, cap_a: float, cap_b: float, limit: float
) -> list[tuple[float, float]]:
    """Where |dz(t)| < limit, piece by piece between the times the aircraft level off."""

    def dz_at(t: float) -> float:
        return dz + vzb * min(t, cap_b) - vza * min(t, cap_a)

    cuts = sorted({c for c in (cap_a, cap_b) if math.isfinite(c)})
    bounds = [-math.inf, *cuts, math.inf]
    pieces = []
    for lo, hi in itertools.pairwise(bounds):
        slope = (vzb if cap_b > lo else 0.0) - (vza if cap_a > lo else 0.0)
        origin = 0.0 if lo == -math.inf else lo
        v_in, v_out = _interval_below(dz_at(origin), slope, limit)
        pieces.append((max(v_in + origin, lo), min(v_out + origin, hi)))
    return pieces


def reference_levels(
    tracks: Tracks, t: float, rules: TacticalRules, levels: list[tuple[float, float, float]]
) -> list[RefLevels]:
    """Every pair within some level's horizon; ``levels``: (h, v, horizon) each."""
    live = [k for k in range(len(tracks)) if t - float(tracks.time_s[k]) <= rules.max_track_age_s]
    states = {k: _state_with_intent(tracks, k, t, rules.level_rate_mps) for k in live}
    found = []
    for a, b in _checked_pairs(tracks, live, rules):
        lat_a, lon_a, alt_a, vxa, vya, vza, cap_a = states[a]
        lat_b, lon_b, alt_b, vxb, vyb, vzb, cap_b = states[b]
        dlon = (lon_b - lon_a + math.pi) % (2 * math.pi) - math.pi
        dx = EARTH_RADIUS_M * math.cos((lat_a + lat_b) / 2) * dlon
        dy = EARTH_RADIUS_M * (lat_b - lat_a)
        dvx, dvy = vxb - vxa, vyb - vya
        both_level = vza == 0 and vzb == 0
        t_in = []
        for h, v, horizon in levels:
            limit = v - VERTICAL_TOLERANCE_M - (rules.tolerance_m if both_level else 0.0)
            qa, qb, qc = dvx * dvx + dvy * dvy, 2 * (dx * dvx + dy * dvy), dx * dx + dy * dy - h * h
            if qa == 0:
                h_in, h_out = (-math.inf, math.inf) if qc < 0 else (math.inf, -math.inf)
            elif qb * qb - 4 * qa * qc <= 0:
                h_in, h_out = math.inf, -math.inf
            else:
                root = math.sqrt(qb * qb - 4 * qa * qc)
                h_in, h_out = (-qb - root) / (2 * qa), (-qb + root) / (2 * qa)
            first = math.inf
            for v_in, v_out in _vertical_pieces(alt_b - alt_a, vza, vzb, cap_a, cap_b, limit):
                start, end = max(h_in, v_in), min(h_out, v_out)
                if start < end and end > 0 and start < horizon:
                    first = min(first, max(start, 0.0))
            t_in.append(first)
        if any(math.isfinite(x) for x in t_in):
            v_los = rules.v_m - VERTICAL_TOLERANCE_M - rules.tolerance_m
            reported = float(tracks.alt_m[b]) - float(tracks.alt_m[a])
            los = dx * dx + dy * dy < rules.h_m**2 and abs(alt_b - alt_a) < v_los and abs(reported) < v_los
            found.append(RefLevels(a, b, tuple(t_in), los))
    return found
