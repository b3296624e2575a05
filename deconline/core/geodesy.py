"""Local projections and conservative metre-to-degree padding, on the WGS84 ellipsoid.

Distances between two footprints are measured in an azimuthal equidistant projection centred
on the pair: distances from the centre are exact and the tangential scale error is
(d/R)^2/6, about 0.1 % at 500 km. Building a ``pyproj.Proj`` from a PROJ string costs ~0.1 ms,
so projections are cached on a fine grid of centres (0.01 degree, about 1 km).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Proj
from shapely.geometry.base import BaseGeometry

WGS84_A = 6_378_137.0
# Shortest length of one degree on WGS84: of latitude (at the equator, a(1-e^2) * pi/180) and,
# per unit cos(latitude), of longitude (a * pi/180). Padding with these never falls short.
MIN_METRES_PER_DEGREE_LAT = 110_574.0
MIN_METRES_PER_DEGREE_LON_AT_EQUATOR = WGS84_A * math.pi / 180.0
CENTRE_GRID_DEG = 0.01


@lru_cache(maxsize=16_384)
def _aeqd(lat_key: int, lon_key: int) -> Proj:
    lat, lon = lat_key * CENTRE_GRID_DEG, lon_key * CENTRE_GRID_DEG
    return Proj(f"+proj=aeqd +lat_0={lat:.4f} +lon_0={lon:.4f} +ellps=WGS84 +units=m +no_defs")


def local_projection(lon: float, lat: float) -> Proj:
    """The azimuthal equidistant projection centred (to ~1 km) on ``lon``, ``lat``."""
    return _aeqd(round(lat / CENTRE_GRID_DEG), round(lon / CENTRE_GRID_DEG))


def project(geometry: BaseGeometry, projection: Proj) -> BaseGeometry:
    """Lon/lat degrees to projected metres."""

    def forward(coords: np.ndarray) -> np.ndarray:
        x, y = projection(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, forward)


def unproject(geometry: BaseGeometry, projection: Proj) -> BaseGeometry:
    """Projected metres back to lon/lat degrees."""

    def inverse(coords: np.ndarray) -> np.ndarray:
        lon, lat = projection(coords[:, 0], coords[:, 1], inverse=True)
        return np.column_stack([lon, lat])

    return shapely.transform(geometry, inverse)


def pad_bounds(
    bounds: tuple[float, float, float, float], metres: float, margin: float = 1.01
) -> tuple[float, float, float, float]:
    """A lon/lat box that surely contains every point within ``metres`` of ``bounds``.

    ``margin`` covers the projection's own scale error, so pruning by these boxes never drops a
    pair that the exact (projected) test would report.
    """
    min_lon, min_lat, max_lon, max_lat = bounds
    if metres <= 0:
        return bounds
    dlat = metres * margin / MIN_METRES_PER_DEGREE_LAT + 1e-9
    south, north = max(-90.0, min_lat - dlat), min(90.0, max_lat + dlat)
    worst_lat = max(abs(south), abs(north))
    cos_lat = math.cos(math.radians(worst_lat))
    if cos_lat < 1e-3:
        return (-180.0, south, 180.0, north)
    dlon = metres * margin / (MIN_METRES_PER_DEGREE_LON_AT_EQUATOR * cos_lat) + 1e-9
    if dlon >= 180.0:
        return (-180.0, south, 180.0, north)
    return (min_lon - dlon, south, max_lon + dlon, north)
