"""What every ``deconline`` command shares: the global options, the consoles, failing, the API client.

Kept cheap on purpose: only the standard library, typer and rich at import time, so that
``deconline --help`` and the offline commands do not pay for FastAPI, SQLAlchemy, numpy or httpx.
The client, the database and YAML are imported when a command first asks for them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

if TYPE_CHECKING:
    from deconline.client import Client
    from deconline.service.line import Line
    from deconline.store.db import Database

DEFAULT_DB_URL = "sqlite:///deconline.db"
"""``deconline.store.db.DEFAULT_URL``, repeated so that the global options need no SQLAlchemy (a test
keeps the two equal)."""

DEFAULT_SERVICE_URL = "http://127.0.0.1:8000"

# Exit codes (README, "Exit codes"): 0 done; FAILED, the operation failed: the service refused it,
# the service or the database cannot be reached, a bundle does not verify; USAGE, the command
# cannot run as given: options, arguments, an unreadable or malformed file, no token, no database.
FAILED = 1
USAGE = 2

out = Console()
err = Console(stderr=True)


class Settings:
    """The global options, set by :func:`global_options` before any command runs."""

    db_url: str = DEFAULT_DB_URL
    url: str = DEFAULT_SERVICE_URL
    token: str | None = None
    key: Path | None = None
    debug: bool = False


settings = Settings()


def global_options(
    db: Annotated[
        str, typer.Option(envvar="DECONLINE_DB", help="database URL (sqlite:///FILE or postgresql://…)")
    ] = DEFAULT_DB_URL,
    url: Annotated[str, typer.Option(envvar="DECONLINE_URL", help="service URL for API commands")] = (
        DEFAULT_SERVICE_URL
    ),
    token: Annotated[str | None, typer.Option(envvar="DECONLINE_TOKEN", help="API token for API commands")] = None,
    key: Annotated[
        Path | None, typer.Option(envvar="DECONLINE_KEY", help="your party's private key: signs what you submit")
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="DECONLINE_DEBUG", help="on an error, show the Python traceback")
    ] = False,
) -> None:
    """Keep the global options for the command that runs (the app's own help text is what --help shows)."""
    settings.db_url, settings.url, settings.token, settings.key = db, url, token, key
    settings.debug = debug


def fail(message: str, code: int = FAILED) -> NoReturn:
    """One red line on stderr (never wrapped: the terminal does that), then exit with ``code``."""
    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


def one_line(text: object, limit: int = 300) -> str:
    """An exception's message as one line: YAML's and SQLAlchemy's run over several."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def explain(exc: BaseException) -> tuple[str, int] | None:
    """What to tell a person about ``exc``, and the exit code; None if nothing better than its type.

    Only modules already imported are looked at: an exception cannot come from one that is not.
    """
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, (httpx.HTTPError, httpx.InvalidURL)):
        return _network_problem(exc, httpx)
    client = sys.modules.get("deconline.client")
    if client is not None and isinstance(exc, client.ApiError):
        detail = one_line(client.format_detail(exc.detail))
        if not detail:
            from http import HTTPStatus

            detail = HTTPStatus(exc.status).phrase if exc.status in HTTPStatus._value2member_map_ else "(no message)"
        return f"the service answered {exc.status}: {detail}", FAILED
    errors = sys.modules.get("deconline.service.errors")
    if errors is not None and isinstance(exc, errors.ServiceError):
        return one_line(exc.message), USAGE  # the administration commands' refusals, as before
    sql = sys.modules.get("sqlalchemy.exc")
    if sql is not None and isinstance(exc, sql.SQLAlchemyError):
        return _database_problem(exc, settings.db_url)
    if isinstance(exc, OSError) and exc.filename is not None:
        names = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
        return f"{names}: {exc.strerror or one_line(exc)}", USAGE
    return None


def _network_problem(exc: BaseException, httpx: Any) -> tuple[str, int]:
    url = settings.url
    hint = "is `deconline serve` running? set --url or DECONLINE_URL"
    if isinstance(exc, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return f"--url {url!r} is not a service URL (http://HOST:PORT): {one_line(exc)}", USAGE
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot reach {url}: no answer in time; {hint}", FAILED
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "refused" in text:
            reason = "connection refused"
        elif "name" in text and ("known" in text or "resolution" in text):
            reason = "unknown host"
        else:
            reason = one_line(exc, 120) or type(exc).__name__
        return f"cannot reach {url}: {reason}; {hint}", FAILED
    if isinstance(exc, httpx.TimeoutException):
        return f"deconline at {url} did not answer in time ({type(exc).__name__}); try again later", FAILED
    return f"lost the connection to deconline at {url}: {type(exc).__name__}: {one_line(exc, 120)}", FAILED


def _safe_url(db_url: str) -> str:
    """The database URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(db_url).render_as_string(hide_password=True)
    except Exception:  # not a URL at all: nothing to hide in it
        return db_url


def _no_database(db_url: str) -> str:
    return f"no deconline database at {_safe_url(db_url)}: run `deconline init`, or pass --db (or DECONLINE_DB)"


def _database_problem(exc: BaseException, db_url: str) -> tuple[str, int]:
    """A SQLAlchemy error in one line: not a database, not set up, or not reachable."""
    orig = getattr(exc, "orig", None)
    text = one_line(orig if orig is not None else exc, 200)
    lowered = text.lower()
    url = _safe_url(db_url)
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return _no_database(db_url), USAGE
    if "database" in lowered and "does not exist" in lowered:
        return _no_database(db_url), USAGE
    if "not a database" in lowered or "malformed" in lowered:
        return f"cannot read the database {url}: {text}", USAGE
    if db_url.startswith("sqlite"):
        if "locked" in lowered or "busy" in lowered:
            return f"the database {url} is busy: {text}; try again", FAILED
        return f"cannot use the database {url}: {text}", USAGE
    if "connect" in lowered or "could not translate host" in lowered:
        return f"cannot reach the database at {url}: {text}; check --db or DECONLINE_DB", FAILED
    return f"database error at {url}: {type(exc).__name__}: {text}", FAILED


def complain(exc: BaseException) -> NoReturn:
    """Exit with one line about ``exc`` (the caller re-raises instead under --debug)."""
    problem = explain(exc)
    if problem is None:
        fail(f"{type(exc).__name__}: {one_line(exc, 200)} (run with --debug for the traceback)", FAILED)
    fail(*problem)


class GuardedGroup(TyperGroup):
    """The top-level group: whatever a command lets escape is one line on stderr and an exit
    code, never a traceback, unless --debug asks for one."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, EOFError):
            raise  # typer's own: exits, usage errors (click's, vendored), ^C
        except Exception as exc:
            if settings.debug:
                raise
            complain(exc)


def open_line(*, create: bool = False, **options: Any) -> Line:
    """The service on the database of ``--db``. Unless ``create`` (``init``, ``demo``, ``serve``), the
    database must be there and set up: checked before any table is touched, so that a wrong --db is
    one line that says so, not SQLAlchemy's "no such table". ``options`` go to :class:`Line`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from deconline.service.line import Line
    from deconline.store.db import Database, normalise_url

    db_url = settings.db_url
    try:
        parsed = make_url(normalise_url(db_url))
    except ArgumentError:
        fail(f"--db {db_url!r} is not a database URL (sqlite:///FILE or postgresql://…)", USAGE)
    local = parsed.get_backend_name() == "sqlite"
    if not create and local and (parsed.database in (None, "", ":memory:") or not Path(parsed.database).is_file()):
        fail(_no_database(db_url), USAGE)  # and no empty file or directory made for it
    try:
        db = Database(db_url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:  # e.g. an unknown driver
        fail(f"--db {_safe_url(db_url)}: {one_line(exc, 200)}", USAGE)
    if not create:
        _check_schema(db, db_url)
    return Line(db, **options)


def _check_schema(db: Database, db_url: str) -> None:
    """Exit unless the database answers and its migrations are all applied."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
        pending = db.migrations_pending() if current is not None else []
    except SQLAlchemyError as exc:
        db.dispose()
        if settings.debug:
            raise
        fail(*_database_problem(exc, db_url))
    if current is None:
        db.dispose()
        fail(_no_database(db_url), USAGE)
    if pending:
        db.dispose()
        upgrade = "run `deconline init` to upgrade it"
        fail(f"the database {_safe_url(db_url)} needs {len(pending)} newer migrations: {upgrade}", USAGE)


def api_client() -> Client:
    """A client for ``--url`` with ``--token`` (and ``--key`` to sign); exit 2 without a token."""
    if not settings.token:
        fail("this command talks to the API: give --token or set DECONLINE_TOKEN", USAGE)
    if settings.key is not None and not settings.key.is_file():
        fail(f"--key {settings.key}: no such file", USAGE)
    from deconline.client import Client
    from deconline.record.signing import SignatureError

    try:
        return Client(settings.url, settings.token, key=settings.key)
    except SignatureError as exc:
        fail(f"--key: {one_line(exc)}", USAGE)


def read_key(path: Path, what: str = "--key") -> Any:
    """An Ed25519 private key file, or exit 2 naming it."""
    from deconline.record.signing import SignatureError, read_private_key

    try:
        return read_private_key(path)
    except SignatureError as exc:
        fail(f"{what}: {one_line(exc)}", USAGE)


def api_call(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``; the service's refusal or an unreachable service is one error line."""
    try:
        return call(*args, **kwargs)
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise
    except Exception as exc:
        if settings.debug:
            raise
        complain(exc)


JsonOption = Annotated[bool, typer.Option("--json", help="print the list as JSON (for scripts), nothing else")]


def print_list_json(items: Iterable[Any]) -> None:
    """A list as JSON on stdout, plainly: no colours, no wrapping, whatever the terminal."""
    data = [item.model_dump(mode="json") if hasattr(item, "model_dump") else item for item in items]
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def id_table(columns: Sequence[str], rows: Iterable[Sequence[str]], ids: Collection[str] = ("id",)) -> Table:
    """A table whose ``ids`` columns are never cut nor wrapped (they are copied into other
    commands): as wide as their longest value; the other columns fold to make room."""
    cells = [list(row) for row in rows]
    table = Table()
    for i, name in enumerate(columns):
        if name in ids:
            longest = max((len(row[i]) for row in cells), default=0)
            table.add_column(name, no_wrap=True, min_width=max(len(name), longest))
        else:
            table.add_column(name, overflow="fold")
    for row in cells:
        table.add_row(*row)
    return table


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]], ids: Collection[str] = ("id",)) -> None:
    """:func:`id_table` on stdout; wider than the terminal only if the ids alone are (then the
    terminal wraps the line: an id is never cut)."""
    out.print(id_table(columns, rows, ids), crop=False)


def print_json(value: Any) -> None:
    """A wire model, a list of them or plain JSON, pretty-printed."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    out.print_json(json.dumps(value))


def read_document(path: Path) -> Any:
    """A YAML (``.yaml``, ``.yml``) or JSON file; exit 2 if it cannot be read."""
    import yaml

    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or one_line(exc)}", USAGE)
    except UnicodeDecodeError as exc:
        fail(f"cannot read {path}: not text ({exc.reason})", USAGE)
    try:
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "YAML" if path.suffix in (".yaml", ".yml") else "JSON"
        fail(f"{path} is not valid {kind}: {one_line(exc, 200)}", USAGE)
