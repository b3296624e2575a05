"""``deconline feed`` end to end: SBS sources (a file, a fake receiver on a socket), the fleet,
dry runs, and a real service that raises an alert from two parties' feeds."""

from __future__ import annotations

import http.server
import io
import json
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from deconline.client import Client
from deconline.feed import Feed, Fleet, Post, SourceError, read_fleet
from deconline.ingest.decoders import SbsDecoder
from deconline.record.signing import write_private_key
from tests.conftest import SHARED
from tests.helpers import make_world, server

EARTH = 6_371_000.0


def sbs(kind: int, icao: str, t: float, **f: object) -> str:
    stamp = datetime.fromtimestamp(t, UTC)
    date, clock = stamp.strftime("%Y/%m/%d"), stamp.strftime("%H:%M:%S.%f")[:-3]
    v = {k: "" if f.get(k) is None else str(f[k]) for k in ("alt", "gs", "trk", "lat", "lon", "vr")}
    return (
        f"MSG,{kind},1,1,{icao},1,{date},{clock},{date},{clock},,{v['alt']},{v['gs']},{v['trk']},"
        f"{v['lat']},{v['lon']},{v['vr']},,0,0,0,0"
    )


def head_on(t: float, gap_m: float) -> list[str]:
    """ABC001 eastbound and CDE002 westbound at FL200, ``gap_m`` apart, 250 kt each."""
    lat = 55.0
    dlon = math.degrees(gap_m / 2 / (EARTH * math.cos(math.radians(lat))))
    lines = []
    for icao, lon, track in (("ABC001", 20.0 - dlon, 90), ("CDE002", 20.0 + dlon, 270)):
        lines.append(sbs(3, icao, t, alt=20000, lat=f"{lat:.5f}", lon=f"{lon:.5f}"))
        lines.append(sbs(4, icao, t, gs=250, trk=track, vr=0))
    return lines


def test_a_file_in_dry_run_writes_the_fleet_states(tmp_path: Path) -> None:
    capture = tmp_path / "capture.sbs"
    capture.write_text("\n".join([*head_on(1_800_000_000, 40_000), "not sbs", "MSG,3,bad"]) + "\n")
    fleet = tmp_path / "fleet.txt"
    fleet.write_text("# ours\nabc001\n")
    out = tmp_path / "states.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "deconline", "feed", f"sbs+file:{capture}", "--fleet", str(fleet), "--dry-run",
         "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [state] = [json.loads(line) for line in out.read_text().splitlines()]
    assert state["id"] == "abc001" and state["track_deg"] == 90 and abs(state["alt_m"] - 6096) < 0.1
    assert "6 messages (2 malformed, skipped)" in result.stderr and "1 not in the fleet" in result.stderr


def test_fleet_files_say_what_is_wrong(tmp_path: Path) -> None:
    good = tmp_path / "fleet.csv"
    good.write_text("icao24,callsign\n4CA2D6,RYR1\n3c6589,DLH2 # note\n")
    assert read_fleet(good) == Fleet(frozenset({"4ca2d6", "3c6589"}))
    patterns = tmp_path / "patterns.csv"
    patterns.write_text("icao24,callsign\n,FAF*\n,rch1?\n3c6589,\n")
    mixed = read_fleet(patterns)
    assert mixed.owns("3c6589", None) and mixed.owns("aaaaaa", "FAF123") and mixed.owns("bbbbbb", "RCH12")
    assert not mixed.owns("bbbbbb", "RCH123") and not mixed.owns("cccccc", None)
    bad = tmp_path / "bad.txt"
    bad.write_text("4ca2d6\nnot-hex\n")
    with pytest.raises(SourceError, match=r"bad.txt:2: 'not-hex' is not a 24-bit ICAO address"):
        read_fleet(bad)
    with pytest.raises(SourceError, match="unsupported source"):
        Feed(["foo://x:1"], None, None)
    with pytest.raises(SourceError, match="HOST:PORT with a port"):
        Feed(["beast://localhost"], None, None)


def poster(client: Client) -> Post:
    def post(reports: list[dict[str, object]], unaffiliated: bool) -> object:
        return client.post_tracks(reports, unaffiliated=unaffiliated)

    return post


@contextmanager
def fake_receiver() -> Iterator[tuple[int, threading.Event]]:
    """An SBS server sending two converging aircraft, with fresh times, to each client once a second."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed at the end of the test
            threading.Thread(target=talk, args=(client,), daemon=True).start()

    def talk(client: socket.socket) -> None:
        start = time.time()
        with client:
            while not stop.is_set():
                elapsed = time.time() - start
                try:
                    client.sendall(("\n".join(head_on(time.time(), 60_000 - 257 * elapsed)) + "\ngarbage\n").encode())
                except OSError:
                    return
                stop.wait(1.0)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield int(listener.getsockname()[1]), stop
    finally:
        stop.set()
        listener.close()


def test_two_parties_feeds_raise_an_alert_in_the_service(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    for party in ("alpha", "charlie"):
        write_private_key(world.keys[party], tmp_path / f"{party}.key")
    world.line.db.dispose()
    with server(db_url) as url, fake_receiver() as (port, _):
        feeds = []
        for party, icao in (("alpha", "abc001"), ("charlie", "cde002")):
            client = Client(url, world.tokens[party], key=tmp_path / f"{party}.key")
            messages: list[str] = []
            feed = Feed([f"sbs://127.0.0.1:{port}"], Fleet(frozenset({icao})), poster(client), say=messages.append)
            thread = threading.Thread(target=feed.run, daemon=True)
            thread.start()
            feeds.append((feed, thread, client))
        headers = {"Authorization": f"Bearer {world.tokens['alpha']}"}
        deadline = time.monotonic() + 20
        alerts: list[dict[str, object]] = []
        while time.monotonic() < deadline and not alerts:
            time.sleep(0.5)
            alerts = httpx.get(f"{url}/v1/alerts", headers=headers, timeout=5).json()
        tracks = httpx.get(f"{url}/v1/tracks", headers=headers, timeout=5).json()
        for feed, thread, client in feeds:
            feed.stop.set()
            thread.join(timeout=5)
            client.close()
    assert alerts and alerts[0]["own_track"] == "abc001", messages
    assert alerts[0]["intruder"]["party"] == "charlie" and alerts[0]["intruder"]["track"] == "cde002"
    assert {t["id"] for t in tracks} == {"abc001", "cde002"}  # the intruder is disclosed while in alert
    for feed, _, _ in feeds:
        assert feed.tally.posted >= 1 and feed.tally.malformed[f"sbs://127.0.0.1:{port}"] >= 1
        assert feed.tally.not_in_fleet >= 1  # the other party's aircraft, seen by the same receiver


def test_an_unreachable_service_keeps_only_the_newest_state(tmp_path: Path) -> None:
    failures: list[int] = []

    def refuse(reports: list[dict[str, object]], unaffiliated: bool) -> object:
        failures.append(len(reports))
        raise httpx.ConnectError("connection refused")

    said: list[str] = []
    feed = Feed([], Fleet(frozenset({"abc001"})), refuse, say=said.append)
    deliver = feed._deliver("test")
    t = 1_800_000_000.0
    for k in range(3):
        deliver(SbsDecoder("test").lines(head_on(t + k, 50_000), t + k))
        feed.collect()
        assert feed.flush() is False
    assert failures == [1, 1, 1] and feed.tally.dropped == 2 and list(feed.pending) == ["abc001"]
    assert feed.pending["abc001"].time_s == t + 2
    assert "cannot connect to the server" in said[0]


def aircraft_json(now: float) -> bytes:
    entry = {"hex": "4ca2d6", "flight": "RYR1AB", "alt_baro": 37000, "gs": 420.0, "track": 234.0, "baro_rate": 0,
             "lat": 51.4, "lon": -1.0, "seen_pos": 0.2, "seen": 0.1, "nac_p": 9}  # fmt: skip
    return json.dumps({"now": now, "aircraft": [entry]}).encode()


def run_until(feed: Feed, done: Callable[[], bool], timeout: float = 20) -> None:
    thread = threading.Thread(target=feed.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done():
        time.sleep(0.05)
    feed.stop.set()
    thread.join(timeout=5)
    assert done()


def test_readsb_is_polled_over_http_and_from_its_file(tmp_path: Path) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = aircraft_json(time.time()) if self.path == "/data/aircraft.json" else b"not found"
            self.send_response(200 if self.path == "/data/aircraft.json" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    written = tmp_path / "aircraft.json"
    written.write_bytes(aircraft_json(time.time()))
    try:
        for source in (f"readsb+http://127.0.0.1:{web.server_port}/data/aircraft.json", f"readsb+file:{written}"):
            out = io.StringIO()
            feed = Feed([source], None, None, out=out, period_s=0.2)
            # a second picture: the web server makes one each poll; the file is written again by readsb
            threading.Timer(0.6, lambda: written.write_bytes(aircraft_json(time.time() + 1))).start()
            run_until(feed, lambda out=out: out.getvalue().count("\n") >= 2)  # type: ignore[misc]
            first = json.loads(out.getvalue().splitlines()[0])
            assert first["id"] == "4ca2d6" and first["callsign"] == "RYR1AB" and first["quality"] == {"NACp": 9}
        missing = Feed([f"readsb+http://127.0.0.1:{web.server_port}/nothing"], None, None, out=io.StringIO())
        said: list[str] = []
        missing.say = said.append
        missing.readers[0].say = said.append
        run_until(missing, lambda: bool(said))
        assert "404" in said[0] and "trying again" in said[0]
    finally:
        web.shutdown()


@pytest.mark.skipif(not (SHARED / "data" / "short_flights.csv").exists(), reason="needs ../shared/data")
def test_replay_takes_a_raw_capture(tmp_path: Path) -> None:
    out = tmp_path / "conflicts.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "deconline", "replay", f"csv+file:{SHARED / 'data' / 'short_flights.csv'}",
         "--step", "5", "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "486 records" in result.stderr and "50 of no use for a track" in " ".join(result.stderr.split())


def test_a_provider_feeds_unaffiliated_traffic_and_others_are_refused(tmp_path: Path) -> None:
    from tests.api.test_unaffiliated import adopt

    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    adopt(world, surveillance_providers=["charlie"])
    for party in ("alpha", "bravo", "charlie"):
        write_private_key(world.keys[party], tmp_path / f"{party}.key")
    world.line.db.dispose()
    with server(db_url) as url, fake_receiver() as (port, _):
        running = []
        # alpha flies abc001; charlie's receiver hears abc001 and cde002 (civil) and, as the named
        # provider, posts what is not its own as unaffiliated traffic; bravo tries the same
        for party, fleet, unaffiliated in (("alpha", {"abc001"}, False), ("charlie", set(), True),
                                           ("bravo", set(), True)):  # fmt: skip
            client = Client(url, world.tokens[party], key=tmp_path / f"{party}.key")
            said: list[str] = []
            feed = Feed([f"sbs://127.0.0.1:{port}"], Fleet(frozenset(fleet)), poster(client),
                        unaffiliated=unaffiliated, say=said.append)  # fmt: skip
            thread = threading.Thread(target=feed.run, daemon=True)
            thread.start()
            running.append((party, feed, thread, client, said))

        def alerts_of(party: str) -> list[dict[str, Any]]:
            headers = {"Authorization": f"Bearer {world.tokens[party]}"}
            answer: list[dict[str, Any]] = httpx.get(f"{url}/v1/alerts", headers=headers, timeout=5).json()
            return answer

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not alerts_of("alpha"):
            time.sleep(0.5)
        seen_by_bravo = httpx.get(f"{url}/v1/tracks", headers={"Authorization": f"Bearer {world.tokens['bravo']}"})
        for _, feed, thread, client, _ in running:
            feed.stop.set()
            thread.join(timeout=5)
            client.close()
        [alert] = alerts_of("alpha")
        assert alerts_of("charlie") == [] and alerts_of("bravo") == []
    assert alert["own_track"] == "abc001" and alert["intruder"] == alert["intruder"] | {
        "party": "unaffiliated",
        "track": "cde002",
    }
    public = {t["id"] for t in seen_by_bravo.json() if t.get("unaffiliated")}
    assert public == {"cde002"}  # the echo of alpha's abc001 is not shown as traffic
    by_party = {party: (feed, said) for party, feed, _, _, said in running}
    assert by_party["charlie"][0].tally.unaffiliated >= 2 and by_party["charlie"][0].tally.errors == 0
    bravo_feed, bravo_said = by_party["bravo"]
    assert bravo_feed.tally.errors == 1 and bravo_feed.tally.unaffiliated == 0 and bravo_feed.tally.refused >= 1
    [refused, *_] = [line for line in bravo_said if "posting unaffiliated traffic failed" in line]
    assert "403" in refused and "surveillance provider" in refused and "no longer posting" in refused


def test_a_capture_is_posted_in_real_time_from_now(tmp_path: Path) -> None:
    capture = tmp_path / "capture.sbs"
    t0 = 1_700_000_000.0  # 2023: the capture's own clock
    capture.write_text("\n".join(line for k in range(3) for line in head_on(t0 + k, 50_000 - 500 * k)) + "\n")
    posted: list[tuple[float, list[dict[str, object]]]] = []

    def post(reports: list[dict[str, object]], unaffiliated: bool) -> object:
        posted.append((time.time(), reports))
        return {}

    said: list[str] = []
    started = time.time()
    tally = Feed([f"sbs+file:{capture}"], Fleet(frozenset({"abc001"})), post, say=said.append).run()
    assert [len(reports) for _, reports in posted] == [1, 1, 1] and tally.posted == 3 and tally.not_in_fleet == 3
    sent_at = [at for at, _ in posted]
    assert 1.7 < sent_at[-1] - sent_at[0] < 3.0  # one batch a second, as the capture was recorded
    times = [datetime.fromisoformat(str(r[0]["time"])).timestamp() for _, r in posted]
    assert abs(times[0] - started) < 1.5 and times[2] - times[0] == pytest.approx(2.0)  # moved to now
    assert "replaying the capture in real time" in said[0]
    with pytest.raises(SourceError, match="files are replayed on their own"):
        Feed([f"sbs+file:{capture}", "sbs://127.0.0.1:30003"], None, None)


@pytest.mark.skipif(not (SHARED / "data" / "short_flights.csv").exists(), reason="needs ../shared/data")
def test_a_dry_run_of_a_capture_writes_its_states_over_time() -> None:
    out = io.StringIO()
    Feed([f"csv+file:{SHARED / 'data' / 'short_flights.csv'}"], None, None, out=out).run()
    states = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(states) > 100 and len({s["id"] for s in states}) == 7
    assert [s["time"][:19] for s in states] == sorted(s["time"][:19] for s in states)  # second by second


@pytest.mark.skipif(not (SHARED / "data" / "short_flights.csv").exists(), reason="needs ../shared/data")
def test_a_dry_run_shows_intent_identity_quality_and_velocity_age(tmp_path: Path) -> None:
    """What the feeder posts beside the kinematics, in the dry run's lines: the selected altitude
    (TC 29), the callsign, the NACp, and the age of a velocity older than the position."""
    out = tmp_path / "states.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "deconline", "feed", f"csv+file:{SHARED / 'data' / 'short_flights.csv'}",
         "--dry-run", "--out", str(out)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    states = [json.loads(line) for line in out.read_text().splitlines()]
    last = {s["id"]: s for s in states}
    assert (last["ada526"]["selected_altitude_m"], last["ada526"]["callsign"]) == (
        pytest.approx(23_000 * 0.3048),
        "DAL1737",
    )
    assert last["ac5920"]["nac_p"] == 9 and last["ac5920"]["velocity_age_s"] == pytest.approx(11.301, abs=1e-3)
    assert all(s["velocity_age_s"] > 0 for s in states if "velocity_age_s" in s)
    assert {"selected_altitude_m", "callsign", "nac_p", "velocity_age_s"} <= {k for s in states for k in s}
