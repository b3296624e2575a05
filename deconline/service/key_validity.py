"""The last check of a party's signature, as its entry is numbered: by a key valid at its time.

A submission is verified on arrival with the key its token's party held then. If the party
rotates its key before the submission's transaction commits, that key may no longer be valid at
the entry's time, and a bundle would then fail to verify it. The record calls this with its
counter row locked (a rotation holds that row to its commit), so the keys read then are the
committed ones. It costs one indexed read per commit, sent with the counter's update; a
signature is verified again only in the minutes after a rotation, the longest any request can be
on its way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from sqlalchemy import ARRAY, String, any_, bindparam, or_, select

from deconline.record.signing import SignatureError, load_public_key
from deconline.service.errors import Unauthorized
from deconline.store.models import PartyKey

KEY_CHANGE_WINDOW_S = 300.0  # longer than any request can be on its way (clients time out at 30 s)

_KEY_COLUMNS = (
    PartyKey.party_id,
    PartyKey.public_key,
    PartyKey.valid_from,
    PartyKey.valid_until,
    PartyKey.record_index,
)
_STILL_VALID = or_(PartyKey.valid_until.is_(None), PartyKey.valid_until >= bindparam("since"))
RECENT_KEYS = select(*_KEY_COLUMNS).where(PartyKey.party_id.in_(bindparam("parties", expanding=True)), _STILL_VALID)
# The same, as one compiled statement (PostgreSQL: the parties as an array), to be sent together
# with the statement that locks the record's counter row (``store.pipeline``).
RECENT_KEYS_PG = select(*_KEY_COLUMNS).where(
    PartyKey.party_id == any_(bindparam("parties", type_=ARRAY(String))), _STILL_VALID
)
SignedEntry = tuple[str, float, bytes, str]  # (author, time, signed bytes, signature as hex)


class KeyRow(NamedTuple):
    """A row of ``RECENT_KEYS``, in its columns' order."""

    party_id: str
    public_key: str
    valid_from: float
    valid_until: float | None
    record_index: int | None


def keys_wanted(entries: list[SignedEntry]) -> dict[str, Any] | None:
    """What ``RECENT_KEYS`` must be given to check these entries; None when none is signed."""
    if not entries:
        return None
    earliest = min(time_s for _, time_s, _, _ in entries) - KEY_CHANGE_WINDOW_S
    return {"parties": sorted({e[0] for e in entries}), "since": earliest}


def check_signed(rows: Iterable[Sequence[Any]], entries: list[SignedEntry]) -> None:
    """``entries``: each signed entry to be written; ``rows``: what ``RECENT_KEYS`` read for them
    with the record's counter row locked. Raises :class:`Unauthorized` for an entry whose
    signature no key valid at its time verifies."""
    keys = [KeyRow(*row) for row in rows]
    for author, time_s, signed_bytes, signature_hex in entries:
        since = time_s - KEY_CHANGE_WINDOW_S
        recent = [k for k in keys if k.party_id == author and (k.valid_until is None or k.valid_until >= since)]
        if not any(k.record_index is not None and k.valid_from >= since for k in recent):
            continue  # no rotation lately: the key checked on arrival is still the party's
        valid = [k.public_key for k in recent if _covers(k.valid_from, k.valid_until, k.record_index is None, time_s)]
        message, signature = signed_bytes, bytes.fromhex(signature_hex)
        for key in valid:
            try:
                load_public_key(key).verify(signature, message)
                break
            except (InvalidSignature, SignatureError):
                continue
        else:
            raise Unauthorized(
                f"signature rejected: {author}'s key was rotated while this submission was on its way; "
                "sign it again with the new key"
            )


def _covers(valid_from: float, valid_until: float | None, first: bool, time_s: float) -> bool:
    """As a bundle's verifier reads a key history: bounds included; the registered key from any
    time (nothing is signed by a party before it exists, and instances' clocks differ a little)."""
    return (first or valid_from <= time_s) and (valid_until is None or time_s <= valid_until)
