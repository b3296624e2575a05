"""The operator's view: readiness, Prometheus metrics, request ids and JSON logs."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from deconline.client import Client
from deconline.logs import JsonFormatter
from tests.helpers import World, box, make_world, server


def metric(body: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == (f"{name}{{{wanted}}}" if labels else name):
            return float(value)
    return None


def test_ready_when_the_database_answers_and_migrations_are_current(world: World) -> None:
    response = world.client.get("/readyz")  # no token needed
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "evaluator": "off"},
        "leader": False,  # the test client runs no lifespan, so it never asked to lead
    }


def test_not_ready_with_migrations_pending(world: World) -> None:
    with world.line.db.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    response = world.client.get("/readyz")
    assert response.status_code == 503
    count, _, rest = response.json()["checks"]["migrations"].partition(" ")
    assert int(count) >= 3 and rest == "pending: run 'deconline init'"  # 0007 onwards


def test_metrics_for_the_operator_only(world: World) -> None:
    assert world.client.get("/metrics").status_code == 401
    assert world.get("alpha", "/metrics").status_code == 403
    assert world.get("auditor", "/metrics").status_code == 200
    response = world.get("admin", "/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")


def test_metrics_count_requests_by_route_template_and_decisions(world: World) -> None:
    theirs = world.file("charlie", box(10.0, 50.0, 10))
    world.file("alpha", box(10.05, 50.0, 3, lower=1500))
    assert world.get("charlie", f"/v1/operations/{theirs['id']}").status_code == 200
    body = world.get("admin", "/metrics").text
    assert theirs["id"] not in body  # ids never become labels
    route = "/v1/operations/{op_id}"
    assert metric(body, "deconline_http_requests_total", method="GET", route=route, status="200") == 1
    assert metric(body, "deconline_http_requests_total", method="POST", route="/v1/operations", status="201") == 2
    assert metric(body, "deconline_decisions_total", kind="operation.filed", state="accepted") == 1
    assert metric(body, "deconline_decisions_total", kind="operation.filed", state="proposed") == 1
    assert (metric(body, "deconline_strategic_lock_wait_seconds_count") or 0) >= 2
    assert metric(body, "deconline_open_notices") == 2  # one to each side
    assert metric(body, "deconline_operations", state="accepted") == 1
    assert metric(body, "deconline_live_tracks", owner="party") == 0
    assert metric(body, "deconline_active_alerts", kind="separation") == 0
    assert metric(body, "deconline_event_streams") == 0
    assert (metric(body, "deconline_record_entries") or 0) > 0


def test_every_response_carries_a_request_id(world: World) -> None:
    given = world.client.get("/healthz", headers={"X-Request-ID": "probe-42"})
    assert given.headers["X-Request-ID"] == "probe-42"
    made = world.client.get("/v1/operations")  # a 401 too
    assert made.status_code == 401 and len(made.headers["X-Request-ID"]) == 16
    odd = world.client.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert odd.headers["X-Request-ID"] != "x" * 65  # not echoed: too long to be an id


def test_the_json_formatter_keeps_the_request_fields() -> None:
    record = logging.LogRecord("deconline.access", logging.INFO, __file__, 1, "GET %s", ("/healthz",), None)
    record.request_id, record.status = "abc", 200
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /healthz" and line["request_id"] == "abc" and line["status"] == 200
    assert line["level"] == "info" and line["time"].endswith("Z")


def test_serve_writes_json_logs_with_request_ids(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/line.db"
    make_world(db_url).line.db.dispose()
    log = tmp_path / "serve.log"
    with server(db_url, "--log-format", "json", log=log) as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert httpx.get(f"{url}/healthz", headers={"X-Request-ID": "from-the-proxy"}).status_code == 200
        time.sleep(0.3)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("request_id") == "from-the-proxy"]
    assert access and access[0]["route"] == "/healthz" and access[0]["status"] == 200, lines[-5:]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_an_evaluation_longer_than_its_period_is_counted_and_logged(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/line.db"
    world = make_world(db_url)
    world.line.db.dispose()
    log = tmp_path / "serve.log"
    with server(db_url, "--evaluate-every", "0.0001", log=log) as url:
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        tracks = [
            {"id": f"a{i}", "lat": 50.0, "lon": 10.0 + i / 100, "alt_m": 3000.0, "gs_mps": 100.0, "track_deg": 90.0,
             "time": now}
            for i in range(20)
        ]  # fmt: skip
        with Client(url, world.tokens["alpha"], key=world.keys["alpha"]) as alpha:
            alpha.post_tracks(tracks)
        deadline = time.monotonic() + 10
        overruns = None
        while time.monotonic() < deadline and not overruns:
            time.sleep(0.2)
            body = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {world.tokens['admin']}"}).text
            overruns = metric(body, "deconline_evaluation_overruns_total")
        assert overruns and overruns >= 1
        assert (metric(body, "deconline_gc_frozen_objects") or 0) > 10_000  # start-up's heap is out of the GC's sight
        assert metric(body, "python_gc_collections_total", generation="2") is not None
    warnings = [line for line in log.read_text().splitlines() if "longer than its period" in line]
    assert len(warnings) == 1, warnings  # once a minute at most, however many cycles overran
