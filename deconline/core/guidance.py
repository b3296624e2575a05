"""Guidance: which of one's own manoeuvres keep clear of every other aircraft ("bands").

Semantics of DAIDALUS's CD3D configuration (NASA, DO-365): the conflict volume is a cylinder of
the minima, manoeuvres are instantaneous, and each candidate value of one dimension (track angle,
ground speed, vertical speed, or a level altitude reached at once) is flown from now over the
look-ahead with the other dimensions unchanged; a candidate conflicts when the ownship would lose
separation with any other aircraft (flying straight on) within the look-ahead. Candidates step
1 degree, 5 kt and 100 ft/min from the aircraft's own value, and 100 ft from 100 ft, as DAIDALUS's
do. Consecutive candidates of the same answer make one range.

A candidate changes one axis only, so the other axis's window of each aircraft is common to all
candidates: aircraft that are never near on that axis within the look-ahead drop out first, and
only the rest go through the candidates x aircraft pass. Pure: relative positions and velocities
in, ranges out. The frame is the tactical engine's: each
other aircraft's position relative to the ownship on the flat earth at the pair's mean latitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deconline.core.tactical import VERTICAL_TOLERANCE_M, Extrapolated, below, geometry, horizontal_window

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


def _overlap(lo: Floats, hi: Floats, other_lo: Floats, other_hi: Floats, lookahead: float) -> NDArray[np.bool_]:
    start, end = np.maximum(lo, other_lo), np.minimum(hi, other_hi)
    return np.asarray((start < end) & (end > 0.0) & (start < lookahead), dtype=np.bool_)


def _turning(own: Ownship, vx: Floats, vy: Floats, traffic: Traffic, rules: BandRules) -> NDArray[np.bool_]:
    """Candidates that change the horizontal velocity only (track, speed): each aircraft's vertical
    window is the candidates' common one, so aircraft never vertically near within the look-ahead,
    or too far for any candidate to reach, drop out before the candidates x aircraft pass."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        v_lo, v_hi = below(traffic.alt_m - own.alt_m, traffic.vz - own.vz_mps, rules.v_m - VERTICAL_TOLERANCE_M)
        near = (v_lo < v_hi) & (v_hi > 0.0) & (v_lo < rules.lookahead_s)
        # ...and out of reach of the fastest candidate: no candidate can close the distance in time
        speed = float(np.max(np.hypot(vx, vy), initial=0.0)) + np.hypot(traffic.vx, traffic.vy)
        near &= np.hypot(traffic.dx, traffic.dy) < rules.h_m + speed * rules.lookahead_s
        px, py = traffic.dx[near][None, :], traffic.dy[near][None, :]
        rvx, rvy = traffic.vx[near][None, :] - vx[:, None], traffic.vy[near][None, :] - vy[:, None]
        h_lo, h_hi = horizontal_window(px, py, rvx, rvy, rules.h_m)
        hit = _overlap(h_lo, h_hi, v_lo[near][None, :], v_hi[near][None, :], rules.lookahead_s)
    return np.asarray(hit.any(axis=1), dtype=np.bool_)


def _climbing(own: Ownship, alt: Floats, vz: Floats, traffic: Traffic, rules: BandRules) -> NDArray[np.bool_]:
    """Candidates that change the vertical only (vertical speed, level): each aircraft's horizontal
    window is the candidates' common one, so only aircraft on a horizontally converging course
    within the look-ahead take part."""
    heading = math.radians(own.track_deg)
    vx, vy = own.gs_mps * math.sin(heading), own.gs_mps * math.cos(heading)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        h_lo, h_hi = horizontal_window(traffic.dx, traffic.dy, traffic.vx - vx, traffic.vy - vy, rules.h_m)
        near = (h_lo < h_hi) & (h_hi > 0.0) & (h_lo < rules.lookahead_s)
        dz = traffic.alt_m[near][None, :] - alt[:, None]
        dvz = traffic.vz[near][None, :] - vz[:, None]
        v_lo, v_hi = below(dz, dvz, rules.v_m - VERTICAL_TOLERANCE_M)
        hit = _overlap(h_lo[near][None, :], h_hi[near][None, :], v_lo, v_hi, rules.lookahead_s)
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


def bands(own: Ownship, traffic: Traffic, rules: BandRules) -> Bands:
    """The ranges of each dimension, each flown alone from now (the others held)."""
    heading = math.radians(own.track_deg)
    tracks = np.sort(np.remainder(own.track_deg + _steps(0.0, 360.0 - rules.track_step_deg, rules.track_step_deg), 360))
    rad = np.radians(tracks)
    speeds = _steps(*rules.gs_range_mps, rules.gs_step_mps, through=own.gs_mps)
    rates = _steps(*rules.vs_range_mps, rules.vs_step_mps, through=own.vz_mps)
    levels = _steps(*rules.alt_range_m, rules.alt_step_m)
    by_track = _turning(own, own.gs_mps * np.sin(rad), own.gs_mps * np.cos(rad), traffic, rules)
    by_speed = _turning(own, speeds * math.sin(heading), speeds * math.cos(heading), traffic, rules)
    by_rate = _climbing(own, np.full(len(rates), own.alt_m), rates, traffic, rules)
    by_level = _climbing(own, levels, np.zeros(len(levels)), traffic, rules)
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
