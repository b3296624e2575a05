"""The FastAPI application: one per ``Line``, documentation served from local files."""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
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
from deconline.client import REPLAYED_HEADER
from deconline.service import events as events_service
from deconline.service import hotline as hotline_service
from deconline.service import leader
from deconline.service import record as record_service
from deconline.service import statements as statements_service
from deconline.service import tactical as tactical_service
from deconline.service import witnesses as witnesses_service
from deconline.service.errors import Invalid, ServiceError
from deconline.service.line import Line
from deconline.service.relay import EventRelay
from deconline.service.statements import Lost

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


def _every(period_s: float, work: Callable[[], object], what: str, stop: threading.Event) -> None:
    """Run ``work`` now and then every ``period_s`` (start to start) until told to stop. A run that
    takes longer is followed at once by the next, and the beats it missed are dropped, never
    queued. One failure must not end the loop."""
    next_at = time.monotonic()
    while not stop.wait(max(0.0, next_at - time.monotonic())):
        started = time.monotonic()
        try:
            work()
        except Exception:
            log.exception("%s failed; trying again next cycle", what)
        next_at = max(started + period_s, time.monotonic())


def _publish_checkpoint(line: Line, witnesses: witnesses_service.Witnesses) -> None:
    """A checkpoint when one is due (the agreement's ``checkpoint_every_s`` after the last, 1 s by
    default; the loop's own period is a floor), the old events and statements pruned, then the
    witnesses asked to cosign it."""
    with line.db.write() as session:
        if witnesses_service.checkpoint_due(session, line.clock()):
            record_service.publish_checkpoint(line.record, session, line.clock())
        events_service.prune(session, line.clock() - line.event_retention_s)
        statements_service.prune(session, line.clock() - statements_service.RETENTION_S)
    witnesses_service.collect(line, witnesses)  # after the commit: a witness never holds up a write


OVERRUN_WARNING_EVERY_S = 60.0


def _evaluate(line: Line, metrics: Metrics, warned: list[float]) -> None:
    started = time.perf_counter()
    tactical_service.evaluate(line)
    took = time.perf_counter() - started
    if metrics.evaluated(took, line.evaluate_every_s) and time.monotonic() - warned[0] >= OVERRUN_WARNING_EVERY_S:
        warned[0] = time.monotonic()
        log.warning(
            "tactical evaluation took %.2f s, longer than its period of %.2f s: alerts come late "
            "(deconline_evaluation_overruns_total counts every such cycle)",
            took,
            line.evaluate_every_s,
        )
    leader.beat(line.db, time.time())


def _led(leadership: leader.Leadership, work: Callable[[], object]) -> Callable[[], object]:
    """``work`` on the leading instance only: the others stand by."""
    return lambda: work() if leadership.held else None


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    line: Line = app.state.line
    metrics: Metrics = app.state.metrics
    leadership: leader.Leadership = app.state.leadership
    witnesses: witnesses_service.Witnesses = app.state.witnesses
    stop = threading.Event()
    warned = [-math.inf]  # when an overrun was last logged
    loops = [
        (line.evaluate_every_s, _led(leadership, lambda: _evaluate(line, metrics, warned)), "tactical evaluation"),
        (line.checkpoint_every_s, _led(leadership, lambda: _publish_checkpoint(line, witnesses)), "checkpoints"),
        (line.evaluate_every_s, _led(leadership, lambda: hotline_service.tick(line)), "hotline deadlines and checks"),
    ]
    workers = [
        threading.Thread(target=_every, args=(period, work, what, stop), name=what, daemon=True)
        for period, work, what in loops
        if period > 0
    ]
    if workers:
        leadership.hold()  # before the first beat, so a lone instance leads at once
        workers.append(
            threading.Thread(
                target=_every, args=(leader.HOLD_EVERY_S, leadership.hold, "leadership", stop), daemon=True
            )
        )
    relay = EventRelay(line.db, line.events)
    relay.start()
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=10)
        relay.stop()
        line.answers.flush()
        witnesses.close()
        leadership.release()


def settle_heap() -> None:
    """Put what start-up built (modules, the app and its schemas: some 150,000 objects that live as
    long as the process) out of the cyclic collector's sight. Scanning them again in every full
    collection held the interpreter for ~70 ms at a time, in the middle of whatever batch or
    evaluation cycle allocated the object that triggered it; an evaluation of 10,000 aircraft took
    137 ms with them scanned and 71 ms without."""
    gc.collect()
    gc.freeze()


def create_app(line: Line, tile_url: str | None = None, rate_limit: RateLimit | None = DEFAULT_LIMIT) -> FastAPI:
    """``tile_url``: a site's own XYZ tile server the console may load (allowed by its CSP);
    ``rate_limit``: per token, in this process (None: off; see deconline.api.ratelimit)."""
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
    app.state.witnesses = witnesses_service.Witnesses()
    app.state.leadership = leader.Leadership(line.db)
    app.state.metrics = Metrics(line, app.state.leadership)
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
