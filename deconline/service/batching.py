"""Group commit: work that arrives while a batch is being done waits, then is done together.

There is no timer and no batching thread. The first caller to find nobody working leads: it
takes everything waiting (its own item first) and runs the batch; what arrives meanwhile queues.
When the batch is done the leader wakes every caller in it and hands the lead to the first one
still waiting, so nobody works longer than for one batch beyond its own. Under no load a batch is
one item and costs what it did alone; under load the fixed cost of a transaction (its locks, its
counter row, its commit) is shared by everything in the batch, in arrival order. A batch may
also take, while it runs, what arrived after it began (``more``): one that waited for a lock
another process held can then take what queued behind it meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
log = logging.getLogger("deconline.batching")

MAX_BATCH = 32


@dataclass(eq=False)
class Ticket(Generic[Item]):
    """One caller's item, and what became of it."""

    item: Item
    result: Any = None
    error: BaseException | None = None
    finished: bool = False
    leads: bool = False
    wake: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class Batcher(Generic[Item]):
    """``run(tickets)`` must set each ticket's ``result`` or ``error``; it is called by one thread
    at a time, with the tickets in arrival order (a list that ``more`` may lengthen)."""

    def __init__(self, run: Callable[[list[Ticket[Item]]], None], max_batch: int = MAX_BATCH) -> None:
        self._run = run
        self._max = max_batch
        self._lock = threading.Lock()
        self._waiting: list[Ticket[Item]] = []
        self._current: list[Ticket[Item]] = []
        self._working = False
        self.batches = 0  # how many batches, and how many items, for the curious (tests, benchmarks)
        self.items = 0

    def submit(self, item: Item) -> Any:
        ticket: Ticket[Item] = Ticket(item)
        with self._lock:
            self._waiting.append(ticket)
            if not self._working:
                self._working = ticket.leads = True
        while not ticket.leads and not ticket.finished:
            ticket.wake.wait()
            ticket.wake.clear()
        if not ticket.finished:
            self._lead()
        return ticket.answer()

    def more(self, fits: Callable[[Item], bool]) -> list[Ticket[Item]]:
        """For ``run``, in the batch it runs: the items that arrived since the batch began, in
        arrival order and only as long as each ``fits`` (never one ahead of another), up to the
        batch's size. ``run`` adds them to the list it was given and decides them after the others."""
        with self._lock:
            taken: list[Ticket[Item]] = []
            while self._waiting and len(self._current) + len(taken) < self._max and fits(self._waiting[0].item):
                taken.append(self._waiting.pop(0))
        return taken

    def _lead(self) -> None:
        with self._lock:
            batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
            self._current = batch
        try:
            self._run(batch)
        except BaseException as exc:  # run() itself failed: every item it did not answer is told so
            log.exception("a batch of %d failed", len(batch))
            for ticket in batch:
                if ticket.result is None and ticket.error is None:
                    ticket.error = exc
        finally:
            with self._lock:
                self.batches += 1
                self.items += len(batch)
                for ticket in batch:
                    ticket.finished = True
                    ticket.wake.set()
                if self._waiting:
                    following = self._waiting[0]
                    following.leads = True
                    following.wake.set()
                else:
                    self._working = False
