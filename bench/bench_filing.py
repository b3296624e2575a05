"""Filing over HTTP on SQLite: a real uvicorn process, real sockets, N operations from K clients.

    .venv/bin/python bench/bench_filing.py [--n 2000] [--clients 4] [--pairs]

Prints operations per second (and latency percentiles) and writes bench/out/filing.json.
``--pairs`` files every volume twice, by two parties: half the filings conflict, and each
conflict tells both sides (two notices, two events, two record entries, a hotline message).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from deconline.client import SIGNATURE_HEADER
from deconline.demo import AGREEMENT as DEMO_AGREEMENT
from deconline.record.signing import generate_key, public_key_b64, sign_document
from deconline.service import agreements, parties
from deconline.service.line import Line
from deconline.service.parties import Actor
from deconline.store.db import Database

OUT = Path(__file__).parent / "out"


def volume(rng: random.Random, t0: float) -> dict[str, object]:
    lat = 45.5 + rng.uniform(0, 9.0)
    lon = 5.0 + rng.uniform(0, 13.0)
    half = rng.uniform(1.0, 5.0)
    dlat, dlon = half / 111.32, half / (111.32 * math.cos(math.radians(lat)))
    start = t0 + rng.uniform(0, 22 * 3600)
    lower = rng.uniform(0, 10_000)
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat], [lon - dlon, lat + dlat]]
    return {
        "footprint": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        "lower_m": lower,
        "upper_m": lower + rng.uniform(100, 1000),
        "start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start)),
        "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start + rng.uniform(1800, 3 * 3600))),
    }


def setup(db_url: str, n_parties: int) -> list[tuple[str, Any]]:
    line = Line(Database(db_url))
    parties.initialise(line)
    ids = [f"p{i}" for i in range(n_parties)]
    keys = {}
    tokens = []
    for pid in ids:
        keys[pid] = generate_key()
        tokens.append(parties.add_party(line, pid, public_key_b64(keys[pid])))
    state = agreements.propose(line, Actor("admin"), dict(DEMO_AGREEMENT, parties=ids))
    for pid in ids:
        agreements.sign(line, Actor("party", pid), 1, sign_document(keys[pid], state.agreement.document()))
    line.db.dispose()
    return [(token, keys[pid]) for token, pid in zip(tokens, ids, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pairs", action="store_true", help="every volume filed twice, by two parties")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/bench.db"
        tokens = setup(db_url, args.clients)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = [sys.executable, "-m", "deconline", "--db", db_url, "serve", "--port", str(port), "--quiet"]
        proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            t0 = time.time() + 3600
            bodies = [{"volumes": [volume(rng, t0)]} for _ in range(args.n)]
            if args.pairs:  # the next client (another party) files the same volume
                bodies = [bodies[i - i % 2] for i in range(args.n)]
            clients = [httpx.Client(base_url=url, headers={"Authorization": f"Bearer {t}"}) for t, _ in tokens]
            signatures = [sign_document(tokens[i % len(tokens)][1], body) for i, body in enumerate(bodies)]
            latencies: list[float] = []
            states: dict[str, int] = {}

            def file(i: int) -> None:
                start = time.perf_counter()
                response = clients[i % len(clients)].post(
                    "/v1/operations", json=bodies[i], headers={SIGNATURE_HEADER: signatures[i]}
                )
                latencies.append(time.perf_counter() - start)
                if response.status_code != 201:
                    raise RuntimeError(response.text)
                state = response.json()["state"]
                states[state] = states.get(state, 0) + 1

            began = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                for done, _ in enumerate(pool.map(file, range(args.n)), 1):
                    if done % 500 == 0:
                        print(f"  {done}/{args.n} filed", file=sys.stderr)
            elapsed = time.perf_counter() - began
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    latencies.sort()
    result = {
        "operations": args.n,
        "clients": args.clients,
        "seconds": round(elapsed, 3),
        "ops_per_s": round(args.n / elapsed, 1),
        "latency_ms_p50": round(1000 * latencies[len(latencies) // 2], 2),
        "latency_ms_p99": round(1000 * latencies[int(len(latencies) * 0.99)], 2),
        "states": states,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / ("filing_pairs.json" if args.pairs else "filing.json")).write_text(json.dumps(result, indent=2))
    label = "filing over HTTP (SQLite)" + (", half in conflict" if args.pairs else "")
    print(f"| {label} | operations | clients | ops/s | p50 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    row = [args.n, args.clients, result["ops_per_s"], result["latency_ms_p50"], result["latency_ms_p99"]]
    print("| ours | " + " | ".join(str(x) for x in row) + " |")
    print(f"states: {states}")


if __name__ == "__main__":
    main()
