"""Per-aircraft state from partial reports: position, altitude, velocity, each with its own age.

Surveillance messages each carry part of a state (an airborne position, a velocity, an altitude,
an identification, a selected altitude). A state is emitted when position and altitude are fresh
(no older than ``max_age_s`` at the position's time) and a velocity has been heard, and only when
it is newer than the last one emitted for that aircraft, so a feeder posts each aircraft's newest
state once. A velocity older than ``max_age_s`` (some transponders send it seldom) no longer holds
the state back: it goes out with its age (``velocity_age_s``), for the service to weigh; one older
than ``MAX_VELOCITY_AGE_S`` does. The selected altitude goes with the state while it is fresh.
Pure: times come from the reports, nothing reads a clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from deconline.ingest.sbs import SbsReport, sighting
from deconline.ingest.sighting import Sighting

__all__ = ["MAX_VELOCITY_AGE_S", "Sighting", "State", "TrackBuilder"]

MAX_VELOCITY_AGE_S = 3600.0  # the most the service takes (``velocity_age_s``); older holds the state back
CALLSIGN = re.compile(r"[A-Z0-9 ]{1,8}")  # what the service takes as a callsign
SELECTED_ALT_M = (-500.0, 30_000.0)  # the service's range for a selected altitude


@dataclass
class Aircraft:
    address: str
    source: str = ""
    callsign: str | None = None
    lat: float | None = None
    lon: float | None = None
    position_s: float = float("-inf")
    alt_m: float | None = None
    altitude_s: float = float("-inf")
    gs_mps: float | None = None
    track_deg: float | None = None
    vrate_mps: float = 0.0
    velocity_s: float = float("-inf")
    selected_alt_m: float | None = None
    selected_s: float = float("-inf")
    emitted_s: float = float("-inf")
    quality: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class State:
    """What the service's ``POST /v1/tracks`` takes, in SI units."""

    id: str
    lat: float
    lon: float
    alt_m: float
    gs_mps: float
    track_deg: float
    vrate_mps: float
    time_s: float
    callsign: str | None = None
    source: str = ""
    quality: tuple[tuple[str, float], ...] = ()
    selected_alt_m: float | None = None
    velocity_age_s: float = 0.0  # how much older the velocity is than the position

    @property
    def nac_p(self) -> int | None:
        """The navigation accuracy category for position (0-11), if a message gave it."""
        value = dict(self.quality).get("NACp")
        return None if value is None or not 0 <= value <= 11 or value != round(value) else int(value)

    def as_report(self) -> dict[str, object]:
        """What ``POST /v1/tracks`` takes; the optional fields only when known (and in the service's
        ranges: a value it would refuse would cost the whole batch)."""
        report: dict[str, object] = {
            "id": self.id,
            "lat": self.lat,
            "lon": self.lon,
            "alt_m": self.alt_m,
            "gs_mps": self.gs_mps,
            "track_deg": self.track_deg % 360.0,
            "vrate_mps": self.vrate_mps,
            "time": datetime.fromtimestamp(self.time_s, UTC).isoformat().replace("+00:00", "Z"),
        }
        if self.selected_alt_m is not None and SELECTED_ALT_M[0] <= self.selected_alt_m <= SELECTED_ALT_M[1]:
            report["selected_altitude_m"] = self.selected_alt_m
        callsign = self.callsign.strip().upper() if self.callsign else ""
        if CALLSIGN.fullmatch(callsign):
            report["callsign"] = callsign
        if (nac_p := self.nac_p) is not None:
            report["nac_p"] = nac_p
        if self.velocity_age_s > 0:
            report["velocity_age_s"] = round(self.velocity_age_s, 3)
        return report

    def as_line(self) -> dict[str, object]:
        """The report plus what the service does not take (source, all quality figures), for ``--dry-run``."""
        return self.as_report() | {"callsign": self.callsign, "source": self.source, "quality": dict(self.quality)}


class TrackBuilder:
    def __init__(self, max_age_s: float = 10.0) -> None:
        self.max_age_s = max_age_s
        self.aircraft: dict[str, Aircraft] = {}

    def take(self, s: Sighting) -> None:
        """Merge whatever part of a state one decoded message carries (the newest part wins)."""
        a = self.aircraft.get(s.address)
        if a is None:
            a = self.aircraft[s.address] = Aircraft(s.address, s.source)
        elif s.source:
            a.source = s.source
        if s.callsign:
            a.callsign = s.callsign
        if s.quality:
            a.quality.update(s.quality)
        if s.on_ground:
            return  # surface movements take no part in airborne separation
        t = s.time_s
        if s.lat is not None and s.lon is not None and t >= a.position_s:
            a.lat, a.lon, a.position_s = s.lat, s.lon, t
        if s.alt_m is not None and t >= a.altitude_s:
            a.alt_m, a.altitude_s = s.alt_m, t
        if s.gs_mps is not None and s.track_deg is not None and t >= a.velocity_s:
            a.gs_mps, a.track_deg, a.velocity_s = s.gs_mps, s.track_deg % 360.0, t
            a.vrate_mps = s.vrate_mps if s.vrate_mps is not None else 0.0
        if s.selected_alt_m is not None and t >= a.selected_s:
            a.selected_alt_m, a.selected_s = s.selected_alt_m, t

    def sbs(self, report: SbsReport, source: str = "sbs") -> None:
        """Merge a BaseStation report (types 1, 3, 4, 5 carry different parts)."""
        self.take(sighting(report, source))

    def ready(self) -> list[State]:
        """Every aircraft with a fresh position and altitude and some velocity, newer than the state
        last emitted; the velocity's age goes with it."""
        out = []
        for a in self.aircraft.values():
            t = a.position_s
            if t <= a.emitted_s or a.lat is None or a.lon is None or a.alt_m is None or a.gs_mps is None:
                continue
            velocity_age = max(0.0, t - a.velocity_s)
            if t - a.altitude_s > self.max_age_s or velocity_age > MAX_VELOCITY_AGE_S:
                continue
            a.emitted_s = t
            track = a.track_deg if a.track_deg is not None else 0.0
            quality = tuple(sorted(a.quality.items()))
            selected = a.selected_alt_m if t - a.selected_s <= self.max_age_s else None
            out.append(
                State(a.address, a.lat, a.lon, a.alt_m, a.gs_mps, track, a.vrate_mps, t, a.callsign, a.source, quality,
                      selected, velocity_age)
            )  # fmt: skip
        return out

    def forget_older_than(self, time_s: float) -> int:
        """Drop aircraft not heard since ``time_s`` (tracks are perishable); returns how many."""
        gone = [k for k, a in self.aircraft.items() if max(a.position_s, a.velocity_s, a.altitude_s) < time_s]
        for k in gone:
            del self.aircraft[k]
        return len(gone)
