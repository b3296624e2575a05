"""The slow, obvious reference: every pair, the exact predicate, nothing pruned."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from deconline.core.strategic import StrategicRules, volumes_conflict
from deconline.core.volumes import Volume


def reference_conflicts(
    items: Sequence[tuple[Hashable, Volume, str]], query: Volume, rules: StrategicRules, exclude: Sequence[str] = ()
) -> set[Hashable]:
    return {key for key, volume, owner in items if owner not in exclude and volumes_conflict(query, volume, rules)}


def reference_pairs(items: Sequence[tuple[Hashable, Volume, str]], rules: StrategicRules) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i in range(len(items))
        for j in range(i + 1, len(items))
        if items[i][2] != items[j][2] and volumes_conflict(items[i][1], items[j][1], rules)
    ]
