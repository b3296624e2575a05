"""Serving the line: ``serve`` (the API, the console and a worker process beside them) and
``worker`` (the periodic duties alone).

Heavy modules are imported inside each command, so that ``deconline --help`` stays quick.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from deconline.cli.common import err, fail, open_line, out, settings

if TYPE_CHECKING:
    from deconline.service.line import Line


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    evaluate_every: Annotated[float, typer.Option(help="seconds between live-picture evaluations (0: off)")] = 1.0,
    checkpoint_every: Annotated[
        float,
        typer.Option(
            help="how often to look for a checkpoint to publish (0: off); the agreement's checkpoint_every_s "
            "(default 1 s) sets how often one is"
        ),
    ] = 1.0,
    quiet: Annotated[bool, typer.Option("--quiet", help="log warnings only (no access log)")] = False,
    log_format: Annotated[
        str, typer.Option(help="text, or json: one JSON object a line with the request id, for log collectors")
    ] = "text",
    demo_feed: Annotated[
        Path | None,
        typer.Option(
            help="also fly the demo's aircraft: each party posts its tracks every second to this server, "
            "with the tokens and keys 'deconline demo --keys-dir DIR' wrote (no access log meanwhile)",
            metavar="DIR",
        ),
    ] = None,
    tile_url: Annotated[
        str | None,
        typer.Option(
            envvar="DECONLINE_TILE_URL",
            help="your site's own XYZ tile server for the console's map, e.g. https://tiles.example/{z}/{x}/{y}.png "
            "(the console's security policy allows that origin; the offline basemap stays the default)",
        ),
    ] = None,
    rate_limit: Annotated[
        str,
        typer.Option(
            envvar="DECONLINE_RATE_LIMIT",
            metavar="RATE[/BURST]|off",
            help="requests a second per API token (per address without one) and how many at once, per instance; "
            "over it: 429 with Retry-After. off: no limit",
        ),
    ] = "50/100",
    worker: Annotated[
        str,
        typer.Option(
            help="where the evaluator, checkpoints and hotline deadlines run: process (a 'deconline worker' "
            "beside this server, started again if it dies), thread (in this process; always so for an "
            "in-memory database) or none (a worker elsewhere runs them)"
        ),
    ] = "process",
    desk: Annotated[
        str,
        typer.Option(
            help="who decides this server's strategic filings: process (on PostgreSQL, a 'deconline desk' beside "
            "this server, which with the desks of the other instances on this host elects one that decides "
            "for them all) or none (this server, always; the only choice on SQLite)"
        ),
    ] = "process",
) -> None:
    """Run the API server and the console (OpenAPI documentation at /docs), with a worker process
    for the line's periodic duties and, on PostgreSQL, a filing desk."""
    from deconline.api.app import create_app
    from deconline.interpreter import settle_heap
    from deconline.service import parties
    from deconline.service.duties import new_instance_id

    if evaluate_every < 0 or checkpoint_every < 0:
        fail("--evaluate-every and --checkpoint-every must be >= 0", 2)
    if log_format not in ("text", "json"):
        fail("--log-format must be text or json", 2)
    if worker not in ("process", "thread", "none"):
        fail("--worker must be process, thread or none", 2)
    if desk not in ("process", "none"):
        fail("--desk must be process or none", 2)
    from deconline.api.console import tile_origin
    from deconline.api.ratelimit import RateLimit
    from deconline.logs import log_config

    try:
        tile_origin(tile_url)
        limit = RateLimit.parse(rate_limit)
    except ValueError as exc:
        fail(str(exc), 2)
    feeders = None
    if demo_feed is not None:
        from deconline.demo_feed import credentials

        try:
            feeders = credentials(demo_feed)
        except ValueError as exc:
            fail(str(exc), 2)
    line = open_line(create=True, evaluate_every_s=evaluate_every, checkpoint_every_s=checkpoint_every)
    admin = parties.initialise(line)
    if admin is not None:
        out.print(f"new database: admin token (shown once): [bold]{admin}[/bold]")
    base = f"http://{host}:{port}"
    out.print(f"deconline on {base}/  (API docs: {base}/docs, database {settings.db_url})", soft_wrap=True)
    log_level = "warning" if quiet else "info"
    logging_config = log_config("json" if log_format == "json" else "text", log_level)
    instance = new_instance_id()
    if worker == "process" and line.db.in_memory:
        worker = "thread"  # a database in memory lives in this process only
    with_desk = desk == "process" and not line.db.is_sqlite
    app = create_app(line, tile_url, limit, duties=worker == "thread", instance=instance, desk=with_desk)
    settle_heap()
    from deconline import worker as worker_process

    log_args = ["--log-format", log_format, *(["--quiet"] if quiet else [])]
    supervised = []
    if worker == "process" and (evaluate_every > 0 or checkpoint_every > 0):
        command = worker_process.command(settings.db_url, instance, evaluate_every, checkpoint_every, log_args)
        supervised.append(worker_process.Supervised(command))
    if with_desk:
        supervised.append(worker_process.Supervised(worker_process.desk_command(settings.db_url, log_args), "desk"))
    for process in supervised:
        process.start()
    try:
        _run(app, host, port, log_level, log_format, logging_config, feeders, line, demo_feed)
    finally:
        for process in supervised:
            process.stop()


def _run(
    app: Any,
    host: str,
    port: int,
    log_level: str,
    log_format: str,
    logging_config: dict[str, Any],
    feeders: Any,
    line: Line,
    demo_feed: Path | None,
) -> None:
    import uvicorn

    from deconline.logs import log_config

    base = f"http://{host}:{port}"
    if feeders is None:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            log_config=logging_config,
            access_log=False,  # deconline.access logs each request, with its id
        )
        return
    from deconline.demo_feed import serve_with_feed

    out.print(f"console: {base}/ (sign in with a party's token and key file)", soft_wrap=True)
    for who in feeders:
        out.print(f"  {who.party:<10} {who.token}  {who.key.resolve()}", soft_wrap=True, markup=False, highlight=False)
    quiet_access = log_config("json" if log_format == "json" else "text", log_level, access=False)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=quiet_access,
        access_log=False,
    )

    def say(message: str) -> None:
        err.print(f"{time.strftime('%H:%M:%S')} {message}", soft_wrap=True, markup=False, highlight=False)

    from deconline import demo_witnesses
    from deconline.demo import PARTIES
    from deconline.service import record

    with line.db.read() as session:
        log_vkey = record.service_verifier_key(line.record, session)
    assert demo_feed is not None  # feeders come from it
    demo_witnesses.start(demo_feed, [p for p, _ in PARTIES], log_vkey, say)
    serve_with_feed(config, feeders, say)


def worker(
    evaluate_every: Annotated[float, typer.Option(help="seconds between live-picture evaluations (0: off)")] = 1.0,
    checkpoint_every: Annotated[
        float, typer.Option(help="how often to look for a checkpoint to publish (0: off)")
    ] = 1.0,
    instance: Annotated[
        str | None, typer.Option(help="the instance this worker serves, as its readiness names it (default: its own)")
    ] = None,
    parent: Annotated[
        int | None, typer.Option(help="stop when this process (the server that started the worker) is gone")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="log warnings only")] = False,
    log_format: Annotated[str, typer.Option(help="text, or json: one JSON object a line")] = "text",
) -> None:
    """Run the line's periodic duties (the live evaluator, checkpoints and their witnesses, the
    hotline's deadlines) without serving requests; of all the workers on a database, one leads and
    the others stand by. 'deconline serve' starts one beside itself."""
    from deconline import worker as worker_process
    from deconline.service.duties import new_instance_id

    if evaluate_every < 0 or checkpoint_every < 0:
        fail("--evaluate-every and --checkpoint-every must be >= 0", 2)
    _log_alone(log_format, quiet)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(settings.db_url)
    except ArgumentError:
        parsed = None  # open_line says what is wrong with it
    if parsed is not None and parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:"):
        fail("a worker needs a database it can share: a file (sqlite:///FILE) or PostgreSQL", 2)
    line = open_line(evaluate_every_s=evaluate_every, checkpoint_every_s=checkpoint_every)
    worker_process.run(line, instance or new_instance_id(), parent)


def desk(
    parent: Annotated[
        int | None, typer.Option(help="stop when this process (the server that started the desk) is gone")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="log warnings only")] = False,
    log_format: Annotated[str, typer.Option(help="text, or json: one JSON object a line")] = "text",
) -> None:
    """Decide the strategic filings of the instances on this host (PostgreSQL): of the desks on a
    host one leads and the others stand by. 'deconline serve' starts one beside itself."""
    from deconline import worker as worker_process

    _log_alone(log_format, quiet)
    line = open_line()
    if line.db.is_sqlite:
        fail("the filing desk is for PostgreSQL: on SQLite each server decides its own filings", 2)
    worker_process.run_desk(line, parent)


def _log_alone(log_format: str, quiet: bool) -> None:
    """Logging for a process that serves no requests (a worker, a desk)."""
    import logging.config

    from deconline.logs import log_config

    if log_format not in ("text", "json"):
        fail("--log-format must be text or json", 2)
    logging.config.dictConfig(log_config("json" if log_format == "json" else "text", "warning" if quiet else "info"))
