"""Replaying a recording through the tactical engine: one JSON line per time and pair in conflict."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from deconline.core.tactical import Conflicts, TacticalRules, Tracks, detect_many
from deconline.ingest.recordings import Recording, latest_states


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
) -> Iterator[dict[str, Any]]:
    """Yield one record per evaluation time and pair in conflict, ``a < b`` by id, times in order."""
    owner = owners(recording, party_map)
    times = evaluation_times(recording, step_s)
    # Times whose window holds fewer than two reports cannot have a pair: found for all times at
    # once, so a long recording with quiet hours costs nothing for them.
    first = np.searchsorted(recording.time_s, times - rules.max_track_age_s, side="left")
    last = np.searchsorted(recording.time_s, times, side="right")
    busy = np.flatnonzero(last - first >= 2)
    for begin in range(0, len(busy), PICTURES_AT_ONCE):
        chosen = busy[begin : begin + PICTURES_AT_ONCE]
        pictures = [latest_states(recording, float(times[k]), rules.max_track_age_s) for k in chosen]
        idx = np.concatenate(pictures)
        bounds = np.concatenate([[0], np.cumsum([len(p) for p in pictures])]).astype(np.int64)
        tracks = states(recording, owner, idx)
        found = detect_many(tracks, times[chosen], bounds, rules)
        yield from _rows(found, recording.ids[idx], times[chosen], bounds)
        if progress is not None:
            progress(int(chosen[-1]) + 1, len(times))
    if progress is not None and len(times):
        progress(len(times), len(times))


def _rows(found: Conflicts, ids: np.ndarray, times: np.ndarray, bounds: np.ndarray) -> list[dict[str, Any]]:
    """The records of a group of pictures: by time, then by the pair's ids."""
    picture = np.searchsorted(bounds, found.a, side="right") - 1
    rows = []
    for n in range(len(found)):
        a, b = str(ids[found.a[n]]), str(ids[found.b[n]])
        if b < a:
            a, b = b, a
        t = float(times[picture[n]])
        rows.append(
            {
                "t": int(t) if t.is_integer() else t,
                "a": a,
                "b": b,
                "t_los": round(float(found.t_los[n]), 3),
                "t_cpa": round(float(found.t_cpa[n]), 3),
                "d_cpa_m": round(float(found.d_cpa_m[n]), 1),
                "dz_cpa_m": round(float(found.dz_cpa_m[n]), 1),
                "los": bool(found.los[n]),
            }
        )
    return sorted(rows, key=lambda r: (r["t"], r["a"], r["b"]))


def run(records: Iterator[dict[str, Any]], sink: TextIO) -> ReplaySummary:
    summary = ReplaySummary()
    for record in records:
        sink.write(json.dumps(record, separators=(", ", ": ")) + "\n")
        summary.conflict_rows += 1
        summary.pairs.add((record["a"], record["b"]))
        if record["los"]:
            summary.los_rows += 1
            summary.los_pairs.add((record["a"], record["b"]))
    return summary
