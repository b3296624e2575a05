"""Loopback: fake receivers (Beast on TCP replaying the real capture, SBS on TCP, ASTERIX CAT021
over UDP), a real ``deconline serve`` and real ``deconline feed`` processes. The tracks reach the
service, a converging pair fed through two formats raises an alert, and killing and restarting the
receiver and the service loses only the perishable gap and never stops the feeder."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconline.ingest.asterix import encode_cat021
from deconline.ingest.beast import BeastReader, encode
from deconline.ingest.sighting import Sighting
from deconline.record.signing import write_private_key
from tests.conftest import SHARED
from tests.helpers import make_world
from tests.test_feed import EARTH, head_on

CAPTURE = SHARED / "data" / "sample_dump1090.bin"
needs_shared = pytest.mark.skipif(not CAPTURE.exists(), reason="needs ../shared/data (the recorded captures)")


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpReceiver:
    """Sends ``payload()`` to every client once a second, like a receiver's output port."""

    def __init__(self, port: int, payload: Callable[[], bytes]) -> None:
        self.port, self.payload = port, payload
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", port))
        self.clients = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.clients += 1
            threading.Thread(target=self._talk, args=(client,), daemon=True).start()

    def _talk(self, client: socket.socket) -> None:
        with client:
            while not self.stop.is_set():
                try:
                    client.sendall(self.payload())
                except OSError:
                    return
                self.stop.wait(1.0)

    def close(self) -> None:
        self.stop.set()
        self.listener.close()


@contextmanager
def asterix_sender(port: int, sightings: Callable[[], list[Sighting]]) -> Iterator[None]:
    stop = threading.Event()

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            while not stop.is_set():
                out.sendto(encode_cat021(sightings(), sac=25, sic=7), ("127.0.0.1", port))
                out.sendto(b"\x15\x00\xff garbage with a wrong length field", ("127.0.0.1", port))
                stop.wait(1.0)

    threading.Thread(target=send, daemon=True).start()
    try:
        yield
    finally:
        stop.set()


class Service:
    """``deconline serve`` on a fixed port, so it can be killed (-9) and started again."""

    def __init__(self, db_url: str) -> None:
        self.db_url, self.port = db_url, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "deconline", "--db", self.db_url, "serve", "--port", str(self.port), "--quiet"]
        command += ["--worker", "thread"]  # one interpreter to start, not two (see tests.helpers.server_process)
        self.proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
        until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, 30, "the service started")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting until {what}")


def beast_burst() -> bytes:
    """The capture's frames; the feeder times them by arrival, so each burst is a fresh picture."""
    return b"".join(encode(f) for f in BeastReader().feed(CAPTURE.read_bytes())) + b"\x1a\x33garbage"


def converging(now: float) -> tuple[str, list[Sighting]]:
    """abc001 (alpha, by SBS) and cde002 (charlie, by ASTERIX CAT021) head-on, closing at 257 m/s."""
    lines = head_on(now, 40_000)
    lon = 20.0 + math.degrees(40_000 / 2 / (EARTH * math.cos(math.radians(55.0))))
    east = Sighting("cde002", now, lat=55.0, lon=lon, alt_m=6096.0, gs_mps=128.6, track_deg=270.0, vrate_mps=0.0)
    return "\n".join(line for line in lines if ",ABC001," in line) + "\n", [east]


def feeder(url: str, token: str, key: Path, fleet: Path, *sources: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "deconline", "--url", url, "--token", token, "--key", str(key), "feed",
               *sources, "--fleet", str(fleet)]  # fmt: skip
    return subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, text=True)


def tracks(url: str, token: str) -> dict[str, float]:
    answer = httpx.get(f"{url}/v1/tracks", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    return {t["id"]: datetime.fromisoformat(t["time"].replace("Z", "+00:00")).timestamp() for t in answer}


def stop(proc: subprocess.Popen[str]) -> str:
    """SIGTERM, as a supervisor stops it: the feeder says its summary and exits 0."""
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


@needs_shared
def test_receivers_and_a_radar_feed_the_service_through_kills_and_restarts(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    for party in ("alpha", "charlie"):
        write_private_key(world.keys[party], tmp_path / f"{party}.key")
    world.line.db.dispose()
    (tmp_path / "alpha.fleet").write_text("48520a\nabc001\n")
    (tmp_path / "charlie.fleet").write_text("icao24,callsign\ncde002,\n")
    alpha, charlie = world.tokens["alpha"], world.tokens["charlie"]
    service = Service(db_url)
    service.start()
    beast_port, sbs_port, asterix_port = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
    beast = TcpReceiver(beast_port, beast_burst)
    sbs = TcpReceiver(sbs_port, lambda: converging(time.time())[0].encode())
    feeds: list[subprocess.Popen[str]] = []
    try:
        with asterix_sender(asterix_port, lambda: converging(time.time())[1]):
            feeds.append(feeder(service.url, alpha, tmp_path / "alpha.key", tmp_path / "alpha.fleet",
                                f"beast://127.0.0.1:{beast_port}", f"sbs://127.0.0.1:{sbs_port}"))  # fmt: skip
            feeds.append(feeder(service.url, charlie, tmp_path / "charlie.key", tmp_path / "charlie.fleet",
                                f"asterix+udp://127.0.0.1:{asterix_port}"))  # fmt: skip
            until(lambda: {"48520a", "abc001"} <= set(tracks(service.url, alpha)), 30, "alpha's tracks arrived")
            alerts: list[dict[str, Any]] = []

            def alerted() -> bool:
                alerts[:] = httpx.get(f"{service.url}/v1/alerts", headers={"Authorization": f"Bearer {alpha}"}).json()
                return bool(alerts)

            until(alerted, 30, "the converging pair raised an alert")
            assert alerts[0]["own_track"] == "abc001" and alerts[0]["intruder"]["track"] == "cde002"
            assert alerts[0]["intruder"]["party"] == "charlie"

            # The receiver goes away and comes back on the same port: the feeder reconnects.
            beast.close()
            time.sleep(2.5)
            beast = TcpReceiver(beast_port, beast_burst)
            restarted = time.time()
            until(lambda: tracks(service.url, alpha)["48520a"] > restarted, 30, "the Beast feed resumed")

            # The service is killed (-9) and started again: the feeders keep running and resume.
            service.kill()
            time.sleep(3)
            assert all(f.poll() is None for f in feeds), "a feeder died with the service"
            service.start()
            back = time.time()
            until(lambda: min(tracks(service.url, alpha).values()) > back, 45, "alpha's feed resumed")
            until(lambda: tracks(service.url, charlie)["cde002"] > back, 45, "charlie's feed resumed")
        summaries = [stop(f) for f in feeds]
    finally:
        for f in feeds:
            if f.poll() is None:
                os.killpg(f.pid, signal.SIGKILL)
        beast.close()
        sbs.close()
        service.kill()
    assert "connected" in summaries[0] and "reconnecting" in summaries[0]
    assert "posting tracks failed" in summaries[0] and "cannot connect to the server" in summaries[0]
    last = summaries[0].strip().splitlines()[-1]
    assert "malformed" in last and "failed posts" in last and " 0 failed posts" not in last
    assert "listening" in summaries[1] and " 0 malformed" not in summaries[1].strip().splitlines()[-1]
