"""Party key rotation and the key history that keeps old signatures verifiable.

A party replaces its key itself, with a document naming the new key signed by its current one;
the admin cannot, so a compromised admin token cannot take over a party's signatures. The
rotation is a public record entry, written in the same transaction, so a third party can follow
the chain of keys from the one the party was registered with.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from deconline.record.key_history import ROTATED
from deconline.record.merkle import MerkleTree
from deconline.record.signing import SignatureError, load_public_key, public_key_b64
from deconline.service import record
from deconline.service.actors import Actor
from deconline.service.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from deconline.service.line import Line
from deconline.service.parties import key_in_use
from deconline.service.statements import Signed
from deconline.store.models import Counter, Party, PartyKey, RecordEntry

ROTATION_KIND = "key_rotation"  # the document's "kind": a signature over it can mean nothing else


@dataclass(frozen=True)
class Rotation:
    """What the signed document asks for (already checked for shape by the API)."""

    party: str
    previous_key: str
    public_key: str


def _canonical_key(value: str, loc: str) -> str:
    """The one base64 spelling of a 32-byte key: two spellings of one key must not pass as two keys."""
    try:
        spelled = public_key_b64(load_public_key(value))
    except SignatureError as exc:
        raise Invalid(["body", loc], str(exc)) from exc
    if spelled != value:
        raise Invalid(["body", loc], f"write the key in canonical base64: {spelled}")
    return spelled


def rotate(line: Line, actor: Actor, party_id: str, rotation: Rotation, signed: Signed | None) -> PartyKey:
    """Make ``rotation.public_key`` the party's key from now on; the old one stays in the history."""
    own = actor.require_party()
    if own != party_id:
        raise Forbidden(f"a party rotates only its own key: your token is {own}'s, not {party_id}'s")
    if signed is None:
        raise Unauthorized("sign the rotation with your current key")
    if rotation.party != party_id:
        raise Invalid(["body", "party"], f"the document names party '{rotation.party}', not '{party_id}'")
    new_key = _canonical_key(rotation.public_key, "public_key")
    if new_key == rotation.previous_key:
        raise Invalid(["body", "public_key"], "the new key is the previous key: make a new key pair")
    with line.db.write() as session:
        # The record's counter row first, held to the commit: every entry before this rotation is
        # then committed (so its time is earlier) and none can come between.
        lock = select(Counter.value).where(Counter.name == record.RECORD_COUNTER).with_for_update()
        session.execute(lock)
        party = session.get(Party, party_id)  # read under that lock: the current key, as committed
        if party is None:
            raise NotFound(f"no party '{party_id}'")
        current = party.public_key
        if rotation.previous_key != current:
            raise Conflict(
                f"the document rotates from key {rotation.previous_key[:12]}…, but {party_id}'s current key is "
                f"{current[:12]}…: sign a new document with the current key"
            )
        try:  # again, inside the transaction: a rotation that raced this one changed the key
            signed.verify(current)
        except SignatureError as exc:
            raise Unauthorized(f"signature rejected: sign the rotation with {party_id}'s current key ({exc})") from exc
        if key_in_use(session, new_key):
            raise Conflict("this key is, or was, a party's key: a rotation needs a key never used on this line")
        now = line.clock()
        session.execute(
            update(PartyKey)
            .where(PartyKey.party_id == party_id, PartyKey.valid_until.is_(None))
            .values(valid_until=now)
        )
        event = {"party": party_id, "previous_key": current, "public_key": new_key, "valid_from": now}
        index = record.append_numbered(line.record, session, now, party_id, ROTATED, event, [record.PUBLIC], signed)
        row = PartyKey(
            party_id=party_id,
            public_key=new_key,
            valid_from=now,
            document=signed.statement.decode(),  # what the signature covers (in its DSSE PAE)
            signature=signed.signature,
            record_index=index,
        )
        session.add(row)
        party.public_key = new_key
        session.flush()
        return row


def history(line: Line, actor: Actor, party_id: str) -> list[PartyKey]:
    """A party's keys, oldest first (public, as the parties' keys are)."""
    if actor.role == "auditor":
        raise Forbidden("an auditor token reads the record only")
    with line.db.read() as session:
        if session.get(Party, party_id) is None:
            raise NotFound(f"no party '{party_id}'")
        return _rows(session, [party_id])


def _rows(session: Session, party_ids: list[str]) -> list[PartyKey]:
    query = (
        select(PartyKey).where(PartyKey.party_id.in_(party_ids)).order_by(PartyKey.id)
    )  # the order they were made in
    return list(session.scalars(query))


def export_history(
    session: Session, tree: MerkleTree, party_ids: set[str], size: int
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """For a bundle of a tree of ``size``: each party's keys with their validity, and each rotation
    with its record entry, salt, signature and inclusion proof, so an offline verifier can follow
    the chain from the first key and tie it to the signed checkpoint. Also the last key of each
    (the bundle's old ``party_keys`` field)."""

    def b64(value: bytes) -> str:
        return base64.b64encode(value).decode()

    chains: dict[str, list[dict[str, Any]]] = {}
    for row in _rows(session, sorted(party_ids)):
        chain = chains.setdefault(row.party_id, [])
        if row.record_index is not None and row.record_index >= size:
            continue  # rotated after the checkpoint: no entry of the bundle can need it
        if chain and row.record_index is None:
            continue  # only a party's first key comes without a rotation
        item: dict[str, Any] = {"public_key": row.public_key, "valid_from": row.valid_from, "valid_until": None}
        if chain:
            chain[-1]["valid_until"] = row.valid_from
            entry = session.get(RecordEntry, row.record_index)
            assert entry is not None and entry.signature is not None
            item["rotation"] = {
                "index": entry.seq,
                "entry": entry.canonical,
                "salt": b64(bytes.fromhex(entry.salt)),
                "signature": b64(bytes.fromhex(entry.signature)),
                "proof": [b64(h) for h in tree.inclusion_proof(entry.seq, size)],
            }
        chain.append(item)
    chains = {party: chain for party, chain in chains.items() if chain}
    return chains, {party: chain[-1]["public_key"] for party, chain in chains.items()}
