"""Guidance for every alert of one evaluation: the batched pass (``guidance_many``) beside one
``bands`` call per ownship (the service's path before it), on the same pictures, same answers.

    .venv/bin/python bench/bench_guidance.py [--repeats 7] [--hazards 3] [--before REV]

Rows:
- 10,000 aircraft (bench_tactical's random en-route traffic: one per 100 km^2, 50-300 m/s, climbing
  and descending up to 15 m/s) with 100 alerts (the first 100 conflicting pairs the tactical engine
  finds): 100 ownships (one side of each alert), then 200 (both sides), with ``--hazards`` circular
  hazards spread over the traffic.
- A realistic size: the evaluation times of ``quickstart.json.gz`` (../shared/data) that have
  alerts, replayed at 10 s with a new agreement's alerting; both aircraft of each alert, against the
  tens of aircraft around then (mean per evaluation). Without the recording: 50 synthetic aircraft,
  their 4 most conflicted. Times are the best of ``--repeats`` runs (the machine is shared).
``--before REV`` also times the per-ownship loop of ``deconline/core/guidance.py`` as it was at git
revision ``REV`` (without hazards, which it did not know). Writes bench/out/guidance.json.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from bench_tactical import RULES as TACTICAL
from bench_tactical import T0, random_traffic
from shapely.geometry import Point

from deconline.core.guidance import BandRules, Bands, bands, guidance_many, ownship, traffic_around
from deconline.core.tactical import Extrapolated, detect, extrapolate
from deconline.core.volumes import Volume

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).parent / "out"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RULES = BandRules(TACTICAL.h_m, TACTICAL.v_m, TACTICAL.lookahead_s)
Picture = tuple[Extrapolated, list[int], float]  # a picture, its ownships, its time


def best(run: Callable[[], object], repeats: int) -> float:
    """The best of ``repeats`` runs, seconds."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def one_by_one(s: Extrapolated, owns: Sequence[int], hazards: Sequence[Volume], now: float) -> list[Bands]:
    return [bands(ownship(s, i), traffic_around(s, i), RULES, hazards, now) for i in owns]


def before(rev: str) -> ModuleType:
    """``deconline/core/guidance.py`` as it was at git revision ``rev``, as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{rev}:deconline/core/guidance.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = ModuleType("guidance_before")
    sys.modules[module.__name__] = module  # its dataclasses look their module up
    exec(compile(source, f"{rev}:deconline/core/guidance.py", "exec"), module.__dict__)
    return module


def hazards_over(s: Extrapolated, count: int, now: float) -> list[Volume]:
    """Circles of 20 km at evenly spaced aircraft, FL0-FL200, active over the look-ahead."""
    picks = np.linspace(0, len(s.lat) - 1, count + 2)[1:-1].astype(int)
    return [
        Volume(Point(math.degrees(s.lon[k]), math.degrees(s.lat[k])), 20_000.0, 0.0, 6000.0, now - 60, now + 3600)
        for k in picks
    ]


def dense(alerts: int) -> tuple[Extrapolated, list[tuple[int, int]]]:
    """bench_tactical's 10,000 aircraft and its first ``alerts`` conflicting pairs."""
    tracks = random_traffic(10_000)
    s = extrapolate(tracks, T0, TACTICAL.max_track_age_s)
    found = detect(tracks, T0, TACTICAL)
    return s, [(int(a), int(b)) for a, b in zip(found.a[:alerts], found.b[:alerts], strict=True)]


def realistic(limit: int) -> tuple[str, list[Picture]]:
    """Each alerting evaluation time of the quickstart recording (at most ``limit``), or a synthetic one."""
    path = DATA / "quickstart.json.gz"
    if not path.exists():
        print(f"  no {path}: 50 synthetic aircraft instead", file=sys.stderr)
        tracks = random_traffic(50, seed=3)
        s = extrapolate(tracks, T0, TACTICAL.max_track_age_s)
        found = detect(tracks, T0, TACTICAL)
        owns = sorted({int(i) for i in np.concatenate([found.a, found.b])})[:4] or [0, 1]
        return "50 synthetic aircraft", [(s, owns, T0)]
    from deconline.core.alerting import default_rules
    from deconline.core.tactical import DEFAULTS
    from deconline.ingest.recordings import latest_states, load_recording
    from deconline.replay import owners, replay, states

    recording = load_recording(path, "traffic-json")
    rows = list(replay(recording, DEFAULTS, 10.0, None, None, default_rules(DEFAULTS.h_m, DEFAULTS.v_m)))
    by_time: dict[float, set[str]] = {}
    for row in rows:
        by_time.setdefault(float(row["t"]), set()).update((row["a"], row["b"]))
    owner = owners(recording, None)
    pictures = []
    for t, ids in list(by_time.items())[:: max(1, len(by_time) // limit)]:
        idx = latest_states(recording, t, DEFAULTS.max_track_age_s)
        s = extrapolate(states(recording, owner, idx), t, DEFAULTS.max_track_age_s)
        names = [str(n) for n in recording.ids[idx][s.index]]
        owns = sorted(names.index(i) for i in ids if i in names)
        if owns:
            pictures.append((s, owns, t))
    return "quickstart.json.gz", pictures


def compare(
    label: str, pictures: list[Picture], hazards: int, repeats: int, old: ModuleType | None
) -> dict[str, object]:
    """Both paths on each picture: the same answers, and the mean time per picture of each."""
    batched, looped, earlier = [], [], []
    for n, (s, owns, now) in enumerate(pictures, 1):
        areas = hazards_over(s, hazards, now) if hazards else []
        assert guidance_many(s, owns, RULES, areas, now) == one_by_one(s, owns, areas, now), label
        batched.append(best(lambda: guidance_many(s, owns, RULES, areas, now), repeats))  # noqa: B023
        looped.append(best(lambda: one_by_one(s, owns, areas, now), max(1, repeats // 2)))  # noqa: B023
        if old is not None:
            rules: Any = old.BandRules(RULES.h_m, RULES.v_m, RULES.lookahead_s)
            loop = lambda: [old.bands(old.ownship(s, i), old.traffic_around(s, i), rules) for i in owns]  # noqa: B023, E731
            earlier.append(best(loop, max(1, repeats // 2)))
        if n % 10 == 0 or n == len(pictures):
            print(f"\r  {label}: {n}/{len(pictures)} pictures", end="", file=sys.stderr)
    print(file=sys.stderr)
    many, each = statistics.mean(batched), statistics.mean(looped)
    extra = {"before_ms": round(statistics.mean(earlier) * 1000, 2)} if earlier else {}
    return {
        "scene": label,
        "aircraft": round(statistics.mean(len(s.lat) for s, _, _ in pictures)),
        "ownships": round(statistics.mean(len(o) for _, o, _ in pictures), 1),
        "hazards": hazards,
        "pictures": len(pictures),
        "guidance_many_ms": round(many * 1000, 2),
        "bands_loop_ms": round(each * 1000, 2),
        "ratio": round(each / many, 1),
        **extra,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="runs per measurement (the best is kept)")
    parser.add_argument("--hazards", type=int, default=3, help="hazards in the 10,000-aircraft scene")
    parser.add_argument("--pictures", type=int, default=60, help="evaluation times of the recording at most")
    parser.add_argument("--before", metavar="REV", help="also time guidance.py of this git revision, one by one")
    args = parser.parse_args()
    old = before(args.before) if args.before else None
    print("10,000 aircraft: the picture and its first 100 alerts", file=sys.stderr)
    s, alerts = dense(100)
    one_side = [a for a, _ in alerts]
    both = sorted({i for pair in alerts for i in pair})
    rows = [
        compare("10,000 aircraft, 100 alerts, one side", [(s, one_side, T0)], args.hazards, args.repeats, old),
        compare("10,000 aircraft, 100 alerts, both sides", [(s, both, T0)], args.hazards, args.repeats, old),
    ]
    print("realistic: the recording's alerting evaluations", file=sys.stderr)
    label, pictures = realistic(args.pictures)
    rows.append(compare(label, pictures, 0, args.repeats, old))
    OUT.mkdir(exist_ok=True)
    (OUT / "guidance.json").write_text(json.dumps({"guidance": rows}, indent=2) + "\n")
    then = f" | {args.before}, one by one, no hazards" if old else ""
    print(f"| scene | aircraft | ownships | hazards | guidance_many | bands per ownship | ratio{then} |")
    print("| --- " * (8 if old else 7) + "|")
    for r in rows:
        pictures_note = f" (mean of {r['pictures']} evaluations)" if r["pictures"] != 1 else ""
        print(
            f"| {r['scene']}{pictures_note} | {r['aircraft']:,} | {r['ownships']} | {r['hazards']} "
            f"| {r['guidance_many_ms']} ms | {r['bands_loop_ms']} ms | {r['ratio']}x"
            + (f" | {r['before_ms']} ms |" if old else " |")
        )


if __name__ == "__main__":
    main()
