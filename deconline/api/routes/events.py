"""The live event stream (server-sent events): a party's events in commit order, numbered without
gaps, replayed from ``Last-Event-ID``; a stream pushed a number before the one it waits for reads
that one from the table first, so it never skips an event."""

from __future__ import annotations

import asyncio
import json
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


def _frame(party: str, seq: int, data: str) -> str:
    kind = json.loads(data).get("type", "message")
    return f"id: {events_service.stream_id(party, seq)}\nevent: {kind}\ndata: {data}\n\n"


def _control(kind: str, party: str, seq: int, payload: dict[str, object]) -> str:
    event_id = events_service.stream_id(party, seq)
    data = json.dumps({"type": kind, "last_event_id": event_id, **payload}, separators=(",", ":"))
    return f"id: {event_id}\nevent: {kind}\ndata: {data}\n\n"


def _resync(party: str, seq: int, reason: str) -> str:
    return _control("resync", party, seq, {"reason": f"{reason}: reload the state"})


def _starting_point(line: Line, party: str, asked: str | None) -> tuple[int, str | None]:
    """The number the stream starts after, and a ``ready`` or ``resync`` frame to open it with."""
    with line.db.read() as session:
        latest = events_service.latest_seq(session, party)
        if asked is None:
            return latest, _control("ready", party, latest, {})
        read = events_service.read_stream_id(asked)
        if read is None:
            old = asked.isascii() and asked.isdigit()
            reason = (
                f"your Last-Event-ID is of the line's former numbering (a party's events are now numbered "
                f"'{party}:1', '{party}:2', ...)"
                if old
                else "your Last-Event-ID is not an event id of this line"
            )
            return latest, _resync(party, latest, reason)
        if read[0] != party or read[1] > latest:
            return latest, _resync(party, latest, "your Last-Event-ID is unknown to this stream")
        if read[1] < latest and events_service.first_kept_after(session, party, read[1]) != read[1] + 1:
            return latest, _resync(party, latest, "the events after your Last-Event-ID are no longer kept")
    return read[1], None


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
            description="the id ('party:n') of the last event you received: the stream starts with every one after it",
        ),
    ] = None,
) -> StreamingResponse:
    """Server-sent events (`text/event-stream`) for your party: `alert`, `message`, `acknowledgement`,
    `overdue`, `escalation`. Your events are numbered 1, 2, 3, ... in the order they were committed, and
    each has the id `party:n`; reconnect with `Last-Event-ID` to get what you missed (persisted before it
    was pushed). The stream opens with `ready` (the latest id), or `resync` when the events you asked for
    are no longer kept or the id is not one of yours: reload your state then."""
    party = actor.require_party()
    asked = last_event_id.strip() if last_event_id is not None and last_event_id.strip() else None
    subscription = line.events.subscribe(party)  # before reading, so nothing falls between the two
    try:
        start, opening = await run_in_threadpool(_starting_point, line, party, asked)
    except BaseException:
        line.events.unsubscribe(subscription)
        raise

    async def stream() -> AsyncIterator[str]:
        sent = 0
        last = start  # every event numbered up to this one was sent (or was there before the stream)

        def more() -> bool:
            return limit is None or sent < limit

        try:
            yield ": connected\n\n"
            if opening is not None:
                yield opening
            catch_up = asked is not None and opening is None
            while more():
                if catch_up or subscription.lagged:
                    subscription.lagged = catch_up = False
                    while not subscription.queue.empty():
                        subscription.queue.get_nowait()
                    for seq, data in await run_in_threadpool(_missed, line, party, last):
                        if not more():
                            return
                        if seq > last + 1:  # pruned while this stream lagged
                            yield _resync(party, seq - 1, "the events after your last one are no longer kept")
                        last = seq
                        yield _frame(party, seq, data)
                        sent += 1
                    continue
                try:
                    seq, data = await asyncio.wait_for(subscription.queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": heartbeat\n\n"
                    continue
                if seq == last + 1:
                    last = seq
                    yield _frame(party, seq, data)
                    sent += 1
                elif seq > last:  # an earlier number committed first: it is in the table
                    catch_up = True
        finally:
            line.events.unsubscribe(subscription)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
