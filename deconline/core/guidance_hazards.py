"""Guidance against hazards: when each candidate's straight path is inside an active hazard.

The semantics are ``core.areas.hazard_entries``'s for a track: the path over the look-ahead is the
straight segment, in the azimuthal equidistant projection centred on the hazard, from the ownship's
position to where the candidate's velocity takes it on the sphere; the times it is inside the
footprint (edges included) are cut by the altitude band and by the hazard's time window. Track and
speed candidates each have their own path: all of them go to shapely at once (one projection call,
one prepared ``intersects``, one ``intersection`` of the paths that touch), never one call each.
Vertical speed and level candidates share the ownship's own path, so only the vertical differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from deconline.core.geodesy import local_projection, pad_bounds_array, project
from deconline.core.guidance_windows import FREE, Candidates, Owns
from deconline.core.tactical import EARTH_RADIUS_M
from deconline.core.volumes import Volume

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


@dataclass(frozen=True)
class HazardOwns:
    """The ownships and their positions (degrees)."""

    owns: Owns
    lat_deg: Floats
    lon_deg: Floats


def band_interval(alt: Floats, vz: Floats, lower: float, upper: float) -> tuple[Floats, Floats]:
    """The times with ``lower <= alt + vz t <= upper`` (edges included; empty as ``(inf, -inf)``)."""
    moving = vz != 0
    safe = np.where(moving, vz, 1.0)
    t1, t2 = (lower - alt) / safe, (upper - alt) / safe
    inside = (lower <= alt) & (alt <= upper)
    lo = np.where(moving, np.minimum(t1, t2), np.where(inside, -np.inf, np.inf))
    hi = np.where(moving, np.maximum(t1, t2), np.where(inside, np.inf, -np.inf))
    return lo, hi


def inside_intervals(
    area: shapely.Geometry, x0: Floats, y0: Floats, x1: Floats, y1: Floats, duration: float
) -> tuple[Ints, Floats, Floats]:
    """For each straight path from ``(x0, y0)`` to ``(x1, y1)`` flown over ``duration``, the times
    it is inside ``area``: one row ``(path, from, to)`` per piece of path inside."""
    sx, sy = x1 - x0, y1 - y0
    length = np.hypot(sx, sy)
    still = np.flatnonzero(length == 0)
    rows = [still[shapely.intersects(area, shapely.points(x0[still], y0[still]))]]
    lows, highs = [np.full(len(rows[0]), -np.inf)], [np.full(len(rows[0]), np.inf)]
    moving = np.flatnonzero(length > 0)
    lines = shapely.linestrings(np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)[moving])
    hit = shapely.intersects(area, lines)
    touching = moving[hit]
    if len(touching):
        pieces, which = shapely.get_parts(shapely.intersection(lines[hit], area), return_index=True)
        coords, of = shapely.get_coordinates(pieces, return_index=True)
        if len(coords):
            path = touching[which[of]]
            along = ((coords[:, 0] - x0[path]) * sx[path] + (coords[:, 1] - y0[path]) * sy[path]) / length[path]
            t = np.clip(along, 0.0, length[path]) / length[path] * duration
            starts = np.flatnonzero(np.r_[True, of[1:] != of[:-1]])  # each piece's coordinates, together
            rows.append(path[starts])
            lows.append(np.minimum.reduceat(t, starts))
            highs.append(np.maximum.reduceat(t, starts))
    return np.concatenate(rows).astype(np.int64), np.concatenate(lows), np.concatenate(highs)


def _ends(lat_deg: Floats, lon_deg: Floats, vx: Floats, vy: Floats, duration: float) -> tuple[Floats, Floats]:
    """Where a velocity takes each position after ``duration`` on the sphere (degrees), as
    ``hazard_entries`` extrapolates a track."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    end_lat = lat + vy * duration / EARTH_RADIUS_M
    end_lon = lon + vx * duration / (EARTH_RADIUS_M * np.maximum(np.cos(lat), 1e-6))
    return np.degrees(end_lat), np.degrees(end_lon)


def _store(out: Floats, k: Ints, c: Ints, start: Floats, stop: Floats) -> None:
    """Keep, per ownship and candidate, the latest exit of the entered pieces (``start <= stop``)."""
    hit = start <= stop
    np.maximum.at(out, (k[hit], c[hit]), stop[hit])


@dataclass(frozen=True)
class _Near:
    """The ownships near one hazard (rows ``near`` of the batch), in the hazard's projection: where
    they are, how a metre east and a metre north move them there (``east``, ``north``), and the
    area with the circle around it (``centre``, ``radius``)."""

    near: Ints
    lat: Floats
    lon: Floats
    x0: Floats
    y0: Floats
    east: tuple[Floats, Floats]
    north: tuple[Floats, Floats]
    projection: Transformer
    area: shapely.Geometry
    centre: tuple[float, float]
    radius: float

    def pieces(self, vx: Floats, vy: Floats, start: Ints, lookahead: float) -> tuple[Ints, Floats, Floats]:
        """The pieces inside the area of the paths with velocities ``vx, vy`` from ownships
        ``start`` (rows of ``near``). Paths that pass far from the area's circle, flown on the
        projection's tangent at the ownship, are left out before PROJ and shapely see them: the
        tangent strays from the path by less than the margin (the sphere's extrapolation bends by
        about ``d^2 tan(lat) / R`` over ``d``, the projection far less)."""
        dx = (self.east[0][start] * vx + self.north[0][start] * vy) * lookahead
        dy = (self.east[1][start] * vx + self.north[1][start] * vy) * lookahead
        x0, y0 = self.x0[start], self.y0[start]
        length2 = dx * dx + dy * dy
        u = np.clip(((self.centre[0] - x0) * dx + (self.centre[1] - y0) * dy) / np.maximum(length2, 1e-9), 0.0, 1.0)
        miss = np.hypot(x0 + u * dx - self.centre[0], y0 + u * dy - self.centre[1])
        bend = length2 * (np.tan(np.radians(np.minimum(np.abs(self.lat[start]), 89.9))) + 1.0) / EARTH_RADIUS_M
        maybe = np.flatnonzero(miss <= self.radius + 0.02 * np.sqrt(length2) + 2.0 * bend + 2000.0)
        if not len(maybe):
            empty = np.zeros(0)
            return np.zeros(0, dtype=np.int64), empty, empty
        chosen = start[maybe]
        end_lat, end_lon = _ends(self.lat[chosen], self.lon[chosen], vx[maybe], vy[maybe], lookahead)
        x1, y1 = self.projection.transform(end_lon, end_lat)
        path, a, b = inside_intervals(self.area, x0[maybe], y0[maybe], np.asarray(x1), np.asarray(y1), lookahead)
        return maybe[path], a, b


def _near(ho: HazardOwns, hazard: Volume, reach: Floats) -> _Near | None:
    """The ownships within ``reach`` (each its own) of a hazard, or None."""
    box = pad_bounds_array(np.tile(hazard.footprint.bounds, (len(reach), 1)), reach + hazard.radius_m)
    lon, lat = ho.lon_deg, ho.lat_deg
    near = np.flatnonzero((lon >= box[:, 0]) & (lon <= box[:, 2]) & (lat >= box[:, 1]) & (lat <= box[:, 3]))
    if not len(near):
        return None
    centre = hazard.footprint.centroid
    projection = local_projection(centre.x, centre.y)
    area = project(hazard.footprint, projection)
    if hazard.is_circle:
        area = area.buffer(hazard.radius_m, quad_segs=32)
    shapely.prepare(area)
    middle = area.centroid
    radius = float(np.max(np.hypot(*(shapely.get_coordinates(area) - [middle.x, middle.y]).T)))
    lat, lon = lat[near], lon[near]
    step = 1000.0  # metres: the tangent from a kilometre's step each way
    ahead_lat, ahead_lon = _ends(lat, lon, np.zeros(len(near)), np.full(len(near), step), 1.0)
    aside_lat, aside_lon = _ends(lat, lon, np.full(len(near), step), np.zeros(len(near)), 1.0)
    x, y = (np.asarray(c) for c in projection.transform(
        np.concatenate([lon, ahead_lon, aside_lon]), np.concatenate([lat, ahead_lat, aside_lat])))  # fmt: skip
    n = len(near)
    x0, y0 = x[:n], y[:n]
    north = ((x[n : 2 * n] - x0) / step, (y[n : 2 * n] - y0) / step)
    east = ((x[2 * n :] - x0) / step, (y[2 * n :] - y0) / step)
    return _Near(near, lat, lon, x0, y0, east, north, projection, area, (middle.x, middle.y), radius)


def by_hazard(
    ho: HazardOwns, cands: dict[str, Candidates], hazards: Sequence[Volume], now: float, lookahead: float
) -> dict[str, Floats]:
    """Per dimension, ownship and candidate: the latest time within the look-ahead it is inside a
    hazard (``FREE``: never)."""
    o = ho.owns
    out = {d: np.full((len(o.alt), c.grid.size), FREE) for d, c in cands.items()}
    speed = cands["gs_mps"].grid
    fastest = np.maximum(o.gs, speed.origin + speed.step * (speed.count - 1))
    for hazard in hazards:
        w0, w1 = hazard.start_s - now, hazard.end_s - now
        if w1 < 0 or w0 > lookahead:
            continue
        place = _near(ho, hazard, fastest * lookahead)
        if place is None:
            continue
        near = place.near
        after, before = max(w0, 0.0), min(w1, lookahead)
        # Vertical speed and level: the ownship's own path, each candidate's own vertical.
        path, a, b = place.pieces(o.vx[near], o.vy[near], np.arange(len(near)), lookahead)
        k = near[path]
        for dim in ("vs_mps", "alt_m"):
            c = cands[dim]
            alt, vz = c.first[k], c.second[k]
            v_in, v_out = band_interval(alt, vz, hazard.lower_m, hazard.upper_m)
            start = np.maximum(np.maximum(a[:, None], v_in), after)
            stop = np.minimum(np.minimum(b[:, None], v_out), before)
            valid = np.arange(c.grid.size)[None, :] < c.grid.count[k][:, None]
            rows, cols = np.nonzero(valid)
            _store(out[dim], k[rows], cols, start[valid], stop[valid])
        # Track and speed: each candidate its own path, the ownship's own vertical (which must meet
        # the band within the window, or none of them can enter).
        v_in, v_out = band_interval(o.alt[near], o.vz[near], hazard.lower_m, hazard.upper_m)
        level = np.maximum(v_in, after) <= np.minimum(v_out, before)
        for dim in ("track_deg", "gs_mps"):
            c = cands[dim]
            row, col = np.nonzero((np.arange(c.grid.size)[None, :] < c.grid.count[near][:, None]) & level[:, None])
            path, a, b = place.pieces(c.first[near[row], col], c.second[near[row], col], row, lookahead)
            r = row[path]
            start = np.maximum(np.maximum(a, v_in[r]), after)
            stop = np.minimum(np.minimum(b, v_out[r]), before)
            _store(out[dim], near[r], col[path], start, stop)
    return out
