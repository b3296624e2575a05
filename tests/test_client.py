"""The typed client and the CLI's API commands against a real server process."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deconline.cli import app
from deconline.client import ApiError, Client
from deconline.ingest.track_builder import State
from deconline.record.signing import write_private_key
from tests.helpers import AGREEMENT, World, box, circle, make_world, server

runner = CliRunner()


def test_client_end_to_end(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url, with_agreement=False)
    world.line.db.dispose()
    for who, key in world.keys.items():
        write_private_key(key, tmp_path / f"{who}.key")
    with server(db_url) as url:
        with Client(url, world.tokens["admin"]) as admin:
            assert admin.health()["status"] == "ok"
            assert admin.propose_agreement(AGREEMENT).missing_signatures == ["alpha", "bravo", "charlie"]
        clients = {
            who: Client(url, world.tokens[who], key=tmp_path / f"{who}.key") for who in ("alpha", "bravo", "charlie")
        }
        for who, c in clients.items():
            state = c.sign_agreement(1, tmp_path / f"{who}.key")
        assert state.current is True
        alpha, charlie = clients["alpha"], clients["charlie"]
        assert alpha.whoami().group == "allies"
        mine = alpha.file_operation([box()], name="patrol")
        assert mine.state == "accepted"
        theirs = charlie.file_operation([circle(10.0, 50.0, 2000)])
        assert theirs.state == "proposed" and theirs.notices[0].other_party == "alpha"
        with pytest.raises(ApiError) as stale:
            charlie.revise_operation(theirs.id, 9, [box(12, 50)])
        assert stale.value.status == 409
        assert [n.operation for n in alpha.notices(state="open")] == [mine.id]  # alpha was told too
        moved = charlie.revise_operation(theirs.id, 1, [box(12, 50)])
        assert moved.state == "accepted"
        assert [n.resolution for n in alpha.notices(operation=mine.id)] == ["other_revised"]
        assert charlie.set_state(moved.id, moved.version, "active").state == "active"
        with pytest.raises(ApiError) as hidden:
            charlie.operation(mine.id)
        assert hidden.value.status == 404
        assert [o.id for o in clients["bravo"].operations()] == [mine.id]
        hazard = charlie.declare_hazard("live_fire", box(20, 50), "range")
        assert [h.id for h in alpha.hazards()] == [hazard.id]
        changed = charlie.change_hazard(hazard.id, 1, "live_fire", box(21, 50), "range")
        assert changed.version == 2 and changed.volume.footprint != hazard.volume.footprint
        assert charlie.withdraw_hazard(hazard.id).state == "withdrawn"
        with pytest.raises(ApiError) as bad:
            alpha.file_operation([dict(box(), lower_m=5000)])
        assert bad.value.status == 422 and "lower_m" in str(bad.value)
        for c in clients.values():
            c.close()


def test_cli_api_commands(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    world.line.db.dispose()
    write_private_key(world.keys["alpha"], tmp_path / "alpha.key")
    op_file = tmp_path / "op.json"
    op_file.write_text(json.dumps({"name": "sortie", "volumes": [box()]}))
    with server(db_url) as url:
        env = {
            "DECONLINE_URL": url,
            "DECONLINE_TOKEN": world.tokens["alpha"],
            "DECONLINE_KEY": str(tmp_path / "alpha.key"),
            "COLUMNS": "200",  # wide enough that tables hold ids on one line
        }
        filed = runner.invoke(app, ["op", "file", str(op_file)], env=env)
        assert filed.exit_code == 0 and "accepted" in filed.output, filed.output
        op_id = filed.output.split(":")[0].strip()
        listed = runner.invoke(app, ["op", "list"], env=env)
        assert op_id in listed.output
        shown = runner.invoke(app, ["op", "show", op_id], env=env)
        assert '"state": "accepted"' in shown.output
        told = runner.invoke(app, ["op", "notices", "--state", "open"], env=env)
        assert told.exit_code == 0 and "id" in told.output, told.output
        hazard_file = tmp_path / "hazard.json"
        hazard_file.write_text(json.dumps({"kind": "live_fire", "name": "range", "volume": box()}))
        declared = runner.invoke(app, ["hazard", "declare", str(hazard_file)], env=env)
        hazard_id = declared.output.split(":")[0].strip()
        told = runner.invoke(app, ["op", "notices", "--operation", op_id], env=env)
        assert hazard_id in told.output and "open" in told.output, told.output
        hazard_file.write_text(json.dumps({"kind": "live_fire", "name": "range", "volume": box(20, 50)}))
        changed = runner.invoke(app, ["hazard", "change", hazard_id, "1", str(hazard_file)], env=env)
        assert changed.exit_code == 0 and "version 2" in changed.output, changed.output
        told = runner.invoke(app, ["op", "notices", "--state", "resolved"], env=env)
        assert "hazard_changed" in told.output, told.output
        state = runner.invoke(app, ["op", "state", op_id, "1", "active"], env=env)
        assert "active" in state.output
        wrong = runner.invoke(app, ["op", "state", op_id, "1", "ended"], env=env)
        assert wrong.exit_code == 1 and "409" in wrong.output
        agreement = runner.invoke(app, ["agreement", "list"], env=env)
        assert "yes" in agreement.output
        witness = tmp_path / "witness.note"
        saved = runner.invoke(app, ["record", "checkpoint", "--out", str(witness)], env=env)
        assert saved.exit_code == 0 or "no checkpoint" in saved.output, saved.output
        denied = runner.invoke(app, ["op", "list"], env={**env, "DECONLINE_TOKEN": "nope"})
        assert denied.exit_code == 1 and "401" in denied.output


@contextmanager
def cli_line(tmp_path: Path) -> Iterator[tuple[World, str, Callable[[str], dict[str, str]]]]:
    """A test line served by a real process, with alpha's and charlie's keys on disk and, per
    party, the environment its CLI commands run in."""
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    world.line.db.dispose()
    for who in ("alpha", "charlie"):
        write_private_key(world.keys[who], tmp_path / f"{who}.key")
    with server(db_url) as url:

        def env(who: str) -> dict[str, str]:
            return {
                "DECONLINE_URL": url,
                "DECONLINE_TOKEN": world.tokens[who],
                "DECONLINE_KEY": str(tmp_path / f"{who}.key"),
            }

        yield world, url, env


def test_cli_hotline_session(tmp_path: Path) -> None:
    with cli_line(tmp_path) as (_, _, env):
        sent = runner.invoke(
            app,
            ["msg", "send", "--to", "charlie", "--kind", "deconfliction_request", "--text", "Please hold 30 min",
             "--action", "hold"],
            env=env("alpha"),
        )  # fmt: skip
        assert sent.exit_code == 0, sent.output
        message_id = sent.output.split(":")[0].strip()
        inbox = runner.invoke(app, ["msg", "inbox"], env=env("charlie"))
        assert message_id in inbox.output
        acked = runner.invoke(app, ["msg", "ack", message_id], env=env("charlie"))
        assert acked.exit_code == 0 and "acknowledged" in acked.output, acked.output
        shown = runner.invoke(app, ["msg", "show", message_id], env=env("alpha"))
        assert '"status": "acknowledged"' in shown.output
        bad = runner.invoke(app, ["msg", "send", "--to", "zulu", "--text", "x"], env=env("alpha"))
        assert bad.exit_code == 1 and "422" in bad.output
        health = runner.invoke(app, ["line", "health"], env=env("alpha"))
        assert health.exit_code == 0 and "charlie" in health.output


def test_cli_alerts_with_guidance_and_a_resolution_answered(tmp_path: Path) -> None:
    """Two parties head-on through a real server: each sees its alert with its own aircraft's free
    ranges and the resolution proposed to it, and answers it from the command line."""
    with cli_line(tmp_path) as (world, url, env):
        east = math.degrees(20_000 / (6_371_000.0 * math.cos(math.radians(50.0))))
        for who, track, lon, heading in (("alpha", "A1", 10.0 - east, 90.0), ("charlie", "C1", 10.0 + east, 270.0)):
            with Client(url, world.tokens[who], key=world.keys[who]) as c:
                report = {"id": track, "lat": 50.0, "lon": lon, "alt_m": 9000.0, "gs_mps": 200.0,
                          "track_deg": heading, "vrate_mps": 0.0, "time": time.time()}  # fmt: skip
                c.post_tracks([report])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with Client(url, world.tokens["alpha"]) as c:
                mine = c.alerts()
            if mine and mine[0].get("guidance") and "resolution" in mine[0]:
                break
            time.sleep(0.3)
        shown = runner.invoke(app, ["alerts", "--guidance"], env=env("alpha"))
        assert shown.exit_code == 0, shown.output
        assert "A1" in shown.output and "track free:" in shown.output and "resolution ms_" in shown.output
        message = mine[0]["resolution"]["message"]
        answered = runner.invoke(app, ["msg", "answer", message, "accept"], env=env("alpha"))
        assert answered.exit_code == 0 and f"{message}: accepted" in answered.output, answered.output
        again = runner.invoke(app, ["msg", "answer", message, "reject"], env=env("alpha"))
        assert again.exit_code == 1 and "already answered" in again.output
        wrong = runner.invoke(app, ["msg", "answer", message, "maybe"], env=env("alpha"))
        assert wrong.exit_code == 2 and "accept or reject" in wrong.output
        theirs = runner.invoke(app, ["alerts", "--guidance"], env=env("charlie"))
        assert "C1" in theirs.output and "they: accepted" in theirs.output, theirs.output


def test_the_client_posts_what_the_feeder_decoded_and_reads_it_back(tmp_path: Path) -> None:
    """A feeder state with intent, identity, quality and a late velocity, through the client."""
    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    now = world.clock.now
    state = State("4ca7a8", 50.0, 10.0, 9000.0, 200.0, 90.0, -5.0, now, "rch123", "beast", (("NACp", 9.0),),
                  10_668.0, 11.3)  # fmt: skip
    with world.api_client("alpha") as c:
        assert c.post_tracks([state.as_report()]) == {"stored": 1}
        [track] = c.tracks()
    assert (track["id"], track["selected_altitude_m"], track["callsign"]) == ("4ca7a8", 10_668.0, "RCH123")
    assert (track["nac_p"], track["velocity_age_s"]) == (9, 11.3)
    world.line.db.dispose()
