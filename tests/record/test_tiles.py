"""Tile paths and shapes, from the examples of C2SP tlog-tiles itself."""

from __future__ import annotations

import pytest

from deconline.record.merkle import MerkleTree, leaf_hash
from deconline.record.tiles import Tile, TileError, encode_index, entry_bundle, parse_path, tile_bytes, tiles_of


def test_the_specs_examples() -> None:
    assert encode_index(1234067) == "x001/x234/067"
    assert parse_path("0/x001/x234/067") == Tile(0, 1234067, 256)
    tiles = tiles_of(70_000)  # 273 full level-0 tiles, one of width 112; one full level-1, one of 17; one of 1
    assert sum(1 for t in tiles if t.level == 0 and t.full) == 273
    assert [t.path for t in tiles if not t.full] == ["0/273.p/112", "1/001.p/17", "2/000.p/1"]
    assert [t.path for t in tiles if t.level == 1 and t.full] == ["1/000"]
    assert [t.path for t in tiles_of(256)] == ["0/000", "1/000.p/1"]  # as the spec says
    assert tiles_of(0) == [] and [t.path for t in tiles_of(1)] == ["0/000.p/1"]


@pytest.mark.parametrize(
    "path",
    ["0/x000/001", "0/01", "0/1", "64/000", "00/000", "0/000.p/256", "0/000.p/0", "0/000.p/012", "0/000/", "x/000"],
)
def test_paths_the_spec_does_not_allow_are_refused(path: str) -> None:
    with pytest.raises(TileError):
        parse_path(path)


def test_every_tile_round_trips_and_holds_the_trees_hashes() -> None:
    tree = MerkleTree()
    for k in range(70_000):
        tree.append(leaf_hash(k.to_bytes(32, "big")))
    for tile in tiles_of(70_000):
        assert parse_path(tile.path) == tile
        data = tile_bytes(tree, tile)
        assert len(data) == 32 * tile.width
        start, end = tile.leaves()
        span = (end - start) // tile.width
        first = data[:32]
        assert first == tree.root_of(start, start + span)  # MTH of its first subtree
    with pytest.raises(TileError):
        tile_bytes(tree, Tile(0, 273, 113))  # wider than the tree
    assert entry_bundle([b"ab", b""]) == b"\x00\x02ab\x00\x00"
