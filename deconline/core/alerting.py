"""When a predicted loss of separation becomes an alert: levels, confirmation, persistence, clearing.

Separation is not alerting (ARCHITECTURE.md, "Tactical"). The engine says, for each pair and each
alert level, when that level's thresholds are first predicted violated (``t_in``); this module
turns that into what a duty officer sees, the way DO-365 alerting logic (NASA DAIDALUS) does:

- a level's *raw* value at one evaluation: the most severe level whose thresholds are violated
  within its alerting time, or within its longer early-alerting time while that level (or a more
  severe one) is already shown (hysteresis: a prediction hovering at the limit does not flicker);
- *M of N*: a level is shown once M of the last N raw values reach it (confirmation);
- *persistence*: after a raise, no lower level for ``persistence_s``;
- *clearing*: an alert ends only after nothing has been predicted for ``clear_after_s``; until then
  it stays open at the least severe level.

One pure state machine (:func:`step`, :func:`advance`), used by the service's evaluator and by
``replay`` alike, so both give the same alerts for the same tracks.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from deconline.core.tactical import TacticalRules, Thresholds

LOS_LEVEL = "loss_of_separation"


@dataclass(frozen=True)
class Level:
    """One alert level's criteria (SI)."""

    name: str
    h_m: float
    v_m: float
    alerting_s: float
    early_s: float


@dataclass(frozen=True)
class Confirmation:
    m: int = 2
    n: int = 4
    persistence_s: float = 4.0
    clear_after_s: float = 15.0
    forget_after_s: float = 60.0  # a pair not evaluated this long starts afresh (a restart, a gap in the picture)


@dataclass(frozen=True)
class AlertingRules:
    """Levels from least to most severe, and how they are confirmed."""

    levels: tuple[Level, ...]
    confirmation: Confirmation
    vertical_tolerance_m: float
    level_rate_mps: float

    def thresholds(self) -> tuple[Thresholds, ...]:
        """Each level's region, for the engine: its thresholds up to its early-alerting time."""
        return tuple(Thresholds(level.h_m, level.v_m, level.early_s) for level in self.levels)

    def engine_rules(self, rules: TacticalRules) -> TacticalRules:
        """The minima ``rules`` read with this surveillance's resolution (level flight, tolerance)."""
        return replace(rules, level_rate_mps=self.level_rate_mps, tolerance_m=self.vertical_tolerance_m)

    def name(self, level: int, los: bool) -> str | None:
        """What a shown level is called: loss of separation while one is declared, else the level's name."""
        if level <= 0:
            return None
        return LOS_LEVEL if los else self.levels[level - 1].name


# A new agreement's defaults (tuned on the shared recordings: README, "Alerting"); the agreement's
# fields take theirs from here, so a replay without an agreement needs no pydantic.
DEFAULT_LEVELS = (("advisory", 120.0, 150.0), ("warning", 60.0, 75.0))  # name, alerting and early-alerting times
DEFAULT_TOLERANCE_M = 60.96  # 200 ft
DEFAULT_LEVEL_RATE_MPS = 1.0  # 197 ft/min


def default_rules(h_m: float, v_m: float) -> AlertingRules:
    """A new agreement's alerting, its levels' thresholds at the minima ``h_m`` and ``v_m``."""
    return AlertingRules(
        levels=tuple(Level(name, h_m, v_m, alerting_s, early_s) for name, alerting_s, early_s in DEFAULT_LEVELS),
        confirmation=Confirmation(),
        vertical_tolerance_m=DEFAULT_TOLERANCE_M,
        level_rate_mps=DEFAULT_LEVEL_RATE_MPS,
    )


@dataclass(frozen=True, slots=True)
class Memory:
    """One pair's alerting state between evaluations."""

    recent: tuple[int, ...]  # the last raw levels, newest last, at most N
    level: int  # shown: 0 none, k the k-th level (1-based, least severe first)
    raised_at: float  # when ``level`` was last raised (persistence runs from here)
    quiet_since: float  # since when nothing has been confirmed (inf while something is)
    last: float  # time of the last evaluation


def raw_level(t_in: Sequence[float], levels: Sequence[Level], shown: int) -> int:
    """The most severe level whose thresholds are violated within its alerting time, or within its
    early-alerting time while it (or a more severe level) is shown; 0 for none."""
    for k in range(len(levels), 0, -1):
        level = levels[k - 1]
        if t_in[k - 1] <= (level.early_s if shown >= k else level.alerting_s):
            return k
    return 0


def _confirmed(recent: tuple[int, ...], m: int) -> int:
    """The most severe level that at least M of the recent raw values reach."""
    for level in range(max(recent, default=0), 0, -1):
        if sum(1 for value in recent if value >= level) >= m:
            return level
    return 0


def step(memory: Memory | None, raw: int, t: float, rules: Confirmation) -> Memory | None:
    """One pair, one evaluation; ``None`` once there is nothing to show and nothing to remember."""
    if memory is None or t - memory.last > rules.forget_after_s:
        memory = Memory((), 0, -math.inf, math.inf, t)
    recent = (*memory.recent, raw)[-rules.n :]
    confirmed = _confirmed(recent, rules.m)
    level, raised_at, quiet_since = memory.level, memory.raised_at, memory.quiet_since
    if confirmed > level:
        level, raised_at, quiet_since = confirmed, t, math.inf
    elif confirmed > 0:
        quiet_since = math.inf
        if confirmed < level and t - raised_at >= rules.persistence_s:
            level = confirmed
    elif level > 0:
        quiet_since = min(quiet_since, t)
        if t - raised_at >= rules.persistence_s:
            level = 0 if t - quiet_since >= rules.clear_after_s else 1
    if level == 0 and not any(recent):
        return None
    return Memory(recent, level, raised_at, quiet_since if level else math.inf, t)


Key = TypeVar("Key", bound=Hashable)


def advance(memories: Mapping[Key, Memory], raw: Mapping[Key, int], t: float, rules: Confirmation) -> dict[Key, Memory]:
    """Every remembered pair and every pair with a raw level, one evaluation on: pairs not in
    ``raw`` step with 0. Returns the new memories (pairs with nothing left are dropped)."""
    out: dict[Key, Memory] = {}
    for key in memories.keys() | raw.keys():
        after = step(memories.get(key), raw.get(key, 0), t, rules)
        if after is not None:
            out[key] = after
    return out
