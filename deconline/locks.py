"""A lock that is fair under contention, for the places where requests queue."""

from __future__ import annotations

import threading
from collections import deque


class FairLock:
    """A lock handed to its waiters in the order they came: under contention no request waits
    behind a stream of later ones (a plain lock wakes an arbitrary waiter, which makes the
    slowest decisions of a busy area far slower than the rest)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        turn.acquire()  # released by the holder: the lock is now ours

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # handed over, still held
            else:
                self._held = False
