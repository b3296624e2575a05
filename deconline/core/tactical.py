"""Tactical conflict detection between live tracks: state-based, linear extrapolation.

Semantics (ARCHITECTURE.md, "Tactical"): tracks are extrapolated to the evaluation time; for a
pair, relative position and velocity come from a flat earth at the pair's mean latitude; the
pair is in conflict when the times with ``|dp + dv t| < H`` and with ``|dz + dvz t| < V`` overlap
in an interval that ends after 0 and begins before ``T``. A pair exactly at a minimum is
separated; the vertical test uses ``V - 0.01 m`` so flight levels 1,000 ft apart never alert.

Candidates are found without comparing all pairs: the look-ahead is cut into slices, and in each
slice a KD-tree over the aircraft's positions (projected orthographically on the plane tangent
at the traffic's centre, plus scaled altitude) pairs those that could come within the minima
during that slice, with margins that bound the difference between that picture and the
flat-earth model. The exact test then runs vectorised on the
candidates only, so time and memory grow with aircraft plus candidate pairs.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_000.0  # as in BlueSky, so results can be set side by side
VERTICAL_TOLERANCE_M = 0.01
UNAFFILIATED_OWNER = -1  # owner code of aircraft of no party: paired with every party's, never with each other

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Tracks:
    """Track states as parallel arrays; ``owner`` holds integer party codes (``UNAFFILIATED_OWNER``
    for aircraft of no party)."""

    lat: Floats
    lon: Floats
    alt_m: Floats
    gs_mps: Floats
    track_deg: Floats
    vrate_mps: Floats
    time_s: Floats
    owner: Ints

    def __len__(self) -> int:
        return len(self.lat)


@dataclass(frozen=True)
class TacticalRules:
    h_m: float
    v_m: float
    lookahead_s: float
    max_track_age_s: float = 20.0
    check_same_owner: bool = False


@dataclass(frozen=True)
class Conflicts:
    """One row per pair in conflict (``a < b`` as indices into the tracks)."""

    a: Ints
    b: Ints
    t_los: Floats
    t_cpa: Floats
    d_cpa_m: Floats
    dz_cpa_m: Floats
    los: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.a)


@dataclass(frozen=True)
class Extrapolated:
    """States at the evaluation time: local east/north velocity, positions on the sphere."""

    index: Ints  # into the input tracks (live ones only)
    lat: Floats
    lon: Floats
    alt_m: Floats
    vx: Floats
    vy: Floats
    vz: Floats
    owner: Ints


def extrapolate(tracks: Tracks, t: float, max_age_s: float) -> Extrapolated:
    """Drop stale tracks and move the others along their velocity to time ``t``."""
    age = t - tracks.time_s
    live = np.flatnonzero(age <= max_age_s)
    dt = age[live]
    heading = np.radians(tracks.track_deg[live])
    gs = tracks.gs_mps[live]
    vx, vy = gs * np.sin(heading), gs * np.cos(heading)
    lat0 = np.radians(tracks.lat[live])
    lat = lat0 + vy * dt / EARTH_RADIUS_M
    lon = np.radians(tracks.lon[live]) + vx * dt / (EARTH_RADIUS_M * np.maximum(np.cos(lat0), 1e-6))
    return Extrapolated(
        index=live.astype(np.int64),
        lat=lat,
        lon=lon,
        alt_m=tracks.alt_m[live] + tracks.vrate_mps[live] * dt,
        vx=vx,
        vy=vy,
        vz=tracks.vrate_mps[live].astype(np.float64),
        owner=tracks.owner[live],
    )


def pair_conflicts(s: Extrapolated, i: Ints, j: Ints, rules: TacticalRules) -> Conflicts:
    """The exact test on given pairs (indices into ``s``); keeps only the pairs in conflict."""
    # Near-zero relative rates overflow to infinite crossing times, which is the right answer.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return _pair_conflicts(s, i, j, rules)


def _pair_conflicts(s: Extrapolated, i: Ints, j: Ints, rules: TacticalRules) -> Conflicts:
    h, v, lookahead = rules.h_m, rules.v_m - VERTICAL_TOLERANCE_M, rules.lookahead_s
    mean_lat = 0.5 * (s.lat[i] + s.lat[j])
    dlon = np.remainder(s.lon[j] - s.lon[i] + math.pi, 2 * math.pi) - math.pi
    dx = EARTH_RADIUS_M * np.cos(mean_lat) * dlon
    dy = EARTH_RADIUS_M * (s.lat[j] - s.lat[i])
    dz = s.alt_m[j] - s.alt_m[i]
    dvx, dvy, dvz = s.vx[j] - s.vx[i], s.vy[j] - s.vy[i], s.vz[j] - s.vz[i]

    # Horizontal: a t^2 + b t + c < 0.
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
    h_in = np.where(h_none, np.inf, h_in)
    h_out = np.where(h_none, -np.inf, h_out)

    # Vertical: |dz + dvz t| < v.
    climbing = dvz != 0.0
    safe_dvz = np.where(climbing, dvz, 1.0)
    t1, t2 = (-v - dz) / safe_dvz, (v - dz) / safe_dvz
    inside_now = np.abs(dz) < v
    v_in = np.where(climbing, np.minimum(t1, t2), np.where(inside_now, -np.inf, np.inf))
    v_out = np.where(climbing, np.maximum(t1, t2), np.where(inside_now, np.inf, -np.inf))

    start, end = np.maximum(h_in, v_in), np.minimum(h_out, v_out)
    hit = (start < end) & (end > 0.0) & (start < lookahead)
    t_cpa = np.where(moving, np.maximum(0.0, -(dx * dvx + dy * dvy) / safe_a), 0.0)[hit]
    keep_dx, keep_dy, keep_dz = dx[hit], dy[hit], dz[hit]
    return Conflicts(
        a=i[hit],
        b=j[hit],
        t_los=np.maximum(start[hit], 0.0),
        t_cpa=t_cpa,
        d_cpa_m=np.hypot(keep_dx + dvx[hit] * t_cpa, keep_dy + dvy[hit] * t_cpa),
        dz_cpa_m=np.abs(keep_dz + dvz[hit] * t_cpa),
        los=(keep_dx * keep_dx + keep_dy * keep_dy < h * h) & (np.abs(keep_dz) < v),
    )


def _slices(vmax: float, rules: TacticalRules) -> int:
    """About one slice per 1.4 horizontal minima swept: fewer slices mean more candidates per
    slice, more slices more trees; this balance was measured at 100,000 aircraft."""
    return int(min(32, max(1, round(0.7 * vmax * rules.lookahead_s / rules.h_m))))


def _orthographic_axes(lat: Floats, lon: Floats) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
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


def candidate_pairs(s: Extrapolated, rules: TacticalRules) -> tuple[Ints, Ints]:
    """Pairs ``i < j`` (indices into ``s``) that may conflict; a superset of the true ones."""
    n = len(s.lat)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    speed = np.hypot(s.vx, s.vy)
    vmax, vzmax = float(speed.max()), float(np.abs(s.vz).max())
    lookahead = rules.lookahead_s
    k = _slices(vmax, rules)
    half = lookahead / (2 * k)
    # How far the sphere picture can drift from a pair's flat frame: the east-west scale at one
    # aircraft's latitude against the pair's mean latitude, over the widest conflicting spread.
    spread = (rules.h_m + 2 * vmax * lookahead) / (2 * EARTH_RADIUS_M)
    worst_lat = min(float(np.abs(s.lat).max()) + spread, math.radians(89.0))
    drift = 1.1 * (math.tan(worst_lat) * spread + spread * spread)
    coslat = np.maximum(np.cos(s.lat), 1e-6)
    first, second = _orthographic_axes(s.lat, s.lon)

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
        z = (s.alt_m + s.vz * centre) * (r_h / r_v)
        tree = cKDTree(np.column_stack([x, y, z]), balanced_tree=False, compact_nodes=False)
        pairs = tree.query_pairs(r_h * math.sqrt(2.0) * 1.0001, output_type="ndarray")
        a, b = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
        near = (np.hypot(x[a] - x[b], y[a] - y[b]) <= r_h) & (np.abs(z[a] - z[b]) <= r_h)
        keys: Ints = np.minimum(a, b)[near] * n + np.maximum(a, b)[near]
        return keys

    # The KD-tree releases the GIL, so slices run in parallel on the machine's cores.
    with ThreadPoolExecutor(max_workers=max(1, min(k, os.cpu_count() or 1))) as pool:
        keys = np.sort(np.concatenate(list(pool.map(slice_keys, range(k)))))
    if len(keys) > 1:
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    return keys // n, keys % n


def detect(tracks: Tracks, t: float, rules: TacticalRules) -> Conflicts:
    """Every pair of live tracks in conflict at time ``t`` (indices into ``tracks``, ``a < b``),
    except pairs of two unaffiliated aircraft."""
    s = extrapolate(tracks, t, rules.max_track_age_s)
    i, j = candidate_pairs(s, rules)
    if not rules.check_same_owner:
        other = s.owner[i] != s.owner[j]
        i, j = i[other], j[other]
    # Unaffiliated traffic is checked against the parties' aircraft only: nobody is told of the rest.
    party = (s.owner[i] != UNAFFILIATED_OWNER) | (s.owner[j] != UNAFFILIATED_OWNER)
    i, j = i[party], j[party]
    found = pair_conflicts(s, i, j, rules)
    a, b = s.index[found.a], s.index[found.b]
    order = np.lexsort((b, a))
    return Conflicts(
        a=a[order],
        b=b[order],
        t_los=found.t_los[order],
        t_cpa=found.t_cpa[order],
        d_cpa_m=found.d_cpa_m[order],
        dz_cpa_m=found.dz_cpa_m[order],
        los=found.los[order],
    )
