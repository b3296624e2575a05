"""The Merkle tree against the transparency-dev golden vectors and the RFC's recursive definitions."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.record.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from tests.conftest import SHARED

GOLDEN = SHARED / "data" / "merkle-testdata"


def _b64(value: Any) -> bytes:
    return base64.b64decode(value) if value else b""


def _cases(kind: str) -> list[Path]:
    return sorted((GOLDEN / kind).rglob("*.json"))


@pytest.mark.parametrize("path", _cases("inclusion"), ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden_inclusion(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    try:
        verify_inclusion(case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"]))
        failed = False
    except ProofError:
        failed = True
    assert failed == case["wantErr"], case["desc"]


@pytest.mark.parametrize("path", _cases("consistency"), ids=lambda p: str(p.relative_to(GOLDEN)))
def test_golden_consistency(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    try:
        verify_consistency(case["size1"], case["size2"], _b64(case["root1"]), _b64(case["root2"]), proof)
        failed = False
    except ProofError:
        failed = True
    assert failed == case["wantErr"], case["desc"]


def test_golden_cases_are_all_there() -> None:
    assert len(_cases("inclusion")) + len(_cases("consistency")) == 196


# --- the RFC's recursive definitions, verbatim ----------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = _k(len(leaves))
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return [*path(m, leaves[:k]), mth(leaves[k:])]
    return [*path(m - k, leaves[k:]), mth(leaves[:k])]


def subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, leaves[:k], b), mth(leaves[k:])]
    return [*subproof(m - k, leaves[k:], False), mth(leaves[:k])]


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 70), data=st.data())
def test_tree_matches_the_rfc_definitions(n: int, data: st.DataObject) -> None:
    leaves = [bytes([i % 256, i // 256]) for i in range(n)]
    tree = MerkleTree([leaf_hash(d) for d in leaves])
    size = data.draw(st.integers(1, n))
    assert tree.root(size) == mth(leaves[:size])
    index = data.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    assert proof == path(index, leaves[:size])
    verify_inclusion(index, size, leaf_hash(leaves[index]), proof, tree.root(size))
    first = data.draw(st.integers(1, size))
    consistency = tree.consistency_proof(first, size)
    assert consistency == subproof(first, leaves[:size], True)
    verify_consistency(first, size, tree.root(first), tree.root(size), consistency)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 40), data=st.data())
def test_any_changed_proof_byte_fails(n: int, data: st.DataObject) -> None:
    tree = MerkleTree([leaf_hash(bytes([i])) for i in range(n)])
    index = data.draw(st.integers(0, n - 1))
    proof = tree.inclusion_proof(index, n)
    if not proof:
        return
    which = data.draw(st.integers(0, len(proof) - 1))
    byte = data.draw(st.integers(0, 31))
    broken = list(proof)
    broken[which] = broken[which][:byte] + bytes([broken[which][byte] ^ 1]) + broken[which][byte + 1 :]
    with pytest.raises(ProofError):
        verify_inclusion(index, n, tree.levels[0][index], broken, tree.root())


def test_empty_tree_root() -> None:
    assert MerkleTree().root() == EMPTY_ROOT
