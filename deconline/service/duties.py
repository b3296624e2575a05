"""The line's periodic duties: the tactical evaluation, the checkpoints (with their witnesses) and
the hotline's deadlines, each on its own beat, run by whichever process leads.

The top of the service's layers: a duty calls use cases (tactical, hotline, operations, record,
witnesses), and nothing in the service calls a duty. Where the beats run is the shell's choice:
threads in the request process (an in-memory database, the tests) or ``deconline worker``, the
process ``deconline serve`` starts beside itself so that requests never wait behind an evaluation.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from deconline.service import events, hotline, operations, record, statements, tactical, witnesses
from deconline.service.leader import Leadership
from deconline.service.line import Line
from deconline.store.db import Database
from deconline.store.models import Setting

log = logging.getLogger("deconline.duties")
BEAT_SETTING = "evaluator_beat"
HOLD_EVERY_S = 0.5  # how often a standby asks to lead: the bound on a takeover after the leader dies
OVERRUN_WARNING_EVERY_S = 60.0


@dataclass
class Beat:
    """What the leading evaluator last said of itself: when it ran, who it is (an instance id),
    and its running figures, which every instance's metrics and readiness read."""

    at: float
    by: str = ""
    cycles: int = 0
    seconds: float = 0.0  # all cycles together
    last_s: float = 0.0
    overruns: int = 0

    def text(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def parse(cls, value: str) -> Beat:
        try:
            fields = json.loads(value)
        except ValueError:
            return cls(at=float(value))  # a beat an older version wrote: its time only
        if isinstance(fields, int | float):
            return cls(at=float(fields))
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})


def new_instance_id() -> str:
    """A name for one running instance (its request process and its worker), for the beat."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def last_beat(session: Session) -> Beat | None:
    row = session.get(Setting, BEAT_SETTING)
    return Beat.parse(row.value) if row is not None else None


def _write_beat(db: Database, beat: Beat) -> None:
    with db.write() as session:
        session.merge(Setting(key=BEAT_SETTING, value=beat.text()))


def hotline_beat(line: Line) -> None:
    """Overdue messages, a communications check if one is due, and past operations ended."""
    hotline.sweep(line)
    hotline.comm_check(line)
    operations.end_past(line)


def checkpoint_beat(line: Line, book: witnesses.Witnesses) -> None:
    """A checkpoint when one is due (the agreement's ``checkpoint_every_s`` after the last, 1 s by
    default; the loop's own period is a floor), old events and statements pruned, then the
    witnesses asked to cosign it."""
    with line.db.write() as session:
        if witnesses.checkpoint_due(session, line.clock()):
            record.publish_checkpoint(line.record, session, line.clock())
        events.prune(session, line.clock() - line.event_retention_s)
        statements.prune(session, line.clock() - statements.RETENTION_S)
    witnesses.collect(line, book)  # after the commit: a witness never holds up a write


def every(period_s: float, work: Callable[[], object], what: str, stop: threading.Event) -> None:
    """Run ``work`` now and then every ``period_s`` (start to start) until told to stop. A run that
    takes longer is followed at once by the next, and the beats it missed are dropped, never
    queued. One failure must not end the loop."""
    next_at = time.monotonic()
    while not stop.wait(max(0.0, next_at - time.monotonic())):
        started = time.monotonic()
        try:
            work()
        except Exception:
            log.exception("%s failed; trying again next cycle", what)
        next_at = max(started + period_s, time.monotonic())


@dataclass
class Duties:
    """The beats of one process, run while its ``leadership`` is held; ``instance`` names the
    instance in the beat, so each instance can tell whether the evaluator is its own."""

    line: Line
    instance: str
    leadership: Leadership = field(init=False)
    book: witnesses.Witnesses = field(default_factory=witnesses.Witnesses)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _beat: Beat = field(default_factory=lambda: Beat(at=0.0))
    _warned: float = -math.inf

    def __post_init__(self) -> None:
        self.leadership = Leadership(self.line.db)
        self._beat.by = self.instance

    def evaluation_beat(self) -> None:
        started = time.perf_counter()
        tactical.evaluate(self.line)
        took = time.perf_counter() - started
        beat, period = self._beat, self.line.evaluate_every_s
        beat.cycles, beat.seconds, beat.last_s, beat.at = beat.cycles + 1, beat.seconds + took, took, time.time()
        if took > period:
            beat.overruns += 1
            if time.monotonic() - self._warned >= OVERRUN_WARNING_EVERY_S:
                self._warned = time.monotonic()
                log.warning(
                    "tactical evaluation took %.2f s, longer than its period of %.2f s: alerts come late "
                    "(deconline_evaluation_overruns_total counts every such cycle)",
                    took,
                    period,
                )
        _write_beat(self.line.db, beat)

    def start(self) -> None:
        """Start the beats (again, after :meth:`stop`: an application's lifespan can run twice)."""
        line = self.line
        self._stop, self._threads = threading.Event(), []
        loops: list[tuple[float, Callable[[], object], str]] = [
            (line.evaluate_every_s, self.evaluation_beat, "tactical evaluation"),
            (line.checkpoint_every_s, lambda: checkpoint_beat(line, self.book), "checkpoints"),
            (line.evaluate_every_s, lambda: hotline_beat(line), "hotline deadlines and checks"),
        ]
        for period, work, what in loops:
            if period > 0:
                led = self._led(work)
                self._threads.append(threading.Thread(target=every, args=(period, led, what, self._stop), daemon=True))
        if not self._threads:
            return
        self.leadership.hold()  # before the first beat, so a lone instance leads at once
        hold = (HOLD_EVERY_S, self.leadership.hold, "leadership", self._stop)
        self._threads.append(threading.Thread(target=every, args=hold, name="leadership", daemon=True))
        for thread in self._threads:
            thread.start()

    def _led(self, work: Callable[[], object]) -> Callable[[], object]:
        """``work`` while this process leads: the others stand by."""
        return lambda: work() if self.leadership.held else None

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.book.close()
        self.leadership.release()
