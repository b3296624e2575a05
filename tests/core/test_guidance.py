"""Guidance bands against slow, obvious reference code: fly each candidate manoeuvre, test every aircraft
and every hazard; recovery by simulating when each candidate is clear of everyone; the batched pass
against one ownship at a time; and every alert of the shared recordings."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from deconline.core import guidance
from deconline.core.areas import hazard_entries
from deconline.core.geodesy import local_projection, project
from deconline.core.guidance import (
    FPM,
    FT,
    KT,
    RECOVERY_MARGIN,
    RECOVERY_SLACK_S,
    BandRules,
    Bands,
    Ownship,
    Range,
    Traffic,
    bands,
    guidance_many,
    ownship,
    traffic_around,
)
from deconline.core.tactical import EARTH_RADIUS_M, VERTICAL_TOLERANCE_M, Extrapolated, TacticalRules, extrapolate
from deconline.core.volumes import Volume
from tests.conftest import SHARED
from tests.core.test_tactical import T0, east, north, tracks

RULES = BandRules(h_m=9260.0, v_m=304.8, lookahead_s=300.0)
STEPS = {"track_deg": 1.0, "gs_mps": 5 * KT, "vs_mps": 100 * FPM, "alt_m": 100 * FT}
DIMENSIONS = tuple(STEPS)
State = tuple[float, float, float, float]  # own altitude and velocity (east, north, up)
Other = tuple[float, float, float, float, float, float]  # position relative to own, altitude, velocity


# --- the reference: one candidate, one aircraft at a time --------------------------------------------


def conflict_window(own: State, other: Other, rules: BandRules) -> tuple[float, float] | None:
    """The times own (alt, vx, vy, vz) is inside one aircraft's (dx, dy, alt, vx, vy, vz) cylinder,
    one axis at a time, when they overlap within the look-ahead."""
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
        return None
    limit, dz, dvz = rules.v_m - VERTICAL_TOLERANCE_M, oalt - alt, ovz - vz
    if dvz == 0:
        v = (-math.inf, math.inf) if abs(dz) < limit else None
    else:
        t1, t2 = (-limit - dz) / dvz, (limit - dz) / dvz
        v = (min(t1, t2), max(t1, t2))
    if v is None:
        return None
    start, end = max(h[0], v[0]), min(h[1], v[1])
    return (start, end) if start < end and end > 0 and start < rules.lookahead_s else None


def candidate_state(own: Ownship, dimension: str, value: float) -> State:
    heading, alt, gs, vz = math.radians(own.track_deg), own.alt_m, own.gs_mps, own.vz_mps
    if dimension == "track_deg":
        heading = math.radians(value)
    elif dimension == "gs_mps":
        gs = value
    elif dimension == "vs_mps":
        vz = value
    else:
        alt, vz = value, 0.0
    return alt, gs * math.sin(heading), gs * math.cos(heading), vz


def others(traffic: Traffic) -> list[Other]:
    cols = (traffic.dx, traffic.dy, traffic.alt_m, traffic.vx, traffic.vy, traffic.vz)
    return [tuple(map(float, row)) for row in zip(*cols, strict=True)]  # type: ignore[misc]


def reference_answer(own: Ownship, traffic: Traffic, dimension: str, value: float, rules: BandRules = RULES) -> bool:
    mine = candidate_state(own, dimension, value)
    return any(conflict_window(mine, o, rules) is not None for o in others(traffic))


def reference_recovery(own: Ownship, traffic: Traffic, dimension: str, value: float) -> tuple[float, float]:
    """When the candidate is last in conflict (capped at the look-ahead) and its smallest miss, on the
    axis it changes, as a fraction of that minimum (inf: no conflict)."""
    mine = candidate_state(own, dimension, value)
    last, margin = -math.inf, math.inf
    for o in others(traffic):
        window = conflict_window(mine, o, RULES)
        if window is None:
            continue
        start, end = max(window[0], 0.0), min(window[1], RULES.lookahead_s)
        last = max(last, end)
        if dimension in ("track_deg", "gs_mps"):  # apart on the axis the candidate changes, at the closest
            (px, py), (wx, wy), minimum = (o[0], o[1]), (o[3] - mine[1], o[4] - mine[2]), RULES.h_m
        else:
            (px, py), (wx, wy), minimum = (o[2] - mine[0], 0.0), (o[5] - mine[3], 0.0), RULES.v_m - VERTICAL_TOLERANCE_M
        speed2 = wx * wx + wy * wy
        closest = -(px * wx + py * wy) / speed2 if speed2 > 0 else start
        t = min(max(closest, start), end)
        margin = min(margin, math.hypot(px + wx * t, py + wy * t) / minimum)
    return last, margin


def simulated_recovery(own: Ownship, traffic: Traffic, dimension: str, value: float, dt: float = 0.05) -> float:
    """Fly the candidate in steps of ``dt``: the last time it is inside anyone's cylinder (-inf: never)."""
    alt, vx, vy, vz = candidate_state(own, dimension, value)
    t = np.arange(0.0, RULES.lookahead_s + dt / 2, dt)
    inside = np.zeros(len(t), dtype=bool)
    for dx, dy, oalt, ovx, ovy, ovz in others(traffic):
        horizontal = np.hypot(dx + (ovx - vx) * t, dy + (ovy - vy) * t) < RULES.h_m
        inside |= horizontal & (np.abs(oalt + ovz * t - alt - vz * t) < RULES.v_m - VERTICAL_TOLERANCE_M)
    return float(t[inside][-1]) if inside.any() else -math.inf


def candidates(lo: float, hi: float, step: float) -> list[float]:
    return [lo + step * k for k in range(round((hi - lo) / step) + 1)]


def every_candidate(ranges: list[Range], step: float) -> list[tuple[float, Range]]:
    return [(value, r) for r in ranges for value in candidates(r.lo, r.hi, step)]


# --- random encounters --------------------------------------------------------------------------------


@st.composite
def encounters(draw: st.DrawFn, in_loss: bool = False) -> tuple[Ownship, Traffic]:
    own = Ownship(
        draw(st.floats(1000, 12_000)), draw(st.floats(50, 250)), draw(st.floats(0, 359.9)), draw(st.floats(-10, 10))
    )
    k = draw(st.integers(1 if in_loss else 0, 4))
    spread = draw(st.sampled_from([20_000.0, 20_000.0, 200_000.0]))  # far ones: none may be pruned wrongly
    rows = []
    for n in range(k):
        near = in_loss and n == 0  # already inside the cylinder: every turn, speed and rate conflicts
        reach = 9000.0 / math.sqrt(2) if near else spread
        rows.append(
            (
                draw(st.floats(-reach, reach)), draw(st.floats(-reach, reach)),
                own.alt_m + (draw(st.floats(-250, 250)) if near else draw(
                    st.sampled_from([0.0, 150.0, -300.0, 304.8, draw(st.floats(-1000, 1000))]))),
                draw(st.floats(-250, 250)), draw(st.floats(-250, 250)),
                draw(st.sampled_from([0.0, draw(st.floats(-10, 10))])),
            )
        )  # fmt: skip
    cols = [np.array(c, dtype=np.float64) for c in zip(*rows, strict=True)] if rows else [np.zeros(0)] * 6
    return own, Traffic(*cols)


def check_ranges(found: Bands, own: Ownship, traffic: Traffic, samples: int = 25) -> None:
    for dimension in DIMENSIONS:
        ranges = getattr(found, dimension)
        # every candidate of every range, or a sample of the long ones, gets the range's answer
        for r in ranges:
            values = candidates(r.lo, r.hi, STEPS[dimension])
            for value in [*values[:: max(1, len(values) // samples)], values[-1]]:
                assert reference_answer(own, traffic, dimension, value) == r.conflict, (dimension, value)
            assert r.conflict or not r.recovery
        # the ranges cover the dimension's candidates, one after the other, each unlike the next
        assert all(a.hi < b.lo and a[2:] != b[2:] for a, b in itertools.pairwise(ranges))


def check_recovery(found: Bands, own: Ownship, traffic: Traffic) -> int:
    """Where every candidate of a dimension conflicts, the recovery ones are those that keep within
    RECOVERY_MARGIN of the widest miss and, of those, regain separation within a second of the soonest;
    returns how many dimensions had recovery candidates."""
    marked = 0
    for dimension in DIMENSIONS:
        ranges = getattr(found, dimension)
        if not all(r.conflict for r in ranges):
            assert not any(r.recovery for r in ranges)
            continue
        every = every_candidate(ranges, STEPS[dimension])
        times = {value: reference_recovery(own, traffic, dimension, value) for value, _ in every}
        widest = max(margin for _, margin in times.values())
        eligible = {v for v, (_, margin) in times.items() if margin >= widest - RECOVERY_MARGIN}
        soonest = min(times[v][0] for v in eligible)
        for value, r in every:
            last, margin = times[value]
            if abs(margin - (widest - RECOVERY_MARGIN)) < 1e-6 or abs(last - soonest - RECOVERY_SLACK_S) < 1e-6:
                continue  # on an edge: the brute-force closest point decides by a hair
            expected = soonest < RULES.lookahead_s and value in eligible and last <= soonest + RECOVERY_SLACK_S
            assert r.recovery == expected, (dimension, value, last, margin, soonest, widest)
        marked += any(r.recovery for r in ranges)
    return marked


@settings(max_examples=30, deadline=None)
@given(encounter=encounters())
def test_every_range_is_what_flying_it_gives(encounter: tuple[Ownship, Traffic]) -> None:
    own, traffic = encounter
    found = bands(own, traffic, RULES)
    check_ranges(found, own, traffic)
    check_recovery(found, own, traffic)


@settings(max_examples=25, deadline=None)
@given(encounter=encounters(in_loss=True))
def test_recovery_regains_separation_soonest_among_the_widest_misses(encounter: tuple[Ownship, Traffic]) -> None:
    own, traffic = encounter
    found = bands(own, traffic, RULES)
    check_ranges(found, own, traffic, samples=8)
    assert all(r.conflict for r in found.track_deg)  # inside the cylinder now: every turn conflicts
    assert check_recovery(found, own, traffic) >= 1
    # The reference's times are what flying the candidate in 0.05 s steps shows.
    for dimension in ("track_deg", "gs_mps"):
        for value, _ in every_candidate(getattr(found, dimension), STEPS[dimension])[::17]:
            last, _ = reference_recovery(own, traffic, dimension, value)
            assert abs(simulated_recovery(own, traffic, dimension, value) - last) <= 0.05 + 1e-6


def test_head_on_turning_either_way_clears_and_straight_on_does_not() -> None:
    own = Ownship(9000.0, 200.0, 90.0, 0.0)
    traffic = Traffic(*(np.array([v]) for v in (40_000.0, 0.0, 9000.0, -200.0, 0.0, 0.0)))
    found: Bands = bands(own, traffic, RULES)
    conflicting = [r for r in found.track_deg if r.conflict]
    assert len(conflicting) == 1 and conflicting[0].lo < 90 < conflicting[0].hi  # straight on is in conflict
    low, high, conflict, recovery = next(r for r in found.alt_m if r.conflict)
    assert low < 9000 < high and conflict and not recovery
    assert not bands(own, Traffic(*(np.zeros(0) for _ in range(6))), RULES).track_deg[0].conflict


def test_inside_the_cylinder_recovery_turns_away() -> None:
    """2 km ahead and a little to the right, level, closing head-on: every turn conflicts. Straight on
    would be over soonest (it passes 300 m away), turning back never (in step); the recovery turns
    are to the left, away from it, which keep over a kilometre and are over a few seconds later."""
    own = Ownship(9000.0, 200.0, 0.0, 0.0)
    traffic = Traffic(*(np.array([v]) for v in (300.0, 2000.0, 9000.0, 0.0, -200.0, 0.0)))
    found = bands(own, traffic, RULES)
    assert all(r.conflict for r in found.track_deg)
    recovery = [value for value, r in every_candidate(found.track_deg, 1.0) if r.recovery]
    assert recovery and all(280 <= v <= 340 for v in recovery), recovery
    assert not any(r.recovery for r in found.alt_m)  # levels 1,000 ft away are clear: no recovery


# --- hazards ------------------------------------------------------------------------------------------

LAT, LON = 50.0, 10.0
WALK = 700 * KT * 0.25 + 1.0  # how far the fastest candidate flies in a step of the walk
SQUARE = Polygon([(9.8, 49.9), (10.2, 49.85), (10.1, 50.1), (9.9, 50.05)])


def hazard_area(hazard: Volume) -> tuple[shapely.Geometry, object]:
    c = hazard.footprint.centroid
    projection = local_projection(c.x, c.y)
    area = project(hazard.footprint, projection)
    return (area.buffer(hazard.radius_m, quad_segs=32) if hazard.is_circle else area), projection


def sampled_inside(own: Ownship, state: State, hazard: Volume, now: float, grow: float, dt: float = 0.25) -> bool:
    """Walk the path in ``dt`` steps: whether it is ever inside the hazard grown by ``grow`` metres
    (less than zero: shrunk), its band and window grown by what ``dt`` can hide."""
    alt, vx, vy, vz = state
    area, projection = hazard_area(hazard)
    area = area.buffer(grow) if grow else area
    lat0, lon0 = math.radians(own.lat_deg), math.radians(own.lon_deg)
    end_lat = math.degrees(lat0 + vy * RULES.lookahead_s / EARTH_RADIUS_M)
    end_lon = math.degrees(lon0 + vx * RULES.lookahead_s / (EARTH_RADIUS_M * max(math.cos(lat0), 1e-6)))
    (x0, x1), (y0, y1) = projection.transform([own.lon_deg, end_lon], [own.lat_deg, end_lat])  # type: ignore[attr-defined]
    t = np.arange(0.0, RULES.lookahead_s + 1e-9, dt)
    f = t / RULES.lookahead_s
    slack = (abs(vz) * dt if grow > 0 else -abs(vz) * dt) + (0.01 if grow > 0 else -0.01)
    height = alt + vz * t
    when = (t >= hazard.start_s - now - (dt if grow > 0 else -dt)) & (
        t <= hazard.end_s - now + (dt if grow > 0 else -dt)
    )
    band = (height >= hazard.lower_m - slack) & (height <= hazard.upper_m + slack)
    inside = shapely.contains_xy(area, x0 + (x1 - x0) * f, y0 + (y1 - y0) * f)
    return bool(np.any(inside & band & when))


@st.composite
def hazards(draw: st.DrawFn) -> Volume:
    circle = draw(st.booleans())
    lower = draw(st.sampled_from([0.0, 2000.0, 3500.0]))
    start = draw(st.sampled_from([-600.0, 60.0, 200.0]))
    footprint = Point(10.0 + draw(st.floats(-0.3, 0.3)), 50.0 + draw(st.floats(-0.2, 0.2))) if circle else SQUARE
    return Volume(footprint, 15_000.0 if circle else 0.0, lower, lower + 2500.0, T0 + start, T0 + start + 400.0)


@settings(max_examples=8, deadline=None)
@given(
    x=st.floats(-40_000, 40_000), y=st.floats(-40_000, 40_000), alt=st.floats(500, 5000), gs=st.floats(60, 250),
    trk=st.floats(0, 359), vz=st.sampled_from([0.0, 8.0, -8.0]), hazard=hazards(),
)  # fmt: skip
def test_hazards_against_sampling_the_path(
    x: float, y: float, alt: float, gs: float, trk: float, vz: float, hazard: Volume
) -> None:
    own = Ownship(alt, gs, trk, vz, north(LAT, y), east(LAT, LON, x))
    found = bands(own, Traffic(*(np.zeros(0) for _ in range(6))), RULES, [hazard], T0)
    for dimension in DIMENSIONS:
        every = every_candidate(getattr(found, dimension), STEPS[dimension])
        for value, r in every[:: max(1, len(every) // 40)] + every[-1:]:
            state = candidate_state(own, dimension, value)
            if r.conflict:  # inside somewhere, give or take what a step of the walk can hide
                assert sampled_inside(own, state, hazard, T0, grow=WALK), (dimension, value)
            else:  # nowhere surely inside
                assert not sampled_inside(own, state, hazard, T0, grow=-1.0), (dimension, value)


@settings(max_examples=12, deadline=None)
@given(
    lat=st.sampled_from([0.0, 50.0, 70.0, 80.0, 85.0, -60.0]), x=st.floats(-90_000, 90_000),
    y=st.floats(-90_000, 90_000), alt=st.floats(500, 5000), gs=st.sampled_from([0.0, 60.0, 150.0, 250.0]),
    trk=st.floats(0, 359), vz=st.sampled_from([0.0, 8.0, -8.0]), circle=st.booleans(),
)  # fmt: skip
def test_hazard_candidates_are_hazard_entries_tracks(
    lat: float, x: float, y: float, alt: float, gs: float, trk: float, vz: float, circle: bool
) -> None:
    """The same semantics as hazard_entries, at any latitude: each candidate flown as a track of its own."""
    if circle:
        hazard = Volume(Point(10.0, lat), 20_000.0, 1000.0, 4000.0, T0 + 30, T0 + 250)
    else:
        corners = [(-30_000, -20_000), (25_000, -30_000), (20_000, 25_000), (-15_000, 20_000)]
        ring = [(east(lat, 10.0, cx), north(lat, cy)) for cx, cy in corners]
        hazard = Volume(Polygon(ring), 0.0, 1000.0, 4000.0, T0 + 30, T0 + 250)
    own = Ownship(alt, gs, trk, vz, north(lat, y), east(lat, 10.0, x))
    found = bands(own, Traffic(*(np.zeros(0) for _ in range(6))), RULES, [hazard], T0)
    for dimension in DIMENSIONS:
        every = every_candidate(getattr(found, dimension), STEPS[dimension])
        rows = [candidate_state(own, dimension, value) for value, _ in every]
        n = len(rows)
        alts, vx, vy, vzs = (np.array(c) for c in zip(*rows, strict=True))
        s = Extrapolated(
            np.arange(n, dtype=np.int64), np.full(n, math.radians(own.lat_deg)), np.full(n, math.radians(own.lon_deg)),
            alts, vx, vy, vzs, np.zeros(n, dtype=np.int64), np.full(n, np.inf), alts,
        )  # fmt: skip
        entering = {e.track for e in hazard_entries(s, [hazard], T0, RULES.lookahead_s)}
        assert {k for k, (_, r) in enumerate(every) if r.conflict} == entering, dimension


def test_hazards_need_the_ownship_s_position() -> None:
    hazard = Volume(SQUARE, 0.0, 1000.0, 4000.0, T0 + 30, T0 + 250)
    own = Ownship(2500.0, 150.0, 200.0, 0.0, 50.3, 10.1)
    found = bands(own, Traffic(*(np.zeros(0) for _ in range(6))), RULES, [hazard], T0)
    assert any(r.conflict for r in found.track_deg) and any(not r.conflict for r in found.track_deg)
    with pytest.raises(ValueError, match="position"):
        bands(Ownship(2500.0, 150.0, 200.0, 0.0), Traffic(*(np.zeros(0) for _ in range(6))), RULES, [hazard], T0)


# --- many ownships at once -----------------------------------------------------------------------------


def check_many(s: Extrapolated, owns: Sequence[int], hazards: Sequence[Volume] = (), now: float = T0) -> None:
    one = [bands(ownship(s, i), traffic_around(s, i), RULES, hazards, now) for i in owns]
    assert guidance_many(s, owns, RULES, hazards, now) == one
    with patch.object(guidance, "ALL_PAIRS_UP_TO", 0):  # through the neighbour grid however few they are
        assert guidance_many(s, owns, RULES, hazards, now) == one


@settings(max_examples=30, deadline=None)
@given(
    lat=st.sampled_from([0.0, 45.0, 60.0, 75.0, 80.0, 85.0, -70.0]),
    spread=st.sampled_from([20_000.0, 150_000.0, 400_000.0]),
    rows=st.lists(
        st.tuples(
            st.floats(-1, 1), st.floats(-1, 1), st.floats(300, 12_000), st.floats(0, 300), st.floats(0, 360),
            st.sampled_from([0.0, 5.0, -12.0]),
        ),
        min_size=1, max_size=30,
    ),
    picks=st.lists(st.integers(0, 29), min_size=1, max_size=5),
    with_hazard=st.booleans(),
)  # fmt: skip
def test_many_ownships_at_once_get_what_each_gets_alone(
    lat: float, spread: float, rows: list[tuple[float, ...]], picks: list[int], with_hazard: bool
) -> None:
    picture = tracks([(north(lat, y * spread), east(lat, 10.0, x * spread), *rest, T0, 1) for x, y, *rest in rows])
    s = extrapolate(picture, T0, 20.0)
    hazard = Volume(Point(10.0, lat), 30_000.0, 0.0, 6000.0, T0 - 60, T0 + 3600)
    check_many(s, sorted({p % len(rows) for p in picks}), [hazard] if with_hazard else [])


def test_many_ownships_among_thousands() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    side = math.sqrt(n * 100.0) * 1000.0
    lat = 45.0 + np.degrees(rng.uniform(-side / 2, side / 2, n) / EARTH_RADIUS_M)
    lon = 10.0 + np.degrees(rng.uniform(-side / 2, side / 2, n) / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    rows = zip(lat, lon, rng.uniform(300, 12_000, n), rng.uniform(50, 300, n), rng.uniform(0, 360, n),
               rng.uniform(-15, 15, n), strict=True)  # fmt: skip
    s = extrapolate(tracks([(*r, T0, k) for k, r in enumerate(rows)]), T0, 20.0)
    hazard = Volume(Point(10.0, 45.0), 40_000.0, 0.0, 8000.0, T0 - 60, T0 + 3600)
    check_many(s, list(range(0, n, 97)), [hazard])
    assert guidance_many(s, [], RULES) == []


def test_traffic_around_an_aircraft_of_a_picture() -> None:
    t = tracks(
        [(50.0, 10.0, 9000, 200, 90, 0, T0, 1), (50.0, east(50.0, 10.0, 40_000), 9000, 200, 270, 0, T0, 2),
         (north(50.0, 30_000), 10.0, 3000, 100, 0, 0, T0, 3)]
    )  # fmt: skip
    s = extrapolate(t, T0, 20.0)
    around = traffic_around(s, 0)
    assert np.allclose(around.dx, [40_000.0, 0.0], atol=1.0) and np.allclose(around.dy, [0.0, 30_000.0], atol=1.0)
    own = ownship(s, 0)
    assert own.alt_m == 9000.0 and own.gs_mps == 200.0 and own.track_deg == 90.0 and own.vz_mps == 0.0
    assert (own.lat_deg, own.lon_deg) == pytest.approx((50.0, 10.0))
    assert TacticalRules  # the frame is the tactical engine's


# --- every alert of the shared recordings -------------------------------------------------------------

DATA = SHARED / "data"


@pytest.mark.skipif(not (DATA / "quickstart.json.gz").exists(), reason=f"needs the shared recordings in {DATA}")
@pytest.mark.parametrize(("name", "every"), [("quickstart.json.gz", 45), ("calfire.json.gz", 12)])
def test_every_range_of_sampled_alerts_of_the_recordings(name: str, every: int) -> None:
    """Replay at 10 s, and for a sample of the alert rows, both aircraft's guidance checked range by
    range against the reference over the whole picture."""
    from deconline.core.alerting import default_rules
    from deconline.core.tactical import DEFAULTS
    from deconline.ingest.recordings import latest_states, load_recording
    from deconline.replay import owners, replay, states

    recording = load_recording(Path(DATA / name), "traffic-json")
    alerting = default_rules(DEFAULTS.h_m, DEFAULTS.v_m)
    rows = [r for r in replay(recording, DEFAULTS, 10.0, None, None, alerting) if r["t_los"] is not None][::every]
    assert len(rows) >= 25  # (an alert held open while it clears predicts nothing: its aircraft may be gone)
    owner = owners(recording, None)
    checked = 0
    for row in rows:
        idx = latest_states(recording, float(row["t"]), DEFAULTS.max_track_age_s)
        s = extrapolate(states(recording, owner, idx), float(row["t"]), DEFAULTS.max_track_age_s)
        ids = [str(i) for i in recording.ids[idx][s.index]]
        owns = [ids.index(row["a"]), ids.index(row["b"])]
        for i, found in zip(owns, guidance_many(s, owns, RULES), strict=True):
            check_ranges(found, ownship(s, i), traffic_around(s, i), samples=2)
            checked += 1
    assert checked == 2 * len(rows)
