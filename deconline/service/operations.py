"""Filing, revising and moving operations through their lifecycle, with conflict notices.

Every decision that can accept an operation runs under the strategic counter lock, against a
picture synchronised from the database in the same transaction: two submissions that conflict
with each other can never both end ``accepted``, whichever processes they arrive at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Select, Table, select, text
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from deconline.core.agreement import Agreement
from deconline.core.volumes import Volume
from deconline.service import notices
from deconline.service.actors import Actor, own_side
from deconline.service.errors import Conflict, Forbidden, Invalid, NotFound
from deconline.service.geo import geometry_json, volume_from_row
from deconline.service.line import Line, StrategicChange, new_id
from deconline.service.rules import in_force, require_in_force
from deconline.service.statements import Signed
from deconline.store.models import PENDING_OPERATIONS, ConflictNotice, Operation, OperationVolume
from deconline.store.together import insert_at_commit

STATES = ("proposed", "accepted", "active", "ended", "cancelled")
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("accepted", "cancelled"),
    "accepted": ("active", "cancelled"),
    "active": ("ended", "cancelled"),
    "ended": (),
    "cancelled": (),
}
REVISABLE = ("proposed", "accepted")
MAX_VOLUMES = 100
AUTO_END_BATCH = 200  # operations ended per transaction; the rest on the next beat
SERVICE = "service"


@dataclass(frozen=True)
class Draft:
    """A validated operation as the filer sent it."""

    volumes: Sequence[Volume]
    name: str = ""


@contextmanager
def _strategic_transaction(line: Line, volumes: Sequence[Volume] | None) -> Iterator[tuple[StrategicChange, Agreement]]:
    """The lock on the area of ``volumes`` (None: everywhere) and an up-to-date picture of it; no
    operation changes while no agreement is in force."""
    with line.strategic_change(volumes) as change:
        yield change, _agreement_of(change)


def _agreement_of(change: StrategicChange) -> Agreement:
    """The rules the change was taken under; no operation changes while no agreement is in force."""
    if change.agreement is None:
        require_in_force(change.session)  # raises, with the message that says what to do
    assert change.agreement is not None
    return change.agreement


def _volumes_now(line: Line, op_id: str) -> list[Volume]:
    """An operation's volumes before its lock is taken (to know which area to lock); nothing is
    shown to anyone, and the lock checks they have not moved since."""
    with line.db.read() as session:
        rows = session.scalars(
            select(OperationVolume).where(OperationVolume.operation_id == op_id).order_by(OperationVolume.ordinal)
        )
        return [volume_from_row(row) for row in rows]


def _volume_rows(volumes: Sequence[Volume]) -> list[OperationVolume]:
    return [
        OperationVolume(
            ordinal=i,
            footprint=geometry_json(v.footprint),
            radius_m=v.radius_m,
            lower_m=v.lower_m,
            upper_m=v.upper_m,
            start_s=v.start_s,
            end_s=v.end_s,
        )
        for i, v in enumerate(volumes)
    ]


def _check_draft(draft: Draft) -> None:
    if not draft.volumes:
        raise Invalid(["body", "volumes"], "an operation needs at least one volume")
    if len(draft.volumes) > MAX_VOLUMES:
        raise Invalid(["body", "volumes"], f"an operation may have at most {MAX_VOLUMES} volumes")


def _load_own(session: Session, actor: Actor, op_id: str) -> Operation:
    party_id, group = actor.require_party(), actor.group
    op = session.get(Operation, op_id, options=[selectinload(Operation.volumes), selectinload(Operation.notices)])
    side = own_side(session, party_id, group)
    if op is None or op.party_id not in side:
        # Another party's operation is reported exactly like a missing one, so ids cannot be probed.
        raise NotFound(f"no operation '{op_id}' visible to party '{party_id}'")
    if op.party_id != party_id:
        raise Forbidden(f"operation '{op_id}' belongs to '{op.party_id}': only its owner can change it")
    return op


def _expect_version(op: Operation, version: int) -> None:
    if op.version != version:
        raise Conflict(f"operation '{op.id}' is at version {op.version}, not {version}: reload it and try again")


@dataclass
class _Examination:
    """The conflicts of one operation now, and the notices in question, before anything is told."""

    op: Operation
    scope: list[ConflictNotice]
    pairs: list[notices.Pair]

    @property
    def blocked(self) -> bool:
        """Something live conflicts with it: it cannot be (or stay) accepted."""
        return any(other.live for _, _, other, _ in self.pairs)


def _examine(
    line: Line,
    change: StrategicChange,
    actor: Actor,
    op: Operation,
    agreement: Agreement,
    gone: bool = False,
    new: bool = False,
) -> _Examination:
    """The operation's conflicts with its volumes as stored (so a later re-check finds exactly the
    same parts), or none when it is ``gone`` (cancelled, ended); with the open notices on it and
    of others about it (none for a new operation)."""
    session = change.session
    finder = notices.Finder(line, session, agreement.strategic_rules)
    scope = [] if new else notices.open_in_scope(session, notices.about_operation(op.id))
    subject = None if gone else notices.Subject.of_operation(op)
    pairs = notices.pairs_for(finder, subject, scope, own_side(session, op.party_id, actor.group))
    return _Examination(op, scope, pairs)


def _tell(
    line: Line, change: StrategicChange, found: _Examination, agreement: Agreement, what: str, defer: bool = False
) -> notices.Outcome:
    """Resolve what no longer holds (``own_``/``other_`` + ``what``), open what is new (``defer``:
    written at the commit, with the rest of the batch's)."""
    op, session = found.op, change.session
    wanted = notices.wanted(line, session, found.pairs, "operation", agreement.strategic_rules, line.clock())

    def reason(notice: ConflictNotice) -> str:
        return f"own_{what}" if notice.operation_id == op.id else f"other_{what}"

    outcome = notices.reconcile(session, found.scope, wanted, reason, line.clock(), {op.id: op.version}, defer)
    set_committed_value(op, "notices", outcome.open_notices(op.id))
    return outcome


def _record(
    line: Line, session: Session, op: Operation, kind: str, signed: Signed | None, automatic: bool = False
) -> None:
    """The operation as its owner sees it, notices included; only the owner's side may read it."""
    event: dict[str, object] = {
        "operation": op.id,
        "version": op.version,
        "state": op.state,
        "name": op.name,
        "volumes": [
            {
                "footprint": v.footprint,
                "radius_m": v.radius_m,
                "band": [v.lower_m, v.upper_m],
                "window": [v.start_s, v.end_s],
            }
            for v in op.volumes
        ],
        "notices": [
            {
                "id": n.id,
                "kind": n.kind,
                "volume": n.volume_ordinal,
                "other_party": n.other_party_id,
                "other_ref": n.other_ref,
                "footprint": n.footprint,
                "band": [n.lower_m, n.upper_m],
                "window": [n.start_s, n.end_s],
            }
            for n in op.notices
        ],
    }
    if automatic:
        event["automatic"] = True  # the service ended it: its last window had closed
    line.append(session, SERVICE if automatic else op.party_id, kind, event, [op.party_id], signed)
    line.probes.decision(kind, op.state)


def file(line: Line, actor: Actor, draft: Draft, signed: Signed | None = None) -> Operation:
    """File a new operation: ``accepted`` if it conflicts with nothing live, else ``proposed``; the
    owners of the operations it conflicts with are told too. Filings that arrive together are
    decided together, in one transaction (``Line.decide_together``), each in turn."""
    return line.decide_together(draft.volumes, filing(line, actor, draft, signed))


def filing(
    line: Line, actor: Actor, draft: Draft, signed: Signed | None = None
) -> Callable[[StrategicChange], Operation]:
    """The decision on one filing, to be taken inside a strategic change that holds its volumes."""
    party_id = actor.require_party()
    _check_draft(draft)

    def decide(change: StrategicChange) -> Operation:
        agreement = _agreement_of(change)
        session = change.session
        now = line.clock()
        op = Operation(
            id=new_id("op"),
            party_id=party_id,
            name=draft.name,
            state="proposed",
            version=1,
            agreement_version=agreement.version,
            created_at=now,
            updated_at=now,
            ends_at=max(v.end_s for v in draft.volumes),
        )
        op.volumes = _volume_rows(draft.volumes)
        found = _examine(line, change, actor, op, agreement, new=True)
        op.state = "proposed" if found.blocked else "accepted"
        _insert(session, op)
        outcome = _tell(line, change, found, agreement, "revised", defer=True)  # a new operation: no scope
        change.track(op, final=True)
        _record(line, session, op, "operation.filed", signed)
        notices.publish(line, session, outcome, party_id, party_id, "operation.filed", agreement)
        return op

    return decide


def _insert(session: Session, op: Operation) -> None:
    """Queue a new operation to be written at the commit, with the batch's other new rows in one
    statement (``store.together``), not a round trip of its own while the batch holds its cells.
    Nothing reads it back before: the decisions after it in the batch find it in the strategic
    picture. ``op`` stays a detached object that the caller shows."""
    for volume in op.volumes:
        volume.operation_id = op.id
    insert_at_commit(session, _OPERATIONS, [_columns(op)])
    insert_at_commit(session, _VOLUMES, [_columns(v) for v in op.volumes])


_OPERATIONS, _VOLUMES = cast(Table, Operation.__table__), cast(Table, OperationVolume.__table__)


def _columns(row: Operation | OperationVolume) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


def revise(line: Line, actor: Actor, op_id: str, version: int, draft: Draft, signed: Signed | None = None) -> Operation:
    """Replace the volumes (optimistic concurrency on ``version``) and check again."""
    party_id = actor.require_party()
    _check_draft(draft)
    with _strategic_transaction(line, [*_volumes_now(line, op_id), *draft.volumes]) as (change, agreement):
        session = change.session
        op = _load_own(session, actor, op_id)
        _expect_version(op, version)
        change.track(op)
        if op.state not in REVISABLE:
            raise Conflict(f"an operation in state '{op.state}' cannot be revised (only {', '.join(REVISABLE)})")
        op.version += 1
        op.name = draft.name or op.name
        op.volumes = _volume_rows(draft.volumes)
        op.ends_at = max(v.end_s for v in draft.volumes)
        op.updated_at = line.clock()
        op.agreement_version = agreement.version
        session.flush()
        found = _examine(line, change, actor, op, agreement)
        outcome = _tell(line, change, found, agreement, "revised")
        op.state = "proposed" if found.blocked else "accepted"
        session.flush()
        _record(line, session, op, "operation.revised", signed)
        notices.publish(line, session, outcome, party_id, party_id, "operation.revised", agreement)
        return op


def check(line: Line, actor: Actor, op_id: str, version: int, signed: Signed | None = None) -> Operation:
    """Check a ``proposed`` operation again (the other side may have moved) and accept it if clear."""
    party_id = actor.require_party()
    with _strategic_transaction(line, _volumes_now(line, op_id)) as (change, agreement):
        session = change.session
        op = _load_own(session, actor, op_id)
        _expect_version(op, version)
        change.track(op)
        if op.state != "proposed":
            raise Conflict(f"only a proposed operation is checked again; '{op.id}' is {op.state}")
        op.version += 1
        op.agreement_version = agreement.version
        found = _examine(line, change, actor, op, agreement)
        outcome = _tell(line, change, found, agreement, "revised")
        if not found.blocked:
            op.state = "accepted"
        op.updated_at = line.clock()
        session.flush()
        _record(line, session, op, "operation.checked", signed)
        notices.publish(line, session, outcome, party_id, party_id, "operation.checked", agreement)
        return op


def change_state(
    line: Line, actor: Actor, op_id: str, version: int, state: str, signed: Signed | None = None
) -> Operation:
    party_id = actor.require_party()
    if state not in STATES:
        raise Invalid(["body", "state"], f"state must be one of {', '.join(STATES)}")
    with _strategic_transaction(line, _volumes_now(line, op_id)) as (change, agreement):
        session = change.session
        op = _load_own(session, actor, op_id)
        _expect_version(op, version)
        change.track(op)
        if state not in TRANSITIONS[op.state]:
            allowed = ", ".join(TRANSITIONS[op.state]) or "none (it is final)"
            raise Conflict(f"operation '{op.id}' is {op.state}; it can move to: {allowed}")
        op.version += 1
        outcome = notices.Outcome()
        if state == "accepted":
            found = _examine(line, change, actor, op, agreement)
            outcome = _tell(line, change, found, agreement, "revised")
            if found.blocked:
                raise Conflict(
                    f"operation '{op.id}' still conflicts ({len(op.notices)} notices): "
                    "revise it or check it again once the other side has moved"
                )
        elif state in ("cancelled", "ended"):
            outcome = _tell(line, change, _examine(line, change, actor, op, agreement, gone=True), agreement, state)
        op.state = state
        op.updated_at = line.clock()
        session.flush()
        _record(line, session, op, f"operation.{state}", signed)
        notices.publish(line, session, outcome, party_id, party_id, f"operation.{state}", agreement)
        return op


def past_their_end(cutoff: float) -> Select[Operation]:
    """The first pending operations whose last window closed before ``cutoff``, oldest first; the
    condition written as the index ``ix_operations_pending_ends_at`` has it, so that it is read."""
    return (
        select(Operation)
        .where(text(PENDING_OPERATIONS), Operation.ends_at < cutoff)
        .order_by(Operation.ends_at, Operation.id)
        .limit(AUTO_END_BATCH)
    )


def end_past(line: Line, now: float | None = None) -> list[str]:
    """End every operation whose last window closed more than the agreement's
    ``auto_end_after_s`` ago, so the picture does not fill with past plans; its notices, and the
    notices of others about it, are resolved. Found in a read transaction first (most seconds
    nothing is due), then ended under the lock on their areas only."""
    now = line.clock() if now is None else now
    with line.db.read() as session:
        agreement = in_force(session)
        if agreement is None:
            return []
        cutoff = now - agreement.auto_end_after_s
        due = session.scalars(past_their_end(cutoff).options(selectinload(Operation.volumes))).all()
        seen = {op.id: op.version for op in due}
        volumes = [volume_from_row(v) for op in due for v in op.volumes]
    if not due:
        return []
    ended: list[str] = []
    with _strategic_transaction(line, volumes) as (change, agreement):
        session = change.session
        past = session.scalars(
            select(Operation)
            .where(Operation.id.in_(sorted(seen)), Operation.state.in_(notices.PENDING_STATES))
            .options(selectinload(Operation.volumes))
            .order_by(Operation.ends_at, Operation.id)
        ).all()  # read out before the loop writes
        for op in past:
            if op.version != seen[op.id]:
                continue  # changed since: the next beat looks at it again
            actor = Actor("party", op.party_id)
            change.track(op)
            op.version += 1
            outcome = _tell(line, change, _examine(line, change, actor, op, agreement, gone=True), agreement, "ended")
            op.state = "ended"
            op.updated_at = now
            session.flush()
            _record(line, session, op, "operation.ended", None, automatic=True)
            notices.publish(line, session, outcome, SERVICE, None, "operation.ended")
            line.emit(
                session, op.party_id, {"type": "operation", "operation": op.id, "state": "ended", "automatic": True}
            )
            ended.append(op.id)
    return ended


def get(line: Line, actor: Actor, op_id: str) -> Operation:
    """An operation of one's own side (own or group member's)."""
    party_id = actor.require_party()
    with line.db.read() as session:
        op = session.get(Operation, op_id, options=[selectinload(Operation.volumes), selectinload(Operation.notices)])
        if op is None or op.party_id not in own_side(session, party_id, actor.group):
            raise NotFound(f"no operation '{op_id}' visible to party '{party_id}'")
        return op


def list_visible(
    line: Line, actor: Actor, state: str | None = None, limit: int = 100, offset: int = 0
) -> list[Operation]:
    party_id = actor.require_party()
    if state is not None and state not in STATES:
        raise Invalid(["query", "state"], f"state must be one of {', '.join(STATES)}")
    with line.db.read() as session:
        query = (
            select(Operation)
            .where(Operation.party_id.in_(own_side(session, party_id, actor.group)))
            .options(selectinload(Operation.volumes), selectinload(Operation.notices))
            .order_by(Operation.created_at, Operation.id)
            .limit(limit)
            .offset(offset)
        )
        if state is not None:
            query = query.where(Operation.state == state)
        return list(session.scalars(query))
