"""Issue 15: every CLI failure is a short message and a documented exit code, never a traceback;
every list command prints JSON for scripts and tables that never cut an id.

Exit codes (README, "Exit codes"): 1 the operation failed (the service refused it, or the service
or the database cannot be reached); 2 the command cannot run as given (arguments, files, no
database at --db).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from deconline.cli import app
from deconline.client import Client
from deconline.record.signing import write_private_key
from deconline.service import parties
from deconline.service.line import Line
from deconline.store.db import Database
from tests.helpers import AGREEMENT, box, circle, make_world, server

runner = CliRunner()

FAILED, USAGE = 1, 2
OP, HZ, MSG = "op_0123456789abcdef", "hz_0123456789abcdef", "msg_0123456789abcdef"
PERIOD = ["--from", "2036-11-23T00:00Z", "--to", "2036-11-24T00:00Z"]

# Every command that talks to the service, as a party would run it ({name} is a file of `files`).
API_COMMANDS: list[list[str]] = [
    ["agreement", "propose", "{agreement}"],
    ["agreement", "sign", "1", "--key", "{key}"],
    ["agreement", "show"],
    ["agreement", "list"],
    ["agreement", "list", "--json"],
    ["op", "file", "{op}"],
    ["op", "list"],
    ["op", "list", "--json"],
    ["op", "notices"],
    ["op", "notices", "--json"],
    ["op", "show", OP],
    ["op", "revise", OP, "1", "{op}"],
    ["op", "check", OP, "1"],
    ["op", "state", OP, "1", "active"],
    ["hazard", "declare", "{hazard}"],
    ["hazard", "list"],
    ["hazard", "list", "--json"],
    ["hazard", "change", HZ, "1", "{hazard}"],
    ["hazard", "withdraw", HZ],
    ["record", "checkpoint"],
    ["msg", "send", "--to", "charlie", "--text", "hello"],
    ["msg", "inbox"],
    ["msg", "inbox", "--json"],
    ["msg", "show", MSG],
    ["msg", "ack", MSG],
    ["line", "health"],
    ["line", "health", "--json"],
    ["party", "rotate-key", "--key", "{key}", "--new-key", "{tmp}/new.key"],
    ["feed", "sbs+file:{empty}", "--fleet", "{fleet}"],
    ["review", *PERIOD, "--out", "{tmp}/review.html"],
]

# Every command that works on the database without creating it (init, demo and serve create it).
DB_COMMANDS: list[list[str]] = [
    ["party", "add", "delta", "--keys-dir", "{tmp}/keys"],
    ["party", "list"],
    ["party", "list", "--json"],
    ["token", "auditor"],
    ["token", "admin"],
    ["token", "party", "--party", "alpha"],
    ["token", "list"],
    ["token", "list", "--json"],
    ["token", "revoke", "0123456789ab"],
    ["record", "export", "--from", "0", "--to", "1", "--out", "{tmp}/bundle.json"],
    ["review", *PERIOD, "--as", "admin", "--out", "{tmp}/review.html"],
    ["review", *PERIOD, "--party", "alpha", "--out", "{tmp}/review.html"],
]

# A bad file where a command takes one: (arguments, the file the message must name).
BAD_FILES: list[tuple[list[str], str]] = [
    (["op", "file", "{tmp}/missing.json"], "missing.json"),
    (["op", "file", "{bad_json}"], "bad.json"),
    (["op", "file", "{bad_yaml}"], "bad.yaml"),
    (["op", "file", "{unreadable}"], "unreadable.json"),
    (["op", "revise", OP, "1", "{bad_json}"], "bad.json"),
    (["hazard", "declare", "{tmp}/missing.yaml"], "missing.yaml"),
    (["hazard", "change", HZ, "1", "{bad_yaml}"], "bad.yaml"),
    (["agreement", "propose", "{bad_yaml}"], "bad.yaml"),
    (["agreement", "sign", "1", "--key", "{bad_key}"], "bad.key"),
    (["agreement", "sign", "1", "--key", "{tmp}/missing.key"], "missing.key"),
    (["--key", "{bad_key}", "op", "list"], "bad.key"),
    (["--key", "{tmp}/missing.key", "op", "list"], "missing.key"),
    (["party", "rotate-key", "--key", "{bad_key}", "--new-key", "{tmp}/new.key"], "bad.key"),
    (["party", "rotate-key", "--key", "{key}", "--new-key", "{bad_key}"], "bad.key"),
    (["record", "verify", "{tmp}/missing.bundle"], "missing.bundle"),
    (
        ["record", "claim", "{tmp}/missing.bundle", "--from", "a", "--to", "b", "--between", *PERIOD[1::2]],
        "missing.bundle",
    ),
    (
        ["conflicts", "--operations", "{tmp}/missing.geojson", "--hsep", "1", "--vsep", "1", "--time-buffer", "1"],
        "missing.geojson",
    ),
    (["conflicts", "--operations", "{op}", "--agreement", "{bad_yaml}"], "bad.yaml"),
    (["replay", "{tmp}/missing.json"], "missing.json"),
    (["feed", "sbs+file:{empty}", "--fleet", "{tmp}/missing.fleet"], "missing.fleet"),
    (["review", *PERIOD, "--out", "{tmp}/no/such/dir/review.html", "--as", "admin"], "review.html"),
]


def _name(args: list[str]) -> str:
    return " ".join(a for a in args if not a.startswith(("{", "20", "op_", "hz_", "msg_")) and "/" not in a)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(args: list[str], files: dict[str, str], tmp: Path) -> list[str]:
    return [a.format(tmp=tmp, **files) for a in args]


def _short(result: Any, code: int) -> str:
    """The result failed with ``code`` in at most three lines, without a traceback."""
    output: str = result.output
    assert result.exit_code == code, output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # handled, not escaped
    assert "Traceback" not in output and 'File "' not in output, output
    assert 0 < len(output.strip().splitlines()) <= 3, output
    return output


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Good and bad input files, by name."""
    from deconline.record.signing import generate_key

    folder = tmp_path_factory.mktemp("files")
    paths = {
        "op": folder / "op.json",
        "hazard": folder / "hazard.json",
        "agreement": folder / "agreement.json",
        "key": folder / "good.key",
        "fleet": folder / "fleet.txt",
        "empty": folder / "empty.sbs",
        "bad_json": folder / "bad.json",
        "bad_yaml": folder / "bad.yaml",
        "bad_key": folder / "bad.key",
        "unreadable": folder / "unreadable.json",
    }
    paths["op"].write_text(json.dumps({"name": "sortie", "volumes": [box()]}))
    paths["hazard"].write_text(json.dumps({"kind": "live_fire", "name": "range", "volume": box()}))
    paths["agreement"].write_text(json.dumps(AGREEMENT))
    write_private_key(generate_key(), paths["key"])
    paths["fleet"].write_text("abcdef\n")
    paths["empty"].write_text("")
    paths["bad_json"].write_text('{"name": "sortie", "volumes": [')
    paths["bad_yaml"].write_text("name: [sortie\nvolumes: {\n")
    paths["bad_key"].write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    paths["unreadable"].mkdir()  # a directory: reading it fails (as root, mode 000 would not)
    return {name: str(path) for name, path in paths.items()}


@dataclass
class Site:
    """A running service on a database with parties, an operation in conflict, a hazard, a message."""

    db_url: str
    url: str
    tokens: dict[str, str]
    keys: dict[str, Path]
    operations: list[str]
    notices: list[str]
    hazards: list[str]
    messages: list[str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("site")
    db_url = f"sqlite:///{folder / 'line.db'}"
    world = make_world(db_url)
    world.line.db.dispose()
    keys = {}
    for who in ("alpha", "charlie"):
        keys[who] = folder / f"{who}.key"
        write_private_key(world.keys[who], keys[who])
    with server(db_url) as url:
        with (
            Client(url, world.tokens["alpha"], key=keys["alpha"]) as alpha,
            Client(url, world.tokens["charlie"], key=keys["charlie"]) as charlie,
        ):
            mine = alpha.file_operation([box()], name="a patrol with a long name that wraps")
            charlie.file_operation([circle(10.0, 50.0, 2000)])
            hazard = charlie.declare_hazard("live_fire", box(20, 50), "range")
            message = charlie.send_message(["alpha"], "notice", "a hotline message", [], None, True)
            notices = [n.id for n in alpha.notices()]
        assert notices, "the two operations conflict: alpha has a notice"
        yield Site(db_url, url, world.tokens, keys, [mine.id], notices, [hazard.id], [message["id"]])


# --- (a) the service is not there -------------------------------------------------------------


@pytest.mark.parametrize("args", API_COMMANDS, ids=_name)
def test_service_down(args: list[str], files: dict[str, str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = runner.invoke(app, ["--url", url, "--token", "t", "--key", files["key"], *_fill(args, files, tmp_path)])
    output = _short(result, FAILED)
    assert f"cannot reach {url}: connection refused" in output and "deconline serve" in output
    assert not (tmp_path / "new.key").exists()  # rotate-key: no stray key left behind


def test_service_down_with_debug_shows_the_traceback(files: dict[str, str]) -> None:
    import httpx

    url = f"http://127.0.0.1:{_free_port()}"
    result = runner.invoke(app, ["--debug", "--url", url, "--token", "t", "op", "list"])
    assert isinstance(result.exception, httpx.ConnectError)


def test_a_url_that_is_not_one_is_a_usage_error() -> None:
    result = runner.invoke(app, ["--url", "localhost:8000", "--token", "t", "op", "list"])
    assert "--url 'localhost:8000' is not a service URL" in _short(result, USAGE)


# --- (b) no database at --db --------------------------------------------------------------------


@pytest.mark.parametrize("args", DB_COMMANDS, ids=_name)
@pytest.mark.parametrize("database", ["missing", "empty"])
def test_no_database(args: list[str], database: str, files: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "nothing" / "line.db"
    if database == "empty":  # there, but never initialised
        path.parent.mkdir()
        path.touch()
    result = runner.invoke(app, ["--db", f"sqlite:///{path}", *_fill(args, files, tmp_path)])
    output = _short(result, USAGE)
    assert "no deconline database at" in output or "no database at" in output, output
    assert path.exists() == (database == "empty")  # nothing made for a wrong --db
    assert not (tmp_path / "keys").exists() and not (tmp_path / "bundle.json").exists()


def test_a_database_with_migrations_pending_says_run_init(tmp_path: Path) -> None:
    from sqlalchemy import text

    db_url = f"sqlite:///{tmp_path / 'old.db'}"
    make_world(db_url, with_agreement=False).line.db.dispose()
    database = Database(db_url)
    with database.write() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    database.dispose()
    output = _short(runner.invoke(app, ["--db", db_url, "party", "list"]), USAGE)
    assert "newer migrations: run `deconline init`" in output


def test_a_postgresql_server_that_is_not_there(tmp_path: Path) -> None:
    db_url = f"postgresql://someone:secret@127.0.0.1:{_free_port()}/deconline"
    output = _short(runner.invoke(app, ["--db", db_url, "party", "list"]), FAILED)
    assert "cannot reach the database at postgresql://someone:***@127.0.0.1" in output
    assert "secret" not in output


def test_a_db_url_that_is_not_one(tmp_path: Path) -> None:
    output = _short(runner.invoke(app, ["--db", "line.db", "token", "list"]), USAGE)
    assert "--db 'line.db' is not a database URL" in output


# --- (c) a wrong token --------------------------------------------------------------------------


@pytest.mark.parametrize("args", API_COMMANDS, ids=_name)
def test_wrong_token(args: list[str], files: dict[str, str], site: Site, tmp_path: Path) -> None:
    key = str(site.keys["alpha"])
    filled = [key if a == "{key}" else a for a in args]
    result = runner.invoke(
        app, ["--url", site.url, "--token", "dl_wrong", "--key", key, *_fill(filled, files, tmp_path)]
    )
    output = _short(result, FAILED)
    assert "the service answered 401" in output
    assert not (tmp_path / "new.key").exists()


# --- (d) a bad file -----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "names"), BAD_FILES, ids=[_name(a) + " " + n for a, n in BAD_FILES])
def test_bad_file(args: list[str], names: str, files: dict[str, str], site: Site, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # never reached: the file is read first
    result = runner.invoke(app, ["--db", site.db_url, "--url", url, "--token", "t", *_fill(args, files, tmp_path)])
    output = _short(result, USAGE)
    assert names in output.replace("\n", "")


def test_an_unexpected_error_is_one_line_unless_debug(monkeypatch: pytest.MonkeyPatch, site: Site) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("something\nunforeseen")

    monkeypatch.setattr(Client, "agreements", broken)
    args = ["--url", site.url, "--token", site.tokens["alpha"], "agreement", "list"]
    output = _short(runner.invoke(app, args), FAILED)
    assert output.strip() == "error: RuntimeError: something unforeseen (run with --debug for the traceback)"
    assert isinstance(runner.invoke(app, ["--debug", *args]).exception, RuntimeError)


# --- --json and tables ----------------------------------------------------------------------------


def _expected(site: Site, what: str) -> list[str]:
    if what == "parties":
        return ["alpha", "bravo", "charlie"]
    if what == "tokens":
        return [t.token_id for t in parties.list_tokens(Line(Database(site.db_url)))]
    return {"operations": site.operations, "notices": site.notices, "hazards": site.hazards}.get(
        what, site.messages if what == "messages" else []
    )


LISTS = [
    (["party", "list"], None, "parties", "id"),
    (["token", "list"], None, "tokens", "id"),
    (["agreement", "list"], "alpha", "agreements", "version"),
    (["op", "list"], "alpha", "operations", "id"),
    (["op", "notices"], "alpha", "notices", "id"),
    (["hazard", "list"], "alpha", "hazards", "id"),
    (["msg", "inbox"], "alpha", "messages", "id"),
    (["line", "health"], "alpha", "parties", "party"),
]


def _run_list(site: Site, args: list[str], who: str | None, *extra: str, env: dict[str, str] | None = None) -> Any:
    where = ["--db", site.db_url] if who is None else ["--url", site.url, "--token", site.tokens[who]]
    result = runner.invoke(app, [*where, *args, *extra], env=env)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(("args", "who", "what", "key"), LISTS, ids=[" ".join(a) for a, *_ in LISTS])
def test_list_json(args: list[str], who: str | None, what: str, key: str, site: Site) -> None:
    listed = json.loads(_run_list(site, args, who, "--json").stdout)  # nothing else on stdout
    assert isinstance(listed, list)
    if what == "agreements":
        assert [a["version"] for a in listed] == [1] and listed[0]["current"] is True
    elif what == "parties" and args[0] == "line":
        assert {row["party"] for row in listed} <= {"alpha", "bravo", "charlie"}
    elif what == "messages":  # and the line's communications checks
        assert set(site.messages) <= {row["id"] for row in listed}
    else:
        assert sorted(row[key] for row in listed) == sorted(_expected(site, what))


@pytest.mark.parametrize(("args", "who", "what", "key"), LISTS, ids=[" ".join(a) for a, *_ in LISTS])
def test_tables_at_80_columns_never_cut_an_id(
    args: list[str], who: str | None, what: str, key: str, site: Site
) -> None:
    output = _run_list(site, args, who, env={"COLUMNS": "80"}).stdout
    assert all(len(line) <= 80 for line in output.splitlines()), output
    for expected in _expected(site, what) if what not in ("agreements",) and args[0] != "line" else []:
        assert expected in output, output
    assert "…" not in output


def test_id_table_keeps_ids_whole_when_they_alone_are_wider_than_the_terminal() -> None:
    from rich.console import Console

    from deconline.cli.common import id_table

    console = Console(width=80, record=True)
    party, key = "p" * 60, "k" * 44
    console.print(
        id_table(("party", "group", "public key"), [(party, "g", key)], ids=("party", "public key")), crop=False
    )
    text = console.export_text()
    assert party in text and key in text
