"""Conflict notices: who is told what about a conflict, and when the telling ends.

A conflict between operations of two sides gives each owner a notice about *its own* operation
(the part of its own volume in conflict, the other party's id, an opaque reference); a conflict
with a hazard gives the operation's owner one. A notice is ``open`` until its cause goes away
(a revision clear of it, a cancellation, an end, a withdrawal, new rules), then ``resolved`` with
the reason; nothing is deleted. Every change re-examines the notices it may affect (its *scope*)
against the conflicts found now, keeps the ones that still hold unchanged, resolves the rest
and opens the new ones; each opening and resolution is an event to the notice's owner and an
entry in the record, and a party told of a new conflict by someone else's change also gets a
hotline message from the service, so either side can start the conversation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, insert, or_, select, true, update
from sqlalchemy.orm import Session, selectinload

from deconline.core.agreement import Agreement
from deconline.core.notices import RESOLUTIONS
from deconline.core.strategic import StrategicRules, conflict_part, volumes_conflict
from deconline.core.volumes import Volume
from deconline.service import hotline
from deconline.service.actors import Actor, own_side
from deconline.service.geo import geometry_json, iso, volume_from_row
from deconline.service.line import Line, new_id
from deconline.service.picture import LIVE_STATES
from deconline.store.models import ConflictNotice, Hazard, Operation, Party
from deconline.store.together import insert_at_commit

PENDING_STATES = ("proposed", *LIVE_STATES)  # operations that can still be in a conflict


def opaque_ref(secret: bytes, viewer: str, operation_id: str) -> str:
    """A stable reference to another party's operation that reveals nothing about it."""
    digest = hmac.new(secret, f"{viewer}\x00{operation_id}".encode(), hashlib.sha256).hexdigest()
    return f"ref_{digest[:24]}"


@dataclass(frozen=True)
class Subject:
    """One end of a possible conflict: an operation (of a party) or a hazard, with its volumes."""

    kind: str  # "op" or "hz"
    id: str
    owner: str | None  # the operation's party; the hazard's declarer (None when the admin declared it)
    version: int
    volumes: tuple[Volume, ...]
    live: bool  # in the strategic picture: an accepted or active operation, an active hazard

    @staticmethod
    def of_operation(op: Operation) -> Subject:
        """With its volumes as stored, so every later re-check computes exactly the same parts."""
        own = tuple(volume_from_row(v) for v in op.volumes)
        return Subject("op", op.id, op.party_id, op.version, own, op.state in LIVE_STATES)

    @staticmethod
    def of_hazard(hazard: Hazard) -> Subject:
        return Subject(
            "hz", hazard.id, hazard.party_id, hazard.version, (volume_from_row(hazard),), hazard.state == "active"
        )


@dataclass
class Outcome:
    """What one change did to the notices."""

    opened: list[ConflictNotice] = field(default_factory=list)
    resolved: list[ConflictNotice] = field(default_factory=list)
    open_on: dict[str, list[ConflictNotice]] = field(default_factory=dict)  # operation id -> its open notices

    def open_notices(self, operation_id: str) -> list[ConflictNotice]:
        return sorted(self.open_on.get(operation_id, []), key=lambda n: n.id)


Pair = tuple[Subject, int, Subject, int]  # (a, volume of a, b, volume of b): the two conflict


class Finder:
    """Finds conflicting pairs for a change, from the strategic picture and from known partners."""

    def __init__(self, line: Line, session: Session, rules: StrategicRules) -> None:
        self.line, self.session, self.rules = line, session, rules
        self._subjects: dict[str, Subject | None] = {}

    def subject(self, kind: str, subject_id: str) -> Subject | None:
        """An operation that may still conflict (proposed, accepted, active) or an active hazard."""
        if subject_id not in self._subjects:
            found: Subject | None = None
            in_picture = self.line.picture.live(subject_id)
            if in_picture is not None:  # live: no need to ask the database
                owner, version, volumes = in_picture
                found = Subject(kind, subject_id, owner, version, volumes, True)
            elif kind == "op":
                op = self.session.get(Operation, subject_id, options=[selectinload(Operation.volumes)])
                if op is not None and op.state in PENDING_STATES:
                    found = Subject.of_operation(op)
            else:
                hazard = self.session.get(Hazard, subject_id)
                if hazard is not None and hazard.state == "active":
                    found = Subject.of_hazard(hazard)
            self._subjects[subject_id] = found
        return self._subjects[subject_id]

    def in_picture(self, subject: Subject, exclude_owners: Iterable[str]) -> list[Pair]:
        """Pairs with live operations of other sides and active hazards (hazards: with live operations)."""
        pairs: list[Pair] = []
        excluded = set(exclude_owners)
        for i, volume in enumerate(subject.volumes):
            for hit in self.line.picture.conflicts(volume, self.rules, excluded):
                kind, other_id, j = _key(hit.key)
                if other_id == subject.id or (subject.kind == "hz" and kind == "hz"):
                    continue
                other = self.subject(kind, other_id)
                if other is not None and other.live:
                    pairs.append((subject, i, other, j))
        return pairs

    def with_partner(self, subject: Subject, partner: Subject) -> list[Pair]:
        """Every conflicting pair of volumes of two known subjects (for partners outside the picture)."""
        return [
            (subject, i, partner, j)
            for i, a in enumerate(subject.volumes)
            for j, b in enumerate(partner.volumes)
            if volumes_conflict(a, b, self.rules)
        ]


def _key(key: Hashable) -> tuple[str, str, int]:
    """The picture's keys: ("op", operation id, volume) or ("hz", hazard id, 0)."""
    kind, subject_id, ordinal = cast(tuple[str, str, int], key)
    return kind, subject_id, ordinal


def _partner_of(notice: ConflictNotice, subject_id: str) -> tuple[str, str]:
    if notice.operation_id != subject_id:
        return "op", notice.operation_id
    if notice.hazard_id is not None:
        return "hz", notice.hazard_id
    return "op", str(notice.other_operation_id)


def pairs_for(
    finder: Finder, subject: Subject | None, scope: Sequence[ConflictNotice], exclude_owners: Iterable[str]
) -> list[Pair]:
    """Conflicts of ``subject`` now: with the picture, and with the partners of its open notices
    that the picture does not hold (proposed operations)."""
    if subject is None:
        return []
    pairs = finder.in_picture(subject, exclude_owners)
    seen = {b.id for _, _, b, _ in pairs}
    for notice in scope:
        kind, partner_id = _partner_of(notice, subject.id)
        if partner_id in seen or partner_id == subject.id:
            continue
        seen.add(partner_id)
        partner = finder.subject(kind, partner_id)
        if partner is not None and not (partner.kind == "hz" and subject.kind == "hz"):
            pairs.extend(finder.with_partner(subject, partner))
    return pairs


def open_in_scope(session: Session, condition: ColumnElement[bool]) -> list[ConflictNotice]:
    return list(session.scalars(select(ConflictNotice).where(ConflictNotice.state == "open", condition)))


def about_operation(operation_id: str) -> ColumnElement[bool]:
    """Notices on the operation and notices of others about it."""
    return or_(ConflictNotice.operation_id == operation_id, ConflictNotice.other_operation_id == operation_id)


def about_hazard(hazard_id: str) -> ColumnElement[bool]:
    return ConflictNotice.hazard_id == hazard_id


def _signature(notice: ConflictNotice) -> tuple[Any, ...]:
    """What makes two notices the same telling (the version of the operation aside)."""
    return (
        notice.operation_id,
        notice.volume_ordinal,
        notice.other_operation_id,
        notice.hazard_id,
        json.dumps(notice.footprint, sort_keys=True),
        notice.lower_m,
        notice.upper_m,
        notice.start_s,
        notice.end_s,
    )


def _pair_key(notice: ConflictNotice) -> tuple[str, str | None]:
    return notice.operation_id, notice.other_operation_id or notice.hazard_id


def _notice(
    line: Line,
    session: Session,
    own: Subject,
    i: int,
    other: Subject,
    j: int,
    kind: str,
    rules: StrategicRules,
    now: float,
) -> ConflictNotice:
    part = conflict_part(own.volumes[i], other.volumes[j], rules)
    assert own.owner is not None
    is_op = other.kind == "op"
    return ConflictNotice(
        id=new_id("cn"),
        operation_id=own.id,
        party_id=own.owner,
        state="open",
        resolved_at=None,
        resolution=None,
        operation_version=own.version,
        volume_ordinal=i,
        kind=kind if kind != "operation" or is_op else "hazard",
        other_party_id=other.owner,
        other_operation_id=other.id if is_op else None,
        other_ref=opaque_ref(line.secret(session), own.owner, other.id) if is_op else other.id,
        hazard_id=None if is_op else other.id,
        footprint=geometry_json(part.footprint),
        lower_m=part.lower_m,
        upper_m=part.upper_m,
        start_s=part.start_s,
        end_s=part.end_s,
        created_at=now,
    )


def wanted(
    line: Line, session: Session, pairs: Sequence[Pair], kind: str, rules: StrategicRules, now: float
) -> list[ConflictNotice]:
    """The notices the pairs call for: one to the owner of each operation in a pair."""
    notices = []
    for a, i, b, j in pairs:
        if a.kind == "op":
            notices.append(_notice(line, session, a, i, b, j, kind, rules, now))
        if b.kind == "op":
            notices.append(_notice(line, session, b, j, a, i, kind, rules, now))
    return notices


def reconcile(
    session: Session,
    scope: Sequence[ConflictNotice],
    notices: Sequence[ConflictNotice],
    reason: Callable[[ConflictNotice], str],
    now: float,
    versions: dict[str, int] | None = None,
    defer: bool = False,
) -> Outcome:
    """Keep what still holds, resolve the rest of ``scope`` (with ``reason``, or ``superseded`` when
    the same pair is told anew), open what is new; in the caller's transaction. ``defer``: write
    the new notices at the commit, with every other decision's of the transaction (a batch of
    filings), for a caller that reads no notice after this in the same transaction."""
    versions = versions or {}
    outcome = Outcome()
    fresh: dict[tuple[Any, ...], list[ConflictNotice]] = defaultdict(list)
    for notice in notices:
        fresh[_signature(notice)].append(notice)
    told_again = {_pair_key(n) for n in notices}
    kept: list[ConflictNotice] = []
    for notice in sorted(scope, key=lambda n: n.id):
        same = fresh.get(_signature(notice))
        if same:
            same.pop()
            kept.append(notice)
        else:
            notice.state, notice.resolved_at = "resolved", now
            notice.resolution = "superseded" if _pair_key(notice) in told_again else reason(notice)
            assert notice.resolution in RESOLUTIONS, notice.resolution
            outcome.resolved.append(notice)
    opened = [n for group in fresh.values() for n in group]
    connection = session.connection()
    for notice in outcome.resolved:
        connection.execute(
            update(ConflictNotice)
            .where(ConflictNotice.id == notice.id)
            .values(state="resolved", resolved_at=now, resolution=notice.resolution)
        )
    for notice in kept:
        version = versions.get(notice.operation_id)
        if version is not None and version != notice.operation_version:
            notice.operation_version = version
            connection.execute(
                update(ConflictNotice).where(ConflictNotice.id == notice.id).values(operation_version=version)
            )
    rows = [{c: getattr(n, c) for c in _NOTICE_COLUMNS} for n in opened]
    if rows and defer:
        insert_at_commit(session, _NOTICES, rows)
    elif rows:
        _write_notices(session, [rows])
    outcome.opened = sorted(opened, key=lambda n: n.id)
    for notice in [*kept, *opened]:
        outcome.open_on.setdefault(notice.operation_id, []).append(notice)
    return outcome


_NOTICE_COLUMNS = [c.key for c in ConflictNotice.__table__.columns]
_NOTICES = cast(Table, ConflictNotice.__table__)


def _write_notices(session: Session, batches: list[list[dict[str, Any]]]) -> None:
    session.connection().execute(insert(ConflictNotice), [row for rows in batches for row in rows])


def view(notice: ConflictNotice) -> dict[str, Any]:
    """A notice as its owner sees it: its own operation, never the other one's id or geometry."""
    return {
        "id": notice.id,
        "operation": notice.operation_id,
        "operation_version": notice.operation_version,
        "kind": notice.kind,
        "state": notice.state,
        "volume": notice.volume_ordinal,
        "other_party": notice.other_party_id,
        "other_ref": notice.other_ref,
        "hazard_id": notice.hazard_id,
        "footprint": notice.footprint,
        "band": [notice.lower_m, notice.upper_m],
        "window": [notice.start_s, notice.end_s],
        "created_at": iso(notice.created_at),
        "resolved_at": iso(notice.resolved_at) if notice.resolved_at is not None else None,
        "resolution": notice.resolution,
    }


def publish(
    line: Line,
    session: Session,
    outcome: Outcome,
    author: str,
    changed_by: str | None,
    cause: str,
    agreement: Agreement | None = None,
) -> None:
    """Events and record entries for every opening and resolution; a hotline message from the
    service to each party told of a new conflict by a change it did not make (``agreement``: the
    one in force, if the caller has it, for the message's deadline)."""
    for notice in outcome.opened:
        seen = view(notice)
        line.append(session, author, "notice.opened", {"notice": seen, "cause": cause}, [notice.party_id])
        line.emit(session, notice.party_id, {"type": "notice", "notice": seen})
    for notice in outcome.resolved:
        event = {"notice": notice.id, "operation": notice.operation_id, "resolution": notice.resolution}
        line.append(session, author, "notice.resolved", event, [notice.party_id])
        line.emit(session, notice.party_id, {"type": "notice", "notice": view(notice)})
    told: dict[str, list[ConflictNotice]] = defaultdict(list)
    for notice in outcome.opened:
        if notice.party_id != changed_by:
            told[notice.party_id].append(notice)
    for party, notices in sorted(told.items()):
        hotline.notices_message(line, session, party, notices, cause, agreement)


def owner_sides(session: Session) -> Callable[[str | None, str | None], bool]:
    """Whether two owners are on one side (the same party, or members of one group)."""
    groups = {p: g for p, g in session.execute(select(Party.id, Party.group))}

    def same(a: str | None, b: str | None) -> bool:
        if a is None or b is None:
            return False
        return a == b or (groups.get(a) is not None and groups.get(a) == groups.get(b))

    return same


def recheck_all(line: Line, session: Session, rules: StrategicRules, author: str, cause: str) -> Outcome:
    """Under new rules: every pair of live operations (and live operation and hazard) of different
    sides, and every pair that already has an open notice, checked again. New conflicts open
    ``rules_changed`` notices to both owners; notices the rules no longer justify are resolved.
    Operations keep their state: nobody's sortie is revoked by a rule change."""
    finder = Finder(line, session, rules)
    same_side = owner_sides(session)
    pairs: list[Pair] = []
    covered: set[tuple[str, str]] = set()
    for key_a, key_b in line.picture.pairs(rules):
        (kind_a, id_a, i), (kind_b, id_b, j) = _key(key_a), _key(key_b)
        if kind_a == "hz" and kind_b == "hz":
            continue
        a, b = finder.subject(kind_a, id_a), finder.subject(kind_b, id_b)
        if a is None or b is None or (a.kind == b.kind == "op" and same_side(a.owner, b.owner)):
            continue
        pairs.append((a, i, b, j))
        covered.add((a.id, b.id))
        covered.add((b.id, a.id))
    scope = open_in_scope(session, true())  # every open notice
    for notice in scope:
        kind, partner_id = _partner_of(notice, notice.operation_id)
        if (notice.operation_id, partner_id) in covered:
            continue
        covered.update({(notice.operation_id, partner_id), (partner_id, notice.operation_id)})
        own, partner = finder.subject("op", notice.operation_id), finder.subject(kind, partner_id)
        if own is not None and partner is not None:
            pairs.extend(finder.with_partner(own, partner))
    notices = wanted(line, session, pairs, "rules_changed", rules, line.clock())
    outcome = reconcile(session, scope, notices, lambda _: "rules_changed", line.clock())
    publish(line, session, outcome, author, None, cause)
    return outcome


def list_visible(
    line: Line,
    actor: Actor,
    state: str | None = None,
    operation_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[ConflictNotice]:
    """The notices of one's own side's operations, open and resolved, oldest first."""
    party_id = actor.require_party()
    with line.db.read() as session:
        query = (
            select(ConflictNotice)
            .where(ConflictNotice.party_id.in_(own_side(session, party_id, actor.group)))
            .order_by(ConflictNotice.created_at, ConflictNotice.id)
            .limit(limit)
            .offset(offset)
        )
        if state is not None:
            query = query.where(ConflictNotice.state == state)
        if operation_id is not None:
            query = query.where(ConflictNotice.operation_id == operation_id)
        return list(session.scalars(query))
