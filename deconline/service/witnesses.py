"""The line's witnesses (issue 25): every new checkpoint is sent to the witnesses the agreement names
(C2SP tlog-witness ``add-checkpoint``) with a consistency proof from the size each last cosigned,
and their cosignatures are kept with it. A witness that is down, slow or refusing never holds up
a write: the checkpoint is published all the same, counted short of its quorum.
"""

from __future__ import annotations

import base64
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from deconline.core.agreement import WitnessRef
from deconline.record.checkpoint import Checkpoint, NoteError, signature_lines
from deconline.record.cosignature import cosignatures, parse_vkey
from deconline.record.merkle import MerkleTree
from deconline.service import record
from deconline.service.line import Line
from deconline.service.rules import in_force
from deconline.store.models import CheckpointRow

log = logging.getLogger("deconline.witnesses")
TIMEOUT_S = 2.0


@dataclass
class Witnesses:
    """This instance's view of the witnesses: the size each last cosigned (learnt from its 200 and
    409 answers: an instance that takes over learns it at its first request), one HTTP client with
    kept-alive connections, and one pool that asks them all at once."""

    known: dict[str, int] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)  # witness → why, told once until it answers again
    short: bool = False  # the last checkpoint was short of quorum (told once)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _http: httpx.Client | None = None
    _pool: ThreadPoolExecutor | None = None

    @property
    def http(self) -> httpx.Client:
        """Made at the first checkpoint of a line that has witnesses, then kept (connections alive)."""
        with self.lock:
            if self._http is None:
                self._http = httpx.Client(timeout=TIMEOUT_S)
            return self._http

    @property
    def pool(self) -> ThreadPoolExecutor:
        with self.lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(8, thread_name_prefix="witness")
            return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None  # made again if the book is used again (an app started twice)
        if self._http is not None:
            self._http.close()
            self._http = None


@dataclass(frozen=True)
class Witnessed:
    size: int
    cosigners: int
    quorum: int

    @property
    def met(self) -> bool:
        return self.cosigners >= self.quorum


def collect(line: Line, book: Witnesses) -> Witnessed | None:
    """Ask the agreement's witnesses to cosign the latest checkpoint, if some have not yet; None
    when the line has no witnesses or no checkpoint."""
    with line.db.read() as session:
        agreement = in_force(session)
        row = session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1)).first()
        if agreement is None or not agreement.witnesses or row is None:
            return None
        origin = record.origin(line.record, session)
        line.record.sync(session)
    kept = (row.cosigned or row.note)[len(row.note) :]  # the cosignature lines it already has (checked)
    already = {name for name, _ in signature_lines(row.note + kept)[1]}
    missing = [w for w in agreement.witnesses if w.key.split("+", 1)[0] not in already]
    if not missing:
        return Witnessed(row.size, row.cosigners, agreement.quorum)
    checkpoint = Checkpoint(origin, row.size, bytes.fromhex(row.root))
    tree = line.record.tree
    answers = list(book.pool.map(lambda w: _ask(book, w, row.note, checkpoint, tree), missing))  # only those
    lines = kept + "".join(text for text in answers if text)
    count = row.cosigners + sum(1 for text in answers if text)
    with line.db.write() as session:
        session.execute(
            update(CheckpointRow)
            .where(CheckpointRow.size == row.size, CheckpointRow.cosigners < count)
            .values(cosigned=row.note + lines, cosigners=count)
        )
    witnessed = Witnessed(row.size, count, agreement.quorum)
    if witnessed.met == book.short:  # told when it changes, not every second
        book.short = not witnessed.met
        if book.short:
            log.warning(
                "checkpoint %d has %d of the %d cosignatures its quorum needs: published, short of quorum "
                "(said again when the quorum is back)",
                row.size,
                len(lines),
                agreement.quorum,
            )
        else:
            log.warning("checkpoint %d has its quorum of cosignatures again", row.size)
    return witnessed


def _failed(book: Witnesses, name: str, why: str) -> None:
    with book.lock:
        told = book.failing.get(name) == why
        book.failing[name] = why
    if not told:
        log.warning("witness %s: %s (said again when it changes)", name, why)


DEFAULT_CHECKPOINT_EVERY_S = 1.0


def checkpoint_due(session: Session, now: float) -> bool:
    """Whether the agreement's checkpoint period has passed since the newest checkpoint."""
    agreement = in_force(session)
    every = agreement.checkpoint_every_s if agreement is not None else None
    newest = session.scalar(select(func.max(CheckpointRow.created_at)))
    return newest is None or now - newest >= (every or DEFAULT_CHECKPOINT_EVERY_S) - 0.05


def for_bundle(session: Session) -> dict[str, Any]:
    """What a bundle carries about the witnesses of the agreement in force (nothing when none):
    their keys and quorum, which ``record verify`` uses unless the verifier pins its own."""
    agreement = in_force(session)
    if agreement is None or not agreement.witnesses:
        return {}
    return {"witnesses": {"keys": [w.key for w in agreement.witnesses], "quorum": agreement.quorum}}


def state(line: Line) -> Witnessed | None:
    """How the latest checkpoint stands with the witnesses (None: the line has none)."""
    with line.db.read() as session:
        agreement = in_force(session)
        if agreement is None or not agreement.witnesses:
            return None
        row = session.execute(
            select(CheckpointRow.size, CheckpointRow.cosigners).order_by(CheckpointRow.size.desc()).limit(1)
        ).first()
    return Witnessed(row.size if row else 0, row.cosigners if row else 0, agreement.quorum)


def _request(old: int, checkpoint: Checkpoint, note: str, tree: MerkleTree) -> bytes:
    proof = tree.consistency_proof(old, checkpoint.size) if 0 < old < checkpoint.size else []
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def _ask(book: Witnesses, witness: WitnessRef, note: str, checkpoint: Checkpoint, tree: MerkleTree) -> str | None:
    """The witness's cosignature line on the checkpoint, or None (it said why, or was not there)."""
    try:
        who = parse_vkey(witness.key)
    except NoteError as exc:
        log.warning("witness of %s: its key in the agreement is unusable: %s", witness.party, exc)
        return None
    with book.lock:
        old = book.known.get(who.name, 0)
    for _ in range(2):  # once more after a 409, from the size the witness says it cosigned
        try:
            response = book.http.post(
                witness.url.rstrip("/") + "/add-checkpoint", content=_request(old, checkpoint, note, tree)
            )
        except httpx.HTTPError as exc:
            _failed(book, who.name, f"did not answer ({type(exc).__name__})")
            return None
        if response.status_code == 409 and response.text.strip().isdigit():
            old = int(response.text.strip())
            if not 0 <= old <= checkpoint.size:
                _failed(book, who.name, f"cosigned size {old}, past this checkpoint's {checkpoint.size}")
                return None
            continue
        if response.status_code != 200:
            _failed(book, who.name, f"refused ({response.status_code} {response.text.strip()[:200]})")
            return None
        mine = [line + "\n" for line in response.text.splitlines() if line.startswith(f"\u2014 {who.name} ")]
        try:
            if who.name not in cosignatures(note + "".join(mine), [who]):
                raise NoteError("no cosignature by its key")
        except NoteError as exc:
            _failed(book, who.name, f"answered without a valid cosignature ({exc})")
            return None
        with book.lock:
            book.known[who.name] = checkpoint.size
            recovered = book.failing.pop(who.name, None) is not None
        if recovered:
            log.warning("witness %s cosigns again", who.name)
        return "".join(mine)
    return None
