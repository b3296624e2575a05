"""Pruning the persisted events gives what the rule says, on both databases: each party's events
up to its last one created before the cut-off go, nothing else (the reference is the rule itself,
over plain tuples)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from deconline.service.events import prune
from deconline.store.db import Database
from deconline.store.models import PartyEvent

Row = tuple[str, int, float]  # party, its number, made at

PARTIES = ("alpha", "bravo", "charlie")


def kept_by_the_rule(rows: list[Row], cut_off: float) -> set[tuple[str, int]]:
    last_old = {party: max((n for p, n, made in rows if p == party and made < cut_off), default=0) for party in PARTIES}
    return {(party, n) for party, n, _ in rows if n > last_old[party]}


@st.composite
def events(draw: st.DrawFn) -> list[Row]:
    """Each party's events numbered 1, 2, 3 ...; their times mostly rising, not always (a
    transaction that began earlier may commit, and so be numbered, later)."""
    rows: list[Row] = []
    for party in PARTIES:
        times = draw(st.lists(st.integers(0, 40), max_size=12))
        rows += [(party, n, float(made)) for n, made in enumerate(times, 1)]
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=events(), cut_off=st.integers(0, 45))
def test_pruning_keeps_exactly_what_the_rule_keeps(db_url: str, rows: list[Row], cut_off: int) -> None:
    db = Database(db_url)
    try:
        with db.write() as session:
            session.execute(delete(PartyEvent))
            session.add_all(
                PartyEvent(party_id=p, seq=n, type="test", data="{}", created_at=made) for p, n, made in rows
            )
        with db.write() as session:
            deleted = prune(session, float(cut_off))
        with db.read() as session:
            left = {(p, int(n)) for p, n in session.execute(select(PartyEvent.party_id, PartyEvent.seq))}
    finally:
        db.dispose()
    assert left == kept_by_the_rule(rows, float(cut_off))
    assert deleted == len(rows) - len(left)
