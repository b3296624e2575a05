"""Live events: persisted with the change, every one with an id, replayed from Last-Event-ID."""

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
    frames = read_stream(world, "charlie", 1, last_event_id="0")
    assert [f["event"] for f in frames] == ["message"]
    assert frames[0]["data"]["message"]["id"] == first["id"]
    seen = int(frames[0]["id"])
    second = message(world, "alpha", "charlie", "two")
    third = message(world, "bravo", "charlie", "three")
    missed = read_stream(world, "charlie", 2, last_event_id=str(seen))
    assert [f["data"]["message"]["id"] for f in missed] == [second["id"], third["id"]]
    ids = [int(f["id"]) for f in missed]
    assert ids == sorted(ids) and ids[0] > seen


def test_a_new_stream_opens_with_the_latest_id(world: World) -> None:
    message(world, "alpha", "charlie", "before")
    with world.line.db.read() as session:
        latest = events_service.latest_id(session, "charlie")
    with world.client.stream("GET", "/v1/events", headers=world.headers("charlie")) as response:
        lines = response.iter_lines()
        opening = [next(lines) for _ in range(5)]
    assert opening[2:5] == ["id: " + str(latest), "event: ready", f'data: {{"type":"ready","last_event_id":{latest}}}']


def test_events_are_only_the_partys_own(world: World) -> None:
    message(world, "alpha", "charlie", "to charlie")
    mine = message(world, "charlie", "alpha", "to alpha")
    message(world, "charlie", "bravo", "now bravo")
    frames = read_stream(world, "bravo", 1, last_event_id="0")  # bravo is alpha's group, not a recipient
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
    headers = {**world.headers("charlie"), "Last-Event-ID": "0"}
    with world.client.stream("GET", "/v1/events", params={"limit": 1}, headers=headers) as response:
        lines = response.iter_lines()
        head = [next(lines) for _ in range(5)]
    assert head[3] == "event: resync" and "no longer kept" in head[4]
    # the client reloads its state (which holds the latest message) and continues from the latest id
    assert f'"last_event_id":{int(head[2][4:])}' in head[4] and latest["id"]
    for bogus in ("999999", "-5", "soon"):
        headers = {**world.headers("charlie"), "Last-Event-ID": bogus}
        with world.client.stream("GET", "/v1/events", params={"limit": 1}, headers=headers) as response:
            lines = response.iter_lines()
            head = [next(lines) for _ in range(4)]
        assert "event: resync" in head, bogus


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
    frames = read_stream(world, "charlie", 5, last_event_id="0")
    assert [f["data"]["message"]["id"] for f in frames] == sent


def test_events_of_a_refused_change_are_never_kept(world: World) -> None:
    response = world.post("alpha", "/v1/messages", {"recipients": ["nobody"], "kind": "notice", "text": "x"})
    assert response.status_code == 422
    with world.line.db.read() as session:
        assert events_service.latest_id(session, "charlie") == 0
