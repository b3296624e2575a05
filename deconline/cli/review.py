"""``deconline review``: the periodic review as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console

from deconline.cli.common import api_call, api_client, open_line, settings

# The review's own consoles: its one-line summary and errors are never wrapped or highlighted.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _usage(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", markup=True)
    raise typer.Exit(2)


def review(
    start: Annotated[str, typer.Option("--from", help="start of the period, ISO 8601 with a zone (2036-11-23T00:00Z)")],
    end: Annotated[str, typer.Option("--to", help="end of the period (included), at most 366 days after --from")],
    out_file: Annotated[Path, typer.Option("--out", help="the HTML file to write")] = Path("review.html"),
    party: Annotated[
        str | None, typer.Option(help="on the database: the review as this party sees it (its side, its aircraft)")
    ] = None,
    role: Annotated[
        Literal["admin", "auditor"] | None,
        typer.Option("--as", help="on the database: the admin's or the auditor's review (counts and timing only)"),
    ] = None,
    data_file: Annotated[Path | None, typer.Option("--data", help="also write the review's data here (JSON)")] = None,
) -> None:
    """Write the periodic review of a period as one HTML file that opens offline, with figures.

    Operations and how their conflicts ended, hazards, tactical alerts, the hotline, the agreement, the record.

    Through the API (the default): with --url and --token; the review shows what that token may see.

    On the database (--db), for the operator who holds it, like 'record export': with --party P or --as ROLE.

    --party P shows what P may see through the API; --as admin or --as auditor, counts and timing only.
    """
    import json

    from deconline.report.review_html import render
    from deconline.service.errors import ServiceError
    from deconline.service.review import check_period, parse_time

    if party is not None and role is not None:
        _usage("give --party or --as, not both")
    try:
        start_s, end_s = parse_time(start, "from"), parse_time(end, "to")
        check_period(start_s, end_s)
    except ServiceError as exc:
        _usage(exc.message.replace("'from'", "--from").replace("'to'", "--to"))
    on_database = party is not None or role is not None
    data = _on_database(party, role, start_s, end_s) if on_database else _through_api(start, end)
    try:
        out_file.write_bytes(render(data))
        if data_file is not None:
            data_file.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        _usage(f"cannot write the review: {exc}")
    out.print(f"{out_file}: {summary(data)}", markup=False)


def _through_api(start: str, end: str) -> dict[str, Any]:
    with api_client() as client:  # api_call: a refusal or an unreachable service is one line
        data: dict[str, Any] = api_call(client.review, start, end)
    return data


def _on_database(party: str | None, role: str | None, start_s: float, end_s: float) -> dict[str, Any]:
    from sqlalchemy.exc import SQLAlchemyError

    from deconline.service.actors import Actor
    from deconline.service.errors import ServiceError
    from deconline.service.review import review_data
    from deconline.store.models import Party

    _check_exists(settings.db_url)
    line = open_line()
    try:
        if party is not None:
            with line.db.read() as session:
                found = session.get(Party, party)
                if found is None:
                    _usage(f"no party '{party}' in {settings.db_url}")
                actor = Actor("party", party, found.group)
        else:
            actor = Actor("admin" if role == "admin" else "auditor")
        return review_data(line, actor, start_s, end_s)
    except typer.Exit:
        raise
    except ServiceError as exc:
        _usage(exc.message)
    except (SQLAlchemyError, RuntimeError) as exc:  # unreadable or not initialised: one line, no traceback
        first = (str(exc).splitlines() or [""])[0][:200]
        _usage(f"cannot read the database {settings.db_url}: {type(exc).__name__}: {first}")
    finally:
        line.db.dispose()


def _check_exists(db_url: str) -> None:
    """A review only reads: a SQLite file that is not there is a mistake, not a database to create."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db_url)
    except ArgumentError:
        _usage(f"--db {db_url!r} is not a database URL (sqlite:///FILE or postgresql+psycopg://…)")
    local = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if local and not Path(url.database or "").is_file():
        _usage(f"no database at {url.database} (give --db, or DECONLINE_DB)")


def summary(data: dict[str, Any]) -> str:
    """One line for the terminal: who, when, and the headline numbers."""
    viewer = data["viewer"]
    who = viewer["party"] if viewer["role"] == "party" else viewer["role"]
    ops, conflicts, alerts, hotline = data["operations"], data["conflicts"], data["alerts"], data["hotline"]
    check = data["record"]["consistency"]
    if not check["checked"]:
        record = "no checkpoint in the period"
    else:
        record = "record consistent" if check["consistent"] else "RECORD NOT CONSISTENT"
    return (
        f"review for {who}, {data['period']['from']} to {data['period']['to']}: "
        f"{ops['filed']} operations filed ({ops['in_conflict']} in conflict), {conflicts['resolved']} notices "
        f"resolved, {alerts['raised']} alerts ({alerts['loss_of_separation']} losses of separation), "
        f"{hotline['messages']} messages ({hotline['overdue']} overdue), {record}"
    )
