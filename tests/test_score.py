"""The scorer on small built recordings whose answers are known, against a slow obvious loop, and on real traffic."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.recordings import Recording, load_recording
from deconline.score import Score, score, summary_table
from deconline.score_truth import (
    EARTH_RADIUS_M,
    MAX_CLIMB_MPS,
    MAX_SPEED_MPS,
    QUANTUM_M,
    build_truth,
    evaluation_times,
    real_loss_samples,
    truth_at,
)
from tests.conftest import SHARED

FT = 0.3048
H, V_REAL = 9260.0, 304.8 - 30.48
M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0  # along the equator
Report = tuple[float, float, float, float]  # t, lat, lon, alt_m


def recording(tracks: Mapping[str, Sequence[Report]]) -> Recording:
    """A Recording straight from per-aircraft reports (speeds and tracks unused by the scorer)."""
    flat = [(t, i, la, lo, z) for i, reports in tracks.items() for t, la, lo, z in reports]
    flat.sort(key=lambda r: (r[0], r[1]))
    t, ids, lat, lon, alt = (np.array(c) for c in zip(*flat, strict=True))
    zero = np.zeros(len(t))
    return Recording(t.astype(float), ids, lat, lon, alt, zero, zero, zero, skipped={}, total=len(t))


def head_on(dz_m: float = 0.0, k_from: int = 0) -> Recording:
    """Two aircraft on the equator closing at 400 m/s, reports every second from t = 1000 + k_from to 1200.

    49,460 m apart at t = 1000, so under 5 NM from 1101 to 1146 (one real loss starting at 1101).
    """
    d0 = H + 400.0 * 100 + 200.0
    a = [(1000.0 + k, 0.0, (-d0 / 2 + 200.0 * k) / M_PER_DEG, 3000.0) for k in range(k_from, 201)]
    b = [(1000.0 + k, 0.0, (d0 / 2 - 200.0 * k) / M_PER_DEG, 3000.0 + dz_m) for k in range(k_from, 201)]
    return recording({"aaaaaa": a, "bbbbbb": b})


def rows(times: Sequence[float], los: bool = False, level: str | None = None) -> list[dict[str, object]]:
    extra = {} if level is None else {"level": level}
    return [{"t": t, "a": "aaaaaa", "b": "bbbbbb", "los": los, **extra} for t in times]


def test_head_on_level_is_one_real_loss_starting_when_under_five_miles() -> None:
    rec = head_on()
    truth = build_truth(rec, 1.0, 20.0)
    pair, g = real_loss_samples(truth, H, V_REAL)
    assert len(set(pair.tolist())) == 1 and truth.grid_time(g)[0] == 1101.0
    s = score(rec, [])
    assert (s.real_losses, s.tracked_losses, s.episodes, s.alerted_before) == (1, 1, 0, 0)
    assert s.flight_hours == pytest.approx(400 / 3600) and s.aircraft == 2 and s.warning_p50 is None


@pytest.mark.parametrize("dz_ft", [1000.0, 975.0, 900.0])
def test_adjacent_levels_are_no_real_loss(dz_ft: float) -> None:
    """900 ft counts too: exactly the margin, not under it (25 ft steps must not read as 899.999 ft)."""
    assert score(head_on(dz_ft * FT), []).real_losses == 0
    assert score(head_on(899.0 * FT), []).real_losses == 1


def test_episode_before_the_loss_is_alerted_with_the_exact_warning_time() -> None:
    s = score(head_on(), rows(range(1071, 1140)))
    assert (s.episodes, s.false_episodes, s.alerted_before, s.alerted_losses) == (1, 0, 1, 1)
    assert s.warning_p10 == s.warning_p50 == s.warning_p90 == 30.0


def test_episode_that_ends_before_the_loss_or_begins_with_it_does_not_warn() -> None:
    assert score(head_on(), rows(range(1071, 1099))).alerted_before == 0  # cleared at start - 2
    late = score(head_on(), rows(range(1101, 1140)))
    assert late.alerted_before == 0 and late.false_episodes == 0  # followed, but no warning


def test_episode_without_a_loss_is_false_and_the_look_ahead_bounds_followed() -> None:
    s = score(head_on(1000 * FT), rows(range(1010, 1021)))
    assert (s.episodes, s.false_episodes, s.false_share) == (1, 1, 1.0)
    assert s.false_episodes_per_hour == pytest.approx(1 / (400 / 3600))
    early = head_on(k_from=-250)
    assert score(early, rows([1101 - 300])).false_episodes == 0  # the loss begins at raised + look-ahead
    assert score(early, rows([1100 - 300])).false_episodes == 1  # one second too early
    assert score(early, rows(range(1099 - 300, 1102))).false_episodes == 0  # still open when it began
    assert score(early, rows(range(1099 - 300, 1101))).false_episodes == 1  # cleared just before


def test_one_missed_evaluation_does_not_end_an_episode_two_do() -> None:
    assert score(head_on(), rows([1010, 1012])).episodes == 1
    assert score(head_on(), rows([1010, 1013])).episodes == 2


def test_los_rows_judged_against_the_tolerance_and_the_real_margin() -> None:
    s = score(head_on(950 * FT), rows([1120], los=True))
    assert (s.los_rows, s.false_los_rows, s.false_los_rows_vertical, s.los_rows_gap_over_real) == (1, 1, 1, 1)
    assert s.false_los_rows_horizontal == 0
    s = score(head_on(850 * FT), rows([1120], los=True))
    assert (s.false_los_rows, s.los_rows_gap_over_real) == (1, 0)  # over 800 ft, under 900 ft
    assert score(head_on(750 * FT), rows([1120], los=True)).false_los_rows == 0
    s = score(head_on(0.0), rows([1010, 1120], los=True))
    assert (s.false_los_rows, s.false_los_rows_horizontal, s.false_los_rows_vertical) == (1, 1, 0)


def test_report_gaps_longer_than_max_gap_are_not_interpolated() -> None:
    def track(lat: float, gap_after: float) -> list[Report]:
        times = [*range(0, 51), *(50 + gap_after + k for k in range(51))]
        return [(1000.0 + t, lat, 0.0, 3000.0) for t in times]

    # Two aircraft 1 km apart, level, always in real loss wherever both have truth.
    for gap, hours, unverifiable in ((30.0, 100, 1), (20.0, 120, 0)):
        rec = recording({"aaaaaa": track(0.0, gap), "bbbbbb": track(0.009, gap)})
        s = score(rec, rows([1060], los=True))
        assert s.flight_hours == pytest.approx(2 * hours / 3600) and s.unverifiable_los_rows == unverifiable
        assert s.real_losses == (2 if gap > 20 else 1)
        truth = build_truth(rec, 1.0, 20.0)
        ok = truth_at(truth, np.array([0, 0, 0]), np.array([1050.0, 1060.0, 1050.0 + gap]))[3]
        assert ok.tolist() == [True, gap <= 20, True]


def test_levels_count_rows_at_their_level_or_above() -> None:
    batch = rows(range(1071, 1090), level="advisory") + rows(range(1090, 1110), level="warning")
    batch += rows([1200], level="advisory")
    s = score(head_on(), sorted(batch, key=lambda r: float(str(r["t"]))))
    assert list(s.per_level) == ["advisory", "warning"]
    assert (s.episodes, s.per_level["advisory"].episodes, s.per_level["warning"].episodes) == (2, 2, 1)
    assert (s.warning_p50, s.per_level["warning"].warning_p50) == (30.0, 11.0)
    assert s.per_level["warning"].false_episodes == 0
    with pytest.raises(ValueError, match="not in levels_order"):
        score(head_on(), batch, levels_order=["warning"])


def test_rows_off_the_grid_or_of_unknown_aircraft_are_refused() -> None:
    with pytest.raises(ValueError, match="not a grid time"):
        score(head_on(), rows([1010.5]))
    with pytest.raises(ValueError, match="lacks"):
        score(head_on(), [{"t": 1010, "a": "aaaaaa", "b": "cccccc", "los": False}])


def test_summary_table_and_json() -> None:
    scores = {"before": score(head_on(), rows(range(1071, 1140))), "now": score(head_on(), [])}
    table = summary_table(scores)
    assert table.splitlines()[0] == "| | before | now |" and "| alert episodes | 1 | 0 |" in table
    assert json.loads(json.dumps(scores["before"].as_json()))["per_level"]["conflict"]["episodes"] == 1


def slow_truth(reports: list[Report], x: float, max_gap: float) -> tuple[float, float, float] | None:
    """The definition, read literally: on a segment between consecutive reports no more than max_gap apart
    and reachable from each other (no jump that no aircraft can make)."""
    for (t0, la0, lo0, z0), (t1, la1, lo1, z1) in itertools.pairwise(reports):
        climb_ok = abs(z1 - z0) <= MAX_CLIMB_MPS * (t1 - t0) + QUANTUM_M
        mean = math.radians((la0 + la1) / 2)
        moved = math.hypot(
            EARTH_RADIUS_M * math.cos(mean) * math.radians(lo1 - lo0), EARTH_RADIUS_M * math.radians(la1 - la0)
        )
        reachable = climb_ok and moved <= MAX_SPEED_MPS * (t1 - t0) + 500.0
        if t0 <= x <= t1 and t1 - t0 <= max_gap and reachable:
            f = (x - t0) / (t1 - t0) if t1 > t0 else 0.0
            return la0 + f * (la1 - la0), lo0 + f * (lo1 - lo0), z0 + f * (z1 - z0)
    return None


def slow_losses(
    tracks: dict[str, list[Report]], step: float, max_gap: float
) -> tuple[set[tuple[str, str, float]], set[tuple[str, str, float]]]:
    """Real-loss (pair, time) by a loop per grid time per pair; the second set: too close to a threshold to call."""
    rec = recording(tracks)
    sure: set[tuple[str, str, float]] = set()
    unsure: set[tuple[str, str, float]] = set()
    ids = sorted(tracks)
    for t in evaluation_times(rec, step):
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                pa, pb = slow_truth(tracks[a], t, max_gap), slow_truth(tracks[b], t, max_gap)
                if pa is None or pb is None:
                    continue
                mean = math.radians((pa[0] + pb[0]) / 2)
                dx = EARTH_RADIUS_M * math.cos(mean) * math.radians(pb[1] - pa[1])
                dh, dz = math.hypot(dx, EARTH_RADIUS_M * math.radians(pb[0] - pa[0])), abs(pa[2] - pb[2])
                if abs(dh - H) < 1e-6 or abs(dz - V_REAL) < 1e-5:
                    unsure.add((a, b, float(t)))
                elif dh < H and dz < V_REAL:
                    sure.add((a, b, float(t)))
    return sure, unsure


@st.composite
def small_traffic(draw: st.DrawFn) -> dict[str, list[Report]]:
    """2-4 aircraft in a 20 km box, reports at whole seconds or not, gaps on both sides of 20 s (and exactly 20 s)."""
    whole = draw(st.booleans())  # whole seconds: reports on grid times, where spans begin and end exactly
    tracks = {}
    for n in range(draw(st.integers(2, 4))):
        t = float(draw(st.integers(0, 30))) if whole else draw(st.floats(0.0, 30.0))
        reports = []
        for _ in range(draw(st.integers(1, 12))):
            lat, lon = draw(st.floats(-0.1, 0.1)), draw(st.floats(-0.1, 0.1))
            reports.append((1000.0 + t, lat, lon, draw(st.floats(0.0, 600.0))))
            t += draw(st.sampled_from([1.0, 2.0, 5.0, 19.0, 20.0, 21.0, 30.0]))
            t += 0.0 if whole else draw(st.floats(0.01, 3.0))
        tracks[f"{n:06x}"] = reports
    return tracks


@settings(max_examples=60, deadline=None)
@given(tracks=small_traffic(), step=st.sampled_from([1.0, 2.0, 5.0]))
def test_vectorised_real_losses_equal_the_slow_loop(tracks: dict[str, list[Report]], step: float) -> None:
    truth = build_truth(recording(tracks), step, 20.0)
    pair, g = real_loss_samples(truth, H, V_REAL)
    n = len(truth.ids)
    fast = {
        (str(truth.ids[p // n]), str(truth.ids[p % n]), float(t)) for p, t in zip(pair, truth.grid_time(g), strict=True)
    }
    sure, unsure = slow_losses(tracks, step, 20.0)
    assert sure <= fast and fast - sure <= unsure


DATA = SHARED / "data"


@pytest.mark.skipif(not (DATA / "quickstart.json.gz").exists(), reason=f"needs the shared recordings in {DATA}")
def test_quickstart_slice_scored_against_its_own_real_losses() -> None:
    """Twenty minutes of real traffic: truth's own losses reported as rows are followed, verifiable, over no minimum.

    Only their vertical gap may be 800 to 900 ft: a real loss (under 900 ft) the engine may not report as one.
    """
    full = load_recording(DATA / "quickstart.json.gz", "traffic-json")
    end = int(np.searchsorted(full.time_s, full.time_s[0] + 1200.0))
    rec = Recording(
        full.time_s[:end], full.ids[:end], full.lat[:end], full.lon[:end], full.alt_m[:end],
        full.gs_mps[:end], full.track_deg[:end], full.vrate_mps[:end], skipped={}, total=end,
    )  # fmt: skip
    truth = build_truth(rec, 1.0, 20.0)
    pair, g = real_loss_samples(truth, H, V_REAL)
    n = len(truth.ids)
    assert len(pair) > 100, "the slice holds real losses"
    found = [
        {"t": float(t), "a": str(truth.ids[p // n]), "b": str(truth.ids[p % n]), "los": True}
        for p, t in zip(pair, truth.grid_time(g), strict=True)
    ]
    found.sort(key=lambda r: (r["t"], r["a"], r["b"]))
    s: Score = score(rec, found)
    assert (s.unverifiable_los_rows, s.false_episodes, s.los_rows) == (0, 0, len(found))
    assert s.false_los_rows == s.false_los_rows_vertical and (
        s.los_rows_gap_over_real,
        s.false_los_rows_horizontal,
    ) == (0, 0)
    # Each episode begins with a loss; a loss after a one-second break is a new event inside the same episode.
    assert s.alerted_losses == s.real_losses - s.episodes > 0
    assert 0 < s.flight_hours < len(truth.ids) * 1200 / 3600
