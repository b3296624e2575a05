"""Guidance bands against slow, obvious reference code: fly each candidate manoeuvre, test every aircraft."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.core.guidance import FPM, KT, BandRules, Bands, Ownship, Traffic, bands, ownship, traffic_around
from deconline.core.tactical import VERTICAL_TOLERANCE_M, TacticalRules, extrapolate
from tests.core.test_tactical import T0, east, north, tracks

RULES = BandRules(h_m=9260.0, v_m=304.8, lookahead_s=300.0)


def loses_separation(
    own: tuple[float, float, float, float], other: tuple[float, float, float, float, float, float], rules: BandRules
) -> bool:
    """Own (alt, vx, vy, vz) against one aircraft (dx, dy, alt, vx, vy, vz): the times inside the
    cylinder, one axis at a time, and whether they overlap within the look-ahead."""
    alt, vx, vy, vz = own
    dx, dy, oalt, ovx, ovy, ovz = other
    rvx, rvy = ovx - vx, ovy - vy
    qa, qb, qc = rvx * rvx + rvy * rvy, 2 * (dx * rvx + dy * rvy), dx * dx + dy * dy - rules.h_m**2
    if qa == 0:
        h = (-math.inf, math.inf) if qc < 0 else None
    else:
        disc = qb * qb - 4 * qa * qc
        h = ((-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)) if disc > 0 else None
    if h is None:
        return False
    limit, dz, dvz = rules.v_m - VERTICAL_TOLERANCE_M, oalt - alt, ovz - vz
    if dvz == 0:
        v = (-math.inf, math.inf) if abs(dz) < limit else None
    else:
        t1, t2 = (-limit - dz) / dvz, (limit - dz) / dvz
        v = (min(t1, t2), max(t1, t2))
    if v is None:
        return False
    start, end = max(h[0], v[0]), min(h[1], v[1])
    return start < end and end > 0 and start < rules.lookahead_s


def reference_answer(own: Ownship, traffic: Traffic, dimension: str, value: float, rules: BandRules) -> bool:
    heading = math.radians(own.track_deg)
    alt, gs, vz = own.alt_m, own.gs_mps, own.vz_mps
    if dimension == "track_deg":
        heading = math.radians(value)
    elif dimension == "gs_mps":
        gs = value
    elif dimension == "vs_mps":
        vz = value
    else:
        alt, vz = value, 0.0
    mine = (alt, gs * math.sin(heading), gs * math.cos(heading), vz)
    others = zip(traffic.dx, traffic.dy, traffic.alt_m, traffic.vx, traffic.vy, traffic.vz, strict=True)
    return any(loses_separation(mine, tuple(map(float, o)), rules) for o in others)  # type: ignore[arg-type]


def candidates(lo: float, hi: float, step: float) -> list[float]:
    return [lo + step * k for k in range(round((hi - lo) / step) + 1)]


@st.composite
def encounters(draw: st.DrawFn) -> tuple[Ownship, Traffic]:
    own = Ownship(
        draw(st.floats(1000, 12_000)), draw(st.floats(50, 250)), draw(st.floats(0, 359.9)), draw(st.floats(-10, 10))
    )
    k = draw(st.integers(0, 4))
    spread = draw(st.sampled_from([20_000.0, 20_000.0, 200_000.0]))  # far ones: none may be pruned wrongly
    rows = []
    for _ in range(k):
        rows.append(
            (
                draw(st.floats(-spread, spread)), draw(st.floats(-spread, spread)),
                own.alt_m + draw(st.sampled_from([0.0, 150.0, -300.0, 304.8, draw(st.floats(-1000, 1000))])),
                draw(st.floats(-250, 250)), draw(st.floats(-250, 250)),
                draw(st.sampled_from([0.0, draw(st.floats(-10, 10))])),
            )
        )  # fmt: skip
    cols = [np.array(c, dtype=np.float64) for c in zip(*rows, strict=True)] if rows else [np.zeros(0)] * 6
    return own, Traffic(*cols)


@settings(max_examples=60, deadline=None)
@given(encounter=encounters())
def test_every_range_is_what_flying_it_gives(encounter: tuple[Ownship, Traffic]) -> None:
    own, traffic = encounter
    found = bands(own, traffic, RULES)
    for dimension in ("track_deg", "gs_mps", "vs_mps", "alt_m"):
        ranges = getattr(found, dimension)
        step = {"track_deg": 1.0, "gs_mps": 5 * KT, "vs_mps": 100 * FPM, "alt_m": 100 * 0.3048}[dimension]
        # every candidate of every range, or a sample of the long ones, gets the range's answer
        for lo, hi, conflict in ranges:
            values = candidates(lo, hi, step)
            for value in [*values[:: max(1, len(values) // 25)], values[-1]]:
                assert reference_answer(own, traffic, dimension, value, RULES) == conflict, (dimension, value)
        # the ranges cover the dimension's candidates, one after the other
        assert all(a[1] < b[0] and a[2] != b[2] for a, b in itertools.pairwise(ranges))


def test_head_on_turning_either_way_clears_and_straight_on_does_not() -> None:
    own = Ownship(9000.0, 200.0, 90.0, 0.0)
    traffic = Traffic(*(np.array([v]) for v in (40_000.0, 0.0, 9000.0, -200.0, 0.0, 0.0)))
    found: Bands = bands(own, traffic, RULES)
    conflicting = [r for r in found.track_deg if r[2]]
    assert len(conflicting) == 1 and conflicting[0][0] < 90 < conflicting[0][1]  # straight on is in conflict
    low, high, _ = next(r for r in found.alt_m if r[2])
    assert low < 9000 < high
    assert not bands(own, Traffic(*(np.zeros(0) for _ in range(6))), RULES).track_deg[0][2]


def test_traffic_around_an_aircraft_of_a_picture() -> None:
    t = tracks(
        [(50.0, 10.0, 9000, 200, 90, 0, T0, 1), (50.0, east(50.0, 10.0, 40_000), 9000, 200, 270, 0, T0, 2),
         (north(50.0, 30_000), 10.0, 3000, 100, 0, 0, T0, 3)]
    )  # fmt: skip
    s = extrapolate(t, T0, 20.0)
    around = traffic_around(s, 0)
    assert np.allclose(around.dx, [40_000.0, 0.0], atol=1.0) and np.allclose(around.dy, [0.0, 30_000.0], atol=1.0)
    assert ownship(s, 0) == Ownship(9000.0, 200.0, 90.0, 0.0)
    assert TacticalRules  # the frame is the tactical engine's
