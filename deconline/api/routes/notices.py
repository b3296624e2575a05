"""Conflict notices of one's own side's operations: open ones, and the history of resolved ones."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from deconline.api.convert import notice_out
from deconline.api.deps import ActorDep, LineDep
from deconline.api.routing import JsonRoute
from deconline.api.schemas import NoticeOut
from deconline.service import notices

router = APIRouter(prefix="/v1/notices", tags=["operations"], route_class=JsonRoute)


@router.get("", response_model=list[NoticeOut])
def list_notices(
    line: LineDep,
    actor: ActorDep,
    state: Literal["open", "resolved"] | None = None,
    operation: Annotated[str | None, Query(max_length=40, description="only notices about this operation")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[NoticeOut]:
    """Notices about your operations and your group's, oldest first: each is `open` until its cause
    goes away (the other operation revised clear, cancelled or ended, the hazard changed or
    withdrawn, new rules), then `resolved` with the reason. An operation shows only its open ones."""
    return [notice_out(n) for n in notices.list_visible(line, actor, state, operation, limit, offset)]
