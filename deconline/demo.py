"""The demo scenario behind ``make run``: three parties, a signed agreement, a hazard, a dozen operations.

``blue-af`` and ``green-af`` form the group ``coalition``; ``orange-af`` flies on its own. All
operations are over the open Baltic Sea. Six are live now (their window opened ten minutes before
the demo was loaded and lasts twelve hours): blue's ``patrol north``, ``CAP east`` and ``training
area 2`` and green's ``survey east`` and ``training area 1`` are ``active``; orange's ``tanker
track`` crosses blue's ``patrol north``, so it stays ``proposed`` with a conflict notice, and
orange has asked blue, on the hotline, to move its patrol down. The six others start in the
coming hours. The air-defence zone, active now, is declared by orange and clear of everything.

The aircraft that fly these operations are in :mod:`deconline.demo_flights`; the volumes here are
laid out around the same anchor points, with room to spare around each pattern.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import Point, Polygon

from deconline import demo_witnesses
from deconline.api.schemas import NoticeRequest
from deconline.core.volumes import Volume
from deconline.demo_flights import (
    AIR_DEFENCE_RADIUS_M,
    AIR_DEFENCE_ZONE,
    CAP_EAST,
    PATROL_NORTH,
    SURVEY_EAST,
    SURVEY_RADIUS_M,
    TRAINING_BLUE,
    TRAINING_GREEN,
    Vector,
    to_lon_lat,
)
from deconline.record.actions import action_for
from deconline.record.envelope import seal
from deconline.record.signing import generate_key, public_key_b64, sign_document, write_private_key
from deconline.service import agreements, hazards, hotline, operations, parties, record
from deconline.service.actors import Actor
from deconline.service.line import Line
from deconline.service.statements import Signed

PARTIES = (("blue-af", "coalition"), ("green-af", "coalition"), ("orange-af", None))
AGREEMENT: dict[str, Any] = {
    "version": 1,
    "title": "Baltic flight-safety memorandum (demo)",
    "parties": [p for p, _ in PARTIES],
    "h_strategic_m": 9260.0,
    "v_m": 300.0,
    "time_buffer_s": 600.0,
}
LIVE_SINCE_S = 600.0  # live operations and the hazard opened this long before the load...
LIVE_FOR_S = 12 * 3600.0  # ...and last this long after it
TOKENS_FILE = "tokens.json"
TANKER_REQUEST: dict[str, Any] = {
    "proposal": {"action": "change_band", "band": [6000, 6800]},
    "text": "Tanker SHELL71 is working the tanker track at 7,500 m, across your patrol north. "
    "Can you keep the patrol between 6,000 and 6,800 m until we are done?",
}


def _box(lon: float, lat: float, half_km: float) -> Polygon:
    dlat = half_km / 111.32
    dlon = half_km / (111.32 * math.cos(math.radians(lat)))
    return Polygon(
        [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    )


def _rect(anchor: tuple[float, float], west_km: float, east_km: float, south_km: float, north_km: float) -> Polygon:
    """A rectangle given in kilometres east and north of ``anchor`` (the frame the aircraft fly in)."""
    corners = [(west_km, south_km), (east_km, south_km), (east_km, north_km), (west_km, north_km)]
    return Polygon([to_lon_lat(anchor, Vector(e * 1000, n * 1000)) for e, n in corners])


@dataclass(frozen=True)
class DemoOperation:
    party: str
    name: str
    footprint: Polygon | Point
    radius_m: float
    lower_m: float
    upper_m: float
    start_h: float = 0.0  # hours from the next full hour (operations that are not live)
    end_h: float = 0.0
    live: bool = False  # window open now (LIVE_SINCE_S before the load to LIVE_FOR_S after); made active


def demo_operations() -> list[DemoOperation]:
    """Twelve operations: six live now (one of them the tanker track, in conflict), six to come."""
    return [
        DemoOperation("blue-af", "patrol north", _rect(PATROL_NORTH, -16, 16, -7.5, 7.5), 0, 6000, 9000, live=True),
        DemoOperation("orange-af", "tanker track", _rect(PATROL_NORTH, -16, 16, 0, 24.5), 0, 7000, 8000, live=True),
        DemoOperation("blue-af", "CAP east", _rect(CAP_EAST, -7.5, 23, -6.5, 6.5), 0, 3000, 7000, live=True),
        DemoOperation("green-af", "survey east", Point(*SURVEY_EAST), SURVEY_RADIUS_M, 300, 3000, live=True),
        DemoOperation("green-af", "training area 1", _box(*TRAINING_GREEN, 12), 0, 1000, 5000, live=True),
        DemoOperation("blue-af", "training area 2", _box(*TRAINING_BLUE, 12), 0, 1000, 5000, live=True),
        DemoOperation("green-af", "transit 1", _box(14.5, 54.9, 12), 0, 1000, 5000, 1, 4),
        DemoOperation("orange-af", "exercise 1", _box(17.5, 54.9, 12), 0, 1000, 5000, 1, 4),
        DemoOperation("blue-af", "ferry flight 1", Point(20.5, 54.9), 12_000, 300, 3000, 1, 3),
        DemoOperation("orange-af", "transit 2", _box(14.5, 55.7, 12), 0, 1000, 5000, 2, 5),
        DemoOperation("orange-af", "exercise 2", _box(19.0, 55.7, 12), 0, 1000, 5000, 2, 5),
        DemoOperation("green-af", "ferry flight 2", _box(20.5, 55.7, 12), 0, 1000, 5000, 2, 5),
    ]  # fmt: skip


def demo_hazard() -> tuple[str, str, Point, float]:
    return "air_defence", "Air-defence engagement zone (demo)", Point(*AIR_DEFENCE_ZONE), AIR_DEFENCE_RADIUS_M


def _volume(footprint: Polygon | Point, radius: float, lower: float, upper: float, start: float, end: float) -> Volume:
    return Volume(footprint, radius, lower, upper, start, end)


def load(line: Line, keys_dir: Path) -> dict[str, str]:
    """Load the scenario into a freshly initialised database; return the tokens by name."""
    tokens: dict[str, str] = {}
    admin = parties.initialise(line)
    if admin is None:
        raise RuntimeError("the demo needs a new, empty database")
    tokens["admin"] = admin
    keys = {}
    for party_id, group in PARTIES:
        key = generate_key()
        write_private_key(key, keys_dir / f"{party_id}.key")
        (keys_dir / f"{party_id}.pub").write_text(public_key_b64(key) + "\n")
        keys[party_id] = key
        tokens[party_id] = parties.add_party(line, party_id, public_key_b64(key), group)
    actors = {p: Actor("party", p, g) for p, g in PARTIES}
    witnesses = demo_witnesses.make(keys_dir, [p for p, _ in PARTIES])
    document = dict(AGREEMENT, witnesses=witnesses, witness_quorum=demo_witnesses.QUORUM)
    proposed = agreements.propose(line, Actor("admin"), document)
    for party_id, _ in PARTIES:
        agreements.sign(line, actors[party_id], 1, sign_document(keys[party_id], proposed.agreement.document()))

    now = line.clock()
    live_start, live_end = now - LIVE_SINCE_S, now + LIVE_FOR_S
    base = math.ceil(now / 3600) * 3600
    kind, name, centre, radius = demo_hazard()
    hazards.declare(line, actors["orange-af"], kind, _volume(centre, radius, 0, 20_000, live_start, live_end), name)
    for op in demo_operations():
        start, end = (live_start, live_end) if op.live else (base + op.start_h * 3600, base + op.end_h * 3600)
        volume = _volume(op.footprint, op.radius_m, op.lower_m, op.upper_m, start, end)
        actor = actors[op.party]
        filed = operations.file(line, actor, operations.Draft([volume], op.name))
        if op.live and filed.state == "accepted":
            operations.change_state(line, actor, filed.id, filed.version, "active")
        for notice in filed.notices:
            if notice.kind == "operation" and notice.other_party_id:
                _ask_to_deconflict(line, actor, keys[op.party], filed.id, notice.id)
    return tokens


def _ask_to_deconflict(line: Line, actor: Actor, key: Any, op_id: str, notice_id: str) -> None:
    """The filer of a conflicting operation asks the other party, signed as it would be over the API."""
    body = NoticeRequest.model_validate(TANKER_REQUEST).model_dump(mode="json")
    with line.db.read() as session:
        line_id = record.origin(line.record, session)
    action = action_for("POST", f"/v1/operations/{op_id}/notices/{notice_id}/request")
    assert action is not None
    signed = Signed.of(seal(key, line_id, action, TANKER_REQUEST))
    hotline.request_from_notice(line, actor, op_id, notice_id, body, signed)


def write_tokens(keys_dir: Path, tokens: dict[str, str]) -> Path:
    """``tokens.json`` next to the keys, readable by its owner only (as the keys are)."""
    path = keys_dir / TOKENS_FILE
    keys_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(tokens, handle, indent=2)
        handle.write("\n")
    os.chmod(path, 0o600)
    return path


def read_tokens(keys_dir: Path) -> dict[str, str]:
    """The tokens ``deconline demo`` wrote; ``ValueError`` or ``OSError`` when missing or malformed."""
    value = json.loads((keys_dir / TOKENS_FILE).read_text())
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{keys_dir / TOKENS_FILE}: expected an object of name -> token")
    return value
