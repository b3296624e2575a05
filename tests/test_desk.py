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
import struct
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
from deconline.api.convert import to_volumes
from deconline.api.schemas import VolumeIn
from deconline.cli import app as cli
from deconline.record.envelope import REPLAYED_HEADER
from deconline.service import desk
from deconline.service.actors import Actor
from deconline.service.errors import Conflict, Invalid, NotFound
from deconline.service.inbox import Inbox
from deconline.service.line import Line
from deconline.service.operations import Draft
from deconline.service.statements import Repeated, Signed
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


def _filing(world: World, who: str, lon: float) -> desk.Filing:
    body = {"volumes": [box(lon=lon)]}
    sealed = world.statement(who, "POST", "/v1/operations", body, world.now_iso())
    draft = Draft(to_volumes([VolumeIn.model_validate(v) for v in body["volumes"]], world.line.limits))
    group = "allies" if who in ("alpha", "bravo") else None
    return desk.Filing(Actor("party", who, group), draft, Signed.of(sealed))


@POSTGRESQL
def test_filings_that_arrive_together_are_decided_in_one_batch_each_answered_with_its_own(world: World) -> None:
    """Read by the thread that decides: what is waiting when it looks is one batch, each filing
    answered on its own connection with what its own decision reported, the batch's with the first."""
    line = Line(Database(world.line.db.url), clock=world.line.clock)
    running, inbox = desk.Desk(line), Inbox()
    callers = []
    for who, lon in (("alpha", 10.0), ("charlie", 10.02), ("bravo", 30.0)):
        ours, theirs = Pipe()
        inbox.join(ours)
        theirs.send(_filing(world, who, lon))
        callers.append((who, theirs))
    ours, rude = Pipe()
    inbox.join(ours)
    rude.send("not a filing")
    thread = threading.Thread(target=running._decide_arrivals, args=(inbox,))
    thread.start()
    try:
        answers = {who: theirs.recv() for who, theirs in callers}
        assert rude.recv() == desk.Answer(False)  # its instance will decide: the desk serves on
        rude.close()
    finally:
        inbox.close()
        thread.join(10)
        line.db.dispose()
    assert not thread.is_alive()
    states = {who: answer.operation.state for who, answer in answers.items()}
    assert sorted([states["alpha"], states["charlie"]]) == ["accepted", "proposed"] and states["bravo"] == "accepted"
    assert running.decided == 3 and all(answer.carried_out for answer in answers.values())
    for who, answer in answers.items():
        assert [args for name, args in answer.probes if name == "decision"] == [("operation.filed", states[who])]
    batches = [args for answer in answers.values() for name, args in answer.probes if name == "batch"]
    assert batches == [(3,)]


def test_the_inbox_reads_every_connection_drops_the_closed_and_wakes_when_closed() -> None:
    inbox = Inbox()
    pairs = [Pipe() for _ in range(3)]
    for ours, _ in pairs:
        inbox.join(ours)
    assert inbox.take(0) == []  # the joining are read from the next look on
    pairs[0][1].send("one")
    pairs[2][1].send("three")
    pairs[1][1].close()
    taken = inbox.take(1)
    assert sorted(message for _, message in taken) == ["one", "three"]
    assert {id(connection) for connection, _ in taken} == {id(pairs[0][0]), id(pairs[2][0])}
    assert pairs[1][0].closed  # its caller is gone
    woken = threading.Timer(0.2, inbox.close)
    woken.start()
    assert inbox.take(None) == [] and inbox.closed
    inbox.shut()
    assert pairs[0][0].closed and pairs[2][0].closed


def test_a_message_still_on_its_way_holds_up_no_other_and_garbage_closes_its_connection() -> None:
    inbox = Inbox()
    (slow, slow_caller), (quick, quick_caller), (rude, rude_caller) = Pipe(), Pipe(), Pipe()
    for ours in (slow, quick, rude):
        inbox.join(ours)
    inbox.take(0)
    framed = struct.pack("!i", len(pickled := pickle.dumps({"filing": "slow"}))) + pickled
    os.write(slow_caller.fileno(), framed[:7])  # the first part of a message, as ``send`` frames it
    quick_caller.send("quick")
    os.write(rude_caller.fileno(), struct.pack("!i", 3) + b"???")  # framed, but not a pickle
    assert [message for _, message in inbox.take(1)] == ["quick"]
    assert rude.closed and not slow.closed
    os.write(slow_caller.fileno(), framed[7:])
    assert inbox.take(1) == [(slow, {"filing": "slow"})]
    inbox.shut()
