"""Strategic deconfliction: which volumes conflict, and the part of one's own volume that does.

The exact predicate (:func:`volumes_conflict`) is the definition in ARCHITECTURE.md; the index
only prunes, conservatively, so it reports exactly the pairs the predicate does. Lon/lat boxes
live in a shapely ``STRtree`` (immutable: recent additions are scanned with numpy until the
next rebuild); bands, windows, owners and box centres live in numpy columns, so a query filters
its candidates in a few vector operations and measures only the survivors exactly.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from deconline.core.geodesy import (
    CENTRE_GRID_PER_DEG,
    edge_bulge_m,
    pad_bounds,
    pad_bounds_array,
    project,
    transformer_for_key,
    unproject,
)
from deconline.core.volumes import Volume

CIRCLE_QUAD_SEGS = 32
MIN_PART_AREA_M2 = 1e-4  # smaller pieces of a conflict part are rounding, not airspace
Floats = NDArray[np.float64]
Geoms = NDArray[np.object_]


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
    """The part of one's own volume in conflict with another (lon/lat footprint): all a party may see."""

    footprint: BaseGeometry
    lower_m: float
    upper_m: float
    start_s: float
    end_s: float


# --- the exact predicate ----------------------------------------------------------------------


def _centre(volume: Volume) -> tuple[float, float]:
    min_lon, min_lat, max_lon, max_lat = volume.footprint.bounds
    return (min_lon + max_lon) / 2.0, (min_lat + max_lat) / 2.0


def _pair_distances(
    ga: Geoms, ax: Floats, ay: Floats, ar: Floats, gb: Geoms, bx: Floats, by: Floats, br: Floats
) -> Floats:
    """Horizontal distances of pairs (a[i], b[i]); ``a`` may have length 1 and is then broadcast.

    Each pair is projected on the 0.25 degree grid cell nearest to the midpoint of its two box
    centres; pairs sharing a cell share one cached transformer and one PROJ call. Every step is
    symmetric in (a, b) - commutative sums, both argument orders of the GEOS distance - so the
    index, the reference and a check made from either side all get the same bits.
    """
    kx = np.rint((ax + bx) * (CENTRE_GRID_PER_DEG / 2.0)).astype(np.int64)
    ky = np.rint((ay + by) * (CENTRE_GRID_PER_DEG / 2.0)).astype(np.int64)
    gap = np.empty(len(kx))
    single_a = len(ga) == 1
    if len(kx) == 1 or (kx.min() == kx.max() and ky.min() == ky.max()):
        groups: list[tuple[int, int, Any]] = [(int(kx[0]), int(ky[0]), slice(None))]
    else:
        cells, inverse = np.unique(np.stack([kx, ky]), axis=1, return_inverse=True)
        groups = [(int(cells[0, c]), int(cells[1, c]), np.flatnonzero(inverse == c)) for c in range(cells.shape[1])]
    for cell_x, cell_y, members in groups:
        transformer = transformer_for_key(cell_x, cell_y)
        a_part = ga if single_a else ga[members]
        both = project(np.concatenate([a_part, gb[members]]), transformer)  # one PROJ call per cell
        pa, pb = both[: len(a_part)], both[len(a_part) :]
        gap[members] = np.minimum(shapely.distance(pa, pb), shapely.distance(pb, pa))
    result: Floats = np.maximum(0.0, gap - (ar + br))
    return result


def _one(volume: Volume) -> tuple[Geoms, Floats, Floats, Floats]:
    geoms = np.empty(1, dtype=object)
    geoms[0] = volume.footprint
    cx, cy = _centre(volume)
    return geoms, np.array([cx]), np.array([cy]), np.array([volume.radius_m])


def horizontal_distance_m(a: Volume, b: Volume) -> float:
    """Distance between the footprints (discs for circles; 0 when they touch or overlap), symmetric."""
    return float(_pair_distances(*_one(a), *_one(b))[0])


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


def _polygonal(geometry: BaseGeometry, min_area: float = 0.0) -> BaseGeometry:
    """Only the areal pieces of at least ``min_area``: touching shapes meet in lines, points and
    slivers of rounding, which show nothing and can collapse when mapped back to lon/lat."""
    parts = [p for p in shapely.get_parts(geometry) if isinstance(p, Polygon) and p.area > min_area]
    if not parts:
        return Polygon()
    return parts[0] if len(parts) == 1 else shapely.multipolygons(parts)


def conflict_part(own: Volume, other: Volume, rules: StrategicRules) -> ConflictPart:
    """Own footprint ∩ (other footprint buffered by H), own band and window within V and the buffer.

    Computed in the pair's projection. Buffers are polygons inscribed in the true discs, so at the
    threshold the intersection can come out empty for a conflicting pair; then the piece of own
    nearest the other is returned instead, so a notice never shows an empty footprint.
    """
    (cx, cy), (ox, oy) = _centre(own), _centre(other)
    half_grid = CENTRE_GRID_PER_DEG / 2.0  # the same cell as _pair_distances (round() ties to even, as rint)
    transformer = transformer_for_key(round((cx + ox) * half_grid), round((cy + oy) * half_grid))
    own_p, other_p = project(own.footprint, transformer), project(other.footprint, transformer)
    own_area = own_p.buffer(own.radius_m, quad_segs=CIRCLE_QUAD_SEGS) if own.is_circle else own_p
    min_area = min(MIN_PART_AREA_M2, own_area.area * 1e-3)
    part = Polygon()
    for scale in (1.0, 1.000001):
        zone = other_p.buffer(other.radius_m + rules.h_m * scale, quad_segs=CIRCLE_QUAD_SEGS)
        part = _polygonal(own_area.intersection(zone), min_area)
        if not part.is_empty:
            break
    if part.is_empty:
        # Points of own within H - d of the nearest point are within H of the other.
        nearest = Point(shapely.shortest_line(own_area, other_p).coords[0])
        gap = float(shapely.distance(own_area, other_p)) - other.radius_m
        reach = max(rules.h_m - gap, rules.h_m * 1e-6, 0.01)
        part = _polygonal(own_area.intersection(nearest.buffer(reach, quad_segs=CIRCLE_QUAD_SEGS)))
        if part.is_empty:
            part = own_area
    footprint = unproject(part, transformer)
    if not own.is_circle:
        footprint = _clip_to(footprint, own.footprint)
    return ConflictPart(
        footprint=footprint,
        lower_m=max(own.lower_m, other.lower_m - rules.v_m),
        upper_m=min(own.upper_m, other.upper_m + rules.v_m),
        start_s=max(own.start_s, other.start_s - rules.time_buffer_s),
        end_s=min(own.end_s, other.end_s + rules.time_buffer_s),
    )


def _clip_to(part: BaseGeometry, own: BaseGeometry) -> BaseGeometry:
    """Clip to own's lon/lat polygon (projected edges bow by metres); grow a part that the clip shaves away."""
    for grow_deg in (0.0, 1e-7, 1e-6, 1e-5, 1e-4):
        grown = part.buffer(grow_deg) if grow_deg else part
        clipped = _polygonal(grown.intersection(own), grown.area * 1e-3)
        if not clipped.is_empty and clipped.is_valid:
            return clipped
    return own


# --- the index --------------------------------------------------------------------------------

# Rows of the column block: padded box, raw box centre, radius, band, window.
W, S, E, N, CX, CY, R, LO, HI, T0, T1 = range(11)
_ROWS = 11


def index_box(volume: Volume) -> tuple[float, float, float, float]:
    """A box holding the footprint as the exact test sees it: discs padded, bowed edges allowed for."""
    bounds: tuple[float, float, float, float] = volume.footprint.bounds
    if volume.is_circle:
        return pad_bounds(bounds, volume.radius_m)
    return pad_bounds(bounds, edge_bulge_m(bounds))


def _near_in_band_and_window(
    lo_a: Any, hi_a: Any, t0_a: Any, t1_a: Any, lo_b: Any, hi_b: Any, t0_b: Any, t1_b: Any, rules: StrategicRules
) -> NDArray[np.bool_]:
    """The altitude and time rules of :func:`volumes_conflict`, vectorised with the same arithmetic."""
    altitude_gap = np.maximum(0.0, np.maximum(lo_a, lo_b) - np.minimum(hi_a, hi_b))
    time_gap = np.maximum(0.0, np.maximum(t0_a, t0_b) - np.minimum(t1_a, t1_b))
    result: NDArray[np.bool_] = (altitude_gap < rules.v_m) & (time_gap < rules.time_buffer_s)
    return result


class StrategicIndex:
    """A dynamic index of keyed volumes with owners; queries return exactly the conflicting ones."""

    def __init__(self, min_recent: int = 1024, recent_per_sqrt: int = 8) -> None:
        """The tree is rebuilt once more than max(min_recent, recent_per_sqrt * sqrt(N)) additions
        wait in the linear scan (or as many tombstones pile up); tests make both tiny."""
        self._min_recent, self._recent_per_sqrt = min_recent, recent_per_sqrt
        self._cols: Floats = np.zeros((_ROWS, 1024))
        self._owner = np.zeros(1024, dtype=np.int64)
        self._alive = np.zeros(1024, dtype=bool)
        self._geoms: Geoms = np.empty(1024, dtype=object)
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
        """Add the volume under ``key``, replacing any volume already there."""
        self.remove(key)
        slot = len(self._keys)
        if slot == self._cols.shape[1]:
            self._resize(2 * slot, np.arange(slot))
        self._cols[:, slot] = (
            *index_box(volume),
            *_centre(volume),
            volume.radius_m,
            volume.lower_m,
            volume.upper_m,
            volume.start_s,
            volume.end_s,
        )
        self._owner[slot] = self._owner_codes.setdefault(owner, len(self._owner_codes))
        self._alive[slot] = True
        self._geoms[slot] = volume.footprint
        self._keys.append(key)
        self._volumes.append(volume)
        self._owners.append(owner)
        self._slot[key] = slot

    def volume(self, key: Hashable) -> Volume | None:
        """The volume indexed under ``key``, if any."""
        slot = self._slot.get(key)
        return self._volumes[slot] if slot is not None else None

    def remove(self, key: Hashable) -> None:
        """Forget ``key`` (a tombstone until the next rebuild); absent keys are ignored."""
        slot = self._slot.pop(key, None)
        if slot is not None:
            self._alive[slot] = False
            self._volumes[slot] = None
            self._geoms[slot] = None

    def _resize(self, capacity: int, keep: NDArray[np.intp]) -> None:
        """Move the slots ``keep`` to the front of new columns of ``capacity``."""
        cols: Floats = np.zeros((_ROWS, capacity))
        cols[:, : len(keep)] = self._cols[:, keep]
        owner = np.zeros(capacity, dtype=np.int64)
        owner[: len(keep)] = self._owner[keep]
        alive = np.zeros(capacity, dtype=bool)
        alive[: len(keep)] = self._alive[keep]
        geoms: Geoms = np.empty(capacity, dtype=object)
        geoms[: len(keep)] = self._geoms[keep]
        self._cols, self._owner, self._alive, self._geoms = cols, owner, alive, geoms

    def _rebuild(self) -> None:
        """Compact the live slots and put them all in a new tree."""
        live = np.flatnonzero(self._alive[: len(self._keys)])
        n = len(live)
        self._resize(max(1024, 2 * n), live)
        self._keys = [self._keys[i] for i in live]
        self._volumes = [self._volumes[i] for i in live]
        self._owners = [self._owners[i] for i in live]
        self._slot = {key: i for i, key in enumerate(self._keys)}
        c = self._cols
        self._tree = shapely.STRtree(shapely.box(c[W, :n], c[S, :n], c[E, :n], c[N, :n])) if n else None
        self._built = n

    def _maybe_rebuild(self) -> None:
        live = len(self._slot)
        recent = len(self._keys) - self._built
        dead = len(self._keys) - live
        limit = max(self._min_recent, self._recent_per_sqrt * math.isqrt(live))
        if recent > limit or dead > max(self._min_recent, live):
            self._rebuild()

    def _candidates(self, box: tuple[float, float, float, float]) -> NDArray[np.int64]:
        """Slots whose boxes meet ``box``: the tree, then a vectorised scan of recent additions."""
        west, south, east, north = box
        found = []
        if self._tree is not None:
            found.append(self._tree.query(shapely.box(west, south, east, north)).astype(np.int64))
        n = len(self._keys)
        if n > self._built:
            c = self._cols[:, self._built : n]
            near = (c[W] <= east) & (c[E] >= west) & (c[S] <= north) & (c[N] >= south)
            found.append(np.flatnonzero(near) + self._built)
        if not found:
            return np.zeros(0, dtype=np.int64)
        return found[0] if len(found) == 1 else np.concatenate(found)

    def conflicts(self, volume: Volume, rules: StrategicRules, exclude_owners: Collection[str] = ()) -> list[Hit]:
        """Every indexed volume that conflicts with ``volume``, except those of ``exclude_owners``.

        Sorted by distance, then by ``str(key)``, so answers are reproducible.
        """
        self._maybe_rebuild()
        slots = self._candidates(pad_bounds(index_box(volume), rules.h_m))
        if not len(slots):
            return []
        c = self._cols[:, slots]
        keep = self._alive[slots] & _near_in_band_and_window(
            c[LO], c[HI], c[T0], c[T1], volume.lower_m, volume.upper_m, volume.start_s, volume.end_s, rules
        )
        for owner in exclude_owners:
            code = self._owner_codes.get(owner)
            if code is not None:
                keep &= self._owner[slots] != code
        if not keep.any():
            return []
        slots, c = slots[keep], c[:, keep]
        distance = _pair_distances(*_one(volume), self._geoms[slots], c[CX], c[CY], c[R])
        close = distance < rules.h_m
        hits = [
            Hit(self._keys[s], self._owners[s], vol, d)
            for s, d in zip(slots[close].tolist(), distance[close].tolist(), strict=True)
            if (vol := self._volumes[s]) is not None
        ]
        hits.sort(key=lambda h: (h.distance_m, str(h.key)))
        return hits

    def pairs(self, rules: StrategicRules) -> list[tuple[Hashable, Hashable]]:
        """Every conflicting pair of indexed volumes of different owners, as (earlier, later) keys.

        One bulk tree query for all boxes, vectorised band/window/owner filters, and grouped exact
        distances: much faster than one :meth:`conflicts` call per volume.
        """
        self._rebuild()
        n = self._built
        if self._tree is None:
            return []
        c = self._cols[:, :n]
        padded = pad_bounds_array(np.column_stack([c[W], c[S], c[E], c[N]]), rules.h_m)
        query = shapely.box(padded[:, 0], padded[:, 1], padded[:, 2], padded[:, 3])
        i, j = self._tree.query(query).astype(np.int64)
        keep = (i < j) & (self._owner[i] != self._owner[j])
        a, b = c[:, i], c[:, j]
        keep &= _near_in_band_and_window(a[LO], a[HI], a[T0], a[T1], b[LO], b[HI], b[T0], b[T1], rules)
        i, j = i[keep], j[keep]
        if not len(i):
            return []
        a, b, g = a[:, keep], b[:, keep], self._geoms
        distance = _pair_distances(g[i], a[CX], a[CY], a[R], g[j], b[CX], b[CY], b[R])
        close = distance < rules.h_m
        return [(self._keys[a], self._keys[b]) for a, b in zip(i[close].tolist(), j[close].tolist(), strict=True)]


def conflicting_pairs(items: Sequence[tuple[Hashable, Volume, str]], rules: StrategicRules) -> list[tuple[int, int]]:
    """Every pair ``(i, j)``, ``i < j``, of items of different owners that conflict (offline planning)."""
    index = StrategicIndex()
    for i, (_, volume, owner) in enumerate(items):
        index.add(i, volume, owner)
    found: list[tuple[int, int]] = []
    for a, b in index.pairs(rules):
        assert isinstance(a, int) and isinstance(b, int)
        found.append((min(a, b), max(a, b)))
    return sorted(found)
