"""The grid of cubes against every pair: nothing within ``r`` on every axis is ever missed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deconline.core.neighbours import near_pairs


def close_pairs(points: np.ndarray, r: float) -> set[tuple[int, int]]:
    n = len(points)
    return {(i, j) for i in range(n) for j in range(i + 1, n) if bool(np.all(np.abs(points[i] - points[j]) <= r))}


def found(points: np.ndarray, r: float, max_cells: int | None = None) -> list[tuple[int, int]]:
    a, b = near_pairs(points, r, max_cells)
    return [(min(int(i), int(j)), max(int(i), int(j))) for i, j in zip(a, b, strict=True)]


coordinates = st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: round(v, 1))  # ties on cube edges too


@settings(max_examples=300, deadline=None)
@given(
    points=st.integers(0, 60).flatmap(lambda n: arrays(np.float64, (n, 3), elements=coordinates)),
    r=st.sampled_from([0.0, 1.0, 50.0, 500.0, 3000.0, 1e5]),
    small_grid=st.booleans(),
)
def test_every_close_pair_once_and_no_point_with_itself(points: np.ndarray, r: float, small_grid: bool) -> None:
    pairs = found(points, r, 27 if small_grid else None)  # a tiny grid forces larger cubes
    assert len(pairs) == len(set(pairs)), "a pair reported twice"
    assert all(i != j for i, j in pairs)
    assert close_pairs(points, r) <= set(pairs)


def test_points_on_cube_edges_and_duplicates() -> None:
    points = np.array([[0.0, 0, 0], [10.0, 0, 0], [20.0, 0, 0], [20.0, 0, 0], [30.0, 10, 10], [-10.0, -10, -10]])
    assert close_pairs(points, 10.0) <= set(found(points, 10.0))
    assert (2, 3) in set(found(points, 0.0))  # the same place, whatever r


def test_few_points() -> None:
    assert found(np.zeros((0, 3)), 1.0) == [] and found(np.zeros((1, 3)), 1.0) == []
