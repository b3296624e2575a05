"""The in-process cell lock is handed to waiters in the order they came."""

from __future__ import annotations

import threading
import time

from deconline.locks import FairLock
from deconline.service.picture import CellLocks


def test_waiters_get_the_lock_in_the_order_they_asked() -> None:
    lock = FairLock()
    lock.acquire()
    order: list[int] = []
    threads = []
    for i in range(6):
        thread = threading.Thread(target=lambda i=i: (lock.acquire(), order.append(i), lock.release()))
        thread.start()
        threads.append(thread)
        while len(lock._waiters) < i + 1:  # this one is queued before the next asks
            time.sleep(0.001)
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == list(range(6))
    assert not lock._held and not lock._waiters


def test_cells_are_held_together_and_released_on_error() -> None:
    locks = CellLocks()
    try:
        with locks.holding([3, 1, 2]):
            raise RuntimeError("a decision failed")
    except RuntimeError:
        pass
    with locks.holding([1, 2, 3]):  # every one was released
        pass
