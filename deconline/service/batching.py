"""Group commit: work that arrives while a batch is being done waits, then is done together.

There is no timer and no batching thread. The first caller to find nobody working leads: it
takes everything waiting (its own item first) and runs the batch; what arrives meanwhile queues.
When the batch is done the leader wakes every caller in it and hands the lead to the first one
still waiting, so nobody works longer than for one batch beyond its own. Under no load a batch is
one item and costs what it did alone; under load the fixed cost of a transaction (its locks, its
counter row, its commit) is shared by everything in the batch, in arrival order. A batch may
also take, while it runs, what arrived after it began (``more``): one that waited for a lock
another process held can then take what queued behind it meanwhile.

With ``lanes`` > 1 and ``cells_of`` (the cells an item needs), batches on cells that do not
overlap run side by side, up to ``lanes`` at once: a batch takes only the items that share
cells with it, and an item never goes ahead of an earlier one it shares cells with. The filing
desk decides this way, so that distant areas do not wait for each other.
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


Cells = frozenset[int] | None  # None: every cell


def _overlap(a: Cells, b: Cells) -> bool:
    if (a is not None and not a) or (b is not None and not b):
        return False  # no cell at all
    return a is None or b is None or not a.isdisjoint(b)


@dataclass(eq=False)
class Ticket(Generic[Item]):
    """One caller's item, and what became of it."""

    item: Item
    cells: Cells = None
    result: Any = None
    error: BaseException | None = None
    finished: bool = False
    leads: bool = False
    wake: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


@dataclass(eq=False)
class _Lane:
    """A batch being run, and every cell its items need."""

    tickets: list[Ticket[Any]]
    cells: Cells


class Batcher(Generic[Item]):
    """``run(tickets)`` must set each ticket's ``result`` or ``error``; it is called with the
    tickets in arrival order (a list that ``more`` may lengthen), by one thread at a time unless
    there are ``lanes``."""

    def __init__(
        self,
        run: Callable[[list[Ticket[Item]]], None],
        max_batch: int = MAX_BATCH,
        lanes: int = 1,
        cells_of: Callable[[Item], Cells] | None = None,
    ) -> None:
        self._run = run
        self._max = max_batch
        self._lanes = lanes if cells_of is not None else 1
        self._cells_of = cells_of
        self._lock = threading.Lock()
        self._waiting: list[Ticket[Item]] = []
        self._running: dict[tuple[str, int], _Lane] = {}  # by its leader's ticket until it runs, then thread
        self.batches = 0  # how many batches, and how many items, for the curious (tests, benchmarks)
        self.items = 0

    def submit(self, item: Item) -> Any:
        ticket: Ticket[Item] = Ticket(item, self._cells_of(item) if self._cells_of is not None else None)
        with self._lock:
            self._waiting.append(ticket)
            self._hand_on()
        while not ticket.leads and not ticket.finished:
            ticket.wake.wait()
            ticket.wake.clear()
        if not ticket.finished:
            self._lead(ticket)
        return ticket.answer()

    def more(self, fits: Callable[[Item], bool]) -> list[Ticket[Item]]:
        """For ``run``, in the batch it runs: the items that arrived since the batch began, in
        arrival order and only as long as each ``fits`` (never one ahead of another it shares cells
        with); they join the batch, up to its size. The caller decides them after the others."""
        with self._lock:
            lane = self._running[("thread", threading.get_ident())]
            taken: list[Ticket[Item]] = []
            if self._lanes == 1:
                while self._waiting and len(lane.tickets) < self._max and fits(self._waiting[0].item):
                    ticket = self._waiting.pop(0)
                    taken.append(ticket)
                    lane.tickets.append(ticket)
                return taken
            passed: Cells = frozenset()
            for ticket in list(self._waiting):
                if len(lane.tickets) >= self._max:
                    break
                free = not ticket.leads and not _overlap(ticket.cells, passed) and not self._elsewhere(ticket, lane)
                if free and fits(ticket.item):
                    self._waiting.remove(ticket)
                    taken.append(ticket)
                    lane.tickets.append(ticket)
                else:
                    passed = None if passed is None or ticket.cells is None else passed | ticket.cells
        return taken

    def _elsewhere(self, ticket: Ticket[Item], lane: _Lane) -> bool:
        """Whether ``ticket`` shares cells with a batch running in another lane."""
        return any(_overlap(ticket.cells, other.cells) for other in self._running.values() if other is not lane)

    def _hand_on(self) -> None:
        """Under the lock: wake a leader for each batch that may start now, the first waiting item
        that shares no cell with a running batch or with an earlier waiting item."""
        passed: Cells = frozenset()
        for ticket in list(self._waiting):
            if len(self._running) >= self._lanes or passed is None:
                return
            if ticket.leads:
                continue
            if not _overlap(ticket.cells, passed) and not any(
                _overlap(ticket.cells, lane.cells) for lane in self._running.values()
            ):
                ticket.leads = True
                self._running[("ticket", id(ticket))] = _Lane([ticket], ticket.cells)  # its place, until it runs
                ticket.wake.set()
            passed = None if passed is None or ticket.cells is None else passed | ticket.cells

    def _lead(self, leader: Ticket[Item]) -> None:
        with self._lock:
            lane = self._running.pop(("ticket", id(leader)))
            self._running[("thread", threading.get_ident())] = lane
            self._waiting.remove(leader)
            passed: Cells = frozenset()
            for ticket in list(self._waiting):
                if len(lane.tickets) >= self._max:
                    break
                joins = self._lanes == 1 or (
                    not ticket.leads
                    and _overlap(ticket.cells, lane.cells)
                    and not _overlap(ticket.cells, passed)
                    and not self._elsewhere(ticket, lane)
                )
                if joins:
                    self._waiting.remove(ticket)
                    lane.tickets.append(ticket)
                    lane.cells = None if lane.cells is None or ticket.cells is None else lane.cells | ticket.cells
                else:
                    passed = None if passed is None or ticket.cells is None else passed | ticket.cells
        batch = lane.tickets
        try:
            self._run(batch)
        except BaseException as exc:  # run() itself failed: every item it did not answer is told so
            log.exception("a batch of %d failed", len(batch))
            for ticket in batch:
                if ticket.result is None and ticket.error is None:
                    ticket.error = exc
        finally:
            with self._lock:
                del self._running[("thread", threading.get_ident())]
                self.batches += 1
                self.items += len(batch)
                for ticket in batch:
                    ticket.finished = True
                    ticket.wake.set()
                self._hand_on()
