"""Operations: file, list, read, revise, check again, change state. Only one's own side's are visible."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from deconline.api.convert import operation_out, to_volumes
from deconline.api.deps import ActorDep, LineDep, SubmissionDep
from deconline.api.routing import JsonRoute
from deconline.api.schemas import OperationIn, OperationOut, OperationRevision, StateChange, VersionRef
from deconline.service import operations
from deconline.service.desk import DeskClient
from deconline.service.operations import Draft

router = APIRouter(prefix="/v1/operations", tags=["operations"], route_class=JsonRoute)


@router.post("", status_code=201, response_model=OperationOut)
async def file_operation(
    body: OperationIn, line: LineDep, actor: ActorDep, signed: SubmissionDep, request: Request
) -> Response:
    """File an operation. It is `accepted` when it conflicts with nothing, else `proposed` with notices
    that tell only the other party, an opaque reference and the part of *your own* volume in conflict."""
    actor.require_party()
    draft = Draft(to_volumes(body.volumes, line.limits), body.name)
    statement = signed.require()
    # Decided by the filing desk if one leads on this host, from this event loop; a signed filing
    # only: should the desk fail after deciding, its nonce keeps this instance from deciding it twice.
    desk: DeskClient | None = request.app.state.desk
    op = await desk.file(actor, draft, statement) if desk is not None and statement is not None else None
    if op is None:
        op = await run_in_threadpool(operations.file, line, actor, draft, statement)
    # The model serialised here: the hot path's answer needs no second validation.
    return Response(
        operation_out(op).model_dump_json(),
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/v1/operations/{op.id}"},
    )


@router.get("", response_model=list[OperationOut])
def list_operations(
    line: LineDep,
    actor: ActorDep,
    state: Literal["proposed", "accepted", "active", "ended", "cancelled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[OperationOut]:
    """Your operations and your group's."""
    return [operation_out(op) for op in operations.list_visible(line, actor, state, limit, offset)]


@router.get("/{op_id}", response_model=OperationOut)
def get_operation(op_id: str, line: LineDep, actor: ActorDep) -> OperationOut:
    return operation_out(operations.get(line, actor, op_id))


@router.put("/{op_id}", response_model=OperationOut)
def revise_operation(
    op_id: str, body: OperationRevision, line: LineDep, actor: ActorDep, signed: SubmissionDep
) -> OperationOut:
    """Replace the volumes of a proposed or accepted operation; `version` must be the latest (else 409)."""
    actor.require_party()
    draft = Draft(to_volumes(body.volumes, line.limits), body.name)
    return operation_out(operations.revise(line, actor, op_id, body.version, draft, signed.require()))


@router.post("/{op_id}/check", response_model=OperationOut)
def check_operation(
    op_id: str, body: VersionRef, line: LineDep, actor: ActorDep, signed: SubmissionDep
) -> OperationOut:
    """Check a proposed operation again and accept it if it no longer conflicts."""
    return operation_out(operations.check(line, actor, op_id, body.version, signed.require()))


@router.post("/{op_id}/state", response_model=OperationOut)
def change_state(op_id: str, body: StateChange, line: LineDep, actor: ActorDep, signed: SubmissionDep) -> OperationOut:
    """proposed → accepted (only if clear) → active → ended; any of the first three → cancelled."""
    return operation_out(operations.change_state(line, actor, op_id, body.version, body.state, signed.require()))
