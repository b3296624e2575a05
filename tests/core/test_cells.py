"""The grid strategic decisions lock: two volumes that could conflict always share a cell."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from deconline.core.cells import CELL_DEG, LON_CELLS, MAX_CELLS, cell_id, cells_of_box, reach_cells, registered_cells
from deconline.core.strategic import StrategicRules, volumes_conflict
from deconline.core.volumes import Volume


def square(lon: float, lat: float, half_deg: float) -> Polygon:
    west, east, south, north = lon - half_deg, lon + half_deg, lat - half_deg, lat + half_deg
    return Polygon([(west, south), (east, south), (east, north), (west, north)])


def volume(footprint: Polygon | Point, radius_m: float = 0.0) -> Volume:
    return Volume(footprint, radius_m, 0.0, 1000.0, 0.0, 3600.0)


def test_a_box_on_a_cell_edge_holds_both_neighbours() -> None:
    edge = 5 * CELL_DEG
    cells = cells_of_box((edge, 1.1, edge, 1.1))
    assert cells == {cell_id(5, math.floor(1.1 / CELL_DEG))}  # a point on the edge is in the cell east of it
    assert len(reach_cells([volume(Point(edge, 1.1), 10.0)], 100.0) or ()) == 2


def test_longitude_wraps_at_the_antimeridian() -> None:
    east = cells_of_box((179.9, 0.0, 180.1, 0.0))
    assert east == {cell_id(LON_CELLS // 2 - 1, 0), cell_id(-LON_CELLS // 2, 0)}
    assert cell_id(LON_CELLS // 2, 0) == cell_id(-LON_CELLS // 2, 0)


def test_a_decision_wider_than_the_limit_locks_everything() -> None:
    wide = volume(square(10.0, 50.0, 3.0))
    assert reach_cells([wide], 1000.0) is None
    assert len(registered_cells([wide])) > MAX_CELLS  # it is still registered everywhere it is


def test_near_a_pole_every_longitude_is_one_row() -> None:
    cells = registered_cells([volume(Point(0.0, 89.99), 5000.0)])
    assert len(cells) == LON_CELLS  # the padded box spans all longitudes: one row of cells


lons = st.floats(-179.5, 179.5)
lats = st.floats(-80.0, 80.0)


@settings(max_examples=300, deadline=None)
@given(
    lon=lons,
    lat=lats,
    dlon=st.floats(-0.6, 0.6),
    dlat=st.floats(-0.6, 0.6),
    half_a=st.floats(0.001, 0.2),
    radius_b=st.floats(10.0, 20_000.0),
    h_m=st.floats(100.0, 60_000.0),
)
def test_conflicting_volumes_always_share_a_locked_and_a_registered_cell(
    lon: float, lat: float, dlon: float, dlat: float, half_a: float, radius_b: float, h_m: float
) -> None:
    a = volume(square(lon, lat, half_a))
    b = volume(Point(lon + dlon, lat + dlat), radius_b)
    rules = StrategicRules(h_m=h_m, v_m=300.0, time_buffer_s=0.0)
    if not volumes_conflict(a, b, rules):
        return
    for mine, theirs in ((a, b), (b, a)):
        locked = reach_cells([mine], h_m)
        assert locked is None or locked & registered_cells([theirs])
