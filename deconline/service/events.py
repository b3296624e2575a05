"""Live push: each party's subscribers get only that party's events.

Events are published from any thread (the evaluator runs in one) and delivered to asyncio
queues owned by the server's event loop, one queue per open ``/v1/events`` stream.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

Event = dict[str, Any]
QUEUE_LIMIT = 1000


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]]] = {}

    def subscribe(self, party: str) -> asyncio.Queue[Event]:
        """A queue for the calling event loop that receives ``party``'s events until unsubscribed."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        with self._lock:
            self._subscribers.setdefault(party, set()).add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, party: str, queue: asyncio.Queue[Event]) -> None:
        with self._lock:
            subscribers = self._subscribers.get(party, set())
            for entry in [e for e in subscribers if e[1] is queue]:
                subscribers.discard(entry)

    def publish(self, party: str, event: Event) -> None:
        """Thread-safe; a subscriber too slow to keep up loses its oldest events, never blocks others."""
        with self._lock:
            targets = list(self._subscribers.get(party, ()))
        for loop, queue in targets:
            loop.call_soon_threadsafe(_offer, queue, event)


def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(event)
