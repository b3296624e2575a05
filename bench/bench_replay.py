"""Replays: the engine over real recordings against brute force, and ``deconline replay`` as a whole process.

    .venv/bin/python bench/bench_replay.py [--repeats 5] [--compare DIR]

1. The two shared recordings (``quickstart.json.gz``: 213 aircraft over 3 h around Paris;
   ``calfire.json.gz``: 45 firefighting aircraft over days, mostly quiet) at a 5 s and a 10 s
   step, loaded once: our replay against a plain all-pairs numpy reference at every evaluation
   time (the formula of bench_tactical's brute force), with the same rows required.
   The same recordings at the service's period, 1 s, with a new agreement's alerting (levels,
   confirmation): our replay against the obvious way, every pair at every second through the exact
   test and the same state machine, with the same rows required.
2. ``deconline replay`` timed as users run it, a whole process from start to exit (median of
   ``--repeats``): ``quickstart.json.gz`` at 1 s, the alerts, against the brute-force reference as
   a whole process too (``bench/bench_replay.py --brute-process FILE``: the recording read into
   dicts by orjson, then every pair at every second; target: ours at least 2× faster);
   ``quickstart.json.gz`` at 5 s (target ≤ 1.5 s), and snapshots of 5,000 and
   20,000 aircraft (one moment of bench_tactical's random traffic written as traffic-json;
   targets ≤ 0.6 s and ≤ 0.8 s, loading included). ``--compare DIR`` runs the same commands
   with the code checked out in DIR (e.g. a ``git worktree`` of an earlier commit) on
   ``PYTHONPATH``, side by side.

Needs ``../shared/data`` (the recordings); writes bench/out/replay.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_tactical import OUT, _block_hits, random_traffic

from deconline.core.agreement import Agreement
from deconline.core.alerting import AlertingRules, Memory, advance, raw_level
from deconline.core.tactical import TacticalRules, extrapolate, pair_conflicts
from deconline.ingest.recordings import Recording, latest_states, load_recording
from deconline.ingest.units import FPM, FT, KT
from deconline.replay import evaluation_times, owners, replay, states

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RULES = TacticalRules(h_m=9260.0, v_m=304.8, lookahead_s=300.0, max_track_age_s=20.0)
DECONLINE = Path(sys.executable).with_name("deconline")
Row = tuple[float, str, str]


def ours(recording: Recording, step_s: float) -> tuple[float, set[Row]]:
    began = time.perf_counter()
    rows = {(float(r["t"]), r["a"], r["b"]) for r in replay(recording, RULES, step_s)}
    return time.perf_counter() - began, rows


def brute(recording: Recording, step_s: float) -> tuple[float, set[Row]]:
    """Every evaluation time, every pair of its latest states, one numpy broadcast each."""
    owner = owners(recording, None)
    began = time.perf_counter()
    rows: set[Row] = set()
    for t in evaluation_times(recording, step_s):
        idx = latest_states(recording, float(t), RULES.max_track_age_s)
        if len(idx) < 2:
            continue
        tracks = states(recording, owner, idx)
        s = extrapolate(tracks, float(t), RULES.max_track_age_s)
        ids = recording.ids[idx]
        for a, b in _block_hits(s, 0, len(s.lat), RULES):
            first, second = sorted((str(ids[a]), str(ids[b])))
            rows.add((float(t), first, second))
    return time.perf_counter() - began, rows


def alerting() -> AlertingRules:
    return Agreement(version=1, parties=["a"], h_strategic_m=1.0, v_m=0.0, time_buffer_s=0.0).alerting_rules


def alert_rows(rows: object) -> set[tuple[float, str, str, str]]:
    return {(float(r["t"]), r["a"], r["b"], r["level"]) for r in rows}  # type: ignore[attr-defined]


def ours_alerts(recording: Recording) -> tuple[float, set[tuple[float, str, str, str]]]:
    began = time.perf_counter()
    rows = alert_rows(replay(recording, RULES, 1.0, alerting=alerting()))
    return time.perf_counter() - began, rows


def brute_alerts(recording: Recording) -> list[dict[str, object]]:
    """The alerts the obvious way: at every second, every pair of the latest states through the
    exact test with the levels, then the confirmation state machine."""
    rules_for = alerting()
    rules, levels = rules_for.engine_rules(RULES), rules_for.thresholds()
    owner = owners(recording, None)
    memories: dict[tuple[str, str], Memory] = {}
    out: list[dict[str, object]] = []
    for t in evaluation_times(recording, 1.0):
        idx = latest_states(recording, float(t), rules.max_track_age_s)
        raw: dict[tuple[str, str], int] = {}
        los_now: set[tuple[str, str]] = set()
        if len(idx) >= 2:
            s = extrapolate(states(recording, owner, idx), float(t), rules.max_track_age_s, rules.level_rate_mps)
            i, j = np.triu_indices(len(s.lat), 1)
            keep = s.owner[i] != s.owner[j]
            found = pair_conflicts(s, i[keep].astype(np.int64), j[keep].astype(np.int64), rules, levels)
            ids = recording.ids[idx]
            for k in range(len(found)):
                a, b = sorted((str(ids[s.index[found.a[k]]]), str(ids[s.index[found.b[k]]])))
                shown = memories[(a, b)].level if (a, b) in memories else 0
                raw[(a, b)] = len(levels) if found.los[k] else raw_level(found.t_in[k], rules_for.levels, shown)
                if found.los[k]:
                    los_now.add((a, b))
        if not raw and not memories:
            continue
        memories = advance(memories, raw, float(t), rules_for.confirmation)
        for (a, b), memory in sorted(memories.items()):
            if memory.level:
                out.append({"t": float(t), "a": a, "b": b, "level": rules_for.name(memory.level, (a, b) in los_now)})
    return out


def recordings_table() -> list[dict[str, object]]:
    results = []
    for name in ("quickstart.json.gz", "calfire.json.gz"):
        began = time.perf_counter()
        recording = load_recording(DATA / name, "traffic-json")
        load_s = time.perf_counter() - began
        for step in (5.0, 10.0):
            ours_s, ours_rows = min((ours(recording, step) for _ in range(3)), key=lambda r: r[0])
            brute_s, brute_rows = brute(recording, step)
            results.append(
                {"recording": name, "step_s": step, "load_s": round(load_s, 2), "ours_s": round(ours_s, 3),
                 "brute_s": round(brute_s, 2), "ratio": round(brute_s / ours_s, 1), "rows": len(ours_rows),
                 "same_rows": ours_rows == brute_rows}
            )  # fmt: skip
            print(f"  {results[-1]}", file=sys.stderr)
        ours_s, ours_rows = min((ours_alerts(recording) for _ in range(3)), key=lambda r: r[0])
        began = time.perf_counter()
        brute_rows = alert_rows(brute_alerts(recording))
        brute_s = time.perf_counter() - began
        results.append(
            {"recording": f"{name}, alerts", "step_s": 1.0, "load_s": round(load_s, 2), "ours_s": round(ours_s, 3),
             "brute_s": round(brute_s, 2), "ratio": round(brute_s / ours_s, 1), "rows": len(ours_rows),
             "same_rows": ours_rows == brute_rows}
        )  # fmt: skip
        print(f"  {results[-1]}", file=sys.stderr)
    return results


def snapshot(n: int, path: Path) -> None:
    """One moment of bench_tactical's traffic as a traffic-json recording (feet, knots, ft/min)."""
    t = random_traffic(n)
    records = [
        {"timestamp": int(t.time_s[k] * 1000), "icao24": f"{k:06x}", "latitude": float(t.lat[k]),
         "longitude": float(t.lon[k]), "altitude": float(t.alt_m[k] / FT), "groundspeed": float(t.gs_mps[k] / KT),
         "track": float(t.track_deg[k]), "vertical_rate": float(t.vrate_mps[k] / FPM)}
        for k in range(n)
    ]  # fmt: skip
    path.write_text(json.dumps(records))


def whole_process(args: list[str], repeats: int, pythonpath: str | None) -> float:
    """Median wall time of ``deconline ARGS`` from start to exit."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([str(DECONLINE), *args], env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def brute_process(path: Path, out: Path) -> None:
    """The brute-force reference as a whole process: the recording read into dicts (orjson), then
    :func:`brute_alerts`; one JSON line per row."""
    from deconline.ingest.recordings import _assemble, _generic_json_columns, _read_bytes

    raw, total, bad = _generic_json_columns(_read_bytes(path), path)
    recording = _assemble(raw, total, bad, ms_only=True)
    with out.open("w") as sink:
        for row in brute_alerts(recording):
            sink.write(json.dumps(row) + "\n")


def brute_vs_ours(repeats: int) -> dict[str, object]:
    """``deconline replay`` of quickstart at 1 s against the brute-force reference, both whole processes."""
    with tempfile.TemporaryDirectory() as tmp:
        path, out = DATA / "quickstart.json.gz", str(Path(tmp) / "out.jsonl")
        ours_s = whole_process(["replay", str(path), "--step", "1", "--out", out], repeats, None)
        command = [sys.executable, __file__, "--brute-process", str(path), "--out", out]
        times = []
        for _ in range(max(1, repeats // 2)):
            began = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True)
            times.append(time.perf_counter() - began)
        brute_s = statistics.median(times)
    row = {"case": "quickstart.json.gz at 1 s, alerts", "now_s": round(ours_s, 2), "brute_s": round(brute_s, 2),
           "ratio": round(brute_s / ours_s, 1), "target": "≥ 2×"}  # fmt: skip
    print(f"  {row}", file=sys.stderr)
    return row


def processes_table(repeats: int, compare: str | None) -> list[dict[str, object]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cases: list[tuple[str, list[str], float]] = [
            ("quickstart.json.gz at 5 s", ["replay", str(DATA / "quickstart.json.gz"), "--step", "5"], 1.5)
        ]
        for n, target in ((5_000, 0.6), (20_000, 0.8)):
            path = Path(tmp) / f"snapshot-{n}.json"
            snapshot(n, path)
            cases.append((f"snapshot of {n:,} aircraft", ["replay", str(path), "--step", "10"], target))
        for what, command, target in cases:
            out = str(Path(tmp) / "out.jsonl")
            row: dict[str, object] = {"case": what, "target_s": target}
            row["now_s"] = round(whole_process([*command, "--out", out], repeats, None), 2)
            if compare:
                row["compared_s"] = round(whole_process([*command, "--out", out], repeats, compare), 2)
                row["ratio"] = round(float(row["compared_s"]) / float(row["now_s"]), 1)  # type: ignore[arg-type]
            results.append(row)
            print(f"  {row}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="runs of each whole process (the median is kept)")
    parser.add_argument("--compare", help="a checkout of other code, run side by side via PYTHONPATH")
    parser.add_argument("--brute-process", type=Path, help="run the brute-force reference on this recording and exit")
    parser.add_argument("--out", type=Path, default=Path(os.devnull), help="with --brute-process: its rows")
    args = parser.parse_args()
    if args.brute_process:
        brute_process(args.brute_process, args.out)
        return
    if not DATA.is_dir():
        sys.exit(f"no recordings at {DATA}: this benchmark needs the shared data")
    print("recordings, in process:", file=sys.stderr)
    recordings = recordings_table()
    print("whole processes:", file=sys.stderr)
    processes = processes_table(args.repeats, args.compare)
    against_brute = brute_vs_ours(args.repeats)
    OUT.mkdir(exist_ok=True)
    everything = {"recordings": recordings, "processes": processes, "against_brute": against_brute}
    (OUT / "replay.json").write_text(json.dumps(everything, indent=2))
    print("| recording | step | load | ours | brute force | ratio | rows | same rows |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in recordings:
        print(
            f"| {r['recording']} | {r['step_s']:g} s | {r['load_s']} s | {r['ours_s']} s | {r['brute_s']} s "
            f"| {r['ratio']}× | {r['rows']:,} | {r['same_rows']} |"
        )
    print()
    print("| `deconline replay`, whole process | now | " + ("compared | ratio | " if args.compare else "") + "target |")
    print("| --- | --- | " + ("--- | --- | " if args.compare else "") + "--- |")
    for r in processes:
        compared = f"{r['compared_s']} s | {r['ratio']}× | " if args.compare else ""
        print(f"| {r['case']} | {r['now_s']} s | {compared}≤ {r['target_s']} s |")
    print()
    print("| whole process | `deconline replay` | brute force | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    b = against_brute
    print(f"| {b['case']} | {b['now_s']} s | {b['brute_s']} s | {b['ratio']}× | {b['target']} |")
    if any(not r["same_rows"] for r in recordings):
        sys.exit("MISMATCH: the replay's rows differ from brute force")


if __name__ == "__main__":
    main()
