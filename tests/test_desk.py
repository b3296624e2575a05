"""The filing desk: instances on one host send their signed filings to one process that decides
them (PostgreSQL). In process with a real socket (answers and errors as the instance would give
them), and as real processes: two servers, one desk, no double accept, and a ``kill -9`` of the
desk loses no filing."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener, Pipe
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from deconline.api.app import create_app
from deconline.cli import app as cli
from deconline.record.envelope import REPLAYED_HEADER
from deconline.service import desk
from deconline.service.errors import Conflict, Invalid, NotFound
from deconline.service.line import Line
from deconline.service.statements import Repeated
from deconline.store.db import Database
from deconline.store.models import Operation, Setting
from tests.helpers import World, box, children_of, make_world, server_process

POSTGRESQL = pytest.mark.parametrize("world_copy", ["postgresql"], indirect=True)


def _leading(line: Line) -> str | None:
    with line.db.read() as session:
        said = session.get(Setting, desk.SETTING)
        return said.value if said is not None else None


def _wait(predicate: Any, timeout_s: float, step_s: float = 0.05) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(step_s)


@contextmanager
def _desk_beside(world: World) -> Iterator[desk.Desk]:
    """A desk on its own line (as its process would have), listening on a real socket."""
    line = Line(Database(world.line.db.url), clock=world.line.clock)
    running = desk.Desk(line)
    stop = threading.Event()
    thread = threading.Thread(target=running.run, args=(stop,))
    thread.start()
    try:
        _wait(lambda: _leading(world.line) is not None, 10)
        yield running
    finally:
        stop.set()
        thread.join()
        line.db.dispose()


def test_service_errors_cross_the_desk_whole() -> None:
    for error in (Invalid(["body", "volumes", 0], "too big"), Repeated("alpha", "n-1"), NotFound("no such thing")):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error)
        assert (str(again), again.status, vars(again)) == (str(error), error.status, vars(error))


@POSTGRESQL
def test_the_desk_decides_and_answers_as_the_instance_would(world: World) -> None:
    with _desk_beside(world) as running:
        app = create_app(world.line, rate_limit=None, duties=False, desk=True)
        with TestClient(app) as client:
            through = dataclasses.replace(world, client=client)
            first = through.file("alpha", box(lon=10.0))
            second = through.file("charlie", box(lon=10.02))  # 2 km apart: conflicts with alpha's
            assert (first["state"], second["state"]) == ("accepted", "proposed")
            assert [n["other_party"] for n in second["notices"]] == ["alpha"]
            told = through.get("alpha", f"/v1/operations/{first['id']}").json()
            assert [n["other_party"] for n in told["notices"]] == ["charlie"]  # both sides told

            # the same signed statement again: the desk refuses it (its nonce), the instance replays
            body = {"volumes": [box(lon=30.0)]}
            request = through.signed_request("bravo", "POST", "/v1/operations", body, through.now_iso())
            once = client.post("/v1/operations", **request)
            again = client.post("/v1/operations", **request)
            assert once.status_code == again.status_code == 201
            assert again.headers.get(REPLAYED_HEADER) == "true" and again.json() == once.json()

            figures = client.get("/metrics", headers=world.headers("auditor")).text
        assert running.decided == 3
        assert 'deconline_desk_filings_total{decided="desk"} 4.0' in figures  # the copy included
        assert 'deconline_decisions_total{kind="operation.filed",state="proposed"} 1.0' in figures  # told back
        with world.line.db.read() as session:
            assert session.scalar(select(Operation.state).where(Operation.id == second["id"])) == "proposed"


@POSTGRESQL
def test_without_a_desk_the_instance_decides_itself(world: World) -> None:
    app = create_app(world.line, rate_limit=None, duties=False, desk=True)
    with TestClient(app) as client:
        through = dataclasses.replace(world, client=client)
        assert through.file("alpha", box())["state"] == "accepted"
        figures = client.get("/metrics", headers=world.headers("auditor")).text
        assert 'deconline_desk_filings_total{decided="here"} 1.0' in figures


def _desks_of(pid: int) -> list[int]:
    return children_of(pid, running=b"\x00desk\x00")


def _desk_filings(world: World, url: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", headers=world.headers("auditor"), timeout=5).text.splitlines():
        if line.startswith("deconline_desk_filings_total{"):
            found[line.split('"')[1]] = float(line.rsplit(" ", 1)[1])
    return found


def _file(world: World, url: str, who: str, lon: float) -> dict[str, Any]:
    request = world.signed_request(who, "POST", "/v1/operations", {"volumes": [box(lon=lon, start_h=30, end_h=31)]})
    response = httpx.post(f"{url}/v1/operations", timeout=30, **request)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_servers_one_desk_and_a_kill_9_loses_nothing(db_url: str) -> None:
    world = make_world(db_url)
    options = ("--desk", "process", "--worker", "none")
    with server_process(db_url, *options) as (first, one), server_process(db_url, *options) as (second, two):
        _wait(lambda: _leading(world.line) is not None, 30)
        pairs = [(10.0 + 0.5 * i, i) for i in range(12)]

        def pair(place: tuple[float, int]) -> list[str]:
            lon, i = place
            urls = (first, second) if i % 2 else (second, first)
            with ThreadPoolExecutor(2) as both:  # the two sides of a conflict at once, on different servers
                answers = list(both.map(lambda side: _file(world, urls[side], ("alpha", "charlie")[side], lon), (0, 1)))
            return sorted(a["state"] for a in answers)

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(pair, pairs)) == [["accepted", "proposed"]] * len(pairs)  # never both accepted
        decided = [_desk_filings(world, first), _desk_filings(world, second)]
        assert sum(d.get("desk", 0) for d in decided) == 2 * len(pairs)

        for desk_pid in _desks_of(one.pid) + _desks_of(two.pid):
            os.kill(desk_pid, signal.SIGKILL)
        assert _file(world, first, "alpha", 40.0)["state"] == "accepted"  # at once: decided by the server itself
        assert _desk_filings(world, first)["here"] >= 1
        before = _desk_filings(world, second).get("desk", 0)

        def desk_again() -> bool:
            _file(world, second, "bravo", 50.0 + time.monotonic() % 1)
            return _desk_filings(world, second).get("desk", 0) > before

        _wait(desk_again, 30, 0.2)  # a desk started again, leads, and decides


@POSTGRESQL
def test_a_caller_without_the_key_is_refused_and_the_desk_serves_on(world: World) -> None:
    with _desk_beside(world) as running:
        address = desk._local_address(_leading(world.line))
        assert address is not None
        with pytest.raises(AuthenticationError):
            Client(address, authkey=b"not the line's key")
        app = create_app(world.line, rate_limit=None, duties=False, desk=True)
        with TestClient(app) as client:
            assert dataclasses.replace(world, client=client).file("alpha", box())["state"] == "accepted"
        assert running.decided == 1


@POSTGRESQL
def test_filings_beyond_the_instances_turns_at_the_desk_wait_for_one(world: World) -> None:
    with _desk_beside(world) as running:
        app = create_app(world.line, rate_limit=None, duties=False, desk=True)
        app.state.desk._turns = asyncio.Semaphore(1)  # one filing at the desk at a time
        with TestClient(app) as client:
            through = dataclasses.replace(world, client=client)
            parties = ("alpha", "bravo", "charlie", "alpha", "bravo", "charlie")
            with ThreadPoolExecutor(len(parties)) as pool:
                filed = list(pool.map(lambda i: through.file(parties[i], box(lon=10.0 + i)), range(len(parties))))
            figures = client.get("/metrics", headers=world.headers("auditor")).text
        assert [op["state"] for op in filed] == ["accepted"] * len(parties)
        assert running.decided == len(parties)
        assert f'deconline_desk_filings_total{{decided="desk"}} {len(parties)}.0' in figures


@POSTGRESQL
def test_a_desk_that_never_answers_leaves_the_decision_to_the_instance(world: World) -> None:
    """A desk that took the filing and hangs (stopped, say): after the wait, the instance decides."""
    listener = Listener(("127.0.0.1", 0), authkey=desk.authkey(world.line))
    held: list[Any] = []

    def take_and_hang() -> None:
        connection = listener.accept()
        held.append(connection.recv())  # and never answers

    threading.Thread(target=take_and_hang, daemon=True).start()
    host, port = listener.address
    with world.line.db.write() as session:
        session.merge(Setting(key=desk.SETTING, value=f"{host}:{port}"))
    app = create_app(world.line, rate_limit=None, duties=False, desk=True)
    app.state.desk.answer_wait_s = 0.5
    with TestClient(app) as client:
        through = dataclasses.replace(world, client=client)
        assert through.file("alpha", box())["state"] == "accepted"
        figures = client.get("/metrics", headers=world.headers("auditor")).text
    assert len(held) == 1 and isinstance(held[0], desk.Filing)  # it did reach the desk
    assert 'deconline_desk_filings_total{decided="here"} 1.0' in figures
    listener.close()


def test_an_answer_that_cannot_travel_goes_as_an_error_that_says_so() -> None:
    ours, theirs = Pipe()
    error = Conflict("stale")
    error.unpicklable = lambda: None  # type: ignore[attr-defined]
    assert desk.send_answer(ours, desk.Answer(True, error=error, carried_out=True))
    answer = theirs.recv()
    assert isinstance(answer.error, desk.Unanswered) and answer.error.status == 503 and answer.carried_out
    theirs.close()
    assert not desk.send_answer(ours, desk.Answer(True))  # the caller is gone


def test_the_commands_say_what_is_wrong(tmp_path: Path) -> None:
    runner = CliRunner()
    db = f"sqlite:///{tmp_path / 'line.db'}"
    assert runner.invoke(cli, ["--db", db, "init"]).exit_code == 0
    alone = runner.invoke(cli, ["--db", db, "desk"])
    assert alone.exit_code == 2 and "the filing desk is for PostgreSQL" in alone.output
    assert "--log-format must be text or json" in runner.invoke(cli, ["--db", db, "desk", "--log-format", "xml"]).output
    wrong = runner.invoke(cli, ["--db", db, "serve", "--desk", "elsewhere"])
    assert wrong.exit_code == 2 and "--desk must be process or none" in wrong.output
