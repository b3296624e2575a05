"""Volume validation in the core: rules, messages and the width bound."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from deconline.core.volumes import (
    Limits,
    VolumeError,
    footprint_width_m,
    make_volume,
    polygon_from_geojson,
    polygon_from_ring,
    width_upper_bound_m,
)


def square(lon: float, lat: float, d: float) -> Polygon:
    return Polygon([(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)])


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(-170, 160),
    lat=st.floats(-85, 80),
    w=st.floats(0.001, 10),
    h=st.floats(0.001, 5),
)
def test_width_bound_is_never_below_the_diameter(lon: float, lat: float, w: float, h: float) -> None:
    footprint = Polygon([(lon, lat), (lon + w, lat), (lon + w, lat + h), (lon, lat + h)])
    assert width_upper_bound_m(footprint) >= footprint_width_m(footprint, 0.0)


def test_width_limit() -> None:
    wide = square(0, 45, 12)  # ~1,400 km across
    with pytest.raises(VolumeError, match="km wide"):
        make_volume(wide, 0, 0, 100, 0, 10)
    assert make_volume(wide, 0, 0, 100, 0, 10, Limits(max_width_m=2_000_000)).lower_m == 0


def test_duration_limit_is_configurable() -> None:
    with pytest.raises(VolumeError, match="at most 3600"):
        make_volume(square(0, 45, 0.1), 0, 0, 100, 0, 3601, Limits(max_duration_s=3600))


def test_ring_rules() -> None:
    with pytest.raises(VolumeError, match="not closed"):
        polygon_from_geojson({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "f")
    with pytest.raises(VolumeError, match="finite"):
        polygon_from_ring([[0, 0], [1, math.nan], [1, 1]], "f", closed=False)
    with pytest.raises(VolumeError, match="180 degrees"):
        polygon_from_ring([[-170, 0], [170, 0], [170, 1]], "f", closed=False)
    with pytest.raises(VolumeError, match=r"no area|valid"):
        polygon_from_ring([[0, 0], [1, 1], [2, 2]], "f", closed=False)
    assert polygon_from_ring([[0, 0], [1, 0], [1, 1], [0, 0]], "f", closed=False).area == 0.5
