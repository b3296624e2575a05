"""Replaying a recording through the tactical engine: one JSON line per time and pair in conflict.

With ``guidance``, each row also carries both aircraft's guidance at that time (``core.guidance``,
against every other aircraft of the recording then): ``"guidance": {id: {"track_deg": [[from, to,
state], ...], "gs_mps": ..., "vs_mps": ..., "alt_m": ...}}``, one entry per aircraft of the pair,
``null`` for one with no live track then. Each dimension's candidates in ascending runs, ``state``
``"free"``, ``"conflict"`` or ``"recovery"`` (every candidate conflicts; these regain separation
soonest while keeping the widest miss); track in degrees, speeds in m/s, level in metres.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import orjson

from deconline.core.alerting import AlertingRules, Memory, advance, raw_level
from deconline.core.tactical import Conflicts, TacticalRules, Thresholds, Tracks, detect_many, extrapolate, rows
from deconline.ingest.recordings import Recording, latest_states, latest_states_at


@dataclass
class ReplaySummary:
    evaluations: int = 0
    conflict_rows: int = 0
    los_rows: int = 0
    pairs: set[tuple[str, str]] = field(default_factory=set)
    los_pairs: set[tuple[str, str]] = field(default_factory=set)


def read_party_map(path: Path) -> dict[str, str]:
    """A JSON object {icao24: party} or a CSV/text file of 'icao24,party' lines."""
    text = path.read_text()
    if text.lstrip().startswith("{"):
        mapping = json.loads(text)
        if not isinstance(mapping, dict):
            raise ValueError(f"{path}: expected an object of icao24 -> party")
        return {str(k).lower(): str(v) for k, v in mapping.items()}
    pairs = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#") or line.lower().startswith("icao24"):
            continue
        icao, _, party = line.partition(",")
        if not party:
            raise ValueError(f"{path}:{number}: expected 'icao24,party'")
        pairs[icao.strip().lower()] = party.strip()
    return pairs


def evaluation_times(recording: Recording, step_s: float) -> np.ndarray:
    """From the first timestamp rounded up to a multiple of the step, every step to the last."""
    if len(recording.time_s) == 0:
        return np.zeros(0)
    first = math.ceil(float(recording.time_s[0]) / step_s - 1e-9) * step_s  # no float rounding past an exact multiple
    last = float(recording.time_s[-1])
    times = np.arange(first, last + step_s / 2, step_s)
    return times[times <= last]


def states(recording: Recording, owner: np.ndarray, idx: np.ndarray) -> Tracks:
    """The engine's columns for the reports at ``idx`` (``owner``: every report's owner code)."""
    return Tracks(
        recording.lat[idx], recording.lon[idx], recording.alt_m[idx], recording.gs_mps[idx],
        recording.track_deg[idx], recording.vrate_mps[idx], recording.time_s[idx], owner[idx],
    )  # fmt: skip


def owners(recording: Recording, party_map: dict[str, str] | None) -> np.ndarray:
    """Integer owner codes: each aircraft its own party unless a map says otherwise."""
    labels = recording.ids if party_map is None else np.array([party_map.get(i, i) for i in recording.ids])
    _, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64)


PICTURES_AT_ONCE = 256  # evaluation times handed to the engine together


def replay(
    recording: Recording,
    rules: TacticalRules,
    step_s: float,
    party_map: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    alerting: AlertingRules | None = None,
    guidance: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield one record per evaluation time and pair, ``a < b`` by id, times in order: with
    ``alerting``, every pair in a confirmed alert, as the service's evaluator shows it (the same
    state machine); without, every pair the raw state-based detector finds in conflict. With
    ``guidance``, each record carries both aircraft's guidance (the module's docstring)."""
    if guidance:
        engine = rules if alerting is None else alerting.engine_rules(rules)
        yield from _guided(replay(recording, rules, step_s, party_map, progress, alerting), recording, engine)
        return
    times = evaluation_times(recording, step_s)
    if alerting is None:
        for k, found, ids in _pictures(recording, times, rules, party_map, progress, ()):
            yield from _raw_rows(found, ids, float(times[k]))
        return
    levels = alerting.thresholds()
    rules = alerting.engine_rules(rules)
    memories: dict[tuple[str, str], Memory] = {}
    done = 0
    pictures = _pictures(recording, times, rules, party_map, progress, levels)
    end: list[tuple[int, Conflicts | None, np.ndarray | None]] = [(len(times), None, None)]
    for k, picture, names in itertools.chain(pictures, end):
        for quiet in range(done, k):  # nothing predicted: open alerts age until they clear
            if not memories:
                break
            memories = advance(memories, {}, float(times[quiet]), alerting.confirmation)
            yield from _alert_rows(memories, {}, None, float(times[quiet]), alerting)
        if picture is None or names is None:
            break
        done, t = k + 1, float(times[k])
        seen = _by_pair(picture, names)
        raw = {}
        for key, (row, los) in seen.items():
            memory = memories.get(key)
            shown = memory.level if memory else 0
            raw[key] = len(levels) if los else raw_level(picture.t_in[row], alerting.levels, shown)
        memories = advance(memories, raw, t, alerting.confirmation)
        yield from _alert_rows(memories, seen, picture, t, alerting)


def _pictures(
    recording: Recording,
    times: np.ndarray,
    rules: TacticalRules,
    party_map: dict[str, str] | None,
    progress: Callable[[int, int], None] | None,
    levels: tuple[Thresholds, ...],
) -> Iterator[tuple[int, Conflicts, np.ndarray]]:
    """For each evaluation time (its index) at which the engine finds something, what it finds on
    the latest states, with the ids its indices point to."""
    owner = owners(recording, party_map)
    # Every time's latest states at once; times with fewer than two aircraft cannot have a pair, so a
    # long recording with quiet hours costs nothing for them.
    members, at = latest_states_at(recording, times, rules.max_track_age_s)
    sizes = np.diff(at)
    busy = np.flatnonzero(sizes >= 2)
    for begin in range(0, len(busy), PICTURES_AT_ONCE):
        chosen = busy[begin : begin + PICTURES_AT_ONCE]
        idx = np.concatenate([members[at[k] : at[k + 1]] for k in chosen])
        bounds = np.concatenate([[0], np.cumsum(sizes[chosen])]).astype(np.int64)
        found = detect_many(states(recording, owner, idx), times[chosen], bounds, rules, levels)
        ids = recording.ids[idx]
        cuts = np.searchsorted(found.a, bounds)  # results are ordered by picture
        for g in np.flatnonzero(cuts[1:] > cuts[:-1]):
            yield int(chosen[g]), rows(found, slice(int(cuts[g]), int(cuts[g + 1]))), ids
        if progress is not None:
            progress(int(chosen[-1]) + 1, len(times))
    if progress is not None and len(times):
        progress(len(times), len(times))


def _pair(ids: np.ndarray, a: int, b: int) -> tuple[str, str]:
    first, second = str(ids[a]), str(ids[b])
    return (first, second) if first < second else (second, first)


def _by_pair(found: Conflicts, ids: np.ndarray) -> dict[tuple[str, str], tuple[int, bool]]:
    return {_pair(ids, int(found.a[k]), int(found.b[k])): (k, bool(found.los[k])) for k in range(len(found))}


def _rounded(value: float, digits: int) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def _geometry(found: Conflicts, k: int) -> dict[str, Any]:
    return {
        "t_los": _rounded(float(found.t_los[k]), 3),
        "t_cpa": round(float(found.t_cpa[k]), 3),
        "d_cpa_m": round(float(found.d_cpa_m[k]), 1),
        "dz_cpa_m": round(float(found.dz_cpa_m[k]), 1),
    }


def _time(t: float) -> float | int:
    return int(t) if t.is_integer() else t


def _raw_rows(found: Conflicts, ids: np.ndarray, t: float) -> list[dict[str, Any]]:
    """The raw detector's records at one time, by the pair's ids."""
    out = [
        {"t": _time(t), "a": a, "b": b, **_geometry(found, k), "los": los}
        for (a, b), (k, los) in _by_pair(found, ids).items()
    ]
    return sorted(out, key=lambda r: (r["a"], r["b"]))


def _alert_rows(
    memories: dict[tuple[str, str], Memory],
    seen: dict[tuple[str, str], tuple[int, bool]],
    found: Conflicts | None,
    t: float,
    alerting: AlertingRules,
) -> list[dict[str, Any]]:
    """The confirmed alerts at one time, by the pair's ids; an alert held open while it clears has
    no prediction to show."""
    out = []
    for (a, b), memory in sorted(memories.items()):
        if memory.level:
            k, los = seen.get((a, b), (-1, False))
            if found is None or k < 0:  # held open: nothing predicted now
                geometry = dict.fromkeys(("t_los", "t_cpa", "d_cpa_m", "dz_cpa_m"))
            else:
                geometry = _geometry(found, k)
            out.append(
                {"t": _time(t), "a": a, "b": b, "level": alerting.name(memory.level, los), **geometry, "los": los}
            )
    return out


GUIDANCE_DIGITS = {"track_deg": 2, "gs_mps": 2, "vs_mps": 3, "alt_m": 1}  # as the service shows them


def _guided(records: Iterator[dict[str, Any]], recording: Recording, rules: TacticalRules) -> Iterator[dict[str, Any]]:
    """The records, each with both aircraft's guidance: one batched pass per evaluation time over
    the picture the engine saw then (the same latest states, extrapolated the same way)."""
    from deconline.core.guidance import BandRules, guidance_many  # numpy-heavy: only when asked for

    band_rules = BandRules(rules.h_m, rules.v_m, rules.lookahead_s)
    owner = np.zeros(len(recording.time_s), dtype=np.int64)  # parties play no part in guidance
    for t, group in itertools.groupby(records, key=lambda r: r["t"]):
        rows_now = list(group)
        idx = latest_states(recording, float(t), rules.max_track_age_s)
        s = extrapolate(states(recording, owner, idx), float(t), rules.max_track_age_s, rules.level_rate_mps)
        names = [str(name) for name in recording.ids[idx][s.index]]
        where = {name: k for k, name in enumerate(names)}
        wanted = sorted({where[i] for r in rows_now for i in (r["a"], r["b"]) if i in where})
        shown = {
            names[k]: {
                dim: [[round(r.lo, digits), round(r.hi, digits), _state(r.conflict, r.recovery)]
                      for r in getattr(found, dim)]
                for dim, digits in GUIDANCE_DIGITS.items()
            }
            for k, found in zip(wanted, guidance_many(s, wanted, band_rules), strict=True)
        }  # fmt: skip
        for row in rows_now:
            yield {**row, "guidance": {i: shown.get(i) for i in (row["a"], row["b"])}}


def _state(conflict: bool, recovery: bool) -> str:
    return "recovery" if recovery else "conflict" if conflict else "free"


def run(records: Iterator[dict[str, Any]], sink: TextIO) -> ReplaySummary:
    """Write the records as JSON lines (orjson: a replay at 1 s writes tens of thousands)."""
    summary = ReplaySummary()
    for record in records:
        sink.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE).decode())
        summary.conflict_rows += 1
        summary.pairs.add((record["a"], record["b"]))
        if record["los"]:
            summary.los_rows += 1
            summary.los_pairs.add((record["a"], record["b"]))
    return summary
