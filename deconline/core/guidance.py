"""Guidance: which of one's own manoeuvres keep clear of every other aircraft ("bands").

Semantics of DAIDALUS's CD3D configuration (NASA, DO-365): the conflict volume is a cylinder of
the minima, manoeuvres are instantaneous, and each candidate value of one dimension (track angle,
ground speed, vertical speed, or a level altitude reached at once) is flown from now over the
look-ahead with the other dimensions unchanged; a candidate conflicts when the ownship would lose
separation with any other aircraft (flying straight on) within the look-ahead. Candidates step
1 degree, 5 kt and 100 ft/min from the aircraft's own value, and 100 ft from 100 ft, as DAIDALUS's
do. Consecutive candidates of the same answer make one range.

Pure: relative positions and velocities in, ranges out. The frame is the tactical engine's: each
other aircraft's position relative to the ownship on the flat earth at the pair's mean latitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deconline.core.tactical import VERTICAL_TOLERANCE_M, Extrapolated, geometry

KT = 1852.0 / 3600.0
FT = 0.3048
FPM = FT / 60.0

Floats = NDArray[np.float64]
Range = tuple[float, float, bool]  # lowest and highest candidate of a run, and whether it conflicts


@dataclass(frozen=True)
class Ownship:
    alt_m: float
    gs_mps: float
    track_deg: float
    vz_mps: float


@dataclass(frozen=True)
class Traffic:
    """The other aircraft: position relative to the ownship (east, north, metres), altitude and
    velocity (east, north, up, m/s)."""

    dx: Floats
    dy: Floats
    alt_m: Floats
    vx: Floats
    vy: Floats
    vz: Floats


@dataclass(frozen=True)
class BandRules:
    h_m: float
    v_m: float
    lookahead_s: float
    track_step_deg: float = 1.0
    gs_step_mps: float = 5 * KT
    gs_range_mps: tuple[float, float] = (10 * KT, 700 * KT)
    vs_step_mps: float = 100 * FPM
    vs_range_mps: tuple[float, float] = (-6000 * FPM, 6000 * FPM)
    alt_step_m: float = 100 * FT
    alt_range_m: tuple[float, float] = (100 * FT, 50_000 * FT)


@dataclass(frozen=True)
class Bands:
    track_deg: list[Range]
    gs_mps: list[Range]
    vs_mps: list[Range]
    alt_m: list[Range]


def conflicts(
    own_alt: Floats, own_vx: Floats, own_vy: Floats, own_vz: Floats, traffic: Traffic, rules: BandRules
) -> NDArray[np.bool_]:
    """For each candidate ownship (altitude and velocity, one per row), whether it loses separation
    with some other aircraft within the look-ahead: candidates x aircraft at once."""
    if len(traffic.dx) == 0:
        return np.zeros(len(own_vx), dtype=np.bool_)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        vx = traffic.vx[None, :] - own_vx[:, None]
        vy = traffic.vy[None, :] - own_vy[:, None]
        dvz = traffic.vz[None, :] - own_vz[:, None]
        dz = traffic.alt_m[None, :] - own_alt[:, None]
        px, py = traffic.dx[None, :], traffic.dy[None, :]
        a = vx * vx + vy * vy
        b = 2.0 * (px * vx + py * vy)
        c = px * px + py * py - rules.h_m * rules.h_m
        moving = a > 0.0
        disc = b * b - 4.0 * a * c
        root = np.sqrt(np.where(moving & (disc > 0), disc, 0.0))
        safe_a = np.where(moving, a, 1.0)
        h_in = np.where(moving, (-b - root) / (2 * safe_a), np.where(c < 0, -np.inf, np.inf))
        h_out = np.where(moving, (-b + root) / (2 * safe_a), np.where(c < 0, np.inf, -np.inf))
        h_none = moving & (disc <= 0)
        v = rules.v_m - VERTICAL_TOLERANCE_M
        climbing = dvz != 0.0
        safe = np.where(climbing, dvz, 1.0)
        t1, t2 = (-v - dz) / safe, (v - dz) / safe
        inside = np.abs(dz) < v
        v_in = np.where(climbing, np.minimum(t1, t2), np.where(inside, -np.inf, np.inf))
        v_out = np.where(climbing, np.maximum(t1, t2), np.where(inside, np.inf, -np.inf))
        start, end = np.maximum(h_in, v_in), np.minimum(h_out, v_out)
        hit = ~h_none & (start < end) & (end > 0.0) & (start < rules.lookahead_s)
    return np.asarray(hit.any(axis=1), dtype=np.bool_)


def _runs(values: Floats, conflict: NDArray[np.bool_]) -> list[Range]:
    """Consecutive candidates with the same answer, as ranges."""
    if len(values) == 0:
        return []
    cuts = np.flatnonzero(conflict[1:] != conflict[:-1]) + 1
    starts, ends = np.concatenate([[0], cuts]), np.concatenate([cuts, [len(values)]]) - 1
    return [(float(values[s]), float(values[e]), bool(conflict[s])) for s, e in zip(starts, ends, strict=True)]


def _steps(low: float, high: float, step: float, through: float | None = None) -> Floats:
    """Candidates every ``step`` within ``[low, high]``: from ``low``, or through the current value
    ``through`` (as DAIDALUS steps from the aircraft's own value, so "as you are" is a candidate)."""
    origin = low if through is None else through - step * math.floor((through - low) / step + 1e-9)
    count = math.floor((high - origin) / step + 1e-9) + 1
    return origin + step * np.arange(count, dtype=np.float64)


def _within_reach(traffic: Traffic, rules: BandRules, speed: float, alt: tuple[float, float], climb: float) -> Traffic:
    """The aircraft that could come within the minima of an ownship flying at most ``speed``, between
    altitudes ``alt`` and climbing or sinking at most ``climb``, within the look-ahead: no other can
    change a candidate's answer."""
    t = rules.lookahead_s
    reach_h = rules.h_m + (speed + np.hypot(traffic.vx, traffic.vy)) * t
    low = alt[0] - climb * t - rules.v_m - np.abs(traffic.vz) * t
    high = alt[1] + climb * t + rules.v_m + np.abs(traffic.vz) * t
    near = (np.hypot(traffic.dx, traffic.dy) < reach_h) & (traffic.alt_m > low) & (traffic.alt_m < high)
    return Traffic(*(getattr(traffic, name)[near] for name in ("dx", "dy", "alt_m", "vx", "vy", "vz")))


def bands(own: Ownship, traffic: Traffic, rules: BandRules) -> Bands:
    """The ranges of each dimension, each flown alone from now (the others held)."""
    heading = math.radians(own.track_deg)
    vx0, vy0 = own.gs_mps * math.sin(heading), own.gs_mps * math.cos(heading)
    here, climb = (own.alt_m, own.alt_m), abs(own.vz_mps)
    steady = _within_reach(traffic, rules, own.gs_mps, here, climb)
    faster = _within_reach(traffic, rules, max(own.gs_mps, rules.gs_range_mps[1]), here, climb)
    steeper = _within_reach(traffic, rules, own.gs_mps, here, max(climb, *map(abs, rules.vs_range_mps)))
    anywhere = _within_reach(traffic, rules, own.gs_mps, rules.alt_range_m, 0.0)

    def held(n: int, value: float) -> Floats:
        return np.full(n, value, dtype=np.float64)

    tracks = np.sort(np.remainder(own.track_deg + _steps(0.0, 360.0 - rules.track_step_deg, rules.track_step_deg), 360))
    rad = np.radians(tracks)
    n = len(tracks)
    by_track = conflicts(
        held(n, own.alt_m), own.gs_mps * np.sin(rad), own.gs_mps * np.cos(rad), held(n, own.vz_mps), steady, rules
    )
    speeds = _steps(*rules.gs_range_mps, rules.gs_step_mps, through=own.gs_mps)
    n = len(speeds)
    by_speed = conflicts(
        held(n, own.alt_m), speeds * math.sin(heading), speeds * math.cos(heading), held(n, own.vz_mps), faster, rules
    )
    rates = _steps(*rules.vs_range_mps, rules.vs_step_mps, through=own.vz_mps)
    n = len(rates)
    by_rate = conflicts(held(n, own.alt_m), held(n, vx0), held(n, vy0), rates, steeper, rules)
    levels = _steps(*rules.alt_range_m, rules.alt_step_m)
    n = len(levels)
    by_level = conflicts(levels, held(n, vx0), held(n, vy0), held(n, 0.0), anywhere, rules)
    return Bands(
        track_deg=_runs(tracks, by_track),
        gs_mps=_runs(speeds, by_speed),
        vs_mps=_runs(rates, by_rate),
        alt_m=_runs(levels, by_level),
    )


def traffic_around(s: Extrapolated, own: int) -> Traffic:
    """Every other live aircraft of a picture as the ownship ``own`` (an index into ``s``) sees it."""
    others = np.flatnonzero(np.arange(len(s.lat)) != own).astype(np.int64)
    g = geometry(s, np.full(len(others), own, dtype=np.int64), others)
    return Traffic(g.dx, g.dy, s.alt_m[others], s.vx[others], s.vy[others], s.vz[others])


def ownship(s: Extrapolated, own: int) -> Ownship:
    track = math.degrees(math.atan2(float(s.vx[own]), float(s.vy[own]))) % 360.0
    return Ownship(float(s.alt_m[own]), float(math.hypot(s.vx[own], s.vy[own])), track, float(s.vz[own]))
