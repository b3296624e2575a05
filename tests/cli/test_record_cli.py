"""record export / verify / claim from the command line, with exit codes 0, 1 and 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from deconline.cli import app
from deconline.service import record
from tests.helpers import at, box, make_world

runner = CliRunner()


def test_export_verify_claim(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db)
    world.file("alpha", box(), name="patrol")
    world.file("charlie", box(12, 50), name="survey")
    with world.line.db.write() as session:
        size = world.line.record.sync(session)
        record.publish_checkpoint(world.line.record, session, world.clock.now)
        key = record.service_verifier_key(world.line.record, session)
        older = record.latest_checkpoint(session)
    world.file("alpha", box(14, 50), name="ferry")
    world.line.db.dispose()
    (tmp_path / "old.note").write_text(older)
    bundle = tmp_path / "alpha.bundle"
    end = size  # includes the ferry filing
    exported = runner.invoke(
        app, ["--db", db, "record", "export", "--from", "0", "--to", str(end), "--party", "alpha", "--out", str(bundle)]
    )
    assert exported.exit_code == 0, exported.output
    verified = runner.invoke(
        app, ["record", "verify", str(bundle), "--key", key, "--checkpoint", str(tmp_path / "old.note")]
    )
    assert verified.exit_code == 0 and "VERIFIED" in verified.output, verified.output

    window = ["--between", at(-24), at(24)]
    found = runner.invoke(
        app,
        [
            "record",
            "claim",
            str(bundle),
            "--from",
            "alpha",
            "--to",
            "alpha",
            *window,
            "--contains",
            "ferry",
            "--key",
            key,
        ],
    )
    assert found.exit_code == 0 and "FOUND" in found.output, found.output
    unknown = runner.invoke(
        app,
        [
            "record",
            "claim",
            str(bundle),
            "--from",
            "charlie",
            "--to",
            "alpha",
            *window,
            "--kind",
            "operation",
            "--key",
            key,
        ],
    )
    assert "UNDECIDED" in unknown.output  # charlie's filing is withheld from alpha's bundle

    full = tmp_path / "all.bundle"
    runner.invoke(app, ["--db", db, "record", "export", "--from", "0", "--to", str(end), "--out", str(full)])
    data = json.loads(full.read_text())
    first_time = json.loads(data["entries"][0]["entry"])["time"]
    not_found = runner.invoke(
        app,
        [
            "record",
            "claim",
            str(full),
            "--from",
            "charlie",
            "--to",
            "alpha",
            *window,
            "--contains",
            "target",
            "--key",
            key,
        ],
    )
    assert "NOT FOUND" in not_found.output or "UNDECIDED" in not_found.output
    assert first_time <= world.clock.now

    damaged = tmp_path / "damaged.bundle"
    damaged.write_text(bundle.read_text().replace('"patrol"', '"patrol!"', 1).replace("patrol", "patrul", 1))
    failed = runner.invoke(app, ["record", "verify", str(damaged), "--key", key])
    assert failed.exit_code == 1 and "FAILED" in failed.output
    assert runner.invoke(app, ["record", "verify", str(tmp_path / "missing"), "--key", key]).exit_code == 2
    (tmp_path / "junk").write_text("{not json")
    assert runner.invoke(app, ["record", "verify", str(tmp_path / "junk"), "--key", key]).exit_code == 1
