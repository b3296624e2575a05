"""Which aircraft of a picture can matter to each ownship's guidance, for many ownships at once.

A speed candidate reaches far (700 kt over the look-ahead), but only while the other aircraft is
near in altitude; every other candidate reaches as far as the ownship's own speed takes it. So the
pairs are found on a grid of cells at the longest reach, then kept when within the shorter reach,
or within the longer one cut at the end of their common vertical window. Distances here are on the
plane tangent at the traffic's centre (orthographic: never longer than the arc), compared with
reaches widened by how much the flat earth at a pair's mean latitude can shorten an arc (the
tactical engine's drift bound): the exact tests that follow see every pair that can matter.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from deconline.core.guidance_windows import Owns
from deconline.core.tactical import EARTH_RADIUS_M, VERTICAL_TOLERANCE_M, Extrapolated, orthographic_axes

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]

CELLS_PER_REACH = 4  # a disk costs about 5 r^2 of cells at 4 cells per reach, 9 r^2 at 1


def _plane(s: Extrapolated) -> Floats:
    """Each aircraft on the plane tangent at the traffic's centre (metres): the tactical engine's
    plane, which never lengthens a distance."""
    first, second = orthographic_axes(s.lat, s.lon)
    unit = np.column_stack([np.cos(s.lat) * np.cos(s.lon), np.cos(s.lat) * np.sin(s.lon), np.sin(s.lat)])
    return np.asarray(EARTH_RADIUS_M * np.column_stack([unit @ first, unit @ second]))


class Neighbours:
    """The aircraft of a picture on a grid, for ownships ``owns`` (indices into ``s``, flying as
    ``ships``): :meth:`pairs` gives those that some candidate of some dimension may meet within the
    look-ahead; ``top_speed`` is the fastest speed candidate."""

    def __init__(
        self, s: Extrapolated, owns: Ints, ships: Owns, top_speed: float, h: float, v: float, lookahead: float
    ) -> None:
        self.s, self.owns, self.ships, self.h, self.v, self.lookahead = s, owns, ships, h, v, lookahead
        self.speed = np.sqrt(s.vx * s.vx + s.vy * s.vy)
        self.fastest = np.maximum(ships.gs, top_speed)
        reach = h + (float(self.fastest.max(initial=0.0)) + float(self.speed.max(initial=0.0))) * lookahead
        spread = reach / EARTH_RADIUS_M
        worst_lat = min(float(np.abs(s.lat).max(initial=0.0)) + spread, math.radians(89.0))
        self.scale = (1.0 + 2.0 * 1.1 * (math.tan(worst_lat) * spread + spread * spread)) * 1.001
        self.radius = reach * self.scale + 1000.0
        self.xy = _plane(s)
        cell = self.radius / CELLS_PER_REACH
        index = np.floor((self.xy - self.xy.min(axis=0)) / cell).astype(np.int64) + CELLS_PER_REACH
        self.height = int(index[:, 1].max(initial=0)) + CELLS_PER_REACH + 1  # a padding of cells each side
        self.key = index[:, 0] * self.height + index[:, 1]
        self.order = np.argsort(self.key, kind="stable")
        self.ordered = self.key[self.order]
        self.x, self.y = self.xy[self.order, 0], self.xy[self.order, 1]  # by cell: a run is read in one piece

    def _within(self, owns: Ints) -> tuple[Ints, Ints, Floats]:
        """Pairs ``(k, j)`` with ``j`` within the radius of ``owns[k]`` on the plane, and the distance."""
        # One run of keys per column of cells around each ownship: a column's cells are consecutive keys.
        columns = np.arange(-CELLS_PER_REACH, CELLS_PER_REACH + 1) * self.height
        middle = (self.key[owns][:, None] + columns[None, :]).ravel()
        start = np.searchsorted(self.ordered, middle - CELLS_PER_REACH, "left")
        count = np.searchsorted(self.ordered, middle + CELLS_PER_REACH, "right") - start
        offsets = np.cumsum(count) - count
        at = np.arange(int(count.sum()), dtype=np.int64) + np.repeat(start - offsets, count)
        per_own = count.reshape(len(owns), len(columns)).sum(axis=1)
        gx = self.x[at] - np.repeat(self.xy[owns, 0], per_own)
        gy = self.y[at] - np.repeat(self.xy[owns, 1], per_own)
        distance2 = gx * gx + gy * gy
        kept = np.flatnonzero(distance2 <= self.radius * self.radius)
        k = np.repeat(np.arange(len(owns), dtype=np.int64), per_own)[kept]
        j = self.order[at[kept]]
        other = j != owns[k]
        return k[other], j[other], np.sqrt(distance2[kept][other])

    def pairs(self, rows: slice) -> tuple[Ints, Ints]:
        """Pairs ``(k, j)``: row ``k`` of ``rows`` of the ownships, and another aircraft ``j``."""
        s, h, lookahead, scale = self.s, self.h, self.lookahead, self.scale
        k, j, distance = self._within(self.owns[rows])
        ships, fastest = self.ships.rows(rows), self.fastest[rows]
        # Track, vertical speed and level: as far as the ownship's own speed goes.
        keep = distance <= (h + (ships.gs[k] + self.speed[j]) * lookahead) * scale + 1000.0
        # Speed: as far as the fastest candidate goes until the vertical window closes.
        rest = np.flatnonzero(~keep)
        a, b = k[rest], j[rest]
        limit = self.v - VERTICAL_TOLERANCE_M
        dz, dvz = s.alt_m[b] - ships.alt[a], s.vz[b] - ships.vz[a]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # level: infinities, or NaN (apart)
            until = np.clip(np.maximum((-limit - dz) / dvz, (limit - dz) / dvz), 0.0, lookahead)
        keep[rest] = distance[rest] <= (h + (fastest[a] + self.speed[b]) * until) * scale + 1000.0
        return k[keep], j[keep]
