"""Soak: ``kill -9`` of the leading worker process alone, again and again, under live traffic.

Two ``deconline serve`` instances on one new database, each with its worker process. Every second
a new pair of aircraft of two parties is put on a collision course (its tracks posted every second
for a few seconds), and one party sends the other a hotline message with a 3 s deadline that is
never acknowledged. Every ``--every`` seconds the worker that leads is killed (the server it
belongs to goes on answering). Measured: the takeover (from the kill to the next evaluation beat
by any worker), and at the end whether every pair was alerted and every message became overdue.

    python bench/soak_worker.py [--db postgresql|sqlite] [--kills 10] [--every 6]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from bench_filing import OUT, database
from soak import Instance, _free_port

from deconline.client import Client
from deconline.core.agreement import Agreement
from deconline.demo import AGREEMENT as DEMO_AGREEMENT
from deconline.record.signing import generate_key, public_key_b64, sign_document
from deconline.service import agreements, parties
from deconline.service.actors import Actor
from deconline.service.duties import last_beat
from deconline.service.line import Line
from deconline.store.db import Database

EARTH = 6_371_000.0
DEADLINE_S = 3.0
PAIR_FOR_S = 5.0  # how long each pair's tracks are posted


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def setup(db_url: str) -> list[tuple[str, Any]]:
    """Two parties and an agreement whose hotline deadline is short enough to pass during the soak."""
    line = Line(Database(db_url))
    os.environ["BENCH_ADMIN_TOKEN"] = parties.initialise(line) or ""
    keys = {pid: generate_key() for pid in ("p0", "p1")}
    tokens = {pid: parties.add_party(line, pid, public_key_b64(key)) for pid, key in keys.items()}
    document = dict(DEMO_AGREEMENT, parties=["p0", "p1"], ack_deadlines_s={"default": DEADLINE_S})
    Agreement.model_validate(document)
    state = agreements.propose(line, Actor("admin"), document)
    for pid, key in keys.items():
        agreements.sign(line, Actor("party", pid), 1, sign_document(key, state.agreement.document()))
    line.db.dispose()
    return [(tokens[pid], keys[pid]) for pid in ("p0", "p1")]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _report(track_id: str, k: int, east_m: float, track_deg: float, t: float, started: float) -> dict[str, Any]:
    """Pair ``k`` flies head-on at 200 m/s each, 8 km apart when first seen, in its own place."""
    lat = 46.0 + (k % 40) * 0.2
    lon0 = 6.0 + (k // 40) * 0.5
    moved = 200.0 * (t - started) * (1 if track_deg == 90 else -1)
    lon = lon0 + math.degrees((east_m + moved) / (EARTH * math.cos(math.radians(lat))))
    return {"id": track_id, "lat": lat, "lon": lon, "alt_m": 9000.0, "gs_mps": 200.0, "track_deg": track_deg,
            "vrate_mps": 0.0, "time": _iso(t)}  # fmt: skip


class Traffic:
    """New pairs and unacknowledged messages, one of each a second, until stopped."""

    def __init__(self, urls: list[str], tokens: list[tuple[str, Any]]) -> None:
        self.urls, self.tokens = urls, tokens
        self.pairs: dict[int, float] = {}  # pair -> when first posted
        self.messages: list[str] = []
        self.failures = 0

    def run(self, stop: threading.Event) -> None:
        clients = [Client(url, token, key=key) for url in self.urls for token, key in [self.tokens[0]]]
        others = [Client(url, token, key=key) for url in self.urls for token, key in [self.tokens[1]]]
        k = 0
        while not stop.is_set():
            beat = time.time()
            self.pairs[k] = beat
            for pair, started in list(self.pairs.items()):
                if beat - started > PAIR_FOR_S:
                    continue
                for side, (client_list, east, heading, prefix) in enumerate(
                    ((clients, -4000.0, 90, "A"), (others, 4000.0, 270, "B"))
                ):
                    client = client_list[(pair + side) % len(client_list)]
                    try:
                        client.post_tracks([_report(f"{prefix}{pair}", pair, east, heading, beat, started)])
                    except Exception:
                        self.failures += 1
            try:
                sent = clients[k % len(clients)].send_message(["p1"], "notice", f"soak {k}")
                self.messages.append(sent["id"])
            except Exception:
                self.failures += 1
            k += 1
            stop.wait(max(0.0, 1.0 - (time.time() - beat)))
        for client in [*clients, *others]:
            client.close()


def _worker_of(pid: int) -> int | None:
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    return None


def _beat_at(db: Database) -> float:
    with db.read() as session:
        beat = last_beat(session)
    return beat.at if beat is not None else 0.0


def _leading(instances: list[Instance]) -> Instance | None:
    for inst in instances:
        answer = inst.readyz()
        if answer is not None and answer[1].get("leader"):
            return inst
    return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    with database(args.db) as db_url:
        tokens = setup(db_url)
        instances = [Instance(name, db_url, _free_port(), 1.0) for name in ("a", "b")]
        db = Database(db_url)
        try:
            for inst in instances:
                inst.start()
            for inst in instances:
                inst.wait_ready()
            traffic = Traffic([inst.url for inst in instances], tokens)
            stop = threading.Event()
            thread = threading.Thread(target=traffic.run, args=(stop,), daemon=True)
            thread.start()
            takeovers: list[float] = []
            time.sleep(3.0)
            for kill in range(1, args.kills + 1):
                leader = _leading(instances)
                worker = _worker_of(leader.proc.pid) if leader is not None and leader.proc is not None else None
                if leader is None or worker is None:
                    time.sleep(0.5)
                    continue
                killed_at = time.time()
                os.kill(worker, signal.SIGKILL)
                while _beat_at(db) <= killed_at + 0.001:
                    if time.time() - killed_at > 30:
                        raise RuntimeError("no worker took over within 30 s")
                    time.sleep(0.02)
                takeovers.append(time.time() - killed_at)
                say(f"kill {kill}/{args.kills}: {leader.name}'s worker; a beat again after {takeovers[-1]:.2f} s")
                time.sleep(max(0.0, args.every - (time.time() - killed_at)))
            stop.set()
            thread.join()
            time.sleep(DEADLINE_S + 5.0)  # the last messages' deadlines pass, the last pairs are seen
            return _verify(args, instances, tokens, traffic, takeovers)
        finally:
            db.dispose()
            for inst in instances:
                inst.close()


def _verify(
    args: argparse.Namespace,
    instances: list[Instance],
    tokens: list[tuple[str, Any]],
    traffic: Traffic,
    takeovers: list[float],
) -> dict[str, Any]:
    url = instances[0].url
    headers = {"Authorization": f"Bearer {tokens[0][0]}"}
    alerts = httpx.get(f"{url}/v1/alerts", params={"state": "all", "limit": 1000}, headers=headers, timeout=30).json()
    alerted = {a["intruder"]["track"] for a in alerts if a["kind"] == "separation"}
    missed_pairs = sorted(k for k in traffic.pairs if f"B{k}" not in alerted)
    sent = httpx.get(f"{url}/v1/messages", params={"box": "out", "limit": 1000}, headers=headers, timeout=30).json()
    status = {m["id"]: m["status"] for m in sent}
    not_overdue = [m for m in traffic.messages if status.get(m) != "overdue"]
    return {
        "db": args.db,
        "kills": len(takeovers),
        "takeover_s_p50": round(statistics.median(takeovers), 2) if takeovers else None,
        "takeover_s_max": round(max(takeovers), 2) if takeovers else None,
        "pairs": len(traffic.pairs),
        "pairs_not_alerted": missed_pairs,
        "messages": len(traffic.messages),
        "messages_not_overdue": not_overdue,
        "request_failures": traffic.failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--every", type=float, default=6.0, help="seconds between kills")
    args = parser.parse_args()
    result = run(args)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"soak_worker_{args.db}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    failed = result["pairs_not_alerted"] or result["messages_not_overdue"] or (result["takeover_s_max"] or 0) > 2.0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
