"""The record as C2SP tlog-tiles: static, cacheable resources anyone can mirror (issue 25).

A tile at level ``L``, index ``N`` holds up to 256 consecutive Merkle Tree Hashes, hash ``i`` being
``MTH(D[(N*256 + i) * 256**L : (N*256 + i + 1) * 256**L])``: at level 0 the leaf hashes, above
them the roots of full tiles below. A tile of fewer than 256 hashes is *partial*
(``.p/<W>``); the tree of size ``s`` has a partial tile of width ``floor(s / 256**L) mod 256`` at
each level where that is not zero. An entry bundle holds the leaves themselves, each prefixed by
its length as a big-endian uint16: here a leaf is the salted commitment of an entry (32 bytes),
so the bundles reveal nothing the tree does not.

Pure: paths and bytes; :class:`~deconline.record.merkle.MerkleTree` gives the hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from deconline.record.merkle import MerkleTree

WIDTH = 256  # hashes in a full tile
HEIGHT = 8  # levels of the Merkle tree a tile spans (256 = 2**8)
MAX_LEVEL = 63
_PATH = re.compile(
    r"^(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x\d{3}/)*\d{3})(?:\.p/(?P<width>[1-9][0-9]{0,2}))?$"
)


class TileError(ValueError):
    """A tile path that the spec does not allow, or a tile the tree cannot have."""


@dataclass(frozen=True)
class Tile:
    level: int  # -1 for an entry bundle
    index: int
    width: int  # 256 for a full tile

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    @property
    def path(self) -> str:
        """The path below ``<prefix>/tile/``."""
        level = "entries" if self.level < 0 else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"{level}/{encode_index(self.index)}{suffix}"

    def leaves(self) -> tuple[int, int]:
        """The range of entries ``[start, end)`` the tile's hashes span (as far as its width)."""
        span = WIDTH ** max(self.level, 0)
        return self.index * WIDTH * span, (self.index * WIDTH + self.width) * span


def encode_index(index: int) -> str:
    """``1234067`` → ``x001/x234/067``: zero-padded groups of three digits, all but the last with an x."""
    if index < 0:
        raise TileError("a tile index is not negative")
    groups = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if index == 0:
            break
    return "/".join([f"x{g}" for g in reversed(groups[1:])] + [groups[0]])


def parse_path(path: str) -> Tile:
    """The tile a path below ``tile/`` names; :class:`TileError` for any path the spec does not allow."""
    found = _PATH.match(path)
    if found is None:
        raise TileError(f"not a tile path: {path!r} (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])")
    level_text, index_text, width_text = found.group("level"), found.group("index"), found.group("width")
    level = -1 if level_text == "entries" else int(level_text)
    if level > MAX_LEVEL:
        raise TileError(f"a tile level is 0 to {MAX_LEVEL}")
    index = int(index_text.replace("x", "").replace("/", ""))
    width = int(width_text) if width_text is not None else WIDTH
    if width_text is not None and width >= WIDTH:
        raise TileError(f"a partial tile is 1 to {WIDTH - 1} hashes wide")
    tile = Tile(level, index, width)
    if tile.path != path:  # leading zero groups (x000/...) and the like: one spelling per tile
        raise TileError(f"not the canonical path of its tile: {path!r} (it is {tile.path!r})")
    return tile


def tiles_of(size: int) -> list[Tile]:
    """Every Merkle tile of the tree of ``size`` entries (full ones, then each level's partial one)."""
    tiles: list[Tile] = []
    level = 0
    while hashes := size // WIDTH**level:  # the tree's hashes at this tile level
        full, partial = divmod(hashes, WIDTH)
        tiles += [Tile(level, n, WIDTH) for n in range(full)]
        if partial:
            tiles.append(Tile(level, full, partial))
        level += 1
    return tiles


def check_within(tile: Tile, size: int) -> None:
    """The tile exists in the tree of ``size`` entries (a partial one: as a prefix of what exists)."""
    if tile.leaves()[1] > size:
        raise TileError(f"the tree of the latest checkpoint ({size} entries) has no tile {tile.path}")


def tile_bytes(tree: MerkleTree, tile: Tile) -> bytes:
    """The concatenated hashes of a Merkle tile (``tile.level >= 0``) of ``tree``."""
    level = HEIGHT * tile.level
    first = tile.index * WIDTH
    hashes = tree.levels[level][first : first + tile.width] if level < len(tree.levels) else []
    if len(hashes) != tile.width:
        raise TileError(f"the tree has no tile {tile.path}")
    return b"".join(hashes)


def entry_bundle(leaves: list[bytes]) -> bytes:
    """Leaves as an entry bundle: each prefixed by its length, a big-endian uint16."""
    out = bytearray()
    for leaf in leaves:
        if len(leaf) >= 1 << 16:
            raise TileError("an entry of a bundle is shorter than 65,536 bytes")
        out += len(leaf).to_bytes(2, "big") + leaf
    return bytes(out)
