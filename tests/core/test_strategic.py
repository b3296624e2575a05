"""The strategic engine: exact semantics, the conflict part, and the index against the reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon

from deconline.core.strategic import (
    StrategicIndex,
    StrategicRules,
    conflict_part,
    conflicting_pairs,
    horizontal_distance_m,
    volumes_conflict,
)
from deconline.core.volumes import Volume
from tests.core.reference_strategic import reference_conflicts, reference_pairs

GEOD = Geod(ellps="WGS84")
RULES = StrategicRules(h_m=5000, v_m=300, time_buffer_s=600)


def rect(
    lon0: float,
    lat0: float,
    lon1: float,
    lat1: float,
    lower: float = 0,
    upper: float = 1000,
    start: float = 0,
    end: float = 3600,
) -> Volume:
    return Volume(Polygon([(lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1)]), 0.0, lower, upper, start, end)


def disc(
    lon: float, lat: float, radius: float, lower: float = 0, upper: float = 1000, start: float = 0, end: float = 3600
) -> Volume:
    return Volume(Point(lon, lat), radius, lower, upper, start, end)


# --- semantics ------------------------------------------------------------------------------


def test_touching_footprints_conflict() -> None:
    assert horizontal_distance_m(rect(10, 50, 10.1, 50.1), rect(10.1, 50, 10.2, 50.1)) == 0
    assert volumes_conflict(rect(10, 50, 10.1, 50.1), rect(10.1, 50, 10.2, 50.1), RULES)


def test_equal_altitude_bounds() -> None:
    a, b = rect(10, 50, 10.1, 50.1, 0, 1000), rect(10, 50, 10.1, 50.1, 1000, 2000)
    assert volumes_conflict(a, b, RULES)  # gap 0 < 300
    assert not volumes_conflict(a, b, StrategicRules(5000, 0, 600))  # gap 0 is not < 0
    assert not volumes_conflict(a, rect(10, 50, 10.1, 50.1, 1300, 2000), RULES)  # gap == V is separated


def test_back_to_back_windows() -> None:
    a, b = rect(10, 50, 10.1, 50.1, start=0, end=3600), rect(10, 50, 10.1, 50.1, start=3600, end=7200)
    assert volumes_conflict(a, b, RULES)
    assert not volumes_conflict(a, b, StrategicRules(5000, 300, 0))
    assert not volumes_conflict(a, rect(10, 50, 10.1, 50.1, start=4200, end=7200), RULES)  # gap == buffer


@pytest.mark.parametrize("km", [1, 10, 100, 500])
def test_point_distances_match_geodesics(km: float) -> None:
    for azimuth in (0, 37, 90, 135, 200, 290):
        lon, lat, _ = GEOD.fwd(10, 50, azimuth, km * 1000)
        d = horizontal_distance_m(disc(10, 50, 1e-9), disc(lon, lat, 1e-9))
        assert d == pytest.approx(km * 1000, rel=1e-3)


def test_circle_distance_subtracts_both_radii() -> None:
    lon, _, _ = GEOD.fwd(10, 50, 90, 20_000)
    assert horizontal_distance_m(disc(10, 50, 3000), disc(lon, 50, 4000)) == pytest.approx(13_000, rel=1e-3)
    assert horizontal_distance_m(disc(10, 50, 15_000), disc(lon, 50, 15_000)) == 0


def test_circle_and_polygon() -> None:
    box = rect(10, 50, 10.1, 50.1)
    assert horizontal_distance_m(disc(10.05, 50.05, 10), box) == 0  # centre inside
    lon, _, _ = GEOD.fwd(10.1, 50.05, 90, 8000)
    assert horizontal_distance_m(disc(lon, 50.05, 2000), box) == pytest.approx(6000, rel=2e-3)


# --- the conflict part ----------------------------------------------------------------------


def test_conflict_part_lies_in_own_volume() -> None:
    own = rect(10, 50, 10.5, 50.3, 0, 5000, 0, 7200)
    other = rect(10.45, 50.1, 10.6, 50.2, 2000, 2500, 3000, 4000)
    part = conflict_part(own, other, RULES)
    assert own.footprint.buffer(1e-12).contains(part.footprint)
    assert 0 < part.footprint.area < own.footprint.area
    assert (part.lower_m, part.upper_m) == (1700, 2800)
    assert (part.start_s, part.end_s) == (2400, 4600)
    assert not part.footprint.intersects(Point(10.0, 50.0))  # far corner of own is not in conflict


def test_conflict_part_at_the_threshold_is_never_empty() -> None:
    own = rect(10, 50, 10.1, 50.1)
    for metres in (4999.0, 4999.9):
        lon, _, _ = GEOD.fwd(10.1, 50.05, 90, metres)
        other = rect(lon, 50.0, lon + 0.1, 50.1)
        if volumes_conflict(own, other, RULES):
            assert not conflict_part(own, other, RULES).footprint.is_empty


def test_conflict_part_of_circles() -> None:
    own, other = disc(10, 50, 5000), disc(10.1, 50, 3000)
    part = conflict_part(own, other, RULES).footprint
    assert not part.is_empty
    assert horizontal_distance_m(Volume(part.centroid, 1e-9, 0, 1, 0, 1), own) == 0


# --- the index ------------------------------------------------------------------------------


def test_index_add_remove_replace_and_owners() -> None:
    index = StrategicIndex()
    index.add("a", rect(10, 50, 10.1, 50.1), "alpha")
    index.add("b", rect(10.05, 50, 10.15, 50.1), "bravo")
    q = rect(10.02, 50.02, 10.03, 50.03)
    assert {h.key for h in index.conflicts(q, RULES)} == {"a", "b"}
    assert {h.key for h in index.conflicts(q, RULES, exclude_owners={"alpha"})} == {"b"}
    index.remove("a")
    index.remove("missing")
    assert "a" not in index and len(index) == 1
    index.add("b", rect(20, 50, 20.1, 50.1), "bravo")  # replaced, moved far away
    assert index.conflicts(q, RULES) == []


def test_index_rebuilds_and_keeps_answers() -> None:
    index = StrategicIndex()
    items = [
        (i, rect(10 + (i % 50) * 0.05, 50 + (i // 50) * 0.05, 10.04 + (i % 50) * 0.05, 50.04 + (i // 50) * 0.05), "x")
        for i in range(3000)
    ]
    for key, volume, owner in items:
        index.add(key, volume, owner)
    q = rect(10.5, 50.5, 10.6, 50.6)
    first = {h.key for h in index.conflicts(q, RULES)}  # triggers a rebuild
    assert first == reference_conflicts(items, q, RULES)
    for key in range(0, 3000, 3):
        index.remove(key)
    kept = [item for item in items if item[0] % 3]
    assert {h.key for h in index.conflicts(q, RULES)} == reference_conflicts(kept, q, RULES)


# --- property tests against the reference ---------------------------------------------------

LON0, LAT0 = 10.0, 60.0


@st.composite
def volumes(draw: st.DrawFn) -> Volume:
    """Coordinates on coarse grids, so shared edges, equal bounds and back-to-back windows are common."""
    lon = LON0 + draw(st.integers(0, 40)) * 0.025
    lat = LAT0 + draw(st.integers(0, 40)) * 0.0125
    lower = draw(st.integers(0, 30)) * 100.0
    upper = lower + draw(st.integers(1, 10)) * 100.0
    start = draw(st.integers(0, 24)) * 600.0
    end = start + draw(st.integers(1, 12)) * 600.0
    if draw(st.booleans()):
        return Volume(Point(lon, lat), draw(st.sampled_from([100.0, 1000.0, 2500.0, 7000.0])), lower, upper, start, end)
    w = draw(st.integers(1, 8)) * 0.025
    h = draw(st.integers(1, 8)) * 0.0125
    if draw(st.booleans()):  # a triangle now and then
        return Volume(Polygon([(lon, lat), (lon + w, lat), (lon, lat + h)]), 0.0, lower, upper, start, end)
    return rect(lon, lat, lon + w, lat + h, lower, upper, start, end)


rules_strategy = st.builds(
    StrategicRules,
    h_m=st.sampled_from([1.0, 500.0, 1389.0, 5000.0, 9260.0, 30_000.0]),
    v_m=st.sampled_from([0.0, 100.0, 300.0]),
    time_buffer_s=st.sampled_from([0.0, 600.0, 1800.0]),
)


@settings(max_examples=400, deadline=None)
@given(
    population=st.lists(st.tuples(volumes(), st.sampled_from(["a", "b", "c"])), min_size=1, max_size=40),
    queries=st.lists(volumes(), min_size=1, max_size=5),
    rules=rules_strategy,
    removals=st.sets(st.integers(0, 39), max_size=10),
    exclude=st.sets(st.sampled_from(["a", "b", "c"]), max_size=2),
)
def test_index_equals_reference(
    population: list[tuple[Volume, str]],
    queries: list[Volume],
    rules: StrategicRules,
    removals: set[int],
    exclude: set[str],
) -> None:
    items = [(i, v, o) for i, (v, o) in enumerate(population)]
    index = StrategicIndex()
    for key, volume, owner in items:
        index.add(key, volume, owner)
    for q in queries:
        assert {h.key for h in index.conflicts(q, rules, exclude)} == reference_conflicts(
            items, q, rules, sorted(exclude)
        )
    for key in removals:
        index.remove(key)
    kept = [item for item in items if item[0] not in removals]
    for q in queries:
        assert {h.key for h in index.conflicts(q, rules)} == reference_conflicts(kept, q, rules)


@settings(max_examples=300, deadline=None)
@given(
    population=st.lists(st.tuples(volumes(), st.sampled_from(["a", "b", "c", "hazard"])), min_size=0, max_size=30),
    rules=rules_strategy,
)
def test_conflicting_pairs_equal_reference(population: list[tuple[Volume, str]], rules: StrategicRules) -> None:
    items = [(f"id{i}", v, o) for i, (v, o) in enumerate(population)]
    assert conflicting_pairs(items, rules) == reference_pairs(items, rules)


@settings(max_examples=300, deadline=None)
@given(a=volumes(), b=volumes(), rules=rules_strategy)
def test_predicate_is_symmetric_and_part_is_inside(a: Volume, b: Volume, rules: StrategicRules) -> None:
    assert volumes_conflict(a, b, rules) == volumes_conflict(b, a, rules)
    assert horizontal_distance_m(a, b) == horizontal_distance_m(b, a)
    if volumes_conflict(a, b, rules):
        part = conflict_part(a, b, rules)
        assert not part.footprint.is_empty
        assert a.lower_m <= part.lower_m <= part.upper_m <= a.upper_m
        assert a.start_s <= part.start_s <= part.end_s <= a.end_s
        if not a.is_circle:
            assert a.footprint.buffer(1e-9).contains(part.footprint)


def test_far_apart_at_high_latitude_and_straddling_the_prime_meridian() -> None:
    index = StrategicIndex()
    index.add("west", rect(-0.2, 70, -0.01, 70.1), "a")
    index.add("east", rect(0.01, 70, 0.2, 70.1), "b")
    q = rect(-0.005, 70.02, 0.005, 70.03)
    got = {h.key for h in index.conflicts(q, RULES)}
    assert got == reference_conflicts(
        [("west", rect(-0.2, 70, -0.01, 70.1), "a"), ("east", rect(0.01, 70, 0.2, 70.1), "b")], q, RULES
    )
    assert got == {"west", "east"}
    assert math.isfinite(horizontal_distance_m(q, rect(-0.2, 70, -0.01, 70.1)))
