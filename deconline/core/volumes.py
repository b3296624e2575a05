"""4D volumes: a footprint (polygon or circle), an altitude band and a time window.

Footprints are kept in geographic coordinates (x = longitude, y = latitude, degrees WGS84);
distances are measured by the strategic engine in a local projection. Everything here is pure:
validation raises :class:`VolumeError` naming the field and the rule, so the shell can turn it
into a 422 without knowing geometry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon, mapping
from shapely.validation import explain_validity

WGS84 = Geod(ellps="WGS84")

MAX_VERTICES = 1000
MIN_ALTITUDE_M = -500.0
MAX_ALTITUDE_M = 30_000.0


class VolumeError(ValueError):
    """A volume breaks a rule; ``field`` is the path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Volume:
    """A 4D volume. ``radius_m`` > 0 means the footprint is a circle around a Point."""

    footprint: Polygon | Point
    radius_m: float
    lower_m: float
    upper_m: float
    start_s: float
    end_s: float

    @property
    def is_circle(self) -> bool:
        return self.radius_m > 0

    def geojson(self) -> dict[str, Any]:
        """The footprint as a GeoJSON geometry (a Point for circles; see ``radius_m``)."""
        return dict(mapping(self.footprint))


@dataclass(frozen=True, slots=True)
class Limits:
    """Configurable size limits for one volume."""

    max_duration_s: float = 24 * 3600.0
    max_width_m: float = 1_000_000.0


def _finite(value: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise VolumeError(field, f"{field} must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise VolumeError(field, f"{field} must be a finite number (no NaN or infinity)")
    return value


def _position(raw: Any, field: str) -> tuple[float, float]:
    if not isinstance(raw, list | tuple) or len(raw) not in (2, 3):
        raise VolumeError(field, f"{field} must be a [longitude, latitude] pair")
    lon = _finite(raw[0], f"{field}[0]")
    lat = _finite(raw[1], f"{field}[1]")
    if not -180.0 <= lon <= 180.0:
        raise VolumeError(field, f"longitude {lon} at {field} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise VolumeError(field, f"latitude {lat} at {field} is outside [-90, 90]")
    return lon, lat


def polygon_from_ring(ring: Sequence[Any], field: str, *, closed: bool = True) -> Polygon:
    """Build a valid polygon from one exterior ring of [lon, lat] positions.

    ``closed`` rings (GeoJSON) must repeat their first position last; open rings (ASTM
    ``outline_polygon``) are closed here.
    """
    if not isinstance(ring, list | tuple):
        raise VolumeError(field, f"{field} must be a list of [longitude, latitude] positions")
    points = [_position(p, f"{field}[{i}]") for i, p in enumerate(ring)]
    if closed:
        if len(points) < 4:
            raise VolumeError(field, f"{field} needs at least 4 positions (a closed triangle)")
        if points[0] != points[-1]:
            raise VolumeError(field, f"{field} is not closed: the last position must repeat the first")
        points = points[:-1]
    elif len(points) >= 2 and points[0] == points[-1]:
        points = points[:-1]
    if len(points) < 3:
        raise VolumeError(field, f"{field} needs at least 3 distinct vertices")
    if len(points) > MAX_VERTICES:
        raise VolumeError(field, f"{field} has {len(points)} vertices; at most {MAX_VERTICES} are allowed")
    lons = [p[0] for p in points]
    if max(lons) - min(lons) > 180.0:
        raise VolumeError(
            field, f"{field} spans more than 180 degrees of longitude (antimeridian crossing is not supported)"
        )
    polygon = Polygon([*points, points[0]])
    if not polygon.is_valid:
        raise VolumeError(field, f"{field} is not a valid polygon: {explain_validity(polygon)}")
    if polygon.area <= 0:
        raise VolumeError(field, f"{field} has no area")
    return polygon


def polygon_from_geojson(geometry: Any, field: str) -> Polygon:
    """A GeoJSON Polygon with exactly one (exterior) ring."""
    if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
        raise VolumeError(field, f"{field} must be a GeoJSON Polygon")
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise VolumeError(f"{field}.coordinates", "a Polygon needs a list of rings")
    if len(rings) > 1:
        raise VolumeError(f"{field}.coordinates", "polygons with holes are not supported: give one exterior ring")
    return polygon_from_ring(rings[0], f"{field}.coordinates[0]", closed=True)


def circle_centre(position: Any, radius_m: Any, field: str) -> tuple[Point, float]:
    lon, lat = _position(position, f"{field}.coordinates")
    radius = _finite(radius_m, "radius_m")
    if radius <= 0:
        raise VolumeError("radius_m", "radius_m must be greater than 0")
    return Point(lon, lat), radius


# The largest radius of curvature of the WGS84 ellipsoid (a^2 / b): no arc is longer than on this sphere.
_MAX_CURVATURE_RADIUS_M = 6_399_593.6


def width_upper_bound_m(footprint: Polygon) -> float:
    """A cheap bound on the diameter: down a meridian, along the widest parallel, up a meridian."""
    min_lon, min_lat, max_lon, max_lat = footprint.bounds
    widest_lat = 0.0 if min_lat <= 0.0 <= max_lat else min(abs(min_lat), abs(max_lat))
    parallel = math.cos(math.radians(widest_lat)) * math.radians(max_lon - min_lon)
    return _MAX_CURVATURE_RADIUS_M * (parallel + 2.0 * math.radians(max_lat - min_lat))


def footprint_width_m(footprint: Polygon | Point, radius_m: float) -> float:
    """The largest geodesic distance across the footprint (its diameter)."""
    if isinstance(footprint, Point):
        return 2.0 * radius_m
    hull = shapely.convex_hull(footprint)
    coords = np.asarray(shapely.get_coordinates(hull))
    if len(coords) < 2:
        return 0.0
    i, j = np.triu_indices(len(coords), k=1)
    _, _, dist = WGS84.inv(coords[i, 0], coords[i, 1], coords[j, 0], coords[j, 1])
    return float(np.max(dist))


def make_volume(
    footprint: Polygon | Point,
    radius_m: float,
    lower_m: Any,
    upper_m: Any,
    start_s: Any,
    end_s: Any,
    limits: Limits = Limits(),
) -> Volume:
    """Check the band, the window and the size limits, and build the volume."""
    lower = _finite(lower_m, "lower_m")
    upper = _finite(upper_m, "upper_m")
    for name, value in (("lower_m", lower), ("upper_m", upper)):
        if not MIN_ALTITUDE_M <= value <= MAX_ALTITUDE_M:
            raise VolumeError(name, f"{name} = {value} is outside [{MIN_ALTITUDE_M:g}, {MAX_ALTITUDE_M:g}] m")
    if lower >= upper:
        raise VolumeError("lower_m", f"lower_m ({lower:g}) must be below upper_m ({upper:g})")
    start = _finite(start_s, "start")
    end = _finite(end_s, "end")
    if start >= end:
        raise VolumeError("start", "start must be before end")
    if end - start > limits.max_duration_s:
        raise VolumeError("end", f"the volume lasts {end - start:g} s; at most {limits.max_duration_s:g} s is allowed")
    if isinstance(footprint, Point) or width_upper_bound_m(footprint) > limits.max_width_m:
        width = footprint_width_m(footprint, radius_m)
    else:
        width = 0.0  # certainly within the limit; the exact diameter is not needed
    if width > limits.max_width_m:
        raise VolumeError(
            "footprint",
            f"the footprint is {width / 1000:.1f} km wide; at most {limits.max_width_m / 1000:g} km is allowed",
        )
    return Volume(footprint, radius_m, lower, upper, start, end)
