"""The CLI end to end: init, parties and keys, the demo, the offline planning check."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from typer.testing import CliRunner

from deconline.cli import app
from deconline.service.line import Line
from deconline.service.parties import authenticate
from deconline.store.db import Database
from tests.helpers import at, ring

runner = CliRunner()


def test_init_then_party_add_writes_a_private_key_and_prints_a_token(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'line.db'}"
    first = runner.invoke(app, ["--db", db, "init"])
    assert first.exit_code == 0 and "admin token" in first.output
    again = runner.invoke(app, ["--db", db, "init"])
    assert again.exit_code == 0 and "up to date" in again.output
    added = runner.invoke(
        app, ["--db", db, "party", "add", "alpha", "--group", "allies", "--keys-dir", str(tmp_path / "k")]
    )
    assert added.exit_code == 0, added.output
    key = tmp_path / "k" / "alpha.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    token = added.output.split("token (shown once):")[1].split()[0]
    actor = authenticate(Line(Database(db)), token)
    assert (actor.role, actor.party_id, actor.group) == ("party", "alpha", "allies")
    duplicate = runner.invoke(app, ["--db", db, "party", "add", "alpha", "--keys-dir", str(tmp_path / "k2")])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    listed = runner.invoke(app, ["--db", db, "party", "list"])
    assert "alpha" in listed.output and "allies" in listed.output


def test_demo_loads_twelve_operations_two_in_conflict(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    result = runner.invoke(app, ["--db", db, "demo", "--keys-dir", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    from sqlalchemy import select

    from deconline.store.models import ConflictNotice, Hazard, Operation

    with Database(db).read() as s:
        ops = list(s.scalars(select(Operation)))
        notices = list(s.scalars(select(ConflictNotice)))
        hazards = list(s.scalars(select(Hazard)))
    assert len(ops) == 12
    assert sorted(o.state for o in ops).count("proposed") == 1
    # one conflict, one notice to each side, about its own operation
    assert len(notices) == 2 and {n.kind for n in notices} == {"operation"}
    assert len({n.party_id for n in notices}) == 2
    assert len(hazards) == 1
    for who in ("admin", "blue-af", "green-af", "orange-af"):
        assert who in result.output


def _feature(fid: str, party: str, lon: float, **props: object) -> dict[str, object]:
    base = {"id": fid, "party": party, "lower_m": 1000, "upper_m": 2000, "start": at(1), "end": at(2)}
    return {
        "type": "Feature",
        "properties": {**base, **props},
        "geometry": {"type": "Polygon", "coordinates": [ring(lon, 50, 5)]},
    }


def test_offline_conflicts(tmp_path: Path) -> None:
    features = [
        _feature("op-b", "x", 10.0),
        _feature("op-a", "y", 10.05, lower_m=1500, upper_m=3000),
        _feature("op-c", "x", 10.02),  # same party as op-b: never paired with it
        _feature("far", "z", 14.0),
        {
            "type": "Feature",
            "properties": {
                "id": "sam",
                "party": "hazard",
                "lower_m": 0,
                "upper_m": 20000,
                "start": at(0),
                "end": at(12),
                "radius_m": 3000,
            },
            "geometry": {"type": "Point", "coordinates": [14.0, 50.0]},
        },
    ]
    src = tmp_path / "ops.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = tmp_path / "conflicts.jsonl"
    result = runner.invoke(
        app,
        [
            "conflicts",
            "--operations",
            str(src),
            "--hsep",
            "5000",
            "--vsep",
            "300",
            "--time-buffer",
            "600",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["a"], r["b"], r["kind"]) for r in lines] == [
        ("far", "sam", "hazard"),
        ("op-a", "op-b", "operation"),
        ("op-a", "op-c", "operation"),
    ]
    assert lines[1]["altitude"] == [1500, 2000]
    assert lines[1]["window"] == [at(1), at(2)]


def test_offline_conflicts_reports_bad_input(tmp_path: Path) -> None:
    src = tmp_path / "ops.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [_feature("a", "x", 10, lower_m=3000)]}))
    result = runner.invoke(
        app, ["conflicts", "--operations", str(src), "--hsep", "5000", "--vsep", "300", "--time-buffer", "0"]
    )
    assert result.exit_code == 2 and "feature 0" in result.output and "lower_m" in result.output
    missing = runner.invoke(app, ["conflicts", "--operations", str(src)])
    assert missing.exit_code == 2 and "--hsep" in missing.output


def test_api_commands_need_a_token() -> None:
    result = runner.invoke(app, ["op", "list"], env={"DECONLINE_TOKEN": ""})
    assert result.exit_code == 2 and "token" in result.output
