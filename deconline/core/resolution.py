"""Coordinated resolution: complementary manoeuvres for both aircraft of a warning between two parties.

TCAS coordinates two aircraft so that their advisories complement each other; two operations
centres that share no command cannot, but the line sees both aircraft and can (issue 23). For the
pair ``a``, ``b`` of a picture it searches pairs of manoeuvres of one axis, one for each aircraft:

- *turns*: each track changed by 1 to 180 degrees (steps of ``rules.track_step_deg``), speed and
  vertical speed held;
- *vertical speeds*: one aircraft's vertical speed raised and the other's lowered (steps of
  ``rules.vs_step_mps`` from its own, within ``rules.vs_range_mps``), track and speed held.

Each aircraft is asked for at least one step: the line asks both sides, and "hold" is no sense.
The senses are complementary: the two changes add up in the pair's relative motion instead of
cancelling. Vertically that is one up and one down. Horizontally it depends on how the two fly:
within 90 degrees of each other (in step, overtaking, converging from the side) one turns left
and the other right; closer to head-on both turn the same way, each its own (the rules of the air
have both turn right), since there one left and one right carry both aircraft to the same side.
Exactly 90 degrees apart, either.

The test is guidance's (DAIDALUS CD3D): a cylinder of the minima (the vertical one less
``VERTICAL_TOLERANCE_M``), instantaneous manoeuvres, straight lines from now over the look-ahead,
on the tactical engine's flat earth at the pair's mean latitude. The whole grid of (change of
``a``, change of ``b``) goes through it at once. The pair chosen, in this order of preference:

1. it clears the conflict; failing any that does (a *recovery*: the pair is already inside the
   cylinder, or too close and fast for any pair within reach), it regains separation within the
   look-ahead and within ``RECOVERY_SLACK_S`` of the soonest pair (by time alone: guidance's
   recovery ranges, for one aircraft, first keep the widest miss, since one aircraft alone can
   recover soonest by flying straight through); ``None`` when no pair regains it within the
   look-ahead;
2. each manoeuvre is also clear of every other live aircraft holding its course (``clear_of_others``);
3. the smallest change: the larger of the two, then their sum, each as a fraction of its axis's
   reach, 180 degrees of turn or the vertical speed limit (6,000 ft/min: then 3 degrees weigh as
   much as 100 ft/min). The scale on which each axis runs from nothing to the most a crew is asked;
4. on a tie, a turn before a vertical pair (a turn keeps each aircraft in its filed altitude band),
   a right turn of ``a`` first (both right in a head-on, as the rules of the air), the higher
   aircraft climbing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from deconline.core.guidance import BandRules, Traffic, ownship, traffic_around
from deconline.core.tactical import VERTICAL_TOLERANCE_M, Extrapolated, below, geometry, horizontal_window

Floats = NDArray[np.float64]
Mask = NDArray[np.bool_]
Axis = Literal["track", "vertical_speed"]
Sense = Literal["left", "right", "up", "down"]

TURN_REACH_DEG = 180.0  # the largest turn asked: a reversal
RECOVERY_SLACK_S = 1.0  # a recovery within this of the soonest is as soon (guidance's slack too)


@dataclass(frozen=True)
class Manoeuvre:
    """One aircraft's part, flown at once from now: a new track (degrees true, 0-360) or vertical
    speed (m/s) in ``to``; ``change`` is its size (degrees, or m/s), ``sense`` its direction (a
    vertical ``up`` is a higher vertical speed than now, which may still be a descent)."""

    axis: Axis
    sense: Sense
    to: float
    change: float


@dataclass(frozen=True)
class Resolution:
    """Both parts. ``clear_of_others``: each part is also conflict-free against every other live
    aircraft holding its course. ``recovery_s``: ``None`` when the two parts together keep the pair
    clear over the look-ahead; otherwise no pair could, and they regain separation by then (s)."""

    a: Manoeuvre
    b: Manoeuvre
    clear_of_others: bool
    recovery_s: float | None = None


@dataclass(frozen=True)
class _Side:
    """One aircraft's candidates of one axis and sense, smallest first; the velocity on the other
    axis, common to all, once (length 1)."""

    axis: Axis
    sense: Sense
    to: Floats
    change: Floats
    cost: Floats  # the change as a fraction of the axis's reach
    vx: Floats
    vy: Floats
    vz: Floats
    free: Mask  # clear of every other aircraft holding its course


def _window(dx: Floats, dy: Floats, dz: Floats, dvx: Floats, dvy: Floats, dvz: Floats, rules: BandRules) -> tuple[
    Floats, Floats
]:  # fmt: skip
    """When the second aircraft is inside the first's cylinder (relative position and velocity,
    arrays broadcast together): one interval, as both axes' are one each."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        h_lo, h_hi = horizontal_window(dx, dy, dvx, dvy, rules.h_m)
        v_lo, v_hi = below(dz, dvz, rules.v_m - VERTICAL_TOLERANCE_M)
    return np.maximum(h_lo, v_lo), np.minimum(h_hi, v_hi)


def _conflict(start: Floats, end: Floats, rules: BandRules) -> Mask:
    return np.asarray((start < end) & (end > 0.0) & (start < rules.lookahead_s), dtype=np.bool_)


def _clear_of(traffic: Traffic, alt: float, vx: Floats, vy: Floats, vz: Floats, rules: BandRules) -> Mask:
    """Which candidates keep clear of every aircraft of ``traffic`` flying straight on. A candidate
    changes one axis; the other is given once (arrays of length 1), so each aircraft's window on it
    is common to all candidates, and aircraft never near on it within the look-ahead drop out first."""
    count = max(len(vx), len(vz))
    if len(traffic.dx) == 0:
        return np.ones(count, dtype=np.bool_)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if len(vz) == 1:  # turns: and those too far for any turn to close in time
            lo, hi = below(traffic.alt_m - alt, traffic.vz - vz[0], rules.v_m - VERTICAL_TOLERANCE_M)
            closing = float(np.max(np.hypot(vx, vy))) + np.hypot(traffic.vx, traffic.vy)
            near = _conflict(lo, hi, rules) & (
                np.hypot(traffic.dx, traffic.dy) < rules.h_m + closing * rules.lookahead_s
            )
        else:
            lo, hi = horizontal_window(traffic.dx, traffic.dy, traffic.vx - vx[0], traffic.vy - vy[0], rules.h_m)
            near = _conflict(lo, hi, rules)
    start, end = _window(
        traffic.dx[near][None, :], traffic.dy[near][None, :], traffic.alt_m[near][None, :] - alt,
        traffic.vx[near][None, :] - vx[:, None], traffic.vy[near][None, :] - vy[:, None],
        traffic.vz[near][None, :] - vz[:, None], rules,
    )  # fmt: skip
    return np.asarray(~_conflict(start, end, rules).any(axis=1), dtype=np.bool_)


def _sides(s: Extrapolated, i: int, other: int, rules: BandRules) -> dict[Sense, _Side]:
    """Aircraft ``i``'s candidates in each sense, each checked against every aircraft but ``other``;
    the velocity on the axis a sense leaves alone is given once (length 1)."""
    own = ownship(s, i)
    around = traffic_around(s, i)
    keep = np.flatnonzero(np.arange(len(s.lat)) != i) != other
    traffic = Traffic(
        around.dx[keep], around.dy[keep], around.alt_m[keep], around.vx[keep], around.vy[keep], around.vz[keep]
    )
    turns = rules.track_step_deg * np.arange(1, math.floor(TURN_REACH_DEG / rules.track_step_deg + 1e-9) + 1.0)
    lo, hi = rules.vs_range_mps
    rates = rules.vs_step_mps * np.arange(1, math.floor((hi - lo) / rules.vs_step_mps + 1e-9) + 1.0)
    sides: dict[Sense, _Side] = {}
    turning: list[tuple[Sense, float]] = [("right", 1.0), ("left", -1.0)]
    for sense, sign in turning:
        to = np.remainder(own.track_deg + sign * turns, 360.0)
        heading, held = np.radians(to), np.array([own.vz_mps])
        vx, vy = own.gs_mps * np.sin(heading), own.gs_mps * np.cos(heading)
        free = _clear_of(traffic, own.alt_m, vx, vy, held, rules)
        sides[sense] = _Side("track", sense, to, turns, turns / TURN_REACH_DEG, vx, vy, held, free)
    climbing: list[tuple[Sense, float]] = [("up", 1.0), ("down", -1.0)]
    for sense, sign in climbing:
        to = own.vz_mps + sign * rates
        within = (to >= lo - 1e-9) & (to <= hi + 1e-9)
        to, change = to[within], rates[within]
        vx, vy = np.array([float(s.vx[i])]), np.array([float(s.vy[i])])
        free = _clear_of(traffic, own.alt_m, vx, vy, to, rules)
        sides[sense] = _Side("vertical_speed", sense, to, change, change / max(abs(lo), abs(hi)), vx, vy, to, free)
    return sides


def _options(s: Extrapolated, a: int, b: int) -> list[tuple[Sense, Sense]]:
    """The complementary pairs of senses (``a``'s, ``b``'s), in the order ties are settled."""
    dot = float(s.vx[a] * s.vx[b] + s.vy[a] * s.vy[b])
    turns: list[tuple[Sense, Sense]] = [("right", "right"), ("right", "left"), ("left", "right"), ("left", "left")]
    if dot > 0:  # alike: a turn of each to its own side moves the relative velocity the same way
        turns = [t for t in turns if t[0] != t[1]]
    elif dot < 0:  # closing head-on: each turning its own way would cancel out
        turns = [t for t in turns if t[0] == t[1]]
    vertical: list[tuple[Sense, Sense]] = [("up", "down"), ("down", "up")]
    if s.alt_m[a] < s.alt_m[b]:
        vertical.reverse()
    return turns + vertical


def _manoeuvre(side: _Side, k: int) -> Manoeuvre:
    return Manoeuvre(side.axis, side.sense, float(side.to[k]), float(side.change[k]))


def resolve(s: Extrapolated, a: int, b: int, rules: BandRules) -> Resolution | None:
    """The complementary pair of manoeuvres for aircraft ``a`` and ``b`` (indices into ``s``) that
    together clear their conflict with the smallest change (the module's order of preference), or
    that regain separation soonest when none clears it; ``None`` when none regains it in time."""
    if a == b:
        raise ValueError("a resolution needs two aircraft")
    g = geometry(s, np.array([a], dtype=np.int64), np.array([b], dtype=np.int64))
    mine, theirs = _sides(s, a, b, rules), _sides(s, b, a, rules)
    grids: list[tuple[_Side, _Side, Mask, Floats]] = []  # each pair of senses: conflict, and when it ends
    for sense_a, sense_b in _options(s, a, b):
        sa, sb = mine[sense_a], theirs[sense_b]
        if len(sa.to) and len(sb.to):
            start, end = _window(
                g.dx, g.dy, g.dz, sb.vx[None, :] - sa.vx[:, None], sb.vy[None, :] - sa.vy[:, None],
                sb.vz[None, :] - sa.vz[:, None], rules,
            )  # fmt: skip
            grids.append((sa, sb, _conflict(start, end, rules), end))
    if any(not conflict.all() for _, _, conflict, _ in grids):
        eligible = [~conflict for _, _, conflict, _ in grids]
        recovering = False
    else:  # a recovery: regain separation within the slack of the soonest, within the look-ahead
        soonest = min((float(end.min()) for *_, end in grids), default=math.inf)
        if soonest > rules.lookahead_s:
            return None
        eligible = [end <= min(soonest + RECOVERY_SLACK_S, rules.lookahead_s) for *_, end in grids]
        recovering = True
    best: tuple[tuple[float, ...], Resolution] | None = None
    for order, ((sa, sb, _, end), usable) in enumerate(zip(grids, eligible, strict=True)):
        if not usable.any():
            continue
        crowded = ~(sa.free[:, None] & sb.free[None, :])
        larger = np.round(np.maximum.outer(sa.cost, sb.cost), 9)
        total = np.round(np.add.outer(sa.cost, sb.cost), 9)
        cells = np.flatnonzero(usable)
        cell = int(cells[np.lexsort((total.ravel()[cells], larger.ravel()[cells], crowded.ravel()[cells]))[0]])
        i, j = divmod(cell, len(sb.to))
        key = (float(crowded[i, j]), float(larger[i, j]), float(total[i, j]), float(order))
        if best is None or key < best[0]:
            recovery = float(end[i, j]) if recovering else None
            best = (key, Resolution(_manoeuvre(sa, i), _manoeuvre(sb, j), not bool(crowded[i, j]), recovery))
    return None if best is None else best[1]


def flown(s: Extrapolated, i: int, manoeuvre: Manoeuvre) -> tuple[float, float, float]:
    """Aircraft ``i``'s velocity (east, north, up; m/s) once it flies ``manoeuvre``."""
    if manoeuvre.axis == "track":
        gs, heading = math.hypot(s.vx[i], s.vy[i]), math.radians(manoeuvre.to)
        return gs * math.sin(heading), gs * math.cos(heading), float(s.vz[i])
    return float(s.vx[i]), float(s.vy[i]), manoeuvre.to


def clears(s: Extrapolated, a: int, b: int, resolution: Resolution, rules: BandRules) -> bool:
    """Whether the two parts flown together from now keep ``a`` and ``b`` clear over the look-ahead
    (for a recovery: regain separation by ``recovery_s``): the engine's check, for re-checking a
    proposal against a newer picture."""
    g = geometry(s, np.array([a], dtype=np.int64), np.array([b], dtype=np.int64))
    (ax, ay, az), (bx, by, bz) = flown(s, a, resolution.a), flown(s, b, resolution.b)
    start, end = _window(g.dx, g.dy, g.dz, np.array([bx - ax]), np.array([by - ay]), np.array([bz - az]), rules)
    if not _conflict(start, end, rules)[0]:
        return True
    return resolution.recovery_s is not None and bool(end[0] <= resolution.recovery_s + 1e-6)
