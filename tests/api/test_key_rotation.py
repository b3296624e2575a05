"""Party key rotation: signed by the current key, by the party only, recorded, and enforced at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text
from typer.testing import CliRunner

from deconline.api.convert import to_volumes
from deconline.api.deps import SIGNATURE_HEADER
from deconline.api.schemas import OperationIn
from deconline.cli import app
from deconline.record.envelope import open_sealed
from deconline.record.signing import generate_key, public_key_b64, write_private_key
from deconline.service import operations
from deconline.service.actors import Actor
from deconline.service.errors import Unauthorized
from deconline.service.operations import Draft
from deconline.service.statements import Signed
from deconline.store.db import MIGRATIONS, Database
from deconline.store.models import PartyKey
from tests.helpers import World, at, box, make_world, server

runner = CliRunner()


def rotation_document(world: World, who: str, new: Ed25519PrivateKey, **changes: Any) -> dict[str, Any]:
    body = {
        "kind": "key_rotation",
        "party": who,
        "previous_key": public_key_b64(world.keys[who]),
        "public_key": public_key_b64(new),
        "signed_at": at(0),
    }
    return {**body, **changes}


def rotate(world: World, who: str, new: Ed25519PrivateKey, signer: Ed25519PrivateKey | None = None, **changes: Any):  # type: ignore[no-untyped-def]
    """POST the rotation signed with ``signer`` (the party's current key by default)."""
    body = rotation_document(world, who, new, **changes)
    path = f"/v1/parties/{who}/keys"
    return world.client.post(path, **world.signed_request(who, "POST", path, body, world.now_iso(), signer))


def history(world: World, who: str) -> list[dict[str, Any]]:
    response = world.get("charlie", f"/v1/parties/{who}/keys")
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


def test_rotation_is_accepted_recorded_and_public(world: World) -> None:
    old, new = world.keys["alpha"], generate_key()
    world.clock.now += 60
    response = rotate(world, "alpha", new)
    assert response.status_code == 201, response.text
    rotated = response.json()
    assert rotated["public_key"] == public_key_b64(new) and rotated["valid_until"] is None
    keys = history(world, "alpha")
    assert [k["public_key"] for k in keys] == [public_key_b64(old), public_key_b64(new)]
    assert keys[0]["valid_until"] == keys[1]["valid_from"] == rotated["valid_from"]
    assert keys[0]["record_index"] is None and keys[1]["record_index"] == rotated["record_index"]
    listed = {p["id"]: p["public_key"] for p in world.get("bravo", "/v1/parties").json()}
    assert listed["alpha"] == public_key_b64(new)
    # A public entry: any party (and an auditor) can read it, with the submission signed by the old key.
    for reader in ("charlie", "auditor"):
        entry = world.get(reader, f"/v1/record/entries/{rotated['record_index']}").json()
        parsed = json.loads(entry["entry"])
        assert parsed["event"]["kind"] == "party.key_rotated" and parsed["author"] == "alpha"
        statement = parsed["event"]["statement"]
        assert json.loads(statement)["body"]["public_key"] == public_key_b64(new)
        assert entry["signer"] == "alpha"
        open_sealed(statement.encode(), entry["signature"], public_key_b64(old))


def test_after_a_rotation_only_the_new_key_signs(world: World) -> None:
    old, new = world.keys["alpha"], generate_key()
    assert rotate(world, "alpha", new).status_code == 201
    refused = world.post("alpha", "/v1/operations", {"volumes": [box()]})  # still signed with the old key
    assert refused.status_code == 401 and "signature" in refused.json()["detail"]
    world.keys["alpha"] = new
    assert world.post("alpha", "/v1/operations", {"volumes": [box()]}).status_code == 201
    again = rotate(world, "alpha", generate_key(), signer=old, previous_key=public_key_b64(old))
    assert again.status_code == 401  # the old key cannot rotate any more either
    assert len(history(world, "alpha")) == 2


def test_a_submission_verified_before_a_rotation_is_refused_after_it(world: World) -> None:
    """Checked on arrival with the old key, it reaches the record after the rotation committed."""
    old = world.keys["alpha"]
    document = {"name": "in flight", "volumes": [box()]}
    signed = Signed.of(world.statement("alpha", "POST", "/v1/operations", document, world.now_iso()))
    draft = Draft(to_volumes(OperationIn.model_validate(document).volumes, world.line.limits), "in flight")
    assert rotate(world, "alpha", generate_key()).status_code == 201
    world.clock.now += 1  # its entry would be dated after the rotation: the old key no longer covers it
    with pytest.raises(Unauthorized, match="rotated while this submission was on its way"):
        operations.file(world.line, Actor("party", "alpha", "allies", public_key_b64(old)), draft, signed)
    assert world.get("bravo", "/v1/operations").json() == []
    world.clock.now -= 1  # dated at the rotation's own instant, the old key still covers it
    assert operations.file(world.line, Actor("party", "alpha", "allies"), draft, signed).state == "accepted"


def test_only_the_party_itself_rotates_its_key(world: World) -> None:
    new = generate_key()
    body = rotation_document(world, "alpha", new)
    for who in ("bravo", "charlie"):  # signed with their own keys: still not theirs to rotate
        response = world.post(who, "/v1/parties/alpha/keys", body)
        assert response.status_code == 403, response.text
    for who in ("admin", "auditor"):
        response = world.client.post("/v1/parties/alpha/keys", json=body, headers=world.headers(who))
        assert response.status_code == 403, response.text
    assert world.post("bravo", "/v1/parties/bravo/keys", body).status_code == 422  # names alpha, not bravo
    assert len(history(world, "alpha")) == 1


def test_bad_rotations_are_4xx_and_change_nothing(world: World) -> None:
    current = public_key_b64(world.keys["alpha"])
    new = generate_key()
    body = rotation_document(world, "alpha", new)
    unsigned = world.client.post("/v1/parties/alpha/keys", json=body, headers=world.headers("alpha"))
    assert unsigned.status_code == 401 and SIGNATURE_HEADER in unsigned.json()["detail"]
    wrong_key = rotate(world, "alpha", new, signer=world.keys["bravo"])
    assert wrong_key.status_code == 401 and "signature rejected" in wrong_key.json()["detail"]
    garbage = {**world.headers("alpha"), SIGNATURE_HEADER: "not base64!"}
    assert world.client.post("/v1/parties/alpha/keys", json=body, headers=garbage).status_code == 401
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"public_key": current}, 422, "previous key"),
        ({"public_key": "not a key"}, 422, "base64"),
        ({"public_key": "AAAA"}, 422, "32"),
        ({"public_key": public_key_b64(new).rstrip("=")}, 422, "base64"),
        ({"public_key": public_key_b64(world.keys["charlie"])}, 409, "never used"),
        ({"previous_key": public_key_b64(world.keys["bravo"])}, 409, "current key"),
        ({"party": "bravo"}, 422, "names party"),
        ({"kind": "operation"}, 422, "kind"),
        ({"signed_at": "yesterday"}, 422, "signed_at"),
        ({"signed_at": "2036-11-23T06:00:00"}, 422, "signed_at"),
        ({"extra": 1}, 422, "extra"),
        ({"public_key": 12}, 422, "public_key"),
    ]
    for changes, status, words in cases:
        response = rotate(world, "alpha", new, **changes)
        assert response.status_code == status, (changes, response.text)
        assert words in json.dumps(response.json()["detail"]), (changes, response.text)
    missing = {k: v for k, v in body.items() if k != "public_key"}
    assert world.post("alpha", "/v1/parties/alpha/keys", missing).status_code == 422
    for path in ("/v1/parties/ALPHA!/keys", "/v1/parties/nobody/keys"):
        assert world.post("alpha", path, body).status_code in (403, 404, 422)
    assert world.get("alpha", "/v1/parties/nobody/keys").status_code == 404
    assert world.get("auditor", "/v1/parties/alpha/keys").status_code == 403
    assert [k["public_key"] for k in history(world, "alpha")] == [current]


def test_no_key_is_used_twice(world: World) -> None:
    old, new = world.keys["alpha"], generate_key()
    assert rotate(world, "alpha", new).status_code == 201
    world.keys["alpha"] = new
    back = rotate(world, "alpha", old)  # its own old key
    assert back.status_code == 409 and "never used" in back.json()["detail"]
    other = world.post("admin", "/v1/parties", {"id": "delta", "public_key": public_key_b64(old)})
    assert other.status_code == 409  # nor may a new party register a key another held


def test_the_python_client_rotates_and_signs_with_the_new_key(tmp_path: Path) -> None:

    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    new = generate_key()
    with world.api_client("alpha") as c:
        rotated = c.rotate_key(new)
        assert rotated.public_key == public_key_b64(new) and rotated.party == "alpha"
        assert c.file_operation([box()]).state == "accepted"  # signed with the new key now
        assert [k.public_key for k in c.key_history("alpha")][-1] == public_key_b64(new)
    world.line.db.dispose()


def _alembic(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def test_migration_backfills_one_key_per_party(empty_db_url: str) -> None:
    """0011 on a line made before it: each party's key, valid since its registration."""
    db = Database(empty_db_url)
    config = _alembic(db)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    with db.engine.begin() as connection:
        for party, key, created in (("alpha", "a" * 43 + "=", 100.0), ("bravo", "b" * 43 + "=", 200.0)):
            connection.execute(
                text("INSERT INTO parties (id, public_key, created_at) VALUES (:id, :key, :at)"),
                {"id": party, "key": key, "at": created},
            )
    db.migrate()
    with db.read() as session:
        rows = list(session.scalars(select(PartyKey).order_by(PartyKey.party_id)))
    assert [(r.party_id, r.public_key, r.valid_from, r.valid_until, r.record_index) for r in rows] == [
        ("alpha", "a" * 43 + "=", 100.0, None, None),
        ("bravo", "b" * 43 + "=", 200.0, None, None),
    ]
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
        command.upgrade(config, "head")
    db.dispose()


def test_cli_rotates_the_key_through_a_real_server(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'line.db'}"
    world = make_world(db_url)
    world.line.db.dispose()
    old_file, new_file = tmp_path / "alpha.key", tmp_path / "alpha-2.key"
    write_private_key(world.keys["alpha"], old_file)
    op = tmp_path / "op.json"
    op.write_text(json.dumps({"name": "patrol", "volumes": [box()]}))
    with server(db_url) as url:
        api = ["--url", url, "--token", world.tokens["alpha"]]
        filed = runner.invoke(app, [*api, "--key", str(old_file), "op", "file", str(op)])
        assert filed.exit_code == 0, filed.output
        rotated = runner.invoke(app, [*api, "party", "rotate-key", "--key", str(old_file), "--new-key", str(new_file)])
        assert rotated.exit_code == 0 and "rotated" in rotated.output, rotated.output
        assert new_file.is_file() and new_file.with_suffix(".pub").read_text().strip() in rotated.output
        stale = runner.invoke(app, [*api, "--key", str(old_file), "op", "file", str(op)])
        assert stale.exit_code == 1 and "401" in stale.output
        fresh = runner.invoke(app, [*api, "--key", str(new_file), "op", "file", str(op)])
        assert fresh.exit_code == 0, fresh.output
        again = runner.invoke(
            app, [*api, "party", "rotate-key", "--key", str(old_file), "--new-key", str(tmp_path / "x")]
        )
        assert again.exit_code == 1 and not (tmp_path / "x").exists()  # refused: no stray key left behind
        no_key = runner.invoke(app, [*api, "party", "rotate-key", "--new-key", str(tmp_path / "y")])
        assert no_key.exit_code == 2
    bundle = tmp_path / "alpha.bundle"
    with Database(db_url).read() as session:
        size = session.execute(text("SELECT count(*) FROM record_entries")).scalar_one()
    exported = runner.invoke(
        app, ["--db", db_url, "record", "export", "--from", "0", "--to", str(size - 1), "--out", str(bundle)]
    )
    assert exported.exit_code == 0, exported.output
    data = json.loads(bundle.read_text())
    assert len(data["key_history"]["alpha"]) == 2
    signed_by_alpha = [e for e in data["entries"] if e.get("signer") == "alpha"]
    assert len(signed_by_alpha) == 3  # filed with the old key, the rotation, filed with the new key
    verified = runner.invoke(app, ["record", "verify", str(bundle)])
    assert verified.exit_code == 0 and "VERIFIED" in verified.output, verified.output
