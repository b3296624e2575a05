"""Notices against a slow, obvious reference: after any sequence of filings, revisions, checks,
state changes, hazards and new agreement versions, the open notices are exactly what the
stored plans and the rules in force justify.

The reference knows nothing of the service's scopes, partners or index: it compares every pair
of stored volumes with the exact predicate.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from deconline.core.strategic import conflict_part, volumes_conflict
from deconline.core.volumes import Volume
from deconline.record.signing import sign_document
from deconline.service import agreements, hazards, operations
from deconline.service.actors import Actor
from deconline.service.errors import ServiceError
from deconline.service.geo import geometry_json, volume_from_row
from deconline.service.line import Line
from deconline.service.operations import Draft
from deconline.service.rules import in_force
from deconline.store.db import Database
from deconline.store.models import ConflictNotice, Hazard, Operation
from tests.helpers import AGREEMENT, T0, World, make_world

GROUP = {"alpha": "allies", "bravo": "allies", "charlie": None}
PENDING = ("proposed", "accepted", "active")
LIVE = ("accepted", "active")


def square(lon: float, half_deg: float, lower: float, start_h: float) -> Volume:
    lat = 50.0
    ring = [(lon - half_deg, lat - half_deg), (lon + half_deg, lat - half_deg), (lon + half_deg, lat + half_deg)]
    start = T0.timestamp() + start_h * 3600
    return Volume(Polygon([*ring, (lon - half_deg, lat + half_deg)]), 0.0, lower, lower + 1000, start, start + 3600)


volumes = st.builds(
    square,
    lon=st.sampled_from([10.0, 10.05, 10.1, 10.2, 10.35]),
    half_deg=st.sampled_from([0.01, 0.03]),
    lower=st.sampled_from([0.0, 1500.0, 4000.0]),
    start_h=st.sampled_from([1.0, 1.5, 4.0]),
)
parties = st.sampled_from(sorted(GROUP))
filings = st.tuples(st.just("file"), parties, volumes)
actions = st.one_of(
    filings,
    st.tuples(st.just("revise"), st.integers(0, 20), volumes),
    st.tuples(st.just("check"), st.integers(0, 20)),
    st.tuples(st.just("state"), st.integers(0, 20), st.sampled_from(["accepted", "active", "ended", "cancelled"])),
    st.tuples(st.just("declare"), parties, volumes),
    st.tuples(st.just("move_hazard"), st.integers(0, 5), volumes),
    st.tuples(st.just("withdraw"), st.integers(0, 5)),
    st.tuples(st.just("rules"), st.sampled_from([2000.0, 5000.0, 9000.0])),
)


def actor(party: str) -> Actor:
    return Actor("party", party, GROUP[party])


def run(world: World, action: tuple[Any, ...], line: Line | None = None) -> None:
    line = line or world.line
    with line.db.read() as session:
        ops = list(session.scalars(select(Operation).order_by(Operation.created_at, Operation.id)))
        hzs = list(session.scalars(select(Hazard).order_by(Hazard.created_at, Hazard.id)))
    kind = action[0]
    try:
        if kind == "file":
            operations.file(line, actor(action[1]), Draft([action[2]]))
        elif kind in ("revise", "check", "state") and ops:
            op = ops[action[1] % len(ops)]
            if kind == "revise":
                operations.revise(line, actor(op.party_id), op.id, op.version, Draft([action[2]]))
            elif kind == "check":
                operations.check(line, actor(op.party_id), op.id, op.version)
            else:
                operations.change_state(line, actor(op.party_id), op.id, op.version, action[2])
        elif kind == "declare":
            hazards.declare(line, actor(action[1]), "other", action[2])
        elif kind in ("move_hazard", "withdraw") and hzs:
            hz = hzs[action[1] % len(hzs)]
            who = Actor("party", hz.party_id or "alpha", GROUP[hz.party_id or "alpha"])
            if kind == "withdraw":
                hazards.withdraw(line, who, hz.id)
            else:
                hazards.change(line, who, hz.id, hz.version, "other", action[2])
        elif kind == "rules":
            adopt(world, action[1])
    except ServiceError:
        pass  # an illegal step (stale version, wrong state, still in conflict) changes nothing


def adopt(world: World, h_m: float) -> None:
    with world.line.db.read() as session:
        current = in_force(session)
    assert current is not None
    document = dict(AGREEMENT, version=current.version + 1, h_strategic_m=h_m)
    state = agreements.propose(world.line, Actor("admin"), document)
    for party in AGREEMENT["parties"]:
        signature = sign_document(world.keys[party], state.agreement.document())
        agreements.sign(world.line, Actor("party", party), state.agreement.version, signature)


def same_side(a: str | None, b: str | None) -> bool:
    return a == b or (a is not None and b is not None and GROUP[a] is not None and GROUP[a] == GROUP[b])


def part_json(own: Volume, other: Volume, rules: Any) -> tuple[Any, ...]:
    part = conflict_part(own, other, rules)
    footprint = json.dumps(geometry_json(part.footprint), sort_keys=True)
    return (footprint, part.lower_m, part.upper_m, part.start_s, part.end_s)


def check_invariants(world: World) -> None:
    with world.line.db.read() as session:
        rules = in_force(session).strategic_rules  # type: ignore[union-attr]
        ops = {o.id: o for o in session.scalars(select(Operation).options(selectinload(Operation.volumes)))}
        hzs = {h.id: h for h in session.scalars(select(Hazard))}
        open_notices = list(session.scalars(select(ConflictNotice).where(ConflictNotice.state == "open")))
    vols = {op_id: [volume_from_row(v) for v in op.volumes] for op_id, op in ops.items()}
    vols.update({h_id: [volume_from_row(h)] for h_id, h in hzs.items()})
    told: set[tuple[str, int, str]] = set()
    for n in open_notices:
        own = ops[n.operation_id]
        partner = n.hazard_id or n.other_operation_id
        assert partner is not None
        told.add((n.operation_id, n.volume_ordinal, partner))
        # Sound: both ends still in play, on different sides, in conflict now, the part as computed now.
        assert own.state in PENDING and n.party_id == own.party_id
        if n.hazard_id:
            assert hzs[n.hazard_id].state == "active"
        else:
            other = ops[partner]
            assert other.state in PENDING and not same_side(own.party_id, other.party_id)
        mine = vols[own.id][n.volume_ordinal]
        parts = {part_json(mine, theirs, rules) for theirs in vols[partner] if volumes_conflict(mine, theirs, rules)}
        stored = (json.dumps(n.footprint, sort_keys=True), n.lower_m, n.upper_m, n.start_s, n.end_s)
        assert stored in parts, (n.kind, n.resolution)
    # Symmetric: whoever is told about the other, the other is told about it.
    for op_id, _, partner in told:
        if partner in ops:
            assert any(o == partner and p == op_id for o, _, p in told), "one side was not told"
    # Complete for what is live: every conflicting pair of live plans (or live plan and hazard).
    live = [o for o in ops.values() if o.state in LIVE]
    for x in live:
        for i, vx in enumerate(vols[x.id]):
            for y in live:
                other_side = y.id != x.id and not same_side(x.party_id, y.party_id)
                if other_side and any(volumes_conflict(vx, vy, rules) for vy in vols[y.id]):
                    assert (x.id, i, y.id) in told, "a conflict between live plans is untold"
            for h in hzs.values():
                if h.state == "active" and volumes_conflict(vx, vols[h.id][0], rules):
                    assert (x.id, i, h.id) in told, "a hazard over a live plan is untold"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(actions, min_size=1, max_size=12))
def test_open_notices_are_what_the_plans_and_rules_justify(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(f"sqlite:///{Path(tmp) / 'line.db'}")
        try:
            for step in steps:
                run(world, step)
                check_invariants(world)
        finally:
            world.line.db.dispose()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.one_of(filings, actions), st.booleans()), min_size=2, max_size=12))
def test_two_processes_on_one_database_keep_them_too(steps: list[tuple[tuple[Any, ...], bool]]) -> None:
    """Each step on one of two service objects, each with its own picture (as two processes have):
    each must learn, cell by cell, what the other changed. The volumes straddle a cell edge (10.25°)."""
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(f"sqlite:///{Path(tmp) / 'line.db'}")
        other = Line(Database(world.line.db.url), clock=world.clock, evaluate_every_s=0)
        try:
            for step, on_other in steps:
                run(world, step, other if on_other else None)
                check_invariants(world)
        finally:
            other.db.dispose()
            world.line.db.dispose()
