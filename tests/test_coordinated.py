"""Coordinated resolution on every warning between two parties: the demo's flights and a real
recording, run offline through the alerting that replay and the service share. At the moment each
warning is first shown, the engine proposes a complementary pair of manoeuvres, and flying them
(the slow reference of tests/core/test_resolution.py) clears the conflict; or, when the pair is
already within the minima (a warning, not a loss, while within the surveillance tolerance), regains
separation when the engine says. Parties in the recording: the parity of each icao24's CRC-32."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

from deconline.core.agreement import Agreement
from deconline.core.alerting import AlertingRules, default_rules
from deconline.core.guidance import BandRules
from deconline.core.resolution import resolve
from deconline.core.tactical import DEFAULTS, TacticalRules, extrapolate
from deconline.demo import AGREEMENT
from deconline.demo_flights import CYCLE_S, fleet, fleet_states
from deconline.ingest.recordings import Recording, latest_states, load_recording
from deconline.replay import owners, replay, states
from tests.conftest import SHARED
from tests.core.test_resolution import check, distances, velocity

DATA = SHARED / "data"
STEP_S = 1.0  # the service evaluates every second


@dataclass
class Figures:
    held: int = 0  # first shown while held open: an aircraft no longer live, nothing predicted to resolve
    warnings: int = 0
    resolved: int = 0  # the pair clears the conflict over the look-ahead
    recoveries: int = 0  # no pair could: they regain separation soonest
    clear_of_others: int = 0
    # who is asked which way: (first id, its sense, second id, its sense)
    senses: list[tuple[str, str, str, str]] = field(default_factory=list, compare=False, repr=False)


def first_warnings(rows: list[dict[str, object]]) -> list[tuple[float, str, str, bool]]:
    """When each alert (an unbroken run of a pair's rows) first shows the warning level, and whether
    it has a prediction then (it has none while held open after an aircraft went stale)."""
    last: dict[tuple[str, str], float] = {}
    warned: set[tuple[str, str]] = set()
    out = []
    for row in rows:
        t, key = float(row["t"]), (str(row["a"]), str(row["b"]))  # type: ignore[arg-type]
        if last.get(key, -np.inf) < t - STEP_S - 1e-6:  # a new alert
            warned.discard(key)
        last[key] = t
        if row["level"] == "warning" and key not in warned:
            warned.add(key)
            out.append((t, *key, row["t_cpa"] is not None))
    return out


def resolve_warnings(
    recording: Recording, party_map: dict[str, str], rules: TacticalRules, alerting: AlertingRules
) -> Figures:
    """Every warning between two parties, resolved on the picture the alerting saw and checked by flying it."""
    rows = list(replay(recording, rules, STEP_S, party_map, None, alerting))
    engine = alerting.engine_rules(rules)
    bands = BandRules(rules.h_m, rules.v_m, rules.lookahead_s)
    owner = owners(recording, party_map)
    figures = Figures()
    for t, first, second, predicted in first_warnings(rows):
        if not predicted:
            figures.held += 1
            continue
        idx = latest_states(recording, t, rules.max_track_age_s)
        s = extrapolate(states(recording, owner, idx), t, engine.max_track_age_s, engine.level_rate_mps)
        ids = [str(i) for i in recording.ids[idx][s.index]]
        a, b = ids.index(first), ids.index(second)
        assert party_map[first] != party_map[second], "alerts are between two parties"
        figures.warnings += 1
        r = resolve(s, a, b, bands)
        assert r is not None, (t, first, second)
        check(s, a, b, r, bands)
        if r.recovery_s is not None:  # only when no pair can clear it: already within the minima now
            _, h, v = distances(s, a, b, velocity(s, a, None), velocity(s, b, None), bands)
            assert h[0] < bands.h_m and v[0] < bands.v_m, (t, first, second)
        figures.resolved += r.recovery_s is None
        figures.recoveries += r.recovery_s is not None
        figures.clear_of_others += r.clear_of_others
        figures.senses.append((first, r.a.sense, second, r.b.sense))
    return figures


def demo_recording() -> Recording:
    """The demo's aircraft over one lap and a little, reporting every second as their feeders do."""
    epoch = 1_700_000_000.0
    reports = sorted(
        (s for tau in range(int(CYCLE_S) + 20) for s in fleet_states(epoch + tau, epoch)),
        key=lambda s: (s.time_s, s.track_id),
    )

    def column(name: str) -> np.ndarray:
        return np.array([getattr(s, name) for s in reports])

    return Recording(
        column("time_s"), column("track_id"), column("lat"), column("lon"), column("alt_m"), column("gs_mps"),
        column("track_deg"), column("vrate_mps"), skipped={}, total=len(reports),
    )  # fmt: skip


def test_every_warning_of_the_demo_is_resolved() -> None:
    agreement = Agreement.model_validate(AGREEMENT)
    t = agreement.tactical
    rules = TacticalRules(t.h_m, t.v_m, t.lookahead_s, agreement.max_track_age_s)
    parties = {a.track_id: a.party for a in fleet()}
    figures = resolve_warnings(demo_recording(), parties, rules, agreement.alerting_rules)
    print(f"demo: {figures}")
    assert figures == Figures(held=0, warnings=1, resolved=1, recoveries=0, clear_of_others=1)
    assert figures.senses == [("SHELL71", "left", "VIPER11", "right")]  # the tanker, north of the patrol, turns away


def by_parity(ids: np.ndarray) -> dict[str, str]:
    """Two parties by the parity of the CRC-32 of the icao24 (stable across runs, unlike ``hash``)."""
    return {str(i): ("odd" if zlib.crc32(str(i).encode()) % 2 else "even") for i in np.unique(ids)}


@pytest.mark.skipif(not (DATA / "quickstart.json.gz").exists(), reason=f"needs the shared recordings in {DATA}")
def test_every_warning_of_quickstart_between_two_parties_is_resolved() -> None:
    recording = load_recording(DATA / "quickstart.json.gz", "traffic-json")
    figures = resolve_warnings(recording, by_parity(recording.ids), DEFAULTS, default_rules(DEFAULTS.h_m, DEFAULTS.v_m))
    print(f"quickstart.json.gz: {figures}")
    assert figures.warnings > 20 and figures.resolved + figures.recoveries == figures.warnings
