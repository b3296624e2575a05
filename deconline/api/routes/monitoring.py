"""For the operator's monitoring: readiness (no token) and Prometheus metrics (admin or auditor)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from deconline.api.deps import ActorDep, LineDep
from deconline.api.metrics import Metrics, readiness
from deconline.api.routing import JsonRoute
from deconline.service import witnesses
from deconline.service.errors import Forbidden

router = APIRouter(tags=["service"], route_class=JsonRoute)


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


@router.get("/readyz", responses={503: {"description": "not ready: the checks say why"}})
def readyz(request: Request, line: LineDep) -> JSONResponse:
    """Readiness, without a token: the database answers, its migrations are current and the live
    evaluator is beating on the leading instance, this one or another (or is switched off). `503`
    with the failing checks otherwise. `leader` says whether this instance (its worker) leads."""
    ready, checks = readiness(line, _metrics(request))
    held = checks["evaluator"].startswith("ok (here)")
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks, "leader": held}
    try:
        witnessed = witnesses.state(line)
    except Exception:  # the database is away: the checks above say so
        witnessed = None
    if witnessed is not None:  # flagged, never a reason to turn traffic away: writes do not wait for witnesses
        body["witnesses"] = {
            "checkpoint": witnessed.size,
            "cosigned": witnessed.cosigners,
            "quorum": witnessed.quorum,
            "status": "ok" if witnessed.met else "short of quorum",
        }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
def metrics(request: Request, actor: ActorDep) -> Response:
    """Prometheus text format, for an admin or auditor token (give Prometheus an auditor token: it
    reads nothing else but the record). Counts and timings only: no party's data."""
    if actor.role not in ("admin", "auditor"):
        raise Forbidden("metrics are for the operator: use an admin or auditor token")
    try:
        body = generate_latest(_metrics(request).registry)
    except Exception:  # the database is away: say so, do not fail the scrape with a 500
        return Response("the database did not answer; try again\n", status_code=503, headers={"Retry-After": "1"})
    return Response(body, media_type=CONTENT_TYPE_LATEST)
