"""The demo scenario behind ``make run``: three parties, a signed agreement, a hazard, a dozen operations.

``blue-af`` and ``green-af`` form the group ``coalition``; ``orange-af`` flies on its own. All
operations are over the open Baltic Sea, in the hours after the demo is loaded. Exactly two of
them conflict: orange's ``tanker track`` crosses blue's ``patrol north``, so orange's stays
``proposed`` with a notice. The air-defence zone is declared by orange and clear of everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import Point, Polygon

from deconline.core.volumes import Volume
from deconline.record.signing import generate_key, public_key_b64, sign_document, write_private_key
from deconline.service import agreements, hazards, operations, parties
from deconline.service.line import Line
from deconline.service.parties import Actor

PARTIES = (("blue-af", "coalition"), ("green-af", "coalition"), ("orange-af", None))
AGREEMENT: dict[str, Any] = {
    "version": 1,
    "title": "Baltic flight-safety memorandum (demo)",
    "parties": [p for p, _ in PARTIES],
    "h_strategic_m": 9260.0,
    "v_m": 300.0,
    "time_buffer_s": 600.0,
}


def _box(lon: float, lat: float, half_km: float) -> Polygon:
    dlat = half_km / 111.32
    dlon = half_km / (111.32 * math.cos(math.radians(lat)))
    return Polygon(
        [(lon - dlon, lat - dlat), (lon + dlon, lat - dlat), (lon + dlon, lat + dlat), (lon - dlon, lat + dlat)]
    )


@dataclass(frozen=True)
class DemoOperation:
    party: str
    name: str
    footprint: Polygon | Point
    radius_m: float
    lower_m: float
    upper_m: float
    start_h: float
    end_h: float


def demo_operations() -> list[DemoOperation]:
    """Twelve operations: a grid of well-separated boxes, plus one crossing pair."""
    ops = [
        DemoOperation("blue-af", "patrol north", _box(17.0, 56.6, 15), 0, 6000, 9000, 1, 4),
        DemoOperation("orange-af", "tanker track", _box(17.1, 56.7, 10), 0, 7000, 8000, 2, 5),
    ]
    names = ["training area", "transit", "survey", "exercise", "ferry flight"]
    n = 0
    for row in range(2):
        for col in range(5):
            party = PARTIES[n % 3][0]
            lon, lat = 14.5 + col * 1.5, 54.9 + row * 0.8
            if n % 4 == 3:
                ops.append(
                    DemoOperation(
                        party, f"{names[col]} {row + 1}", Point(lon, lat), 12_000, 300, 3000, 1 + row, 3 + row
                    )
                )
            else:
                ops.append(
                    DemoOperation(party, f"{names[col]} {row + 1}", _box(lon, lat, 12), 0, 1000, 5000, 1 + row, 4 + row)
                )
            n += 1
    return ops


def demo_hazard() -> tuple[str, str, Point, float]:
    return "air_defence", "Air-defence engagement zone (demo)", Point(19.0, 56.8), 25_000.0


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
    proposed = agreements.propose(line, Actor("admin"), AGREEMENT)
    for party_id, _ in PARTIES:
        agreements.sign(line, actors[party_id], 1, sign_document(keys[party_id], proposed.agreement.document()))

    now = line.clock()
    base = math.ceil(now / 3600) * 3600
    kind, name, centre, radius = demo_hazard()
    hazards.declare(line, actors["orange-af"], kind, _volume(centre, radius, 0, 20_000, base, base + 12 * 3600), name)
    for op in demo_operations():
        volume = _volume(
            op.footprint, op.radius_m, op.lower_m, op.upper_m, base + op.start_h * 3600, base + op.end_h * 3600
        )
        operations.file(line, actors[op.party], operations.Draft([volume], op.name))
    return tokens
