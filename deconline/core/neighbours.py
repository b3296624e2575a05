"""Pairs of points near each other, by a grid of cubes, in numpy alone.

The tactical engine asks, for each slice of the look-ahead, which of up to 100,000 aircraft
could come within the minima. Binning the points in cubes at least ``r`` wide puts any two
points within ``r`` of each other on every axis in the same cube or in adjacent ones, so each
cube's points are paired with those of the cube itself and of its 13 "later" neighbours (the
other 13 are someone else's later ones): every such pair once, plus some farther ones that the
caller filters. It replaced a KD-tree: as fast or faster at every size measured, and without
importing scipy (0.2 s of every process's start-up).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Ints = NDArray[np.int64]
Floats = NDArray[np.float64]

# The 13 neighbours of a cube that come after it, (dx, dy, dz) > (0, 0, 0) in lexicographic order.
LATER_NEIGHBOURS = tuple(
    (dx, dy, dz) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1) if (dx, dy, dz) > (0, 0, 0)
)


def near_pairs(points: Floats, r: float, max_cells: int | None = None) -> tuple[Ints, Ints]:
    """Every pair ``(i, j)``, ``i != j``, of rows of ``points`` (n × 3) within ``r`` of each other on
    each axis, once, in no particular order and orientation; some farther pairs too.

    ``max_cells`` bounds the grid's memory (default: 8 cells per point, at least 2^16): traffic
    spread far wider than ``r`` gets larger cubes, which stays correct and only yields more pairs.
    """
    order, first, second = binned_pairs(points, r, max_cells)
    return order[first], order[second]


def binned_pairs(points: Floats, r: float, max_cells: int | None = None) -> tuple[Ints, Ints, Ints]:
    """:func:`near_pairs` as ``order, first, second``: the pairs are ``order[first], order[second]``.

    ``first`` and ``second`` index the points sorted by cube, where a cube's points are next to
    each other: a caller that filters the pairs reads ``points[order]`` at those positions with
    far fewer cache misses than the original rows at random, and maps back only the pairs kept.
    """
    n = len(points)
    if n < 2:
        empty = np.zeros(0, dtype=np.int64)
        return np.arange(n, dtype=np.int64), empty, empty
    limit = max_cells if max_cells is not None else max(8 * n, 1 << 16)
    low = points.min(axis=0)
    extent = points.max(axis=0) - low
    if not (np.all(np.isfinite(extent)) and np.isfinite(r)):
        raise ValueError("near_pairs needs finite coordinates and distance")
    size = float(r) if r > 0 else 1.0
    while True:  # one padding cell on each side, so a neighbour's index never wraps into another row
        shape = (np.floor(extent / size).astype(np.int64) + 3).tolist()
        if shape[0] * shape[1] * shape[2] <= limit:
            break
        size *= 1.5
    cell = np.floor((points - low) / size).astype(np.int64) + 1
    key = (cell[:, 0] * shape[1] + cell[:, 1]) * shape[2] + cell[:, 2]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    counts = np.bincount(sorted_key, minlength=shape[0] * shape[1] * shape[2])
    starts = np.cumsum(counts) - counts  # where each cube's points begin in sorted order
    position = np.arange(n, dtype=np.int64)
    firsts, seconds = [], []
    # The cube itself: each point with the ones after it.
    same_end = starts[sorted_key] + counts[sorted_key]
    firsts_, seconds_ = expand_ranges(position, position + 1, same_end - position - 1)
    firsts.append(firsts_)
    seconds.append(seconds_)
    for dx, dy, dz in LATER_NEIGHBOURS:
        neighbour = sorted_key + ((dx * shape[1] + dy) * shape[2] + dz)
        firsts_, seconds_ = expand_ranges(position, starts[neighbour], counts[neighbour])
        firsts.append(firsts_)
        seconds.append(seconds_)
    return order, np.concatenate(firsts), np.concatenate(seconds)


def expand_ranges(owner: Ints, start: Ints, count: Ints) -> tuple[Ints, Ints]:
    """``owner[k]`` paired with each of ``start[k] .. start[k] + count[k] - 1``, flattened."""
    total = int(count.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    offsets = np.cumsum(count) - count
    return np.repeat(owner, count), np.arange(total, dtype=np.int64) + np.repeat(start - offsets, count)
