"""Messages arriving on many connections, read by one thread.

The filing desk once read each caller's connection in a thread of its own: a filing then woke
that thread, which took the interpreter from the batch being decided, queued the filing and
slept until a batch had decided it, and woke again to answer. Read by the thread that decides,
what arrives while a batch is being decided waits in the sockets, is taken at once when the
batch is done (or when it asks for ``more``), and costs no hand-off between threads. The thread
reads only what has arrived: a message still on its way waits in a buffer of its connection's,
so a caller that stalls in the middle of one holds up nobody else.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import selectors
import socket
import struct
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger("deconline.desk")
READ_SIZE = 1 << 16


class Inbox:
    """``take`` (one thread) reads what the connections sent; ``join`` and ``close`` may be called
    from any thread, and wake it."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._joining: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        for end in (self._wake_read, self._wake_write):
            end.setblocking(False)
        self._selector.register(self._wake_read, selectors.EVENT_READ, None)
        self._partial: dict[Connection, bytearray] = {}  # what each connection sent of its next message
        self.closed = False

    def join(self, connection: Connection) -> None:
        """Read ``connection`` from now on (it has proved who it is)."""
        self._joining.put(connection)
        self._wake()

    def close(self) -> None:
        """Stop: the reading thread's ``take`` returns, and it should ``shut`` the inbox."""
        self.closed = True
        self._wake()

    def take(self, timeout_s: float | None) -> list[tuple[Connection, Any]]:
        """The messages the connections sent, waiting up to ``timeout_s`` (None: until one arrives
        or the inbox is closed; 0: not at all). A message still arriving waits in its connection's
        buffer, never holding up the others; a connection closed by its caller is dropped."""
        arrived: list[tuple[Connection, Any]] = []
        for key, _ in self._selector.select(timeout_s):
            connection: Connection | None = key.data
            if connection is None:
                self._admit_joining()
                continue
            try:
                chunk = os.read(connection.fileno(), READ_SIZE)  # what is there: never waits for the rest
            except OSError:
                chunk = b""
            if not chunk:  # closed by its caller
                self.drop(connection)
                continue
            buffer = self._partial.setdefault(connection, bytearray())
            buffer += chunk
            try:
                arrived += [(connection, message) for message in _messages(buffer)]
            except Exception as exc:  # not what ``Connection.send`` frames: nothing more from it is believed
                log.warning("a connection sent what cannot be read (%r): it is closed", exc)
                self.drop(connection)
        return arrived

    def drop(self, connection: Connection) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection)
        self._partial.pop(connection, None)
        connection.close()

    def shut(self) -> None:
        """Close every connection and the inbox itself (by the reading thread, once it stops)."""
        for key in list(self._selector.get_map().values()):
            if key.data is not None:
                self.drop(key.data)
        while not self._joining.empty():
            self._joining.get().close()
        self._selector.close()
        self._wake_read.close()
        self._wake_write.close()

    def _admit_joining(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while self._wake_read.recv(4096):
                pass
        while not self._joining.empty():
            connection = self._joining.get()
            self._selector.register(connection, selectors.EVENT_READ, connection)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # already woken, or already shut
            self._wake_write.send(b"\0")


def _messages(buffer: bytearray) -> list[Any]:
    """The whole messages at the head of ``buffer``, taken out of it, as ``Connection.send`` frames
    them: a pickle after its length (4 bytes, big-endian; -1 and 8 more bytes for one over 2 GiB)."""
    messages = []
    while len(buffer) >= 4:
        (size,) = struct.unpack_from("!i", buffer)
        head = 4
        if size == -1:
            if len(buffer) < 12:
                break
            (size,) = struct.unpack_from("!Q", buffer, 4)
            head = 12
        if len(buffer) < head + size:
            break
        messages.append(pickle.loads(buffer[head : head + size]))
        del buffer[: head + size]
    return messages
