"""The live event stream (server-sent events): persisted events, replayed from ``Last-Event-ID``."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from deconline.api.deps import ActorDep, LineDep
from deconline.api.routing import JsonRoute
from deconline.service import events as events_service
from deconline.service.line import Line

router = APIRouter(prefix="/v1", tags=["tactical"], route_class=JsonRoute)
HEARTBEAT_S = 15.0
RECENT_IDS = 4096


def _frame(event_id: int, data: str) -> str:
    kind = json.loads(data).get("type", "message")
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"


def _control(kind: str, event_id: int, payload: dict[str, object]) -> str:
    data = json.dumps({"type": kind, **payload}, separators=(",", ":"))
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"


def _starting_point(line: Line, party: str, last_event_id: int | None) -> tuple[int, str | None]:
    """Where the stream starts, and a ``ready`` or ``resync`` frame to open it with."""
    with line.db.read() as session:
        latest = events_service.latest_id(session, party)
        pruned = events_service.pruned_upto(session)
    if last_event_id is None:
        return latest, _control("ready", latest, {"last_event_id": latest})
    if last_event_id < pruned or last_event_id > max(latest, pruned):
        reason = (
            "the events after your Last-Event-ID are no longer kept"
            if last_event_id < pruned
            else "your Last-Event-ID is unknown to this service"
        )
        return latest, _control("resync", latest, {"last_event_id": latest, "reason": f"{reason}: reload the state"})
    return last_event_id, None


def _missed(line: Line, party: str, after: int) -> list[tuple[int, str]]:
    return list(events_service.replay(line.db.read, party, after))


@router.get("/events", response_class=StreamingResponse)
async def events(
    request: Request,
    line: LineDep,
    actor: ActorDep,
    limit: Annotated[int | None, Query(ge=1, le=1_000_000, description="close after this many events")] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="the id of the last event you received: the stream starts with every event after it",
        ),
    ] = None,
) -> StreamingResponse:
    """Server-sent events (`text/event-stream`) for your party: `alert`, `message`, `acknowledgement`,
    `overdue`, `escalation`. Every event has an increasing `id`; reconnect with `Last-Event-ID` to get
    what you missed (persisted before it was pushed). The stream opens with `ready` (the latest id),
    or `resync` when the events you asked for are no longer kept: reload your state then."""
    party = actor.require_party()
    after: int | None = None
    if last_event_id is not None and last_event_id.strip():
        try:
            after = int(last_event_id.strip())
        except ValueError:
            after = -1  # answered with a resync below
        if after < 0:
            after = 10**18
    subscription = line.events.subscribe(party)  # before reading, so nothing falls between the two
    try:
        start, opening = await run_in_threadpool(_starting_point, line, party, after)
    except BaseException:
        line.events.unsubscribe(subscription)
        raise

    async def stream() -> AsyncIterator[str]:
        sent = 0
        last = start
        recent: deque[int] = deque(maxlen=RECENT_IDS)
        seen: set[int] = set()

        def fresh(event_id: int) -> bool:
            """Not sent yet: after the starting point, and not already replayed or pushed."""
            if event_id <= start or event_id in seen:
                return False
            if len(recent) == recent.maxlen:
                seen.discard(recent[0])
            recent.append(event_id)
            seen.add(event_id)
            return True

        try:
            yield ": connected\n\n"
            if opening is not None:
                yield opening
            catch_up = after is not None and opening is None
            while limit is None or sent < limit:
                if catch_up or subscription.lagged:
                    subscription.lagged = False
                    while not subscription.queue.empty():
                        subscription.queue.get_nowait()
                    replayed = await run_in_threadpool(_missed, line, party, last)
                    for event_id, data in replayed:
                        if limit is not None and sent >= limit:
                            return
                        if fresh(event_id):
                            last = max(last, event_id)
                            yield _frame(event_id, data)
                            sent += 1
                    catch_up = False
                    continue
                try:
                    event_id, data = await asyncio.wait_for(subscription.queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": heartbeat\n\n"
                    continue
                if fresh(event_id):
                    last = max(last, event_id)
                    yield _frame(event_id, data)
                    sent += 1
        finally:
            line.events.unsubscribe(subscription)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
