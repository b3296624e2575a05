"""The hotline's round trip across two instances: a message sent through one instance, seen on the
recipient's event stream held open on the other.

    .venv/bin/python bench/bench_hotline.py [--messages 600] [--rounds 2] [--db postgresql|sqlite]
        [--reference DIR]

Each round: a new database with the demo's parties, two ``deconline serve`` processes on it;
``blue-af`` sends signed messages to ``orange-af`` through the first (one at a time, 20 a second,
as a duty officer's console would), while ``orange-af`` reads ``/v1/events`` on the second. A
message's round trip is from just before its POST to its ``message`` event arriving on that stream
(signing, the write, the commit, the cross-instance notification, the stream). With
``--reference DIR`` (another checkout, e.g. ``git worktree add /tmp/ref COMMIT``) the rounds
alternate that code with this one, on the same machine, in one run. Writes bench/out/hotline.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from bench_filing import database, demo_line, instance

from deconline.client import Client

OUT = Path(__file__).parent / "out"
SENDER, RECIPIENT = "blue-af", "orange-af"
TARGET_P998_MS = 100.0


@contextmanager
def code(directory: str | None) -> Iterator[None]:
    """Run the processes started inside with the code in ``directory`` (this checkout's by default)."""
    before = os.environ.get("PYTHONPATH")
    if directory:
        os.environ["PYTHONPATH"] = directory
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def listen(url: str, token: str, seen: dict[str, float], ready: threading.Event, stop: threading.Event) -> None:
    """The recipient's stream: when each message (by its text) arrived."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", f"{url}/v1/events", headers=headers, timeout=httpx.Timeout(30, read=None)) as response:
        for line in response.iter_lines():
            if line.startswith("event: ready"):
                ready.set()
            elif line.startswith("data:") and '"type":"message"' in line:
                seen.setdefault(json.loads(line[5:])["message"]["text"], time.perf_counter())
            if stop.is_set():
                return


def one_round(kind: str, messages: int, directory: str | None) -> dict[str, Any]:
    with code(directory), database(kind) as db_url, tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys"
        tokens = demo_line(db_url, keys)
        with instance(db_url) as (first, _), instance(db_url) as (second, _):
            seen: dict[str, float] = {}
            ready, stop = threading.Event(), threading.Event()
            listener = threading.Thread(target=listen, args=(second, tokens[RECIPIENT], seen, ready, stop))
            listener.start()
            ready.wait(30)
            sent: dict[str, float] = {}
            with Client(first, tokens[SENDER], key=keys / f"{SENDER}.key") as client:
                for n in range(messages):
                    text = f"bench {n}"
                    sent[text] = time.perf_counter()
                    client.send_message([RECIPIENT], "notice", text, requires_ack=False)
                    time.sleep(max(0.0, sent[text] + 0.05 - time.perf_counter()))
                deadline = time.monotonic() + 10
                while len(seen) < messages and time.monotonic() < deadline:
                    time.sleep(0.05)
                stop.set()
                client.send_message([RECIPIENT], "notice", "end", requires_ack=False)  # wakes the stream to stop
            listener.join(10)
    trips = [1000 * (seen[t] - s) for t, s in sent.items() if t in seen]
    return {
        "code": directory or "this checkout",
        "messages": messages,
        "received": len(trips),
        "round_trip_ms_p50": round(percentile(trips, 0.5), 1),
        "round_trip_ms_p99": round(percentile(trips, 0.99), 1),
        "round_trip_ms_p99_8": round(percentile(trips, 0.998), 1),
        "round_trip_ms_max": round(max(trips), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--reference", help="another checkout whose code runs alternate rounds")
    args = parser.parse_args()
    codes = [None, args.reference] if args.reference else [None]
    results = []
    for round_no in range(args.rounds):
        for directory in codes:
            print(f"round {round_no + 1}: {directory or 'this checkout'} …", file=sys.stderr)
            results.append(one_round(args.db, args.messages, directory))
    OUT.mkdir(exist_ok=True)
    (OUT / "hotline.json").write_text(json.dumps({"db": args.db, "runs": results}, indent=1))
    print(f"| code | messages received | round trip p50 | p99 | p99.8 (target ≤ {TARGET_P998_MS:.0f} ms) | max |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['code']} | {r['received']} of {r['messages']} | {r['round_trip_ms_p50']} ms | "
            f"{r['round_trip_ms_p99']} ms | {r['round_trip_ms_p99_8']} ms | {r['round_trip_ms_max']} ms |"
        )


if __name__ == "__main__":
    main()
