"""Witnessed checkpoints under load (issue 25): three ``deconline witness serve`` processes on
loopback, one ``deconline serve`` instance, and a client sending ``--rate`` signed writes a second
(hotline messages) for three phases: all witnesses up, one killed, all killed.

    .venv/bin/python bench/bench_witnesses.py [--db postgresql|sqlite] [--rate 100] [--seconds 20]

For each acknowledged write: how long until a checkpoint published after it carries the quorum
(2 of 3) of cosignatures, as seen by a poller of the public ``/v1/record/checkpoint`` every 50 ms.
Targets: p99 ≤ 2 s while a quorum is up; with all witnesses down, checkpoints flagged short of
quorum on ``/readyz`` and writes acknowledged as before.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from bench_filing import DEMO_AGREEMENT, OUT, _free_port, database, instance, setup

from deconline.record.checkpoint import parse_verifier_key
from deconline.record.cosignature import cosignatures, cosigner
from deconline.record.envelope import PAYLOAD_TYPE, SIGNATURE_HEADER, seal
from deconline.record.signing import generate_key, sign_document, write_private_key
from deconline.service import agreements, record
from deconline.service.actors import Actor
from deconline.service.line import Line
from deconline.store.db import Database


@contextmanager
def witness_process(name: str, key_file: Path, log_vkey: str, db: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "deconline", "witness", "serve", "--name", name, "--key", str(key_file),
               "--log", log_vkey, "--db", str(db), "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                httpx.post(f"http://127.0.0.1:{port}/add-checkpoint", content=b"", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with database(args.db) as db_url, ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        tokens = setup(db_url, 3)
        line = Line(Database(db_url))
        with line.db.read() as session:
            log_vkey = record.service_verifier_key(line.record, session)
        keys, trusted, refs, ports = [], [], [], []
        for k in range(3):
            key = generate_key()
            write_private_key(key, Path(tmp) / f"w{k}.key")
            keys.append(key)
            trusted.append(cosigner(f"w{k}.bench/witness", key.public_key()))
            ports.append(_free_port())
            refs.append({"party": f"p{k}", "url": f"http://127.0.0.1:{ports[k]}", "key": trusted[k].vkey()})
        state = agreements.propose(
            line, Actor("admin"), dict(DEMO_AGREEMENT, version=2, parties=["p0", "p1", "p2"], witnesses=refs,
                                       witness_quorum=2)
        )  # fmt: skip
        for k, (_, party_key) in enumerate(tokens):
            agreements.sign(line, Actor("party", f"p{k}"), 2, sign_document(party_key, state.agreement.document()))
        line.db.dispose()
        witnesses = [
            stack.enter_context(witness_process(f"w{k}.bench/witness", Path(tmp) / f"w{k}.key", log_vkey,
                                                Path(tmp) / f"w{k}.db", ports[k]))
            for k in range(3)
        ]  # fmt: skip
        url, _pid = stack.enter_context(instance(db_url))
        http = httpx.Client(base_url=url, timeout=30)
        line_id = parse_verifier_key(log_vkey).name
        seen: list[tuple[float, float, int]] = []  # (seen at, created at, cosigners)
        acks: list[tuple[str, float, float]] = []  # (phase, sent, acknowledged)
        stop = threading.Event()
        phase = ["3 witnesses"]

        def poll() -> None:
            with httpx.Client(base_url=url, timeout=5) as poller:
                while not stop.is_set():
                    try:
                        response = poller.get("/v1/record/checkpoint")
                        created = datetime.fromisoformat(
                            response.headers["x-deconline-checkpoint-time"].replace("Z", "+00:00")
                        ).timestamp()
                        seen.append((time.time(), created, len(cosignatures(response.text, trusted))))
                    except (httpx.HTTPError, KeyError, ValueError):
                        pass
                    stop.wait(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        token, key = tokens[0]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": PAYLOAD_TYPE}
        flagged: dict[str, Any] = {}
        for name, seconds, kill in (("3 witnesses", args.seconds, []), ("2 witnesses", args.seconds, [0]),
                                    ("no witness", args.seconds / 2, [1, 2])):  # fmt: skip
            for k in kill:
                os.killpg(witnesses[k].pid, signal.SIGKILL)
            phase[0] = name
            print(f"  {name}: {args.rate} signed writes a second for {seconds:.0f} s", file=sys.stderr)
            started = time.time()
            n = 0
            while time.time() - started < seconds:
                due = started + n / args.rate
                time.sleep(max(0.0, due - time.time()))
                body = {"recipients": ["p1"], "kind": "notice", "text": f"bench {n}", "requires_ack": False}
                sealed = seal(key, line_id, "message.send", body)
                sent = time.time()
                response = http.post("/v1/messages", content=sealed.statement,
                                     headers={**headers, SIGNATURE_HEADER: sealed.signature})  # fmt: skip
                if response.status_code == 201:
                    acks.append((name, sent, time.time()))
                n += 1
            flagged[name] = http.get("/readyz").json().get("witnesses")
        time.sleep(3)
        stop.set()
        poller.join(timeout=5)
        http.close()
    results: dict[str, Any] = {"db": args.db, "rate": args.rate, "seconds": args.seconds, "phases": {}}
    for name in ("3 witnesses", "2 witnesses", "no witness"):
        mine = [(s, a) for p, s, a in acks if p == name]
        waits = []
        for _sent, acked in mine:
            first = next((at for at, created, n in seen if created >= acked and n >= 2), None)
            if first is not None:
                waits.append(first - acked)
        results["phases"][name] = {
            "writes": len(mine),
            "ack_ms_p50": round(1000 * (_percentile([a - s for s, a in mine], 0.5) or 0), 1),
            "ack_ms_p99": round(1000 * (_percentile([a - s for s, a in mine], 0.99) or 0), 1),
            "in_a_quorum_checkpoint": len(waits),
            "quorum_after_ack_s_p50": _percentile(waits, 0.5),
            "quorum_after_ack_s_p99": _percentile(waits, 0.99),
            "readyz_witnesses": flagged.get(name),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--rate", type=float, default=100.0, help="signed writes a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase with witnesses up")
    results = run(parser.parse_args())
    OUT.mkdir(exist_ok=True)
    (OUT / "witnesses.json").write_text(json.dumps(results, indent=2))
    print("| phase | writes | ack p50 / p99 ms | in a checkpoint with quorum | quorum after ack p50 / p99 | /readyz |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in results["phases"].items():
        status = (r["readyz_witnesses"] or {}).get("status")
        print(f"| {name} | {r['writes']} | {r['ack_ms_p50']} / {r['ack_ms_p99']} | {r['in_a_quorum_checkpoint']} | "
              f"{r['quorum_after_ack_s_p50']} / {r['quorum_after_ack_s_p99']} s | {status} |")  # fmt: skip


if __name__ == "__main__":
    main()
