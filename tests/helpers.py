"""Small builders shared by the tests: a settable clock, volumes, a ready-made line."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from deconline.api.app import create_app
from deconline.api.deps import SIGNATURE_HEADER
from deconline.client import Client
from deconline.record.actions import action_for
from deconline.record.envelope import PAYLOAD_TYPE, Sealed, created_at, seal
from deconline.record.signing import generate_key, public_key_b64, sign_document
from deconline.service import agreements, parties, record
from deconline.service.actors import Actor
from deconline.service.line import Line
from deconline.store.db import Database

T0 = datetime(2036, 11, 23, 6, 0, tzinfo=UTC)  # in the future: a running service never ends these operations as past


@dataclass
class Clock:
    now: float = T0.timestamp()

    def __call__(self) -> float:
        return self.now


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def ring(lon: float, lat: float, half_km: float) -> list[list[float]]:
    dlat = half_km / 111.32
    dlon = half_km / (111.32 * math.cos(math.radians(lat)))
    return [
        [lon - dlon, lat - dlat],
        [lon + dlon, lat - dlat],
        [lon + dlon, lat + dlat],
        [lon - dlon, lat + dlat],
        [lon - dlon, lat - dlat],
    ]


def box(
    lon: float = 10.0,
    lat: float = 50.0,
    half_km: float = 5.0,
    lower: float = 1000.0,
    upper: float = 2000.0,
    start_h: float = 1.0,
    end_h: float = 2.0,
) -> dict[str, Any]:
    """A native volume: a square footprint about 2*half_km across."""
    return {
        "footprint": {"type": "Polygon", "coordinates": [ring(lon, lat, half_km)]},
        "lower_m": lower,
        "upper_m": upper,
        "start": at(start_h),
        "end": at(end_h),
    }


def circle(lon: float, lat: float, radius_m: float, **kw: Any) -> dict[str, Any]:
    v = box(**kw)
    v["footprint"] = {"type": "Point", "coordinates": [lon, lat]}
    v["radius_m"] = radius_m
    return v


AGREEMENT: dict[str, Any] = {
    "version": 1,
    "parties": ["alpha", "bravo", "charlie"],
    "h_strategic_m": 5000.0,
    "v_m": 300.0,
    "time_buffer_s": 600.0,
    # Most tests are about lifecycles, disclosure and isolation, not confirmation: one evaluation
    # raises and clears, and the levels look far ahead (tests/api/test_alerting.py runs the defaults).
    "alert_levels": [{"name": "advisory", "within_s": 300}, {"name": "warning", "within_s": 120}],
    "confirmation": {"m": 1, "n": 1, "persistence_s": 0, "clear_after_s": 0},
}


@dataclass
class World:
    """A line with parties alpha and bravo (group 'allies') and charlie, and an agreement in force."""

    line: Line
    clock: Clock
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def api_client(self, who: str) -> Client:
        """The Python client for ``who``, talking to this world's app and signing at its clock."""
        key = self.keys.get(who)
        return Client("http://test", self.tokens[who], key=key, transport=self.client._transport, clock=self.clock)

    def line_id(self) -> str:
        with self.line.db.read() as session:
            return record.origin(self.line.record, session)

    def statement(
        self, who: str, method: str, path: str, body: Any, created: str | None = None, key: Any = None
    ) -> Sealed:
        action = action_for(method, path)
        assert action is not None, f"{method} {path} takes no statement"
        return seal(key or self.keys[who], self.line_id(), action, body, created=created)

    def signed_request(
        self, who: str, method: str, path: str, body: Any, created: str | None = None, key: Any = None
    ) -> dict[str, Any]:
        """``content`` and ``headers`` for a raw HTTP client: the token and ``body`` in a statement
        signed (with the party's key, or ``key``) now (real time: for a served instance) or at ``created``."""
        sealed = self.statement(who, method, path, body, created, key)
        headers = {**self.headers(who), SIGNATURE_HEADER: sealed.signature, "Content-Type": PAYLOAD_TYPE}
        return {"content": sealed.statement, "headers": headers}

    def now_iso(self) -> str:
        return created_at(self.clock.now)

    def send(self, who: str, method: str, path: str, body: Any, sign: bool = True) -> Any:
        """A party's writes are signed statements (at the line's clock), as the client makes them."""
        if sign and who in self.keys and action_for(method, path) is not None:
            with contextlib.suppress(ValueError):  # not canonicalisable (NaN...): sent unsigned, refused anyway
                request = self.signed_request(who, method, path, body, self.now_iso())
                return self.client.request(method, path, **request)
        return self.client.request(method, path, json=body, headers=self.headers(who))

    def post(self, who: str, path: str, body: Any, sign: bool = True) -> Any:
        return self.send(who, "POST", path, body, sign)

    def put(self, who: str, path: str, body: Any) -> Any:
        return self.send(who, "PUT", path, body)

    def delete(self, who: str, path: str) -> Any:
        return self.send(who, "DELETE", path, {})

    def get(self, who: str, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.headers(who), **kw)

    def file(self, who: str, *volumes: dict[str, Any], name: str = "") -> dict[str, Any]:
        response = self.post(who, "/v1/operations", {"name": name, "volumes": list(volumes)})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


def adopt(world: World, version: int = 2, **changes: Any) -> None:
    """Propose the next agreement version with ``changes`` and have every party sign it."""
    proposed = world.post("admin", "/v1/agreements", dict(AGREEMENT, version=version, **changes))
    assert proposed.status_code == 201, proposed.text
    for party in AGREEMENT["parties"]:
        document = world.get(party, f"/v1/agreements/{version}").json()["document"]
        signature = sign_document(world.keys[party], document)
        signed = world.post(party, f"/v1/agreements/{version}/signatures", {"signature": signature})
        assert signed.status_code == 200, signed.text
    assert world.get("alpha", "/v1/agreements/current").json()["version"] == version


def world_on(db_url: str, tokens: dict[str, str], keys: dict[str, Ed25519PrivateKey]) -> World:
    """A World for a database that already holds one (a copy of another's, with its tokens and keys)."""
    clock = Clock()
    line = Line(Database(db_url), clock=clock, evaluate_every_s=0)
    world = World(line, clock, TestClient(create_app(line), raise_server_exceptions=False))
    world.tokens.update(tokens)
    world.keys.update(keys)
    return world


def make_world(db_url: str, *, with_agreement: bool = True, tmp: Path | None = None) -> World:
    world = world_on(db_url, {}, {})
    line = world.line
    admin = parties.initialise(line) or parties.issue_token(line, "admin")  # or initialised by a server before
    world.tokens["admin"] = admin
    for party_id, group in (("alpha", "allies"), ("bravo", "allies"), ("charlie", None)):
        key = generate_key()
        world.keys[party_id] = key
        world.tokens[party_id] = parties.add_party(line, party_id, public_key_b64(key), group)
    world.tokens["auditor"] = parties.issue_token(line, "auditor")
    if with_agreement:
        state = agreements.propose(line, Actor("admin"), AGREEMENT)
        for party_id in AGREEMENT["parties"]:
            signature = sign_document(world.keys[party_id], state.agreement.document())
            agreements.sign(line, Actor("party", party_id), 1, signature)
    return world


def children_of(pid: int, running: bytes = b"") -> list[int]:
    """The processes ``pid`` started whose command line holds ``running`` (Linux: /proc's list of
    children of each of its threads). One that ends while it is read (a worker just killed) is
    left out, as is a thread that ends meanwhile."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
        for child in children:
            try:
                if running in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(child)
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """Wait for the evaluator's first beat (its worker process starts beside the server), as a
    load balancer would; a server whose evaluator is off or elsewhere is taken as it is."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        response = httpx.get(f"{url}/readyz", timeout=2)
        if response.status_code == 200 or response.json()["checks"].get("evaluator") != "not started":
            return
        time.sleep(0.1)


@contextmanager
def server(db_url: str, *options: str, log: Path | None = None) -> Iterator[str]:
    """``deconline serve`` in its own process on a free port; killed with SIGKILL on exit. Quiet,
    unless ``log`` names a file for its log (stderr), access lines included."""
    with server_process(db_url, *options, log=log) as (url, _):
        yield url


@contextmanager
def server_process(
    db_url: str, *options: str, log: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """:func:`server`, with its process (to kill it with ``os.killpg(proc.pid, SIGKILL)``); one
    started with ``--worker none`` is taken once it answers (its evaluator runs elsewhere, if anywhere).

    Its duties run in a thread (``--worker thread``) and it decides its own filings (``--desk none``)
    unless ``options`` say otherwise: a worker or desk process costs an interpreter's start-up, and
    only tests/test_worker.py and tests/test_desk.py are about those processes."""
    port = _free_port()
    quiet = [] if log else ["--quiet"]
    where = [] if "--worker" in options else ["--worker", "thread"]
    where += [] if "--desk" in options else ["--desk", "none"]
    command = [
        *(sys.executable, "-m", "deconline", "--db", db_url, "serve", "--port", str(port)),
        *(quiet + where + list(options)),
    ]
    stderr = log.open("wb") if log else None
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        if ("--worker", "none") not in itertools.pairwise(options):
            _ready(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if stderr is not None:
            stderr.close()
