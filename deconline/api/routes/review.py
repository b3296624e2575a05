"""The periodic review's data: what the caller may see of the line over a period."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from deconline.api.deps import ActorDep, LineDep
from deconline.api.routing import JsonRoute
from deconline.service import review

router = APIRouter(prefix="/v1/review", tags=["review"], route_class=JsonRoute)

EXAMPLE = "2036-11-23T06:00:00Z"


@router.get("")
def review_data(
    line: LineDep,
    actor: ActorDep,
    start: Annotated[
        str, Query(alias="from", min_length=1, max_length=64, description=f"ISO 8601 with a zone, e.g. {EXAMPLE}")
    ],
    end: Annotated[str, Query(alias="to", min_length=1, max_length=64, description="ISO 8601 with a zone, after from")],
) -> dict[str, Any]:
    """The data behind the periodic review of `[from, to]` (at most 366 days), as the caller may
    see it: a party its own side's operations and notices, its own aircraft's alerts, its side's
    messages and the public hazards; the admin and the auditor counts and timing only. Render it
    with `deconline review`, or `deconline.report.review_html.render`."""
    start_s, end_s = review.parse_time(start, "from"), review.parse_time(end, "to")
    return review.review_data(line, actor, start_s, end_s)
