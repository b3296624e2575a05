"""Who is calling, and which parties count as one's own side.

Part of the service's base: the record's disclosure rule and every use case need these, so this
module imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconline.service.errors import Forbidden
from deconline.store.models import Party

Role = Literal["admin", "party", "auditor"]
ROLES: tuple[Role, ...] = ("admin", "party", "auditor")


@dataclass(frozen=True)
class Actor:
    """Who is calling: an admin, an auditor, or a party (with its group, if any)."""

    role: Role
    party_id: str | None = None
    group: str | None = None
    public_key: str | None = field(default=None, compare=False, repr=False)  # verifies its submissions

    def require_party(self) -> str:
        if self.role != "party" or self.party_id is None:
            raise Forbidden(f"this needs a party token; a token with role '{self.role}' cannot do it")
        return self.party_id

    def require_admin(self) -> None:
        if self.role != "admin":
            raise Forbidden("this needs an admin token")


_SIDES = "deconline.sides"


def own_side(session: Session, party_id: str, group: str | None) -> set[str]:
    """The party and the members of its group: data of these counts as one's own. Read once per
    group and transaction (a batch of filings asks once per filing)."""
    if group is None:
        return {party_id}
    sides: dict[str, frozenset[str]] = session.info.setdefault(_SIDES, {})
    members = sides.get(group)
    if members is None:
        members = sides[group] = frozenset(session.connection().scalars(select(Party.id).where(Party.group == group)))
    return set(members) | {party_id}
