"""BaseStation (SBS-1) lines, as dump1090/readsb serve them on port 30003, in SI units.

``MSG,<type>,<session>,<aircraft>,<hex>,<flight>,<date gen>,<time gen>,<date logged>,<time logged>,
<callsign>,<altitude ft>,<ground speed kt>,<track>,<lat>,<lon>,<vertical rate ft/min>,<squawk>,
<alert>,<emergency>,<spi>,<on ground>``. Types 1 (identification), 3 (position), 4 (velocity) and
5 (altitude) each carry part of the state; merging them per aircraft is the track builder's job.
Anything else is an :class:`SbsError` with the reason, for the caller to count and skip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from deconline.ingest.sighting import Sighting
from deconline.ingest.units import FPM, FT, KT

FIELDS = 22
KEPT_TYPES = {"1", "3", "4", "5"}


class SbsError(ValueError):
    """A line that is not a usable SBS message (the text says why)."""


@dataclass(frozen=True)
class SbsReport:
    icao: str  # six lower-case hex digits
    time_s: float  # when the receiver generated it (UTC)
    transmission: int
    callsign: str | None = None
    alt_m: float | None = None
    gs_mps: float | None = None
    track_deg: float | None = None
    lat: float | None = None
    lon: float | None = None
    vrate_mps: float | None = None
    on_ground: bool | None = None


def _number(text: str, name: str, low: float, high: float) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise SbsError(f"{name} {text!r} is not a number") from exc
    if not math.isfinite(value) or not low <= value <= high:
        raise SbsError(f"{name} {value} is outside [{low}, {high}]")
    return value


def _time(date: str, clock: str) -> float:
    try:
        return datetime.strptime(f"{date} {clock}", "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
    except ValueError:
        try:
            return datetime.strptime(f"{date} {clock}", "%Y/%m/%d %H:%M:%S").replace(tzinfo=UTC).timestamp()
        except ValueError as exc:
            raise SbsError(f"time {date} {clock!r} is not YYYY/MM/DD HH:MM:SS.fff") from exc


def parse(line: str) -> SbsReport | None:
    """The report in ``line``; ``None`` for messages that carry no state (types 2, 6, 7, 8, other records)."""
    fields = line.strip().split(",")
    if fields[0] != "MSG":
        if fields[0] in ("SEL", "ID", "AIR", "STA", "CLK"):
            return None
        raise SbsError(f"not an SBS record: {line[:40]!r}")
    if len(fields) < FIELDS:
        raise SbsError(f"an SBS MSG line has {FIELDS} fields, this one {len(fields)}")
    if fields[1] not in KEPT_TYPES:
        if fields[1] in ("2", "6", "7", "8"):
            return None
        raise SbsError(f"unknown transmission type {fields[1]!r}")
    icao = fields[4].strip().lower()
    if len(icao) != 6 or any(c not in "0123456789abcdef" for c in icao):
        raise SbsError(f"hex ident {fields[4]!r} is not a 24-bit address")
    altitude = _number(fields[11], "altitude", -2000, 100_000)
    speed = _number(fields[12], "ground speed", 0, 3000)
    rate = _number(fields[16], "vertical rate", -50_000, 50_000)
    track = _number(fields[13], "track", -360, 360)
    return SbsReport(
        icao=icao,
        time_s=_time(fields[6], fields[7]),
        transmission=int(fields[1]),
        callsign=fields[10].strip() or None,
        alt_m=altitude * FT if altitude is not None else None,
        gs_mps=speed * KT if speed is not None else None,
        track_deg=track % 360.0 if track is not None else None,
        lat=_number(fields[14], "latitude", -90, 90),
        lon=_number(fields[15], "longitude", -180, 180),
        vrate_mps=rate * FPM if rate is not None else None,
        on_ground={"-1": True, "1": True, "0": False}.get(fields[21].strip()),
    )


def sighting(report: SbsReport, source: str = "sbs") -> Sighting:
    """The report as the track builder takes every format's messages."""
    return Sighting(
        address=report.icao,
        time_s=report.time_s,
        source=source,
        lat=report.lat if report.lon is not None else None,
        lon=report.lon if report.lat is not None else None,
        alt_m=report.alt_m,
        gs_mps=report.gs_mps if report.track_deg is not None else None,
        track_deg=report.track_deg if report.gs_mps is not None else None,
        vrate_mps=report.vrate_mps,
        callsign=report.callsign,
        on_ground=bool(report.on_ground),
    )
