"""The filing desk: the strategic filings of every instance on a host decided in one process.

An instance decides the filings it receives in batches (group commit, ``Line.decide_together``).
Two instances filing in the same cells take turns at the database's locks, each batch first
reading what the other just decided; and a batch shares its interpreter with the requests its
instance is parsing, so it holds its cells for longer than it computes. The desk is a process of
its own (``deconline desk``; ``serve`` starts one beside itself on PostgreSQL) that decides for
every instance on its host: their filings meet in one batcher, nothing is read back from another
instance, and no request waits for the interpreter a decision needs.

It changes no rule: the desk takes the same decision (``operations.filing``) under the same locks,
so an instance that decides for itself meanwhile is still never accepted against it. Of the
desks on one host one leads (a lock of that host's, as the worker's of the line) and says where
it listens (the setting ``filing_desk:`` and a digest of the host name); instances on that host
send it their signed filings over a local socket, authenticated with a key derived from the
line's secret. One thread of the desk reads them all (``inbox``) and decides what arrived in
batches: no thread a caller, whose hand-offs of the interpreter would take it from the batch
holding its cells. Hosts each have their own desk, which take turns at the cells as instances do.
Whenever the desk cannot answer (none leads, it died, it failed for a reason of its own) the
instance decides the filing itself: a statement is carried out once whichever process tries
(its nonce), so a filing the desk committed before it died is answered as a copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import pickle
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Client, Connection, Listener, answer_challenge, deliver_challenge
from multiprocessing.reduction import ForkingPickler
from typing import Any

from sqlalchemy import bindparam, select

from deconline.service import operations
from deconline.service.actors import Actor
from deconline.service.batching import MAX_BATCH, Ticket
from deconline.service.errors import ServiceError
from deconline.service.inbox import Inbox
from deconline.service.leader import Leadership
from deconline.service.line import Item, Line, Probes, StrategicChange, Work
from deconline.service.operations import Draft
from deconline.service.statements import Signed
from deconline.store.loop_reads import LoopReads
from deconline.store.models import Operation, Setting

log = logging.getLogger("deconline.desk")
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:15]
DESK_KEY = (0x6465736B << 32) | int(_HOST[:8], 16)  # "desk", and this host's: never the worker's lock
SETTING = f"filing_desk:{_HOST}"
HOLD_EVERY_S = 0.5  # how often a standby desk asks to lead
LOOK_EVERY_S = 2.0  # how long an instance trusts the address it read
ANSWER_WAIT_S = 30.0  # an answer not back by then: the instance decides itself
MAX_CHANNELS = 64  # an instance's filings at the desk at once (a connection each); the rest wait their turn
BACKLOG = 128  # connections waiting to be accepted (multiprocessing's default, 1, drops the rest)
PROBES = ("lock_wait", "lock_hold", "decision", "batch")


class Unanswered(ServiceError):
    """The desk decided but its answer could not travel: the caller should look, not file again."""

    status = 503


@dataclass(frozen=True)
class Filing:
    actor: Actor
    draft: Draft
    signed: Signed


@dataclass(frozen=True)
class Answer:
    """The desk's answer: the operation or the use case's error, or neither (``decided`` False:
    the instance must decide); what the decision reported to its probes, for the instance's."""

    decided: bool
    operation: Operation | None = None
    error: ServiceError | None = None
    carried_out: bool = False
    probes: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)


def authkey(line: Line) -> bytes:
    """The key both sides prove they hold: derived from the line's secret, which only processes
    that can read the database know."""
    with line.db.read() as session:
        secret = line.secret(session)
    return hmac.new(secret, b"deconline filing desk", hashlib.sha256).digest()


# -- the desk ---------------------------------------------------------------------------------


@dataclass(eq=False)
class _Arrival:
    """A filing the desk took, the caller to answer, and what its decision reported."""

    connection: Connection
    filing: Filing
    ticket: Ticket[Item]
    probes: list[tuple[str, tuple[Any, ...]]]


class Desk:
    """Decides the filings sent to it while it leads; ``run`` until ``stop`` is set. One thread
    reads every caller's connection and decides what arrived in batches (``Line.decide_batch``)."""

    def __init__(self, line: Line, host: str = "127.0.0.1") -> None:
        self.line = line
        self.host = host
        # what a decision reports goes back with its answer (a batch's to its first filing)
        self._probes: list[tuple[str, tuple[Any, ...]]] | None = None
        line.probes = Probes(**{name: self._recorder(name) for name in PROBES})
        self._key = authkey(line)
        self._listener: Listener | None = None
        self._inbox: Inbox | None = None
        self.decided = 0

    def run(self, stop: threading.Event) -> None:
        leadership = Leadership(self.line.db, DESK_KEY, "the filing desk")
        try:
            while not stop.is_set():
                if leadership.hold():
                    if self._listener is None:
                        self._open()
                elif self._listener is not None:
                    self._close()
                stop.wait(HOLD_EVERY_S)
        finally:
            self._close()
            leadership.release()

    def _open(self) -> None:
        listener = Listener((self.host, 0), backlog=BACKLOG)  # each caller proves the key in its own thread
        inbox = Inbox()
        address = listener.address
        assert isinstance(address, tuple)
        threading.Thread(target=self._accept, args=(listener, inbox), name="desk accept", daemon=True).start()
        threading.Thread(target=self._decide_arrivals, args=(inbox,), name="desk decisions", daemon=True).start()
        with self.line.db.write() as session:
            session.merge(Setting(key=SETTING, value=f"{address[0]}:{address[1]}"))
        self._listener, self._inbox = listener, inbox
        log.info("the filing desk listens on %s:%d", *address)

    def _close(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self._inbox is not None:
            self._inbox.close()  # its thread ends after the batch it is deciding, if any
            self._inbox = None

    def _accept(self, listener: Listener, inbox: Inbox) -> None:
        while True:
            try:
                connection = listener.accept()
            except OSError:  # closed: this desk no longer leads, or stops
                return
            threading.Thread(target=self._admit, args=(connection, inbox), name="desk caller", daemon=True).start()

    def _admit(self, connection: Connection, inbox: Inbox) -> None:
        try:
            deliver_challenge(connection, self._key)
            answer_challenge(connection, self._key)
        except Exception as exc:  # a caller without the key (AuthenticationError), or one gone at once
            log.warning("a caller was refused by the desk: %r", exc)
            connection.close()
            return
        inbox.join(connection)

    def _decide_arrivals(self, inbox: Inbox) -> None:
        """Take what arrived, decide it in batches of at most ``MAX_BATCH`` in arrival order, answer."""
        waiting: deque[_Arrival] = deque()
        try:
            while not inbox.closed:
                try:
                    self._receive(inbox, inbox.take(0 if waiting else None), waiting)
                    if waiting:
                        self._decide(inbox, waiting)
                except Exception:  # a fault of the desk's own: its callers' instances decide what it dropped
                    log.exception("the filing desk failed to take or answer filings; it goes on")
                    time.sleep(0.1)
        finally:
            inbox.shut()

    def _receive(self, inbox: Inbox, arrived: list[tuple[Connection, Any]], waiting: deque[_Arrival]) -> None:
        """Queue each filing to be decided; one the use case refuses at once is answered at once."""
        for connection, filing in arrived:
            probes: list[tuple[str, tuple[Any, ...]]] = []
            try:
                if not isinstance(filing, Filing):
                    raise TypeError(f"the desk was sent {type(filing).__name__}, not a filing")
                work = operations.filing(self.line, filing.actor, filing.draft, filing.signed)
            except ServiceError as exc:
                self._send(inbox, connection, Answer(True, error=exc, carried_out=filing.signed.carried_out))
                continue
            except Exception:
                log.exception("the desk could not take a filing; its instance will decide it")
                self._send(inbox, connection, Answer(False))
                continue
            ticket: Ticket[Item] = Ticket((filing.draft.volumes, self._reporting(work, probes)))
            waiting.append(_Arrival(connection, filing, ticket, probes))

    def _decide(self, inbox: Inbox, waiting: deque[_Arrival]) -> None:
        batch = [waiting.popleft() for _ in range(min(MAX_BATCH, len(waiting)))]
        tickets = [arrival.ticket for arrival in batch]

        def more(fits: Callable[[Item], bool]) -> list[Ticket[Item]]:
            self._receive(inbox, inbox.take(0), waiting)
            taken: list[Ticket[Item]] = []
            while waiting and len(tickets) + len(taken) < MAX_BATCH and fits(waiting[0].ticket.item):
                batch.append(waiting.popleft())
                taken.append(batch[-1].ticket)
            return taken

        self._probes = batch[0].probes
        try:
            self.line.decide_batch(tickets, more)
        except Exception:  # after the commit: what it answered stands, the rest its instances decide
            log.exception("a batch of %d filings failed after its commit", len(batch))
        finally:
            self._probes = None
        for arrival in batch:
            self._send(inbox, arrival.connection, self._answer(arrival))

    def _answer(self, arrival: _Arrival) -> Answer:
        ticket, carried_out, probes = arrival.ticket, arrival.filing.signed.carried_out, arrival.probes
        if ticket.error is None and isinstance(ticket.result, Operation):
            self.decided += 1
            return Answer(True, operation=ticket.result, carried_out=carried_out, probes=probes)
        if isinstance(ticket.error, ServiceError):
            return Answer(True, error=ticket.error, carried_out=carried_out, probes=probes)
        if ticket.error is not None:  # the database's, or a fault: the instance tries, and answers as it would
            log.error("the desk could not decide a filing; its instance will", exc_info=ticket.error)
        return Answer(False, probes=probes)

    @staticmethod
    def _send(inbox: Inbox, connection: Connection, answer: Answer) -> None:
        if not send_answer(connection, answer):
            inbox.drop(connection)

    def _reporting(self, work: Work, probes: list[tuple[str, tuple[Any, ...]]]) -> Work:
        """``work``, what it reports to the probes going back with its own answer."""

        def decide(change: StrategicChange) -> Any:
            outer, self._probes = self._probes, probes
            try:
                return work(change)
            finally:
                self._probes = outer

        return decide

    def _recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any) -> None:
            if self._probes is not None:
                self._probes.append((name, args))

        return record


def send_answer(connection: Connection, answer: Answer) -> bool:
    """Send the answer; one that cannot be pickled goes as the error it ran into. False when the
    caller is gone."""
    try:
        connection.send(answer)
    except OSError:
        return False
    except Exception as exc:
        log.exception("the desk's answer could not be sent")
        failed = Unanswered(f"the filing desk decided but could not send its answer ({exc}): read your operations")
        connection.send(Answer(True, error=failed, carried_out=answer.carried_out, probes=answer.probes))
    return True


# -- an instance's side -------------------------------------------------------------------------


class DeskClient:
    """An instance's way to the desk: ``file`` answers as ``operations.file`` would, or None when
    the instance must decide itself. It runs on the instance's event loop: a filing the desk
    decides costs no hop to a thread (``reads`` looks up where the desk listens)."""

    def __init__(self, line: Line, reads: LoopReads, answer_wait_s: float = ANSWER_WAIT_S) -> None:
        self.line = line
        self.reads = reads
        self.answer_wait_s = answer_wait_s
        self._key: bytes | None = None
        self._address: tuple[str, int] | None = None
        self._looked_at = -LOOK_EVERY_S
        self._idle: list[_Channel] = []
        self._looking: asyncio.Task[tuple[str, int] | None] | None = None
        self._turns = asyncio.Semaphore(MAX_CHANNELS)  # the filings at the desk at once, a channel each
        self.sent = 0  # filings the desk decided, and those this instance decided instead
        self.kept = 0

    async def file(self, actor: Actor, draft: Draft, signed: Signed) -> Operation | None:
        address = await self._where()
        if address is None or self._key is None:
            self.kept += 1
            return None
        channel: _Channel | None = None
        try:
            async with self._turns:
                channel = await self._channel(address, self._key)
                async with asyncio.timeout(self.answer_wait_s):
                    answer = await channel.ask(Filing(actor, draft, signed))
        except Exception as exc:  # gone, refused, or not the desk any more: look again, decide here
            log.info("the filing desk at %s:%d did not answer (%r); deciding here", *address, exc)
            if channel is not None:
                channel.close()
            self._forget()
            self.kept += 1
            return None
        except BaseException:  # cancelled: its answer may still come, so the channel is not reused
            if channel is not None:
                channel.close()
            raise
        self._idle.append(channel)
        for name, args in answer.probes:
            getattr(self.line.probes, name)(*args)
        if not answer.decided:
            self.kept += 1
            return None
        self.sent += 1
        signed.carried_out = answer.carried_out
        if answer.error is not None:
            raise answer.error
        return answer.operation

    async def _where(self) -> tuple[str, int] | None:
        """Where this host's leading desk listens, read again every ``LOOK_EVERY_S``; the filings
        that arrive meanwhile wait for the one reading."""
        if time.monotonic() - self._looked_at < LOOK_EVERY_S:
            return self._address
        loop = asyncio.get_running_loop()
        if self._looking is None or self._looking.get_loop() is not loop:
            self._looking = loop.create_task(self._look())
        return await asyncio.shield(self._looking)  # a waiter cancelled cancels nobody else's

    async def _look(self) -> tuple[str, int] | None:
        try:
            row = await self.reads.first(_WHERE, {"key": SETTING})
            value = row[0] if row is not None else None
            if value is not None and self._key is None:
                self._key = await asyncio.to_thread(authkey, self.line)
            self._address = _local_address(value)
            self._looked_at = time.monotonic()
            return self._address
        finally:
            self._looking = None

    async def _channel(self, address: tuple[str, int], key: bytes) -> _Channel:
        loop = asyncio.get_running_loop()
        while self._idle:
            channel = self._idle.pop()
            if channel.address == address and channel.loop is loop:
                return channel
            channel.close()  # to a desk that no longer leads
        return await _Channel.open(address, key)

    def _forget(self) -> None:
        self._looked_at = time.monotonic() - LOOK_EVERY_S + 0.5  # look again half a second on
        self._address = None
        idle, self._idle = self._idle, []
        for channel in idle:
            channel.close()


_WHERE = select(Setting.value).where(Setting.key == bindparam("key"))


@dataclass(frozen=True)
class _Channel:
    """A connection to the desk as an asyncio stream. The desk speaks ``multiprocessing.connection``:
    the key's challenge both ways (made in a thread, once a channel), then pickles, each after its
    length (4 bytes, big-endian; -1 and 8 more bytes for one over 2 GiB)."""

    address: tuple[str, int]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    loop: asyncio.AbstractEventLoop

    @classmethod
    async def open(cls, address: tuple[str, int], key: bytes) -> _Channel:
        connection = await asyncio.to_thread(Client, address, authkey=key)
        try:
            sock = socket.socket(fileno=os.dup(connection.fileno()))
        finally:
            connection.close()
        reader, writer = await asyncio.open_connection(sock=sock)
        return cls(address, reader, writer, asyncio.get_running_loop())

    async def ask(self, filing: Filing) -> Answer:
        payload = ForkingPickler.dumps(filing)
        self.writer.write(struct.pack("!i", len(payload)) + payload)  # a filing is far below 2 GiB
        await self.writer.drain()
        (size,) = struct.unpack("!i", await self.reader.readexactly(4))
        if size == -1:
            (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
        answer = pickle.loads(await self.reader.readexactly(size))
        if not isinstance(answer, Answer):
            raise TypeError(f"the desk answered with {type(answer).__name__}")
        return answer

    def close(self) -> None:
        self.writer.close()


def _local_address(value: str | None) -> tuple[str, int] | None:
    """``address:port`` as the desk of this host wrote it."""
    address, _, port = (value or "").rpartition(":")
    return (address, int(port)) if address and port.isdigit() else None
