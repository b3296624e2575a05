"""Signed filings over HTTP: real uvicorn processes, real sockets, N operations from K clients.

    .venv/bin/python bench/bench_filing.py [--n 2000] [--clients 8] [--pairs]
        [--db sqlite|postgresql] [--instances 1] [--area spread|one|disjoint] [--by-area] [--compare]

Prints filings per second and latency percentiles and writes bench/out/filing*.json.

``--pairs`` files every volume twice, by two parties of different sides: half the filings
conflict, and each conflict tells both sides (two notices, two events, two record entries, a
hotline message). ``--area one`` puts every volume in one 20 km area (every decision waits for
the same cells); ``--area disjoint`` gives each pair of clients its own 20 km area, 300 km from
the next (decisions in different areas do not wait for each other); in both, each volume (each
pair, with ``--pairs``) has a 10-minute slot of its own, so the lock, not the number of
conflicts, is what is measured. ``spread`` scatters random volumes over western Europe and
22 h. ``--instances N`` runs N service processes on the one database, the clients spread over
them (``--by-area``: each disjoint area's clients on one instance, so that with
``BENCH_SERVE_ARGS='--rate-limit off --desk none'`` each area is decided by a process of its
own). After every run the database is checked: no two accepted operations of different parties
may conflict ("double accepts"). Also reported: how long decisions held and waited for their
locks (the instances' /metrics) and the CPU time per filing of the service and of the machine,
and by role (the instances' request processes, their workers and desks, PostgreSQL, the clients).
Every benchmark that starts ``serve`` with ``instance`` starts its clients once the instance and
the processes it started are done starting (their CPU quiet for a second): a second instance's
desk still importing would otherwise count as CPU spent on the filings.

``--compare`` runs, in one go on PostgreSQL with pairs: one area on one instance, one area on
two, disjoint areas on two; and prints the ratios. To measure other code with this script, put
its checkout first on ``PYTHONPATH``, run from that checkout (the service processes inherit
both) and set ``BENCH_SERVE_ARGS`` to the serve options it knows (default ``--rate-limit off``).
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
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import selectinload

from deconline.core.strategic import conflicting_pairs
from deconline.demo import AGREEMENT as DEMO_AGREEMENT
from deconline.record.envelope import PAYLOAD_TYPE, SIGNATURE_HEADER, seal
from deconline.record.signing import generate_key, public_key_b64, sign_document
from deconline.service import agreements, parties
from deconline.service.actors import Actor
from deconline.service.geo import volume_from_row
from deconline.service.line import Line
from deconline.service.rules import in_force
from deconline.store.db import Database
from deconline.store.models import Operation, Setting

OUT = Path(__file__).parent / "out"
PG_ADMIN = os.environ.get("DECONLINE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AREA_KM = 20.0


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def volume(
    rng: random.Random, t0: float, centre: tuple[float, float] | None, slot: int | None = None
) -> dict[str, object]:
    """A box 2-10 km across, 100-1000 m deep, 30 min-3 h long within 22 h; in ``centre``'s 20 km
    area if given. With ``slot`` k: 10 min long, starting 30 min after slot k-1's start, so
    volumes of different slots never conflict (10 min apart, the time buffer's length)."""
    if centre is None:
        lat, lon = 45.5 + rng.uniform(0, 9.0), 5.0 + rng.uniform(0, 13.0)
    else:
        spread = (AREA_KM / 2) / 111.32
        lat = centre[1] + rng.uniform(-spread, spread)
        lon = centre[0] + rng.uniform(-spread, spread) / math.cos(math.radians(centre[1]))
    half = rng.uniform(1.0, 5.0)
    dlat, dlon = half / 111.32, half / (111.32 * math.cos(math.radians(lat)))
    start = t0 + rng.uniform(0, 22 * 3600) if slot is None else t0 + slot * 1800.0
    lower = rng.uniform(0, 10_000)
    ring = [[lon - dlon, lat - dlat], [lon + dlon, lat - dlat], [lon + dlon, lat + dlat], [lon - dlon, lat + dlat]]
    return {
        "footprint": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        "lower_m": lower,
        "upper_m": lower + rng.uniform(100, 1000),
        "start": _iso(start),
        "end": _iso(start + (rng.uniform(1800, 3 * 3600) if slot is None else 600.0)),
    }


def area_centre(area: str, client: int) -> tuple[float, float] | None:
    if area == "one":
        return (10.0, 50.0)
    if area == "disjoint":  # one area per pair of clients, ~300 km apart
        return (2.0 + 4.0 * (client // 2), 48.0)
    return None


def setup(db_url: str, n_parties: int) -> list[tuple[str, Any]]:
    """Parties with keys and a signed agreement; their tokens and keys. An admin token is kept in
    the environment of this process (``BENCH_ADMIN_TOKEN``) to read the instances' metrics."""
    line = Line(Database(db_url))
    os.environ["BENCH_ADMIN_TOKEN"] = parties.initialise(line) or ""
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


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A new database of that kind, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg

    admin = make_url(PG_ADMIN)
    name = f"deconline_bench_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _own_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def _tree(pid: int) -> Iterator[int]:
    """A process and the processes it started that still run (``serve``'s worker and desk), Linux."""
    try:
        children = _children(pid)
    except OSError:  # it ended, or there is no /proc
        return
    yield pid
    for child in children:
        yield from _tree(child)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and of the processes it started and still runs,
    0 where /proc is not there."""
    total = 0.0
    for member in _tree(pid):
        with suppress(OSError):  # a process that ended meanwhile
            total += _own_seconds(member)
    return total


SERVICE_ROLES = ("serve", "worker", "desk", "other")  # the processes of the instances' trees


def cpu_by_role(pids: list[int]) -> dict[str, float]:
    """CPU seconds so far by role: the instances' request processes (``serve``), the worker and
    desk processes they started, PostgreSQL's processes, and this process (the clients); Linux."""
    roles: dict[str, float] = {}

    def add(role: str, pid: int) -> None:
        with suppress(OSError):  # a process that ended meanwhile
            roles[role] = roles.get(role, 0.0) + _own_seconds(pid)

    for member in (m for pid in pids for m in _tree(pid)):
        with suppress(OSError):
            argv = Path(f"/proc/{member}/cmdline").read_bytes().split(b"\0")
            add(next((a.decode() for a in argv if a in (b"serve", b"worker", b"desk")), "other"), member)
    for proc in Path("/proc").iterdir():
        with suppress(OSError, ValueError):
            if proc.name.isdigit() and (proc / "comm").read_text().strip() in ("postgres", "postmaster"):
                add("postgresql", int(proc.name))
    add("clients", os.getpid())
    return roles


def machine_busy_seconds() -> float:
    """CPU time spent by the whole machine so far, all cores (Linux /proc/stat)."""
    try:
        values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def demo_line(db_url: str, keys: Path) -> dict[str, str]:
    """Load the demo scenario (``deconline demo``) onto ``db_url``; its parties' tokens (keys in ``keys``)."""
    command = [sys.executable, "-m", "deconline", "--db", db_url, "demo", "--keys-dir", str(keys)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    tokens: dict[str, str] = json.loads((keys / "tokens.json").read_text())
    return tokens


@contextmanager
def instance(db_url: str) -> Iterator[tuple[str, int]]:
    """``deconline serve`` in its own process (no per-token limit: the service's throughput is
    measured), once it and the processes it started are done starting."""
    port = _free_port()
    command = [sys.executable, "-m", "deconline", "--db", db_url, "serve", "--port", str(port), "--quiet"]
    command += os.environ.get("BENCH_SERVE_ARGS", "--rate-limit off").split()
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        wait_until_settled([proc.pid])
        yield url, proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_for_desk(db_url: str, timeout_s: float = 20.0) -> bool:
    """Wait until a filing desk leads (``serve`` starts one on PostgreSQL unless told ``--desk
    none``), so that the run measures it from its first filing; False if none does (other code)."""
    if "--desk none" in os.environ.get("BENCH_SERVE_ARGS", "") or db_url.startswith("sqlite"):
        return False
    db = Database(db_url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with db.read() as session:
                if session.scalar(select(Setting).where(Setting.key.startswith("filing_desk"))) is not None:
                    return True
            time.sleep(0.1)
        return False
    finally:
        db.dispose()


def wait_until_settled(pids: list[int], timeout_s: float = 30.0) -> None:
    """Wait until the instances and the processes they started (worker, desk) are done starting:
    a process still importing when the clients begin would be counted as the filings' CPU, and
    take cores from them, which no instance that has been running a while does."""
    deadline, quiet, last = time.monotonic() + timeout_s, 0, sum(cpu_seconds(pid) for pid in pids)
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
        now = sum(cpu_seconds(pid) for pid in pids)
        quiet, last = (quiet + 1 if now - last < 0.05 * len(pids) else 0), now


def _metrics(urls: list[str]) -> list[str]:
    headers = {"Authorization": f"Bearer {os.environ.get('BENCH_ADMIN_TOKEN', '')}"}
    return [line for url in urls for line in httpx.get(f"{url}/metrics", headers=headers, timeout=30).text.splitlines()]


def desk_figures(urls: list[str]) -> dict[str, int]:
    """Filings the instances sent to the filing desk: decided there, or by themselves."""
    found: dict[str, int] = {}
    for line in _metrics(urls):
        if line.startswith("deconline_desk_filings_total{"):
            by = line.split('"')[1]
            found[by] = found.get(by, 0) + int(float(line.rsplit(" ", 1)[1]))
    return found


def lock_figures(urls: list[str]) -> tuple[float, float, float]:
    """Mean time a decision held its locks, and waited for them, and the mean number of filings
    decided together, over all instances (from /metrics)."""
    sums: dict[str, float] = {}
    for line in _metrics(urls):
        name, _, value = line.partition(" ")
        if name.startswith(("deconline_strategic_lock_", "deconline_decision_batch_size")) and name.endswith(
            ("_sum", "_count")
        ):
            sums[name] = sums.get(name, 0.0) + float(value)

    def mean(kind: str) -> float:
        count = sums.get(f"deconline_strategic_lock_{kind}_seconds_count", 0.0)
        return round(1000 * sums.get(f"deconline_strategic_lock_{kind}_seconds_sum", 0.0) / count, 2) if count else 0.0

    batches = sums.get("deconline_decision_batch_size_count", 0.0)
    batch = round(sums.get("deconline_decision_batch_size_sum", 0.0) / batches, 2) if batches else 1.0
    return mean("hold"), mean("wait"), batch


def double_accepts(db_url: str) -> int:
    """Pairs of accepted operations of different parties that conflict: must be 0."""
    line = Line(Database(db_url))
    with line.db.read() as session:
        agreement = in_force(session)
        assert agreement is not None
        ops = session.scalars(
            select(Operation).where(Operation.state == "accepted").options(selectinload(Operation.volumes))
        ).all()
        items = [(op.id, volume_from_row(v), op.party_id) for op in ops for v in op.volumes]
    line.db.dispose()
    pairs = conflicting_pairs(items, agreement.strategic_rules)
    return sum(1 for i, j in pairs if items[i][2] != items[j][2])


@dataclass
class Run:
    db: str
    instances: int
    area: str
    pairs: bool
    n: int
    clients: int
    seed: int
    by_area: bool = False  # each disjoint area's clients on one instance (else client i on instance i mod N)

    @property
    def label(self) -> str:
        what = {"one": "one area", "disjoint": "disjoint areas", "spread": "spread"}[self.area]
        return f"{self.db}, {self.instances} instance{'s' if self.instances > 1 else ''}, {what}" + (
            ", an instance an area" if self.by_area else ""
        )

    def instance_of(self, client: int) -> int:
        return (client // 2 if self.by_area else client) % self.instances


def run(config: Run) -> dict[str, Any]:
    rng = random.Random(config.seed)
    with database(config.db) as db_url, ExitStack() as stack:
        tokens = setup(db_url, config.clients)
        started = [stack.enter_context(instance(db_url)) for _ in range(config.instances)]
        urls, pids = [url for url, _ in started], [pid for _, pid in started]
        with_desk = wait_for_desk(db_url)
        t0 = time.time() + 3600
        bodies: list[dict[str, Any]] = []
        for i in range(config.n):
            client = i % config.clients
            if config.pairs and i % 2 == 1:  # the next client (another party) files the same volume
                bodies.append(bodies[-1])
            else:
                slot = None if config.area == "spread" else i // 2  # one area: pairs conflict, slots do not
                bodies.append({"volumes": [volume(rng, t0, area_centre(config.area, client), slot)]})
        clients = [
            httpx.Client(base_url=urls[config.instance_of(c)], headers={"Authorization": f"Bearer {token}"}, timeout=60)
            for c, (token, _) in enumerate(tokens)
        ]
        line_id = clients[0].get("/v1/whoami").json()["line"]
        statements = [seal(tokens[i % len(tokens)][1], line_id, "operation.file", b) for i, b in enumerate(bodies)]
        latencies: list[float] = []
        states: dict[str, int] = {}

        def file(i: int) -> None:
            start = time.perf_counter()
            headers = {SIGNATURE_HEADER: statements[i].signature, "Content-Type": PAYLOAD_TYPE}
            response = clients[i % len(clients)].post(
                "/v1/operations", content=statements[i].statement, headers=headers
            )
            latencies.append(time.perf_counter() - start)
            if response.status_code != 201:
                raise RuntimeError(response.text)
            state = response.json()["state"]
            states[state] = states.get(state, 0) + 1

        print(f"  {config.label}: {config.n} filings from {config.clients} clients", file=sys.stderr)
        began = time.perf_counter()
        roles_before, machine_cpu = cpu_by_role(pids), machine_busy_seconds()
        with ThreadPoolExecutor(config.clients) as pool:
            for done, _ in enumerate(pool.map(file, range(config.n)), 1):
                if done % 1000 == 0:
                    print(f"    {done}/{config.n} filed", file=sys.stderr)
        elapsed = time.perf_counter() - began
        machine_cpu = machine_busy_seconds() - machine_cpu
        roles = {role: seconds - roles_before.get(role, 0.0) for role, seconds in cpu_by_role(pids).items()}
        service_cpu = sum(seconds for role, seconds in roles.items() if role in SERVICE_ROLES)
        for c in clients:
            c.close()
        held, waited, batch = lock_figures(urls)
        desk = desk_figures(urls) if with_desk else {}
        doubles = double_accepts(db_url)
    latencies.sort()
    return {
        "label": config.label,
        "db": config.db,
        "instances": config.instances,
        "area": config.area,
        "pairs": config.pairs,
        "operations": config.n,
        "clients": config.clients,
        "seconds": round(elapsed, 3),
        "ops_per_s": round(config.n / elapsed, 1),
        "latency_ms_p50": round(1000 * latencies[len(latencies) // 2], 2),
        "latency_ms_p99": round(1000 * latencies[int(len(latencies) * 0.99)], 2),
        "states": states,
        "double_accepts": doubles,
        "lock_hold_ms_mean": held,
        "lock_wait_ms_mean": waited,
        "batch_mean": batch,
        "desk": desk,
        "service_cpu_ms_per_filing": round(1000 * service_cpu / config.n, 2),
        "machine_cpu_ms_per_filing": round(1000 * machine_cpu / config.n, 2),
        "machine_busy": round(machine_cpu / elapsed / (os.cpu_count() or 1), 2),
        "cpu_ms_per_filing_by_role": {role: round(1000 * s / config.n, 2) for role, s in sorted(roles.items())},
    }


def _table(results: list[dict[str, Any]]) -> None:
    print("| signed filings over HTTP | filings | clients | filings/s | p50 ms | p99 ms | double accepts |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        row = [r["operations"], r["clients"], r["ops_per_s"], r["latency_ms_p50"], r["latency_ms_p99"]]
        print(f"| {r['label']} | " + " | ".join(str(x) for x in row) + f" | {r['double_accepts']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pairs", action="store_true", help="every volume filed twice, by two parties")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--area", choices=["spread", "one", "disjoint"], default="spread")
    parser.add_argument("--compare", action="store_true", help="one area on 1 and 2 instances, disjoint on 2 (PG)")
    parser.add_argument(
        "--by-area",
        action="store_true",
        help="with --area disjoint: each area's clients on one instance (with BENCH_SERVE_ARGS='--desk none', "
        "each area decided by its own process)",
    )
    args = parser.parse_args()
    if args.by_area and args.area != "disjoint":
        parser.error("--by-area needs --area disjoint")
    if args.compare:
        configs = [
            Run("postgresql", 1, "one", True, args.n, args.clients, args.seed),
            Run("postgresql", 2, "one", True, args.n, args.clients, args.seed),
            Run("postgresql", 2, "disjoint", True, args.n, args.clients, args.seed),
        ]
    else:
        configs = [Run(args.db, args.instances, args.area, args.pairs, args.n, args.clients, args.seed, args.by_area)]
    results = [run(c) for c in configs]
    OUT.mkdir(exist_ok=True)
    if args.compare:
        name = "filing_instances.json"
    else:
        name = "filing_pairs.json" if args.pairs and args.area == "spread" else "filing.json"
        if args.db != "sqlite" or args.instances > 1 or args.area != "spread":
            name = f"filing_{args.db}_{args.instances}x_{args.area}{'_pairs' if args.pairs else ''}"
            name += "_by_area.json" if args.by_area else ".json"
    (OUT / name).write_text(json.dumps(results, indent=2))
    _table(results)
    for r in results:
        print(
            f"{r['label']}: states {r['states']}; locks held {r['lock_hold_ms_mean']} ms, waited "
            f"{r['lock_wait_ms_mean']} ms (means), {r.get('batch_mean', 1.0)} filings a transaction; "
            f"CPU per filing: service {r['service_cpu_ms_per_filing']} ms, "
            f"whole machine {r['machine_cpu_ms_per_filing']} ms (clients and PostgreSQL included); "
            f"cores busy {100 * r['machine_busy']:.0f} %; by role (ms a filing) {r['cpu_ms_per_filing_by_role']}"
            + (
                f"; decided by the filing desk {r['desk'].get('desk', 0)}, by the servers {r['desk'].get('here', 0)}"
                if r.get("desk")
                else ""
            )
        )
    if args.compare:
        one, two, apart = (r["ops_per_s"] for r in results)
        print(f"two instances / one, one area: {two / one:.2f}x; disjoint / one area (2 instances): {apart / two:.2f}x")
    if any(r["double_accepts"] for r in results):
        sys.exit("double accepts found: two conflicting operations of different parties are both accepted")


if __name__ == "__main__":
    main()
