"""Alerting: the confirmation state machine against a slow reference, and the engine's alert levels
(level flight, the vertical tolerance, selected altitude) against the all-pairs reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.core.alerting import Confirmation, Level, Memory, advance, raw_level, step
from deconline.core.tactical import TacticalRules, Thresholds, Tracks, detect
from tests.core.reference_tactical import reference_levels
from tests.core.test_tactical import T0, east, traffic

FT = 0.3048
FPM = FT / 60
LEVELS = (Level("advisory", 9260.0, 304.8, 120.0, 150.0), Level("warning", 9260.0, 304.8, 60.0, 75.0))


# --- the state machine -------------------------------------------------------------------------


def reference_shown(raws: list[int], times: list[float], rules: Confirmation) -> list[int]:
    """What is shown after each evaluation, straight from the rules, over the whole history."""
    shown, out = 0, []
    raised_at, quiet_since = -math.inf, math.inf
    start = 0  # evaluations before a long silence are forgotten
    for i, t in enumerate(times):
        if i > 0 and t - times[i - 1] > rules.forget_after_s:
            start, shown, raised_at, quiet_since = i, 0, -math.inf, math.inf
        window = raws[max(start, i - rules.n + 1) : i + 1]
        confirmed = 0
        for level in range(1, 10):
            if len([r for r in window if r >= level]) >= rules.m:
                confirmed = level
        if confirmed > shown:
            shown, raised_at, quiet_since = confirmed, t, math.inf
        elif confirmed > 0:
            quiet_since = math.inf
            if confirmed < shown and t - raised_at >= rules.persistence_s:
                shown = confirmed
        elif shown > 0:
            quiet_since = min(quiet_since, t)
            if t - raised_at >= rules.persistence_s:
                shown = 0 if t - quiet_since >= rules.clear_after_s else 1
        if shown == 0:
            quiet_since = math.inf
        out.append(shown)
    return out


def run_machine(raws: list[int], times: list[float], rules: Confirmation) -> list[int]:
    memory: Memory | None = None
    out = []
    for raw, t in zip(raws, times, strict=True):
        memory = step(memory, raw, t, rules)
        out.append(memory.level if memory else 0)
    return out


@settings(max_examples=400, deadline=None)
@given(
    raws=st.lists(st.sampled_from([0, 0, 0, 1, 1, 2, 3]), min_size=1, max_size=60),
    gaps=st.lists(st.sampled_from([1.0, 1.0, 1.0, 2.0, 5.0, 90.0]), min_size=60, max_size=60),
    m_n=st.sampled_from([(1, 1), (2, 4), (3, 5), (2, 2)]),
    persistence=st.sampled_from([0.0, 4.0, 10.0]),
    clear_after=st.sampled_from([0.0, 3.0, 10.0]),
)
def test_state_machine_equals_the_reference(
    raws: list[int], gaps: list[float], m_n: tuple[int, int], persistence: float, clear_after: float
) -> None:
    rules = Confirmation(m=m_n[0], n=m_n[1], persistence_s=persistence, clear_after_s=clear_after)
    times = list(np.cumsum(gaps[: len(raws)]))
    assert run_machine(raws, times, rules) == reference_shown(raws, times, rules)


def test_one_evaluation_is_not_an_alert_two_of_four_are() -> None:
    rules = Confirmation()
    assert run_machine([2, 0, 0, 0], [1, 2, 3, 4], rules) == [0, 0, 0, 0]
    assert run_machine([2, 0, 2, 0], [1, 2, 3, 4], rules) == [0, 0, 2, 2]


def test_persistence_then_hold_then_clear() -> None:
    rules = Confirmation(m=2, n=4, persistence_s=4, clear_after_s=10)
    shown = run_machine([2, 2] + [0] * 20, list(range(1, 23)), rules)
    assert shown[:6] == [0, 2, 2, 2, 2, 1]  # raised at 2; warning held 4 s; then open at the lowest level
    assert shown.index(0, 2) == 14  # nothing confirmed from t = 5 (2 of 4 lost): cleared 10 s later, at t = 15


def test_advance_steps_pairs_not_seen_with_nothing() -> None:
    rules = Confirmation(m=1, n=1, persistence_s=0, clear_after_s=0)
    memories = advance({}, {"p": 1}, 0.0, rules)
    assert memories["p"].level == 1
    assert advance(memories, {}, 1.0, rules) == {}


def test_raw_level_holds_a_raised_level_to_its_early_alerting_time() -> None:
    assert raw_level([100.0, 70.0], LEVELS, 0) == 1  # warning needs 60 s until it is shown
    assert raw_level([100.0, 70.0], LEVELS, 2) == 2  # shown: held to 75 s
    assert raw_level([140.0, math.inf], LEVELS, 1) == 1
    assert raw_level([140.0, math.inf], LEVELS, 0) == 0
    assert raw_level([50.0, 50.0], LEVELS, 0) == 2


# --- the engine's levels -----------------------------------------------------------------------


def with_intent(t: Tracks, draw: st.DrawFn) -> Tracks:
    sel = [
        draw(st.sampled_from([math.nan, math.nan, 3000.0, 3304.8, 9000.0, float(alt) + draw(st.floats(-600, 600))]))
        for alt in t.alt_m
    ]
    return Tracks(t.lat, t.lon, t.alt_m, t.gs_mps, t.track_deg, t.vrate_mps, t.time_s, t.owner, np.array(sel))


@st.composite
def traffic_with_intent(draw: st.DrawFn) -> Tracks:
    return with_intent(draw(traffic()), draw)


@settings(max_examples=300, deadline=None)
@given(
    t=traffic_with_intent(),
    level_rate=st.sampled_from([0.0, 1.3, 12.0]),
    tolerance=st.sampled_from([0.0, 60.96]),
    levels=st.sampled_from(
        [
            [(9260.0, 304.8, 150.0), (9260.0, 304.8, 75.0)],
            [(12_000.0, 400.0, 300.0), (3000.0, 150.0, 40.0)],
            [(9260.0, 304.8, 600.0)],
        ]
    ),
)
def test_levels_equal_the_reference(
    t: Tracks, level_rate: float, tolerance: float, levels: list[tuple[float, float, float]]
) -> None:
    rules = TacticalRules(9260.0, 304.8, 300.0, 20.0, level_rate_mps=level_rate, tolerance_m=tolerance)
    found = detect(t, T0, rules, [Thresholds(*level) for level in levels])
    expected = {(r.a, r.b): r for r in reference_levels(t, T0, rules, levels)}
    assert {(int(a), int(b)) for a, b in zip(found.a, found.b, strict=True)} == set(expected)
    for k in range(len(found)):
        ref = expected[(int(found.a[k]), int(found.b[k]))]
        assert bool(found.los[k]) == ref.los
        for got, want in zip(found.t_in[k], ref.t_in, strict=True):
            assert (math.isinf(got) and math.isinf(want)) or got == pytest.approx(want, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(
    level=st.integers(100, 400),
    noise=st.lists(st.sampled_from([-50.0, -25.0, 0.0, 25.0, 50.0]), min_size=2, max_size=2),
    rates=st.lists(st.sampled_from([-192.0, -128.0, -64.0, 0.0, 64.0, 128.0, 192.0]), min_size=2, max_size=2),
    distance=st.floats(0.0, 80_000.0),
    headings=st.lists(st.floats(0.0, 360.0), min_size=2, max_size=2),
    speeds=st.lists(st.floats(100.0, 280.0), min_size=2, max_size=2),
)
def test_level_aircraft_at_adjacent_levels_never_alert(
    level: int, noise: list[float], rates: list[float], distance: float, headings: list[float], speeds: list[float]
) -> None:
    """Two aircraft level 1,000 ft apart, their altitudes reported in 25 ft steps with up to 50 ft of
    error each and their rates in 64 ft/min steps: separated, never alerted, never in loss."""
    lower, upper = level * 100 * FT + noise[0] * FT, (level * 100 + 1000) * FT + noise[1] * FT
    lon_b = east(48.0, 2.0, distance)
    t = Tracks(
        *(np.array(c, dtype=np.float64) for c in zip(
            (48.0, 2.0, lower, speeds[0], headings[0], rates[0] * FPM, T0),
            (48.0, lon_b, upper, speeds[1], headings[1], rates[1] * FPM, T0),
            strict=True,
        )),
        owner=np.array([1, 2]),
    )  # fmt: skip
    rules = TacticalRules(9260.0, 304.8, 300.0, 20.0, level_rate_mps=1.0, tolerance_m=60.96)
    assert len(detect(t, T0, rules, [Thresholds(9260.0, 304.8, 150.0), Thresholds(9260.0, 304.8, 75.0)])) == 0


def test_a_climb_stops_at_the_selected_altitude() -> None:
    """A climbs at 1,500 ft/min towards FL340, selected; B is level at FL350 ahead of it: without the
    selected altitude the climb is projected through B's level, with it A levels off 1,000 ft below."""
    fl = 100 * FT
    lon_b = east(48.0, 2.0, 40_000.0)
    rows = ((48.0, 2.0, 330 * fl, 230.0, 90.0, 1500 * FPM, T0), (48.0, lon_b, 350 * fl, 230.0, 270.0, 0.0, T0))
    cols = [np.array(c, dtype=np.float64) for c in zip(*rows, strict=True)]
    levels = [Thresholds(9260.0, 304.8, 150.0)]
    rules = TacticalRules(9260.0, 304.8, 300.0, 20.0, level_rate_mps=1.0, tolerance_m=60.96)
    assert len(detect(Tracks(*cols, owner=np.array([1, 2])), T0, rules, levels)) == 1
    capped = Tracks(*cols, owner=np.array([1, 2]), sel_alt_m=np.array([340 * fl, math.nan]))
    assert len(detect(capped, T0, rules, levels)) == 0
    above = Tracks(*cols, owner=np.array([1, 2]), sel_alt_m=np.array([360 * fl, math.nan]))  # through B's level
    assert len(detect(above, T0, rules, levels)) == 1
