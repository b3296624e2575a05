"""Bundles: the range proof, and tampering of every kind makes verification fail."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.record.bundle import BundleError, range_proof, root_from_range, verify_bundle
from deconline.record.checkpoint import parse_verifier_key
from deconline.record.merkle import MerkleTree, leaf_hash
from deconline.service import disclosure
from tests.helpers import World, box, make_world


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 80), data=st.data())
def test_root_from_any_range(size: int, data: st.DataObject) -> None:
    leaves = [leaf_hash(bytes([i])) for i in range(size)]
    tree = MerkleTree(leaves)
    start = data.draw(st.integers(0, size - 1))
    end = data.draw(st.integers(start + 1, size))
    proof = range_proof(tree, start, end, size)
    assert root_from_range(leaves[start:end], start, size, proof) == tree.root()


@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    world: World = make_world(f"sqlite:///{tmp_path_factory.mktemp('b') / 'line.db'}")
    world.file("alpha", box())
    world.file("charlie", box(12, 50))
    with world.line.db.write() as session:
        bundle = disclosure.export(world.line.record, session, 1, 5, "alpha", world.clock.now)
    world.line.db.dispose()
    return bundle, bundle["key"]


def _verify(bundle: dict[str, Any], key: str) -> None:
    verify_bundle(bundle, parse_verifier_key(key))


def test_small_bundle_verifies(small_bundle: tuple[dict[str, Any], str]) -> None:
    bundle, key = small_bundle
    assert bundle["entries"] and bundle["withheld"]  # charlie's filing is withheld from alpha's bundle
    assert any("signature" in e for e in bundle["entries"])  # alpha's own signed filing
    _verify(bundle, key)


def _strings(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(v, (*path, k))]
    if isinstance(value, list):
        return [s for i, v in enumerate(value) for s in _strings(v, (*path, i))]
    return [(path, value)] if isinstance(value, str) else []


def _set(bundle: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(bundle)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def test_every_single_changed_character_fails(small_bundle: tuple[dict[str, Any], str]) -> None:
    """Exhaustive over every character of every string the verification reads."""
    bundle, key = small_bundle
    checked = 0
    for path, text in _strings(bundle):
        if path[0] in ("key", "signer") or path[-1] == "signer":
            continue  # the key is pinned by the verifier; the signer name selects a key
        for position in range(len(text)):
            replacement = "A" if text[position] != "A" else "B"
            tampered = _set(bundle, path, text[:position] + replacement + text[position + 1 :])
            with pytest.raises(BundleError):
                _verify(tampered, key)
            checked += 1
    assert checked > 1000


def test_dropped_reordered_duplicated_entries_fail(small_bundle: tuple[dict[str, Any], str]) -> None:
    bundle, key = small_bundle
    for kind in ("entries", "withheld"):
        items = bundle[kind]
        for i in range(len(items)):
            with pytest.raises(BundleError, match="neither disclosed nor withheld"):
                _verify(_set(bundle, (kind,), items[:i] + items[i + 1 :]), key)
            with pytest.raises(BundleError, match="twice"):
                _verify(_set(bundle, (kind,), [*items, items[i]]), key)
        if len(items) > 1:
            with pytest.raises(BundleError, match="order"):
                _verify(_set(bundle, (kind,), items[::-1]), key)
    for field, value in (("from", 0), ("to", 6), ("format", "x")):
        with pytest.raises(BundleError):
            _verify(_set(bundle, (field,), value), key)
    with pytest.raises(BundleError):
        _verify(_set(bundle, ("range_proof",), bundle["range_proof"][:-1]), key)
    json.dumps(bundle)  # the fixture is untouched
