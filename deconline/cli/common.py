"""What every ``deconline`` command shares: the global options, the consoles, failing, the API client.

Kept cheap on purpose: only the standard library, typer and rich at import time, so that
``deconline --help`` and the offline commands do not pay for FastAPI, SQLAlchemy, numpy or httpx.
The client, the database and YAML are imported when a command first asks for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

if TYPE_CHECKING:
    from deconline.client import Client
    from deconline.service.line import Line

DEFAULT_DB_URL = "sqlite:///deconline.db"
"""``deconline.store.db.DEFAULT_URL``, repeated so that the global options need no SQLAlchemy (a test
keeps the two equal)."""

DEFAULT_SERVICE_URL = "http://127.0.0.1:8000"

out = Console()
err = Console(stderr=True)


class Settings:
    """The global options, set by :func:`global_options` before any command runs."""

    db_url: str = DEFAULT_DB_URL
    url: str = DEFAULT_SERVICE_URL
    token: str | None = None
    key: Path | None = None


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
) -> None:
    """Keep the global options for the command that runs (the app's own help text is what --help shows)."""
    settings.db_url, settings.url, settings.token, settings.key = db, url, token, key


def fail(message: str, code: int = 1) -> NoReturn:
    """One red line on stderr, then exit with ``code`` (2: the arguments are unusable)."""
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def open_line() -> Line:
    """The service on the database of ``--db``, for the administration commands."""
    from deconline.service.line import Line
    from deconline.store.db import Database

    return Line(Database(settings.db_url))


def api_client() -> Client:
    """A client for ``--url`` with ``--token`` (and ``--key`` to sign); exit 2 without a token."""
    if not settings.token:
        fail("this command talks to the API: give --token or set DECONLINE_TOKEN", 2)
    if settings.key is not None and not settings.key.is_file():
        fail(f"--key {settings.key}: no such file", 2)
    from deconline.client import Client

    return Client(settings.url, settings.token, key=settings.key)


def api_call(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``; the service's refusal or an unreachable service is one error line."""
    from deconline.client import ApiError

    try:
        return call(*args, **kwargs)
    except ApiError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot reach {settings.url}: {exc}")


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
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        fail(f"cannot read {path}: {exc}", 2)
