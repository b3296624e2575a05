"""Tactical conflict detection between live tracks: state-based, linear extrapolation.

Semantics (ARCHITECTURE.md, "Tactical"): tracks are extrapolated to the evaluation time; for a
pair, relative position and velocity come from a flat earth at the pair's mean latitude; the
pair is in conflict when the times with ``|dp + dv t| < H`` and with ``|dz + dvz t| < V`` overlap
in an interval that ends after 0 and begins before ``T``. A pair exactly at a minimum is
separated; the vertical test uses ``V - 0.01 m`` so flight levels 1,000 ft apart never alert.

Below ``ALL_PAIRS_BELOW`` live aircraft every pair goes to the exact test (a few thousand pairs
cost less than binning them). Above it, candidates are found without comparing all pairs: the
look-ahead is cut into slices, and in each slice a grid of cubes over the aircraft's positions
(projected orthographically on the plane tangent at the traffic's centre, plus scaled altitude;
``core.neighbours``) pairs those that could come within the minima during that slice, with margins that bound the
difference between that picture and the flat-earth model. The exact test then runs vectorised
on the candidates only, so time and memory grow with aircraft plus candidate pairs. A replay
hands many small pictures to :func:`detect_many` at once, so numpy's cost per call is paid once
for hundreds of evaluation times.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from deconline.core.neighbours import binned_pairs

EARTH_RADIUS_M = 6_371_000.0  # as in BlueSky, so results can be set side by side
VERTICAL_TOLERANCE_M = 0.01
ALL_PAIRS_BELOW = 150  # measured crossover: at 128 aircraft all pairs 0.92 ms, the grid 1.18; at 160, 1.50 / 1.30
PARALLEL_FROM = 2_000  # fewer aircraft: a slice is quicker done than handed to another thread
PARALLEL_PAIRS_FROM = 100_000  # fewer candidate pairs: the exact test is quicker in one thread
UNAFFILIATED_OWNER = -1  # owner code of aircraft of no party: paired with every party's, never with each other

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Tracks:
    """Track states as parallel arrays; ``owner`` holds integer party codes (``UNAFFILIATED_OWNER``
    for aircraft of no party); ``sel_alt_m`` the selected altitude where the feed gave one (NaN
    where not, or ``None`` for none at all)."""

    lat: Floats
    lon: Floats
    alt_m: Floats
    gs_mps: Floats
    track_deg: Floats
    vrate_mps: Floats
    time_s: Floats
    owner: Ints
    sel_alt_m: Floats | None = None

    def __len__(self) -> int:
        return len(self.lat)


@dataclass(frozen=True)
class TacticalRules:
    """The minima and look-ahead, and how the surveillance is read: an aircraft whose vertical rate
    is within ``level_rate_mps`` is level and projected level; two level aircraft whose gap is within
    ``tolerance_m`` of the vertical minimum are separated, and a loss of separation is declared
    only below the minimum by more than ``tolerance_m``. The defaults (0) are the raw detector."""

    h_m: float
    v_m: float
    lookahead_s: float
    max_track_age_s: float = 20.0
    check_same_owner: bool = False
    level_rate_mps: float = 0.0
    tolerance_m: float = 0.0


DEFAULTS = TacticalRules(
    h_m=9260.0, v_m=304.8, lookahead_s=300.0, max_track_age_s=20.0
)  # a new agreement's: 5 NM, 1,000 ft


@dataclass(frozen=True)
class Thresholds:
    """One alert level's region: predicted violations of ``h_m`` and ``v_m`` are looked for up to
    ``horizon_s`` ahead."""

    h_m: float
    v_m: float
    horizon_s: float


@dataclass(frozen=True)
class Conflicts:
    """One row per pair in conflict (``a < b`` as indices into the tracks). With alert levels,
    ``t_in[:, k]`` is when level ``k``'s thresholds are first violated (inf: not within its
    horizon) and ``t_los`` when the minima are (inf: never); without, ``t_in`` has no columns."""

    a: Ints
    b: Ints
    t_los: Floats
    t_cpa: Floats
    d_cpa_m: Floats
    dz_cpa_m: Floats
    los: NDArray[np.bool_]
    t_in: Floats

    def __len__(self) -> int:
        return len(self.a)


@dataclass(frozen=True)
class Extrapolated:
    """States at the evaluation time: local east/north velocity, positions on the sphere, and when
    each aircraft levels off at its selected altitude (inf: not before the look-ahead ends)."""

    index: Ints  # into the input tracks (live ones only)
    lat: Floats
    lon: Floats
    alt_m: Floats
    vx: Floats
    vy: Floats
    vz: Floats
    owner: Ints
    t_cap: Floats
    reported_alt_m: Floats  # as last reported, not moved


Columns = TypeVar("Columns", Tracks, Extrapolated, Conflicts)


def rows(columns: Columns, which: slice | Ints) -> Columns:
    """The same rows (a slice, or indices) of every column."""
    picked: list[Any] = [None if (c := getattr(columns, f.name)) is None else c[which] for f in fields(columns)]
    return type(columns)(*picked)


def _joined(parts: list[Conflicts]) -> Conflicts:
    """Conflicts found in parts, one after the other."""
    return Conflicts(*(np.concatenate([getattr(c, f.name) for c in parts]) for f in fields(Conflicts)))


def extrapolate(tracks: Tracks, t: float | Floats, max_age_s: float, level_rate_mps: float = 0.0) -> Extrapolated:
    """Drop stale tracks and move the others along their velocity to time ``t`` (one time, or
    one per track): a level aircraft (vertical rate within ``level_rate_mps``) stays at its
    altitude, a climbing or descending one stops at its selected altitude when it has one ahead."""
    age = t - tracks.time_s
    live = np.flatnonzero(age <= max_age_s)
    dt = age[live]
    heading = np.radians(tracks.track_deg[live])
    gs = tracks.gs_mps[live]
    vx, vy = gs * np.sin(heading), gs * np.cos(heading)
    lat0 = np.radians(tracks.lat[live])
    lat = lat0 + vy * dt / EARTH_RADIUS_M
    lon = np.radians(tracks.lon[live]) + vx * dt / (EARTH_RADIUS_M * np.maximum(np.cos(lat0), 1e-6))
    vz = tracks.vrate_mps[live].astype(np.float64)
    if level_rate_mps > 0:
        vz = np.where(np.abs(vz) <= level_rate_mps, 0.0, vz)
    alt0 = tracks.alt_m[live]
    t_cap = np.full(len(live), np.inf)
    if tracks.sel_alt_m is not None:
        gap = tracks.sel_alt_m[live] - alt0
        ahead = ((vz > 0) & (gap > 0)) | ((vz < 0) & (gap < 0))  # NaN (unknown) is neither
        with np.errstate(over="ignore"):  # a vanishing rate levels off never: inf, the right answer
            t_cap = np.where(ahead, gap / np.where(ahead, vz, 1.0), np.inf) - dt
        levelled = t_cap <= 0
        alt = np.where(levelled, tracks.sel_alt_m[live], alt0 + vz * dt)
        vz = np.where(levelled, 0.0, vz)
        t_cap = np.where(levelled, np.inf, t_cap)
    else:
        alt = alt0 + vz * dt
    return Extrapolated(
        index=live.astype(np.int64), lat=lat, lon=lon, alt_m=alt, vx=vx, vy=vy, vz=vz, owner=tracks.owner[live],
        t_cap=t_cap, reported_alt_m=alt0,
    )  # fmt: skip


def pair_conflicts(
    s: Extrapolated, i: Ints, j: Ints, rules: TacticalRules, levels: Sequence[Thresholds] = ()
) -> Conflicts:
    """The exact test on given pairs (indices into ``s``); keeps only the pairs in conflict: within
    the look-ahead of the minima, or with alert levels, within some level's horizon."""
    # Near-zero relative rates overflow to infinite crossing times, which is the right answer.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _pair_conflicts(s, i, j, rules, levels)


@dataclass(frozen=True)
class _Geometry:
    """A set of pairs on the flat earth of each pair's mean latitude, relative to ``i``."""

    dx: Floats
    dy: Floats
    dz: Floats
    dvx: Floats
    dvy: Floats
    vz_i: Floats
    vz_j: Floats
    cap_i: Floats
    cap_j: Floats
    both_level: NDArray[np.bool_]
    reported_dz: Floats
    capped: bool

    def subset(self, keep: NDArray[np.bool_]) -> _Geometry:
        kept = {f.name: getattr(self, f.name)[keep] for f in fields(self) if f.name != "capped"}
        return _Geometry(**kept, capped=self.capped)

    def dz_at(self, t: Floats) -> Floats:
        rise_i = self.vz_i * np.minimum(t, self.cap_i) if self.capped else self.vz_i * t
        rise_j = self.vz_j * np.minimum(t, self.cap_j) if self.capped else self.vz_j * t
        return self.dz + rise_j - rise_i


def geometry(s: Extrapolated, i: Ints, j: Ints) -> _Geometry:
    """Pairs ``(i, j)`` of ``s`` on the flat earth at each pair's mean latitude, relative to ``i``."""
    mean_lat = 0.5 * (s.lat[i] + s.lat[j])
    dlon = np.remainder(s.lon[j] - s.lon[i] + math.pi, 2 * math.pi) - math.pi
    vz_i, vz_j = s.vz[i], s.vz[j]
    cap_i, cap_j = s.t_cap[i], s.t_cap[j]
    return _Geometry(
        dx=EARTH_RADIUS_M * np.cos(mean_lat) * dlon,
        dy=EARTH_RADIUS_M * (s.lat[j] - s.lat[i]),
        dz=s.alt_m[j] - s.alt_m[i],
        dvx=s.vx[j] - s.vx[i],
        dvy=s.vy[j] - s.vy[i],
        vz_i=vz_i,
        vz_j=vz_j,
        cap_i=cap_i,
        cap_j=cap_j,
        both_level=(vz_i == 0.0) & (vz_j == 0.0),
        reported_dz=s.reported_alt_m[j] - s.reported_alt_m[i],
        capped=bool(np.isfinite(cap_i).any() or np.isfinite(cap_j).any()),
    )


def horizontal_window(dx: Floats, dy: Floats, dvx: Floats, dvy: Floats, h: float) -> tuple[Floats, Floats]:
    """The times with ``|dp + dv t| < h`` (an empty interval as ``(inf, -inf)``), arrays of any shape."""
    a = dvx * dvx + dvy * dvy
    b = 2.0 * (dx * dvx + dy * dvy)
    c = dx * dx + dy * dy - h * h
    moving = a > 0.0
    disc = b * b - 4.0 * a * c
    root = np.sqrt(np.where(moving & (disc > 0), disc, 0.0))
    safe_a = np.where(moving, a, 1.0)
    h_in = np.where(moving, (-b - root) / (2.0 * safe_a), np.where(c < 0, -np.inf, np.inf))
    h_out = np.where(moving, (-b + root) / (2.0 * safe_a), np.where(c < 0, np.inf, -np.inf))
    h_none = moving & (disc <= 0)
    return np.where(h_none, np.inf, h_in), np.where(h_none, -np.inf, h_out)


def below(c: Floats, slope: Floats, v: Floats | float, start: Floats | float = 0.0) -> tuple[Floats, Floats]:
    """The times with ``|c + slope (t - start)| < v``, arrays of any shape."""
    moving = slope != 0.0
    safe = np.where(moving, slope, 1.0)
    t1, t2 = start + (-v - c) / safe, start + (v - c) / safe
    inside = np.abs(c) < v
    lo = np.where(moving, np.minimum(t1, t2), np.where(inside, -np.inf, np.inf))
    hi = np.where(moving, np.maximum(t1, t2), np.where(inside, np.inf, -np.inf))
    return lo, hi


def _vertical(g: _Geometry, v: Floats | float) -> list[tuple[Floats, Floats]]:
    """The times with ``|dz(t)| < v`` as up to three intervals: the relative climb is linear until
    the first aircraft levels off at its selected altitude, then until the second does, then flat."""
    slope = g.vz_j - g.vz_i
    if not g.capped:
        return [below(g.dz, slope, v, 0.0)]
    first, second = np.minimum(g.cap_i, g.cap_j), np.maximum(g.cap_i, g.cap_j)
    lo0, hi0 = below(g.dz, slope, v, 0.0)
    parts = [(lo0, np.minimum(hi0, first))]
    finite_first, finite_second = np.isfinite(first), np.isfinite(second)
    at_first = g.dz_at(np.where(finite_first, first, 0.0))
    middle = np.where(g.cap_j > first, g.vz_j, 0.0) - np.where(g.cap_i > first, g.vz_i, 0.0)
    lo1, hi1 = below(at_first, middle, v, np.where(finite_first, first, 0.0))
    parts.append((np.where(finite_first, np.maximum(lo1, first), np.inf), np.minimum(hi1, second)))
    at_second = g.dz_at(np.where(finite_second, second, 0.0))
    flat = np.abs(at_second) < v
    parts.append((np.where(finite_second & flat, second, np.inf), np.where(finite_second & flat, np.inf, -np.inf)))
    return parts


def _first_violation(g: _Geometry, h: float, v: float, tolerance_m: float, horizon: float) -> Floats:
    """When ``h`` and ``v`` are first both violated at or after now (inf: not before ``horizon``);
    two level aircraft need ``v`` less the tolerance."""
    h_in, h_out = horizontal_window(g.dx, g.dy, g.dvx, g.dvy, h)
    limit = (
        v - VERTICAL_TOLERANCE_M - np.where(g.both_level, tolerance_m, 0.0) if tolerance_m else v - VERTICAL_TOLERANCE_M
    )
    first = np.full(len(h_in), np.inf)
    for v_in, v_out in _vertical(g, limit):
        start, end = np.maximum(h_in, v_in), np.minimum(h_out, v_out)
        hit = (start < end) & (end > 0.0) & (start < horizon)
        first = np.where(hit, np.minimum(first, np.maximum(start, 0.0)), first)
    return first


def _pair_conflicts(s: Extrapolated, i: Ints, j: Ints, rules: TacticalRules, levels: Sequence[Thresholds]) -> Conflicts:
    g = geometry(s, i, j)
    if levels:
        regions = {(t.h_m, t.v_m) for t in levels} | {(rules.h_m, rules.v_m)}
        if len(regions) > 1:  # the widest region first, then each one on the pairs that can violate it
            widest = _first_violation(
                g, max(t.h_m for t in levels), max(t.v_m for t in levels), 0.0, max(t.horizon_s for t in levels)
            )
            hit = np.isfinite(widest)
            g, i, j = g.subset(hit), i[hit], j[hit]
        # Each region once, however far ahead: a level keeps what falls within its own horizon.
        first = {region: _first_violation(g, *region, rules.tolerance_m, math.inf) for region in regions}
        t_in = np.column_stack(
            [np.where(first[(t.h_m, t.v_m)] < t.horizon_s, first[(t.h_m, t.v_m)], np.inf) for t in levels]
        ).reshape(len(i), len(levels))
        within = np.asarray(np.isfinite(t_in).any(axis=1), dtype=np.bool_)
        g, i, j, t_in = g.subset(within), i[within], j[within], t_in[within]
        t_los = first[(rules.h_m, rules.v_m)][within]
    else:
        t_los = _first_violation(g, rules.h_m, rules.v_m, rules.tolerance_m, rules.lookahead_s)
        hit = np.isfinite(t_los)
        g, i, j, t_los = g.subset(hit), i[hit], j[hit], t_los[hit]
        t_in = np.zeros((len(i), 0))
    speed2 = g.dvx * g.dvx + g.dvy * g.dvy
    moving = speed2 > 0.0
    t_cpa = np.where(moving, np.maximum(0.0, -(g.dx * g.dvx + g.dy * g.dvy) / np.where(moving, speed2, 1.0)), 0.0)
    h2, v_los = rules.h_m * rules.h_m, rules.v_m - VERTICAL_TOLERANCE_M - rules.tolerance_m
    los = (g.dx * g.dx + g.dy * g.dy < h2) & (np.abs(g.dz) < v_los)
    if levels:  # declared, not predicted: the altitudes as reported show it too, not only their projection
        los &= np.abs(g.reported_dz) < v_los
    return Conflicts(
        a=i,
        b=j,
        t_los=t_los,
        t_cpa=t_cpa,
        d_cpa_m=np.hypot(g.dx + g.dvx * t_cpa, g.dy + g.dvy * t_cpa),
        dz_cpa_m=np.abs(g.dz_at(t_cpa)),
        los=los,
        t_in=t_in,
    )


def search_rules(rules: TacticalRules, levels: Sequence[Thresholds]) -> TacticalRules:
    """The region candidates are looked for in: the widest level's (or the minima, without levels)."""
    if not levels:
        return rules
    return replace(
        rules,
        h_m=max(t.h_m for t in levels),
        v_m=max(t.v_m for t in levels),
        lookahead_s=max(t.horizon_s for t in levels),
    )


def _slices(vmax: float, rules: TacticalRules, n: int) -> int:
    """About one slice per 1.4 horizontal minima swept, fewer for fewer aircraft: fewer slices mean
    more candidates per slice, more slices more grids to build. Measured: best at 100,000 aircraft
    7 slices, at 1,000 and 5,000 four (3.3 ms against 3.7 ms with 7; 11.9 against 12.8), at 200 two."""
    by_speed = round(0.7 * vmax * rules.lookahead_s / rules.h_m)
    by_count = round(math.log2(max(n, 2) / 50.0))
    return int(min(32, max(1, min(by_speed, max(2, by_count)))))


def orthographic_axes(lat: Floats, lon: Floats) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two axes of the plane tangent at the centre of the traffic.

    Dropping the third coordinate is an orthogonal projection, which never lengthens a distance,
    and a chord is never longer than its arc: pruning by distances in this plane misses nothing.
    """
    unit = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    centre = unit.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    centre = centre / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0])
    helper = np.array([0.0, 0.0, 1.0]) if abs(centre[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    first = np.cross(centre, helper)
    first /= np.linalg.norm(first)
    return first, np.cross(centre, first)


@cache
def _pool() -> ThreadPoolExecutor:
    """One pool for the process, made at first need: a replay evaluates thousands of times, and
    starting threads at each evaluation cost more than the evaluation itself."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="tactical")


@cache
def _all_pairs(n: int) -> tuple[Ints, Ints]:
    """Every pair ``i < j`` of ``n`` aircraft, in order (kept: a replay asks for the same few sizes)."""
    i, j = np.triu_indices(n, 1)
    i, j = i.astype(np.int64), j.astype(np.int64)
    i.flags.writeable = j.flags.writeable = False
    return i, j


def candidate_pairs(s: Extrapolated, rules: TacticalRules) -> tuple[Ints, Ints]:
    """Pairs ``i < j`` (indices into ``s``) that may conflict; a superset of the true ones."""
    n = len(s.lat)
    if n < ALL_PAIRS_BELOW:
        return _all_pairs(n)
    return sliced_pairs(s, rules)


def sliced_pairs(s: Extrapolated, rules: TacticalRules) -> tuple[Ints, Ints]:
    """:func:`candidate_pairs` by a grid over each look-ahead slice, whatever the number of aircraft."""
    n = len(s.lat)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    speed, climb = np.hypot(s.vx, s.vy), np.abs(s.vz)
    vmax, vzmax = float(speed.max()), float(climb.max())
    lookahead = rules.lookahead_s
    k = _slices(vmax, rules, n)
    half = lookahead / (2 * k)
    # How far the sphere picture can drift from a pair's flat frame: the east-west scale at one
    # aircraft's latitude against the pair's mean latitude, over the widest conflicting spread.
    spread = (rules.h_m + 2 * vmax * lookahead) / (2 * EARTH_RADIUS_M)
    worst_lat = min(float(np.abs(s.lat).max()) + spread, math.radians(89.0))
    drift = 1.1 * (math.tan(worst_lat) * spread + spread * spread)
    coslat = np.maximum(np.cos(s.lat), 1e-6)
    first, second = orthographic_axes(s.lat, s.lon)

    def slice_keys(slice_index: int) -> Ints:
        centre = (slice_index + 0.5) * 2 * half
        # The pair's frame is fixed at the mean latitude at time 0; by the end of this slice the
        # pair may have moved north or south, where that frame's east-west scale is off.
        frame_scale = 1.0 + 1.1 * math.tan(worst_lat) * (vmax * (centre + half) / EARTH_RADIUS_M + spread)
        r_h = (rules.h_m + 2 * vmax * half + 2 * vmax * (centre + half) * drift) * frame_scale * 1.001 + 1.0
        r_v = rules.v_m + 2 * vzmax * half + 1.0
        lat = s.lat + s.vy * centre / EARTH_RADIUS_M
        lon = s.lon + s.vx * centre / (EARTH_RADIUS_M * coslat)
        unit = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
        x, y = EARTH_RADIUS_M * (unit @ first), EARTH_RADIUS_M * (unit @ second)
        z = (s.alt_m + s.vz * np.minimum(centre, s.t_cap)) * (r_h / r_v)  # levelled off at a selected altitude
        order, f, g = binned_pairs(np.column_stack([x, y, z]), r_h * 1.0001)
        x, y, z = x[order], y[order], z[order]  # by cube: the pairs' ends are read from nearby memory
        # Each pair's own reach: its two speeds instead of twice the fastest (a third fewer pairs).
        reach_h = (rules.h_m + (speed[order][f] + speed[order][g]) * half + 2 * vmax * (centre + half) * drift) * (
            frame_scale * 1.001
        ) + 1.0
        reach_v = (rules.v_m + (climb[order][f] + climb[order][g]) * half + 1.0) * (r_h / r_v)
        near = (np.hypot(x[f] - x[g], y[f] - y[g]) <= reach_h) & (np.abs(z[f] - z[g]) <= reach_v)
        a, b = order[f[near]], order[g[near]]
        keys: Ints = np.sort(np.minimum(a, b) * n + np.maximum(a, b))  # sorted here, in parallel
        return keys

    # numpy lets go of the GIL on long arrays, so slices run in parallel on the machine's cores.
    parallel = k > 1 and n >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
    runs = list((_pool().map if parallel else map)(slice_keys, range(k)))
    keys = np.sort(np.concatenate(runs), kind="stable")  # a merge of sorted runs
    if len(keys) > 1:
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return keys // n, keys % n


def detect(tracks: Tracks, t: float, rules: TacticalRules, levels: Sequence[Thresholds] = ()) -> Conflicts:
    """Every pair of live tracks in conflict at time ``t`` (indices into ``tracks``, ``a < b``),
    except pairs of two unaffiliated aircraft; with ``levels``, every pair within some level's
    horizon, with each level's ``t_in``."""
    s = extrapolate(tracks, t, rules.max_track_age_s, rules.level_rate_mps)  # one picture: detect_many's case
    return _test(s, [candidate_pairs(s, search_rules(rules, levels))], rules, levels)


MAX_PAIRS_AT_ONCE = 1_000_000  # pictures are tested together up to this many pairs (about 200 MB of temporaries)


def detect_many(
    tracks: Tracks, times: Floats, bounds: Ints, rules: TacticalRules, levels: Sequence[Thresholds] = ()
) -> Conflicts:
    """:func:`detect` on many pictures at once: rows ``bounds[g]:bounds[g + 1]`` of ``tracks`` are
    picture ``g``, evaluated at ``times[g]``; pairs never cross pictures. Results are ordered by
    picture, then ``a``, then ``b`` (indices into ``tracks``).

    A replay evaluates thousands of small pictures; testing their pairs in one vectorised call
    instead of one call each is what makes it fast (numpy's cost per call outweighs tens of
    aircraft). Each picture gets exactly the answer :func:`detect` gives it alone.
    """
    sizes = np.diff(bounds)
    at = np.repeat(np.asarray(times, dtype=np.float64), sizes)
    s = extrapolate(tracks, at, rules.max_track_age_s, rules.level_rate_mps)
    search = search_rules(rules, levels)
    picture = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)[s.index]
    starts = np.searchsorted(picture, np.arange(len(sizes) + 1))  # live rows of each picture in ``s``
    found: list[Conflicts] = []
    pending: list[tuple[Ints, Ints]] = []
    count = 0
    for g in range(len(sizes)):
        lo, hi = int(starts[g]), int(starts[g + 1])
        if hi - lo < 2:
            continue
        i, j = candidate_pairs(rows(s, slice(lo, hi)), search) if hi - lo >= ALL_PAIRS_BELOW else _all_pairs(hi - lo)
        pending.append((i + lo, j + lo))
        count += len(i)
        if count >= MAX_PAIRS_AT_ONCE:
            found.append(_test(s, pending, rules, levels))
            pending, count = [], 0
    if pending or not found:
        found.append(_test(s, pending, rules, levels))
    if len(found) == 1:
        return found[0]
    return _joined(found)


def _test(
    s: Extrapolated, pairs: list[tuple[Ints, Ints]], rules: TacticalRules, levels: Sequence[Thresholds]
) -> Conflicts:
    """The exact test on candidate pairs (indices into ``s``, each picture's ascending), owners
    filtered as the rules say; results as indices into the tracks, ordered as the pairs were."""
    if len(pairs) == 1:
        i, j = pairs[0]
    else:
        i = np.concatenate([p[0] for p in pairs]) if pairs else np.zeros(0, dtype=np.int64)
        j = np.concatenate([p[1] for p in pairs]) if pairs else np.zeros(0, dtype=np.int64)
    owner_i, owner_j = s.owner[i], s.owner[j]
    # Unaffiliated traffic is checked against the parties' aircraft only: nobody is told of the rest.
    keep = (owner_i != UNAFFILIATED_OWNER) | (owner_j != UNAFFILIATED_OWNER)
    if not rules.check_same_owner:
        keep &= owner_i != owner_j
    i, j = i[keep], j[keep]
    workers = os.cpu_count() or 1
    if len(i) >= PARALLEL_PAIRS_FROM and workers > 1:  # numpy lets go of the GIL on arrays this long
        cuts = np.linspace(0, len(i), workers + 1).astype(np.int64)
        parts = list(
            _pool().map(
                lambda k: pair_conflicts(s, i[cuts[k] : cuts[k + 1]], j[cuts[k] : cuts[k + 1]], rules, levels),
                range(workers),
            )
        )
        found = _joined(parts)
    else:
        found = pair_conflicts(s, i, j, rules, levels)
    return replace(found, a=s.index[found.a], b=s.index[found.b])
