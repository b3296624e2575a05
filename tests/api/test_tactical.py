"""Live tracks and alerts through the API: levels, lifecycle, disclosure, isolation, live push."""

from __future__ import annotations

import json
import math
import random
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from deconline.service import tactical
from deconline.service.actors import Actor
from tests.helpers import World

EARTH = 6_371_000.0


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def report(
    world: World, track_id: str, east_m: float, alt: float, track_deg: float, gs: float = 200.0, **kw: Any
) -> dict[str, Any]:
    lat = 50.0
    lon = 10.0 + math.degrees(east_m / (EARTH * math.cos(math.radians(lat))))
    body = {
        "id": track_id,
        "lat": lat,
        "lon": lon,
        "alt_m": alt,
        "gs_mps": gs,
        "track_deg": track_deg,
        "vrate_mps": 0.0,
        "time": iso(world.clock.now),
    }
    body.update(kw)
    return body


def send(world: World, who: str, *reports: dict[str, Any]) -> None:
    response = world.post(who, "/v1/tracks", {"tracks": list(reports)})
    assert response.status_code == 202, response.text


def head_on(world: World, distance_m: float) -> None:
    """alpha's A1 flying east and charlie's C1 flying west, ``distance_m`` apart, same level."""
    send(world, "alpha", report(world, "A1", -distance_m / 2, 9000, 90))
    send(world, "charlie", report(world, "C1", distance_m / 2, 9000, 270))


def test_alert_levels_and_lifecycle(world: World) -> None:
    head_on(world, 9260 + 400 * 200)  # loss of separation in 200 s: advisory
    tactical.evaluate(world.line)
    [alert] = world.get("alpha", "/v1/alerts").json()
    assert (alert["level"], alert["state"], alert["own_track"]) == ("advisory", "raised", "A1")
    assert alert["intruder"]["party"] == "charlie" and alert["intruder"]["track"] == "C1"
    assert alert["intruder"]["state"]["alt_m"] == 9000
    assert alert["t_los"] == 200.0

    world.clock.now += 100  # now 100 s away: warning
    head_on(world, 9260 + 400 * 100)
    tactical.evaluate(world.line)
    [alert] = world.get("charlie", "/v1/alerts").json()
    assert (alert["level"], alert["state"], alert["own_track"]) == ("warning", "updated", "C1")

    world.clock.now += 100  # both inside the minimum now
    head_on(world, 5000)
    tactical.evaluate(world.line)
    [alert] = world.get("alpha", "/v1/alerts").json()
    assert alert["level"] == "loss_of_separation" and alert["los"] is True

    world.clock.now += 60  # C1 climbed away
    send(world, "alpha", report(world, "A1", 0, 9000, 90))
    send(world, "charlie", report(world, "C1", 20_000, 12_000, 90))
    tactical.evaluate(world.line)
    assert world.get("alpha", "/v1/alerts").json() == []
    [cleared] = world.get("alpha", "/v1/alerts", params={"state": "all"}).json()
    assert cleared["state"] == "cleared" and "state" not in cleared["intruder"]


def test_each_party_sees_only_its_own_alerts_and_intruders_only_in_alert(world: World) -> None:
    send(world, "bravo", report(world, "B1", 300_000, 5000, 0))
    tracks_before = {t["id"] for t in world.get("charlie", "/v1/tracks").json()}
    head_on(world, 30_000)
    assert {t["id"] for t in world.get("charlie", "/v1/tracks").json()} == tracks_before | {"C1"}
    tactical.evaluate(world.line)
    assert world.get("bravo", "/v1/alerts").json() == []  # group member, but not its aircraft
    assert len(world.get("alpha", "/v1/alerts").json()) == 1
    assert {t["id"] for t in world.get("charlie", "/v1/tracks").json()} == {"C1", "A1"}  # A1 only while in alert
    assert {t["id"] for t in world.get("alpha", "/v1/tracks").json()} == {"A1", "B1", "C1"}  # own side + intruder
    world.clock.now += 30  # stale: no more alert, no more disclosure
    send(world, "charlie", report(world, "C1", 500_000, 9000, 0))
    tactical.evaluate(world.line)
    assert {t["id"] for t in world.get("charlie", "/v1/tracks").json()} == {"C1"}


def test_same_party_aircraft_do_not_alert(world: World) -> None:
    send(world, "alpha", report(world, "A1", -1000, 9000, 90), report(world, "A2", 1000, 9000, 270))
    assert tactical.evaluate(world.line) == []


def test_stale_reports_take_no_part(world: World) -> None:
    head_on(world, 20_000)
    world.clock.now += 25
    assert tactical.evaluate(world.line) == []


def test_older_reports_never_overwrite_newer(world: World) -> None:
    send(world, "alpha", report(world, "A1", 0, 9000, 90))
    send(world, "alpha", report(world, "A1", 0, 1000, 90, time=iso(world.clock.now - 10)))
    [track] = world.get("alpha", "/v1/tracks").json()
    assert track["alt_m"] == 9000


def test_bad_reports_are_refused(world: World) -> None:
    good = report(world, "A1", 0, 9000, 90)
    for field, value in (
        ("lat", 91), ("alt_m", 40_000), ("gs_mps", -1), ("id", "bad id!"), ("extra", 1),
        ("selected_altitude_m", 40_000), ("callsign", "RCH-1"), ("nac_p", 12), ("velocity_age_s", -1),
    ):  # fmt: skip
        response = world.post("alpha", "/v1/tracks", {"tracks": [{**good, field: value}]})
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "tracks", 0, field], response.text
    future = world.post("alpha", "/v1/tracks", {"tracks": [{**good, "time": iso(world.clock.now + 3600)}]})
    assert future.status_code == 422 and "future" in future.text
    headers = {**world.headers("alpha"), "content-type": "application/json"}
    nan = world.client.post(
        "/v1/tracks", content=json.dumps({"tracks": [good]}).replace("9000", "NaN"), headers=headers
    )
    assert nan.status_code == 422
    assert world.get("alpha", "/v1/tracks").json() == []
    assert world.post("auditor", "/v1/tracks", {"tracks": [good]}).status_code == 403
    assert world.get("admin", "/v1/alerts").status_code == 403


def test_alerts_are_pushed_to_the_parties_involved(world: World) -> None:
    head_on(world, 30_000)
    received: list[str] = []

    def evaluate_soon() -> None:
        threading.Event().wait(0.3)
        tactical.evaluate(world.line)

    worker = threading.Thread(target=evaluate_soon)
    with world.client.stream("GET", "/v1/events", params={"limit": 1}, headers=world.headers("charlie")) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        worker.start()
        for line in response.iter_lines():
            if line.startswith("data: "):
                received.append(line[6:])
    worker.join()
    [event] = [e for e in map(json.loads, received) if e["type"] != "ready"]
    assert event["type"] == "alert" and event["alert"]["own_track"] == "C1"
    assert event["alert"]["intruder"] == {"party": "alpha", "track": "A1", "state": event["alert"]["intruder"]["state"]}


def test_hazard_entry_and_nonconformance_alerts(world: World) -> None:
    from tests.helpers import box, circle

    ahead = 10.0 + math.degrees(30_000 / (EARTH * math.cos(math.radians(50.0))))
    hazard = world.post(
        "charlie",
        "/v1/hazards",
        {"kind": "live_fire", "volume": circle(ahead, 50.0, 5000, lower=0, upper=20_000, start_h=-1, end_h=5)},
    ).json()
    op = world.file("alpha", box(10.0, 50.0, 5, lower=8000, upper=10_000, start_h=-1, end_h=2))
    world.post("alpha", f"/v1/operations/{op['id']}/state", {"version": op["version"], "state": "active"})
    send(world, "alpha", report(world, "A1", 0, 9000, 90))  # inside its operation, 25 km from the range
    tactical.evaluate(world.line)
    [alert] = world.get("alpha", "/v1/alerts").json()
    assert (alert["kind"], alert["hazard_id"], alert["level"]) == ("hazard", hazard["id"], "advisory")
    assert abs(alert["t_los"] - 25_000 / 200) < 2
    assert world.get("charlie", "/v1/alerts").json() == []  # the declarer is not told about alpha's aircraft
    world.clock.now += 5
    send(world, "alpha", report(world, "A2", -50_000, 9000, 0))  # alpha's, but outside its operation
    tactical.evaluate(world.line)
    kinds = sorted(a["kind"] for a in world.get("alpha", "/v1/alerts").json())
    assert kinds == ["hazard", "nonconformance"]
    send(world, "charlie", report(world, "C9", -50_000, 3000, 0))  # charlie flies no operation: not held to one
    tactical.evaluate(world.line)
    assert world.get("charlie", "/v1/alerts").json() == []


def _alert_events(world: World, party: str) -> list[dict[str, Any]]:
    from deconline.service import events

    with world.line.db.read() as session:
        return [json.loads(data)["alert"] for _, data in events.since(session, party, 0, 10_000)]


def test_a_partys_nonconforming_aircraft_share_one_alert_updated_as_they_come_and_go(world: World) -> None:
    from tests.helpers import box

    op = world.file("alpha", box(10.0, 50.0, 5, lower=8000, upper=10_000, start_h=-1, end_h=2))
    world.post("alpha", f"/v1/operations/{op['id']}/state", {"version": op["version"], "state": "active"})
    outside = [report(world, f"A{i}", -50_000 - 1000 * i, 9000, 0) for i in range(2, 40)]
    send(world, "alpha", report(world, "A1", 0, 9000, 90), *outside)
    tactical.evaluate(world.line)
    [alert] = world.get("alpha", "/v1/alerts").json()
    assert (alert["kind"], alert["state"], alert["own_track"]) == ("nonconformance", "raised", "")
    assert alert["aircraft"] == sorted(r["id"] for r in outside)
    assert len(_alert_events(world, "alpha")) == 1  # one event for 38 aircraft

    tactical.evaluate(world.line)  # nothing changed: nothing told
    assert len(_alert_events(world, "alpha")) == 1
    world.clock.now += 1
    send(world, "alpha", report(world, "A2", 0, 9000, 0), report(world, "A99", -60_000, 9000, 0))  # one back, one out
    tactical.evaluate(world.line)
    [again] = world.get("alpha", "/v1/alerts").json()
    assert (again["id"], again["state"]) == (alert["id"], "updated")
    assert again["aircraft"] == sorted({r["id"] for r in outside} - {"A2"} | {"A99"})
    told = _alert_events(world, "alpha")
    assert len(told) == 2 and told[-1]["aircraft"] == again["aircraft"]

    world.clock.now += 1
    send(world, "alpha", *[report(world, r["id"], 0, 9000, 0) for r in outside], report(world, "A99", 0, 9000, 0))
    tactical.evaluate(world.line)
    assert world.get("alpha", "/v1/alerts").json() == []
    cleared = _alert_events(world, "alpha")[-1]
    assert (cleared["id"], cleared["state"], cleared["aircraft"]) == (alert["id"], "cleared", [])
    for other in ("bravo", "charlie"):  # nobody else hears of alpha's aircraft
        assert _alert_events(world, other) == []
        assert all(a["kind"] != "nonconformance" for a in world.get(other, "/v1/alerts?state=all").json())


def test_a_batch_with_one_bad_report_is_refused_whole_naming_it(world: World) -> None:
    batch = [report(world, f"A{i}", i * 100.0, 9000, 90) for i in range(100)]
    for index, field, value, words in ((57, "lat", 91, "less than or equal"), (42, "time", None, "future")):
        bad = [dict(r) for r in batch]
        bad[index][field] = value if value is not None else iso(world.clock.now + 3600)
        response = world.post("alpha", "/v1/tracks", {"tracks": bad})
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "tracks", index, field] and words in error["msg"], error
    assert world.get("alpha", "/v1/tracks").json() == []  # nothing of either batch was stored


def test_the_newest_report_wins_under_concurrent_batches(world: World) -> None:
    """Eight writers post the same 200 tracks at once, each report with its own time, in several
    orders: whatever the interleaving, each track ends with its newest report."""
    rng = random.Random(7)
    tracks = [f"T{i:03d}" for i in range(200)]
    batches = []
    for _ in range(24):
        times = {t: world.clock.now - rng.uniform(0, 20) for t in tracks}
        order = rng.sample(tracks, len(tracks))
        batches.append([tactical.Report(t, 50.0, 10.0, times[t], 100.0, 90.0, 0.0, times[t]) for t in order])
    newest = {t: max(r.time_s for batch in batches for r in batch if r.track_id == t) for t in tracks}
    errors: list[BaseException] = []

    def post(k: int) -> None:
        try:
            for batch in batches[k::8]:
                tactical.ingest(world.line, Actor("party", "alpha"), batch)
        except BaseException as exc:  # a deadlock or a lost update must fail the test, not vanish
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with world.line.db.read() as session:
        stored = {s.track_id: s for s in tactical.live_tracks(session, 0.0)}
    assert {t: stored[t].time_s for t in tracks} == newest
    assert all(stored[t].alt_m == stored[t].time_s for t in tracks)  # the whole row is the newest report's


def test_a_batch_whose_transaction_fails_stores_nothing_and_the_next_is_stored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the batch passes through a temporary table: a rollback must leave neither
    rows nor a broken table behind (on the first batch of a connection it also undoes the table)."""
    batch = [tactical.Report(f"R{i}", 50.0, 10.0, 3000.0, 100.0, 90.0, 0.0, world.clock.now) for i in range(50)]
    append = world.line.append

    def failing(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the record is unavailable")

    monkeypatch.setattr(world.line, "append", failing)
    with pytest.raises(RuntimeError):
        tactical.ingest(world.line, Actor("party", "alpha"), batch)
    monkeypatch.setattr(world.line, "append", append)
    with world.line.db.read() as session:
        assert tactical.live_tracks(session, 0.0) == []
    for _ in range(3):  # on the same pooled connection, again and again
        tactical.ingest(world.line, Actor("party", "alpha"), batch[:10])
    tactical.ingest(world.line, Actor("party", "alpha"), batch)
    with world.line.db.read() as session:
        assert len(tactical.live_tracks(session, 0.0)) == 50
