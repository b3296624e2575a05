"""The worker: the line's periodic duties (evaluator, checkpoints, hotline deadlines) in a process
of their own, so that an evaluation never holds the interpreter lock a request is waiting for.

``deconline serve`` starts one beside itself and starts it again if it dies; ``deconline worker``
runs one alone, on another machine if need be. Of all the workers on a database, the one holding
the leadership runs the duties; the others stand by and take over within
``duties.HOLD_EVERY_S`` of its death (``kill -9`` included: the lock dies with its holder).
On PostgreSQL ``serve`` also starts a filing desk (``service.desk``) the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from deconline.interpreter import settle_heap
from deconline.service.desk import Desk
from deconline.service.duties import Duties
from deconline.service.line import Line

log = logging.getLogger("deconline.worker")
RESTART_AFTER_S = 0.5
ORPHAN_CHECK_S = 0.5


def run(line: Line, instance: str, parent: int | None = None) -> None:
    """Run the duties until SIGTERM or SIGINT, or until ``parent`` (the serving process) is gone."""
    duties = Duties(line, instance)
    duties.start()
    try:
        _until_stopped(parent, "worker")
    finally:
        duties.stop()


def run_desk(line: Line, parent: int | None = None) -> None:
    """Run the filing desk (``service.desk``) until SIGTERM or SIGINT, or until ``parent`` is gone."""
    settle_heap()
    stop = threading.Event()
    desk = threading.Thread(target=Desk(line).run, args=(stop,), name="filing desk")
    desk.start()
    try:
        _until_stopped(parent, "filing desk")
    finally:
        stop.set()
        desk.join(timeout=10)


def _until_stopped(parent: int | None, what: str) -> None:
    stop = threading.Event()

    def stopping(signum: int, _: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stopping)
        signal.signal(signal.SIGINT, stopping)
    while not stop.wait(ORPHAN_CHECK_S):
        if parent is not None and os.getppid() != parent:
            log.warning("the serving process %d is gone: this %s stops", parent, what)
            return


class Supervised:
    """A worker (or desk) process started by ``serve`` and started again whenever it exits unasked;
    while it is down, another instance's (if any) leads."""

    def __init__(self, command: Sequence[str], what: str = "worker") -> None:
        self.command = list(command)
        self.what = what
        self.process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"{what} supervisor", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)

    def _watch(self) -> None:
        while not self._stop.is_set():
            process = self.process
            if process is None or process.poll() is None:
                self._stop.wait(0.1)
                continue
            if self._stop.is_set():
                return
            log.warning("the %s exited (status %s); starting it again", self.what, process.returncode)
            if self._stop.wait(RESTART_AFTER_S):
                return
            self._spawn()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread.is_alive():
            self._thread.join(timeout=2)


def command(
    db_url: str, instance: str, evaluate_every_s: float, checkpoint_every_s: float, log_args: Sequence[str]
) -> list[str]:
    """How ``serve`` starts its worker: this interpreter, the same database and beats."""
    return [
        sys.executable,
        "-m",
        "deconline",
        "--db",
        db_url,
        "worker",
        "--instance",
        instance,
        "--parent",
        str(os.getpid()),
        "--evaluate-every",
        str(evaluate_every_s),
        "--checkpoint-every",
        str(checkpoint_every_s),
        *log_args,
    ]


def desk_command(db_url: str, log_args: Sequence[str]) -> list[str]:
    """How ``serve`` starts its filing desk: this interpreter, the same database."""
    return [sys.executable, "-m", "deconline", "--db", db_url, "desk", "--parent", str(os.getpid()), *log_args]
