"""The worker process: ``deconline serve`` starts one beside itself for the evaluator, checkpoints
and hotline deadlines, starts it again when it dies, and it stops when its server is gone;
``deconline worker`` runs the duties alone. Real processes on a SQLite file and PostgreSQL."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from deconline.cli import app
from tests.helpers import children_of, make_world, server_process

runner = CliRunner()
EARTH = 6_371_000.0


def _worker_of(pid: int, timeout_s: float = 15.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        workers = children_of(pid, running=b"worker")
        if workers:
            return workers[0]
        time.sleep(0.05)
    raise AssertionError("serve started no worker")


def _ready(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/readyz", timeout=5).json()


def _wait(predicate: Any, timeout_s: float, step_s: float = 0.05) -> float:
    """Seconds until ``predicate()`` held (AssertionError after ``timeout_s``)."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise AssertionError("timed out")
        time.sleep(step_s)
    return time.monotonic() - started


def _report(track_id: str, east_m: float, track_deg: float) -> dict[str, Any]:
    lon = 10.0 + math.degrees(east_m / (EARTH * math.cos(math.radians(50.0))))
    now = datetime.fromtimestamp(time.time(), UTC).isoformat().replace("+00:00", "Z")
    return {"id": track_id, "lat": 50.0, "lon": lon, "alt_m": 9000.0, "gs_mps": 200.0, "track_deg": track_deg,
            "vrate_mps": 0.0, "time": now}  # fmt: skip


def _alerts(world: Any, url: str, who: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"}
    return list(httpx.get(f"{url}/v1/alerts", headers=headers, timeout=5).json())


def _converge(world: Any, url: str, suffix: str) -> None:
    for who, report in (("alpha", _report(f"A{suffix}", -4000, 90)), ("charlie", _report(f"C{suffix}", 4000, 270))):
        body = {"tracks": [report]}
        response = httpx.post(f"{url}/v1/tracks", **world.signed_request(who, "POST", "/v1/tracks", body))
        assert response.status_code == 202, response.text


def test_serve_runs_its_duties_in_a_worker_process_and_starts_it_again_after_kill_9(db_url: str) -> None:
    world = make_world(db_url)
    world.line.db.dispose()
    with server_process(db_url, "--worker", "process") as (url, proc):
        worker = _worker_of(proc.pid)
        assert _ready(url)["leader"] is True and _ready(url)["checks"]["evaluator"] == "ok (here)"
        _converge(world, url, "1")
        _wait(lambda: any(a.get("intruder", {}).get("track") == "C1" for a in _alerts(world, url, "alpha")), 10)

        os.kill(worker, signal.SIGKILL)  # the worker alone: requests go on being answered
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        again = _wait(lambda: _worker_of(proc.pid) != worker, 5)
        back = _wait(lambda: _ready(url)["leader"] is True, 10)
        print(f"worker started again {again:.2f} s after kill -9, leading {back:.2f} s later")
        _converge(world, url, "2")  # nothing raised is lost: a new pair is alerted by the new worker
        _wait(lambda: any(a.get("intruder", {}).get("track") == "C2" for a in _alerts(world, url, "alpha")), 10)


def test_the_worker_stops_when_its_server_is_killed(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/line.db"
    make_world(db_url).line.db.dispose()
    with server_process(db_url, "--worker", "process") as (_, proc):
        worker = _worker_of(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)  # the server only, not its process group
        proc.wait()
        _wait(lambda: not Path(f"/proc/{worker}").exists() or b"(Z)" in _stat(worker), 5)


def _stat(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().replace(b" Z ", b" (Z) ")
    except FileNotFoundError:
        return b"(Z)"


def test_a_worker_run_alone_leads_for_a_server_without_one(db_url: str) -> None:
    world = make_world(db_url)
    world.line.db.dispose()
    command = [sys.executable, "-m", "deconline", "--db", db_url, "worker", "--quiet"]
    with server_process(db_url, "--worker", "none") as (url, proc):
        assert not children_of(proc.pid, running=b"worker")
        alone = subprocess.Popen(command, start_new_session=True)
        try:
            _wait(lambda: _ready(url)["checks"]["evaluator"] == "ok (on another instance)", 15)
            assert _ready(url)["leader"] is False
            _converge(world, url, "1")
            _wait(lambda: any(a.get("intruder", {}).get("track") == "C1" for a in _alerts(world, url, "alpha")), 10)
        finally:
            alone.send_signal(signal.SIGTERM)  # stops cleanly, its leadership released
            assert alone.wait(timeout=15) == 0


def test_worker_refuses_a_database_in_memory_and_bad_options() -> None:
    result = runner.invoke(app, ["--db", "sqlite://", "worker"])
    assert result.exit_code == 2 and "a database it can share" in result.output, result.output
    result = runner.invoke(app, ["worker", "--evaluate-every", "-1"])
    assert result.exit_code == 2 and "must be >= 0" in result.output
    result = runner.invoke(app, ["serve", "--worker", "elsewhere"])
    assert result.exit_code == 2 and "--worker must be process, thread or none" in result.output
