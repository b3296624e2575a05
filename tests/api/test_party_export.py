"""A party proves its own words without the operator: its bundle comes from the API.

The party's export must verify offline, disclose exactly the entries its side may read (every
other leaf a bare commitment), and answer claims as the operator's export for that party does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deconline.cli import app
from deconline.record.bundle import verify_bundle
from deconline.record.checkpoint import parse_verifier_key
from deconline.record.signing import generate_key, public_key_b64
from deconline.service import disclosure, record
from deconline.service.actors import Actor
from deconline.store.models import RecordEntry
from tests.helpers import World, at, box, make_world, server

runner = CliRunner()


def busy_world(db: str) -> World:
    """Entries of three parties: filings, and messages within the allies and across sides."""
    world = make_world(db)
    world.file("alpha", box(), name="patrol")
    world.file("bravo", box(12, 50), name="ferry")
    world.file("charlie", box(14, 50), name="survey")
    for sender, recipients, text in (
        ("charlie", ["alpha"], "radio check from charlie"),
        ("bravo", ["charlie"], "bravo to charlie only"),
        ("alpha", ["bravo"], "within the allies"),
    ):
        body = {"recipients": recipients, "kind": "comm_check", "text": text}
        assert world.post(sender, "/v1/messages", body).status_code == 201
    return world


def last_index(world: World) -> int:
    with world.line.db.write() as session:
        return world.line.record.sync(session) - 1


def test_a_party_exports_exactly_its_own_and_it_verifies(tmp_path: Path) -> None:
    world = busy_world(f"sqlite:///{tmp_path / 'line.db'}")
    end = last_index(world)
    response = world.get("alpha", "/v1/record/export", params={"from": 0, "to": end})
    assert response.status_code == 200, response.text
    bundle = response.json()
    with world.line.db.read() as session:
        key = record.service_verifier_key(world.line.record, session)
        rows = {row.seq: row for row in session.query(RecordEntry).filter(RecordEntry.seq <= end)}
        alpha = Actor("party", "alpha", "allies")
        may_read = {seq for seq, row in rows.items() if record.entitled(session, alpha, row.readers)}
    assert {json.loads(row.canonical)["author"] for row in rows.values()} >= {"alpha", "bravo", "charlie"}
    verified = verify_bundle(bundle, parse_verifier_key(key))
    assert set(verified.entries) == may_read  # bravo's (an ally's) entries too, charlie's to alpha
    assert set(verified.withheld) == set(rows) - may_read and verified.withheld  # bravo -> charlie is withheld
    assert all(set(item) == {"index", "commitment"} for item in bundle["withheld"])  # a bare commitment, no salt

    with world.line.db.write() as session:
        operator = disclosure.export(world.line.record, session, 0, end, "alpha", world.clock.now)
    assert [e["index"] for e in bundle["entries"]] == [e["index"] for e in operator["entries"]]
    assert bundle["withheld"] == operator["withheld"]

    files = {"party": tmp_path / "party.bundle", "operator": tmp_path / "operator.bundle"}
    files["party"].write_text(json.dumps(bundle))
    files["operator"].write_text(json.dumps(operator))
    window = ["--between", at(-24), at(24), "--key", key]
    claims = (
        ["--from", "charlie", "--to", "alpha", "--contains", "radio check"],  # FOUND
        ["--from", "bravo", "--to", "charlie", "--contains", "bravo"],  # withheld from alpha: UNDECIDED
        ["--from", "alpha", "--to", "charlie", "--contains", "never said"],
    )
    for claim in claims:
        answers = {
            who: runner.invoke(app, ["record", "claim", str(path), *claim, *window]).output.splitlines()[-1]
            for who, path in files.items()
        }
        assert answers["party"] == answers["operator"], (claim, answers)
    assert "FOUND" in runner.invoke(app, ["record", "claim", str(files["party"]), *claims[0], *window]).output


def test_who_may_export_what(tmp_path: Path) -> None:
    world = busy_world(f"sqlite:///{tmp_path / 'line.db'}")
    end = last_index(world)
    assert world.get("admin", "/v1/record/export", params={"from": 0, "to": end}).status_code == 403
    auditor = world.get("auditor", "/v1/record/export", params={"from": 0, "to": end})
    assert auditor.status_code == 200
    with world.line.db.read() as session:
        public = {
            row.seq for row in session.query(RecordEntry).filter(RecordEntry.seq <= end) if record.PUBLIC in row.readers
        }
    assert {e["index"] for e in auditor.json()["entries"]} == public
    charlie = world.get("charlie", "/v1/record/export", params={"from": 0, "to": end}).json()
    texts = " ".join(e["entry"] for e in charlie["entries"])
    assert "within the allies" not in texts and "bravo to charlie only" in texts


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": 3, "to": 1}, "to"),
        ({"from": 0, "to": 1000}, "inside the record"),
        ({"from": -1, "to": 2}, "from"),
        ({}, "from"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(tmp_path: Path, query: dict[str, int], field: str) -> None:
    world = busy_world(f"sqlite:///{tmp_path / 'line.db'}")
    response = world.get("alpha", "/v1/record/export", params=query)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_a_range_too_large_for_one_request_says_to_split_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = busy_world(f"sqlite:///{tmp_path / 'line.db'}")
    monkeypatch.setattr(disclosure, "MAX_EXPORT_ENTRIES", 3)
    response = world.get("alpha", "/v1/record/export", params={"from": 0, "to": 5})
    assert response.status_code == 422 and "in pieces" in response.text


def test_the_cli_exports_through_the_api_with_only_a_token(tmp_path: Path) -> None:
    """A party with its token and a running service, no database: the same bundle as the
    operator's export for that party, and it verifies."""
    db = f"sqlite:///{tmp_path / 'line.db'}"
    world = busy_world(db)
    end = last_index(world)
    token = world.tokens["alpha"]
    world.line.db.dispose()
    mine, operators = tmp_path / "mine.bundle", tmp_path / "operator.bundle"
    with server(db) as url:
        common = ["record", "export", "--from", "0", "--to", str(end)]
        done = runner.invoke(app, ["--url", url, "--token", token, *common, "--out", str(mine)])
        assert done.exit_code == 0, done.output
        both = runner.invoke(app, ["--url", url, "--token", token, *common, "--party", "bravo", "--out", str(mine)])
        assert both.exit_code == 2 and "--party" in both.output
    assert runner.invoke(app, ["--db", db, *common, "--party", "alpha", "--out", str(operators)]).exit_code == 0
    party, operator = json.loads(mine.read_text()), json.loads(operators.read_text())
    assert [e["index"] for e in party["entries"]] == [e["index"] for e in operator["entries"]]
    assert party["withheld"] == operator["withheld"] and party["withheld"]
    verified = runner.invoke(app, ["record", "verify", str(mine), "--key", party["key"]])
    assert verified.exit_code == 0 and "VERIFIED" in verified.output, verified.output


def test_verify_with_pinned_party_keys_names_the_party_whose_key_differs(tmp_path: Path) -> None:
    world = busy_world(f"sqlite:///{tmp_path / 'line.db'}")
    end = last_index(world)
    bundle = world.get("alpha", "/v1/record/export", params={"from": 0, "to": end}).json()
    path = tmp_path / "alpha.bundle"
    path.write_text(json.dumps(bundle))
    trusted = {party: public_key_b64(world.keys[party]) for party in ("alpha", "bravo", "charlie")}
    keys = tmp_path / "trusted.json"
    keys.write_text(json.dumps(trusted))
    ok = runner.invoke(app, ["record", "verify", str(path), "--key", bundle["key"], "--party-keys", str(keys)])
    assert ok.exit_code == 0 and "VERIFIED" in ok.output, ok.output

    keys.write_text(json.dumps(trusted | {"charlie": public_key_b64(generate_key())}))
    changed = runner.invoke(app, ["record", "verify", str(path), "--key", bundle["key"], "--party-keys", str(keys)])
    assert changed.exit_code == 1 and "FAILED" in changed.output and "charlie" in changed.output, changed.output
    assert "Traceback" not in changed.output

    keys.write_text(json.dumps({"alpha": trusted["alpha"]}))  # the others: the bundle's own keys, and it says so
    partly = runner.invoke(app, ["record", "verify", str(path), "--key", bundle["key"], "--party-keys", str(keys)])
    assert partly.exit_code == 0 and "not pinned" in partly.output and "charlie" in partly.output, partly.output

    keys.write_text("{not json")
    bad = runner.invoke(app, ["record", "verify", str(path), "--key", bundle["key"], "--party-keys", str(keys)])
    assert bad.exit_code == 2 and str(keys) in bad.output.replace("\n", "")
