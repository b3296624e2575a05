"""What every feed format decodes to: one message's part of an aircraft's state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Sighting:
    """One decoded surveillance message, whatever part of a state it carries, in SI units.

    ``address`` is the ICAO 24-bit address (six lower-case hex digits) or, for a radar track
    without one, a track id such as ``"25-201:1234"`` (SAC-SIC:track number). Not frozen: a
    frozen dataclass takes three times longer to build, and a feed builds one per message.
    """

    address: str
    time_s: float
    source: str = ""
    lat: float | None = None
    lon: float | None = None
    alt_m: float | None = None  # barometric
    gs_mps: float | None = None
    track_deg: float | None = None
    vrate_mps: float | None = None
    callsign: str | None = None
    on_ground: bool = False
    quality: tuple[tuple[str, float], ...] = ()  # e.g. (("NACp", 9), ("NIC", 8))
    selected_alt_m: float | None = None  # MCP/FCU (else FMS) selected altitude: where a climb or descent stops
