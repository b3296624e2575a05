"""Local projections and conservative metre-to-degree padding, on the WGS84 ellipsoid.

Distances and paths are measured in an azimuthal equidistant (AEQD) projection centred on a
grid cell near the place of interest, from one cached helper (:func:`transformer_for_key`):
snapping the centre lets a few thousand transformers be built once and reused. The strategic
pair test uses a 0.25 degree grid, which many pairs share; hazard entry centres on the volume
to a 0.01 degree grid.

The AEQD keeps distances from its centre exact and never shrinks a length (radial scale 1,
tangential scale >= 1), so a projected distance is never shorter than the geodesic one: pruning
with boxes padded for the geodesic distance (plus a margin) is safe. It stretches a length by at
most its tangential scale, s / m(s) at geodesic distance s from the centre (m the reduced
length), which the WGS84 Gaussian curvature (at most 1/b^2, b the polar semi-axis) keeps under
the sphere's. So for two points within rho of the projection centre::

    geodesic <= projected <= geodesic * (rho/b) / sin(rho/b)   (about 1 + (rho/b)^2 / 6)

That is 0.103 % at rho = 500 km, 0.112 % at 520 km (500 km from a point the 0.25 degree snap
moves the centre up to 20 km away from) and 0.414 % at 1,000 km: well under the 1 % PAD_MARGIN.
The one exception, far below any margin: PROJ puts a point within 1e-10 rad in latitude and
longitude of the centre (0.9 mm at most) on the centre. tests/core/test_geodesy.py checks both
inequalities against pyproj's Geod out to 1,100 km.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

CENTRE_GRID_DEG = 0.25
CENTRE_GRID_PER_DEG = 4.0  # 1 / CENTRE_GRID_DEG, a power of two so scaling is exact

# Padding constants, chosen so a padded box never falls short: a degree of latitude is at least
# 110,574 m on WGS84 (we use 110,000), a degree of longitude at least a*pi/180 * cos(latitude).
METRES_PER_DEG_LAT_FLOOR = 110_000.0
METRES_PER_DEG_LON_AT_EQUATOR = 6_378_137.0 * math.pi / 180.0  # 111,319.49 m
# The smallest radius of curvature of WGS84 (b^2/a), for the spherical bound on long arcs.
MIN_CURVATURE_RADIUS_M = 6_335_439.0
PAD_MARGIN = 1.01
PAD_EPSILON_DEG = 1e-9
POLAR_COS_LIMIT = 1e-3  # beyond ~89.94 degrees of latitude the box spans every longitude

G = TypeVar("G")


@lru_cache(maxsize=20_480)  # the two caches it replaced, 4,096 strategic and 16,384 fine cells
def transformer_for_key(lon_key: int, lat_key: int, per_deg: float = CENTRE_GRID_PER_DEG) -> Transformer:
    """The AEQD transformer (lon/lat degrees -> metres) centred on ``(lon_key, lat_key) / per_deg``.

    The one local projection: ``per_deg`` cells per degree, 4 (the default) for the strategic
    pair test, 100 for hazard entry (:func:`local_projection`). The centre is the quotient, whose
    ``repr`` PROJ reads back exactly, so a cell always gets the same bits. Built from the explicit
    pipeline that ``Transformer.from_crs("EPSG:4326", "+proj=aeqd ... +datum=WGS84")`` resolves
    to (bit-identical output, tested) because resolving it through the CRS database costs ~3 ms
    against ~0.03 ms here (a ``Proj`` on ``+ellps=WGS84``, ~0.07 ms, also projects to the same
    bits, tested). pyproj transformers are thread-safe.
    """
    lon, lat = float(lon_key / per_deg), float(lat_key / per_deg)  # numpy scalars repr as np.float64(...)
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +datum=WGS84 +units=m"
    )


FINE_GRID_DEG = 0.01
FINE_GRID_PER_DEG = 100.0  # 1 / FINE_GRID_DEG


def local_projection(lon: float, lat: float) -> Transformer:
    """The cached AEQD centred on ``lon``, ``lat`` to a 0.01 degree grid (~1 km): a volume, for tracks against it.

    Finer than the strategic grid so the centre stays on the volume; the strategic pair test
    calls :func:`transformer_for_key` with its own (coarser, shared) cell.
    """
    return transformer_for_key(round(lon / FINE_GRID_DEG), round(lat / FINE_GRID_DEG), FINE_GRID_PER_DEG)


def _mapper(transformer: Transformer, inverse: bool) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    direction = "INVERSE" if inverse else "FORWARD"

    def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transformer.transform(coords[:, 0], coords[:, 1], direction=direction)
        return np.column_stack([x, y])

    return apply


def project(geometry: G, transformer: Transformer) -> G:
    """Lon/lat degrees to projected metres; ``geometry`` may be one geometry or an array of them.

    An array is projected with one call to PROJ, which is what makes grouped distances cheap.
    """
    result: Any = shapely.transform(geometry, _mapper(transformer, inverse=False))
    return result  # type: ignore[no-any-return]


def unproject(geometry: G, transformer: Transformer) -> G:
    """Projected metres back to lon/lat degrees."""
    result: Any = shapely.transform(geometry, _mapper(transformer, inverse=True))
    return result  # type: ignore[no-any-return]


def _lon_pad_deg(metres: float, cos_lat: float) -> float:
    """Longitude span of ``metres`` at the parallel whose cosine is ``cos_lat`` (or inf).

    Small arcs: metres / (111,319 m * cos). Long arcs can cut poleward of the parallel, so the
    spherical bound 2 asin(sin(d / 2R) / cos) is used when it is larger.
    """
    if cos_lat < POLAR_COS_LIMIT:
        return math.inf
    linear = metres / (METRES_PER_DEG_LON_AT_EQUATOR * cos_lat)
    ratio = math.sin(min(math.pi / 2, metres / (2.0 * MIN_CURVATURE_RADIUS_M))) / cos_lat
    if ratio >= 1.0:
        return math.inf
    return max(linear, math.degrees(2.0 * math.asin(ratio)))


def pad_bounds(
    bounds: tuple[float, float, float, float], metres: float, margin: float = PAD_MARGIN
) -> tuple[float, float, float, float]:
    """A lon/lat box containing every point within ``metres`` (geodesic) of ``bounds``.

    ``margin`` (1 %) covers the ellipsoid and the projection's own error, so pruning with these
    boxes never drops a pair the exact projected test would report. Near a pole, and when the
    padding would pass one, the box spans all longitudes.
    """
    min_lon, min_lat, max_lon, max_lat = bounds
    if metres <= 0:
        return bounds
    metres *= margin
    dlat = metres / METRES_PER_DEG_LAT_FLOOR + PAD_EPSILON_DEG
    south, north = max(-90.0, min_lat - dlat), min(90.0, max_lat + dlat)
    cos_lat = math.cos(math.radians(max(abs(south), abs(north))))
    dlon = _lon_pad_deg(metres, cos_lat) + PAD_EPSILON_DEG
    if not dlon < 180.0:
        return (-180.0, south, 180.0, north)
    return (min_lon - dlon, south, max_lon + dlon, north)


def pad_bounds_array(
    bounds: NDArray[np.float64], metres: NDArray[np.float64] | float, margin: float = PAD_MARGIN
) -> NDArray[np.float64]:
    """:func:`pad_bounds` for an (n, 4) array of boxes at once (bulk joins)."""
    b = np.asarray(bounds, dtype=np.float64)
    m = np.broadcast_to(np.asarray(metres, dtype=np.float64), (len(b),)) * margin
    dlat = np.where(m > 0, m / METRES_PER_DEG_LAT_FLOOR + PAD_EPSILON_DEG, 0.0)
    south = np.maximum(-90.0, b[:, 1] - dlat)
    north = np.minimum(90.0, b[:, 3] + dlat)
    cos_lat = np.cos(np.radians(np.maximum(np.abs(south), np.abs(north))))
    safe_cos = np.maximum(cos_lat, POLAR_COS_LIMIT)
    linear = m / (METRES_PER_DEG_LON_AT_EQUATOR * safe_cos)
    ratio = np.sin(np.minimum(np.pi / 2, m / (2.0 * MIN_CURVATURE_RADIUS_M))) / safe_cos
    arc = np.degrees(2.0 * np.arcsin(np.minimum(ratio, 1.0)))
    dlon = np.where((cos_lat < POLAR_COS_LIMIT) | (ratio >= 1.0), np.inf, np.maximum(linear, arc)) + PAD_EPSILON_DEG
    dlon = np.where(m > 0, dlon, 0.0)
    whole = dlon >= 180.0
    west = np.where(whole, -180.0, b[:, 0] - dlon)
    east = np.where(whole, 180.0, b[:, 2] + dlon)
    south = np.where(m > 0, south, b[:, 1])
    north = np.where(m > 0, north, b[:, 3])
    return np.column_stack([west, south, east, north])


def edge_bulge_m(bounds: tuple[float, float, float, float]) -> float:
    """How far a polygon's edges, drawn straight in some local AEQD, can stray outside its vertices' box.

    A straight edge in the projection is close to a geodesic, which bows poleward of a parallel
    by about tan(lat) L^2 / 8R over a length L (3 m for 10 km at 60 degrees, 35 km for 1,000 km).
    The bound takes L as the box diagonal, adds 1/R for the projection's own curvature of far
    lines, and doubles the result. Used only to pad index boxes, never in the exact test.
    """
    min_lon, min_lat, max_lon, max_lat = bounds
    worst_lat = min(89.9, max(abs(min_lat), abs(max_lat)))
    near_lat = 0.0 if min_lat <= 0.0 <= max_lat else min(abs(min_lat), abs(max_lat))
    width = (max_lon - min_lon) * METRES_PER_DEG_LON_AT_EQUATOR * math.cos(math.radians(near_lat))
    height = (max_lat - min_lat) * 111_700.0  # the longest degree of latitude, at the poles
    diagonal_sq = width * width + height * height
    return 2.0 * (math.tan(math.radians(worst_lat)) + 1.0) * diagonal_sq / (8.0 * MIN_CURVATURE_RADIUS_M)
