"""Group commit: the batcher's order and hand-over, and filings decided together giving exactly
the answers they would have got one by one (a slow reference: filing them in turn)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DataError

from deconline.api.convert import to_volumes
from deconline.api.schemas import VolumeIn
from deconline.core.volumes import Volume
from deconline.service import operations
from deconline.service.actors import Actor
from deconline.service.batching import Batcher, Ticket
from deconline.store import pipeline
from deconline.store.db import Database
from deconline.store.models import ConflictNotice, Operation
from tests.helpers import World, box, make_world


def test_items_that_arrive_during_a_batch_are_done_together_in_arrival_order() -> None:
    batches: list[list[int]] = []
    first_running = threading.Event()
    release = threading.Event()

    def run(tickets: Sequence[Ticket[int]]) -> None:
        batches.append([t.item for t in tickets])
        if tickets[0].item == 0:
            first_running.set()
            release.wait(5)
        for ticket in tickets:
            ticket.result = ticket.item * 10

    batcher: Batcher[int] = Batcher(run)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batcher.submit, 0)
        assert first_running.wait(5)
        later = []
        for k in range(1, 6):
            later.append(pool.submit(batcher.submit, k))
            time.sleep(0.02)  # in this order
        release.set()
        assert first.result(5) == 0 and [f.result(5) for f in later] == [10, 20, 30, 40, 50]
    assert batches == [[0], [1, 2, 3, 4, 5]]
    assert (batcher.batches, batcher.items) == (2, 6)


def test_each_caller_gets_its_own_error_and_the_lead_is_handed_on() -> None:
    def run(tickets: Sequence[Ticket[int]]) -> None:
        for ticket in tickets:
            if ticket.item % 2:
                ticket.error = ValueError(f"odd {ticket.item}")
            else:
                ticket.result = ticket.item

    batcher: Batcher[int] = Batcher(run, max_batch=3)
    with ThreadPoolExecutor(16) as pool:
        futures = {k: pool.submit(batcher.submit, k) for k in range(40)}
    for k, future in futures.items():
        if k % 2:
            error = future.exception()
            assert isinstance(error, ValueError) and str(error) == f"odd {k}"
        else:
            assert future.result() == k
    assert batcher.items == 40 and batcher.batches >= 40 // 3
    assert not batcher._working and not batcher._waiting  # nobody left leading or waiting


def _volumes(world: World, lon: float, lat: float, half_km: float, start_h: float) -> list[Volume]:
    body = box(lon, lat, half_km, start_h=start_h, end_h=start_h + 1.0)
    return to_volumes([VolumeIn.model_validate(body)], world.line.limits)


def _outcome(world: World, ids: list[str]) -> list[tuple[str, int]]:
    """Each operation's state and how many notices name it, in filing order."""
    with world.line.db.read() as session:
        states = {op.id: op.state for op in session.query(Operation).filter(Operation.id.in_(ids))}
        notices = session.query(ConflictNotice).filter(ConflictNotice.operation_id.in_(ids)).all()
    return [(states[i], sum(1 for n in notices if n.operation_id == i)) for i in ids]


filings = st.lists(
    st.tuples(
        st.sampled_from(["alpha", "bravo", "charlie"]),
        st.floats(9.9, 10.1),
        st.floats(49.95, 50.05),
        st.floats(1.0, 6.0),
        st.sampled_from([1.0, 1.5, 3.0]),
    ),
    min_size=2,
    max_size=8,
)


def _group(who: str) -> str | None:
    return "allies" if who in ("alpha", "bravo") else None


def _file_in_one_batch(world: World, actors_and_drafts: list[tuple[Actor, operations.Draft]]) -> list[str]:
    tickets: list[Ticket[Any]] = [
        Ticket((draft.volumes, operations.filing(world.line, actor, draft))) for actor, draft in actors_and_drafts
    ]
    world.line.decide_batch(tickets)
    return [ticket.answer().id for ticket in tickets]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filings=filings)
def test_filings_decided_in_one_batch_match_filing_them_one_by_one(filings: list[Any]) -> None:
    together, one_by_one = make_world("sqlite://"), make_world("sqlite://")
    batch, alone = [], []
    for who, lon, lat, half, start in filings:
        actor = Actor("party", who, _group(who))
        batch.append((actor, operations.Draft(_volumes(together, lon, lat, half, start))))
        alone.append(
            operations.file(one_by_one.line, actor, operations.Draft(_volumes(one_by_one, lon, lat, half, start))).id
        )
    assert _outcome(together, _file_in_one_batch(together, batch)) == _outcome(one_by_one, alone)


def test_a_failing_decision_in_a_batch_fails_alone_and_leaves_no_trace(world: World) -> None:
    same_place = [
        (Actor("party", who, _group(who)), operations.Draft(_volumes(world, 10.0, 50.0, 3.0, 1.0)))
        for who in ("alpha", "charlie", "bravo")
    ]
    tickets: list[Ticket[Any]] = [Ticket((d.volumes, operations.filing(world.line, a, d))) for a, d in same_place]
    decide_first = tickets[0].item[1]

    def fails(change: Any) -> Any:
        decide_first(change)  # writes, and is applied to the picture for the next one...
        raise RuntimeError("and then fails")

    tickets[0] = Ticket((tickets[0].item[0], fails))
    world.line.decide_batch(tickets)
    assert isinstance(tickets[0].error, RuntimeError)
    states = [t.answer().state for t in tickets[1:]]
    assert states == ["accepted", "proposed"]  # ...but the others are decided as if it never came
    assert _outcome(world, [t.answer().id for t in tickets[1:]]) == [("accepted", 1), ("proposed", 1)]


def test_concurrent_filings_are_batched_and_never_both_accepted(db_url: str) -> None:
    world = make_world(db_url)
    actors = [Actor("party", "alpha", "allies"), Actor("party", "charlie")]
    rounds = 40

    def file(k: int) -> str:
        draft = operations.Draft(_volumes(world, 5.0 + (k // 2) * 0.3, 50.0, 3.0, 1.0))
        return operations.file(world.line, actors[k % 2], draft).state

    with ThreadPoolExecutor(8) as pool:
        states = list(pool.map(file, range(2 * rounds)))
    for k in range(rounds):  # each pair in its own place: one accepted, one proposed
        assert sorted(states[2 * k : 2 * k + 2]) == ["accepted", "proposed"], (k, states[2 * k : 2 * k + 2])
    batcher = world.line._together
    assert batcher is not None and batcher.items == 2 * rounds
    print(f"{batcher.items} filings in {batcher.batches} batches")


def test_a_failure_after_the_commit_never_takes_the_batch_again(world: World) -> None:
    drafts = [
        (Actor("party", who, _group(who)), operations.Draft(_volumes(world, 12.0, 50.0, 3.0, 1.0)))
        for who in ("alpha", "charlie")
    ]
    tickets: list[Ticket[Any]] = [Ticket((d.volumes, operations.filing(world.line, a, d))) for a, d in drafts]

    def broken(_: float) -> None:
        raise RuntimeError("a probe broke after the commit")

    world.line.probes.lock_hold = broken
    with pytest.raises(RuntimeError):  # raised to the batcher (which logs it), never taken again
        world.line.decide_batch(tickets)
    ids = [t.result.id for t in tickets]
    with world.line.db.read() as session:
        stored = session.query(Operation).filter(Operation.party_id.in_(["alpha", "charlie"])).count()
    assert stored == 2 and [t.result.state for t in tickets] == ["accepted", "proposed"], ids


def test_a_running_batch_takes_what_arrived_since_in_order_while_it_fits() -> None:
    taken: list[list[int]] = []
    running, queued = threading.Event(), threading.Event()

    def run(tickets: list[Ticket[int]]) -> None:
        if tickets[0].item == 0:
            running.set()
            assert queued.wait(5)
            joining = batcher.more(lambda item: item < 100)
            tickets += joining  # ``run`` adds them to its batch
            taken.append([t.item for t in joining])
        for ticket in tickets:
            ticket.result = ticket.item

    batcher: Batcher[int] = Batcher(run, max_batch=4)
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(batcher.submit, 0)
        assert running.wait(5)
        later = []
        for k in (1, 2, 100, 3, 4):  # 100 does not fit: 3 and 4 must not pass it
            later.append(pool.submit(batcher.submit, k))
            while len(batcher._waiting) < len(later):
                time.sleep(0.001)
        queued.set()
        assert first.result(5) == 0 and [f.result(5) for f in later] == [1, 2, 100, 3, 4]
    assert taken == [[1, 2]]
    assert batcher.items == 6 and batcher.batches == 2  # [0, 1, 2], then [100, 3, 4]


@pytest.mark.parametrize("world_copy", ["sqlite"], indirect=True)
def test_filings_that_queue_while_a_decision_holds_their_cells_join_it(world: World) -> None:
    line, started, queued = world.line, threading.Event(), threading.Event()
    sizes: list[int] = []
    line.probes.batch = sizes.append
    here = [(who, _volumes(world, 10.0, 50.0, 3.0, 1.0)) for who in ("alpha", "charlie", "bravo")]
    far = _volumes(world, 20.0, 45.0, 3.0, 1.0)  # other cells: decided on its own, after

    def first(change: Any) -> Any:
        started.set()
        assert queued.wait(5)
        return operations.filing(line, Actor("party", "alpha", "allies"), operations.Draft(here[0][1]))(change)

    with ThreadPoolExecutor(4) as pool:
        leader = pool.submit(line.decide_together, here[0][1], first)
        assert started.wait(5)
        others = []
        for who, volumes in [*here[1:], ("charlie", far)]:
            actor = Actor("party", who, _group(who))
            others.append(pool.submit(operations.file, line, actor, operations.Draft(volumes)))
            while len(line._together._waiting) < len(others):  # type: ignore[union-attr]
                time.sleep(0.001)
        queued.set()
        ids = [leader.result(10).id] + [f.result(10).id for f in others]
    assert sizes == [3, 1]  # the two in the held cells joined the first; the far one came after
    assert _outcome(world, ids) == [("accepted", 1), ("proposed", 1), ("accepted", 0), ("accepted", 0)]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_error_in_statements_sent_together_is_sqlalchemys_as_any_other(db_url: str) -> None:
    """The BEGIN, the lock on everything and the cells go out together (a psycopg pipeline, outside
    SQLAlchemy's execute): a failure there must still be SQLAlchemy's error, which the API answers
    without a 500, and the pool must hand out a working connection after it."""
    db = Database(db_url)
    with pytest.raises(DataError), db.write() as session:
        connection = session.connection()
        with pipeline.together(connection):
            connection.execute(text("SELECT 1"))
            pipeline.rows(connection, text("SELECT 1 / 0"), {}).fetchall()
    with db.write() as session:
        connection = session.connection()
        with pipeline.together(connection):
            connection.execute(text("SELECT 1"))
            assert pipeline.one(pipeline.rows(connection, text("SELECT CAST(:n AS integer) + 1"), {"n": 2})) == (3,)
    db.dispose()
