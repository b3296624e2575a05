"""A party's own disclosure bundle through the API, against the operator's export on the database.

    .venv/bin/python bench/bench_export.py [--entries 100000] [--db sqlite|postgresql]

A new database holds ``--entries`` record entries of three parties (each readable by its author
and one other party, every tenth public), written through the service in transactions of 5,000.
Then, against a real ``deconline serve``, whole processes as users run them (median of 3):
``deconline record export`` by party p0 with its token (``--url/--token``: the API builds the
bundle, withholding what p0 may not read), the operator's ``--db ... --party p0`` export of the
same range, and ``deconline record verify`` of the party's bundle. Target: 100,000 entries
exported in ≤ 10 s. Writes bench/out/export.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_filing import OUT, database, instance, setup

from deconline.service.line import Line
from deconline.store.db import Database

DECONLINE = Path(sys.executable).with_name("deconline")
CHUNK = 5_000


def fill(db_url: str, entries: int) -> None:
    """``entries`` events of parties p0..p2 in the record, each readable by its author and the next."""
    line = Line(Database(db_url))
    written = 0
    while written < entries:
        with line.db.write() as session:
            for k in range(written, min(entries, written + CHUNK)):
                author = f"p{k % 3}"
                readers = ["*"] if k % 10 == 0 else [author, f"p{(k + 1) % 3}"]
                event = {"kind": "comm_check", "text": f"entry {k} from {author}", "sequence": k}
                line.append(session, author, "message.sent", event, readers)
        written = min(entries, written + CHUNK)
        print(f"\r  {written:,} entries written", end="", file=sys.stderr)
    print(file=sys.stderr)
    line.db.dispose()


def timed(args: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        done = subprocess.run([str(DECONLINE), *args], capture_output=True, text=True)
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            sys.exit(f"deconline {' '.join(args)} failed: {done.stderr.strip()}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with database(args.db) as db_url, tempfile.TemporaryDirectory() as tmp:
        parties = setup(db_url, 3)
        began = time.perf_counter()
        fill(db_url, args.entries)
        print(f"  filled in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        with instance(db_url) as (url, _):
            last = str(args.entries - 1)
            party_bundle, operator_bundle = Path(tmp) / "party.bundle", Path(tmp) / "operator.bundle"
            api = ["--url", url, "--token", parties[0][0], "record", "export", "--from", "0", "--to", last]
            party_s = timed([*api, "--out", str(party_bundle)], args.repeats)
            on_db = ["--db", db_url, "record", "export", "--from", "0", "--to", last, "--party", "p0"]
            operator_s = timed([*on_db, "--out", str(operator_bundle)], args.repeats)
            verify_s = timed(["record", "verify", str(party_bundle)], args.repeats)
        party = json.loads(party_bundle.read_text())
        operator = json.loads(operator_bundle.read_text())
        same = [e["index"] for e in party["entries"]] == [e["index"] for e in operator["entries"]]
        result = {
            "db": args.db,
            "entries": args.entries,
            "disclosed": len(party["entries"]),
            "withheld": len(party["withheld"]),
            "bundle_mb": round(party_bundle.stat().st_size / 1e6, 1),
            "party_export_s": round(party_s, 2),
            "operator_export_s": round(operator_s, 2),
            "verify_s": round(verify_s, 2),
            "same_disclosure": same and party["withheld"] == operator["withheld"],
        }
    OUT.mkdir(exist_ok=True)
    (OUT / "export.json").write_text(json.dumps(result, indent=2))
    print(
        "| entries | disclosed / withheld | bundle | party export (API) | operator export (database) | verify | same |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {result['entries']:,} | {result['disclosed']:,} / {result['withheld']:,} | {result['bundle_mb']} MB "
        f"| {result['party_export_s']} s | {result['operator_export_s']} s | {result['verify_s']} s "
        f"| {result['same_disclosure']} |"
    )
    if not result["same_disclosure"]:
        sys.exit("MISMATCH: the party's bundle discloses differently from the operator's export for that party")


if __name__ == "__main__":
    main()
