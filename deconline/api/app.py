"""The FastAPI application: one per ``Line``, documentation served from local files."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DataError, OperationalError

from deconline import __version__
from deconline.api.routes import agreements, hazards, operations, parties, tactical
from deconline.service import tactical as tactical_service
from deconline.service.errors import Invalid, ServiceError
from deconline.service.line import Line

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
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
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


def _evaluator(line: Line, stop: threading.Event) -> None:
    """Evaluate the live picture every ``line.evaluate_every_s`` until told to stop."""
    while not stop.wait(line.evaluate_every_s):
        try:
            tactical_service.evaluate(line)
        except Exception:  # one bad cycle must not end live alerting
            log.exception("tactical evaluation failed; trying again next cycle")


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    line: Line = app.state.line
    stop = threading.Event()
    worker = None
    if line.evaluate_every_s > 0:
        worker = threading.Thread(target=_evaluator, args=(line, stop), name="tactical-evaluator", daemon=True)
        worker.start()
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)


def create_app(line: Line) -> FastAPI:
    app = FastAPIOffline(
        title="deconline",
        version=__version__,
        description=DESCRIPTION,
        redoc_url=None,
        max_body_size=MAX_BODY_BYTES,
        lifespan=_lifespan,
    )
    app.state.line = line
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(OperationalError, _busy)
    app.add_exception_handler(RequestValidationError, _validation_error)

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: answers without a token."""
        return {"status": "ok", "version": __version__}

    for module in (parties, agreements, operations, hazards, tactical):
        app.include_router(module.router)
    return app
