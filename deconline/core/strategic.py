"""Strategic deconfliction: which volumes conflict, and the part of one's own volume that does.

The exact predicate (:func:`volumes_conflict`) is the definition in ARCHITECTURE.md; the index
only prunes. It keeps lon/lat bounding boxes in a shapely ``STRtree`` (immutable, so recent
additions are scanned with numpy until the next rebuild) and altitude bands, time windows and
owners in numpy columns, so a query touches a handful of volumes exactly.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Proj
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from deconline.core.geodesy import local_projection, pad_bounds, project, unproject
from deconline.core.volumes import Volume

CIRCLE_QUAD_SEGS = 32


@dataclass(frozen=True, slots=True)
class StrategicRules:
    h_m: float
    v_m: float
    time_buffer_s: float


@dataclass(frozen=True, slots=True)
class Hit:
    key: Hashable
    owner: str
    volume: Volume
    distance_m: float


@dataclass(frozen=True, slots=True)
class ConflictPart:
    """The part of one's own volume in conflict with another (lon/lat footprint)."""

    footprint: BaseGeometry
    lower_m: float
    upper_m: float
    start_s: float
    end_s: float


# --- the exact predicate ----------------------------------------------------------------------


def _pair_projection(a: Volume, b: Volume) -> Proj:
    """Centred between the two footprints' box centres (computed in an order-free way)."""
    ax0, ay0, ax1, ay1 = a.footprint.bounds
    bx0, by0, bx1, by1 = b.footprint.bounds
    lons = sorted(((ax0 + ax1) / 2.0, (bx0 + bx1) / 2.0))
    lats = sorted(((ay0 + ay1) / 2.0, (by0 + by1) / 2.0))
    return local_projection((lons[0] + lons[1]) / 2.0, (lats[0] + lats[1]) / 2.0)


def horizontal_distance_m(a: Volume, b: Volume) -> float:
    """Distance between the footprints (0 when they touch or overlap); symmetric in a, b."""
    projection = _pair_projection(a, b)
    gap = shapely.distance(project(a.footprint, projection), project(b.footprint, projection))
    return max(0.0, float(gap) - a.radius_m - b.radius_m)


def altitude_gap_m(a: Volume, b: Volume) -> float:
    return max(0.0, max(a.lower_m, b.lower_m) - min(a.upper_m, b.upper_m))


def time_gap_s(a: Volume, b: Volume) -> float:
    return max(0.0, max(a.start_s, b.start_s) - min(a.end_s, b.end_s))


def volumes_conflict(a: Volume, b: Volume, rules: StrategicRules) -> bool:
    """All three gaps under their minima (strictly): the definition in ARCHITECTURE.md."""
    return (
        altitude_gap_m(a, b) < rules.v_m
        and time_gap_s(a, b) < rules.time_buffer_s
        and horizontal_distance_m(a, b) < rules.h_m
    )


# --- the conflicting part of one's own volume -------------------------------------------------


def _area_in(volume: Volume, projection: Proj) -> BaseGeometry:
    shape = project(volume.footprint, projection)
    return shape.buffer(volume.radius_m, quad_segs=CIRCLE_QUAD_SEGS) if volume.is_circle else shape


def _polygonal(geometry: BaseGeometry) -> BaseGeometry:
    parts = [p for p in shapely.get_parts(geometry) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


def conflict_part(own: Volume, other: Volume, rules: StrategicRules) -> ConflictPart:
    """Own footprint ∩ other footprint buffered by H; own band and window within V and the buffer."""
    projection = _pair_projection(own, other)
    own_area = _area_in(own, projection)
    other_area = _area_in(other, projection)
    part = _polygonal(own_area.intersection(other_area.buffer(rules.h_m, quad_segs=16)))
    if part.is_empty:
        # At the threshold a buffered polygon can miss by rounding: take the nearest piece of own.
        nearest = Point(shapely.shortest_line(own_area, other_area).coords[0])
        part = _polygonal(own_area.intersection(nearest.buffer(max(1.0, rules.h_m * 1e-3))))
        if part.is_empty:
            part = nearest.buffer(1.0)
    footprint = unproject(part, projection)
    if not own.is_circle:
        clipped = _polygonal(footprint.intersection(own.footprint))
        if not clipped.is_empty:
            footprint = clipped
    return ConflictPart(
        footprint=footprint,
        lower_m=max(own.lower_m, other.lower_m - rules.v_m),
        upper_m=min(own.upper_m, other.upper_m + rules.v_m),
        start_s=max(own.start_s, other.start_s - rules.time_buffer_s),
        end_s=min(own.end_s, other.end_s + rules.time_buffer_s),
    )


# --- the index --------------------------------------------------------------------------------

_COLUMNS = ("min_lon", "min_lat", "max_lon", "max_lat", "lower", "upper", "start", "end")


def _bounds(volume: Volume) -> tuple[float, float, float, float]:
    bounds: tuple[float, float, float, float] = volume.footprint.bounds
    return pad_bounds(bounds, volume.radius_m) if volume.is_circle else bounds


class StrategicIndex:
    """A dynamic index of keyed volumes with owners; queries return exactly the conflicting ones."""

    def __init__(self) -> None:
        self._capacity = 1024
        self._cols = {name: np.zeros(self._capacity) for name in _COLUMNS}
        self._owner = np.zeros(self._capacity, dtype=np.int64)
        self._alive = np.zeros(self._capacity, dtype=bool)
        self._keys: list[Hashable] = []
        self._volumes: list[Volume | None] = []
        self._owners: list[str] = []
        self._slot: dict[Hashable, int] = {}
        self._owner_codes: dict[str, int] = {}
        self._tree: shapely.STRtree | None = None
        self._built = 0  # slots [0, _built) are in the tree; the rest are scanned

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, key: object) -> bool:
        return key in self._slot

    def add(self, key: Hashable, volume: Volume, owner: str) -> None:
        """Add (or replace) the volume under ``key``."""
        self.remove(key)
        slot = len(self._keys)
        if slot == self._capacity:
            self._grow()
        for name, value in zip(
            _COLUMNS, (*_bounds(volume), volume.lower_m, volume.upper_m, volume.start_s, volume.end_s), strict=True
        ):
            self._cols[name][slot] = value
        self._owner[slot] = self._owner_codes.setdefault(owner, len(self._owner_codes))
        self._alive[slot] = True
        self._keys.append(key)
        self._volumes.append(volume)
        self._owners.append(owner)
        self._slot[key] = slot

    def remove(self, key: Hashable) -> None:
        slot = self._slot.pop(key, None)
        if slot is not None:
            self._alive[slot] = False
            self._volumes[slot] = None

    def _grow(self) -> None:
        self._capacity *= 2
        for name in _COLUMNS:
            self._cols[name] = np.resize(self._cols[name], self._capacity)
        self._owner = np.resize(self._owner, self._capacity)
        alive = np.zeros(self._capacity, dtype=bool)
        alive[: len(self._alive)] = self._alive
        self._alive = alive

    def _rebuild(self) -> None:
        """Compact the live slots and put them all in a new tree."""
        live = np.flatnonzero(self._alive[: len(self._keys)])
        for name in _COLUMNS:
            column = np.zeros(max(1024, len(live) * 2))
            column[: len(live)] = self._cols[name][live]
            self._cols[name] = column
        self._capacity = len(self._cols["lower"])
        owner = np.zeros(self._capacity, dtype=np.int64)
        owner[: len(live)] = self._owner[live]
        self._owner = owner
        self._alive = np.zeros(self._capacity, dtype=bool)
        self._alive[: len(live)] = True
        self._keys = [self._keys[i] for i in live]
        self._volumes = [self._volumes[i] for i in live]
        self._owners = [self._owners[i] for i in live]
        self._slot = {key: i for i, key in enumerate(self._keys)}
        n = len(live)
        c = self._cols
        boxes = shapely.box(c["min_lon"][:n], c["min_lat"][:n], c["max_lon"][:n], c["max_lat"][:n])
        self._tree = shapely.STRtree(boxes) if n else None
        self._built = n

    def _maybe_rebuild(self) -> None:
        recent = len(self._keys) - self._built
        dead = len(self._keys) - len(self._slot)
        if recent > max(1024, 8 * math.isqrt(len(self._slot))) or dead > len(self._slot) + 1024:
            self._rebuild()

    def _candidates(self, box: tuple[float, float, float, float]) -> np.ndarray:
        min_lon, min_lat, max_lon, max_lat = box
        found = []
        if self._tree is not None:
            found.append(np.asarray(self._tree.query(shapely.box(*box)), dtype=np.int64))
        n = len(self._keys)
        if n > self._built:
            c = self._cols
            window = slice(self._built, n)
            near = (
                (c["min_lon"][window] <= max_lon)
                & (c["max_lon"][window] >= min_lon)
                & (c["min_lat"][window] <= max_lat)
                & (c["max_lat"][window] >= min_lat)
            )
            found.append(np.flatnonzero(near) + self._built)
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def conflicts(self, volume: Volume, rules: StrategicRules, exclude_owners: Collection[str] = ()) -> list[Hit]:
        """Every indexed volume that conflicts with ``volume``, except those of ``exclude_owners``."""
        self._maybe_rebuild()
        box = pad_bounds(_bounds(volume), rules.h_m)
        slots = self._candidates(box)
        if len(slots):
            c = self._cols
            keep = self._alive[slots]
            keep &= (
                np.maximum(
                    0.0, np.maximum(c["lower"][slots], volume.lower_m) - np.minimum(c["upper"][slots], volume.upper_m)
                )
                < rules.v_m
            )
            keep &= (
                np.maximum(
                    0.0, np.maximum(c["start"][slots], volume.start_s) - np.minimum(c["end"][slots], volume.end_s)
                )
                < rules.time_buffer_s
            )
            codes = [self._owner_codes[o] for o in exclude_owners if o in self._owner_codes]
            if codes:
                keep &= ~np.isin(self._owner[slots], codes)
            slots = slots[keep]
        hits = []
        for slot in slots.tolist():
            other = self._volumes[slot]
            assert other is not None
            distance = horizontal_distance_m(volume, other)
            if distance < rules.h_m:
                hits.append(Hit(self._keys[slot], self._owners[slot], other, distance))
        hits.sort(key=lambda h: (h.distance_m, str(h.key)))
        return hits


def conflicting_pairs(items: Sequence[tuple[Hashable, Volume, str]], rules: StrategicRules) -> list[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, of items of different owners that conflict."""
    index = StrategicIndex()
    for i, (_, volume, owner) in enumerate(items):
        index.add(i, volume, owner)
    pairs = []
    for i, (_, volume, owner) in enumerate(items):
        for hit in index.conflicts(volume, rules, exclude_owners=(owner,)):
            j = hit.key
            assert isinstance(j, int)
            if j > i:
                pairs.append((i, j))
    return sorted(pairs)
