"""The FastAPI application: one per ``Line``, documentation served from local files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DataError, OperationalError

from deconline import __version__
from deconline.api.console import mount_console
from deconline.api.metrics import Metrics, Observed
from deconline.api.ratelimit import DEFAULT_LIMIT, RateLimit, RateLimited
from deconline.api.routes import (
    agreements,
    events,
    hazards,
    hotline,
    monitoring,
    notices,
    operations,
    parties,
    record,
    review,
    tactical,
)
from deconline.api.statements import LineFacts
from deconline.record.envelope import REPLAYED_HEADER
from deconline.service.desk import DeskClient
from deconline.service.duties import Duties, new_instance_id
from deconline.service.errors import Invalid, ServiceError
from deconline.service.line import Line
from deconline.service.relay import EventRelay
from deconline.service.statements import Lost
from deconline.store.loop_reads import LoopReads

log = logging.getLogger("deconline.api")
MAX_BODY_BYTES = 1024 * 1024

DESCRIPTION = """
A deconfliction line for shared airspace. Parties file planned operations as 4D volumes and
learn where they conflict with other parties' operations or declared hazards — and nothing else
about the others. Authenticate with `Authorization: Bearer <token>`.

It carries safety-of-flight information only: there is no field for targets or strike data.
"""


def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    if isinstance(exc, Invalid):
        detail: object = [{"loc": exc.loc, "msg": exc.message, "type": "value_error"}]
    else:
        detail = exc.message
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
    if isinstance(exc, Lost):
        headers[REPLAYED_HEADER] = "true"
    return JSONResponse({"detail": detail}, status_code=exc.status, headers=headers)


def _data_error(_: Request, exc: Exception) -> JSONResponse:
    log.info("rejected a value the database cannot store: %s", exc)
    return JSONResponse(
        {"detail": "a value in the request cannot be stored (for example a NUL character in a text)"},
        status_code=422,
    )


def _busy(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database busy: %s", exc)
    return JSONResponse({"detail": "the database is busy; try again"}, status_code=503, headers={"Retry-After": "1"})


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{k: e[k] for k in ("loc", "msg", "type") if k in e} for e in exc.errors()]
    return JSONResponse({"detail": errors}, status_code=422)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    line: Line = app.state.line
    duties: Duties | None = app.state.duties
    relay = EventRelay(line.db, line.events)
    relay.start()
    if duties is not None:
        duties.start()
    try:
        yield
    finally:
        if duties is not None:
            duties.stop()
        relay.stop()
        line.answers.flush()
        if app.state.loop_reads is not None:
            await app.state.loop_reads.close()


def create_app(
    line: Line,
    tile_url: str | None = None,
    rate_limit: RateLimit | None = DEFAULT_LIMIT,
    duties: bool = True,
    instance: str | None = None,
    desk: bool = False,
) -> FastAPI:
    """``tile_url``: a site's own XYZ tile server the console may load (allowed by its CSP);
    ``rate_limit``: per token, in this process (None: off; see deconline.api.ratelimit);
    ``duties``: run the evaluator, checkpoints and hotline deadlines in this process's threads
    (False: a ``deconline worker`` runs them; ``instance`` names this instance, and its worker);
    ``desk``: send signed filings to the filing desk on this host when one leads (PostgreSQL)."""
    app = FastAPIOffline(
        title="deconline",
        version=__version__,
        description=DESCRIPTION,
        redoc_url=None,
        max_body_size=MAX_BODY_BYTES,
        lifespan=_lifespan,
    )
    app.state.line = line
    app.state.statement_facts = LineFacts()
    app.state.loop_reads = None if line.db.is_sqlite else LoopReads(line.db)
    app.state.instance = instance or new_instance_id()
    app.state.duties = Duties(line, app.state.instance) if duties else None
    app.state.metrics = Metrics(line, app.state.instance)
    reads = app.state.loop_reads
    app.state.desk = app.state.metrics.desk = DeskClient(line, reads) if desk and reads is not None else None
    if rate_limit is not None:  # inside Observed: a 429 gets its request id, access-log line and count
        app.add_middleware(RateLimited, limit=rate_limit, metrics=app.state.metrics)
    app.add_middleware(Observed, metrics=app.state.metrics)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _busy)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: answers without a token."""
        return {"status": "ok", "version": __version__}

    for module in (parties, agreements, operations, notices, hazards, tactical, events, hotline, record, review):
        app.include_router(module.router)
    app.include_router(monitoring.router)
    app.include_router(hotline.health_router)
    app.include_router(hotline.operations_router)
    mount_console(app, tile_url)
    return app
