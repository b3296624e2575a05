"""The tactical engine against the all-pairs reference, on geometry that stresses the pruning."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.core.tactical import EARTH_RADIUS_M, UNAFFILIATED_OWNER, TacticalRules, Tracks, detect
from tests.core.reference_tactical import reference_conflicts

RULES = TacticalRules(h_m=9260.0, v_m=304.8, lookahead_s=300.0, max_track_age_s=20.0)
NM = 1852.0
T0 = 1_700_000_000.0


def tracks(rows: list[tuple[float, ...]]) -> Tracks:
    """rows: (lat, lon, alt_m, gs, track, vrate, time, owner)."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * 8
    f = [np.array(c, dtype=np.float64) for c in cols[:7]]
    return Tracks(*f, owner=np.array(cols[7], dtype=np.int64))


def east(lat: float, lon: float, metres: float) -> float:
    return lon + math.degrees(metres / (EARTH_RADIUS_M * math.cos(math.radians(lat))))


def north(lat: float, metres: float) -> float:
    return lat + math.degrees(metres / EARTH_RADIUS_M)


def pairs(found: object) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in zip(found.a, found.b, strict=True)}  # type: ignore[attr-defined]


def test_head_on() -> None:
    lon_b = east(50, 10, 60_000)
    t = tracks([(50, 10, 10_000, 200, 90, 0, T0, 1), (50, lon_b, 10_000, 200, 270, 0, T0, 2)])
    found = detect(t, T0, RULES)
    assert pairs(found) == {(0, 1)}
    assert found.t_los[0] == pytest.approx((60_000 - 9260) / 400, rel=1e-3)
    assert found.t_cpa[0] == pytest.approx(150, rel=1e-3)
    assert found.d_cpa_m[0] == pytest.approx(0, abs=1)
    assert not found.los[0]


def test_flight_levels_1000_ft_apart_never_alert() -> None:
    fl350, fl360 = 35_000 * 0.3048, 36_000 * 0.3048
    t = tracks([(50, 10, fl350, 230, 90, 0, T0, 1), (50, 10.001, fl360, 230, 270, 0, T0, 2)])
    assert len(detect(t, T0, RULES)) == 0


def test_exactly_at_the_horizontal_minimum_is_separated() -> None:
    lat_b = north(50, 9260.0)
    t = tracks([(50, 10, 3000, 100, 90, 0, T0, 1), (lat_b, 10, 3000, 100, 90, 0, T0, 2)])
    found = detect(t, T0, RULES)
    assert len(found) == len(reference_conflicts(t, T0, RULES))


def test_same_owner_skipped_unless_asked() -> None:
    t = tracks([(50, 10, 3000, 100, 0, 0, T0, 1), (50, 10.01, 3000, 100, 0, 0, T0, 1)])
    assert len(detect(t, T0, RULES)) == 0
    found = detect(t, T0, TacticalRules(9260, 304.8, 300, 20, check_same_owner=True))
    assert pairs(found) == {(0, 1)} and found.los[0]


def test_unaffiliated_traffic_pairs_with_parties_only() -> None:
    u = UNAFFILIATED_OWNER
    t = tracks(
        [(50, 10, 3000, 100, 0, 0, T0, u), (50, 10.01, 3000, 100, 0, 0, T0, u), (50, 10.02, 3000, 100, 0, 0, T0, 1)]
    )
    for same_owner in (False, True):
        found = detect(t, T0, TacticalRules(9260, 304.8, 300, 20, check_same_owner=same_owner))
        assert pairs(found) == {(0, 2), (1, 2)}


def test_stale_tracks_take_no_part() -> None:
    t = tracks([(50, 10, 3000, 100, 0, 0, T0 - 30, 1), (50, 10.01, 3000, 100, 0, 0, T0, 2)])
    assert len(detect(t, T0, RULES)) == 0


def test_climbing_through_a_level() -> None:
    lon_b = east(50, 10, 20_000)
    t = tracks([(50, 10, 3000, 150, 90, 15, T0, 1), (50, lon_b, 3900, 150, 270, 0, T0, 2)])
    found = detect(t, T0, RULES)
    ref = reference_conflicts(t, T0, RULES)
    assert pairs(found) == {(r.a, r.b) for r in ref} == {(0, 1)}
    assert found.t_los[0] == pytest.approx(ref[0].t_los) == pytest.approx((900 - 304.79) / 15)


def test_empty_and_single() -> None:
    assert len(detect(tracks([]), T0, RULES)) == 0
    assert len(detect(tracks([(50, 10, 3000, 100, 0, 0, T0, 1)]), T0, RULES)) == 0


@st.composite
def traffic(draw: st.DrawFn, min_n: int = 2, max_n: int = 40) -> Tracks:
    """A dense little sky: many pairs are near the minima; some parallel, some stationary."""
    n = draw(st.integers(min_n, max_n))
    lat0 = draw(st.sampled_from([0.0, 45.0, 60.0, 70.0, -33.0]))
    spread = draw(st.sampled_from([20_000.0, 80_000.0, 200_000.0]))
    common_heading = draw(st.booleans())
    rows = []
    for _ in range(n):
        x = draw(st.floats(-spread, spread))
        y = draw(st.floats(-spread, spread))
        alt = draw(st.sampled_from([3000.0, 3304.8, 3152.4, 9000.0])) + draw(
            st.sampled_from([0.0, draw(st.floats(-400, 400))])
        )
        gs = draw(st.sampled_from([0.0, 50.0, 150.0, 300.0, draw(st.floats(0, 300))]))
        heading = 45.0 if common_heading else draw(st.floats(0, 360))
        vrate = draw(st.sampled_from([0.0, 0.0, 10.0, -15.0, draw(st.floats(-15, 15))]))
        age = draw(st.sampled_from([0.0, 5.0, 19.0, 25.0]))
        rows.append(
            (
                north(lat0, y),
                east(lat0, 10.0, x),
                alt,
                gs,
                heading,
                vrate,
                T0 - age,
                draw(st.integers(UNAFFILIATED_OWNER, 3)),
            )
        )
    return tracks(rows)


@settings(max_examples=300, deadline=None)
@given(t=traffic(), lookahead=st.sampled_from([60.0, 300.0, 600.0]), same_owner=st.booleans())
def test_engine_equals_reference(t: Tracks, lookahead: float, same_owner: bool) -> None:
    rules = TacticalRules(9260.0, 304.8, lookahead, 20.0, same_owner)
    found = detect(t, T0, rules)
    ref = reference_conflicts(t, T0, rules)
    assert pairs(found) == {(r.a, r.b) for r in ref}
    by_pair = {(r.a, r.b): r for r in ref}
    for a, b, t_los, los in zip(found.a, found.b, found.t_los, found.los, strict=True):
        assert t_los == pytest.approx(by_pair[(a, b)].t_los, abs=1e-6)
        assert bool(los) == by_pair[(a, b)].los


def test_pairs_straddling_slice_and_cell_boundaries() -> None:
    """Many aircraft on a line converging at different times, so conflicts begin in every slice."""
    rows = []
    for k in range(60):
        d = 5_000 + k * 5_000.0
        rows.append((50.0, east(50, 10, -d / 2), 5000.0, 250.0, 90.0, 0.0, T0, 2 * k))
        rows.append((north(50, 9_000 + (k % 3) * 200), east(50, 10, d / 2), 5000.0, 250.0, 270.0, 0.0, T0, 2 * k + 1))
    t = tracks(rows)
    for lookahead in (30.0, 300.0):
        rules = TacticalRules(9260.0, 304.8, lookahead, 20.0)
        assert pairs(detect(t, T0, rules)) == {(r.a, r.b) for r in reference_conflicts(t, T0, rules)}
