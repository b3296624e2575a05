"""Bundles across key rotations: each signed entry checks against the key valid at its time, each
rotation against the key before it, and the history is tied to the signed checkpoint."""

from __future__ import annotations

import base64
import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from deconline.cli import app
from deconline.record.bundle import BundleError, verify_bundle
from deconline.record.checkpoint import parse_verifier_key
from deconline.record.entries import entry_bytes, entry_leaf_hash
from deconline.record.envelope import PAYLOAD_TYPE, pae
from deconline.record.signing import generate_key, load_public_key, public_key_b64, sign_document
from deconline.service import disclosure, record
from deconline.store.models import Counter, RecordEntry
from tests.helpers import World, at, box, make_world

runner = CliRunner()


@dataclass
class Rotated:
    world: World
    keys: list[Ed25519PrivateKey]  # alpha's keys, oldest first
    times: list[float]  # when each later key took over


def _rotate(world: World, new: Ed25519PrivateKey) -> dict[str, Any]:
    body = {
        "kind": "key_rotation",
        "party": "alpha",
        "previous_key": public_key_b64(world.keys["alpha"]),
        "public_key": public_key_b64(new),
        "signed_at": at(0),
    }
    request = world.signed_request("alpha", "POST", "/v1/parties/alpha/keys", body, world.now_iso())
    response = world.client.post("/v1/parties/alpha/keys", **request)
    assert response.status_code == 201, response.text
    world.keys["alpha"] = new
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture(scope="module")
def rotated(tmp_path_factory: pytest.TempPathFactory) -> Rotated:
    """alpha files, rotates, files, rotates again, files; charlie files (withheld from alpha)."""
    world = make_world(f"sqlite:///{tmp_path_factory.mktemp('rot') / 'line.db'}")
    keys, times = [world.keys["alpha"]], []
    world.file("alpha", box(), name="before")
    for n in range(2):
        world.clock.now += 60
        keys.append(generate_key())
        _rotate(world, keys[-1])
        times.append(world.clock.now)
        world.clock.now += 60
        world.file("alpha", box(11 + n, 50), name=f"after {n + 1}")
    world.file("charlie", box(14, 50))
    return Rotated(world, keys, times)


def export(world: World, party: str | None = "alpha") -> dict[str, Any]:
    with world.line.db.write() as session:
        size = world.line.record.sync(session)
        bundle: dict[str, Any] = disclosure.export(world.line.record, session, 0, size - 1, party, world.clock.now)
    return bundle


def verify(bundle: dict[str, Any], **pinned: Ed25519PrivateKey) -> None:
    keys = {p: load_public_key(public_key_b64(k)) for p, k in pinned.items()} if pinned else None
    verify_bundle(bundle, parse_verifier_key(bundle["key"]), keys)


def _signed_by(bundle: dict[str, Any], party: str) -> list[dict[str, Any]]:
    return [json.loads(e["entry"]) for e in bundle["entries"] if e.get("signer") == party]


def test_entries_before_and_after_rotations_verify(rotated: Rotated) -> None:
    bundle = export(rotated.world)
    kinds = [e["event"]["kind"] for e in _signed_by(bundle, "alpha")]
    assert kinds == ["operation.filed", "party.key_rotated", "operation.filed", "party.key_rotated", "operation.filed"]
    history = bundle["key_history"]["alpha"]
    assert [k["public_key"] for k in history] == [public_key_b64(k) for k in rotated.keys]
    assert [k["valid_from"] for k in history[1:]] == rotated.times
    assert bundle["party_keys"] == {"alpha": public_key_b64(rotated.keys[-1])}
    assert bundle["withheld"]  # charlie's filing
    verify(bundle)
    verify(export(rotated.world, None))  # everything, every signer
    verify(bundle, alpha=rotated.keys[0])  # pinned to the key alpha registered: the chain starts there


def test_a_later_pinned_key_vouches_only_from_its_time(rotated: Rotated) -> None:
    bundle = export(rotated.world)
    with pytest.raises(BundleError, match="no key of alpha is valid at the entry's time"):
        verify(bundle, alpha=rotated.keys[-1])
    with pytest.raises(BundleError, match="not in its key history"):
        verify(bundle, alpha=generate_key())


def test_without_the_history_the_old_signatures_do_not_verify(rotated: Rotated) -> None:
    """What the history is for: the last key alone cannot check what the first one signed."""
    bundle = export(rotated.world)
    del bundle["key_history"]
    with pytest.raises(BundleError, match="does not match the key valid at the entry's time"):
        verify(bundle)


def _history(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = bundle["key_history"]["alpha"]
    return history


def test_a_rotation_not_signed_by_the_previous_key_fails(rotated: Rotated) -> None:
    bundle = export(rotated.world)
    forged = copy.deepcopy(bundle)
    rotation = _history(forged)[2]["rotation"]
    statement = json.loads(rotation["entry"])["event"]["statement"]
    forged_signature = rotated.keys[2].sign(pae(PAYLOAD_TYPE, statement.encode()))  # by the new key itself
    rotation["signature"] = base64.b64encode(forged_signature).decode()
    with pytest.raises(BundleError, match="is not signed by its previous key"):
        verify(forged)
    skipped = copy.deepcopy(bundle)
    del _history(skipped)[1]  # a key left out: the next rotation is not signed by the key before it
    with pytest.raises(BundleError, match=r"does not rotate from the key before it|not signed by its previous"):
        verify(skipped)
    stranger = copy.deepcopy(bundle)
    _history(stranger)[-1]["public_key"] = public_key_b64(generate_key())
    with pytest.raises(BundleError, match="rotation"):
        verify(stranger)


def test_a_history_not_in_the_log_or_moved_in_time_fails(rotated: Rotated) -> None:
    bundle = export(rotated.world)
    changes = {
        "no rotation": (lambda h: h[1].pop("rotation"), "without its record entry"),
        "other entry": (lambda h: h[1]["rotation"].update(index=0), "not in the checkpoint's tree"),
        "edited entry": (
            lambda h: h[1]["rotation"].update(entry=h[1]["rotation"]["entry"].replace('"alpha"', '"bravo"')),
            "not in the checkpoint's tree",
        ),
        "later start": (lambda h: h[1].update(valid_from=h[1]["valid_from"] + 30), "take over at its rotation"),
        "longer life": (lambda h: h[0].update(valid_until=h[0]["valid_until"] + 30), "take over at its rotation"),
        "ended": (lambda h: h[-1].update(valid_until=h[-1]["valid_from"] + 1), "must still be valid"),
        "first rotated": (lambda h: h[0].update(rotation=h[1]["rotation"]), "has no rotation"),
        "repeated key": (lambda h: h.append(dict(h[0])), "already used"),
    }
    for name, (change, message) in changes.items():
        tampered = copy.deepcopy(bundle)
        change(_history(tampered))
        with pytest.raises(BundleError, match=message):
            verify(tampered)
            pytest.fail(f"{name}: verified")
    legacy = copy.deepcopy(bundle)
    legacy["party_keys"]["alpha"] = public_key_b64(rotated.keys[0])
    with pytest.raises(BundleError, match="not the last of its key history"):
        verify(legacy)


def test_an_entry_dated_before_the_key_that_signed_it_fails(rotated: Rotated) -> None:
    """An entry signed with the new key but moved before the rotation (its text edited)."""
    bundle = export(rotated.world)
    item = next(e for e in bundle["entries"] if '"after 1"' in e["entry"])
    entry = json.loads(item["entry"])
    item["entry"] = item["entry"].replace(json.dumps(entry["time"]), json.dumps(rotated.times[0] - 30))
    with pytest.raises(BundleError, match="does not match the key valid at the entry's time") as failed:
        verify(bundle)
    assert public_key_b64(rotated.keys[0])[:12] in str(failed.value)  # names the key that was valid then


def test_a_backdated_entry_in_the_log_fails(tmp_path: Path) -> None:
    """An operator that writes an entry signed by the new key, dated before the rotation, into the
    log itself (the checkpoint covers it): the bundle still fails, at that entry."""
    world = make_world(f"sqlite:///{tmp_path / 'line.db'}")
    old = world.keys["alpha"]
    world.clock.now += 60
    _rotate(world, generate_key())
    document = {"name": "backdated", "volumes": [box()]}
    with world.line.db.write() as session:
        counter = session.get(Counter, record.RECORD_COUNTER)
        assert counter is not None
        seq, counter.value = counter.value, counter.value + 1
        canonical = entry_bytes(
            seq, world.clock.now - 30, "alpha", {"kind": "operation.filed", "submission": document}, ["alpha"]
        )
        salt = os.urandom(32)
        signature = base64.b64decode(sign_document(world.keys["alpha"], document)).hex()
        session.add(
            RecordEntry(
                seq=seq,
                time_s=world.clock.now - 30,
                author="alpha",
                kind="operation.filed",
                readers=["alpha"],
                canonical=canonical.decode(),
                salt=salt.hex(),
                leaf_hash=entry_leaf_hash(salt, canonical).hex(),
                signature=signature,
            )
        )
    bundle = export(world)
    with pytest.raises(
        BundleError, match=f"entry {seq}: the signature by alpha does not match the key valid"
    ) as failed:
        verify(bundle)
    assert public_key_b64(old)[:12] in str(failed.value)  # the key alpha held at that time
    world.line.db.dispose()


def test_every_changed_character_of_the_history_fails(rotated: Rotated) -> None:
    bundle = export(rotated.world)
    checked = 0
    for n, item in enumerate(_history(bundle)):
        strings = [(("public_key",), item["public_key"])]
        if "rotation" in item:
            rotation = item["rotation"]
            strings += [((k,), rotation[k]) for k in ("entry", "salt", "signature")]
            strings += [(("proof", i), h) for i, h in enumerate(rotation["proof"])]
        for path, text in strings:
            for position in range(0, len(text), 3):
                replacement = "A" if text[position] != "A" else "B"
                tampered = copy.deepcopy(bundle)
                target = _history(tampered)[n]
                if path[0] != "public_key":
                    target = target["rotation"]
                if len(path) == 2:
                    target[path[0]][path[1]] = text[:position] + replacement + text[position + 1 :]
                else:
                    target[path[0]] = text[:position] + replacement + text[position + 1 :]
                with pytest.raises(BundleError):
                    verify(tampered)
                checked += 1
    assert checked > 300


def test_record_verify_cli_across_a_rotation(rotated: Rotated, tmp_path: Path) -> None:
    bundle = export(rotated.world)
    good = tmp_path / "alpha.bundle"
    good.write_text(json.dumps(bundle))
    verified = runner.invoke(app, ["record", "verify", str(good), "--key", bundle["key"]])
    assert verified.exit_code == 0 and "VERIFIED" in verified.output, verified.output
    item = next(e for e in bundle["entries"] if '"after 2"' in e["entry"])
    time_s = json.loads(item["entry"])["time"]
    item["entry"] = item["entry"].replace(json.dumps(time_s), json.dumps(rotated.times[1] - 1))
    bad = tmp_path / "backdated.bundle"
    bad.write_text(json.dumps(bundle))
    failed = runner.invoke(app, ["record", "verify", str(bad), "--key", bundle["key"]])
    assert failed.exit_code == 1, failed.output
    said = " ".join(failed.output.split())
    assert said.startswith("FAILED entry") and "does not match the key valid at the entry's time" in said
