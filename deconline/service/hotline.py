"""The hotline: signed messages between parties, acknowledged in time, all in the record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnExpressionArgument, select
from sqlalchemy.orm import Session

from deconline.core.agreement import UNAFFILIATED, Agreement
from deconline.service.actors import Actor, own_side
from deconline.service.errors import Conflict, Forbidden, Invalid, NotFound
from deconline.service.geo import iso
from deconline.service.line import Line, new_id
from deconline.service.rules import in_force
from deconline.service.statements import Signed
from deconline.store.models import Acknowledgement, Alert, ConflictNotice, Message, Operation, Party

DEFAULT_DEADLINE_S = 300.0


def _recipients(session: Session, sender: str, names: list[str]) -> list[str]:
    parties: set[str] = set()
    for k, name in enumerate(names):
        if name.startswith("group:"):
            members = set(session.scalars(select(Party.id).where(Party.group == name[6:])))
            if not members:
                raise Invalid(["body", "recipients", k], f"no group '{name[6:]}'")
            parties |= members
        elif session.get(Party, name) is None:
            raise Invalid(["body", "recipients", k], f"no party '{name}' on this line")
        else:
            parties.add(name)
    parties.discard(sender)
    if not parties:
        raise Invalid(["body", "recipients"], "a message needs at least one recipient other than the sender")
    return sorted(parties)


def _check_reference(
    session: Session, actor: Actor, k: int, ref: dict[str, str], subjects: dict[str, set[str]]
) -> None:
    """One may refer only to what one may see: one's own operations and notices, one's alerts, messages.

    ``subjects`` collects, per party, its own operations the message concerns: a notice concerns the
    filer's operation and the other party's (which only that party will be shown)."""
    assert actor.party_id is not None
    side = own_side(session, actor.party_id, actor.group)
    kind, ref_id = ref["type"], ref["id"]
    visible = False
    if kind == "operation":
        op = session.get(Operation, ref_id)
        visible = op is not None and op.party_id == actor.party_id
        if op is not None and visible:
            subjects.setdefault(op.party_id, set()).add(op.id)
    elif kind == "notice":
        notice = session.get(ConflictNotice, ref_id)
        op = session.get(Operation, notice.operation_id) if notice else None
        visible = op is not None and op.party_id in side
        if notice is not None and op is not None and visible:
            subjects.setdefault(op.party_id, set()).add(op.id)
            if notice.other_operation_id and notice.other_party_id:
                subjects.setdefault(notice.other_party_id, set()).add(notice.other_operation_id)
    elif kind == "alert":
        alert = session.get(Alert, ref_id)
        visible = alert is not None and actor.party_id in (alert.a_party, alert.b_party)
    else:
        message = session.get(Message, ref_id)
        visible = message is not None and (message.sender in side or bool(side & set(message.recipients)))
        if message is not None and visible:
            for party, ops in message.subjects.items():
                subjects.setdefault(party, set()).update(ops)
    if not visible:
        raise Invalid(["body", "references", k], f"no {kind} '{ref_id}' of yours to refer to")


def send(line: Line, actor: Actor, body: dict[str, Any], signed: Signed | None) -> Message:
    sender = actor.require_party()
    with line.db.write() as session:
        recipients = _recipients(session, sender, body["recipients"])
        subjects: dict[str, set[str]] = {}
        for k, ref in enumerate(body["references"]):
            _check_reference(session, actor, k, ref, subjects)
        now = line.clock()
        deadline = deadline_for(in_force(session), body["kind"])
        message = Message(
            id=new_id("ms"),
            sender=sender,
            recipients=recipients,
            kind=body["kind"],
            references=body["references"],
            proposal=body.get("proposal"),
            subjects={party: sorted(ops) for party, ops in subjects.items()},
            text=body["text"],
            requires_ack=body["requires_ack"],
            deadline_s=now + deadline if body["requires_ack"] else None,
            status="sent",
            created_at=now,
        )
        session.add(message)
        session.flush()
        line.append(session, sender, "message.sent", {"message": view(message, [])}, [sender, *recipients], signed)
        push(line, session, [message])
    return message


def request_from_notice(
    line: Line, actor: Actor, op_id: str, notice_id: str, body: dict[str, Any], signed: Signed | None
) -> Message:
    """A ``deconfliction_request`` to the other party of one's own notice, referring to both."""
    party = actor.require_party()
    with line.db.read() as session:
        notice = session.get(ConflictNotice, notice_id)
        op = session.get(Operation, op_id)
        if op is None or op.party_id != party or notice is None or notice.operation_id != op_id:
            raise NotFound(f"no notice '{notice_id}' on an operation '{op_id}' of yours")
        if notice.other_operation_id is None or not notice.other_party_id:
            raise Conflict("a hazard notice has no other party to ask: talk to whoever declared it")
        if notice.state != "open":
            raise Conflict(f"notice '{notice_id}' is resolved ({notice.resolution}): there is nothing left to ask")
        other = notice.other_party_id
    message = {
        "recipients": [other],
        "kind": "deconfliction_request",
        "references": [{"type": "operation", "id": op_id}, {"type": "notice", "id": notice_id}],
        "proposal": body.get("proposal"),
        "text": body.get("text", ""),
        "requires_ack": True,
    }
    return send(line, actor, message, signed)


def _visible(session: Session, actor: Actor, message_id: str) -> Message:
    party = actor.require_party()
    message = session.get(Message, message_id)
    side = own_side(session, party, actor.group)
    if message is None or not (message.sender in side or side & set(message.recipients)):
        raise NotFound(f"no message '{message_id}' visible to party '{party}'")
    return message


def acknowledge(line: Line, actor: Actor, message_id: str, signed: Signed | None) -> Message:
    party = actor.require_party()
    with line.db.write() as session:
        message = _visible(session, actor, message_id)
        if party not in message.recipients:
            raise Forbidden("only a recipient can acknowledge a message")
        if message.kind == "resolution":
            raise Conflict(f"a resolution is answered, not acknowledged: POST /v1/messages/{message_id}/answer")
        if session.get(Acknowledgement, (message_id, party)) is not None:
            raise Conflict(f"party '{party}' has already acknowledged '{message_id}'")
        now = line.clock()
        session.add(Acknowledgement(message_id=message_id, party_id=party, at=now))
        session.flush()
        acks = list(session.scalars(select(Acknowledgement).where(Acknowledgement.message_id == message_id)))
        if {a.party_id for a in acks} >= set(message.recipients):
            message.status = "acknowledged"
        event = {"message": message_id, "party": party, "late": bool(message.deadline_s and now > message.deadline_s)}
        line.append(session, party, "message.acknowledged", event, [message.sender, *message.recipients], signed)
        if message.sender != SERVICE:
            line.emit(session, message.sender, {"type": "acknowledgement", "message": view(message, acks)})
    return message


def view(message: Message, acks: list[Acknowledgement], viewer: str | None = None) -> dict[str, Any]:
    """``your_operations``: the viewer's own operations this message concerns (nobody else's)."""
    return {
        "your_operations": message.subjects.get(viewer, []) if viewer else [],
        "id": message.id,
        "sender": message.sender,
        "recipients": message.recipients,
        "kind": message.kind,
        "references": message.references,
        "proposal": message.proposal,
        "text": message.text,
        "requires_ack": message.requires_ack,
        "deadline": iso(message.deadline_s) if message.deadline_s is not None else None,
        "status": message.status,
        "acknowledged_by": {a.party_id: iso(a.at) for a in acks},
        "answers": {a.party_id: a.answer for a in acks if a.answer is not None},  # a resolution's
        "sent_at": iso(message.created_at),
    }


def get(line: Line, actor: Actor, message_id: str) -> dict[str, Any]:
    with line.db.read() as session:
        message = _visible(session, actor, message_id)
        acks = list(session.scalars(select(Acknowledgement).where(Acknowledgement.message_id == message_id)))
        return view(message, acks, actor.party_id)


def mailbox(line: Line, actor: Actor, box: str, status: str | None, limit: int) -> list[dict[str, Any]]:
    """``in``: messages to one's side; ``out``: messages from it."""
    party = actor.require_party()
    with line.db.read() as session:
        side = own_side(session, party, actor.group)
        messages = list(session.scalars(select(Message).order_by(Message.created_at.desc(), Message.id)))
        chosen = [
            m
            for m in messages
            if (m.sender in side if box == "out" else bool(side & set(m.recipients)))
            and (status is None or m.status == status)
        ][:limit]
        ids = [m.id for m in chosen]
        acks: dict[str, list[Acknowledgement]] = {}
        for ack in session.scalars(select(Acknowledgement).where(Acknowledgement.message_id.in_(ids))):
            acks.setdefault(ack.message_id, []).append(ack)
        return [view(m, acks.get(m.id, []), party) for m in chosen]


def about_operation(line: Line, actor: Actor, op_id: str) -> list[dict[str, Any]]:
    """The exchange about one's own operation, traceable from either side's operation."""
    party = actor.require_party()
    with line.db.read() as session:
        op = session.get(Operation, op_id)
        if op is None or op.party_id not in own_side(session, party, actor.group):
            raise NotFound(f"no operation '{op_id}' visible to party '{party}'")
        messages = [
            m
            for m in session.scalars(select(Message).order_by(Message.created_at, Message.id))
            if op_id in m.subjects.get(op.party_id, [])
        ]
        return [view(m, [], op.party_id if op.party_id == party else None) for m in messages]


# --- deadlines, escalation and communications checks -------------------------------------------

SERVICE = "service"


def past_deadline(now: float) -> tuple[ColumnExpressionArgument[bool], ...]:
    """Still unacknowledged after its deadline: the conditions the index ``ix_messages_awaiting_ack``
    serves, written as it expects them."""
    return (Message.status == "sent", Message.requires_ack, Message.deadline_s < now)


def sweep(line: Line, now: float | None = None) -> list[Message]:
    """Mark unacknowledged messages past their deadline ``overdue``; tell the sender and escalate."""
    now = line.clock() if now is None else now
    overdue = select(Message.id).where(*past_deadline(now))
    with line.db.read() as session:  # most seconds nothing is late: no need to take the write lock
        if session.scalar(overdue.limit(1)) is None:
            return []
    with line.db.write() as session:
        late = list(session.scalars(select(Message).where(*past_deadline(now))))
        agreement = in_force(session)
        escalation = agreement.escalation if agreement else {}
        notices: list[tuple[str, dict[str, Any]]] = []
        for message in late:
            acked = {
                a.party_id
                for a in session.scalars(select(Acknowledgement).where(Acknowledgement.message_id == message.id))
            }
            silent = [p for p in message.recipients if p not in acked]
            message.status = "overdue"
            event = {"message": message.id, "silent": silent}
            readers = [*([message.sender] if message.sender != SERVICE else []), *message.recipients]
            other = counterpart(session, message) if message.kind == "resolution" else None
            if other is not None:  # a coordinated resolution: the other side is told at once
                readers += other.recipients
                ack = session.get(Acknowledgement, (other.id, other.recipients[0]))
                alert_id = (message.proposal or {}).get("alert")
                answer = ack.answer if ack is not None else None
                notices.append(
                    (
                        other.recipients[0],
                        {"type": "resolution", "alert": alert_id, "message": other.id, "answer": answer}
                        | {"other_answer": "overdue"},
                    )
                )
            line.append(session, SERVICE, "message.overdue", event, readers)
            notices.append((message.sender, {"type": "overdue", "message": message.id, "silent": silent}))
            for party in silent:
                contact = escalation.get(party)
                if contact:
                    notices.append((contact, {"type": "escalation", "message": message.id, "silent": party}))
        for party, event in notices:
            if party != SERVICE:
                line.emit(session, party, event)
    return late


def counterpart(session: Session, message: Message) -> Message | None:
    """The other side's message of a coordinated ``resolution`` (the pair is sent together)."""
    other = (message.proposal or {}).get("counterpart")
    return session.get(Message, other) if isinstance(other, str) else None


def deadline_for(agreement: Agreement | None, kind: str) -> float:
    deadlines = agreement.ack_deadlines_s if agreement else {}
    return deadlines.get(kind, deadlines.get("default", DEFAULT_DEADLINE_S))


def from_service(
    line: Line,
    session: Session,
    now: float,
    recipients: list[str],
    kind: str,
    text: str,
    references: list[dict[str, str]],
    subjects: dict[str, list[str]] | None = None,
    agreement: Agreement | None = None,
    proposal: dict[str, Any] | None = None,
    message_id: str | None = None,
    deadline_s: float | None = None,
) -> Message:
    """A message the service itself sends (comm checks, safety alerts, conflict notices, resolutions),
    recorded in the caller's transaction exactly as sent; ``agreement``: the one in force, if the
    caller has read it already; ``deadline_s``: after ``now``, else the agreement's for ``kind``."""
    if deadline_s is None:
        deadline_s = deadline_for(agreement if agreement is not None else in_force(session), kind)
    message = Message(
        id=message_id or new_id("ms"),
        sender=SERVICE,
        recipients=sorted(set(recipients)),
        kind=kind,
        references=references,
        proposal=proposal,
        subjects=subjects or {},
        text=text,
        requires_ack=True,
        deadline_s=now + deadline_s,
        status="sent",
        created_at=now,
    )
    session.add(message)  # written by the next flush: the commit's, for a batch's messages together
    line.append(session, SERVICE, "message.sent", {"message": view(message, [])}, message.recipients)
    return message


_CAUSES = {
    "operation.filed": "an operation filed by {others} conflicts with",
    "operation.revised": "an operation revised by {others} conflicts with",
    "operation.checked": "an operation checked again by {others} conflicts with",
    "hazard.declared": "a hazard declared by {others} covers",
    "hazard.changed": "a hazard changed by {others} now covers",
    "agreement.in_force": "under the agreement now in force, {others} conflicts with",
}
NOTICE_REFERENCES = 20  # a message names at most this many notices; the rest are in GET /v1/notices


def notices_message(
    line: Line,
    session: Session,
    party: str,
    notices: list[ConflictNotice],
    cause: str,
    agreement: Agreement | None = None,
) -> Message:
    """Tell ``party`` on the hotline of new conflicts of its own operations that another's change
    caused, so it can start the conversation: the notices and its operations, nothing more."""
    others = sorted({n.other_party_id or n.hazard_id or "the admin" for n in notices})
    operations = sorted({n.operation_id for n in notices})
    what = _CAUSES.get(cause, "{others} conflicts with").format(others=", ".join(others))
    text = (
        f"Conflict notice: {what} your operation{'s' if len(operations) > 1 else ''} "
        f"{', '.join(operations[:5])}{' …' if len(operations) > 5 else ''} ({len(notices)} "
        f"notice{'s' if len(notices) > 1 else ''}). Revise, or talk to the other party with a deconfliction request."
    )
    references = [{"type": "notice", "id": n.id} for n in notices[:NOTICE_REFERENCES]]
    subjects = {party: operations}
    message = from_service(line, session, line.clock(), [party], "notice", text, references, subjects, agreement)
    push(line, session, [message])
    return message


def push(line: Line, session: Session, messages: list[Message]) -> None:
    for message in messages:
        for party in message.recipients:
            line.emit(session, party, {"type": "message", "message": view(message, [], party)})


def _due(session: Session, agreement: Agreement, now: float) -> bool:
    last = session.scalar(
        select(Message.created_at).where(Message.kind == "comm_check").order_by(Message.created_at.desc()).limit(1)
    )
    return last is None or now - last >= agreement.comm_check_interval_s


def _comm_check_due(line: Line, now: float) -> bool:
    """Checked in a read transaction first, so the write lock is taken only when a check is due."""
    with line.db.read() as session:
        agreement = in_force(session)
        return agreement is not None and _due(session, agreement, now)


def comm_check(line: Line, now: float | None = None, force: bool = False) -> Message | None:
    """Send a ``comm_check`` to every party when the agreement's interval has passed since the last."""
    now = line.clock() if now is None else now
    if not force and not _comm_check_due(line, now):
        return None
    with line.db.write() as session:
        agreement = in_force(session)
        if agreement is None:
            return None
        if not force and not _due(session, agreement, now):
            return None  # another process sent it meanwhile
        text = "Communications check: acknowledge this message."
        message = from_service(line, session, now, list(agreement.parties), "comm_check", text, [])
        push(line, session, [message])
    return message


def safety_alerts(line: Line, alerts: list[Alert]) -> list[Message]:
    """The service tells both parties of each newly raised separation alert, on the hotline (the one
    party, when the other aircraft is unaffiliated)."""
    raised = [a for a in alerts if a.state == "raised" and a.kind == "separation"]
    if not raised:
        return []
    with line.db.write() as session:
        now = line.clock()
        sent = [
            from_service(
                line,
                session,
                now,
                [p for p in (alert.a_party, alert.b_party) if p != UNAFFILIATED],  # no one to tell there
                "safety_alert",
                f"{alert.level}: {alert.a_party} {alert.a_track} and {alert.b_party} {alert.b_track}, "
                f"loss of separation in {alert.t_los:.0f} s",
                [{"type": "alert", "id": alert.id}],
            )
            for alert in raised
        ]
        push(line, session, sent)
    return sent


def line_health(line: Line, actor: Actor, now: float | None = None, window_s: float = 86_400.0) -> list[dict[str, Any]]:
    """Per party: the last answer to a comm check, median and worst delay over the window, missed checks."""
    if actor.role == "auditor":
        raise Forbidden("an auditor token reads the record only")
    now = line.clock() if now is None else now
    with line.db.read() as session:
        checks = list(
            session.scalars(select(Message).where(Message.kind == "comm_check", Message.created_at >= now - window_s))
        )
        acks = {
            (a.message_id, a.party_id): a.at
            for a in session.scalars(
                select(Acknowledgement).where(Acknowledgement.message_id.in_([c.id for c in checks]))
            )
        }
        parties = sorted(set(session.scalars(select(Party.id))))
    health = []
    for party in parties:
        delays = sorted(acks[(c.id, party)] - c.created_at for c in checks if (c.id, party) in acks)
        answered = [acks[(c.id, party)] for c in checks if (c.id, party) in acks]
        missed = sum(
            1 for c in checks if party in c.recipients and (c.id, party) not in acks and (c.deadline_s or now) < now
        )
        health.append(
            {
                "party": party,
                "checks": sum(1 for c in checks if party in c.recipients),
                "last_answer": iso(max(answered)) if answered else None,
                "median_delay_s": round(delays[len(delays) // 2], 1) if delays else None,
                "worst_delay_s": round(delays[-1], 1) if delays else None,
                "missed": missed,
            }
        )
    return health
