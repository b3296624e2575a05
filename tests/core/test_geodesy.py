"""The one local projection: the bits of the projections it replaced, and its error bound against Geod."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings, target
from hypothesis import strategies as st
from pyproj import Geod, Proj

from deconline.core.geodesy import (
    CENTRE_GRID_PER_DEG,
    FINE_GRID_DEG,
    FINE_GRID_PER_DEG,
    PAD_MARGIN,
    local_projection,
    transformer_for_key,
)

WGS84 = Geod(ellps="WGS84")
B_M = WGS84.b  # the polar semi-axis: WGS84's Gaussian curvature is at most 1 / b^2
ROUNDING_M = 1e-6  # PROJ's AEQD and Geod are both Karney's geodesics, good to ~15 nm
DEAD_ZONE_M = 1e-3  # PROJ's AEQD puts a point within 1e-10 rad in lat and lon of its centre on it (<= 0.9 mm)
SNAP_M = 20_000.0  # the farthest the 0.25 degree grid moves a centre (0.125 degree each way)
MAX_REACH_M = 1_100_000.0  # a 1,000 km volume (the width limit) plus a look-ahead's travel


def stretch_bound(rho_m: float) -> float:
    """The module docstring's bound on projected / geodesic for points within ``rho_m`` of the centre."""
    x = rho_m / B_M
    return x / math.sin(x) if x > 0 else 1.0


def _old_fine_proj(lon_key: int, lat_key: int) -> Proj:
    """The Proj hazard entry used before (``geodesy._fine_aeqd``), verbatim."""
    lon, lat = lon_key * FINE_GRID_DEG, lat_key * FINE_GRID_DEG
    return Proj(f"+proj=aeqd +lat_0={lat:.4f} +lon_0={lon:.4f} +ellps=WGS84 +units=m +no_defs")


def test_fine_grid_gives_the_bits_of_the_proj_it_replaced() -> None:
    """Forward (all hazard entry uses) is bit-identical; inverse differs in the last bit of rad -> deg."""
    rng = np.random.default_rng(14)
    keys = [(0, 0), (1000, 5000), (-18000, 0), (18000, -4321), (12345, 9000), (-777, -9000), (1, -1)]
    keys += [(int(rng.integers(-18000, 18001)), int(rng.integers(-9000, 9001))) for _ in range(60)]
    for lon_key, lat_key in keys:
        old, new = _old_fine_proj(lon_key, lat_key), transformer_for_key(lon_key, lat_key, FINE_GRID_PER_DEG)
        lon = lon_key / 100 + rng.uniform(-12, 12, 400)
        lat = np.clip(lat_key / 100 + rng.uniform(-9, 9, 400), -90, 90)
        forward = new.transform(lon, lat)
        assert np.array_equal(forward, old.transform(lon, lat))
        back_new = np.array(new.transform(*forward, direction="INVERSE"))
        back_old = np.array(old.transform(*forward, direction="INVERSE"))
        assert np.max(np.abs(back_new - back_old)) < 1e-12  # degrees: 0.1 micrometre


def test_local_projection_is_the_cached_fine_cell() -> None:
    for lon, lat in ((10.004999, 50.005001), (-179.996, -89.999), (0.0, 0.0), (151.2093, -33.8688)):
        expected = transformer_for_key(round(lon / FINE_GRID_DEG), round(lat / FINE_GRID_DEG), FINE_GRID_PER_DEG)
        assert local_projection(lon, lat) is expected


def test_numpy_keys_give_the_same_centre() -> None:
    """A numpy scalar's repr is ``np.float64(...)``, which PROJ would misread: keys are coerced."""
    x, y = np.array([10.3, 9.8]), np.array([50.1, 49.7])
    plain = transformer_for_key(41, 200).transform(x, y)
    assert np.array_equal(transformer_for_key(np.int64(41), np.int64(200)).transform(x, y), plain)
    assert np.array_equal(transformer_for_key(41, 200, np.float64(CENTRE_GRID_PER_DEG)).transform(x, y), plain)


def test_headline_figures_of_the_docstring() -> None:
    assert round((stretch_bound(500_000) - 1) * 100, 3) == 0.103
    assert round((stretch_bound(500_000 + SNAP_M) - 1) * 100, 3) == 0.112
    assert round((stretch_bound(1_000_000) - 1) * 100, 3) == 0.414
    assert stretch_bound(MAX_REACH_M) < PAD_MARGIN


@settings(max_examples=400, deadline=None)
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    per_deg=st.sampled_from([CENTRE_GRID_PER_DEG, FINE_GRID_PER_DEG]),
    reach=st.floats(0, MAX_REACH_M),
    az_p=st.floats(-180, 180),
    az_q=st.floats(-180, 180),
    frac_p=st.floats(0, 1),
    frac_q=st.floats(0, 1),
)
def test_projected_distance_is_never_shorter_and_stretched_at_most_by_the_bound(
    lon: float, lat: float, per_deg: float, reach: float, az_p: float, az_q: float, frac_p: float, frac_q: float
) -> None:
    """Two points within ``reach`` of a place, projected on that place's cell, as both callers do:

    geodesic <= projected <= geodesic * (rho/b) / sin(rho/b), rho their farthest from the cell centre,
    to a micrometre, and to the distance from the centre of a point in PROJ's dead zone around it.
    """
    lon_key, lat_key = round(lon * per_deg), round(lat * per_deg)
    centre = (lon_key / per_deg, lat_key / per_deg)
    p_lon, p_lat, _ = WGS84.fwd(lon, lat, az_p, frac_p * reach)
    q_lon, q_lat, _ = WGS84.fwd(lon, lat, az_q, frac_q * reach)
    _, _, geodesic = WGS84.inv(p_lon, p_lat, q_lon, q_lat)
    _, _, rho_p = WGS84.inv(*centre, p_lon, p_lat)
    _, _, rho_q = WGS84.inv(*centre, q_lon, q_lat)
    _, _, snap = WGS84.inv(*centre, lon, lat)
    assert snap <= SNAP_M
    rho = max(rho_p, rho_q)
    assert rho <= reach + snap + ROUNDING_M

    transformer = transformer_for_key(lon_key, lat_key, per_deg)
    (px, qx), (py, qy) = transformer.transform([p_lon, q_lon], [p_lat, q_lat])
    projected = math.hypot(px - qx, py - qy)
    bound = stretch_bound(rho)
    slack = ROUNDING_M + sum(r for r in (rho_p, rho_q) if r < DEAD_ZONE_M)
    assert geodesic - slack <= projected <= geodesic * bound + slack
    if geodesic > 1000.0 and bound > 1.0 + 1e-9:
        target((projected - geodesic) / (geodesic * (bound - 1.0)), label="stretch / bound")


def test_the_bound_is_nearly_reached_on_the_rim() -> None:
    """Short chords across the rim at rho stretch by almost the bound: it is tight, not a loose allowance."""
    rng = np.random.default_rng(3)
    n = 2000
    lon, lat = rng.uniform(-180, 180, n), rng.uniform(-5, 5, n)  # the equator, where the curvature is 1 / b^2
    rho = rng.uniform(100_000, 1_000_000, n)
    az = rng.uniform(-180, 180, n)
    worst = 0.0
    for i in range(n):
        t = transformer_for_key(round(lon[i] * 4), round(lat[i] * 4))
        centre = (round(lon[i] * 4) / 4, round(lat[i] * 4) / 4)
        p = WGS84.fwd(*centre, az[i], rho[i])[:2]
        q = WGS84.fwd(*centre, az[i] + 0.01, rho[i])[:2]
        (px, qx), (py, qy) = t.transform([p[0], q[0]], [p[1], q[1]])
        geodesic = WGS84.inv(*p, *q)[2]
        ratio = (math.hypot(px - qx, py - qy) - geodesic) / (geodesic * (stretch_bound(rho[i]) - 1.0))
        assert ratio <= 1.0 + 1e-6
        worst = max(worst, ratio)
    assert worst > 0.99
