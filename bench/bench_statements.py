"""What signed statements cost (issue 24), side by side with an earlier commit, in one run.

    .venv/bin/python bench/bench_statements.py --before /tmp/before [--rounds 3]

``--before`` is a checkout of the earlier commit (``git worktree add /tmp/before REV``). Each round
runs, for the earlier code and then this code (alternating, so the machine's load falls on both):
``bench_filing.py`` (signed filings over HTTP from 4 clients, SQLite and PostgreSQL) and
``bench_live.py`` (two parties posting signed 5,000-report batches every second to one
PostgreSQL instance). Each script runs from its own tree, with that tree's package first on the
path, so the served instances run that tree's code. Reported: filings/s, the service's CPU per
filing, and the 5,000-report batch acknowledgement p50, each with this ÷ before (medians over
the rounds). Target: within 5 %.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def _run(tree: Path, script: str, args: list[str], out: str) -> list[dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, str(tree / "bench" / script), *args], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL
    )
    result: list[dict[str, Any]] = json.loads((tree / "bench" / "out" / out).read_text())
    return result


def one_round(tree: Path, n: int, seconds: float) -> dict[str, float]:
    sqlite = _run(tree, "bench_filing.py", ["--n", str(n), "--clients", "4"], "filing.json")[0]
    pg = _run(tree, "bench_filing.py", ["--n", str(n), "--clients", "4", "--db", "postgresql"],
              "filing_postgresql_1x_spread.json")[0]  # fmt: skip
    live = _run(tree, "bench_live.py", ["--db", "postgresql", "--seconds", str(seconds)], "live.json")[0]
    return {
        "sqlite filings/s": sqlite["ops_per_s"],
        "sqlite service CPU ms/filing": sqlite["service_cpu_ms_per_filing"],
        "postgresql filings/s": pg["ops_per_s"],
        "postgresql service CPU ms/filing": pg["service_cpu_ms_per_filing"],
        "5,000-report batch p50 ms (postgresql)": live["batch_ms_p50"],
        "5,000-report batch p99 ms (postgresql)": live["batch_ms_p99"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the earlier commit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=1500, help="filings per run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each live run")
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"before": [], "this": []}
    for k in range(args.rounds):
        for name, tree in (("before", args.before.resolve()), ("this", HERE)):
            print(f"round {k + 1}/{args.rounds}: {name} ({tree})", file=sys.stderr)
            runs[name].append(one_round(tree, args.n, args.seconds))
    print("| measure | before | this | this ÷ before |")
    print("| --- | --- | --- | --- |")
    for measure in runs["this"][0]:
        before = statistics.median(r[measure] for r in runs["before"])
        this = statistics.median(r[measure] for r in runs["this"])
        spread = (
            ", ".join(f"{r[measure]:g}" for r in runs["before"]),
            ", ".join(f"{r[measure]:g}" for r in runs["this"]),
        )
        print(f"| {measure} | {before:g} ({spread[0]}) | {this:g} ({spread[1]}) | {this / before:.3f} |")
    out = HERE / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "statements.json").write_text(json.dumps({"rounds": args.rounds, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
