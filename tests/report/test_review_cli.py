"""``deconline review`` through the API and on the database: the same bytes either way, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from deconline.cli import app
from tests.helpers import make_world, server
from tests.report.scenario import END, START, build, iso

runner = CliRunner()
PERIOD = ["--from", iso(START), "--to", iso(END)]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """The scenario in a SQLite file (closed again, so a server process can open it)."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('review') / 'line.db'}"
    world = make_world(db_url)
    build(world)
    world.line.db.dispose()
    return db_url, world.tokens


def test_through_the_api_and_on_the_database_the_same_review(site: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    db_url, tokens = site
    with server(db_url) as url:
        for who, option in (("alpha", ["--party", "alpha"]), ("admin", ["--as", "admin"])):
            api = runner.invoke(
                app,
                ["--url", url, "--token", tokens[who], "review", *PERIOD, "--out", str(tmp_path / f"{who}-api.html")],
            )
            assert api.exit_code == 0, api.output
            assert f"{tmp_path / f'{who}-api.html'}: review for {who}, " in api.output
            # alpha's own resolution and charlie's (alpha is told when the other side lets it pass)
            assert "6 overdue" in api.output and "record consistent" in api.output
            database = runner.invoke(
                app, ["--db", db_url, "review", *PERIOD, *option, "--out", str(tmp_path / f"{who}-db.html")]
            )
            assert database.exit_code == 0, database.output
            assert (tmp_path / f"{who}-api.html").read_bytes() == (tmp_path / f"{who}-db.html").read_bytes()
    assert (
        "2 operations filed (1 in conflict)"
        in runner.invoke(
            app, ["--db", db_url, "review", *PERIOD, "--party", "alpha", "--out", str(tmp_path / "a.html")]
        ).output
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "2036-11-23T07:00Z", "--to", "2036-11-23T06:00Z", "--as", "admin"], "--to must be after --from"),
        (["--from", "soon", "--to", "2036-11-23T06:00Z", "--as", "admin"], "--from is not an ISO 8601 time"),
        ([*PERIOD, "--party", "nobody"], "no party 'nobody'"),
        ([*PERIOD, "--party", "alpha", "--as", "admin"], "--party or --as, not both"),
        ([*PERIOD], "give --token"),  # through the API, but no token
    ],
)
def test_mistakes_get_one_line_and_exit_2(
    site: tuple[str, dict[str, str]], tmp_path: Path, args: list[str], says: str
) -> None:
    db_url, _ = site
    result = runner.invoke(
        app, ["--db", db_url, "review", *args, "--out", str(tmp_path / "r.html")], env={"DECONLINE_TOKEN": ""}
    )
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


def test_a_database_that_is_not_one_or_a_service_that_is_not_there_says_so(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(app, ["--db", f"sqlite:///{junk}", "review", *PERIOD, "--as", "auditor"])
    assert result.exit_code == 2 and "cannot read the database" in result.output, result.output
    missing = runner.invoke(app, ["--db", f"sqlite:///{tmp_path / 'none.db'}", "review", *PERIOD, "--as", "admin"])
    assert missing.exit_code == 2 and "no database at" in missing.output
    assert not (tmp_path / "none.db").exists()  # a review only reads: it creates nothing
    away = runner.invoke(app, ["--url", "http://127.0.0.1:9", "--token", "t", "review", *PERIOD])
    assert away.exit_code == 1 and "cannot reach http://127.0.0.1:9" in away.output and "Traceback" not in away.output
