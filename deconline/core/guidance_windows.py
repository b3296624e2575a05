"""The candidates x aircraft pass of guidance: for each ownship and candidate, when it is last in
conflict with another aircraft within the look-ahead (the semantics are in ``core.guidance``).

A candidate changes one axis only, so each pair's window on the other axis (vertical for track and
speed, horizontal for vertical speed and level) is common to all of a dimension's candidates. Within
that window the candidates that could conflict with the aircraft form one arc of track or one
interval of speed, rate or level, bounded in closed form and conservatively (a wider bound costs
time, never an answer). Only the (candidate, aircraft) pairs inside those bounds go through the exact
window test, so an ownship costs its close traffic times a few dozen candidates instead of every
aircraft times every candidate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import NDArray

from deconline.core.neighbours import expand_ranges
from deconline.core.tactical import VERTICAL_TOLERANCE_M, below, horizontal_window

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]

FREE = -math.inf  # the clear time of a candidate in conflict with nothing
_EPS = 1e-9  # relative slack of the bounds: a candidate on a bound's edge is tested, not dropped
_HUGE = 1e12  # a bound past every grid (a window starting now makes some bounds infinite)


@dataclass(frozen=True)
class Grid:
    """One dimension's candidates for ``K`` ownships: candidate ``c`` of ownship ``k`` is
    ``origin[k] + step * c`` (modulo 360 when ``circular``), for ``c < count[k]``."""

    origin: Floats
    step: float
    count: Ints
    size: int  # columns: the most candidates of any ownship
    circular: bool = False

    def rows(self, which: slice) -> Grid:
        return Grid(self.origin[which], self.step, self.count[which], self.size, self.circular)

    def values(self) -> Floats:
        v = self.origin[:, None] + self.step * np.arange(self.size, dtype=np.float64)[None, :]
        return np.remainder(v, 360.0) if self.circular else v

    def valid(self) -> Bools:
        return np.asarray(np.arange(self.size)[None, :] < self.count[:, None], dtype=np.bool_)

    def spans(self, own: Ints, lo: Floats, hi: Floats, full: Bools) -> tuple[Ints, Ints, Ints]:
        """Each row's candidates whose value may lie in ``[lo, hi]`` (all of them where ``full``),
        as runs ``(row, first, count)``; a circular grid's arc may give two runs."""
        rows = np.arange(len(own), dtype=np.int64)
        count = self.count[own]
        with np.errstate(invalid="ignore", over="ignore"):
            if not self.circular:
                first = np.ceil(np.clip((lo - self.origin[own]) / self.step, -_HUGE, _HUGE) - _EPS)
                last = np.floor(np.clip((hi - self.origin[own]) / self.step, -_HUGE, _HUGE) + _EPS)
                first = np.where(full, 0, np.maximum(first, 0)).astype(np.int64)
                last = np.where(full, count - 1, np.minimum(last, count - 1)).astype(np.int64)
                return _nonempty(rows, first, last - first + 1)
            start = np.remainder(lo - self.origin[own], 360.0)
            end = start + (hi - lo)
            full = full | (hi - lo >= 360.0 - self.step)
            first = np.ceil(start / self.step - _EPS).astype(np.int64)
            last = np.minimum(np.floor(end / self.step + _EPS), count - 1).astype(np.int64)
            wrapped = np.floor((end - 360.0) / self.step + _EPS).astype(np.int64)  # -1 and less: none
            one = _nonempty(rows, np.where(full, 0, first), np.where(full, count, last - first + 1))
            two = _nonempty(rows, np.zeros_like(rows), np.where(full, 0, np.minimum(wrapped, count - 1) + 1))
            return tuple(np.concatenate(pair) for pair in zip(one, two, strict=True))  # type: ignore[return-value]


def _nonempty(rows: Ints, first: Ints, count: Ints) -> tuple[Ints, Ints, Ints]:
    keep = count > 0
    return rows[keep], first[keep], count[keep]


@dataclass(frozen=True)
class Owns:
    """``K`` ownships as they fly now (velocity east, north, up)."""

    alt: Floats
    gs: Floats
    track_deg: Floats
    track_rad: Floats
    vx: Floats
    vy: Floats
    vz: Floats

    def rows(self, which: slice) -> Owns:
        return Owns(*(getattr(self, f.name)[which] for f in fields(self)))


@dataclass(frozen=True)
class Pairs:
    """``P`` pairs: ownship ``own`` (a row of :class:`Owns`) and another aircraft, its position
    relative to the ownship (east, north), its altitude and its velocity."""

    own: Ints
    dx: Floats
    dy: Floats
    alt: Floats
    vx: Floats
    vy: Floats
    vz: Floats

    def subset(self, keep: Bools | Ints) -> Pairs:
        return Pairs(*(getattr(self, f)[keep] for f in ("own", "dx", "dy", "alt", "vx", "vy", "vz")))


@dataclass(frozen=True)
class Candidates:
    """One dimension's grid and each candidate's own state: horizontal velocity for track and
    speed, altitude and vertical speed for vertical speed and level (``(K, size)`` arrays)."""

    grid: Grid
    first: Floats
    second: Floats

    def rows(self, which: slice) -> Candidates:
        return Candidates(self.grid.rows(which), self.first[which], self.second[which])


def _triples(runs: tuple[Ints, Ints, Ints]) -> tuple[Ints, Ints]:
    """Every (pair, candidate) of the runs, flattened: pair indices and candidate columns."""
    return expand_ranges(*runs)


@dataclass(frozen=True)
class Times:
    """One dimension's conflicts, per ownship and candidate (``(K, size)``): ``clear``, when it is last
    in conflict within the look-ahead (``FREE``: never); and the conflicts themselves, from which
    :meth:`margins` finds by how much each candidate misses (wanted only where every candidate of an
    ownship conflicts, so found only for those)."""

    clear: Floats
    own: Ints  # each conflict's ownship
    cell: Ints  # and its ownship * size + candidate
    start: Floats  # its window within the look-ahead
    stop: Floats
    offset: tuple[Floats, ...]  # where the other aircraft is on the axis the candidate changes: offset + rate t
    rate: tuple[Floats, ...]
    minimum: float

    @staticmethod
    def join(parts: Sequence[Times]) -> Times:
        """The conflicts of consecutive groups of ownships as one."""
        if len(parts) == 1:
            return parts[0]
        rows = np.cumsum([0] + [len(p.clear) for p in parts[:-1]])
        size = parts[0].clear.shape[1]
        axes = len(parts[0].offset)
        return Times(
            clear=np.concatenate([p.clear for p in parts]),
            own=np.concatenate([p.own + first for p, first in zip(parts, rows, strict=True)]),
            cell=np.concatenate([p.cell + first * size for p, first in zip(parts, rows, strict=True)]),
            start=np.concatenate([p.start for p in parts]),
            stop=np.concatenate([p.stop for p in parts]),
            offset=tuple(np.concatenate([p.offset[n] for p in parts]) for n in range(axes)),
            rate=tuple(np.concatenate([p.rate[n] for p in parts]) for n in range(axes)),
            minimum=parts[0].minimum,
        )

    def margins(self, rows: Bools) -> Floats:
        """For the ownships ``rows``, each candidate's smallest miss over its conflicts, as a fraction of
        the minimum: how close ``offset + rate t`` comes to zero within the window (inf: no conflict)."""
        out = np.full(self.clear.size, math.inf)
        which = np.flatnonzero(rows[self.own])
        if len(which):
            offset, rate = [a[which] for a in self.offset], [a[which] for a in self.rate]
            speed2 = sum(w * w for w in rate)
            toward = -sum(p * w for p, w in zip(offset, rate, strict=True)) / np.where(speed2 > 0, speed2, 1.0)
            at = np.clip(toward, self.start[which], self.stop[which])
            miss = np.sqrt(sum((p + w * at) ** 2 for p, w in zip(offset, rate, strict=True))) / self.minimum
            np.minimum.at(out, self.cell[which], miss)
        return out.reshape(self.clear.shape)


def _latest(
    shape: tuple[int, int],
    own: Ints,
    column: Ints,
    window: tuple[Floats, Floats],
    lookahead: float,
    offset: tuple[Floats, ...],
    rate: tuple[Floats, ...],
    minimum: float,
) -> Times:
    """The conflicts of (ownship, candidate, aircraft) triples whose windows lie partly within
    ``(0, lookahead)``."""
    start, end = window
    hit = np.flatnonzero((start < end) & (end > 0.0) & (start < lookahead))
    clear = np.full(shape[0] * shape[1], FREE)
    mine = own[hit]
    cell = mine * shape[1] + column[hit]
    stop = np.minimum(end[hit], lookahead)
    np.maximum.at(clear, cell, stop)
    return Times(
        clear.reshape(shape), mine, cell, np.maximum(start[hit], 0.0), stop, tuple(a[hit] for a in offset),
        tuple(a[hit] for a in rate), minimum,
    )  # fmt: skip


def _window(lo: Floats, hi: Floats, lookahead: float) -> tuple[Floats, Floats, Bools]:
    """A common window clipped to ``[0, lookahead]``, and whether anything of it is left."""
    t0, t1 = np.maximum(lo, 0.0), np.minimum(hi, lookahead)
    return t0, t1, np.asarray(t0 < t1, dtype=np.bool_)


def _between(offset: Floats, rate: Floats, half: float, t0: Floats, t1: Floats) -> tuple[Floats, Floats]:
    """The values ``x`` with ``|offset + (rate - x) t| < half`` for some ``t`` in ``(t0, t1)``,
    ``t0 >= 0``: ``x`` in ``(rate + (offset - half) / t, rate + (offset + half) / t)``, monotonic in
    ``t``, so the bounds are at the ends (a window from now leaves them unbounded)."""
    start = np.maximum(t0, 1e-12)
    low = rate + np.minimum((offset - half) / start, (offset - half) / t1)
    high = rate + np.maximum((offset + half) / start, (offset + half) / t1)
    margin = _EPS * (1.0 + np.abs(low) + np.abs(high))
    return np.clip(low - margin, -_HUGE, _HUGE), np.clip(high + margin, -_HUGE, _HUGE)


@dataclass(frozen=True)
class _Common:
    """Pairs with a dimension's common window: its raw ends ``lo, hi`` (for the exact overlap) and
    its part ``t0 < t1`` within the look-ahead; and each other aircraft's distance and speed."""

    pairs: Pairs
    lo: Floats
    hi: Floats
    t0: Floats
    t1: Floats
    dist: Floats
    speed: Floats

    def subset(self, keep: Bools | Ints) -> _Common:
        return _Common(
            self.pairs.subset(keep), self.lo[keep], self.hi[keep], self.t0[keep], self.t1[keep], self.dist[keep],
            self.speed[keep],
        )  # fmt: skip


def _norm(x: Floats, y: Floats) -> Floats:
    """``|(x, y)|`` (``np.hypot`` guards against overflow nobody's metres need, at 50 times the cost)."""
    return np.asarray(np.sqrt(x * x + y * y))


def clear_times(
    owns: Owns, pairs: Pairs, cands: dict[str, Candidates], h: float, v: float, lookahead: float
) -> dict[str, Times]:
    """Per dimension, ownship and candidate: when it is last in conflict with an aircraft of
    ``pairs`` within the look-ahead (``FREE``: never), and its smallest miss (``_latest``)."""
    o = pairs.own
    limit = v - VERTICAL_TOLERANCE_M
    dist, speed = _norm(pairs.dx, pairs.dy), _norm(pairs.vx, pairs.vy)
    # Track and speed keep the vertical: its window is common, and it bounds how far the fastest
    # candidate can go to meet the aircraft. First the window's ends by plain division (a level pair
    # gets infinities of the right signs, or NaN exactly at the minimum: apart), then exactly.
    dz, dvz = pairs.alt - owns.alt[o], pairs.vz - owns.vz[o]
    ends = ((-limit - dz) / dvz, (limit - dz) / dvz)
    t1 = np.minimum(np.maximum(*ends), lookahead)
    top = cands["gs_mps"].grid
    fastest = np.maximum(owns.gs, top.origin + top.step * (top.count - 1))
    near = (np.maximum(np.minimum(*ends), 0.0) < t1) & (dist - h <= (fastest[o] + speed) * t1 * (1 + _EPS) + 1e-6)
    i = np.flatnonzero(near)
    v_lo, v_hi = below(dz[i], dvz[i], limit)
    vertical = _Common(pairs.subset(i), v_lo, v_hi, *_window(v_lo, v_hi, lookahead)[:2], dist[i], speed[i])
    # Vertical speed and level keep the horizontal velocity: its window is common.
    dvx, dvy = pairs.vx - owns.vx[o], pairs.vy - owns.vy[o]
    i = np.flatnonzero(dist - h <= _norm(dvx, dvy) * lookahead * (1 + _EPS) + 1e-6)
    h_lo, h_hi = horizontal_window(pairs.dx[i], pairs.dy[i], dvx[i], dvy[i], h)
    t0, t1, near = _window(h_lo, h_hi, lookahead)
    keep = np.flatnonzero(near)
    horizontal = _Common(
        pairs.subset(i[keep]), h_lo[keep], h_hi[keep], t0[keep], t1[keep], dist[i[keep]], speed[i[keep]]
    )
    return {
        "track_deg": _by_track(owns, vertical, cands["track_deg"], h, lookahead),
        "gs_mps": _by_speed(owns, vertical, cands["gs_mps"], h, lookahead),
        "vs_mps": _by_vertical(owns, horizontal, cands["vs_mps"], v, lookahead, level=False),
        "alt_m": _by_vertical(owns, horizontal, cands["alt_m"], v, lookahead, level=True),
    }


RING_SLICES = 8  # the vertical window is cut in this many slices to find when the ring can be met


def _ring(c: _Common, gs: Floats, h: float) -> tuple[Floats, Floats, Bools]:
    """The part of the common window in which a track candidate can meet the aircraft: at ``t``
    the ownship is on the circle of radius ``gs t``, so the aircraft's distance ``r(t)`` must be
    within ``h`` of it. ``r(t) - gs t`` changes by at most ``(speed + gs)`` per second, which
    bounds it between the ends of each slice; the slices that may hold a meeting are kept."""
    edges = c.t0[:, None] + (c.t1 - c.t0)[:, None] * np.linspace(0.0, 1.0, RING_SLICES + 1)[None, :]
    p = c.pairs
    gap = _norm(p.dx[:, None] + p.vx[:, None] * edges, p.dy[:, None] + p.vy[:, None] * edges) - gs[:, None] * edges
    width = (c.t1 - c.t0)[:, None] / RING_SLICES
    lowest = 0.5 * (gap[:, 1:] + gap[:, :-1]) - 0.5 * (c.speed + gs)[:, None] * width
    highest = np.maximum(gap[:, 1:], gap[:, :-1])
    slack = h * 1e-6 + 1e-3
    maybe = (lowest < h + slack) & (highest > -h - slack)
    first, last = np.argmax(maybe, axis=1), RING_SLICES - 1 - np.argmax(maybe[:, ::-1], axis=1)
    rows = np.arange(len(first))
    return edges[rows, first], edges[rows, last + 1], np.asarray(maybe.any(axis=1), dtype=np.bool_)


def _by_track(owns: Owns, c: _Common, cands: Candidates, h: float, lookahead: float) -> Times:
    """Track candidates (own speed kept): while the ownship can meet the aircraft, it must be within
    ``h`` of the aircraft's path, so only the arc of bearings of that band from the ownship is tested."""
    gs = owns.gs[c.pairs.own]
    c = c.subset(c.dist - h <= (gs + c.speed) * c.t1 * (1 + _EPS) + 1e-6)
    t0, t1, maybe = _ring(c, owns.gs[c.pairs.own], h)
    c, t0, t1 = c.subset(maybe), t0[maybe], t1[maybe]
    p = c.pairs
    # Where the other aircraft is at that part's two ends (the ownship starts at the origin).
    x0, y0, x1, y1 = p.dx + p.vx * t0, p.dy + p.vy * t0, p.dx + p.vx * t1, p.dy + p.vy * t1
    sx, sy = x1 - x0, y1 - y0
    length2 = sx * sx + sy * sy
    u = np.clip(-(x0 * sx + y0 * sy) / np.where(length2 > 0, length2, 1.0), 0.0, 1.0)
    closest = _norm(x0 + u * sx, y0 + u * sy)
    full = (closest <= h * (1 + 1e-6) + 1e-3) | (owns.gs[p.own] == 0.0)  # the band reaches the ownship
    r0, r1 = np.maximum(_norm(x0, y0), h), np.maximum(_norm(x1, y1), h)
    b0, b1 = np.arctan2(x0, y0), np.arctan2(x1, y1)
    a0, a1 = np.arcsin(np.minimum(h / r0, 1.0)), np.arcsin(np.minimum(h / r1, 1.0))
    sweep = np.remainder(b1 - b0 + math.pi, 2 * math.pi) - math.pi
    lo = np.minimum(b0 - a0, b0 + sweep - a1) - 1e-7
    hi = np.maximum(b0 + a0, b0 + sweep + a1) + 1e-7
    row, col = _triples(cands.grid.spans(p.own, np.degrees(lo), np.degrees(hi), full))
    return _horizontal(owns, c, cands, row, col, h, lookahead)


def _by_speed(owns: Owns, c: _Common, cands: Candidates, h: float, lookahead: float) -> Times:
    """Speed candidates (own track kept): the aircraft must be within ``h`` of the ownship's line,
    and the speeds that then put the ownship within ``h`` of it form one interval."""
    p = c.pairs
    ux, uy = np.sin(owns.track_rad)[p.own], np.cos(owns.track_rad)[p.own]
    along, across = p.dx * ux + p.dy * uy, p.dx * uy - p.dy * ux
    a_lo, a_hi = below(across, p.vx * uy - p.vy * ux, h * (1 + 1e-6) + 1e-3)  # within h of the line
    t0, t1 = np.maximum(c.t0, a_lo), np.minimum(c.t1, a_hi)
    ok = t0 < t1
    lo, hi = _between(along[ok], (p.vx * ux + p.vy * uy)[ok], h, t0[ok], t1[ok])
    c = c.subset(ok)
    p = c.pairs
    row, col = _triples(cands.grid.spans(p.own, lo, hi, np.zeros(len(lo), dtype=np.bool_)))
    return _horizontal(owns, c, cands, row, col, h, lookahead)


def _horizontal(owns: Owns, c: _Common, cands: Candidates, row: Ints, col: Ints, h: float, lookahead: float) -> Times:
    """The exact test of the (pair, candidate) triples a horizontal pass kept: each candidate's own
    horizontal window with the aircraft, within the pair's common vertical one."""
    p = c.pairs
    k = p.own[row]
    rvx, rvy = p.vx[row] - cands.first[k, col], p.vy[row] - cands.second[k, col]
    h_lo, h_hi = horizontal_window(p.dx[row], p.dy[row], rvx, rvy, h)
    shape = (len(owns.alt), cands.grid.size)
    window = np.maximum(h_lo, c.lo[row]), np.minimum(h_hi, c.hi[row])
    return _latest(shape, k, col, window, lookahead, (p.dx[row], p.dy[row]), (rvx, rvy), h)


def _by_vertical(owns: Owns, c: _Common, cands: Candidates, v: float, lookahead: float, level: bool) -> Times:
    """Vertical-speed candidates (own altitude kept) or levels (reached at once, flown level): the
    rates, or levels, that meet the aircraft in the common horizontal window form one interval."""
    p = c.pairs
    limit = v - VERTICAL_TOLERANCE_M
    if level:
        z0, z1 = p.alt + p.vz * c.t0, p.alt + p.vz * c.t1
        lo, hi = np.minimum(z0, z1) - limit, np.maximum(z0, z1) + limit
        margin = _EPS * (1.0 + np.abs(lo) + np.abs(hi))
        lo, hi = lo - margin, hi + margin
    else:
        lo, hi = _between(p.alt - owns.alt[p.own], p.vz, limit, c.t0, c.t1)
    row, col = _triples(cands.grid.spans(p.own, lo, hi, np.zeros(len(lo), dtype=np.bool_)))
    k = p.own[row]
    dz, dvz = p.alt[row] - cands.first[k, col], p.vz[row] - cands.second[k, col]
    v_lo, v_hi = below(dz, dvz, limit)
    window = np.maximum(c.lo[row], v_lo), np.minimum(c.hi[row], v_hi)
    return _latest((len(owns.alt), cands.grid.size), k, col, window, lookahead, (dz,), (dvz,), limit)
