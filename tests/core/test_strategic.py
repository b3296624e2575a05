"""The strategic engine: exact semantics, geodesy, the conflict part, and the index against the reference."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Point, Polygon

from deconline.core.geodesy import edge_bulge_m, pad_bounds, pad_bounds_array, project, transformer_for_key, unproject
from deconline.core.strategic import (
    StrategicIndex,
    StrategicRules,
    conflict_part,
    conflicting_pairs,
    horizontal_distance_m,
    volumes_conflict,
)
from deconline.core.volumes import Volume
from tests.core.reference_strategic import WGS84, geodesic_distance_m, reference_conflicts, reference_pairs

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


def moved(volume: Volume, lon: float, lat: float, radius: float) -> Volume:
    return Volume(Point(lon, lat), radius, volume.lower_m, volume.upper_m, volume.start_s, volume.end_s)


# --- semantics ------------------------------------------------------------------------------


def test_touching_footprints_conflict() -> None:
    a, b = rect(10, 50, 10.1, 50.1), rect(10.1, 50, 10.2, 50.1)
    assert horizontal_distance_m(a, b) == 0
    assert volumes_conflict(a, b, RULES)
    corner = rect(10.1, 50.1, 10.2, 50.2)  # one shared vertex
    assert horizontal_distance_m(a, corner) == 0 and volumes_conflict(a, corner, RULES)
    assert not volumes_conflict(a, b, StrategicRules(0, 300, 600))  # 0 < 0 is false


def test_equal_altitude_bounds_and_v_zero() -> None:
    a, b = rect(10, 50, 10.1, 50.1, 0, 1000), rect(10, 50, 10.1, 50.1, 1000, 2000)
    assert volumes_conflict(a, b, RULES)  # gap 0 < 300
    assert not volumes_conflict(a, b, StrategicRules(5000, 0, 600))
    assert not volumes_conflict(a, a, StrategicRules(5000, 0, 600))  # with V = 0 nothing conflicts
    assert not volumes_conflict(a, rect(10, 50, 10.1, 50.1, 1300, 2000), RULES)  # gap == V is separated
    assert volumes_conflict(a, rect(10, 50, 10.1, 50.1, 1299, 2000), RULES)


def test_back_to_back_windows() -> None:
    a, b = rect(10, 50, 10.1, 50.1, start=0, end=3600), rect(10, 50, 10.1, 50.1, start=3600, end=7200)
    assert volumes_conflict(a, b, RULES)
    assert not volumes_conflict(a, b, StrategicRules(5000, 300, 0))
    assert not volumes_conflict(a, rect(10, 50, 10.1, 50.1, start=4200, end=7200), RULES)  # gap == buffer


@pytest.mark.parametrize("km", [0.1, 1, 10, 100, 250, 500])
@pytest.mark.parametrize("lat", [0.0, 50.0, 70.0, -33.9])
def test_distances_match_geodesics_within_a_thousandth(km: float, lat: float) -> None:
    for azimuth in (0, 37, 90, 135, 200, 290):
        lon, lat2, _ = WGS84.fwd(10, lat, azimuth, km * 1000)
        for ra, rb in ((0.0, 0.0), (0.0, km * 300.0), (km * 100.0, km * 200.0)):  # point-point, point-circle, circles
            a, b = disc(10, lat, ra), disc(lon, lat2, rb)
            expected = geodesic_distance_m(a, b)
            assert horizontal_distance_m(a, b) == pytest.approx(expected, rel=1e-3, abs=1e-6)


def test_circles_and_polygons() -> None:
    lon, _, _ = WGS84.fwd(10, 50, 90, 20_000)
    assert horizontal_distance_m(disc(10, 50, 15_000), disc(lon, 50, 15_000)) == 0  # overlapping discs
    box = rect(10, 50, 10.1, 50.1)
    assert horizontal_distance_m(disc(10.05, 50.05, 10), box) == 0  # centre inside
    lon, _, _ = WGS84.fwd(10.1, 50.05, 90, 8000)
    assert horizontal_distance_m(disc(lon, 50.05, 2000), box) == pytest.approx(6000, rel=2e-3)
    assert volumes_conflict(disc(lon, 50.05, 3001), box, RULES)
    assert not volumes_conflict(disc(lon, 50.05, 2900), box, RULES)


def test_disjoint_far_apart() -> None:
    a, b = rect(10, 50, 10.1, 50.1), rect(14, 50, 14.1, 50.1)  # ~280 km
    expected = min(WGS84.inv(10.1, lat, 14, lat)[2] for lat in (50.0, 50.1))
    assert horizontal_distance_m(a, b) == pytest.approx(expected, rel=1e-3)
    assert not volumes_conflict(a, b, StrategicRules(100_000, 10_000, 86_400))
    assert volumes_conflict(a, b, StrategicRules(300_000, 300, 600))


def test_bowed_edge_of_a_large_footprint_is_found_by_the_index() -> None:
    """A 380 km edge at 70N, straight in the pair's projection, bows ~8 km north of its vertices."""
    big, small = rect(0, 69, 10, 70, lower=0), rect(4.99, 70.04, 5.01, 70.045)
    assert horizontal_distance_m(big, small) == 0
    index = StrategicIndex()
    index.add("big", big, "a")
    assert [h.key for h in index.conflicts(small, StrategicRules(1, 300, 600))] == ["big"]


# --- geodesy --------------------------------------------------------------------------------


def test_cached_transformer_equals_the_crs_definition() -> None:
    rng = np.random.default_rng(7)
    for lon_key, lat_key in ((40, 200), (-718, 0), (604, -135), (0, 359)):
        lon0, lat0 = lon_key / 4, lat_key / 4
        aeqd = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
        reference = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
        x, y = lon0 + rng.uniform(-5, 5, 500), np.clip(lat0 + rng.uniform(-5, 5, 500), -90, 90)
        got = transformer_for_key(lon_key, lat_key).transform(x, y)
        assert np.array_equal(got, reference.transform(x, y))


def test_padding_is_conservative_and_vectorised_padding_agrees() -> None:
    rng = np.random.default_rng(11)
    boxes, metres = [], []
    for _ in range(4000):
        lat, lon, h = rng.uniform(-85, 85), rng.uniform(-60, 60), 10 ** rng.uniform(0, 6)
        box = (lon, lat, lon + rng.uniform(0, 0.5), min(89.0, lat + rng.uniform(0, 0.5)))
        lon2, lat2, _ = WGS84.fwd(box[0], box[1], rng.uniform(0, 360), h * rng.uniform(0.9, 1.0))
        if horizontal_distance_m(disc(box[0], box[1], 0), disc(lon2, lat2, 0)) < h:
            west, south, east, north = pad_bounds(box, h)
            assert west <= lon2 <= east and south <= lat2 <= north
        boxes.append(box)
        metres.append(h)
    together = pad_bounds_array(np.array(boxes), np.array(metres))
    assert np.allclose(together, [pad_bounds(b, m) for b, m in zip(boxes, metres, strict=True)], rtol=1e-12)


def test_edges_bow_less_than_the_bulge_allowance() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        lon, lat, w, h = rng.uniform(-150, 150), rng.uniform(-80, 78), *(10 ** rng.uniform(-3, 1, 2))
        vertices = np.column_stack([lon + rng.uniform(0, w, 5), lat + rng.uniform(0, h, 5)])
        poly = shapely.convex_hull(shapely.multipoints(vertices))
        t = transformer_for_key(round((lon + rng.uniform(-5, 5)) * 4), round((lat + rng.uniform(-5, 5)) * 4))
        projected = project(poly, t)
        back = unproject(shapely.segmentize(projected, projected.length / 500), t)
        bounds = poly.bounds
        west, south, east, north = pad_bounds(bounds, edge_bulge_m(bounds))
        b = back.bounds
        assert west <= b[0] and south <= b[1] and b[2] <= east and b[3] <= north


# --- the conflict part ----------------------------------------------------------------------


def test_conflict_part_lies_in_own_volume() -> None:
    own = rect(10, 50, 10.5, 50.3, 0, 5000, 0, 7200)
    other = rect(10.45, 50.1, 10.6, 50.2, 2000, 2500, 3000, 4000)
    part = conflict_part(own, other, RULES)
    assert own.footprint.buffer(1e-12).contains(part.footprint)
    assert 0 < part.footprint.area < own.footprint.area
    assert (part.lower_m, part.upper_m) == (1700, 2800)
    assert (part.start_s, part.end_s) == (2400, 4600)
    assert not part.footprint.intersects(Point(10.0, 50.0))  # the far corner of own is not in conflict


def test_conflict_part_at_the_threshold_is_never_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Buffers are inscribed polygons: just inside H the plain intersection misses, and the fallback answers."""
    fallbacks: list[object] = []
    original = shapely.shortest_line

    def counting(*args: object) -> object:
        fallbacks.append(args)
        return original(*args)

    monkeypatch.setattr(shapely, "shortest_line", counting)
    own = rect(10, 50, 10.001, 50.001)
    for azimuth in np.linspace(181, 269, 45):
        for radius in (1.0, 2000.0):
            lon, lat, _ = WGS84.fwd(10, 50, azimuth, radius + RULES.h_m - 0.5)
            other = disc(lon, lat, radius)
            if volumes_conflict(own, other, RULES):
                for a, b in ((own, other), (other, own)):
                    part = conflict_part(a, b, RULES).footprint
                    assert not part.is_empty and part.area > 0 and part.is_valid
                    if a is own:
                        assert own.footprint.buffer(1e-12).contains(part)
    assert fallbacks, "the threshold cases should exercise the fallback"


def test_conflict_part_of_circles() -> None:
    own, other = disc(10, 50, 5000), disc(10.1, 50, 3000)
    part = conflict_part(own, other, RULES).footprint
    assert not part.is_empty
    lons, lats = shapely.get_coordinates(part).T
    _, _, metres = WGS84.inv(np.full(len(lons), 10.0), np.full(len(lons), 50.0), lons, lats)
    assert np.max(metres) <= 5000 * 1.001
    assert part.area < Point(10, 50).buffer(5000 / 71_000).area / 2


# --- the index ------------------------------------------------------------------------------


def test_index_add_remove_replace_and_owners() -> None:
    index = StrategicIndex()
    index.add("a", rect(10, 50, 10.1, 50.1), "alpha")
    index.add("b", rect(10.05, 50, 10.15, 50.1), "bravo")
    index.add("c", disc(10.03, 50.0, 500), "charlie")
    q = rect(10.02, 50.02, 10.03, 50.03)
    assert {h.key for h in index.conflicts(q, RULES)} == {"a", "b", "c"}
    assert {h.key for h in index.conflicts(q, RULES, exclude_owners={"alpha", "charlie"})} == {"b"}
    assert {h.key for h in index.conflicts(q, RULES, exclude_owners=["nobody"])} == {"a", "b", "c"}
    index.remove("a")
    index.remove("missing")
    assert "a" not in index and "b" in index and len(index) == 2
    index.add("b", rect(20, 50, 20.1, 50.1), "bravo")  # replaced, moved far away
    assert len(index) == 2
    assert [h.key for h in index.conflicts(q, RULES)] == ["c"]


def test_hits_are_sorted_and_carry_exact_distances() -> None:
    index = StrategicIndex()
    for i in range(30):
        index.add(f"k{i}", disc(10 + i * 0.01, 50, 100 + (i % 3) * 300), f"p{i % 4}")
    q = rect(10.1, 50.01, 10.12, 50.02)
    hits = index.conflicts(q, RULES)
    assert hits and hits == sorted(hits, key=lambda h: (h.distance_m, str(h.key)))
    assert all(h.distance_m == horizontal_distance_m(q, h.volume) for h in hits)


def test_index_rebuilds_compacts_and_keeps_answers() -> None:
    index = StrategicIndex()
    items = [
        (i, rect(10 + (i % 50) * 0.05, 50 + (i // 50) * 0.05, 10.04 + (i % 50) * 0.05, 50.04 + (i // 50) * 0.05), "x")
        for i in range(3000)
    ]
    for key, volume, owner in items:
        index.add(key, volume, owner)
    q = rect(10.5, 50.5, 10.6, 50.6)
    assert {h.key for h in index.conflicts(q, RULES)} == reference_conflicts(items, q, RULES)  # builds the tree
    for key in range(3000):
        if key % 3:
            index.remove(key)
    kept = [item for item in items if item[0] % 3 == 0]
    assert {h.key for h in index.conflicts(q, RULES)} == reference_conflicts(kept, q, RULES)  # compacts
    index.add(1, items[1][1], "y")
    assert {h.key for h in index.conflicts(q, RULES)} == reference_conflicts([*kept, (1, items[1][1], "y")], q, RULES)


# --- property tests against the reference ---------------------------------------------------

BASES = [(10.0, 60.0), (-0.5, -0.25), (20.0, 74.0), (151.0, -34.0)]  # the second straddles 0 E and the equator
OWNERS = ["a", "b", "c"]


@st.composite
def volumes(draw: st.DrawFn, base: tuple[float, float]) -> Volume:
    """Coordinates on coarse grids, so shared edges, equal bounds and back-to-back windows are common."""
    lon = base[0] + draw(st.integers(0, 40)) * 0.025  # steps of 0.025 hit the 0.125 centre-rounding ties
    lat = base[1] + draw(st.integers(0, 40)) * 0.0125
    lower = draw(st.integers(0, 30)) * 100.0
    band = (lower, lower + draw(st.integers(1, 10)) * 100.0)
    start = draw(st.integers(0, 24)) * 600.0
    window = (start, start + draw(st.integers(1, 12)) * 600.0)
    kind = draw(st.sampled_from(["circle", "rect", "triangle", "tiny", "large"]))
    if kind == "circle":
        return Volume(
            Point(lon, lat), draw(st.sampled_from([1.0, 100.0, 1000.0, 2500.0, 7000.0, 20_000.0])), *band, *window
        )
    w, h = draw(st.integers(1, 8)) * 0.025, draw(st.integers(1, 8)) * 0.0125
    if kind == "tiny":
        w, h = 0.0002, 0.0001
    elif kind == "large":
        w, h = draw(st.integers(10, 60)) * 0.05, draw(st.integers(4, 30)) * 0.05
    if kind == "triangle":
        return Volume(Polygon([(lon, lat), (lon + w, lat), (lon, lat + h)]), 0.0, *band, *window)
    return rect(lon, lat, lon + w, lat + h, *band, *window)


rules_strategy = st.builds(
    StrategicRules,
    h_m=st.sampled_from([1.0, 500.0, 1389.0, 5000.0, 9260.0, 30_000.0, 150_000.0]),
    v_m=st.sampled_from([0.0, 100.0, 300.0]),
    time_buffer_s=st.sampled_from([0.0, 600.0, 1800.0]),
)


def near_threshold(data: st.DataObject, anchors: list[Volume], rules: StrategicRules) -> Volume:
    """A circle whose distance to an anchor is H give or take a hair, in its band and window.

    A polygon's first vertex is its south-west corner, so heading south to west keeps that vertex nearest;
    the axis-aligned headings probe the edges of the padded query boxes.
    """
    anchor = data.draw(st.sampled_from(anchors))
    corners = shapely.get_coordinates(anchor.footprint)
    x, y = corners[0]
    radius = data.draw(st.sampled_from([1.0, 500.0]))
    hair = data.draw(st.sampled_from([-0.5, -1e-3, 0.0, 1e-3, 0.5]))
    if len(corners) == 5 and data.draw(st.booleans()):  # north of a box's top edge, where long edges bow
        hair += data.draw(st.sampled_from([0.0, 20.0, 200.0]))  # beyond H of the vertices, within H of the bow
        lon, lat, _ = WGS84.fwd((corners[2][0] + corners[3][0]) / 2, corners[2][1], 0.0, radius + rules.h_m + hair)
        return moved(anchor, lon, lat, radius)
    if anchor.is_circle:
        azimuth = data.draw(st.sampled_from([0.0, 90.0, 180.0, 270.0]) | st.floats(0, 360))
    else:
        azimuth = data.draw(st.sampled_from([180.0, 270.0]) | st.floats(180, 270))
    lon, lat, _ = WGS84.fwd(x, y, azimuth, anchor.radius_m + radius + rules.h_m + hair)
    return moved(anchor, lon, lat, radius)


def population(data: st.DataObject, base: tuple[float, float], rules: StrategicRules, size: int) -> list[Volume]:
    found = data.draw(st.lists(volumes(base), min_size=1, max_size=size))
    return found + [near_threshold(data, found, rules) for _ in range(data.draw(st.integers(0, 6)))]


@settings(max_examples=400, deadline=None)
@given(data=st.data(), base=st.sampled_from(BASES), rules=rules_strategy, min_recent=st.sampled_from([0, 2, 5, 1024]))
def test_index_equals_reference(
    data: st.DataObject, base: tuple[float, float], rules: StrategicRules, min_recent: int
) -> None:
    pool = population(data, base, rules, 30)
    queries = data.draw(st.lists(volumes(base), max_size=3)) + [near_threshold(data, pool, rules) for _ in range(3)]
    index = StrategicIndex(min_recent=min_recent, recent_per_sqrt=0)
    live: dict[Hashable, tuple[Volume, str]] = {}

    def check() -> None:
        items = [(key, volume, owner) for key, (volume, owner) in live.items()]
        for q in queries:
            exclude = data.draw(st.sets(st.sampled_from(OWNERS), max_size=2))
            hits = index.conflicts(q, rules, exclude)
            assert {h.key for h in hits} == reference_conflicts(items, q, rules, exclude)
            assert len(hits) == len({h.key for h in hits})
            assert all(h.owner == live[h.key][1] and h.volume is live[h.key][0] for h in hits)

    for key, volume in enumerate(pool):
        owner = data.draw(st.sampled_from(OWNERS))
        index.add(key, volume, owner)
        live[key] = (volume, owner)
        if data.draw(st.integers(0, 9)) == 0:
            check()
    check()
    for _ in range(data.draw(st.integers(0, 3))):
        for key in data.draw(st.sets(st.integers(0, len(pool) + 2), max_size=len(pool))):
            index.remove(key)
            live.pop(key, None)
        for key in data.draw(st.lists(st.integers(0, len(pool) + 2), max_size=8)):  # re-adds and replacements
            volume, owner = data.draw(st.sampled_from(pool)), data.draw(st.sampled_from(OWNERS))
            index.add(key, volume, owner)
            live[key] = (volume, owner)
        assert len(index) == len(live) and all(key in index for key in live)
        check()


@settings(max_examples=150, deadline=None)
@given(
    lat=st.floats(-80, 79),
    width=st.floats(0.5, 8),
    height=st.floats(0.01, 1),
    beyond=st.floats(-10, 3000),
    h=st.sampled_from([1.0, 500.0, 5000.0]),
    as_pair=st.booleans(),
)
def test_bowed_edges_never_drop_a_pair(
    lat: float, width: float, height: float, beyond: float, h: float, as_pair: bool
) -> None:
    """Just outside a long poleward edge (by vertices), where the edge drawn straight in the projection bows."""
    big, rules = rect(10, lat, 10 + width, lat + height), StrategicRules(h, 300, 600)
    edge, heading = (lat + height, 0.0) if lat + height / 2 >= 0 else (lat, 180.0)
    lon_q, lat_q, _ = WGS84.fwd(10 + width / 2, edge, heading, h + beyond)
    q = disc(lon_q, lat_q, 1.0)
    expected = {"big"} if volumes_conflict(big, q, rules) else set()
    if as_pair:
        assert set(conflicting_pairs([("big", big, "a"), ("q", q, "b")], rules)) == ({(0, 1)} if expected else set())
    else:
        index = StrategicIndex()
        index.add("big", big, "a")
        assert {hit.key for hit in index.conflicts(q, rules)} == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data(), base=st.sampled_from(BASES), rules=rules_strategy)
def test_conflicting_pairs_equal_reference(
    data: st.DataObject, base: tuple[float, float], rules: StrategicRules
) -> None:
    pool = population(data, base, rules, 25)
    items = [(f"id{i}", v, data.draw(st.sampled_from([*OWNERS, "hazard"]))) for i, v in enumerate(pool)]
    assert conflicting_pairs(items, rules) == reference_pairs(items, rules)
    assert conflicting_pairs([], rules) == []


@settings(max_examples=300, deadline=None)
@given(data=st.data(), base=st.sampled_from(BASES), rules=rules_strategy)
def test_predicate_is_symmetric_and_part_is_inside(
    data: st.DataObject, base: tuple[float, float], rules: StrategicRules
) -> None:
    a = data.draw(volumes(base))
    b = data.draw(st.one_of(volumes(base), st.just(near_threshold(data, [a], rules))))
    assert volumes_conflict(a, b, rules) == volumes_conflict(b, a, rules)
    assert horizontal_distance_m(a, b) == horizontal_distance_m(b, a)
    if volumes_conflict(a, b, rules):
        part = conflict_part(a, b, rules)
        assert not part.footprint.is_empty and part.footprint.area > 0 and part.footprint.is_valid
        assert a.lower_m <= part.lower_m <= part.upper_m <= a.upper_m
        assert b.lower_m - rules.v_m <= part.lower_m and part.upper_m <= b.upper_m + rules.v_m
        assert a.start_s <= part.start_s <= part.end_s <= a.end_s
        assert b.start_s - rules.time_buffer_s <= part.start_s and part.end_s <= b.end_s + rules.time_buffer_s
        if not a.is_circle:
            assert a.footprint.buffer(1e-9).contains(part.footprint)
