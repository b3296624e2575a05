"""The engine's two ways of finding candidates, and many pictures at once, against one answer.

Below ``ALL_PAIRS_BELOW`` aircraft every pair is tested, above it a grid prunes: both must give
the reference's answer on either side of the crossover, and the grid the all-pairs answer on any
sky. A replay hands many pictures to ``detect_many`` at once: each must get what ``detect`` gives
it alone.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.core import tactical
from deconline.core.tactical import (
    ALL_PAIRS_BELOW,
    Conflicts,
    TacticalRules,
    Tracks,
    detect,
    detect_many,
    extrapolate,
    pair_conflicts,
    sliced_pairs,
)
from tests.core.reference_tactical import reference_conflicts
from tests.core.test_tactical import T0, pairs, traffic

RULES = TacticalRules(h_m=9260.0, v_m=304.8, lookahead_s=300.0, max_track_age_s=20.0)
FIELDS = ("a", "b", "t_los", "t_cpa", "d_cpa_m", "dz_cpa_m", "los", "t_in")


def same(x: Conflicts, y: Conflicts) -> None:
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(x, name), getattr(y, name), err_msg=name)


@settings(max_examples=20, deadline=None)
@given(t=traffic(min_n=ALL_PAIRS_BELOW - 1, max_n=ALL_PAIRS_BELOW), same_owner=st.booleans())
def test_both_sides_of_the_crossover_equal_the_reference(t: Tracks, same_owner: bool) -> None:
    rules = TacticalRules(9260.0, 304.8, 300.0, 20.0, same_owner)
    assert pairs(detect(t, T0, rules)) == {(r.a, r.b) for r in reference_conflicts(t, T0, rules)}


@settings(max_examples=200, deadline=None)
@given(t=traffic(), lookahead=st.sampled_from([60.0, 300.0, 600.0]))
def test_the_grid_gives_the_all_pairs_answer_on_small_skies(t: Tracks, lookahead: float) -> None:
    """The grid is only used above the crossover; here it is forced on small skies."""
    rules = TacticalRules(9260.0, 304.8, lookahead, 20.0, True)
    s = extrapolate(t, T0, rules.max_track_age_s)
    i, j = np.triu_indices(len(s.lat), 1)
    everything = pair_conflicts(s, i.astype(np.int64), j.astype(np.int64), rules)
    same(pair_conflicts(s, *sliced_pairs(s, rules), rules), everything)


@st.composite
def pictures(draw: st.DrawFn) -> list[tuple[Tracks, float]]:
    """A few skies, each seen at its own time (some long after its reports: nothing live)."""
    skies = draw(st.lists(traffic(min_n=0, max_n=12), min_size=1, max_size=6))
    return [(sky, T0 + draw(st.sampled_from([0.0, 0.0, 10.0, 30.0]))) for sky in skies]


def stack(skies: list[tuple[Tracks, float]]) -> tuple[Tracks, np.ndarray, np.ndarray]:
    names = ("lat", "lon", "alt_m", "gs_mps", "track_deg", "vrate_mps", "time_s", "owner")
    tracks = Tracks(*(np.concatenate([getattr(sky, name) for sky, _ in skies]) for name in names))
    bounds = np.concatenate([[0], np.cumsum([len(sky) for sky, _ in skies])]).astype(np.int64)
    return tracks, np.array([t for _, t in skies]), bounds


@settings(max_examples=150, deadline=None)
@given(skies=pictures(), small_chunks=st.booleans())
def test_many_pictures_each_get_their_own_answer(skies: list[tuple[Tracks, float]], small_chunks: bool) -> None:
    tracks, times, bounds = stack(skies)
    with pytest.MonkeyPatch.context() as patch:
        if small_chunks:  # tested in several goes, as a long replay is
            patch.setattr(tactical, "MAX_PAIRS_AT_ONCE", 5)
        found = detect_many(tracks, times, bounds, RULES)
    expected = []
    for (sky, t), offset in zip(skies, bounds, strict=False):
        alone = detect(sky, t, RULES)
        expected.append(Conflicts(alone.a + offset, alone.b + offset, *(getattr(alone, n) for n in FIELDS[2:])))
    same(found, Conflicts(*(np.concatenate([getattr(c, n) for c in expected]) for n in FIELDS)))


def test_a_big_picture_takes_the_grid_path_and_agrees() -> None:
    """Above the crossover, inside detect_many, with the reference."""
    rng = np.random.default_rng(7)
    n = ALL_PAIRS_BELOW * 2
    lat = 50.0 + rng.uniform(-0.5, 0.5, n)
    lon = 10.0 + rng.uniform(-0.8, 0.8, n)
    t = Tracks(
        lat, lon, rng.uniform(3000, 4000, n), rng.uniform(50, 250, n), rng.uniform(0, 360, n),
        rng.uniform(-5, 5, n), np.full(n, T0), rng.integers(0, 4, n),
    )  # fmt: skip
    assert pairs(detect(t, T0, RULES)) == {(r.a, r.b) for r in reference_conflicts(t, T0, RULES)}


def test_the_engine_needs_no_scipy() -> None:
    """scipy costs a process 0.2 s to import: the engine and the replay must not pull it in."""
    code = "import sys, deconline.replay, deconline.core.tactical; print('scipy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
