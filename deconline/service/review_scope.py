"""Who reads a periodic review, over which period, and the record's events in it (see ``review``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from deconline.service.record import readable
from deconline.store.models import RecordEntry


@dataclass(frozen=True)
class Scope:
    """Who reads the review and over which period (both ends included, epoch seconds)."""

    role: str
    party: str | None
    side: frozenset[str]
    start: float
    end: float

    @property
    def detailed(self) -> bool:
        """Only a party sees items (ids, names, its own geometry); the others see counts."""
        return self.role == "party"

    def during(self, t: float | None) -> bool:
        return t is not None and self.start <= t <= self.end

    def reads(self, readers: list[str]) -> bool:
        """The record's rule for a party; the admin and auditor count every entry."""
        return not self.detailed or readable(self.side, readers)


def events(session: Session, scope: Scope, kind_like: str) -> list[tuple[float, dict[str, Any]]]:
    """Record entries of the period whose kind matches ``kind_like`` (SQL LIKE), as ``(time, event)``,
    limited to those the reader may see."""
    rows = session.execute(
        select(RecordEntry.time_s, RecordEntry.canonical, RecordEntry.readers)
        .where(RecordEntry.kind.like(kind_like), RecordEntry.time_s.between(scope.start, scope.end))
        .order_by(RecordEntry.seq)
    )
    return [(t, json.loads(canonical)["event"]) for t, canonical, readers in rows if scope.reads(readers)]
