"""Tracks against volumes: predicted entry into a hazard, and conformance to one's own operations.

A track's path over the look-ahead is a straight segment in an azimuthal equidistant projection
centred on the volume; the horizontal inside intervals come from intersecting that segment with
the footprint, and are then cut by the altitude band and the time window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from deconline.core.geodesy import local_projection, pad_bounds, project
from deconline.core.tactical import EARTH_RADIUS_M, Extrapolated
from deconline.core.volumes import Volume


@dataclass(frozen=True)
class Entry:
    """Track ``track`` (index into the extrapolated states) is inside ``volume`` from ``t_entry`` s."""

    track: int
    volume: int
    t_entry: float


def _interval(p: float, v: float, low: float, high: float) -> tuple[float, float]:
    """Times where low <= p + v t <= high."""
    if v == 0:
        return (-math.inf, math.inf) if low <= p <= high else (math.inf, -math.inf)
    t1, t2 = (low - p) / v, (high - p) / v
    return min(t1, t2), max(t1, t2)


def _horizontal_intervals(
    area: shapely.Geometry, start: Point, end: Point, duration: float
) -> list[tuple[float, float]]:
    """Times in [0, duration] at which the straight path from ``start`` to ``end`` is inside ``area``."""
    length = start.distance(end)
    if length == 0:
        return [(-math.inf, math.inf)] if area.intersects(start) else []
    path = LineString([start, end])
    pieces = shapely.get_parts(area.intersection(path))
    intervals = []
    for piece in pieces:
        if piece.is_empty:
            continue
        along = [path.project(Point(c)) for c in shapely.get_coordinates(piece)]
        intervals.append((min(along) / length * duration, max(along) / length * duration))
    return intervals


def hazard_entries(s: Extrapolated, hazards: list[Volume], now: float, lookahead_s: float) -> list[Entry]:
    """For each track and hazard, the first time within the look-ahead the track is inside it."""
    entries: list[Entry] = []
    if len(s.lat) == 0:
        return entries
    lat_deg, lon_deg = np.degrees(s.lat), np.degrees(s.lon)
    reach = float(np.hypot(s.vx, s.vy).max()) * lookahead_s
    for h, hazard in enumerate(hazards):
        window = (hazard.start_s - now, hazard.end_s - now)
        if window[1] < 0 or window[0] > lookahead_s:
            continue
        box = pad_bounds(hazard.footprint.bounds, reach + hazard.radius_m)
        near = np.flatnonzero((lon_deg >= box[0]) & (lon_deg <= box[2]) & (lat_deg >= box[1]) & (lat_deg <= box[3]))
        if not len(near):
            continue
        centre = hazard.footprint.centroid
        projection = local_projection(centre.x, centre.y)
        area = project(hazard.footprint, projection)
        if hazard.is_circle:
            area = area.buffer(hazard.radius_m, quad_segs=32)
        end_lat = s.lat[near] + s.vy[near] * lookahead_s / EARTH_RADIUS_M
        end_lon = s.lon[near] + s.vx[near] * lookahead_s / (EARTH_RADIUS_M * np.maximum(np.cos(s.lat[near]), 1e-6))
        x0, y0 = projection.transform(lon_deg[near], lat_deg[near])
        x1, y1 = projection.transform(np.degrees(end_lon), np.degrees(end_lat))
        for n, k in enumerate(near.tolist()):
            v_in, v_out = _interval(float(s.alt_m[k]), float(s.vz[k]), hazard.lower_m, hazard.upper_m)
            first = math.inf
            for h_in, h_out in _horizontal_intervals(area, Point(x0[n], y0[n]), Point(x1[n], y1[n]), lookahead_s):
                start = max(h_in, v_in, window[0], 0.0)
                stop = min(h_out, v_out, window[1], lookahead_s)
                if start <= stop:
                    first = min(first, start)
            if first < math.inf:
                entries.append(Entry(k, h, first))
    return entries


def outside_all(s: Extrapolated, owned: list[list[Volume]], now: float) -> list[int]:
    """Indices of tracks that are inside none of their owner's volumes at ``now``.

    ``owned[k]`` lists the active volumes of track k's owner (empty: it has none, so it is outside).
    Tracks sharing one list (one owner's) are tested against each volume together: one shapely or
    PROJ call per volume, not per track and volume.
    """
    n = len(owned)
    points = shapely.points(np.degrees(s.lon[:n]), np.degrees(s.lat[:n]))
    inside = np.zeros(n, dtype=bool)
    groups: dict[int, tuple[list[Volume], list[int]]] = {}
    for k, volumes in enumerate(owned):
        groups.setdefault(id(volumes), (volumes, []))[1].append(k)
    for volumes, members in groups.values():
        tracks = np.array(members, dtype=np.int64)
        for volume in volumes:
            if not volume.start_s <= now <= volume.end_s:
                continue
            alt = s.alt_m[tracks]
            candidates = tracks[~inside[tracks] & (volume.lower_m <= alt) & (alt <= volume.upper_m)]
            if not len(candidates):
                continue
            if volume.is_circle:
                projection = local_projection(volume.footprint.x, volume.footprint.y)
                centre = project(volume.footprint, projection)
                within = shapely.distance(project(points[candidates], projection), centre) <= volume.radius_m
            else:
                within = shapely.covers(volume.footprint, points[candidates])
            inside[candidates[within]] = True
    return [int(k) for k in np.flatnonzero(~inside)]
