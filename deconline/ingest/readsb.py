"""readsb / dump1090 ``aircraft.json``: the receiver's own picture, one object per aircraft.

``now`` is the receiver's clock (epoch seconds); ``seen_pos`` and ``seen`` say how long ago the
position and the last message were heard, so each part gets its own time. readsb names
(``alt_baro``, ``gs``, ``baro_rate``, ``nac_p``) and the older dump1090 ones (``altitude``,
``speed``, ``vert_rate``) are both read; the selected altitude is ``nav_altitude_mcp``, else
``nav_altitude_fms``. Feet, knots and ft/min become SI here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from deconline.ingest.track_builder import Sighting
from deconline.ingest.units import FPM, FT, KT

HEX = frozenset("0123456789abcdef")
QUALITY = (("nic", "NIC"), ("nac_p", "NACp"), ("nac_v", "NACv"), ("sil", "SIL"))


class ReadsbError(ValueError):
    """A document that is not an aircraft.json at all (the text says why)."""


@dataclass
class Picture:
    sightings: list[Sighting] = field(default_factory=list)
    aircraft: int = 0
    malformed: int = 0  # entries with a field of the wrong type or out of range
    other: int = 0  # non-ICAO addresses (TIS-B ``~`` ids) and aircraft with nothing usable


def _number(entry: dict[str, Any], *names: str) -> float | None:
    for name in names:
        value = entry.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{name} is {value!r}")
        return float(value)
    return None


def parse(document: bytes | str, source: str = "readsb") -> Picture:
    try:
        data = json.loads(document)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReadsbError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("aircraft"), list):
        raise ReadsbError('expected an object with an "aircraft" list (readsb/dump1090 aircraft.json)')
    now = data.get("now")
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise ReadsbError('"now" (the receiver\'s clock, epoch seconds) is missing or not a number')
    picture = Picture()
    for entry in data["aircraft"]:
        picture.aircraft += 1
        try:
            sighting = _aircraft(entry, float(now), source)
        except (KeyError, ValueError, TypeError, AttributeError):
            picture.malformed += 1
            continue
        if sighting is None:
            picture.other += 1
        else:
            picture.sightings.append(sighting)
    return picture


def _aircraft(entry: dict[str, Any], now: float, source: str) -> Sighting | None:
    address = str(entry["hex"]).strip().lower()
    if len(address) != 6 or not set(address) <= HEX:
        return None  # "~..." is a TIS-B or non-ICAO id: not an address we can own or track across sources
    seen = _number(entry, "seen") or 0.0
    seen_pos = _number(entry, "seen_pos")
    raw_alt = entry.get("alt_baro", entry.get("altitude"))
    on_ground = raw_alt == "ground"
    alt_ft = None if on_ground else _number(entry, "alt_baro", "altitude")
    gs, track = _number(entry, "gs", "speed"), _number(entry, "track")
    rate = _number(entry, "baro_rate", "geom_rate", "vert_rate")
    lat, lon = _number(entry, "lat"), _number(entry, "lon")
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        raise ValueError("position out of range")
    callsign = entry.get("flight")
    selected_ft = _number(entry, "nav_altitude_mcp", "nav_altitude_fms")
    quality = tuple((label, q) for name, label in QUALITY if (q := _number(entry, name)) is not None)
    has_position = lat is not None and lon is not None and seen_pos is not None
    if not has_position and gs is None and alt_ft is None:
        return None
    # One sighting, timed by its position when it has one: the builder takes velocity and
    # altitude as fresh when they are within its age limit of the position anyway.
    time_s = now - (seen_pos if has_position and seen_pos is not None else seen)
    return Sighting(
        address=address,
        time_s=time_s,
        source=source,
        lat=lat if has_position else None,
        lon=lon if has_position else None,
        alt_m=alt_ft * FT if alt_ft is not None else None,
        gs_mps=gs * KT if gs is not None and track is not None else None,
        track_deg=track % 360.0 if gs is not None and track is not None else None,
        vrate_mps=rate * FPM if rate is not None else None,
        callsign=callsign.strip() or None if isinstance(callsign, str) else None,
        on_ground=on_ground,
        quality=quality,
        selected_alt_m=selected_ft * FT if selected_ft is not None else None,
    )
