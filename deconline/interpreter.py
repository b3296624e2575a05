"""A long-running process's interpreter, once it has started (the server, the filing desk)."""

from __future__ import annotations

import gc
import sys


def settle_heap() -> None:
    """Put what start-up built (modules, the app and its schemas: some 150,000 objects that live as
    long as the process) out of the cyclic collector's sight. Scanning them again in every full
    collection held the interpreter for ~70 ms at a time, in the middle of whatever batch or
    evaluation cycle allocated the object that triggered it; an evaluation of 10,000 aircraft took
    137 ms with them scanned and 71 ms without."""
    gc.collect()
    gc.freeze()
    sys.setswitchinterval(SWITCH_INTERVAL_S)


SWITCH_INTERVAL_S = 0.0005
"""How long a thread may keep the interpreter while another waits for it (Python's default: 5 ms).
A decision holds its cells' locks across a dozen database round trips, and after each it waits
for the interpreter; behind threads parsing other requests that wait was up to 5 ms each time, so
a batch of filings held its locks for ~25 ms where its work takes a few."""
