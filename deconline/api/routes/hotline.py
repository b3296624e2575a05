"""The hotline: send, read and acknowledge signed messages; each party sees only its own."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from deconline.api.deps import ActorDep, LineDep, SubmissionDep
from deconline.api.routing import JsonRoute
from deconline.api.schemas import AnswerIn, MessageIn, NoticeRequest
from deconline.service import hotline, resolutions

router = APIRouter(prefix="/v1/messages", tags=["hotline"], route_class=JsonRoute)


@router.post("", status_code=201)
def send_message(
    body: MessageIn, line: LineDep, actor: ActorDep, signed: SubmissionDep, response: Response
) -> dict[str, Any]:
    """Send a message (signed like every submission); recipients are told on the event stream."""
    actor.require_party()
    message = hotline.send(line, actor, body.model_dump(mode="json"), signed.require())
    response.headers["Location"] = f"/v1/messages/{message.id}"
    return hotline.view(message, [], actor.party_id)


@router.get("")
def list_messages(
    line: LineDep,
    actor: ActorDep,
    box: Literal["in", "out"] = "in",
    status: Literal["sent", "acknowledged", "overdue", "accepted", "rejected"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return hotline.mailbox(line, actor, box, status, limit)


@router.get("/{message_id}")
def get_message(message_id: str, line: LineDep, actor: ActorDep) -> dict[str, Any]:
    return hotline.get(line, actor, message_id)


@router.post("/{message_id}/ack")
def acknowledge(message_id: str, line: LineDep, actor: ActorDep, signed: SubmissionDep) -> dict[str, Any]:
    """Acknowledge a message sent to you (once). Sign the empty object `{}` as the body."""
    message = hotline.acknowledge(line, actor, message_id, signed.require())
    return hotline.get(line, actor, message.id)


@router.post("/{message_id}/answer")
def answer(message_id: str, body: AnswerIn, line: LineDep, actor: ActorDep, signed: SubmissionDep) -> dict[str, Any]:
    """Accept or reject a coordinated `resolution` sent to you (once; it is answered, not
    acknowledged); the other side is told at once. Signed like every submission."""
    message = resolutions.answer(line, actor, message_id, body.answer, signed.require())
    return hotline.get(line, actor, message.id)


health_router = APIRouter(prefix="/v1/line", tags=["hotline"], route_class=JsonRoute)


@health_router.get("/health")
def line_health(line: LineDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Per party: last answer to a communications check, median and worst delay over a day, missed checks."""
    return hotline.line_health(line, actor)


operations_router = APIRouter(prefix="/v1/operations", tags=["hotline"], route_class=JsonRoute)


@operations_router.get("/{op_id}/messages")
def operation_messages(op_id: str, line: LineDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Every hotline message about this operation of yours (requests, answers), oldest first."""
    return hotline.about_operation(line, actor, op_id)


@operations_router.post("/{op_id}/notices/{notice_id}/request", status_code=201)
def request_from_notice(
    op_id: str, notice_id: str, body: NoticeRequest, line: LineDep, actor: ActorDep, signed: SubmissionDep
) -> dict[str, Any]:
    """In one call, ask the other party of a conflict notice to deconflict (a signed request)."""
    message = hotline.request_from_notice(line, actor, op_id, notice_id, body.model_dump(mode="json"), signed.require())
    return hotline.view(message, [], actor.party_id)
