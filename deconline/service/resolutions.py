"""Coordinated resolution: for a warning between aircraft of two parties, complementary manoeuvres
proposed to both sides on the hotline, each answered (accepted or rejected) in time.

The line sees both aircraft; the two operations centres share no command. When a separation alert
between two parties' aircraft reaches the agreement's highest level, the engine
(``core.resolution``) picks complementary senses that together clear the conflict (one left and one
right, or both right when they meet head-on, as the rules of the air have it; or one up and one
down), checked again before sending, and each party gets a ``resolution`` message:
its own aircraft's manoeuvre and only the *sense* asked of the other side, with the warning's
acknowledgement deadline. A party answers by accepting or rejecting; the other side is told at
once, and is told as soon as the deadline passes unanswered (``hotline.sweep``). All of it is in
the record. Unaffiliated traffic gets no message: its side keeps its guidance.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconline.core.agreement import UNAFFILIATED, Agreement
from deconline.core.guidance import BandRules
from deconline.core.resolution import Manoeuvre, Resolution, clears, resolve
from deconline.core.tactical import Extrapolated
from deconline.service.actors import Actor
from deconline.service.errors import Conflict, NotFound
from deconline.service.geo import iso
from deconline.service.hotline import counterpart, deadline_for, from_service, push
from deconline.service.line import Line, new_id
from deconline.service.statements import Signed
from deconline.store.models import Acknowledgement, Alert, Message

KIND = "resolution"
ANSWERS = {"accept": "accepted", "reject": "rejected"}
_ACTIONS = {"left": "turn_left", "right": "turn_right", "up": "climb", "down": "descend"}


def _deadline(agreement: Agreement) -> float:
    """The warning's acknowledgement deadline: ``resolution``'s if the agreement names one, else
    that of the safety alert the warning raised."""
    deadlines = agreement.ack_deadlines_s
    return deadlines[KIND] if KIND in deadlines else deadline_for(agreement, "safety_alert")


def _wording(m: Manoeuvre) -> str:
    """One's own manoeuvre in words; a vertical sense is relative (TCAS's "upward"): "up" asks a
    descending aircraft to descend less, so the words follow the new rate's sign."""
    if m.axis == "track":
        return f"turn {m.sense} to {m.to % 360:03.0f}° ({m.change:.0f}° {m.sense})"
    fpm = m.to / 0.3048 * 60.0
    if round(fpm) == 0:
        return "level off"
    return f"{'climb' if fpm > 0 else 'descend'} at {abs(fpm):,.0f} ft/min"


def _asked(m: Manoeuvre) -> str:
    """The sense asked of the other side, without its values."""
    return f"turn {m.sense}" if m.axis == "track" else f"go {m.sense} (vertically)"


def _origin(m: Manoeuvre) -> float:
    """The track or vertical speed the manoeuvre starts from."""
    back = m.change if m.sense in ("left", "down") else -m.change
    return (m.to + back) % 360.0 if m.axis == "track" else m.to + back


def _proposal(alert: Alert, own: Manoeuvre, other: Manoeuvre, own_track: str, clear: bool) -> dict[str, Any]:
    return {
        "action": _ACTIONS[own.sense],
        "alert": alert.id,
        "own_track": own_track,
        "manoeuvre": {
            "axis": own.axis,
            "sense": own.sense,
            "from": round(_origin(own), 3),  # the value it was computed from: the aircraft moves on
            "to": round(own.to, 3),
            "change": round(own.change, 3),
        },
        "other_sense": other.sense,
        "clear_of_others": clear,
    }


def _already_proposed(session: Session, alert: Alert) -> bool:
    sent = select(Message.proposal).where(Message.kind == KIND, Message.created_at >= alert.raised_at)
    return any((p or {}).get("alert") == alert.id for p in session.scalars(sent))


def propose(
    line: Line,
    session: Session,
    agreement: Agreement,
    alerts: list[Alert],
    s: Extrapolated,
    where: dict[tuple[str, str], int],
    now: float,
) -> list[Message]:
    """Resolution messages for the warnings among ``alerts`` (separation, two parties, the top level
    or a loss of separation) that have none yet; ``where``: each live aircraft's index in ``s``."""
    if not alerts:
        return []
    top = agreement.alerting_rules.levels[-1].name if agreement.alerting_rules.levels else ""
    t = agreement.tactical
    rules = BandRules(t.h_m, t.v_m, t.lookahead_s)
    sent: list[Message] = []
    for alert in alerts:
        if alert.kind != "separation" or alert.state == "cleared" or UNAFFILIATED in (alert.a_party, alert.b_party):
            continue
        if alert.level != top and not alert.los:
            continue
        a, b = where.get((alert.a_party, alert.a_track)), where.get((alert.b_party, alert.b_track))
        if a is None or b is None or _already_proposed(session, alert):
            continue
        found: Resolution | None = resolve(s, a, b, rules)
        if found is None or not clears(s, a, b, found, rules):
            continue
        sent.extend(_send(line, session, agreement, alert, found, now))
    return sent


def _send(
    line: Line, session: Session, agreement: Agreement, alert: Alert, found: Resolution, now: float
) -> list[Message]:
    deadline = _deadline(agreement)
    sides = (
        (alert.a_party, alert.a_track, found.a, alert.b_party, alert.b_track, found.b),
        (alert.b_party, alert.b_track, found.b, alert.a_party, alert.a_track, found.a),
    )
    ids = [new_id("ms"), new_id("ms")]  # each message names the other: the pair is one proposal
    messages = []
    for k, (party, track, own, other_party, other_track, other) in enumerate(sides):
        text = (
            f"Coordinated resolution, {alert.level.replace('_', ' ')} {track} ↔ {other_party} {other_track}: "
            f"{track} {_wording(own)}; {other_party} is asked to {_asked(other)}. Accept or reject."
        )
        proposal = {**_proposal(alert, own, other, track, found.clear_of_others), "counterpart": ids[1 - k]}
        references = [{"type": "alert", "id": alert.id}]
        messages.append(
            from_service(
                line, session, now, [party], KIND, text, references,
                proposal=proposal, message_id=ids[k], deadline_s=deadline,
            )
        )  # fmt: skip
    push(line, session, messages)
    for message in messages:
        line.emit(session, message.recipients[0], _event(alert.id, message, None, "pending"))
    return messages


def _event(alert_id: str, message: Message, answer: str | None, other: str) -> dict[str, Any]:
    return {"type": KIND, "alert": alert_id, "message": message.id, "answer": answer, "other_answer": other}


def _answer_of(session: Session, message: Message) -> str | None:
    ack = session.get(Acknowledgement, (message.id, message.recipients[0]))
    return ack.answer if ack is not None else None


def _state(session: Session, message: Message) -> str:
    """What a resolution message's recipient has done: pending, accepted, rejected or overdue."""
    answer = _answer_of(session, message)
    if answer is not None:
        return answer
    return "overdue" if message.status == "overdue" else "pending"


def answer(
    line: Line, actor: Actor, message_id: str, choice: Literal["accept", "reject"], signed: Signed | None
) -> Message:
    """Accept or reject one's resolution message (once); the other side is told at once."""
    party = actor.require_party()
    with line.db.write() as session:
        message = session.get(Message, message_id)
        if message is None or party not in message.recipients:
            raise NotFound(f"no message '{message_id}' sent to party '{party}'")
        if message.kind != KIND:
            raise Conflict(f"message '{message_id}' is a {message.kind}: acknowledge it (POST …/ack), not answer it")
        if session.get(Acknowledgement, (message_id, party)) is not None:
            raise Conflict(f"party '{party}' has already answered '{message_id}'")
        now = line.clock()
        answered = ANSWERS[choice]
        session.add(Acknowledgement(message_id=message_id, party_id=party, at=now, answer=answered))
        late = bool(message.deadline_s and now > message.deadline_s)
        message.status = answered
        other = counterpart(session, message)
        readers = [party, *(other.recipients if other is not None else [])]
        event = {"message": message_id, "party": party, "answer": answered, "late": late}
        line.append(session, party, "message.answered", event, readers, signed)
        alert_id = str((message.proposal or {}).get("alert", ""))
        theirs = _state(session, other) if other is not None else "pending"
        line.emit(session, party, _event(alert_id, message, answered, theirs))
        if other is not None:
            line.emit(session, other.recipients[0], _event(alert_id, other, _answer_of(session, other), answered))
    return message


def views(session: Session, viewer: str, alerts: list[Alert]) -> dict[str, dict[str, Any]]:
    """Per alert id: the resolution proposed to ``viewer``, its answer and the other side's."""
    if not alerts:
        return {}
    ids = {a.id for a in alerts}
    oldest = min(a.raised_at for a in alerts)
    found: dict[str, dict[str, Any]] = {}
    for message in session.scalars(select(Message).where(Message.kind == KIND, Message.created_at >= oldest)):
        proposal = message.proposal or {}
        if proposal.get("alert") not in ids or viewer not in message.recipients:
            continue
        other = counterpart(session, message)
        manoeuvre = proposal.get("manoeuvre")
        manoeuvre = manoeuvre if isinstance(manoeuvre, dict) else {}
        found[str(proposal["alert"])] = {
            "message": message.id,
            **manoeuvre,
            "other_sense": proposal.get("other_sense"),
            "clear_of_others": proposal.get("clear_of_others"),
            "deadline": iso(message.deadline_s) if message.deadline_s is not None else None,
            "answer": _answer_of(session, message),
            "other_answer": _state(session, other) if other is not None else "pending",
        }
    return found
