"""The living demo: aircraft that fly their operations, a scenario that produces the alerts it
promises (driven through the service at chosen times), and a feed that reaches a real server."""

from __future__ import annotations

import json
import math
import stat
import threading
import time
from pathlib import Path

import httpx
from shapely.geometry import Point
from sqlalchemy import select
from typer.testing import CliRunner

from deconline.cli import app
from deconline.client import Client
from deconline.demo import PARTIES, demo_operations, load
from deconline.demo_feed import Credentials, credentials, feed_party, local_url
from deconline.demo_flights import CYCLE_S, H_M, fleet, fleet_states, offset_of
from deconline.service import duties, hotline, tactical
from deconline.service.actors import Actor
from deconline.service.line import Line
from deconline.store.db import Database
from deconline.store.models import Alert, TrackState
from tests.helpers import T0, Clock, server

runner = CliRunner()
GROUPS = dict(PARTIES)


def _inside(op_name: str, lon: float, lat: float, alt: float) -> bool:
    op = next(o for o in demo_operations() if o.name == op_name)
    if not op.lower_m <= alt <= op.upper_m:
        return False
    if isinstance(op.footprint, Point):
        return offset_of((op.footprint.x, op.footprint.y), lon, lat).norm() <= op.radius_m
    return bool(op.footprint.covers(Point(lon, lat)))


def test_every_aircraft_flies_its_operation_but_the_one_that_drifts() -> None:
    outside: dict[str, int] = {}
    for tau in range(int(CYCLE_S)):
        for s in fleet_states(T0.timestamp() + tau, T0.timestamp()):
            aircraft = next(a for a in fleet() if a.track_id == s.track_id)
            if not _inside(aircraft.operation, s.lon, s.lat, s.alt_m):
                outside[s.track_id] = outside.get(s.track_id, 0) + 1
    assert set(outside) == {"SEEKER41"}
    assert 30 < outside["SEEKER41"] < CYCLE_S / 2  # out for a while each lap, in most of the time


def test_patterns_repeat_every_cycle_and_fly_at_their_speed() -> None:
    epoch = T0.timestamp()
    for a, b in zip(fleet_states(epoch + 17, epoch), fleet_states(epoch + 17 + CYCLE_S, epoch), strict=True):
        assert math.isclose(a.lat, b.lat, abs_tol=1e-9) and math.isclose(a.lon, b.lon, abs_tol=1e-9)
    for aircraft in fleet():
        if aircraft.drift is None:
            states = [aircraft.at(t)[1].norm() for t in range(0, 300, 7)]
            assert all(math.isclose(v, aircraft.pattern.speed_mps) for v in states)
    # The tanker flies the patrol's pattern in step, its orbit sliding: the gap is the drift alone.
    patrol, tanker = (next(a for a in fleet() if a.track_id == i) for i in ("VIPER11", "SHELL71"))
    gaps = [(tanker.at(t)[0] + patrol.at(t)[0] * -1).norm() for t in range(300)]
    assert min(gaps) < H_M - 2000 and max(gaps) > H_M + 7000


def _scenario(tmp_path: Path, step_s: float = 2.0) -> tuple[Line, dict[tuple[str, str, str], list[tuple[float, str]]]]:
    """Load the demo, then fly one cycle through the service at chosen times: each party's reports
    ingested as the feed would post them, the picture evaluated a moment later."""
    clock = Clock(T0.timestamp())
    line = Line(Database(f"sqlite:///{tmp_path / 'demo.db'}"), clock=clock, evaluate_every_s=0)
    load(line, tmp_path / "keys")
    epoch = clock.now + 30  # the feed starts half a minute after the load
    history: dict[tuple[str, str, str], list[tuple[float, str]]] = {}
    tau = 0.0
    while tau < CYCLE_S + 20:
        clock.now = epoch + tau
        for party, group in PARTIES:
            states = fleet_states(clock.now, epoch, party)
            reports = [
                tactical.Report(s.track_id, s.lat, s.lon, s.alt_m, s.gs_mps, s.track_deg, s.vrate_mps, s.time_s)
                for s in states
            ]
            if reports:
                tactical.ingest(line, Actor("party", party, group), reports)
        clock.now += 0.5
        for alert in tactical.evaluate(line, clock.now):
            own = ",".join(alert.aircraft) if alert.aircraft is not None else alert.a_track  # a nonconformance's
            key = (alert.kind, own, alert.b_track)
            history.setdefault(key, []).append((tau, "cleared" if alert.state == "cleared" else alert.level))
        tau += step_s
    return line, history


def test_one_cycle_raises_separation_hazard_and_nonconformance_alerts_and_clears_them(tmp_path: Path) -> None:
    line, history = _scenario(tmp_path)
    # Tracks stored for every party.
    with line.db.read() as session:
        stored = {(s.party_id, s.track_id) for s in session.scalars(select(TrackState))}
    assert stored == {(a.party, a.track_id) for a in fleet()}
    assert {p for p, _ in stored} == {p for p, _ in PARTIES}

    separation = history.pop(("separation", "VIPER11", "SHELL71"))
    # Confirmed (2 of 4 evaluations), then down again once separated, and cleared after a quiet while.
    levels = ["advisory", "warning", "loss_of_separation", "warning", "advisory", "cleared"]
    assert [level for _, level in separation] == levels
    times = [tau for tau, _ in separation]
    assert 60 <= times[0] <= 80 and 85 <= times[1] <= 100 and 140 <= times[2] <= 160 and 200 <= times[3] <= 220
    assert times[5] - times[3] <= 30

    hazard = next(k for k in history if k[0] == "hazard")
    assert hazard[1] == "HAWK21"
    levels = history.pop(hazard)
    assert levels[0][1] == "advisory" and levels[-1][1] == "cleared"
    assert 120 <= levels[0][0] <= 180

    nonconformance = history.pop(("nonconformance", "SEEKER41", ""))
    assert [level for _, level in nonconformance][:2] == ["nonconformance", "cleared"]
    assert 30 <= nonconformance[0][0] <= 60

    assert history == {}, "no other aircraft is ever in an alert"
    with line.db.read() as session:
        assert {a.kind for a in session.scalars(select(Alert))} == {"separation", "hazard", "nonconformance"}

    # The warning between blue's VIPER11 and orange's SHELL71: each side got its own manoeuvre and
    # the other's sense (tests/test_coordinated.py checks that together they clear the conflict).
    proposals = {}
    for party, group in (("blue-af", "coalition"), ("orange-af", None)):
        inbox = hotline.mailbox(line, Actor("party", party, group), "in", None, 100)
        [message] = [m for m in inbox if m["kind"] == "resolution"]
        assert message["recipients"] == [party] and "lat" not in str(message)
        proposals[party] = message["proposal"]
    blue, orange = proposals["blue-af"], proposals["orange-af"]
    assert (blue["own_track"], orange["own_track"]) == ("VIPER11", "SHELL71")
    assert blue["other_sense"] == orange["manoeuvre"]["sense"] and orange["other_sense"] == blue["manoeuvre"]["sense"]
    assert str(orange["manoeuvre"]["to"]) not in str(blue)


def test_the_inboxes_hold_a_notice_a_deconfliction_request_and_a_comm_check(tmp_path: Path) -> None:
    clock = Clock(T0.timestamp())
    line = Line(Database(f"sqlite:///{tmp_path / 'demo.db'}"), clock=clock, evaluate_every_s=0)
    load(line, tmp_path / "keys")
    clock.now += 1
    duties.hotline_beat(line)  # the server's first beat
    blue = hotline.mailbox(line, Actor("party", "blue-af", "coalition"), "in", None, 50)
    kinds = {m["kind"]: m for m in blue}
    assert set(kinds) == {"notice", "deconfliction_request", "comm_check"}
    assert kinds["notice"]["sender"] == "service"  # told of orange's conflicting filing, about its own patrol
    request = kinds["deconfliction_request"]
    assert request["sender"] == "orange-af" and request["proposal"]["action"] == "change_band"
    assert request["your_operations"]  # blue sees which of its operations it concerns: patrol north
    orange = hotline.mailbox(line, Actor("party", "orange-af", None), "in", None, 50)
    assert [m["kind"] for m in orange] == ["comm_check"]


def test_feed_tells_a_failure_once_and_goes_on(tmp_path: Path) -> None:
    cli = runner.invoke(app, ["--db", f"sqlite:///{tmp_path / 'd.db'}", "demo", "--keys-dir", str(tmp_path / "k")])
    assert cli.exit_code == 0, cli.output
    who = next(c for c in credentials(tmp_path / "k") if c.party == "blue-af")
    answers = iter([503] * 3 + [202] * 100)
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/whoami":
            return httpx.Response(200, json={"role": "party", "party": "blue-af", "group": None, "line": "deconline/t"})
        status = next(answers)
        if status == 202:
            bodies.append(json.loads(request.content)["body"])
            return httpx.Response(202, json={"stored": 3})
        return httpx.Response(503, json={"detail": "the database is busy; try again"})

    said: list[str] = []
    stop = threading.Event()
    threading.Timer(0.6, stop.set).start()
    stored = feed_party(
        "http://test", who, time.time(), stop, said.append, period_s=0.05, transport=httpx.MockTransport(handler)
    )
    assert said == [
        "demo feed blue-af: the server answered 503: the database is busy; try again; trying again every 0.05 s",
        "demo feed blue-af: feeding again",
    ]
    assert stored == len(bodies) >= 3
    assert {t["id"] for t in bodies[0]["tracks"]} == {"VIPER11", "HAWK21", "EAGLE31"}  # type: ignore[index]

    said.clear()
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    nobody = Credentials("green-af", "dl_x", tmp_path / "k" / "green-af.key")
    assert feed_party("http://127.0.0.1:9", nobody, time.time(), stop, said.append, period_s=0.05) == 0
    assert said == ["demo feed green-af: cannot connect to the server; trying again every 0.05 s"]


def test_local_url() -> None:
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("::", 8000) == "http://[::1]:8000"
    assert local_url("example.org", 80) == "http://example.org:80"


def test_serve_with_demo_feed_flies_every_party_through_the_api(tmp_path: Path) -> None:
    db, keys = f"sqlite:///{tmp_path / 'demo.db'}", tmp_path / "keys"
    cli = runner.invoke(app, ["--db", db, "demo", "--keys-dir", str(keys)])
    assert cli.exit_code == 0, cli.output
    tokens = json.loads((keys / "tokens.json").read_text())
    assert stat.S_IMODE((keys / "tokens.json").stat().st_mode) == 0o600
    assert set(tokens) == {"admin", "blue-af", "green-af", "orange-af"}
    for party in ("blue-af", "green-af", "orange-af"):
        assert tokens[party] in cli.output and str(keys / f"{party}.key") in cli.output

    missing = runner.invoke(app, ["--db", db, "serve", "--demo-feed", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "deconline demo" in missing.output

    with server(db, "--demo-feed", str(keys)) as url:
        own = {p: {a.track_id for a in fleet() if a.party == p} for p in ("blue-af", "green-af", "orange-af")}
        deadline = time.monotonic() + 10
        seen: dict[str, set[str]] = {}
        kinds: set[str] = set()
        while time.monotonic() < deadline:
            for party in own:
                with Client(url, tokens[party]) as c:
                    seen[party] = {t["id"] for t in c._call("GET", "/v1/tracks")}
                    if party == "blue-af":
                        kinds = {m["kind"] for m in c.messages()}
            if all(own[p] <= seen[p] for p in own) and "comm_check" in kinds:
                break
            time.sleep(0.3)
        assert all(own[p] <= seen[p] for p in own), seen
        assert {"deconfliction_request", "comm_check"} <= kinds  # the server's first hotline beat
    with Database(db).read() as session:
        live = {s.track_id: s for s in session.scalars(select(TrackState))}
        assert set(live) == {a.track_id for a in fleet()}
        assert len({round(s.time_s) for s in live.values()}) <= 3  # one batch a second from every feeder
