"""Judging alerts against what the aircraft then actually did.

A replay says which pairs were in alert when; the recording says where the aircraft really were. An
alert is worth its noise only if a real loss followed, and a loss is caught only if an alert came
before it: these figures are what alerting is tuned against (``bench/bench_alerts.py``). Pure
functions over numpy arrays; the arithmetic is in :mod:`deconline.score_truth`.

Definitions (``h_m``, ``v_m`` the minima; the defaults are 5 NM, 1,000 ft, a 200 ft tolerance and a
100 ft real-loss margin):

- *Truth*: each aircraft's position and barometric altitude interpolated linearly in time between
  consecutive reports no more than ``max_gap_s`` apart (latitude and longitude linearly); no truth
  outside such spans. Sampled on the evaluation grid: every ``step_s`` from the first report rounded
  up to a multiple of the step (as ``deconline replay`` evaluates).
- *Horizontal distance*: flat earth at the pair's mean latitude, R = 6,371,000 m.
- *Flight hours*: sum over aircraft of the lengths of their truth spans, in hours.
- *Real loss*: a pair (any two different aircraft) whose truth at a grid time is under ``h_m``
  horizontally and under ``v_m - real_margin_m`` vertically. A *real-loss event* is a maximal run of
  such grid times for one pair at consecutive grid times; with ``merge_gap_s`` > 0, runs separated by
  less than it are merged into one event (the default, 0, merges nothing: the issue's figures). Its
  start is its first grid time.
- An event is *tracked a minute before* when both aircraft have truth at start - ``tracked_before_s``.
- *Alert episode*: a maximal run of one pair's rows at consecutive evaluation times, where one missed
  evaluation does not end it (``bridge_steps``; rows more than two steps apart do). Its *raised* is its
  first time, *cleared* its last. It is *followed by a real loss* when the pair is in real loss at some
  grid time in [raised, max(cleared, raised + lookahead_s)]; otherwise it is a *false episode*.
- A real-loss event is *alerted before it began* when an episode of the pair is open at the last grid
  time before its start (raised <= start - step_s <= cleared); its *warning time* is start - raised of
  that episode. ``alerted_before`` counts the tracked events alerted; the warning percentiles are over
  every alerted event (``alerted_losses``): a loss need not be tracked a minute before to have a warning.
- *Rows falsely reported in loss*: rows with ``los`` true where the pair's truth at t has a vertical gap
  >= ``v_m - tolerance_m`` or a horizontal distance >= ``h_m`` (both reasons also counted apart); rows
  with no truth for one of the two aircraft are *unverifiable* instead.
- Per level: the same figures restricted to rows at that level or above (``levels_order``, least to
  most severe; a row without ``level`` is at level "conflict"). An episode at level L is a run of the
  pair's rows at level L or above.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deconline.ingest.recordings import Recording
from deconline.score_truth import (
    ALTITUDE_EPS_M,
    Bools,
    Ints,
    Truth,
    build_truth,
    horizontal_m,
    real_loss_samples,
    runs,
    truth_at,
)

DEFAULT_LEVEL = "conflict"
KNOWN_LEVELS = ("conflict", "advisory", "warning", "loss_of_separation")  # least to most severe


@dataclass(frozen=True)
class LevelScore:
    """Episode and loss figures for the rows at one level or above."""

    level: str
    episodes: int
    episodes_per_hour: float
    false_episodes: int
    false_episodes_per_hour: float
    false_share: float | None
    alerted_before: int  # of the tracked real losses
    alerted_losses: int  # of all real losses: the warning times' population
    warning_p10: float | None
    warning_p50: float | None
    warning_p90: float | None


@dataclass(frozen=True)
class Score:
    """One run of alerts judged against one recording (definitions: the module docstring)."""

    aircraft: int
    flight_hours: float
    episodes: int
    episodes_per_hour: float
    false_episodes: int
    false_episodes_per_hour: float
    false_share: float | None
    real_losses: int
    tracked_losses: int
    alerted_before: int
    alerted_losses: int
    warning_p10: float | None
    warning_p50: float | None
    warning_p90: float | None
    los_rows: int
    false_los_rows: int
    false_los_rows_vertical: int
    false_los_rows_horizontal: int
    unverifiable_los_rows: int
    los_rows_gap_over_real: int  # vertical gap >= v_m - real_margin_m (900 ft): the figure
    per_level: dict[str, LevelScore] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """Plain JSON-ready values, per level nested by name."""
        return asdict(self)


@dataclass(frozen=True, eq=False)
class _Rows:
    g: Ints  # grid index
    pair: Ints  # lo * n_ids + hi
    a: Ints
    b: Ints
    los: Bools
    rank: Ints  # index in the levels' order


@dataclass(frozen=True, eq=False)
class _Losses:
    key: Ints  # pair * width + grid index of every real-loss sample, sorted
    pair: Ints  # per event
    start: Ints
    tracked: Bools


def score(
    recording: Recording,
    rows: Iterable[Mapping[str, Any]],
    *,
    h_m: float = 9260.0,
    v_m: float = 304.8,
    tolerance_m: float = 60.96,
    real_margin_m: float = 30.48,
    lookahead_s: float = 300.0,
    step_s: float = 1.0,
    max_gap_s: float = 20.0,
    tracked_before_s: float = 60.0,
    merge_gap_s: float = 0.0,
    bridge_steps: int = 1,
    levels_order: Sequence[str] | None = None,
) -> Score:
    """Judge ``rows`` (``deconline replay`` output at ``step_s``) against ``recording``."""
    truth = build_truth(recording, step_s, max_gap_s)
    n_ids, width = len(truth.ids), truth.n_grid + 1
    loss_pair, loss_g = real_loss_samples(truth, h_m, v_m - real_margin_m)
    first, _ = runs(loss_pair, loss_g, max(1.0, merge_gap_s / step_s - 1e-9))
    start = loss_g[first]
    then = truth.grid_time(start) - tracked_before_s
    tracked = truth_at(truth, loss_pair[first] // n_ids, then)[3] & truth_at(truth, loss_pair[first] % n_ids, then)[3]
    losses = _Losses(loss_pair * width + loss_g, loss_pair[first], start, tracked)
    parsed, order = _parse(rows, truth, levels_order)
    lookahead = math.floor(lookahead_s / step_s + 1e-9)
    per_level = {
        name: _level(
            name, parsed.pair[parsed.rank >= r], parsed.g[parsed.rank >= r], losses, truth, lookahead, bridge_steps
        )
        for r, name in enumerate(order)
    }
    low = per_level[order[0]]
    los, false, vertical, horizontal, unverifiable, over_real = _los_rows(
        truth, parsed, h_m, v_m, tolerance_m, real_margin_m
    )
    return Score(
        aircraft=n_ids, flight_hours=truth.flight_hours, episodes=low.episodes,
        episodes_per_hour=low.episodes_per_hour, false_episodes=low.false_episodes,
        false_episodes_per_hour=low.false_episodes_per_hour, false_share=low.false_share,
        real_losses=len(start), tracked_losses=int(np.count_nonzero(tracked)), alerted_before=low.alerted_before,
        alerted_losses=low.alerted_losses, warning_p10=low.warning_p10, warning_p50=low.warning_p50,
        warning_p90=low.warning_p90, los_rows=los, false_los_rows=false, false_los_rows_vertical=vertical,
        false_los_rows_horizontal=horizontal, unverifiable_los_rows=unverifiable, los_rows_gap_over_real=over_real,
        per_level=per_level,
    )  # fmt: skip


def _level(
    name: str, pair: Ints, g: Ints, losses: _Losses, truth: Truth, lookahead: int, bridge_steps: int
) -> LevelScore:
    """Episodes of the given rows, whether a real loss followed each, and which losses they warned of."""
    width = truth.n_grid + 1
    key = np.unique(pair * width + g)  # sorted by (pair, time); a repeated row once
    pair, g = key // width, key % width
    first, last = runs(pair, g, 1.0 + bridge_steps)
    ep_pair, raised, cleared = pair[first], g[first], g[last]
    hi = np.minimum(np.maximum(cleared, raised + lookahead), truth.n_grid - 1)
    followed = np.searchsorted(losses.key, ep_pair * width + hi, "right") > np.searchsorted(
        losses.key, ep_pair * width + raised, "left"
    )
    # The episode open just before each event began: the pair's last one raised at or before start - 1.
    before = losses.start - 1
    k = np.searchsorted(ep_pair * width + raised, losses.pair * width + before, "right") - 1
    kc = np.clip(k, 0, max(len(raised) - 1, 0))
    alerted = (k >= 0) & (before >= 0)
    if len(raised):
        alerted &= (ep_pair[kc] == losses.pair) & (cleared[kc] >= before)
    p10, p50, p90 = _percentiles((losses.start[alerted] - raised[kc[alerted]]) * truth.step_s)
    n, false = len(raised), int(np.count_nonzero(~followed))
    hours = truth.flight_hours
    return LevelScore(
        name, n, _rate(n, hours), false, _rate(false, hours), false / n if n else None,
        int(np.count_nonzero(alerted & losses.tracked)), int(np.count_nonzero(alerted)), p10, p50, p90,
    )  # fmt: skip


def _parse(
    rows: Iterable[Mapping[str, Any]], truth: Truth, levels_order: Sequence[str] | None
) -> tuple[_Rows, list[str]]:
    """Rows as arrays; a row off the grid or naming an aircraft the recording lacks is refused, not guessed at."""
    code = {str(i): n for n, i in enumerate(truth.ids)}
    t, a, b, los, levels = [], [], [], [], []
    for row in rows:
        try:
            ca, cb = code[str(row["a"])], code[str(row["b"])]
        except KeyError as exc:
            raise ValueError(f"row at t={row.get('t')} names aircraft {exc} that the recording lacks") from None
        t.append(float(row["t"]))
        a.append(min(ca, cb))
        b.append(max(ca, cb))
        los.append(bool(row.get("los", False)))
        levels.append(str(row.get("level", DEFAULT_LEVEL)))
    present = set(levels)
    order = list(levels_order) if levels_order is not None else [n for n in KNOWN_LEVELS if n in present]
    order = order or [DEFAULT_LEVEL]
    unknown = present - set(order)
    if unknown:
        raise ValueError(f"levels {sorted(unknown)} are not in levels_order {order}")
    times = np.array(t, dtype=np.float64)
    g = truth.grid_index(times)
    off = (g < 0) | (g >= truth.n_grid) | (np.abs(truth.grid_time(g) - times) > 1e-6 * truth.step_s)
    if np.any(off):
        raise ValueError(f"row at t={times[off][0]} is not a grid time of this recording at step {truth.step_s} s")
    ia, ib = np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)
    rank = {name: r for r, name in enumerate(order)}
    ranks = np.array([rank[name] for name in levels], dtype=np.int64)
    return _Rows(g, ia * len(truth.ids) + ib, ia, ib, np.array(los, dtype=np.bool_), ranks), order


def _los_rows(
    truth: Truth, rows: _Rows, h_m: float, v_m: float, tolerance_m: float, real_margin_m: float
) -> tuple[int, int, int, int, int, int]:
    """(los rows, false, false by vertical, false by horizontal, unverifiable, vertical gap over the real margin)."""
    at = rows.los
    when = truth.grid_time(rows.g[at])
    lat1, lon1, alt1, ok1 = truth_at(truth, rows.a[at], when)
    lat2, lon2, alt2, ok2 = truth_at(truth, rows.b[at], when)
    ok = ok1 & ok2
    dz = np.abs(alt1 - alt2)
    vertical = ok & (dz >= v_m - tolerance_m - ALTITUDE_EPS_M)
    horizontal = ok & (horizontal_m(lat1, lon1, lat2, lon2) >= h_m)
    over_real = ok & (dz >= v_m - real_margin_m - ALTITUDE_EPS_M)
    count = np.count_nonzero
    return (
        int(count(at)), int(count(vertical | horizontal)), int(count(vertical)), int(count(horizontal)),
        int(count(~ok)), int(count(over_real)),
    )  # fmt: skip


def _rate(n: int, hours: float) -> float:
    return n / hours if hours > 0 else 0.0


def _percentiles(values: NDArray[Any]) -> tuple[float | None, float | None, float | None]:
    """p10, p50, p90 (linear interpolation), or None when nothing was alerted."""
    if len(values) == 0:
        return None, None, None
    p10, p50, p90 = np.percentile(np.asarray(values, dtype=np.float64), [10, 50, 90])
    return float(p10), float(p50), float(p90)


_LABELS = {
    "aircraft": "aircraft",
    "flight_hours": "flight hours",
    "episodes": "alert episodes",
    "episodes_per_hour": "episodes per flight hour",
    "false_episodes": "episodes not followed by a real loss",
    "false_episodes_per_hour": "false episodes per flight hour",
    "false_share": "share of episodes not followed by a real loss",
    "real_losses": "real losses (events)",
    "tracked_losses": "real losses tracked a minute before",
    "alerted_before": "of those, alerted before they began",
    "alerted_losses": "real losses alerted before they began (all)",
    "warning_p10": "warning time p10 (s), all alerted losses",
    "warning_p50": "warning time p50 (s), all alerted losses",
    "warning_p90": "warning time p90 (s), all alerted losses",
    "los_rows": "rows reported in loss of separation",
    "false_los_rows": "of those, falsely (truth outside a minimum by the tolerance)",
    "false_los_rows_vertical": "falsely, vertical gap >= V - tolerance",
    "false_los_rows_horizontal": "falsely, horizontal distance >= H",
    "unverifiable_los_rows": "unverifiable (no truth for one aircraft)",
    "los_rows_gap_over_real": "with a vertical gap >= V - real margin",
}
_LEVEL_FIELDS = ("episodes", "episodes_per_hour", "false_episodes", "false_share", "alerted_before", "warning_p50")


def summary_table(scores: Mapping[str, Score]) -> str:
    """A markdown table, one column per named run (e.g. "before" and "now"), per-level rows after the totals."""
    names = list(scores)
    lines = ["| | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for f in fields(Score):
        if f.name in _LABELS:
            cells = [_cell(getattr(s, f.name), f.name) for s in scores.values()]
            lines.append(f"| {_LABELS[f.name]} | " + " | ".join(cells) + " |")
    levels = [lv for lv in dict.fromkeys(lv for s in scores.values() for lv in s.per_level)]
    for level in levels:
        for name in _LEVEL_FIELDS:
            cells = [
                _cell(getattr(s.per_level[level], name), name) if level in s.per_level else "–" for s in scores.values()
            ]
            label = "tracked real losses alerted before they began" if name == "alerted_before" else _LABELS[name]
            lines.append(f"| at ≥ {level}: {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: object, name: str) -> str:
    if value is None:
        return "–"
    if name == "false_share" and isinstance(value, float):
        return f"{100 * value:.0f} %"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
