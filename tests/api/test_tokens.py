"""Token lifetime: listed by id (never the token), revoked or expired tokens refused at once,
on every instance sharing the database."""

from __future__ import annotations

from pathlib import Path

import httpx
from typer.testing import CliRunner

from deconline.cli import app
from deconline.service import parties
from tests.helpers import World, make_world, server

runner = CliRunner()


def whoami(world: World, token: str) -> int:
    return int(world.client.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"}).status_code)


def test_a_revoked_token_is_refused_and_others_are_not(world: World) -> None:
    extra = parties.issue_token(world.line, "party", "alpha", "second feeder")
    assert whoami(world, extra) == 200
    [row] = [t for t in parties.list_tokens(world.line) if t.label == "second feeder"]
    assert extra not in row.token_id and len(row.token_id) == 12
    parties.revoke_token(world.line, row.token_id)
    refused = world.client.get("/v1/whoami", headers={"Authorization": f"Bearer {extra}"})
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert whoami(world, world.tokens["alpha"]) == 200  # alpha's first token still works


def test_an_expired_token_is_refused(world: World) -> None:
    brief = parties.issue_token(world.line, "auditor", None, "one hour", expires_in_s=3600)
    assert whoami(world, brief) == 200
    world.clock.now += 3601
    refused = world.client.get("/v1/whoami", headers={"Authorization": f"Bearer {brief}"})
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


def test_revoking_is_checked(world: World) -> None:
    token = parties.issue_token(world.line, "auditor")
    for bad in ("zz", "abc", "not-hex-at-all"):
        try:
            parties.revoke_token(world.line, bad)
        except Exception as exc:
            assert getattr(exc, "status", None) in (404, 422), exc
        else:
            raise AssertionError(f"{bad!r} revoked something")
    parties.revoke_token(world.line, token)  # the token itself names it too
    try:
        parties.revoke_token(world.line, token)
    except Exception as exc:
        assert getattr(exc, "status", None) == 409
    else:
        raise AssertionError("revoked twice")


def test_token_commands(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'line.db'}"
    make_world(db).line.db.dispose()
    issued = runner.invoke(app, ["--db", db, "token", "auditor", "--label", "prometheus", "--expires-in", "90d"])
    assert issued.exit_code == 0, issued.output
    assert "auditor token (shown once)" in issued.output
    listed = runner.invoke(app, ["--db", db, "token", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "prometheus" in listed.output, listed.output
    line = next(row for row in listed.output.splitlines() if "prometheus" in row)
    token_id = line.strip("│ ").split()[0]
    revoked = runner.invoke(app, ["--db", db, "token", "revoke", token_id])
    assert revoked.exit_code == 0 and "revoked" in revoked.output, revoked.output
    again = runner.invoke(app, ["--db", db, "token", "revoke", token_id])
    assert again.exit_code == 2 and "already revoked" in again.output
    bad = runner.invoke(app, ["--db", db, "token", "auditor", "--expires-in", "soon"])
    assert bad.exit_code == 2 and "lifetime" in bad.output
    party = runner.invoke(app, ["--db", db, "token", "party", "--party", "alpha"])
    assert party.exit_code == 0 and "party token" in party.output


def test_revocation_reaches_every_instance_at_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db)
    token = parties.issue_token(world.line, "party", "charlie", "to revoke")
    headers = {"Authorization": f"Bearer {token}"}
    with server(db) as first, server(db) as second:
        assert httpx.get(f"{first}/v1/whoami", headers=headers).status_code == 200
        assert httpx.get(f"{second}/v1/whoami", headers=headers).status_code == 200
        parties.revoke_token(world.line, token)
        assert httpx.get(f"{first}/v1/whoami", headers=headers).status_code == 401
        assert httpx.get(f"{second}/v1/whoami", headers=headers).status_code == 401
    world.line.db.dispose()
