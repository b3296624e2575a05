"""The fixed grid that strategic decisions lock, so decisions in distant areas do not wait for
each other.

A subject (an operation or a hazard) is *registered* in the cells its footprint's index box
touches. A decision about volumes *locks* the cells of their boxes padded by the horizontal
reach of the rules. Two volumes closer than the reach share a point ``p`` of one footprint lying
within the other's padded box, so the cell of ``p`` is registered to the one and locked by the
other: two decisions that could see each other always share a locked cell. Everything here is
pure arithmetic on boxes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from deconline.core.geodesy import pad_bounds
from deconline.core.strategic import index_box
from deconline.core.volumes import Volume

CELL_DEG = 0.25  # about 28 km north-south: an area of operations is a handful of cells
GRID_ID = "lonlat-0.25/1"  # stored with the registrations; a new grid re-registers everything
LON_CELLS = round(360 / CELL_DEG)
LAT_CELLS = round(180 / CELL_DEG)
MAX_CELLS = 256  # a decision wider than this locks everything instead (rare: a continent-sized volume)

Cells = frozenset[int]


def cell_id(lon_index: int, lat_index: int) -> int:
    """One integer per cell; longitude wraps around the antimeridian."""
    return (lat_index + LAT_CELLS // 2) * LON_CELLS + lon_index % LON_CELLS


def _lat_range(south: float, north: float) -> range:
    top = LAT_CELLS // 2 - 1
    first = max(-LAT_CELLS // 2, min(top, math.floor(south / CELL_DEG)))
    last = max(-LAT_CELLS // 2, min(top, math.floor(north / CELL_DEG)))
    return range(first, last + 1)


def cells_of_box(box: tuple[float, float, float, float], limit: int | None = None) -> Cells | None:
    """The cells a lon/lat box touches (its edges included), or None when there are more than
    ``limit``. The box may run past ±180° of longitude (padded boxes do)."""
    west, south, east, north = box
    first_lon, last_lon = math.floor(west / CELL_DEG), math.floor(east / CELL_DEG)
    if last_lon - first_lon + 1 >= LON_CELLS:
        first_lon, last_lon = 0, LON_CELLS - 1
    lats = _lat_range(south, north)
    if limit is not None and (last_lon - first_lon + 1) * len(lats) > limit:
        return None
    return frozenset(cell_id(i, j) for j in lats for i in range(first_lon, last_lon + 1))


def _union(boxes: Iterable[tuple[float, float, float, float]], limit: int | None) -> Cells | None:
    cells: set[int] = set()
    for box in boxes:
        found = cells_of_box(box, limit)
        if found is None:
            return None
        cells |= found
        if limit is not None and len(cells) > limit:
            return None
    return frozenset(cells)


def registered_cells(volumes: Iterable[Volume]) -> Cells:
    """Where a subject with these volumes is registered: every cell, however wide it is."""
    cells = _union((index_box(v) for v in volumes), None)
    assert cells is not None
    return cells


def reach_cells(volumes: Iterable[Volume], reach_m: float) -> Cells | None:
    """The cells to lock for a decision about these volumes under a horizontal reach (None: lock everything)."""
    return _union((pad_bounds(index_box(v), max(reach_m, 0.0)) for v in volumes), MAX_CELLS)
