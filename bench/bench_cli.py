"""Start-up of the ``deconline`` command: whole processes, as a user or a script runs it (issue 14).

    .venv/bin/python bench/bench_cli.py [--runs 10] [--compare REV]

Times ``deconline --help``, ``deconline op --help``, and three commands that work offline on tiny
inputs, where start-up is nearly all there is: ``replay`` (two aircraft, two reports),
``conflicts`` (two volumes) and ``record verify`` (the demo scenario's record, exported once in
setup). Each is a new process; the median of ``--runs`` runs is reported, after one unmeasured
run (it writes the byte-code caches). "now" is this checkout's working tree. Targets: ``--help``
(and, taken as the same, ``op --help``) ≤ 0.25 s; the three offline commands ≤ 0.35 s.

``--compare REV`` also runs every command with the code of git revision REV, checked out with
``git worktree add`` into a temporary directory (removed afterwards) and put first on
``PYTHONPATH``; the two alternate run by run, so both see the same load. Prints a markdown table
and writes bench/out/cli.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"
REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Command:
    name: str
    args: list[str]
    target_s: float


def commands(work: Path) -> list[Command]:
    """The issue's commands, on inputs so small that the process's start-up is what is timed."""
    minima = ["--hsep", "5000", "--vsep", "300", "--time-buffer", "0"]
    return [
        Command("deconline --help", ["--help"], 0.25),
        Command("deconline op --help", ["op", "--help"], 0.25),
        Command(
            "deconline replay (2 reports)",
            ["replay", str(work / "tiny.csv"), "--format", "csv", "--out", str(work / "replay.jsonl")],
            0.35,
        ),
        Command(
            "deconline conflicts (2 volumes)",
            ["conflicts", "--operations", str(work / "ops.geojson"), *minima, "--out", str(work / "conflicts.jsonl")],
            0.35,
        ),
        Command(
            "deconline record verify (demo record)",
            ["record", "verify", str(work / "demo.bundle"), "--key", str(work / "verifier.key")],
            0.35,
        ),
    ]


def make_inputs(work: Path) -> None:
    """A two-aircraft CSV recording, two planned volumes, and a bundle of the demo's whole record."""
    (work / "tiny.csv").write_text(
        "timestamp,icao24,latitude,longitude,altitude,groundspeed,track,vertical_rate\n"
        "2026-11-23T06:00:00Z,aaaaaa,50.0,10.0,30000,400,90,0\n"
        "2026-11-23T06:00:00Z,bbbbbb,50.0,10.5,30000,400,270,0\n"
    )
    square = [[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.1], [10.0, 50.0]]
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"op-{party}", "party": party, "lower_m": 1000, "upper_m": 2000}
            | {"start": "2036-11-23T01:00:00Z", "end": "2036-11-23T02:00:00Z"},
            "geometry": {"type": "Polygon", "coordinates": [square]},
        }
        for party in ("x", "y")
    ]
    (work / "ops.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))

    from deconline.demo import load
    from deconline.service import disclosure, record
    from deconline.service.line import Line
    from deconline.store.db import Database

    line = Line(Database(f"sqlite:///{work / 'demo.db'}"), evaluate_every_s=0, checkpoint_every_s=0)
    load(line, work / "keys")
    with line.db.write() as session:
        size = line.record.sync(session)
        bundle = disclosure.export(line.record, session, 0, size - 1, None, line.clock())
        key = record.service_verifier_key(line.record, session)
    line.db.dispose()
    (work / "demo.bundle").write_text(json.dumps(bundle))
    (work / "verifier.key").write_text(key)


def launcher() -> list[str]:
    """The installed ``deconline`` script (what a user types), else ``python -m deconline``."""
    script = Path(sys.executable).parent / "deconline"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "deconline"]


def _env(code: Path) -> dict[str, str]:
    """The package from ``code`` first; a fixed width so that help renders the same each run."""
    return {**os.environ, "PYTHONPATH": str(code), "COLUMNS": "100"}


def check_source(code: Path, work: Path) -> None:
    """Stop unless ``PYTHONPATH=code`` really runs that tree's package (not the installed one)."""
    probe = [sys.executable, "-c", "import deconline; print(deconline.__file__)"]
    done = subprocess.run(probe, cwd=work, env=_env(code), capture_output=True, text=True, check=True)
    found = Path(done.stdout.strip())
    if not found.is_relative_to(code):
        raise SystemExit(f"PYTHONPATH={code} imports deconline from {found}")


def timed(code: Path, args: list[str], work: Path) -> float:
    """Seconds for one whole process running ``deconline ARGS`` with the package from ``code``."""
    env = _env(code)
    began = time.perf_counter()
    done = subprocess.run([*launcher(), *args], cwd=work, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"deconline {' '.join(args)} with {code} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


@contextmanager
def checkout(rev: str) -> Iterator[Path]:
    """REV's tree in a temporary git worktree, removed afterwards."""
    parent = Path(tempfile.mkdtemp(prefix="deconline-bench-cli-"))
    tree = parent / "tree"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), rev], check=True)
    try:
        yield tree
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)
        shutil.rmtree(parent, ignore_errors=True)


def measure(cmds: list[Command], codes: dict[str, Path], runs: int, work: Path) -> dict[str, dict[str, list[float]]]:
    """Run times by command and code; the codes alternate within each run."""
    for code in codes.values():
        check_source(code, work)
    for cmd in cmds:  # unmeasured: byte-code caches, the page cache
        for code in codes.values():
            timed(code, cmd.args, work)
    times: dict[str, dict[str, list[float]]] = {c.name: {label: [] for label in codes} for c in cmds}
    for i in range(runs):
        for cmd in cmds:
            order = list(codes.items()) if i % 2 == 0 else list(codes.items())[::-1]
            for label, code in order:
                times[cmd.name][label].append(timed(code, cmd.args, work))
        print(f"  run {i + 1} of {runs}", file=sys.stderr)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--compare", metavar="REV", help="also run the code of this git revision, side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deconline-bench-cli-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        make_inputs(work)
        cmds = commands(work)
        codes = {"now": REPO}
        if args.compare:
            codes[args.compare] = stack.enter_context(checkout(args.compare))
        times = measure(cmds, codes, args.runs, work)
    results = [_result(cmd, times[cmd.name], args.runs, args.compare) for cmd in cmds]
    OUT.mkdir(exist_ok=True)
    (OUT / "cli.json").write_text(json.dumps(results, indent=2))
    _table(results, args.compare)


def _result(cmd: Command, times: dict[str, list[float]], runs: int, rev: str | None) -> dict[str, Any]:
    """Medians and every run (to judge the noise), and now ÷ REV."""
    now = statistics.median(times["now"])
    result: dict[str, Any] = {
        "command": cmd.name,
        "target_s": cmd.target_s,
        "runs": runs,
        "now_median_s": round(now, 3),
    }
    result["now_s"] = [round(t, 3) for t in times["now"]]
    if rev:
        before = statistics.median(times[rev])
        result |= {"rev": rev, "rev_median_s": round(before, 3), "rev_s": [round(t, 3) for t in times[rev]]}
        result["ratio"] = round(now / before, 2)
    return result


def _table(results: list[dict[str, Any]], rev: str | None) -> None:
    if rev:
        print(f"| command | now (median s) | {rev} (median s) | ratio (now ÷ {rev}) | target |")
        print("| --- | --- | --- | --- | --- |")
    else:
        print("| command | now (median s) | target |")
        print("| --- | --- | --- |")
    for r in results:
        now = f"{r['now_median_s']:.3f}"
        target = f"≤ {r['target_s']} s"
        if rev:
            print(f"| `{r['command']}` | {now} | {r['rev_median_s']:.3f} | {r['ratio']:.2f}× | {target} |")
        else:
            print(f"| `{r['command']}` | {now} | {target} |")


if __name__ == "__main__":
    main()
