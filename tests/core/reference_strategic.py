"""Slow, obvious references for the strategic engine: every pair, the exact predicate, nothing pruned.

The index must agree with these exactly (it may prune only what the predicate would reject).
:func:`geodesic_distance_m` checks the projection itself, independently of shapely and of the
local AEQD: for points and circles the distance is the geodesic between centres minus radii.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Sequence

from pyproj import Geod
from shapely.geometry import Point

from deconline.core.strategic import StrategicRules, volumes_conflict
from deconline.core.volumes import Volume

WGS84 = Geod(ellps="WGS84")


def reference_conflicts(
    items: Iterable[tuple[Hashable, Volume, str]], query: Volume, rules: StrategicRules, exclude: Collection[str] = ()
) -> set[Hashable]:
    """Keys of every item not owned by ``exclude`` that conflicts with ``query``."""
    return {key for key, volume, owner in items if owner not in exclude and volumes_conflict(query, volume, rules)}


def reference_pairs(items: Sequence[tuple[Hashable, Volume, str]], rules: StrategicRules) -> list[tuple[int, int]]:
    """Every (i, j), i < j, of different owners that conflict, by comparing all pairs."""
    return [
        (i, j)
        for i in range(len(items))
        for j in range(i + 1, len(items))
        if items[i][2] != items[j][2] and volumes_conflict(items[i][1], items[j][1], rules)
    ]


def geodesic_distance_m(a: Volume, b: Volume) -> float:
    """Ellipsoidal geodesic between the centres of two point/circle footprints, minus the radii."""
    assert isinstance(a.footprint, Point) and isinstance(b.footprint, Point)
    _, _, metres = WGS84.inv(a.footprint.x, a.footprint.y, b.footprint.x, b.footprint.y)
    return max(0.0, float(metres) - a.radius_m - b.radius_m)
