"""The periodic review: what happened on the line between two times, as plain JSON-able data.

The parties of a memorandum meet now and then to look back: what was filed and how conflicts
ended, which hazards came and went, the tactical alerts, how the hotline was answered, which
agreement was in force, and whether the record held together. Each reader gets what the API
would show it and nothing more:

- a party: its own side's operations and notices (of another party only its id and the opaque
  reference, never its operation id or geometry), alerts of its own aircraft (and where they
  were), messages its side sent or received, public hazards, every party's comm-check health;
- the admin and the auditor: counts and timing only (per party at most), no geometry, no names,
  no ids of operations, hazards or messages.

Same data, same answer: every list is sorted and nothing reads the clock.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from deconline.record.checkpoint import NoteError, open_checkpoint, parse_verifier_key
from deconline.record.merkle import ProofError, verify_consistency
from deconline.service import record, review_activity
from deconline.service.actors import Actor, own_side
from deconline.service.errors import Invalid
from deconline.service.geo import iso
from deconline.service.line import Line
from deconline.service.review_scope import Scope, events
from deconline.service.rules import parse_document
from deconline.store.models import (
    AgreementVersion,
    CheckpointRow,
    ConflictNotice,
    Hazard,
    Message,
    Operation,
    RecordEntry,
)

FORMAT = "deconline-review/1"
MAX_SPAN_S = 366 * 86_400.0
LATEST_S = 253_402_300_799.0  # 9999-12-31T23:59:59Z
# How a notice's cause went away, in the words of the review (``superseded`` is no resolution:
# the same conflict goes on under a newer notice).
OUTCOMES = {
    "own_revised": "revised",
    "other_revised": "revised",
    "own_cancelled": "cancelled",
    "other_cancelled": "cancelled",
    "own_ended": "ended",
    "other_ended": "ended",
    "hazard_changed": "hazard changed",
    "hazard_withdrawn": "hazard withdrawn",
    "rules_changed": "rules changed",
}
ACCEPTED_STATES = ("accepted", "active", "ended")  # a plan in one of these was accepted once


def parse_time(text: str, name: str) -> float:
    """An ISO 8601 time with a zone (``2036-11-23T06:00:00Z``) as epoch seconds; 422 otherwise."""
    try:
        value = datetime.fromisoformat(text.strip())
        if value.tzinfo is None:
            raise Invalid(["query", name], f"'{name}' needs a time zone, e.g. 2036-11-23T06:00:00Z")
        return value.timestamp()
    except (ValueError, OverflowError) as exc:
        raise Invalid(["query", name], f"'{name}' is not an ISO 8601 time such as 2036-11-23T06:00:00Z") from exc


def check_period(start_s: float, end_s: float) -> None:
    """A review covers a real, bounded period: ``from < to``, at most 366 days, 1970–9999."""
    if not 0 <= start_s <= LATEST_S or not 0 <= end_s <= LATEST_S:
        raise Invalid(["query", "from"], "times must lie between 1970-01-01 and 9999-12-31 (UTC)")
    if start_s >= end_s:
        raise Invalid(["query", "to"], "'to' must be after 'from'")
    if end_s - start_s > MAX_SPAN_S:
        raise Invalid(["query", "to"], "a review covers at most 366 days: split a longer period")


def review_data(line: Line, actor: Actor, start_s: float, end_s: float) -> dict[str, Any]:
    """Everything the review of ``[start_s, end_s]`` shows to ``actor``, as JSON-able data."""
    check_period(start_s, end_s)
    with line.db.read() as session:
        party = actor.require_party() if actor.role == "party" else None
        side = frozenset(own_side(session, party, actor.group)) if party is not None else frozenset()
        scope = Scope(actor.role, party, side, start_s, end_s)
        requests = _requests(session, scope)
        data: dict[str, Any] = {
            "format": FORMAT,
            "period": {"from": iso(start_s), "to": iso(end_s), "from_s": start_s, "to_s": end_s},
            "viewer": {"role": actor.role, "party": scope.party, "side": sorted(side)},
            "operations": _operations(session, scope),
            "conflicts": _conflicts(session, scope, requests),
            "hazards": _hazards(session, scope),
            "alerts": review_activity.alerts(session, scope),
            "hotline": review_activity.hotline(session, scope),
            "agreements": _agreements(session, scope),
            "record": _record(line, session, scope),
        }
        if scope.detailed:
            data["map"] = review_activity.encounter_map(session, scope, data["alerts"].pop("positions"))
    return data


def _operations(session: Session, scope: Scope) -> dict[str, Any]:
    """Filed in the period; of those, accepted and in conflict by its end."""
    query = select(Operation).where(Operation.created_at.between(scope.start, scope.end))
    if scope.detailed:
        query = query.where(Operation.party_id.in_(scope.side))
    ops = list(session.scalars(query.order_by(Operation.created_at, Operation.id)))
    ids = {op.id for op in ops}
    accepted = {
        e["operation"] for _, e in events(session, scope, "operation.%") if e.get("state") in ACCEPTED_STATES
    } & ids
    noticed = (
        set(session.scalars(select(ConflictNotice.operation_id).where(ConflictNotice.created_at <= scope.end))) & ids
    )
    by_party: dict[str, dict[str, int]] = {}
    for op in ops:
        row = by_party.setdefault(op.party_id, {"filed": 0, "accepted": 0, "in_conflict": 0})
        row["filed"] += 1
        row["accepted"] += op.id in accepted
        row["in_conflict"] += op.id in noticed
    result: dict[str, Any] = {
        "filed": len(ops),
        "accepted": len(accepted),
        "in_conflict": len(noticed),
        "by_party": dict(sorted(by_party.items())),
    }
    if scope.detailed:
        result["items"] = [
            {
                "id": op.id,
                "party": op.party_id,
                "name": op.name,
                "filed_at": iso(op.created_at),
                "state": op.state,
                "accepted": op.id in accepted,
                "in_conflict": op.id in noticed,
            }
            for op in ops
        ]
    return result


def _requests(session: Session, scope: Scope) -> list[Message]:
    """Deconfliction requests sent up to the period's end (a party's: those its side sent or got)."""
    query = select(Message).where(Message.kind == "deconfliction_request", Message.created_at <= scope.end)
    found = list(session.scalars(query.order_by(Message.created_at, Message.id)))
    if scope.detailed:
        found = [m for m in found if m.sender in scope.side or scope.side & set(m.recipients)]
    return found


def _asked(notice: ConflictNotice, requests: list[Message]) -> bool:
    """Was a request about this notice sent before it was resolved? One naming the notice counts;
    one naming only its operation (from either side) counts if sent while the notice was open."""
    for message in requests:
        if notice.resolved_at is not None and message.created_at > notice.resolved_at:
            break
        refs = {(r.get("type"), r.get("id")) for r in message.references}
        if ("notice", notice.id) in refs:
            return True
        about_operation = ("operation", notice.operation_id) in refs or notice.operation_id in message.subjects.get(
            notice.party_id, []
        )
        if about_operation and message.created_at >= notice.created_at:
            return True
    return False


def _conflicts(session: Session, scope: Scope, requests: list[Message]) -> dict[str, Any]:
    """Notices alive in the period: opened, resolved (and how), still open at its end."""
    query = select(ConflictNotice).where(
        ConflictNotice.created_at <= scope.end,
        or_(ConflictNotice.resolved_at.is_(None), ConflictNotice.resolved_at >= scope.start),
    )
    if scope.detailed:
        query = query.where(ConflictNotice.party_id.in_(scope.side))
    notices = list(session.scalars(query.order_by(ConflictNotice.created_at, ConflictNotice.id)))
    opened = [n for n in notices if scope.during(n.created_at)]
    resolved = [n for n in notices if scope.during(n.resolved_at) and n.resolution in OUTCOMES]
    asked = {n.id for n in resolved if _asked(n, requests)}
    outcomes: dict[str, dict[str, int]] = {}
    for n in resolved:
        row = outcomes.setdefault(OUTCOMES[n.resolution or ""], {"resolved": 0, "after_request": 0})
        row["resolved"] += 1
        row["after_request"] += n.id in asked
    waits = [n.resolved_at - n.created_at for n in resolved if n.resolved_at is not None]
    result: dict[str, Any] = {
        "opened": len(opened),
        "conflicts": sum(1 for n in opened if not (n.resolution == "superseded" and scope.during(n.resolved_at))),
        "superseded": sum(1 for n in notices if scope.during(n.resolved_at) and n.resolution == "superseded"),
        "resolved": len(resolved),
        "by_request": len(asked),
        "open_at_end": sum(1 for n in notices if n.resolved_at is None or n.resolved_at > scope.end),
        "by_kind": dict(sorted(Counter(n.kind for n in opened).items())),
        "outcomes": dict(sorted(outcomes.items())),
        "resolutions": dict(sorted(Counter(n.resolution or "" for n in resolved).items())),
        "median_time_to_resolve_s": round(median(waits), 1) if waits else None,
        "by_party": dict(sorted(Counter(n.party_id for n in opened).items())),
    }
    if scope.detailed:
        result["items"] = [
            {
                "id": n.id,
                "operation": n.operation_id,
                "kind": n.kind,
                "other_party": n.other_party_id,
                "other_ref": n.other_ref,
                "hazard": n.hazard_id,
                "opened_at": iso(n.created_at),
                "resolved_at": iso(n.resolved_at) if n.resolved_at is not None else None,
                "resolution": n.resolution,
                "after_request": n.id in asked,
            }
            for n in notices
        ]
    return result


def _hazards(session: Session, scope: Scope) -> dict[str, Any]:
    """Declared and withdrawn in the period (hazards are public; the admin and auditor get counts)."""
    hazards = list(session.scalars(select(Hazard).order_by(Hazard.created_at, Hazard.id)))
    declared = [h for h in hazards if scope.during(h.created_at)]
    withdrawn = [h for h in hazards if h.state == "withdrawn" and scope.during(h.updated_at)]
    result: dict[str, Any] = {
        "declared": len(declared),
        "withdrawn": len(withdrawn),
        "changed": len(events(session, scope, "hazard.changed")),
        "by_kind": dict(sorted(Counter(h.kind for h in declared).items())),
    }
    if scope.detailed:
        chosen = {h.id for h in declared} | {h.id for h in withdrawn}
        shown = [h for h in hazards if h.id in chosen]
        result["items"] = [
            {
                "id": h.id,
                "kind": h.kind,
                "name": h.name,
                "declared_by": h.party_id,
                "declared_at": iso(h.created_at),
                "withdrawn_at": iso(h.updated_at) if h.state == "withdrawn" else None,
            }
            for h in shown
        ]
    return result


def _agreements(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The versions in force at some time in the period, with who signed them when (the auditor,
    who reads no agreement, gets the versions and the signing times only)."""
    rows = list(
        session.scalars(
            select(AgreementVersion)
            .where(AgreementVersion.in_force_at.is_not(None))
            .order_by(AgreementVersion.version)
            .options(selectinload(AgreementVersion.signatures))
        )
    )
    result = []
    for k, row in enumerate(rows):
        assert row.in_force_at is not None
        until = rows[k + 1].in_force_at if k + 1 < len(rows) else None
        if row.in_force_at > scope.end or (until is not None and until <= scope.start):
            continue
        item: dict[str, Any] = {
            "version": row.version,
            "in_force_from": iso(row.in_force_at),
            "in_force_until": iso(until) if until is not None else None,
            "proposed_at": iso(row.created_at),
            "signatures": [{"party": s.party_id, "signed_at": iso(s.signed_at)} for s in row.signatures],
        }
        if scope.role != "auditor":
            agreement = parse_document(row.document)
            item["title"] = agreement.title
            item["rules"] = {
                "h_strategic_m": agreement.h_strategic_m,
                "v_m": agreement.v_m,
                "time_buffer_s": agreement.time_buffer_s,
                "tactical_h_m": agreement.tactical.h_m,
                "tactical_v_m": agreement.tactical.v_m,
                "lookahead_s": agreement.tactical.lookahead_s,
            }
        result.append(item)
    return result


def _record(line: Line, session: Session, scope: Scope) -> dict[str, Any]:
    """Checkpoints of the period, the record's size, and one consistency proof from the first
    checkpoint at or after the start to the last at or before the end, checked against both
    signed roots."""
    published = list(
        session.scalars(
            select(CheckpointRow)
            .where(CheckpointRow.created_at.between(scope.start, scope.end))
            .order_by(CheckpointRow.size)
        )
    )
    appended = select(func.count()).select_from(RecordEntry).where(RecordEntry.time_s.between(scope.start, scope.end))
    result: dict[str, Any] = {
        "checkpoints": len(published),
        "entries_in_period": session.scalar(appended) or 0,
        "size_at_end": published[-1].size if published else None,
    }
    if scope.detailed:
        readers = session.scalars(select(RecordEntry.readers).where(RecordEntry.time_s.between(scope.start, scope.end)))
        result["entries_readable"] = sum(1 for r in readers if scope.reads(r))
    if not published:
        result["consistency"] = {"checked": False, "detail": "no checkpoint was published in the period"}
        return result
    first, last = published[0], published[-1]
    result["consistency"] = _consistency(line, session, first, last)
    return result


def _consistency(line: Line, session: Session, first: CheckpointRow, last: CheckpointRow) -> dict[str, Any]:
    outcome: dict[str, Any] = {
        "checked": True,
        "first": {"size": first.size, "published_at": iso(first.created_at), "root": first.root},
        "last": {"size": last.size, "published_at": iso(last.created_at), "root": last.root},
    }
    try:
        verifier = parse_verifier_key(record.service_verifier_key(line.record, session))
        roots = []
        for row in (first, last):
            checkpoint = open_checkpoint(row.note, verifier)
            if checkpoint.size != row.size or checkpoint.root.hex() != row.root:
                raise ProofError(f"the signed checkpoint at size {row.size} does not match its stored root")
            roots.append(checkpoint.root)
        line.record.sync(session)
        proof = line.record.tree.consistency_proof(first.size, last.size) if first.size < last.size else []
        verify_consistency(first.size, last.size, roots[0], roots[1], proof)
    except (NoteError, ProofError, ValueError) as exc:
        return {**outcome, "consistent": False, "detail": str(exc)}
    detail = f"tree size {last.size} extends tree size {first.size} (proof of {len(proof)} hashes)"
    return {**outcome, "consistent": True, "proof_hashes": len(proof), "detail": detail}
