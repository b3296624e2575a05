"""Guidance: which of one's own manoeuvres keep clear of every other aircraft and hazard ("bands").

Semantics of DAIDALUS's CD3D configuration (NASA, DO-365): the conflict volume is a cylinder of
the minima, manoeuvres are instantaneous, and each candidate value of one dimension (track angle,
ground speed, vertical speed, or a level altitude reached at once) is flown from now over the
look-ahead with the other dimensions unchanged; a candidate conflicts when the ownship would lose
separation with any other aircraft (flying straight on) within the look-ahead, or would enter an
active hazard. Candidates step 1 degree, 5 kt and 100 ft/min from the aircraft's own value, and
100 ft from 100 ft, as DAIDALUS's do. Consecutive candidates of the same answer make one range.

Hazards: a candidate conflicts with a hazard when its straight path, from the ownship's position
over the look-ahead, is inside the volume (footprint, altitude band, time window, edges included)
at some time within the look-ahead, exactly as ``core.areas.hazard_entries`` decides for a track.

Recovery: when every candidate of a dimension conflicts, some are marked ``recovery`` (they still
conflict): the soonest way out that keeps the most room. A candidate's *miss* is the smallest
distance, on the axis it changes (horizontal for track and speed, vertical for vertical speed and
level), by which it passes an aircraft it conflicts with while in conflict, as a fraction of that
axis's minimum (none inside a hazard); its *recovery time* is when it is last in conflict within
the look-ahead (the latest end of its conflict windows, capped at the look-ahead). Of the
candidates whose miss is within ``RECOVERY_MARGIN`` (0.1) of the widest, those whose recovery time
is within ``RECOVERY_SLACK_S`` (1 s) of the soonest are the recovery ones; none when even that is
not before the look-ahead ends. The soonest alone would fly through a head-on (over quickest, a few
hundred metres apart): the miss comes first, as DAIDALUS's shrinking of the minima has it, but the
minima here are never shrunk (tests/data/daidalus/README.md compares the two).

Pure: relative positions and velocities in, ranges out. The frame is the tactical engine's: each
other aircraft's position relative to the ownship on the flat earth at the pair's mean latitude.
:func:`guidance_many` serves many ownships of one picture at once (the evaluator's alerts): one
neighbour query for all, then the candidate passes of ``core.guidance_windows`` on small arrays.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from deconline.core.guidance_hazards import HazardOwns, by_hazard
from deconline.core.guidance_near import Neighbours
from deconline.core.guidance_windows import FREE, Candidates, Grid, Owns, Pairs, Times, clear_times
from deconline.core.tactical import Extrapolated, geometry
from deconline.core.volumes import Volume

KT = 1852.0 / 3600.0
FT = 0.3048
FPM = FT / 60.0
RECOVERY_SLACK_S = 1.0
ALL_PAIRS_UP_TO = 5_000  # ownships x aircraft: fewer go to the exact tests without the neighbour grid
GROUP = 64  # ownships per pass of guidance_many: arrays of tens of thousands, not millions, of elements
RECOVERY_MARGIN = 0.1  # of the minimum: DAIDALUS's step when it shrinks the minima for recovery
DIMENSIONS = ("track_deg", "gs_mps", "vs_mps", "alt_m")

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


class Range(NamedTuple):
    """The lowest and highest candidate of a run, whether they conflict, and whether they are the
    soonest way out when everything conflicts (``recovery`` implies ``conflict``)."""

    lo: float
    hi: float
    conflict: bool
    recovery: bool = False


@dataclass(frozen=True)
class Ownship:
    """The aircraft given guidance; its position (degrees) is needed only against hazards."""

    alt_m: float
    gs_mps: float
    track_deg: float
    vz_mps: float
    lat_deg: float = math.nan
    lon_deg: float = math.nan


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


def _grid(low: float, high: float, step: float, through: Floats | None, k: int) -> Grid:
    """Candidates every ``step`` within ``[low, high]``: from ``low``, or through each ownship's
    current value ``through`` (as DAIDALUS steps from the aircraft's own value, so "as you are" is a
    candidate)."""
    origin = np.full(k, low) if through is None else through - step * np.floor((through - low) / step + 1e-9)
    count = (np.floor((high - origin) / step + 1e-9) + 1).astype(np.int64)
    return Grid(origin, step, count, int(count.max(initial=0)))


def _candidates(owns: Owns, rules: BandRules) -> dict[str, Candidates]:
    """Each dimension's grid and its candidates' own states, for every ownship."""
    k = len(owns.alt)
    step = rules.track_step_deg
    turns = _grid(0.0, 360.0 - step, step, None, k)
    track = Grid(owns.track_deg, step, turns.count, turns.size, circular=True)
    rad = np.radians(track.values())
    speed = _grid(*rules.gs_range_mps, rules.gs_step_mps, owns.gs, k)
    rate = _grid(*rules.vs_range_mps, rules.vs_step_mps, owns.vz, k)
    level = _grid(*rules.alt_range_m, rules.alt_step_m, None, k)
    s, w, a = speed.values(), rate.values(), level.values()
    heading = owns.track_rad[:, None]
    return {
        "track_deg": Candidates(track, owns.gs[:, None] * np.sin(rad), owns.gs[:, None] * np.cos(rad)),
        "gs_mps": Candidates(speed, s * np.sin(heading), s * np.cos(heading)),
        "vs_mps": Candidates(rate, np.broadcast_to(owns.alt[:, None], w.shape), w),
        "alt_m": Candidates(level, a, np.zeros_like(a)),
    }


def _owns(ships: Sequence[Ownship]) -> Owns:
    """Ownships as arrays, velocities as the single-ownship path computes them (the same bits)."""
    heading = [math.radians(o.track_deg) for o in ships]
    return Owns(
        alt=np.array([o.alt_m for o in ships], dtype=np.float64),
        gs=np.array([o.gs_mps for o in ships], dtype=np.float64),
        track_deg=np.array([o.track_deg for o in ships], dtype=np.float64),
        track_rad=np.array(heading, dtype=np.float64),
        vx=np.array([o.gs_mps * math.sin(h) for o, h in zip(ships, heading, strict=True)], dtype=np.float64),
        vy=np.array([o.gs_mps * math.cos(h) for o, h in zip(ships, heading, strict=True)], dtype=np.float64),
        vz=np.array([o.vz_mps for o in ships], dtype=np.float64),
    )


def _ranges(
    values: Floats, clear: Floats, margin: Floats, valid: NDArray[np.bool_], lookahead: float
) -> list[list[Range]]:
    """Each ownship's runs of candidates (rows, in ascending value) with the same answer, recovery
    marked where every candidate of the row conflicts (``margin``: only those rows are read)."""
    conflict = clear > FREE
    everything = np.all(conflict | ~valid, axis=1)[:, None]
    widest = np.max(np.where(valid, margin, -math.inf), axis=1)[:, None]
    eligible = valid & (margin >= widest - RECOVERY_MARGIN)
    soonest = np.min(np.where(eligible, clear, math.inf), axis=1)[:, None]
    recovery = everything & (soonest < lookahead) & eligible & (clear <= soonest + RECOVERY_SLACK_S)
    state = np.where(valid, conflict.astype(np.int64) + recovery, -1)
    change = np.ones(state.shape, dtype=np.bool_)
    change[:, 1:] = state[:, 1:] != state[:, :-1]
    rows, starts = np.nonzero(change & valid)
    ends = np.append(starts[1:], 0) - 1  # a run ends before the next one of its row starts...
    last = np.append(rows[1:] != rows[:-1], True)
    ends = np.where(last, valid.sum(axis=1)[rows] - 1, ends)  # ...or at the row's last valid candidate
    first = state[rows, starts]
    made = list(
        map(Range._make, zip(values[rows, starts].tolist(), values[rows, ends].tolist(), (first > 0).tolist(),
                             (first > 1).tolist(), strict=True))
    )  # fmt: skip
    cuts = np.searchsorted(rows, np.arange(len(values) + 1)).tolist()
    return [made[a:b] for a, b in itertools.pairwise(cuts)]


def _bands(
    ships: Sequence[Ownship],
    owns: Owns,
    cands: dict[str, Candidates],
    found: dict[str, Times],
    rules: BandRules,
    hazards: Sequence[Volume],
    now: float,
) -> list[Bands]:
    """The bands of each ownship from its candidates' times against the aircraft, and the hazards."""
    inside = {d: np.full(found[d].clear.shape, FREE) for d in DIMENSIONS}
    if hazards:
        lat = np.array([o.lat_deg for o in ships], dtype=np.float64)
        lon = np.array([o.lon_deg for o in ships], dtype=np.float64)
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
            raise ValueError("guidance against hazards needs the ownship's position (lat_deg, lon_deg)")
        inside = by_hazard(HazardOwns(owns, lat, lon), cands, hazards, now, rules.lookahead_s)
    per_dimension = []
    for d in DIMENSIONS:
        grid = cands[d].grid
        values, valid = grid.values(), grid.valid()
        clear = np.maximum(found[d].clear, inside[d])
        everything = np.all((clear > FREE) | ~valid, axis=1)
        margin = np.where(inside[d] > FREE, 0.0, found[d].margins(everything))  # inside a hazard: no margin
        if grid.circular:  # ascending values: each row starts at its first candidate past north
            order = (np.argmin(values, axis=1)[:, None] + np.arange(grid.size)[None, :]) % grid.size
            values, clear, margin = (np.take_along_axis(a, order, 1) for a in (values, clear, margin))
        per_dimension.append(_ranges(values, clear, margin, valid, rules.lookahead_s))
    return [Bands(*ranges) for ranges in zip(*per_dimension, strict=True)]


def _times(owns: Owns, pairs: Pairs, cands: dict[str, Candidates], rules: BandRules) -> dict[str, Times]:
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return clear_times(owns, pairs, cands, rules.h_m, rules.v_m, rules.lookahead_s)


def bands(own: Ownship, traffic: Traffic, rules: BandRules, hazards: Sequence[Volume] = (), now: float = 0.0) -> Bands:
    """The ranges of each dimension, each flown alone from now (the others held); ``now`` is the
    time (s, as the hazards' windows) the ownship's state is for."""
    pairs = Pairs(
        np.zeros(len(traffic.dx), dtype=np.int64), traffic.dx, traffic.dy, traffic.alt_m, traffic.vx, traffic.vy,
        traffic.vz,
    )  # fmt: skip
    owns = _owns([own])
    cands = _candidates(owns, rules)
    return _bands([own], owns, cands, _times(owns, pairs, cands, rules), rules, hazards, now)[0]


def guidance_many(
    s: Extrapolated, owns: Sequence[int], rules: BandRules, hazards: Sequence[Volume] = (), now: float = 0.0
) -> list[Bands]:
    """:func:`bands` of each ownship ``owns`` (indices into ``s``) against every other aircraft of
    the picture and the hazards, the same answers, in one pass: aircraft out of every candidate's
    reach are never looked at."""
    if len(owns) == 0:
        return []
    index = np.asarray(owns, dtype=np.int64)
    ships = [ownship(s, int(i)) for i in index]
    batch = _owns(ships)
    cands = _candidates(batch, rules)
    few = len(s.lat) * len(index) <= ALL_PAIRS_UP_TO
    near = None if few else Neighbours(s, index, batch, rules.gs_range_mps[1], rules.h_m, rules.v_m, rules.lookahead_s)
    parts = []
    for start in range(0, len(index), GROUP):
        rows = slice(start, start + GROUP)
        if near is None:  # a few: every pair (the exact tests drop the far ones as cheaply)
            k, j = np.divmod(np.arange(len(index[rows]) * len(s.lat), dtype=np.int64), len(s.lat))
            other = j != index[rows][k]
            k, j = k[other], j[other]
        else:
            k, j = near.pairs(rows)
        g = geometry(s, index[rows][k], j)
        pairs = Pairs(k, g.dx, g.dy, s.alt_m[j], s.vx[j], s.vy[j], s.vz[j])
        parts.append(_times(batch.rows(rows), pairs, {d: c.rows(rows) for d, c in cands.items()}, rules))
    found = {d: Times.join([p[d] for p in parts]) for d in DIMENSIONS}
    return _bands(ships, batch, cands, found, rules, hazards, now)


def traffic_around(s: Extrapolated, own: int) -> Traffic:
    """Every other live aircraft of a picture as the ownship ``own`` (an index into ``s``) sees it."""
    others = np.flatnonzero(np.arange(len(s.lat)) != own).astype(np.int64)
    g = geometry(s, np.full(len(others), own, dtype=np.int64), others)
    return Traffic(g.dx, g.dy, s.alt_m[others], s.vx[others], s.vy[others], s.vz[others])


def ownship(s: Extrapolated, own: int) -> Ownship:
    """Aircraft ``own`` of a picture as an ownship, with its position (for hazards)."""
    track = math.degrees(math.atan2(float(s.vx[own]), float(s.vy[own]))) % 360.0
    return Ownship(
        float(s.alt_m[own]), float(math.hypot(s.vx[own], s.vy[own])), track, float(s.vz[own]),
        math.degrees(float(s.lat[own])), math.degrees(float(s.lon[own])),
    )  # fmt: skip
