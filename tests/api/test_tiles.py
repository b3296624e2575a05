"""The record served as C2SP tlog-tiles (issue 25): an auditor with only the public prefix mirrors
the tree and recomputes the latest checkpoint's root, with a client written from the spec's text
(not the service's Merkle code); full tiles never change once served."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from deconline.record.checkpoint import open_checkpoint, parse_verifier_key
from deconline.service import record
from tests.helpers import World, make_world

PREFIX = "/v1/record"


def _mth(hashes: list[bytes]) -> bytes:
    """RFC 6962 2.1 over leaf hashes: split at the largest power of two below n."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(hashes[:k]) + _mth(hashes[k:])).digest()


def _index(n: int) -> str:
    groups = f"{n:d}"
    groups = groups.zfill((len(groups) + 2) // 3 * 3)
    parts = [groups[i : i + 3] for i in range(0, len(groups), 3)]
    return "/".join([f"x{p}" for p in parts[:-1]] + [parts[-1]])


class Auditor:
    """Reads only ``<prefix>/checkpoint`` and ``<prefix>/tile/...``, without a token."""

    def __init__(self, world: World) -> None:
        self.http = world.client
        self.key = parse_verifier_key(world.get("auditor", f"{PREFIX}/key").text)  # pinned out of band

    def get(self, path: str) -> bytes:
        response = self.http.get(f"{PREFIX}/{path}")
        assert response.status_code == 200, (path, response.text)
        return response.content

    def mirror(self) -> tuple[int, bytes, list[bytes]]:
        """The checkpoint's size and root, and every leaf hash, from level-0 tiles and entry bundles."""
        note = self.get("checkpoint").decode()
        signed = open_checkpoint(note, self.key)
        size = signed.size
        leaves: list[bytes] = []
        for n in range((size + 255) // 256):
            width = min(256, size - 256 * n)
            suffix = "" if width == 256 else f".p/{width}"
            tile = self.get(f"tile/0/{_index(n)}{suffix}")
            hashes = [tile[i : i + 32] for i in range(0, len(tile), 32)]
            bundle = self.get(f"tile/entries/{_index(n)}{suffix}")
            entries, at = [], 0
            while at < len(bundle):
                length = int.from_bytes(bundle[at : at + 2], "big")
                entries.append(bundle[at + 2 : at + 2 + length])
                at += 2 + length
            assert [hashlib.sha256(b"\x00" + e).digest() for e in entries] == hashes
            leaves += hashes
        return size, signed.root, leaves


def _grow(world: World, n: int) -> None:
    with world.line.db.write() as session:
        for k in range(n):
            record.append(world.line.record, session, world.clock.now, "service", "test.filler", {"k": k}, ["*"])
    with world.line.db.write() as session:
        record.publish_checkpoint(world.line.record, session, world.clock.now)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(f"sqlite:///{tmp_path / 'line.db'}")


def test_an_auditor_mirrors_the_tree_from_tiles_and_finds_the_checkpoints_root(world: World) -> None:
    _grow(world, 600)
    auditor = Auditor(world)
    size, root, leaves = auditor.mirror()
    assert size > 600 and len(leaves) == size
    assert _mth(leaves) == root
    level1 = auditor.get(f"tile/1/000.p/{size // 256}")  # each hash: the root of a full level-0 tile
    assert [level1[i : i + 32] for i in range(0, len(level1), 32)] == [
        _mth(leaves[256 * i : 256 * (i + 1)]) for i in range(size // 256)
    ]


def test_full_tiles_never_change_and_are_cached_for_ever(world: World) -> None:
    _grow(world, 300)
    first = world.client.get(f"{PREFIX}/tile/0/000")
    bundle = world.client.get(f"{PREFIX}/tile/entries/000")
    assert first.status_code == bundle.status_code == 200 and len(first.content) == 8192
    assert "immutable" in first.headers["cache-control"] and first.headers["content-type"] == "application/octet-stream"
    assert world.client.get(f"{PREFIX}/checkpoint").headers["cache-control"] == "no-cache"
    _grow(world, 300)
    assert world.client.get(f"{PREFIX}/tile/0/000").content == first.content
    assert world.client.get(f"{PREFIX}/tile/entries/000").content == bundle.content
    size, root, leaves = Auditor(world).mirror()
    assert size > 600 and _mth(leaves) == root


def test_tiles_beyond_the_checkpoint_or_off_the_spec_are_404(world: World) -> None:
    _grow(world, 10)
    with world.line.db.write() as session:  # entries after the latest checkpoint
        record.append(world.line.record, session, world.clock.now, "service", "test.filler", {}, ["*"])
    size = open_checkpoint(world.client.get(f"{PREFIX}/checkpoint").text, Auditor(world).key).size
    assert world.client.get(f"{PREFIX}/tile/0/000.p/{size}").status_code == 200
    for path in (f"0/000.p/{size + 1}", "0/001", "0/x000/000", "0/000.p/256", "1/000", "entries/000", "64/000"):
        response = world.client.get(f"{PREFIX}/tile/{path}")
        assert response.status_code == 404, (path, response.text)
