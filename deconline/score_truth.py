"""What the aircraft actually did: truth interpolated from a recording, and the real losses in it.

The definitions are in :mod:`deconline.score`; this module is their vectorised arithmetic. Every
array is indexed either by *report* (sorted by aircraft code, then time) or by *sample* (one
aircraft with truth at one grid time), so no Python loop runs per pair or per time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deconline.ingest.recordings import Recording

EARTH_RADIUS_M = 6_371_000.0  # as deconline.core.tactical
ALTITUDE_EPS_M = 1e-6  # reported altitudes are multiples of 25 ft: a gap of exactly 900 ft must not read as 899.999
PAIRS_PER_BATCH = 4_000_000  # pair samples held in memory at once while looking for real losses

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


def evaluation_times(recording: Recording, step_s: float) -> Floats:
    """The replay's grid (a copy of ``deconline.replay.evaluation_times``, so scoring never follows its edits)."""
    if len(recording.time_s) == 0:
        return np.zeros(0)
    first = math.ceil(float(recording.time_s[0]) / step_s - 1e-9) * step_s
    last = float(recording.time_s[-1])
    times = np.arange(first, last + step_s / 2, step_s)
    return times[times <= last]


@dataclass(frozen=True, eq=False)
class Truth:
    """Each aircraft's reports sorted by (code, time), with which consecutive pairs may be interpolated across."""

    ids: NDArray[np.str_]  # sorted, so code order is id order and a pair's codes follow its ids' order
    code: Ints
    time_s: Floats
    lat: Floats
    lon: Floats
    alt_m: Floats
    joined: Bools  # report k and k + 1 are the same aircraft's, no more than max_gap_s apart
    first_s: float  # grid time of grid index 0
    step_s: float
    n_grid: int

    @property
    def flight_hours(self) -> float:
        """Sum of the lengths of the truth spans: what alert rates are divided by."""
        return float(np.sum(np.diff(self.time_s)[self.joined[:-1]])) / 3600.0 if len(self.time_s) > 1 else 0.0

    def grid_index(self, t: Floats) -> Ints:
        """Grid index of evaluation times (rows are at grid times; rounding absorbs float noise)."""
        return np.rint((np.asarray(t, dtype=np.float64) - self.first_s) / self.step_s).astype(np.int64)

    def grid_time(self, g: Ints) -> Floats:
        return self.first_s + g.astype(np.float64) * self.step_s


def build_truth(recording: Recording, step_s: float, max_gap_s: float) -> Truth:
    """Reports regrouped by aircraft; a repeated (aircraft, time) keeps the last report, as a live picture would."""
    ids, code = np.unique(recording.ids, return_inverse=True)
    code = code.astype(np.int64).ravel()
    order = np.lexsort((np.arange(len(code)), recording.time_s, code))
    c, t = code[order], recording.time_s[order].astype(np.float64)
    keep = np.ones(len(c), dtype=np.bool_)
    keep[:-1] = (c[1:] != c[:-1]) | (t[1:] != t[:-1])
    order, c, t = order[keep], c[keep], t[keep]
    joined = np.zeros(len(c), dtype=np.bool_)
    joined[:-1] = (c[1:] == c[:-1]) & (t[1:] - t[:-1] <= max_gap_s) & _reachable(recording, order, t)
    grid = evaluation_times(recording, step_s)
    return Truth(
        ids, c, t, recording.lat[order], recording.lon[order], recording.alt_m[order], joined,
        float(grid[0]) if len(grid) else 0.0, step_s, len(grid),
    )  # fmt: skip


MAX_CLIMB_MPS = 50.0  # 9,800 ft/min: no aircraft in these recordings climbs or sinks faster
MAX_SPEED_MPS = 600.0  # 1,170 kt
QUANTUM_M = 2 * 7.62  # two 25 ft steps of the reported altitude


def _reachable(recording: Recording, order: Ints, t: Floats) -> Bools:
    """Whether each report could follow the one before it: a recording that contradicts itself
    (an altitude of 38,000 ft a second after 250 ft, a position jump of a bad decode) has no
    truth in between, rather than an interpolated one that never was."""
    alt, lat, lon = recording.alt_m[order], recording.lat[order], recording.lon[order]
    dt = np.diff(t)
    climb_ok = np.abs(np.diff(alt)) <= MAX_CLIMB_MPS * dt + QUANTUM_M
    moved = horizontal_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    return np.asarray(climb_ok & (moved <= MAX_SPEED_MPS * dt + 500.0), dtype=np.bool_)


def truth_at(truth: Truth, codes: Ints, times: Floats) -> tuple[Floats, Floats, Floats, Bools]:
    """Interpolated (lat, lon, alt_m) of aircraft ``codes`` at ``times``, and where there is truth at all.

    Truth holds on each closed segment between two joined reports, so a span's last report counts too.
    """
    n = len(truth.time_s)
    codes, times = np.asarray(codes, dtype=np.int64), np.asarray(times, dtype=np.float64)
    if n < 2 or len(codes) == 0:
        nan = np.full(len(codes), np.nan)
        return nan, nan, nan, np.zeros(len(codes), dtype=np.bool_)
    # One sorted key across aircraft: code * width + time since the first report, one bisection for all.
    t0 = float(np.min(truth.time_s))
    width = float(np.max(truth.time_s)) - t0 + 1.0
    report_key = truth.code * width + (truth.time_s - t0)
    k = np.searchsorted(report_key, codes * width + (times - t0), side="right") - 1
    kc = np.clip(k, 0, n - 2)
    same = (k >= 0) & (truth.code[np.clip(k, 0, n - 1)] == codes)
    right = same & (k <= n - 2) & truth.joined[kc] & (truth.time_s[kc] <= times)
    left = same & (k >= 1) & truth.joined[np.clip(k - 1, 0, n - 1)] & (truth.time_s[np.clip(k, 0, n - 1)] == times)
    at = np.where(right, kc, np.clip(k - 1, 0, n - 2))  # segment holding the time: [at, at + 1]
    dt = truth.time_s[at + 1] - truth.time_s[at]
    frac = np.divide(times - truth.time_s[at], dt, out=np.ones_like(dt), where=dt > 0)
    frac = np.where(right, frac, 1.0)

    def lerp(v: Floats) -> Floats:
        return np.asarray(v[at] + frac * (v[at + 1] - v[at]), dtype=np.float64)

    return lerp(truth.lat), lerp(truth.lon), lerp(truth.alt_m), right | left


def horizontal_m(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    """Flat earth at the pair's mean latitude, as the tactical engine measures it."""
    mean_lat = np.radians(0.5 * (lat1 + lat2))
    dlon = np.remainder(np.radians(lon2 - lon1) + math.pi, 2 * math.pi) - math.pi
    dx = EARTH_RADIUS_M * np.cos(mean_lat) * dlon
    dy = EARTH_RADIUS_M * np.radians(lat2 - lat1)
    return np.asarray(np.hypot(dx, dy), dtype=np.float64)


def grid_samples(truth: Truth) -> tuple[Ints, Ints, Floats, Floats, Floats]:
    """(grid index, code, lat, lon, alt_m) of every aircraft with truth at every grid time, sorted by (time, code)."""
    if truth.n_grid == 0 or len(truth.time_s) < 2:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty, empty, empty
    joined = truth.joined
    before = np.concatenate([[False], joined[:-1]])
    starts = np.flatnonzero(joined & ~before)  # first report of each span
    ends = np.flatnonzero(joined & ~np.concatenate([joined[1:], [False]])) + 1  # last report of each span
    lo = np.ceil((truth.time_s[starts] - truth.first_s) / truth.step_s - 1e-9).astype(np.int64)
    hi = np.floor((truth.time_s[ends] - truth.first_s) / truth.step_s + 1e-9).astype(np.int64)
    hi = np.minimum(hi, truth.n_grid - 1)
    count = np.maximum(hi - lo + 1, 0)
    g = np.repeat(lo, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))
    codes = np.repeat(truth.code[starts], count)
    lat, lon, alt, ok = truth_at(truth, codes, truth.grid_time(g))
    order = np.lexsort((codes[ok], g[ok]))
    return g[ok][order], codes[ok][order], lat[ok][order], lon[ok][order], alt[ok][order]


def real_loss_samples(truth: Truth, h_m: float, v_real_m: float) -> tuple[Ints, Ints]:
    """(pair code, grid index) of every pair in real loss at a grid time, sorted; pair = lo * n_ids + hi.

    All pairs of the aircraft with truth at each time, made without a Python loop: sample i (sorted by
    time, then code) is paired with every later sample of its time, in batches of at most PAIRS_PER_BATCH.
    """
    g, codes, lat, lon, alt = grid_samples(truth)
    group_end = np.searchsorted(g, g, side="right")
    partners = group_end - np.arange(len(g)) - 1
    found_pair: list[Ints] = []
    found_g: list[Ints] = []
    cum = np.cumsum(partners)
    begin = 0
    while begin < len(g):
        end = max(int(np.searchsorted(cum, (cum[begin] - partners[begin]) + PAIRS_PER_BATCH, side="right")), begin + 1)
        c = partners[begin:end]
        left = np.repeat(np.arange(begin, end), c)
        right = left + 1 + (np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c))
        near = np.abs(alt[left] - alt[right]) < v_real_m - ALTITUDE_EPS_M
        left, right = left[near], right[near]
        loss = horizontal_m(lat[left], lon[left], lat[right], lon[right]) < h_m
        left, right = left[loss], right[loss]
        found_pair.append(codes[left] * len(truth.ids) + codes[right])
        found_g.append(g[left])
        begin = end
    pair = np.concatenate(found_pair) if found_pair else np.zeros(0, dtype=np.int64)
    when = np.concatenate(found_g) if found_g else np.zeros(0, dtype=np.int64)
    order = np.lexsort((when, pair))
    return pair[order], when[order]


def runs(pair: Ints, g: Ints, max_step: float) -> tuple[Ints, Ints]:
    """Index of the first and last element of each run of one pair whose consecutive grid indices differ by <= max_step.

    ``pair`` and ``g`` sorted by (pair, g); used for both alert episodes and real-loss events.
    """
    if len(pair) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.ones(len(pair), dtype=np.bool_)
    new[1:] = (pair[1:] != pair[:-1]) | (g[1:] - g[:-1] > max_step)
    first = np.flatnonzero(new)
    last = np.concatenate([first[1:], [len(pair)]]) - 1
    return first.astype(np.int64), last.astype(np.int64)
