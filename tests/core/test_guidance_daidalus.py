"""Our bands against NASA DAIDALUS's own, in its CD3D configuration with our minima and look-ahead
(tests/data/daidalus: its outputs, kept as data, and the script that made them).

The states are DAIDALUS's own (its frame), so this checks the bands, not the projection. Where
DAIDALUS computes recovery bands (every candidate of a dimension in conflict) we have none yet:
those dimensions are counted and left out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deconline.core.guidance import FPM, KT, BandRules, Ownship, Range, Traffic, bands

DATA = Path(__file__).resolve().parents[1] / "data" / "daidalus"
RULES = BandRules(h_m=5 * 1852.0, v_m=1000 * 0.3048, lookahead_s=300.0)
STEPS = {"hdir": 1.0, "hs": 5 * KT, "vs": 100 * FPM, "alt": 100 * 0.3048}
OURS = {"hdir": "track_deg", "hs": "gs_mps", "vs": "vs_mps", "alt": "alt_m"}


def encounter(step: dict[str, Any]) -> tuple[Ownship, Traffic]:
    own = step["ownship"]
    ox, oy, _ = own["s"]
    others = step["traffic"]
    cols = [[a["s"][0] - ox, a["s"][1] - oy, a["s"][2], *a["v"]] for a in others]
    traffic = Traffic(*(np.array(c, dtype=np.float64) for c in zip(*cols, strict=True)))
    return Ownship(own["s"][2], own["gs"], own["trk_deg"], own["vs"]), traffic


def their_answer(intervals: list[list[Any]], value: float, step: float) -> bool | None:
    """DAIDALUS's answer for one candidate (True: in conflict), or None within a step of an edge
    between a conflict and a free interval (where one step of rounding decides)."""
    regions = {r for lo, hi, r in intervals if lo - step <= value <= hi + step}
    if len(regions) == 1:
        return regions.pop() != "NONE"
    return None


def disagreements(ours: list[Range], intervals: list[list[Any]], step: float) -> list[float]:
    wrong = []
    for lo, hi, conflict in ours:
        for value in np.arange(lo, hi + step / 2, step):
            theirs = their_answer(intervals, float(value), step)
            if theirs is not None and theirs != conflict:
                wrong.append(float(value))
    return wrong


@pytest.mark.parametrize("name", ["H1.json", "C1_0_120.json", "random.json"])
def test_the_same_bands_as_daidalus_within_one_step(name: str) -> None:
    steps = json.loads((DATA / name).read_text())
    compared = recovery = 0
    for step in steps:
        own, traffic = encounter(step)
        found = bands(own, traffic, RULES)
        for kind, intervals in step["bands"].items():
            if step.get("recovery", {}).get(kind, {}).get("time") == 0:
                # In loss of separation now: DAIDALUS names the altitudes that are clear at once RECOVERY.
                intervals = [[lo, hi, "NONE" if region == "RECOVERY" else region] for lo, hi, region in intervals]
            elif any(region == "RECOVERY" for _, _, region in intervals):
                recovery += 1  # every candidate conflicts: DAIDALUS's recovery bands (not ours yet)
                ours = getattr(found, OURS[kind])
                assert all(conflict for _, _, conflict in ours), (name, step["time"], kind, ours, intervals)
                continue
            wrong = disagreements(getattr(found, OURS[kind]), intervals, STEPS[kind])
            assert wrong == [], (name, step["time"], kind, wrong[:5], intervals)
            compared += 1
    assert compared > len(steps)  # most dimensions of most steps were compared
    print(f"{name}: {compared} dimension-steps compared, {recovery} left to recovery bands")


def test_the_data_says_what_it_is() -> None:
    readme = (DATA / "README.md").read_text()
    assert "DAIDALUS" in readme and math.isfinite(len(readme))
