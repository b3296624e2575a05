"""The record's tiles (C2SP tlog-tiles), served from the tree and the stored leaves, only as far as
the latest signed checkpoint reaches: anyone may mirror the tree and check it against that
checkpoint without a token, and learns nothing but salted commitments."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deconline.record.tiles import Tile, TileError, check_within, entry_bundle, parse_path, tile_bytes
from deconline.service.errors import NotFound
from deconline.service.record import RecordTree
from deconline.store.models import CheckpointRow, RecordEntry


def read_tile(record: RecordTree, session: Session, path: str) -> tuple[Tile, bytes]:
    """The tile at ``path`` (below ``tile/``) and its bytes; :class:`NotFound` for a path the spec
    does not allow or a tile beyond the latest checkpoint."""
    try:
        tile = parse_path(path)
        size = session.scalar(select(func.max(CheckpointRow.size))) or 0
        check_within(tile, size)
    except TileError as exc:
        raise NotFound(str(exc)) from exc
    if tile.level >= 0:
        record.sync(session)
        return tile, tile_bytes(record.tree, tile)
    start, end = tile.leaves()
    rows = session.execute(
        select(RecordEntry.salt, RecordEntry.canonical)
        .where(RecordEntry.seq >= start, RecordEntry.seq < end)
        .order_by(RecordEntry.seq)
    )
    leaves = [hashlib.sha256(bytes.fromhex(salt) + canonical.encode()).digest() for salt, canonical in rows]
    return tile, entry_bundle(leaves)
