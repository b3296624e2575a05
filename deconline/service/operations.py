"""Filing, revising and moving operations through their lifecycle, with conflict notices.

Every decision that can accept an operation runs under the strategic counter lock, against a
picture synchronised from the database in the same transaction: two submissions that conflict
with each other can never both end ``accepted``, whichever processes they arrive at.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, selectinload

from deconline.core.agreement import Agreement
from deconline.core.strategic import conflict_part
from deconline.core.volumes import Volume
from deconline.service.agreements import require_in_force
from deconline.service.errors import Conflict, Forbidden, Invalid, NotFound
from deconline.service.geo import geometry_json, volume_from_row
from deconline.service.line import Line, StrategicChange, new_id
from deconline.service.parties import Actor, own_side
from deconline.service.record import Signed
from deconline.store.models import ConflictNotice, Hazard, Operation, OperationVolume

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


@dataclass(frozen=True)
class Draft:
    """A validated operation as the filer sent it."""

    volumes: Sequence[Volume]
    name: str = ""


@contextmanager
def _strategic_transaction(line: Line) -> Iterator[tuple[StrategicChange, Agreement]]:
    """The filing lock and an up-to-date picture; no operation changes while no agreement is in force."""
    with line.strategic_change() as change:
        yield change, require_in_force(change.session)


def opaque_ref(secret: bytes, viewer: str, operation_id: str) -> str:
    """A stable reference to another party's operation that reveals nothing about it."""
    digest = hmac.new(secret, f"{viewer}\x00{operation_id}".encode(), hashlib.sha256).hexdigest()
    return f"ref_{digest[:24]}"


def _notices(
    line: Line,
    session: Session,
    party_id: str,
    side: set[str],
    op_id: str,
    op_version: int,
    volumes: Sequence[Volume],
    agreement: Agreement,
) -> list[ConflictNotice]:
    rules = agreement.strategic_rules
    secret = line.secret(session)
    now = line.clock()
    notices: list[ConflictNotice] = []
    for ordinal, volume in enumerate(volumes):
        for hit in line.picture.index.conflicts(volume, rules, exclude_owners=side):
            kind, other_id = str(hit.key[0]), str(hit.key[1])  # type: ignore[index]
            part = conflict_part(volume, hit.volume, rules)
            common = dict(
                id=new_id("cn"),
                operation_id=op_id,
                operation_version=op_version,
                volume_ordinal=ordinal,
                footprint=geometry_json(part.footprint),
                lower_m=part.lower_m,
                upper_m=part.upper_m,
                start_s=part.start_s,
                end_s=part.end_s,
                created_at=now,
            )
            if kind == "hz":
                hazard = session.get(Hazard, other_id)
                notices.append(
                    ConflictNotice(
                        kind="hazard",
                        other_party_id=hazard.party_id if hazard else None,
                        other_operation_id=None,
                        other_ref=other_id,
                        hazard_id=other_id,
                        **common,
                    )
                )
            else:
                notices.append(
                    ConflictNotice(
                        kind="operation",
                        other_party_id=hit.owner,
                        other_operation_id=other_id,
                        other_ref=opaque_ref(secret, party_id, other_id),
                        hazard_id=None,
                        **common,
                    )
                )
    return notices


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


def _recheck(
    line: Line, session: Session, actor: Actor, op: Operation, volumes: Sequence[Volume], agreement: Agreement
) -> None:
    if op.notices:
        op.notices.clear()
        session.flush()
    side = own_side(session, op.party_id, actor.group)
    op.notices.extend(_notices(line, session, op.party_id, side, op.id, op.version, volumes, agreement))
    op.agreement_version = agreement.version


def _record(line: Line, session: Session, op: Operation, kind: str, signed: Signed | None) -> None:
    """The operation as its owner sees it, notices included; only the owner's side may read it."""
    event = {
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
    line.append(session, op.party_id, kind, event, [op.party_id], signed)


def file(line: Line, actor: Actor, draft: Draft, signed: Signed | None = None) -> Operation:
    """File a new operation: ``accepted`` if it conflicts with nothing, else ``proposed`` with notices."""
    party_id = actor.require_party()
    _check_draft(draft)
    with _strategic_transaction(line) as (change, agreement):
        session, seq = change.session, change.seq
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
            change_seq=seq,
        )
        op.volumes = _volume_rows(draft.volumes)
        side = own_side(session, party_id, actor.group)
        op.notices = _notices(line, session, party_id, side, op.id, op.version, draft.volumes, agreement)
        op.state = "proposed" if op.notices else "accepted"
        _insert(session, op)
        change.operations.append(op)
        _record(line, session, op, "operation.filed", signed)
        return op


def _insert(session: Session, op: Operation) -> None:
    """Write a new operation with plain Core inserts: filing is the hot path, and the unit of work
    costs more than the statements. ``op`` stays a detached object that the caller shows."""
    connection = session.connection()

    def columns(row: Operation | OperationVolume | ConflictNotice) -> dict[str, object]:
        return {c.key: getattr(row, c.key) for c in row.__table__.columns}

    for volume in op.volumes:
        volume.operation_id = op.id
    for notice in op.notices:
        notice.operation_id = op.id
    connection.execute(insert(Operation), [columns(op)])
    connection.execute(insert(OperationVolume), [columns(v) for v in op.volumes])
    if op.notices:
        connection.execute(insert(ConflictNotice), [columns(n) for n in op.notices])


def revise(line: Line, actor: Actor, op_id: str, version: int, draft: Draft, signed: Signed | None = None) -> Operation:
    """Replace the volumes (optimistic concurrency on ``version``) and check again."""
    actor.require_party()
    _check_draft(draft)
    with _strategic_transaction(line) as (change, agreement):
        session, seq = change.session, change.seq
        op = _load_own(session, actor, op_id)
        change.operations.append(op)
        _expect_version(op, version)
        if op.state not in REVISABLE:
            raise Conflict(f"an operation in state '{op.state}' cannot be revised (only {', '.join(REVISABLE)})")
        op.version += 1
        op.name = draft.name or op.name
        op.volumes = _volume_rows(draft.volumes)
        op.updated_at = line.clock()
        op.change_seq = seq
        session.flush()
        _recheck(line, session, actor, op, draft.volumes, agreement)
        op.state = "proposed" if op.notices else "accepted"
        session.flush()
        _record(line, session, op, "operation.revised", signed)
        return op


def check(line: Line, actor: Actor, op_id: str, version: int, signed: Signed | None = None) -> Operation:
    """Check a ``proposed`` operation again (the other side may have moved) and accept it if clear."""
    actor.require_party()
    with _strategic_transaction(line) as (change, agreement):
        session, seq = change.session, change.seq
        op = _load_own(session, actor, op_id)
        change.operations.append(op)
        _expect_version(op, version)
        if op.state != "proposed":
            raise Conflict(f"only a proposed operation is checked again; '{op.id}' is {op.state}")
        volumes = [volume_from_row(v) for v in op.volumes]
        op.version += 1
        _recheck(line, session, actor, op, volumes, agreement)
        if not op.notices:
            op.state = "accepted"
        op.updated_at = line.clock()
        op.change_seq = seq
        session.flush()
        _record(line, session, op, "operation.checked", signed)
        return op


def change_state(
    line: Line, actor: Actor, op_id: str, version: int, state: str, signed: Signed | None = None
) -> Operation:
    actor.require_party()
    if state not in STATES:
        raise Invalid(["body", "state"], f"state must be one of {', '.join(STATES)}")
    with _strategic_transaction(line) as (change, agreement):
        session, seq = change.session, change.seq
        op = _load_own(session, actor, op_id)
        change.operations.append(op)
        _expect_version(op, version)
        if state not in TRANSITIONS[op.state]:
            allowed = ", ".join(TRANSITIONS[op.state]) or "none (it is final)"
            raise Conflict(f"operation '{op.id}' is {op.state}; it can move to: {allowed}")
        if state == "accepted":
            volumes = [volume_from_row(v) for v in op.volumes]
            _recheck(line, session, actor, op, volumes, agreement)
            if op.notices:
                raise Conflict(
                    f"operation '{op.id}' still conflicts ({len(op.notices)} notices): "
                    "revise it or check it again once the other side has moved"
                )
        op.state = state
        op.version += 1
        op.updated_at = line.clock()
        op.change_seq = seq
        session.flush()
        _record(line, session, op, f"operation.{state}", signed)
        return op


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
