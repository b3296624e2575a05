"""Alerts judged against what the aircraft then actually did (``deconline.score``), one column per run.

    .venv/bin/python bench/bench_alerts.py [--recording PATH ...] [--rows NAME=FILE ...] [--out FILE]

Without ``--rows``, two runs side by side in this process, at the service's period (1 s): *before*,
the raw detector as the service alerted before alerting was set apart from separation (every
conflict within the 300 s look-ahead, no levels, no confirmation: ``replay --raw``), and *now*, a
new agreement's alerting (``replay``). Each ``--rows NAME=FILE`` is instead a run read from a file:
the JSON lines of ``deconline replay`` over the recording at ``--step``. With several recordings,
write ``{stem}`` in FILE for the recording's name (``quickstart``, ``calfire``), e.g.
``--rows before=/tmp/{stem}_rows_before.jsonl``. ``score_file`` is the part other scripts call.
Defaults: the two shared recordings (``../shared/data``); writes bench/out/alerts.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from deconline.core.agreement import Agreement
from deconline.core.tactical import TacticalRules
from deconline.ingest.recordings import Recording, load_recording
from deconline.replay import replay
from deconline.score import Score, score, summary_table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RECORDINGS = ("quickstart.json.gz", "calfire.json.gz")
OUT = Path(__file__).parent / "out"
_loaded: dict[tuple[Path, float], Recording] = {}


def recording_at(path: Path) -> Recording:
    """Load once per process: quickstart takes over a second to parse, scoring it a fraction of that."""
    path = Path(path).resolve()
    key = (path, path.stat().st_mtime)
    if key not in _loaded:
        csv = path.name.endswith((".csv", ".csv.gz"))
        _loaded[key] = load_recording(path, "csv") if csv else load_recording(path, "traffic-json")
    return _loaded[key]


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The JSON lines of ``deconline replay`` (blank lines ignored)."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def score_file(recording_path: Path, rows_path: Path | None, **params: Any) -> Score:
    """Score a file of replay rows (None: no alerts at all) against a recording; ``params`` go to ``score``."""
    rows = read_rows(rows_path) if rows_path is not None else []
    return score(recording_at(recording_path), rows, **params)


def replayed(path: Path, step_s: float) -> dict[str, list[dict[str, Any]]]:
    """Before (the raw detector, as the service alerted) and now (a new agreement's alerting)."""
    recording = recording_at(path)
    agreement = Agreement(version=1, parties=["a"], h_strategic_m=1.0, v_m=0.0, time_buffer_s=0.0)
    t = agreement.tactical
    rules = TacticalRules(t.h_m, t.v_m, t.lookahead_s, agreement.max_track_age_s)
    runs = {}
    for name, alerting in (("before", None), ("now", agreement.alerting_rules)):
        began = time.perf_counter()
        runs[name] = list(replay(recording, rules, step_s, alerting=alerting))
        print(f"  {path.name} {name}: replayed in {time.perf_counter() - began:.2f} s", file=sys.stderr)
    return runs


def stem(path: Path) -> str:
    return path.name.split(".")[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recording", type=Path, action="append", help="a recording (repeat); default the shared two")
    parser.add_argument("--rows", action="append", default=[], metavar="NAME=FILE", help="a run's rows (repeat)")
    parser.add_argument("--out", type=Path, default=OUT / "alerts.json")
    parser.add_argument("--step", type=float, default=1.0, help="the rows' evaluation period, s")
    parser.add_argument("--lookahead", type=float, default=300.0)
    parser.add_argument("--hsep", type=float, default=9260.0)
    parser.add_argument("--vsep", type=float, default=304.8)
    parser.add_argument("--max-gap", type=float, default=20.0, help="no truth across report gaps longer than this")
    parser.add_argument("--merge-gap", type=float, default=0.0, help="merge real-loss runs closer than this, s")
    parser.add_argument("--levels", help="level names least to most severe, comma-separated")
    args = parser.parse_args()

    recordings = args.recording
    if not recordings:
        if not DATA.is_dir():
            print(f"no recordings: {DATA} does not exist and no --recording was given; nothing to score")
            return
        recordings = [DATA / name for name in RECORDINGS]
    runs: list[tuple[str, str]] = []
    for spec in args.rows:
        name, sep, file = spec.partition("=")
        if not sep or not name or not file:
            parser.error(f"--rows {spec!r}: expected NAME=FILE")
        runs.append((name, file))
    if len(recordings) > 1 and any("{stem}" not in file for _, file in runs):
        parser.error("with several recordings, each --rows FILE must contain {stem}")
    params: dict[str, Any] = {
        "step_s": args.step, "lookahead_s": args.lookahead, "h_m": args.hsep, "v_m": args.vsep,
        "max_gap_s": args.max_gap, "merge_gap_s": args.merge_gap,
        "levels_order": args.levels.split(",") if args.levels else None,
    }  # fmt: skip

    result: dict[str, Any] = {"params": params, "recordings": {}}
    for path in recordings:
        scores: dict[str, Score] = {}
        if not runs:
            for name, rows in replayed(path, args.step).items():
                scores[name] = score(recording_at(path), rows, **params)
        for name, file in runs:
            rows_path = Path(file.replace("{stem}", stem(path))) if file else None
            began = time.perf_counter()
            try:
                scores[name] = score_file(path, rows_path, **params)
            except (OSError, ValueError) as exc:
                sys.exit(f"{path.name}, run {name!r}: {exc}")
            print(f"  {path.name} {name}: scored in {time.perf_counter() - began:.2f} s", file=sys.stderr)
        result["recordings"][path.name] = {name: s.as_json() for name, s in scores.items()}
        print(f"\n### {path.name}\n\n{summary_table(scores)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
