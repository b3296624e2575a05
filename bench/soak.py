"""Soak: ``kill -9`` of the leading instance, again and again, under a mixed write load.

    .venv/bin/python bench/soak.py [--cycles 50] [--clients 6] [--seed 1] [--db postgresql|sqlite]
        [--pause 0.1] [--checkpoint-every 1.0]

Two ``deconline serve`` processes on one new database, on fixed ports. K client threads, one
party each, send signed filings, hotline messages, acknowledgements of the messages sent to them
and track reports for the whole run, to either instance as a proxy would. Each write is a signed
statement, sealed once and sent again, the same bytes, to the other instance whenever no answer
comes (a refused or cut connection, a timeout, a 5xx) for up to 60 s: the line carries it out
once (issue 24). A write is acknowledged when a 2xx answer arrived, or a 409 marked
``Idempotent-Replayed`` (carried out, its first answer lost with the killed instance); every
filing's name is unique, so a filing stored twice is a duplicated write.

Each cycle: find the leader, ``kill -9`` its process group, time until the other instance says
``"leader": true`` (takeover), start the killed one again on the same port and time until its
``/readyz`` answers 200 (restart ready), wait a second. Meanwhile a thread keeps every distinct
signed checkpoint it sees.

At the end: every acknowledged operation, message and acknowledgement is read back by its owner
(0 lost), the newest acknowledged report of each aircraft is there, every checkpoint seen
verifies with the record key and is consistent with the final one (RFC 9162 proof from the API).
Targets: 0 lost, 0 inconsistent, takeover <= 2 s, restart ready <= 5 s; the exit status is 1 if
one is missed. Writes bench/out/soak.json; the instances' logs go to bench/out/soak_logs/.
Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import math
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx
from bench_filing import OUT, database, setup, volume
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconline.record.actions import action_for
from deconline.record.checkpoint import Checkpoint, NoteError, open_checkpoint, parse_verifier_key
from deconline.record.envelope import PAYLOAD_TYPE, SIGNATURE_HEADER, seal
from deconline.record.merkle import ProofError, verify_consistency

TAKEOVER_LIMIT_S = 2.0
RETRY_FOR_S = 60.0  # a client sends an unanswered write again for this long
RESTART_LIMIT_S = 5.0
KINDS = ("filing", "message", "ack", "tracks")
WEIGHTS = (3, 2, 1, 3)
AREA = ((8.0, 10.5), (50.0, 51.5))  # lon, lat: ~175 km x 165 km, so some filings conflict
CENTRE = (9.25, 50.75)  # the aircraft circle here, close enough to each other for alerts
LOGS = OUT / "soak_logs"


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _iso_ms(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Instance:
    """One ``deconline serve`` on a fixed port, which can be killed (SIGKILL) and started again."""

    def __init__(self, name: str, db_url: str, port: int, checkpoint_every: float) -> None:
        self.name, self.db_url, self.port, self.checkpoint_every = name, db_url, port, checkpoint_every
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        command = [sys.executable, "-m", "deconline", "--db", self.db_url, "serve", "--port", str(self.port)]
        command += ["--quiet", "--rate-limit", "off", "--checkpoint-every", str(self.checkpoint_every)]
        LOGS.mkdir(parents=True, exist_ok=True)
        if self.log is None:
            self.log = (LOGS / f"instance-{self.name}.log").open("wb")
        self.starts += 1
        self.log.write(f"--- start {self.starts} at {time.strftime('%H:%M:%S')}\n".encode())
        self.log.flush()
        self.proc = subprocess.Popen(
            command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=self.log, stdin=subprocess.DEVNULL
        )

    def kill(self) -> None:
        """``kill -9`` of the process group, and reap it."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def cpu_s(self) -> float | None:
        """CPU seconds the process has used so far (Linux ``/proc``; None elsewhere)."""
        try:
            assert self.proc is not None
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (AssertionError, OSError, ValueError, IndexError):
            return None

    def close(self) -> None:
        self.kill()
        if self.log is not None:
            self.log.close()

    def readyz(self, timeout: float = 1.0) -> tuple[int, dict[str, Any]] | None:
        """Status and body of ``/readyz``, or None when nothing answers."""
        try:
            response = httpx.get(f"{self.url}/readyz", timeout=timeout)
            return response.status_code, response.json()
        except (httpx.HTTPError, ValueError):
            return None

    def wait_ready(self, limit_s: float = 60.0) -> tuple[float, float, dict[str, Any] | None]:
        """Seconds from now until the port answers at all and until ``/readyz`` answers 200, and the
        last not-ready answer in between; raises if the process dies or never gets there."""
        began = time.perf_counter()
        listening: float | None = None
        not_ready: dict[str, Any] | None = None
        while time.perf_counter() - began < limit_s:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"instance {self.name} exited; see {LOGS / f'instance-{self.name}.log'}")
            answer = self.readyz()
            if answer is not None:
                now = time.perf_counter() - began
                listening = now if listening is None else listening
                if answer[0] == 200:
                    return listening, now, not_ready
                not_ready = answer[1]
            time.sleep(0.05)
        raise RuntimeError(f"instance {self.name} not ready after {limit_s:.0f} s: {self.readyz()}")


@dataclass
class Ledger:
    """Everything the clients were told was done (2xx), and what they were not."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    operations: list[tuple[int, str, str]] = field(default_factory=list)  # owner, id, name
    messages: list[tuple[int, str, str]] = field(default_factory=list)  # sender, id, text
    acks: list[tuple[int, str]] = field(default_factory=list)  # recipient, message id
    tracks: dict[tuple[int, str], float] = field(default_factory=dict)  # owner, aircraft: newest report time
    acked: Counter[str] = field(default_factory=Counter)
    not_acked: Counter[str] = field(default_factory=Counter)  # "kind: why"
    states: Counter[str] = field(default_factory=Counter)  # filings' answers: accepted / proposed
    retried: int = 0  # writes sent again, the same bytes, after no answer
    resent_answered: int = 0  # writes answered after being sent again
    replayed: Counter[str] = field(default_factory=Counter)  # answers marked Idempotent-Replayed, by status
    inboxes: list[list[str]] = field(default_factory=list)  # per client: messages it may acknowledge
    unanswered_filings: set[str] = field(default_factory=set)  # names of filings without a 2xx

    def total(self) -> int:
        return sum(self.acked.values())


class LoadClient:
    """One party sending a mix of signed writes, to either instance, until told to stop."""

    def __init__(
        self, index: int, n: int, token: str, key: Ed25519PrivateKey, urls: list[str], ledger: Ledger, seed: int
    ) -> None:
        self.index, self.n, self.key, self.urls, self.ledger = index, n, key, urls, ledger
        self.rng = random.Random(seed * 1000 + index)
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=15)
        self.prefer = index % len(urls)
        self.sent = 0
        self._line_id: str | None = None

    def line_id(self) -> str:
        if self._line_id is None:
            for attempt in range(100):
                try:
                    self._line_id = self.http.get(f"{self.urls[attempt % len(self.urls)]}/v1/whoami").json()["line"]
                    break
                except (httpx.TransportError, ValueError, KeyError):
                    time.sleep(0.2)
        assert self._line_id is not None
        return self._line_id

    def send(self, path: str, body: dict[str, Any]) -> httpx.Response | str:
        """The response, or why there is none after RETRY_FOR_S. The statement is signed once and
        sent again, the same bytes, to either instance, whenever no answer comes (a refused
        connection, a cut one, a timeout, a 5xx): the line carries it out once."""
        action = action_for("POST", path)
        assert action is not None
        sealed = seal(self.key, self.line_id(), action, body)
        headers = {SIGNATURE_HEADER: sealed.signature, "Content-Type": PAYLOAD_TYPE}
        deadline = time.monotonic() + RETRY_FOR_S
        why = "not sent"
        attempt = 0
        while time.monotonic() < deadline:
            url = self.urls[self.prefer]
            try:
                response = self.http.post(f"{url}{path}", content=sealed.statement, headers=headers)
            except httpx.TransportError as exc:  # refused (nothing sent), or sent without an answer
                why = f"no answer ({type(exc).__name__})"
            else:
                if response.status_code < 500:
                    if attempt:
                        with self.ledger.lock:
                            self.ledger.resent_answered += 1
                    if response.headers.get("Idempotent-Replayed") == "true":
                        with self.ledger.lock:
                            self.ledger.replayed[f"{response.status_code}"] += 1
                    return response
                why = f"HTTP {response.status_code}"
            attempt += 1
            self.prefer = (self.prefer + 1) % len(self.urls)
            with self.ledger.lock:
                self.ledger.retried += 1
            if attempt % len(self.urls) == 0:
                time.sleep(0.2)  # both failed: the killed one restarts, the other is busy
        return why

    def _filing(self) -> tuple[str, dict[str, Any]]:
        centre = (self.rng.uniform(*AREA[0]), self.rng.uniform(*AREA[1]))
        body = {"name": f"soak c{self.index} #{self.sent}", "volumes": [volume(self.rng, time.time() + 3600, centre)]}
        return "/v1/operations", body

    def _message(self) -> tuple[str, dict[str, Any]]:
        to = self.rng.choice([k for k in range(self.n) if k != self.index])
        body = {
            "recipients": [f"p{to}"],
            "kind": "notice",
            "text": f"soak c{self.index} #{self.sent}: stay clear of the area for the next hour",
            "references": [],
            "proposal": None,
            "requires_ack": self.rng.random() < 0.5,
        }
        return "/v1/messages", body

    def _tracks(self) -> tuple[str, dict[str, Any]]:
        """Two aircraft circling CENTRE at radii that bring them near the other clients' aircraft."""
        now = time.time()
        reports = []
        for k in range(2):
            radius_m = 6000.0 + 1500.0 * self.index + 700.0 * k
            omega = (0.004 + 0.001 * ((self.index + k) % 3)) * (1 if (self.index + k) % 2 else -1)
            theta = omega * now + k * math.pi
            east, north = radius_m * math.cos(theta), radius_m * math.sin(theta)
            ve, vn = -omega * radius_m * math.sin(theta), omega * radius_m * math.cos(theta)
            lat = CENTRE[1] + north / 111_320.0
            lon = CENTRE[0] + east / (111_320.0 * math.cos(math.radians(CENTRE[1])))
            reports.append(
                {
                    "id": f"SOAK{self.index}{k}",
                    "lat": lat,
                    "lon": lon,
                    "alt_m": 5000.0 + 150.0 * k,
                    "gs_mps": math.hypot(ve, vn),
                    "track_deg": math.degrees(math.atan2(ve, vn)) % 360.0,
                    "vrate_mps": 0.0,
                    "time": _iso_ms(now),
                }
            )
        return "/v1/tracks", {"tracks": reports}

    def step(self) -> None:
        kind = self.rng.choices(KINDS, WEIGHTS)[0]
        message_id = None
        if kind == "ack":
            with self.ledger.lock:
                inbox = self.ledger.inboxes[self.index]
                message_id = inbox.pop(self.rng.randrange(len(inbox))) if inbox else None
            if message_id is None:
                kind = "message"
        if kind == "filing":
            path, body = self._filing()
        elif kind == "message":
            path, body = self._message()
        elif kind == "ack":
            path, body = f"/v1/messages/{message_id}/ack", {}
        else:
            path, body = self._tracks()
        self.sent += 1
        answer = self.send(path, body)
        with self.ledger.lock:
            if not isinstance(answer, str) and answer.status_code == 409 and answer.headers.get("Idempotent-Replayed"):
                self.ledger.acked[f"{kind} (carried out, first answer lost)"] += 1
                if kind == "filing":
                    self.ledger.unanswered_filings.add(body["name"])
                return
            if isinstance(answer, str) or not answer.is_success:
                why = answer if isinstance(answer, str) else f"HTTP {answer.status_code}"
                self.ledger.not_acked[f"{kind}: {why}"] += 1
                if kind == "filing":
                    self.ledger.unanswered_filings.add(body["name"])
                return
            self.ledger.acked[kind] += 1
            if kind == "filing":
                result = answer.json()
                self.ledger.operations.append((self.index, result["id"], body["name"]))
                self.ledger.states[result["state"]] += 1
            elif kind == "message":
                result = answer.json()
                self.ledger.messages.append((self.index, result["id"], body["text"]))
                to = int(body["recipients"][0][1:])
                self.ledger.inboxes[to].append(result["id"])
            elif kind == "ack":
                assert message_id is not None
                self.ledger.acks.append((self.index, message_id))
            else:
                for report in body["tracks"]:
                    self.ledger.tracks[(self.index, report["id"])] = _epoch(report["time"])

    def run(self, stop: threading.Event, pause: float) -> None:
        try:
            while not stop.is_set():
                self.step()
                stop.wait(self.rng.uniform(0.5, 1.5) * pause)
        finally:
            self.http.close()


class CheckpointWatcher:
    """Fetches the checkpoint every ``every`` seconds from whichever instance answers."""

    def __init__(self, urls: list[str], token: str, every: float = 0.5) -> None:
        self.urls, self.every = urls, every
        self.http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=5)
        self.notes: dict[str, float] = {}  # note text -> first seen (perf_counter)
        self.order: list[str] = []  # every answer in order, to see whether sizes ever went down
        self.fetches = 0
        self.failures = 0

    def fetch(self) -> str | None:
        for k in range(len(self.urls)):
            url = self.urls[(self.fetches + k) % len(self.urls)]
            try:
                response = self.http.get(f"{url}/v1/record/checkpoint")
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                return response.text
        return None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            note = self.fetch()
            self.fetches += 1
            if note is None:
                self.failures += 1
            else:
                self.order.append(note)
                self.notes.setdefault(note, time.perf_counter())
            stop.wait(self.every)


def _get(http: httpx.Client, urls: list[str], path: str, attempts: int = 5) -> httpx.Response | None:
    """GET from either instance, a few times over (a missing answer is not a lost write)."""
    for attempt in range(attempts):
        try:
            response = http.get(f"{urls[attempt % len(urls)]}{path}")
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if response.status_code < 500:
            return response
        time.sleep(0.2)
    return None


def verify_writes(ledger: Ledger, tokens: list[tuple[str, Any]], urls: list[str]) -> dict[str, Any]:
    """Read every acknowledged write back as its owner; each one missing is a lost write."""
    clients = [httpx.Client(headers={"Authorization": f"Bearer {t}"}, timeout=15) for t, _ in tokens]
    lost: list[str] = []
    unread: list[str] = []
    lock = threading.Lock()

    def note(kind: str, what: str, response: httpx.Response | None) -> None:
        with lock:
            if response is None:
                unread.append(f"{kind} {what}: no answer")
            else:
                lost.append(f"{kind} {what}: HTTP {response.status_code} {response.text[:120]}")

    def check_operation(item: tuple[int, str, str]) -> None:
        owner, op_id, name = item
        response = _get(clients[owner], urls[owner % 2 :] + urls[: owner % 2], f"/v1/operations/{op_id}")
        if response is None or response.status_code != 200 or response.json().get("name") != name:
            note("operation", f"{op_id} of p{owner}", response)

    def check_message(item: tuple[int, str, str]) -> None:
        owner, message_id, text = item
        response = _get(clients[owner], urls[(owner + 1) % 2 :] + urls[: (owner + 1) % 2], f"/v1/messages/{message_id}")
        if response is None or response.status_code != 200 or response.json().get("text") != text:
            note("message", f"{message_id} of p{owner}", response)

    def check_ack(item: tuple[int, str]) -> None:
        owner, message_id = item
        response = _get(clients[owner], urls, f"/v1/messages/{message_id}")
        if response is None or response.status_code != 200 or f"p{owner}" not in response.json()["acknowledged_by"]:
            note("acknowledgement", f"of {message_id} by p{owner}", response)

    def check_tracks(owner: int) -> None:
        response = _get(clients[owner], urls, "/v1/tracks")
        stored = {}
        if response is not None and response.status_code == 200:
            stored = {t["id"]: _epoch(t["time"]) for t in response.json() if t.get("party") == f"p{owner}"}
        for (who, aircraft), newest in ledger.tracks.items():
            if who == owner and stored.get(aircraft, -1.0) < newest - 0.002:
                note("track report", f"{aircraft} of p{owner} at {_iso_ms(newest)}", response)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(check_operation, ledger.operations))
        list(pool.map(check_message, ledger.messages))
        list(pool.map(check_ack, ledger.acks))
        list(pool.map(check_tracks, range(len(tokens))))
    stored = _stored_filings(clients, urls)
    texts = _stored_messages(clients, urls)
    acked = {name for _, _, name in ledger.operations}
    for c in clients:
        c.close()
    return {
        "lost": lost,
        "unread": unread,
        "unanswered_but_stored": sum(1 for name in ledger.unanswered_filings if name in stored),
        "unanswered_filings": len(ledger.unanswered_filings),
        "stored_never_sent": sorted(n for n in stored if n not in acked and n not in ledger.unanswered_filings),
        "stored_twice": sorted(n for n, count in stored.items() if count > 1),
        "messages_stored_twice": sorted(t for t, count in texts.items() if count > 1),
    }


def _stored_messages(clients: list[httpx.Client], urls: list[str]) -> Counter[str]:
    """Every party's sent messages, by text (each message's text is unique; at most 1,000 each)."""
    texts: Counter[str] = Counter()
    for http in clients:
        response = _get(http, urls, "/v1/messages?box=out&limit=1000")
        if response is None or response.status_code != 200:
            raise RuntimeError(f"messages could not be listed: {response.text if response else 'no answer'}")
        texts.update(m["text"] for m in response.json() if str(m["text"]).startswith("soak "))
    return texts


def _stored_filings(clients: list[httpx.Client], urls: list[str]) -> Counter[str]:
    """Every party's stored operations, by name (each filing's name is unique)."""
    names: Counter[str] = Counter()
    for http in clients:
        offset = 0
        while True:
            response = _get(http, urls, f"/v1/operations?limit=1000&offset={offset}")
            if response is None or response.status_code != 200:
                raise RuntimeError(f"operations could not be listed: {response.text if response else 'no answer'}")
            page = response.json()
            names.update(op["name"] for op in page)
            if len(page) < 1000:
                break
            offset += len(page)
    return names


def verify_checkpoints(
    notes: list[str], final: str, key_text: str, http: httpx.Client, urls: list[str]
) -> dict[str, Any]:
    """Every checkpoint seen: signed with the record key, and consistent with the final one."""
    verifier = parse_verifier_key(key_text)
    last = open_checkpoint(final, verifier)
    bad_signature: list[str] = []
    inconsistent: list[str] = []
    opened: list[Checkpoint] = []
    for note in notes:
        try:
            opened.append(open_checkpoint(note, verifier))
        except NoteError as exc:
            bad_signature.append(f"{note.splitlines()[:2]}: {exc}")
    for cp in opened:
        try:
            if cp.size == last.size:
                verify_consistency(cp.size, last.size, cp.root, last.root, [])
                continue
            response = _get(http, urls, f"/v1/record/proof/consistency?first={cp.size}&second={last.size}")
            if response is None or response.status_code != 200:
                inconsistent.append(f"size {cp.size}: no proof ({response.status_code if response else 'no answer'})")
                continue
            proof = [base64.b64decode(h) for h in response.json()["hashes"]]
            verify_consistency(cp.size, last.size, cp.root, last.root, proof)
        except ProofError as exc:
            inconsistent.append(f"size {cp.size} -> {last.size}: {exc}")
    by_size: dict[int, set[bytes]] = {}
    for cp in opened:
        by_size.setdefault(cp.size, set()).add(cp.root)
    forks = sorted(size for size, roots in by_size.items() if len(roots) > 1)
    return {
        "final_size": last.size,
        "bad_signature": bad_signature,
        "inconsistent": inconsistent,
        "forks": forks,
        "consistent": len(opened) - len(inconsistent),
    }


def _p50(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole soak on one new database; the figures."""
    with database(args.db) as db_url:
        say(f"database {args.db}; parties and agreement for {args.clients} clients")
        tokens = setup(db_url, args.clients)
        instances = [Instance(name, db_url, _free_port(), args.checkpoint_every) for name in ("a", "b")]
        try:
            return _soak(args, tokens, instances)
        finally:
            for inst in instances:
                inst.close()


def _leader(instances: list[Instance], limit_s: float = 30.0) -> int:
    began = time.perf_counter()
    while time.perf_counter() - began < limit_s:
        for k, inst in enumerate(instances):
            answer = inst.readyz()
            if answer is not None and answer[1].get("leader"):
                return k
        time.sleep(0.05)
    raise RuntimeError(f"no instance leads after {limit_s:.0f} s")


def _takeover(survivor: Instance, killed_at: float, limit_s: float = 30.0) -> float:
    while time.perf_counter() - killed_at < limit_s:
        answer = survivor.readyz(timeout=2.0)
        if answer is not None and answer[1].get("leader"):
            return time.perf_counter() - killed_at
        time.sleep(0.02)
    raise RuntimeError(f"instance {survivor.name} did not take over within {limit_s:.0f} s: {survivor.readyz()}")


def _soak(args: argparse.Namespace, tokens: list[tuple[str, Any]], instances: list[Instance]) -> dict[str, Any]:
    for inst in instances:
        inst.start()
    for inst in instances:
        inst.wait_ready()
    urls = [inst.url for inst in instances]
    say(f"instances a {urls[0]}, b {urls[1]}; load from {args.clients} clients")
    ledger = Ledger(inboxes=[[] for _ in tokens])
    stop_load, stop_watch = threading.Event(), threading.Event()
    clients = [LoadClient(k, len(tokens), t, key, urls, ledger, args.seed) for k, (t, key) in enumerate(tokens)]
    watcher = CheckpointWatcher(urls, tokens[0][0])
    threads = [threading.Thread(target=c.run, args=(stop_load, args.pause), daemon=True) for c in clients]
    threads.append(threading.Thread(target=watcher.run, args=(stop_watch,), daemon=True))
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    time.sleep(2.0)  # the load gets going before the first kill
    cycles: list[dict[str, Any]] = []
    for cycle in range(1, args.cycles + 1):
        leading = _leader(instances)
        victim, survivor = instances[leading], instances[1 - leading]
        killed_at = time.perf_counter()
        victim.kill()
        takeover = _takeover(survivor, killed_at)
        victim.start()
        listening, restart, not_ready = victim.wait_ready()
        cpu = victim.cpu_s()
        cycles.append(
            {
                "cycle": cycle,
                "killed": victim.name,
                "takeover_s": takeover,
                "restart_listening_s": listening,
                "restart_ready_s": restart,
                "restart_cpu_s": cpu,
                "load_average_1min": os.getloadavg()[0],
                **({"not_ready_checks": not_ready.get("checks")} if not_ready else {}),
            }
        )
        with ledger.lock:
            acked, failed = ledger.total(), sum(ledger.not_acked.values())
        say(
            f"cycle {cycle}/{args.cycles}: killed {victim.name} (leader), {survivor.name} leads after "
            f"{takeover:.2f} s, {victim.name} answers after {listening:.2f} s, ready after {restart:.2f} s "
            f"({cpu if cpu is not None else float('nan'):.2f} s CPU); "
            f"{acked} writes acknowledged, {failed} not, {len(watcher.notes)} checkpoints seen"
        )
        time.sleep(1.0)
    stop_load.set()
    for thread in threads[:-1]:
        thread.join()
    duration = time.perf_counter() - began
    say(f"load stopped after {duration:.0f} s; waiting for the last checkpoints")
    time.sleep(max(3.0, 3 * args.checkpoint_every))
    stop_watch.set()
    threads[-1].join()
    final = watcher.fetch()
    if final is None:
        raise RuntimeError("no checkpoint at the end")
    say(f"reading back {ledger.total()} acknowledged writes")
    writes = verify_writes(ledger, tokens, urls)
    with httpx.Client(headers={"Authorization": f"Bearer {tokens[0][0]}"}, timeout=15) as http:
        key_response = _get(http, urls, "/v1/record/key")
        if key_response is None or key_response.status_code != 200:
            raise RuntimeError("the record key could not be read")
        seen = list(watcher.notes)
        record = verify_checkpoints(seen, final, key_response.text, http, urls)
    sizes = [int(n.split("\n")[1]) for n in watcher.order]
    regressions = sum(1 for a, b in itertools.pairwise(sizes) if b < a)
    takeovers = [c["takeover_s"] for c in cycles]
    restarts = [c["restart_ready_s"] for c in cycles]
    answering = [c["restart_listening_s"] for c in cycles]
    cpus = [c["restart_cpu_s"] for c in cycles if c["restart_cpu_s"] is not None]
    return {
        "db": args.db,
        "cycles": len(cycles),
        "clients": args.clients,
        "seed": args.seed,
        "pause_s": args.pause,
        "checkpoint_every_s": args.checkpoint_every,
        "duration_s": round(duration, 1),
        "acknowledged": {kind: ledger.acked[kind] for kind in KINDS},
        "acknowledged_total": ledger.total(),
        "filing_states": dict(ledger.states),
        "not_acknowledged": dict(ledger.not_acked.most_common()),
        "carried_out_answer_lost": {k: v for k, v in ledger.acked.items() if k not in KINDS},
        "writes_sent_again": ledger.retried,
        "writes_answered_after_resending": ledger.resent_answered,
        "answers_replayed": dict(ledger.replayed),
        "writes_never_answered": sum(ledger.not_acked.values()),
        "lost": len(writes["lost"]),
        "lost_detail": writes["lost"][:50],
        "filings_unanswered": writes["unanswered_filings"],
        "filings_unanswered_but_stored": writes["unanswered_but_stored"],
        "filings_stored_never_sent": writes["stored_never_sent"][:50],
        "filings_stored_twice": writes["stored_twice"][:50],
        "messages_stored_twice": writes["messages_stored_twice"][:50],
        "unread": writes["unread"][:50],
        "checkpoints_seen": len(seen),
        "checkpoints_consistent": record["consistent"],
        "checkpoints_inconsistent": record["inconsistent"],
        "checkpoints_bad_signature": record["bad_signature"],
        "checkpoint_forks": record["forks"],
        "checkpoint_size_regressions": regressions,
        "checkpoint_fetches": watcher.fetches,
        "checkpoint_fetch_failures": watcher.failures,
        "final_checkpoint_size": record["final_size"],
        "takeover_s_p50": _p50(takeovers),
        "takeover_s_max": round(max(takeovers, default=0.0), 3),
        "restart_ready_s_p50": _p50(restarts),
        "restart_ready_s_max": round(max(restarts, default=0.0), 3),
        "restart_listening_s_p50": _p50(answering),
        "restart_listening_s_max": round(max(answering, default=0.0), 3),
        "restart_cpu_s_p50": _p50(cpus),
        "per_cycle": [{k: round(v, 3) if isinstance(v, float) else v for k, v in c.items()} for c in cycles],
    }


def failures(r: dict[str, Any]) -> list[str]:
    """The missed targets, each as a sentence with its figures."""
    found = []
    if r["lost"]:
        found.append(f"{r['lost']} acknowledged writes lost, e.g. {r['lost_detail'][:3]}")
    if r["unread"]:
        found.append(f"{len(r['unread'])} acknowledged writes could not be read back: {r['unread'][:3]}")
    if r["checkpoints_inconsistent"] or r["checkpoints_bad_signature"] or r["checkpoint_forks"]:
        found.append(
            f"checkpoints: {len(r['checkpoints_inconsistent'])} inconsistent {r['checkpoints_inconsistent'][:3]}, "
            f"{len(r['checkpoints_bad_signature'])} with a bad signature, forks at sizes {r['checkpoint_forks'][:5]}"
        )
    if r["writes_never_answered"]:
        found.append(f"{r['writes_never_answered']} writes never answered in {RETRY_FOR_S:.0f} s of resending")
    if r["messages_stored_twice"]:
        found.append(f"messages stored twice: {r['messages_stored_twice'][:3]}")
    if r["filings_stored_never_sent"] or r["filings_stored_twice"]:
        found.append(
            f"stored filings never sent: {r['filings_stored_never_sent'][:3]}; "
            f"stored twice: {r['filings_stored_twice'][:3]}"
        )
    slow = [c for c in r["per_cycle"] if c["takeover_s"] > TAKEOVER_LIMIT_S]
    if slow:
        found.append(f"takeover over {TAKEOVER_LIMIT_S:.0f} s in {len(slow)} cycles: {slow[:5]}")
    late = [c for c in r["per_cycle"] if c["restart_ready_s"] > RESTART_LIMIT_S]
    if late:
        found.append(f"restart ready over {RESTART_LIMIT_S:.0f} s in {len(late)} cycles: {late[:5]}")
    return found


def table(r: dict[str, Any]) -> str:
    acked = r["acknowledged"]
    rows = [
        ("cycles (kill -9 of the leader)", f"{r['cycles']} in {r['duration_s']:.0f} s, {r['db']}", ""),
        (
            "acknowledged writes",
            f"{r['acknowledged_total']:,}: {acked['filing']:,} filings, {acked['message']:,} messages, "
            f"{acked['ack']:,} acknowledgements, {acked['tracks']:,} track batches",
            "",
        ),
        (
            "writes sent again (same statement) / answered after resending / answers replayed",
            f"{r['writes_sent_again']:,} / {r['writes_answered_after_resending']:,} / {r['answers_replayed']}",
            "",
        ),
        (
            "carried out, first answer lost (told so by 409 Idempotent-Replayed)",
            str(r["carried_out_answer_lost"] or 0),
            "",
        ),
        ("writes never answered (lost)", f"{r['writes_never_answered']:,}", "0"),
        (
            "filings / messages stored twice (duplicated)",
            f"{len(r['filings_stored_twice'])} / {len(r['messages_stored_twice'])}",
            "0",
        ),
        ("acknowledged writes lost", str(r["lost"]), "0"),
        (
            "checkpoints seen / consistent with the final one",
            f"{r['checkpoints_seen']} / {r['checkpoints_consistent']} (final size {r['final_checkpoint_size']:,})",
            "all",
        ),
        (
            "takeover by the other instance, p50 / max",
            f"{r['takeover_s_p50']:.2f} s / {r['takeover_s_max']:.2f} s",
            "≤ 2 s",
        ),
        (
            "restart to ready, p50 / max",
            f"{r['restart_ready_s_p50']:.2f} s / {r['restart_ready_s_max']:.2f} s "
            f"(first answer p50 {r['restart_listening_s_p50']:.2f} s; "
            f"CPU used by then p50 {r['restart_cpu_s_p50']:.2f} s)",
            "≤ 5 s",
        ),
    ]
    lines = ["| soak | figure | target |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--clients", type=int, default=6, help="client threads, one party each (at least 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--pause", type=float, default=0.1, help="mean seconds between one client's writes")
    parser.add_argument("--checkpoint-every", type=float, default=1.0, help="the instances' checkpoint period")
    args = parser.parse_args()
    if args.clients < 2:
        parser.error("--clients must be at least 2 (messages go to another party)")
    result = run(args)
    OUT.mkdir(exist_ok=True)
    (OUT / "soak.json").write_text(json.dumps(result, indent=2))
    print(table(result))
    print(f"filings: {result['filing_states']}; not acknowledged: {result['not_acknowledged']}")
    missed = failures(result)
    for sentence in missed:
        print(f"FAILED: {sentence}", file=sys.stderr)
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
