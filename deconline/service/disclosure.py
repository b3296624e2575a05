"""Disclosure bundles: a range of the record with what the reader may see disclosed and the rest
withheld as commitments, with the proofs and key history a verifier needs offline.

A use case above the record and the parties' keys (it reads both); the record itself stays in the base.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconline.record.bundle import FORMAT, range_proof
from deconline.record.entries import commitment
from deconline.service import party_keys, record
from deconline.service.actors import Actor, own_side
from deconline.service.errors import Forbidden, Invalid, NotFound
from deconline.service.record import RecordTree
from deconline.store.models import CheckpointRow, Party, RecordEntry

MAX_EXPORT_ENTRIES = 250_000  # per request through the API: a larger range is exported in pieces


def export(
    line_record: RecordTree, session: Session, start: int, end: int, party: str | None, now: float
) -> dict[str, Any]:
    """A disclosure bundle of ``[start, end]``: what ``party`` may disclose (all, without one), the rest
    withheld. The operator's export, on the database."""
    side: set[str] | None = None
    if party is not None:
        found = session.get(Party, party)
        if found is None:
            raise NotFound(f"no party '{party}'")
        side = own_side(session, party, found.group)
    return _bundle(line_record, session, start, end, side, now)


def export_for(
    line_record: RecordTree, session: Session, actor: Actor, start: int, end: int, now: float
) -> dict[str, Any]:
    """The caller's own bundle, through the API: a party's side's entries disclosed, an auditor the
    public ones, every other leaf withheld as its commitment; the same format as :func:`export`, so
    a party can settle a claim without the operator."""
    if actor.role == "admin":
        raise Forbidden("the admin holds no entries of its own: the operator exports on the database (--db)")
    if end - start + 1 > MAX_EXPORT_ENTRIES:
        raise Invalid(["to"], f"at most {MAX_EXPORT_ENTRIES:,} entries a request: export the range in pieces")
    side = set() if actor.party_id is None else own_side(session, actor.party_id, actor.group)
    return _bundle(line_record, session, start, end, side, now)


def _bundle(
    line_record: RecordTree, session: Session, start: int, end: int, side: set[str] | None, now: float
) -> dict[str, Any]:
    """``side``: the readers whose entries are disclosed (None: every entry)."""
    size = line_record.sync(session)
    if not 0 <= start <= end < size:
        raise Invalid(["from"], f"the range must lie inside the record's {size} entries (0 to {size - 1})")
    record.publish_checkpoint(line_record, session, now)
    row = session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc()).limit(1)).one()

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode()

    entries, withheld = [], []
    for entry_row in session.scalars(
        select(RecordEntry).where(RecordEntry.seq >= start, RecordEntry.seq <= end).order_by(RecordEntry.seq)
    ):
        salt = bytes.fromhex(entry_row.salt)
        if side is None or record.PUBLIC in entry_row.readers or side & set(entry_row.readers):
            item = {"index": entry_row.seq, "entry": entry_row.canonical, "salt": b64(salt)}
            if entry_row.signature:
                item |= {"signature": b64(bytes.fromhex(entry_row.signature)), "signer": entry_row.author}
            entries.append(item)
        else:
            withheld.append({"index": entry_row.seq, "commitment": b64(commitment(salt, entry_row.canonical.encode()))})
    older = session.scalars(
        select(CheckpointRow.size).where(CheckpointRow.size < row.size).order_by(CheckpointRow.size.desc()).limit(1000)
    )
    tree = line_record.tree
    signers = {str(e["signer"]) for e in entries if "signer" in e}
    history, keys = party_keys.export_history(session, tree, signers, row.size)
    return {
        "format": FORMAT,
        "party_keys": keys,  # each signer's last key, for verifiers that predate the history
        "key_history": history,
        "from": start,
        "to": end,
        "checkpoint": row.cosigned or row.note,  # with the witnesses' cosignatures, once they gave them
        "key": record.service_verifier_key(line_record, session),
        "range_proof": [b64(h) for h in range_proof(tree, start, end + 1, row.size)],
        "entries": entries,
        "withheld": withheld,
        "consistency": {str(s): [b64(h) for h in tree.consistency_proof(s, row.size)] for s in older},
    }
