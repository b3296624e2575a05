"""Coordinated resolution against slow, obvious reference code: fly both manoeuvres in steps of
DT, test the cylinder for the pair, and each manoeuvre against every other aircraft."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.core.guidance import FPM, BandRules
from deconline.core.resolution import Manoeuvre, Resolution, clears, resolve
from deconline.core.tactical import EARTH_RADIUS_M, VERTICAL_TOLERANCE_M, Extrapolated

RULES = BandRules(h_m=9260.0, v_m=304.8, lookahead_s=300.0)
TURNS_ONLY = replace(RULES, vs_range_mps=(0.0, 0.0))
DT = 0.05  # the reference's time step (s)
LAT0, LON0 = math.radians(56.6), math.radians(17.0)
Velocity = tuple[float, float, float]


def picture(rows: Sequence[tuple[float, ...]]) -> Extrapolated:
    """rows: (east m, north m, alt m, ground speed m/s, track deg, vertical speed m/s), around (56.6 N, 17 E)."""
    east, north, alt, gs, track, vz = (np.array(c, dtype=np.float64) for c in zip(*rows, strict=True))
    heading = np.radians(track)
    n = len(rows)
    return Extrapolated(
        index=np.arange(n, dtype=np.int64), lat=LAT0 + north / EARTH_RADIUS_M,
        lon=LON0 + east / (EARTH_RADIUS_M * math.cos(LAT0)), alt_m=alt, vx=gs * np.sin(heading),
        vy=gs * np.cos(heading), vz=vz, owner=np.arange(n, dtype=np.int64), t_cap=np.full(n, np.inf),
        reported_alt_m=alt,
    )  # fmt: skip


def velocity(s: Extrapolated, i: int, m: Manoeuvre | None) -> Velocity:
    """Aircraft ``i``'s velocity as it holds its course, or after flying ``m`` at once."""
    vx, vy, vz = float(s.vx[i]), float(s.vy[i]), float(s.vz[i])
    if m is None:
        return vx, vy, vz
    if m.axis == "track":
        gs = math.hypot(vx, vy)
        return gs * math.sin(math.radians(m.to)), gs * math.cos(math.radians(m.to)), vz
    return vx, vy, m.to


def distances(s: Extrapolated, i: int, j: int, vi: Velocity, vj: Velocity, rules: BandRules) -> tuple[
    np.ndarray, np.ndarray, np.ndarray
]:  # fmt: skip
    """Fly both from now every DT over the look-ahead: times, horizontal and vertical distance of
    ``j`` from ``i`` (flat earth at the pair's mean latitude, as ARCHITECTURE says)."""
    mean_lat = (float(s.lat[i]) + float(s.lat[j])) / 2
    dx = EARTH_RADIUS_M * math.cos(mean_lat) * (float(s.lon[j]) - float(s.lon[i]))
    dy = EARTH_RADIUS_M * (float(s.lat[j]) - float(s.lat[i]))
    dz = float(s.alt_m[j]) - float(s.alt_m[i])
    t = np.arange(0.0, rules.lookahead_s + DT / 2, DT)
    x, y, z = dx + (vj[0] - vi[0]) * t, dy + (vj[1] - vi[1]) * t, dz + (vj[2] - vi[2]) * t
    return t, np.hypot(x, y), np.abs(z)


def inside(
    s: Extrapolated, i: int, j: int, vi: Velocity, vj: Velocity, rules: BandRules, margin: float, after: float = 0.0
) -> bool:
    """Whether ``j`` is ever inside ``i``'s cylinder, grown by ``margin`` metres (negative: shrunk)
    on both axes, at a time step from ``after`` on."""
    t, h, v = distances(s, i, j, vi, vj, rules)
    hit = (h < rules.h_m + margin) & (v < rules.v_m - VERTICAL_TOLERANCE_M + margin) & (t >= after)
    return bool(hit.any())


SURE, LOOSE = -1.0, 5.0  # margins: surely inside; inside or within a grazing step of it


def clear_of_others(s: Extrapolated, a: int, b: int, r: Resolution, margin: float) -> bool:
    """Each part against every other aircraft holding its course: never inside its cylinder grown
    by ``margin``."""
    for i, m, other in ((a, r.a, b), (b, r.b, a)):
        for j in range(len(s.lat)):
            if j not in (i, other) and inside(s, i, j, velocity(s, i, m), velocity(s, j, None), RULES, margin):
                return False
    return True


def check(s: Extrapolated, a: int, b: int, r: Resolution | None, rules: BandRules = RULES) -> None:
    """``resolve``'s claims about ``r``, checked by flying it."""
    if r is None:
        return
    va, vb = velocity(s, a, r.a), velocity(s, b, r.b)
    if r.recovery_s is None:
        assert not inside(s, a, b, va, vb, rules, SURE), "the two parts together clear the conflict"
    else:
        assert inside(s, a, b, va, vb, rules, LOOSE), "a recovery: it was not clear"
        assert not inside(s, a, b, va, vb, rules, SURE, after=r.recovery_s + DT), "separation regained by then"
    assert clears(s, a, b, r, rules)
    if r.clear_of_others:  # then never surely inside another's cylinder
        assert clear_of_others(s, a, b, r, SURE)
    else:  # then inside one, or within a grazing step of it
        assert not clear_of_others(s, a, b, r, LOOSE)
    # complementary senses, and each part is what it says
    assert r.a.axis == r.b.axis
    for i, m in ((a, r.a), (b, r.b)):
        assert m.change > 0
        if m.axis == "track":
            track = math.degrees(math.atan2(s.vx[i], s.vy[i]))
            off = (m.to - track - (m.change if m.sense == "right" else -m.change) + 180) % 360 - 180
            assert off == pytest.approx(0, abs=1e-6) and 0 <= m.to < 360
            assert m.change <= 180
        else:
            assert m.to - s.vz[i] == pytest.approx(m.change if m.sense == "up" else -m.change)
            assert rules.vs_range_mps[0] - 1e-9 <= m.to <= rules.vs_range_mps[1] + 1e-9
    if r.a.axis == "vertical_speed":
        assert {r.a.sense, r.b.sense} == {"up", "down"}
    else:
        alike = float(s.vx[a] * s.vx[b] + s.vy[a] * s.vy[b])
        assert alike == 0 or (r.a.sense != r.b.sense) == (alike > 0)


def no_smaller_pair_clears(s: Extrapolated, a: int, b: int, r: Resolution) -> None:
    """Spot check of "the smallest change": in the chosen senses, no pair of smaller size (both parts
    at the larger part's size less one step, or less) surely clears the pair and is as surely clear
    of the others (never within the cylinder grown by the loose margin)."""
    step = 1.0 if r.a.axis == "track" else 100 * FPM
    largest = max(r.a.change, r.b.change)
    for k in range(1, round(largest / step)):
        for ka, kb in ((k, k), (k, 1), (1, k)):
            pa = replace(r.a, change=ka * step, to=_moved(s, a, r.a, ka * step))
            pb = replace(r.b, change=kb * step, to=_moved(s, b, r.b, kb * step))
            smaller = Resolution(pa, pb, r.clear_of_others)
            pair_clear = not inside(s, a, b, velocity(s, a, pa), velocity(s, b, pb), RULES, LOOSE)
            others_clear = clear_of_others(s, a, b, smaller, LOOSE)
            assert not (pair_clear and (others_clear or not r.clear_of_others)), (ka, kb)


def _moved(s: Extrapolated, i: int, m: Manoeuvre, change: float) -> float:
    sign = 1.0 if m.sense in ("right", "up") else -1.0
    if m.axis == "track":
        return (math.degrees(math.atan2(s.vx[i], s.vy[i])) + sign * change) % 360.0
    return float(s.vz[i]) + sign * change


@st.composite
def encounters(draw: st.DrawFn) -> Extrapolated:
    """``a`` (0) and ``b`` (1) converge to a closest approach within the minima some time ahead; a
    few other aircraft around."""
    gs_a, track_a = draw(st.floats(60, 260)), draw(st.floats(0, 359.9))
    gs_b, track_b = draw(st.floats(60, 260)), draw(st.floats(0, 359.9))
    va = (gs_a * math.sin(math.radians(track_a)), gs_a * math.cos(math.radians(track_a)))
    vb = (gs_b * math.sin(math.radians(track_b)), gs_b * math.cos(math.radians(track_b)))
    t_cpa, miss = draw(st.one_of(st.floats(40, 250), st.floats(0, 40))), draw(st.floats(0, 9000))
    rel = (vb[0] - va[0], vb[1] - va[1])
    norm = math.hypot(*rel) or 1.0
    side = (-rel[1] / norm * miss, rel[0] / norm * miss)
    alt_a = draw(st.floats(2000, 10_000))
    vz_a = draw(st.sampled_from([0.0, draw(st.floats(-15, 15))]))
    vz_b = draw(st.sampled_from([0.0, draw(st.floats(-15, 15))]))
    alt_b = alt_a + draw(st.floats(-400, 400)) - (vz_b - vz_a) * t_cpa
    rows = [
        (0.0, 0.0, alt_a, gs_a, track_a, vz_a),
        (side[0] - rel[0] * t_cpa, side[1] - rel[1] * t_cpa, alt_b, gs_b, track_b, vz_b),
    ]
    for _ in range(draw(st.integers(0, 3))):
        rows.append(
            (
                draw(st.floats(-30_000, 30_000)), draw(st.floats(-30_000, 30_000)),
                alt_a + draw(st.sampled_from([0.0, 300.0, -600.0, draw(st.floats(-1500, 1500))])),
                draw(st.floats(50, 250)), draw(st.floats(0, 359.9)),
                draw(st.sampled_from([0.0, draw(st.floats(-10, 10))])),
            )
        )  # fmt: skip
    return picture(rows)


@settings(max_examples=30, deadline=None)
@given(s=encounters())
def test_every_claim_is_what_flying_it_gives(s: Extrapolated) -> None:
    r = resolve(s, 0, 1, RULES)
    check(s, 0, 1, r)
    if r is not None and r.recovery_s is None:
        no_smaller_pair_clears(s, 0, 1, r)


def test_head_on_both_turn_right_as_the_rules_of_the_air_say() -> None:
    s = picture([(0, 0, 9000, 200, 90, 0), (40_000, 0, 9000, 200, 270, 0)])
    r = resolve(s, 0, 1, TURNS_ONLY)
    assert r is not None and (r.a.sense, r.b.sense) == ("right", "right") and abs(r.a.change - r.b.change) <= 1
    check(s, 0, 1, r, TURNS_ONLY)
    no_smaller_pair_clears(s, 0, 1, r)
    # one left and one right carries both to the same side: the same turns do not clear it
    same_side = Resolution(replace(r.a, sense="left", to=90 - r.a.change), r.b, True)
    assert not clears(s, 0, 1, same_side, TURNS_ONLY)
    # with the vertical axis too: the smaller change is up and down, the higher one (here a, level) up
    r = resolve(s, 0, 1, RULES)
    assert r is not None and (r.a.sense, r.b.sense) == ("up", "down") and r.a.change == r.b.change == 400 * FPM
    check(s, 0, 1, r)


def test_in_step_one_left_one_right() -> None:
    """The demo's geometry: two aircraft on the same track, one sliding towards the other from the north."""
    s = picture([(0, 0, 7600, 220, 90, 0), (0, 13_000, 7500, 225, 110, 0)])
    r = resolve(s, 0, 1, TURNS_ONLY)
    assert r is not None and (r.a.sense, r.b.sense) == ("right", "left")  # south and north: apart
    check(s, 0, 1, r, TURNS_ONLY)
    r = resolve(s, 0, 1, RULES)
    check(s, 0, 1, r)


def test_overtaking() -> None:
    s = picture([(0, 0, 9000, 250, 90, 0), (15_000, 2000, 9000, 150, 90, 0)])
    r = resolve(s, 0, 1, TURNS_ONLY)
    assert r is not None and {r.a.sense, r.b.sense} == {"left", "right"} and r.a.sense == "right"  # b is north
    check(s, 0, 1, r, TURNS_ONLY)
    no_smaller_pair_clears(s, 0, 1, r)
    check(s, 0, 1, resolve(s, 0, 1, RULES))


def test_a_climber_into_a_level_aircraft() -> None:
    s = picture([(0, 0, 9000, 200, 90, 5), (60_000, 0, 9600, 200, 270, 0)])
    r = resolve(s, 0, 1, RULES)
    assert r is not None and r.recovery_s is None
    check(s, 0, 1, r)
    no_smaller_pair_clears(s, 0, 1, r)


def test_a_third_aircraft_on_the_way_moves_the_pair_the_other_way() -> None:
    head_on = [(0, 0, 9000, 200, 90, 0), (40_000, 0, 9000, 200, 270, 0)]
    # 10 km south of the head-on, flying west at its level: where a right turn would take a
    s = picture([*head_on, (10_000, -10_000, 9000, 200, 270, 0)])
    r = resolve(s, 0, 1, TURNS_ONLY)
    assert r is not None and (r.a.sense, r.b.sense) == ("left", "left") and r.clear_of_others
    check(s, 0, 1, r, TURNS_ONLY)
    # a third aircraft already within the minima of a: nothing a does is clear of it, the pair still resolves
    s = picture([*head_on, (3000, 0, 9100, 200, 90, 0)])
    r = resolve(s, 0, 1, RULES)
    assert r is not None and not r.clear_of_others and r.recovery_s is None
    check(s, 0, 1, r)


def test_in_loss_of_separation_the_pair_that_regains_it_soonest() -> None:
    s = picture([(0, 0, 9000, 200, 90, 0), (3000, 0, 9000, 200, 270, 0)])
    r = resolve(s, 0, 1, RULES)
    assert r is not None and r.recovery_s is not None and 0 < r.recovery_s < RULES.lookahead_s
    check(s, 0, 1, r)
    # 6,000 ft/min each way: 1,000 ft apart in 5 s, nothing quicker; within a second of that, the least
    assert 5.0 < r.recovery_s <= 6.0 and r.a.axis == "vertical_speed"
    assert (r.a.change, r.b.change) == pytest.approx((5000 * FPM, 5000 * FPM))


def test_none_when_no_pair_regains_separation() -> None:
    """Two hovering drones within the minima with no vertical speed allowed: nothing moves them apart."""
    s = picture([(0, 0, 100, 0, 0, 0), (500, 0, 120, 0, 0, 0)])
    assert resolve(s, 0, 1, TURNS_ONLY) is None
    with pytest.raises(ValueError):
        resolve(s, 0, 0, RULES)
