"""Live events: persisted with the change, a party's numbered 1, 2, 3, ... ('party:n'), replayed
from Last-Event-ID."""

from __future__ import annotations

import json
from typing import Any

from deconline.service import events as events_service
from tests.helpers import World


def message(world: World, sender: str, to: str, text: str) -> dict[str, Any]:
    body = {"recipients": [to], "kind": "notice", "references": [], "text": text}
    response = world.post(sender, "/v1/messages", body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def read_stream(world: World, who: str, limit: int, last_event_id: str | None = None) -> list[dict[str, Any]]:
    """Frames (id, event, data) from /v1/events until ``limit`` events were sent."""
    headers = world.headers(who)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    frames: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with world.client.stream("GET", "/v1/events", params={"limit": limit}, headers=headers) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith(":"):
                continue
            if not line:
                if current:
                    frames.append(current)
                current = {}
                continue
            field, _, value = line.partition(": ")
            current[field] = json.loads(value) if field == "data" else value
    if current:
        frames.append(current)
    return frames


def test_a_reconnecting_stream_gets_exactly_what_it_missed(world: World) -> None:
    first = message(world, "alpha", "charlie", "one")
    frames = read_stream(world, "charlie", 1, last_event_id="charlie:0")
    assert [f["event"] for f in frames] == ["message"]
    assert frames[0]["data"]["message"]["id"] == first["id"]
    assert frames[0]["id"] == "charlie:1"
    second = message(world, "alpha", "charlie", "two")
    third = message(world, "bravo", "charlie", "three")
    missed = read_stream(world, "charlie", 2, last_event_id="charlie:1")
    assert [f["data"]["message"]["id"] for f in missed] == [second["id"], third["id"]]
    assert [f["id"] for f in missed] == ["charlie:2", "charlie:3"]


def test_a_new_stream_opens_with_the_latest_id(world: World) -> None:
    message(world, "alpha", "charlie", "before")
    with world.line.db.read() as session:
        latest = events_service.latest_seq(session, "charlie")
    assert latest == 1
    with world.client.stream("GET", "/v1/events", headers=world.headers("charlie")) as response:
        lines = response.iter_lines()
        opening = [next(lines) for _ in range(5)]
    assert opening[2:5] == ["id: charlie:1", "event: ready", 'data: {"type":"ready","last_event_id":"charlie:1"}']


def test_a_partys_numbers_are_its_own_whatever_the_others_receive(world: World) -> None:
    """A busy party's events do not show in a quiet party's numbers: each counts 1..n."""
    for k in range(7):
        message(world, "alpha", "charlie", f"busy {k}")
        if k % 3 == 0:
            message(world, "charlie", "alpha", f"quiet {k}")
    charlie = read_stream(world, "charlie", 7, last_event_id="charlie:0")
    alpha = read_stream(world, "alpha", 3, last_event_id="alpha:0")
    assert [f["id"] for f in charlie] == [f"charlie:{n}" for n in range(1, 8)]
    assert [f["id"] for f in alpha] == [f"alpha:{n}" for n in range(1, 4)]
    with world.line.db.read() as session:
        assert events_service.latest_seq(session, "charlie") == 7
        assert events_service.latest_seq(session, "alpha") == 3
        assert events_service.latest_seq(session, "bravo") == 0


def test_events_are_only_the_partys_own(world: World) -> None:
    message(world, "alpha", "charlie", "to charlie")
    mine = message(world, "charlie", "alpha", "to alpha")
    message(world, "charlie", "bravo", "now bravo")
    frames = read_stream(world, "bravo", 1, last_event_id="bravo:0")  # bravo is alpha's group, not a recipient
    assert all(f["data"]["message"]["recipients"] == ["bravo"] for f in frames)
    assert mine["id"] not in json.dumps(frames)
    assert world.get("admin", "/v1/events").status_code == 403
    assert world.get("auditor", "/v1/events").status_code == 403
    assert world.client.get("/v1/events").status_code == 401


def test_pruned_or_unknown_ids_ask_for_a_resync(world: World) -> None:
    message(world, "alpha", "charlie", "old")
    world.clock.now += 8 * 86_400
    with world.line.db.write() as session:
        assert events_service.prune(session, world.clock.now - world.line.event_retention_s) == 1
    latest = message(world, "alpha", "charlie", "new")
    headers = {**world.headers("charlie"), "Last-Event-ID": "charlie:0"}
    with world.client.stream("GET", "/v1/events", params={"limit": 1}, headers=headers) as response:
        lines = response.iter_lines()
        head = [next(lines) for _ in range(5)]
    assert head[2:4] == ["id: charlie:2", "event: resync"] and "no longer kept" in head[4]
    # the client reloads its state (which holds the latest message) and continues from the latest id
    assert '"last_event_id":"charlie:2"' in head[4] and latest["id"]
    cases = {
        "charlie:999999": "unknown to this stream",
        "alpha:1": "unknown to this stream",  # another party's numbering
        "2": "former numbering",  # an id of the line's one sequence for all parties, before issue 27
        "-5": "not an event id",
        "soon": "not an event id",
        "charlie:-1": "not an event id",
    }
    for bogus, reason in cases.items():
        headers = {**world.headers("charlie"), "Last-Event-ID": bogus}
        with world.client.stream("GET", "/v1/events", params={"limit": 1}, headers=headers) as response:
            lines = response.iter_lines()
            head = [next(lines) for _ in range(5)]
        assert head[3] == "event: resync" and reason in head[4], bogus


def test_pruning_keeps_a_run_of_numbers(world: World) -> None:
    """An event numbered later may have been made earlier (its transaction committed later):
    pruning takes each party's events up to its last old one, never leaving a hole."""
    from deconline.service.events import emit

    hub = world.line.events
    with world.line.db.write() as session:
        emit(hub, session, 1000.0, "charlie", {"type": "test", "n": 1})
        emit(hub, session, 5.0, "charlie", {"type": "test", "n": 2})  # old, numbered second
        emit(hub, session, 1000.0, "charlie", {"type": "test", "n": 3})
        emit(hub, session, 1000.0, "alpha", {"type": "test", "n": 4})
    with world.line.db.write() as session:
        assert events_service.prune(session, 100.0) == 2
    with world.line.db.read() as session:
        assert [n for n, _ in events_service.since(session, "charlie", 0)] == [3]
        assert [n for n, _ in events_service.since(session, "alpha", 0)] == [1]


def test_a_slow_subscriber_is_caught_up_from_the_table(world: World) -> None:
    """A queue that overflowed marks its stream lagged; the stream re-reads instead of losing events."""
    import asyncio

    from deconline.service.events import QUEUE_LIMIT, EventHub

    async def scenario() -> tuple[bool, int]:
        hub = EventHub()
        subscription = hub.subscribe("charlie")
        for k in range(QUEUE_LIMIT + 5):
            hub.push("charlie", k + 1, "{}")
        await asyncio.sleep(0.05)
        return subscription.lagged, subscription.queue.qsize()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # its own loop, whatever else runs in this thread
        lagged, size = pool.submit(asyncio.run, scenario()).result()
    assert lagged and size == QUEUE_LIMIT
    sent = [message(world, "alpha", "charlie", f"m{k}")["id"] for k in range(5)]
    frames = read_stream(world, "charlie", 5, last_event_id="charlie:0")
    assert [f["data"]["message"]["id"] for f in frames] == sent


def test_events_of_a_refused_change_are_never_kept(world: World) -> None:
    response = world.post("alpha", "/v1/messages", {"recipients": ["nobody"], "kind": "notice", "text": "x"})
    assert response.status_code == 422
    with world.line.db.read() as session:
        assert events_service.latest_seq(session, "charlie") == 0
