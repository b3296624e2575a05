"""The live picture at 10,000 aircraft: a real ``deconline serve``, two parties' feeds, alerts on streams.

    .venv/bin/python bench/bench_live.py [--db sqlite|postgresql|both] [--seconds 60]
        [--aircraft 5000] [--conflicts 20] [--streams 300]

Two parties, each in its own process, post signed batches of ``--aircraft`` reports once a second
(start to start; a batch that takes longer is followed at once by the next, as the feeder does;
the second party's second starts half a second after the first's, as independent feeds are not
in step) while the service evaluates the picture every second. Each party's aircraft fly in a region of
its own, 700 km from the other's, so the only cross-party conflicts are the ``--conflicts`` pairs
injected at known times between them: two aircraft head-on, 13 km apart, losing separation
about 9 s later. Both parties' event streams are read throughout. The feeders start once the
service and the worker and desk it started are done starting (``bench_filing.instance``).

Reported: batch acknowledgement time (p50, p99), how late batches start (first 10 s against
the last 10 s: a growing lag means the feed is not sustained), the time from the later of a pair's
first two batches being sent to its alert on each party's stream, and the evaluation cycle
(``/metrics``). ``--streams N`` keeps N more event streams open (half each party's), each of which
must receive every alert of its party. To measure other code, put its checkout first on ``PYTHONPATH`` (the service
inherits it); the feeders then sign as that code's client does. Writes bench/out/live*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from bench_filing import OUT, cpu_seconds, database, instance, setup

from deconline.client import Client
from deconline.record.signing import private_key_pem

EARTH_M = 6_371_000.0
REGIONS = ((-5.0, 5.0), (15.0, 25.0))  # longitudes of party 0's and party 1's aircraft
LATS = (44.0, 56.0)
WARMUP_S = 5.0
PAIR_LON, PAIR_HALF_DEG, PAIR_ALT_M, PAIR_GS = 10.0, 0.09, 5000.0, 200.0


def injections(seconds: float, conflicts: int) -> list[float]:
    """Seconds after the start at which each pair first appears."""
    span = max(seconds - WARMUP_S - 15.0, 1.0)
    return [WARMUP_S + k * span / max(conflicts, 1) for k in range(conflicts)]


def pair_lat(k: int) -> float:
    return LATS[0] + 0.5 + 0.4 * k  # 44 km apart: pairs never meet each other


# --- a feeder process ----------------------------------------------------------------------------

MAX_BATCH = 5000  # reports in one POST /v1/tracks


def _parts(aircraft: int) -> int:
    """Batches a party sends each second, at once: more than 5,000 aircraft take several."""
    return math.ceil(aircraft / MAX_BATCH)


def feed(args: argparse.Namespace) -> None:
    """Post one party's picture every second; print one JSON line per batch."""
    rng = random.Random(args.seed * 7 + args.party + 100 * args.part)
    parts = _parts(args.aircraft)
    share = args.aircraft // parts + (1 if args.part < args.aircraft % parts else 0)
    conflicts = args.conflicts if args.part == 0 else 0  # the injected pairs ride in a party's first batch
    n = share - conflicts
    west, east = REGIONS[args.party]
    lat0 = np.array([rng.uniform(*LATS) for _ in range(n)])
    lon0 = np.array([rng.uniform(west, east) for _ in range(n)])
    alt = np.array([rng.uniform(300, 12_000) for _ in range(n)])
    gs = np.array([rng.uniform(60, 250) for _ in range(n)])
    heading = np.array([rng.uniform(0, 360) for _ in range(n)])
    ids = [f"P{args.party}-{args.part}-{i:05d}" for i in range(n)]
    starts = injections(args.seconds, conflicts)
    sign = 1.0 if args.party == 0 else -1.0  # party 0 flies east from the west, party 1 west from the east
    client = Client(args.url, args.token, key=Path(args.key), timeout=60)
    shown: set[int] = set()
    t0 = args.start + args.party * 0.5  # independent feeds are not in step: the second starts half a second on
    beat = 0
    while True:
        scheduled = t0 + beat
        if scheduled > t0 + args.seconds:
            break
        time.sleep(max(0.0, scheduled - time.time()))
        now = time.time()
        elapsed = now - t0
        moved = gs * elapsed
        lat = lat0 + np.degrees(moved * np.cos(np.radians(heading)) / EARTH_M)
        lon = lon0 + np.degrees(moved * np.sin(np.radians(heading)) / (EARTH_M * np.cos(np.radians(lat0))))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
        reports = [
            {"id": ids[i], "lat": float(lat[i]), "lon": float(lon[i]), "alt_m": float(alt[i]),
             "gs_mps": float(gs[i]), "track_deg": float(heading[i]), "time": stamp}
            for i in range(n)
        ]  # fmt: skip
        new = []
        for k, start in enumerate(starts):
            if elapsed < start:
                continue
            if k not in shown:  # first carried by this batch (a late batch may be well after the start)
                shown.add(k)
                new.append(k)
            lat_k = pair_lat(k)
            degrees_per_m = 1.0 / (EARTH_M * math.cos(math.radians(lat_k)) * math.pi / 180.0)
            lon_k = PAIR_LON - sign * (PAIR_HALF_DEG - PAIR_GS * (elapsed - start) * degrees_per_m)
            reports.append(
                {"id": f"X{k:03d}-{args.party}", "lat": lat_k, "lon": lon_k, "alt_m": PAIR_ALT_M,
                 "gs_mps": PAIR_GS, "track_deg": 90.0 if args.party == 0 else 270.0, "time": stamp}
            )  # fmt: skip
        sent = time.time()
        try:
            client.post_tracks(reports)
            ok = True
        except Exception as exc:  # counted and reported, the feed goes on
            print(f"batch {beat} failed: {exc}", file=sys.stderr)
            ok = False
        acked = time.time()
        line = {"beat": beat, "scheduled": scheduled, "sent": sent, "acked": acked, "ok": ok, "new": new}
        print(json.dumps(line), flush=True)
        beat = max(beat + 1, math.ceil(acked - t0))  # missed beats are dropped, never queued


# --- the run --------------------------------------------------------------------------------------


def listen(url: str, token: str, alerts: dict[str, float], stop: threading.Event) -> None:
    """Read a party's event stream; the arrival time of the first alert on each own track."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as http,
            http.stream("GET", f"{url}/v1/events", headers=headers) as stream,
        ):
            for raw in stream.iter_lines():
                if stop.is_set():
                    return
                if raw.startswith("data: "):
                    event = json.loads(raw[6:])
                    if event.get("type") == "alert":
                        alerts.setdefault(event["alert"]["own_track"], time.time())
    except httpx.HTTPError:
        if not stop.is_set():
            raise


def crowd(url: str, tokens: list[str], n: int, received: list[int], stop: threading.Event) -> None:
    """``n`` more subscribers, half each party's, in one event loop: each counts the alerts it is
    pushed (they must all get them, and the cycle must not slow for them)."""

    async def one(k: int, client: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {tokens[k % len(tokens)]}"}
        try:
            async with client.stream("GET", f"{url}/v1/events", headers=headers) as stream:
                async for raw in stream.aiter_lines():
                    if raw.startswith("event: alert"):
                        received[k] += 1
        except httpx.HTTPError:
            if not stop.is_set():
                raise

    async def all_of_them() -> None:
        limits = httpx.Limits(max_connections=n + 10)
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None), limits=limits) as client:
            tasks = [asyncio.create_task(one(k, client)) for k in range(n)]
            while not stop.is_set():
                await asyncio.sleep(0.2)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(all_of_them())


EVALUATION_FIGURES = (
    "deconline_evaluation_cycles_total",
    "deconline_evaluation_seconds_total",
    "deconline_evaluation_overruns_total",
)


def metrics(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {os.environ['BENCH_ADMIN_TOKEN']}"}).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith(
            (
                "deconline_evaluation_cycles_total",
                "deconline_evaluation_seconds_total",
                "deconline_evaluation_overruns_total",
            )
        ):
            values[name] = float(value)
        elif name.startswith("deconline_http_request_duration_seconds_") and 'route="/v1/tracks"' in name:
            values[name.split("{")[0].rsplit("_", 1)[1]] = float(value)  # "sum" and "count" of POST /v1/tracks
    return values


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else math.nan


def run(db: str, args: argparse.Namespace) -> dict[str, Any]:
    with database(db) as db_url, tempfile.TemporaryDirectory() as tmp:
        parties = setup(db_url, 2)
        with instance(db_url) as (url, pid):
            keys = []
            for k, (_, key) in enumerate(parties):
                path = Path(tmp) / f"p{k}.pem"
                path.write_bytes(private_key_pem(key))
                keys.append(path)
            stop = threading.Event()
            alerts: list[dict[str, float]] = [{}, {}]
            listeners = [
                threading.Thread(target=listen, args=(url, token, alerts[k], stop), daemon=True)
                for k, (token, _) in enumerate(parties)
            ]
            received = [0] * args.streams
            if args.streams:
                tokens = [token for token, _ in parties]
                listeners.append(
                    threading.Thread(target=crowd, args=(url, tokens, args.streams, received, stop), daemon=True)
                )
            for listener in listeners:
                listener.start()
            start = time.time() + 2.0
            cpu = cpu_seconds(pid)
            common = ["--url", url, "--start", str(start), "--seconds", str(args.seconds), "--seed", str(args.seed)]
            common += ["--aircraft", str(args.aircraft), "--conflicts", str(args.conflicts)]
            parts = _parts(args.aircraft)
            feeders = [
                [
                    subprocess.Popen(
                        [
                            sys.executable,
                            __file__,
                            "--feeder",
                            str(k),
                            "--part",
                            str(part),
                            "--token",
                            parties[k][0],
                            "--key",
                            str(keys[k]),
                            *common,
                        ],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    for part in range(parts)
                ]
                for k in range(2)
            ]
            print(
                f"  {db}: 2 parties × {args.aircraft} aircraft at 1 Hz ({parts} batch(es) a second each) "
                f"for {args.seconds:.0f} s",
                file=sys.stderr,
            )
            batches = [
                [json.loads(line) for feeder in party for line in feeder.communicate()[0].splitlines()]
                for party in feeders
            ]
            time.sleep(3.0)  # the last pairs' alerts
            service_cpu = cpu_seconds(pid) - cpu
            figures = metrics(url)
            stop.set()
    summary = summarise(db, args, batches, alerts, figures, service_cpu)
    summary["streams"] = 2 + args.streams
    if args.streams:  # each extra subscriber must have had every alert of its party's side
        expected = [len(alerts[k]) for k in range(2)]
        summary["extra_streams_short"] = sum(1 for k in range(args.streams) if received[k] < expected[k % 2])
    return summary


def summarise(
    db: str,
    args: argparse.Namespace,
    batches: list[list[dict[str, Any]]],
    alerts: list[dict[str, float]],
    figures: dict[str, float],
    service_cpu: float,
) -> dict[str, Any]:
    acks = [b["acked"] - b["sent"] for party in batches for b in party if b["ok"]]
    late = [[b["sent"] - b["scheduled"] for b in sorted(party, key=lambda b: b["scheduled"])] for party in batches]
    tenth = 10 * _parts(args.aircraft)  # the batches of the first and of the last 10 seconds
    first = [x for party in late for x in party[:tenth]]
    last = [x for party in late for x in party[-tenth:]]
    shown: dict[int, float] = {}  # pair → when the later of its two first batches was sent
    for party in batches:
        for b in party:
            for k in b["new"]:
                shown[k] = max(shown.get(k, 0.0), b["sent"])
    delays, missing = [], 0
    for k, sent in shown.items():
        for party in (0, 1):
            arrived = alerts[party].get(f"X{k:03d}-{party}")
            if arrived is None:
                missing += 1
            else:
                delays.append(arrived - sent)
    count = figures.get("deconline_evaluation_cycles_total", 0.0)
    beats = sum(len(party) for party in batches)
    return {
        "db": db,
        "aircraft": 2 * args.aircraft,
        "seconds": args.seconds,
        "batches": beats,
        "failed_batches": sum(1 for party in batches for b in party if not b["ok"]),
        "batch_ms_p50": round(1000 * percentile(acks, 0.5), 1),
        "batch_ms_p99": round(1000 * percentile(acks, 0.99), 1),
        "batch_ms_p50_by_party": [
            round(1000 * percentile([b["acked"] - b["sent"] for b in party if b["ok"]], 0.5), 1) for party in batches
        ],
        "late_ms_first_10s": round(1000 * statistics.fmean(first), 1) if first else None,
        "late_ms_last_10s": round(1000 * statistics.fmean(last), 1) if last else None,
        "beats_dropped": sum((round(args.seconds) + 1) * _parts(args.aircraft) - len(party) for party in batches),
        "conflicts": len(shown),
        "alerts_missing": missing,
        "alert_s_p50": round(percentile(delays, 0.5), 2),
        "alert_s_p99": round(percentile(delays, 0.99), 2),
        "cycle_ms_mean": round(1000 * figures.get("deconline_evaluation_seconds_total", 0.0) / count, 1)
        if count
        else None,
        "cycles": int(count),
        "service_ms_mean": round(1000 * figures["sum"] / figures["count"], 1) if figures.get("count") else None,
        "overruns": int(figures.get("deconline_evaluation_overruns_total", 0.0)),
        "service_cpu_share": round(service_cpu / args.seconds / (os.cpu_count() or 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--aircraft", type=int, default=5000, help="per party (up to 20,000; over 5,000: several batches a second)"
    )
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--conflicts", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--streams", type=int, default=0, help="more event streams open throughout (e.g. 300)")
    parser.add_argument("--feeder", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--party", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.feeder is not None:
        args.party = args.feeder
        feed(args)
        return
    if not 0 < args.aircraft <= 20_000 or args.conflicts >= min(args.aircraft, MAX_BATCH):
        parser.error("--aircraft must be 1-20,000 and more than --conflicts")
    results = [run(db, args) for db in (["sqlite", "postgresql"] if args.db == "both" else [args.db])]
    OUT.mkdir(exist_ok=True)
    (OUT / "live.json").write_text(json.dumps(results, indent=2))
    print(
        "| database | aircraft | streams | batch p50 / p99 ms | batches sent (of due) | late first / last 10 s ms "
        "| alerts | alert p50 / p99 s | cycle ms | overruns | service ms |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(
            f"| {r['db']} | {r['aircraft']:,} | {r['streams']} | {r['batch_ms_p50']} / {r['batch_ms_p99']} | "
            f"{r['batches']} ({r['batches'] + r['beats_dropped']}) | "
            f"{r['late_ms_first_10s']} / {r['late_ms_last_10s']} | {2 * r['conflicts'] - r['alerts_missing']}"
            f"/{2 * r['conflicts']} | {r['alert_s_p50']} / {r['alert_s_p99']} | {r['cycle_ms_mean']} "
            f"| {r['overruns']} | {r['service_ms_mean']} |"
        )
        print(json.dumps(r), file=sys.stderr)


if __name__ == "__main__":
    main()
