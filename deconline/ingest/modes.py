"""Mode S / ADS-B frames to sightings, decoded by ``rs1090`` (MIT).

Extended squitters (DF17/18) carry what a track needs (position, velocity, identity, quality,
and in target state and status, TC 29, the selected altitude). Of the Mode S replies only Comm-B
(DF20/21) that may hold BDS 4,0 (selected vertical intention) are decoded, for its MCP/FCU (else
FMS) selected altitude; the other replies are counted as ``other``. A Comm-B reply cannot be
checked (its address is recovered from its parity, so a garbled reply names some other address),
so it is taken only for an aircraft heard in a squitter in the minute before, and only when no
other register reads the same bits. Frames are
checked before they reach the library (hex, 56 or 112 bits) because ``rs1090`` aborts on an
odd-length string; the library itself drops frames whose CRC fails, and those are counted as
malformed.

Airborne positions are CPR-encoded: a position needs an even and an odd frame of the same
aircraft (globally unambiguous), or one frame and a reference within 180 NM (the receiver's
location). ``rs1090`` pairs frames within one call; a stream arrives in many calls, so the
decoder carries each aircraft's last even and odd frame into the next call. A frame left without
a position is decoded locally against the aircraft's last position (or the receiver's).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import rs1090

from deconline.ingest.track_builder import Sighting
from deconline.ingest.units import FPM, FT, KT

FRAME = re.compile(r"(?:[0-9a-fA-F]{14}){1,2}")
SQUITTER_DF = frozenset((17, 18))
COMM_B_DF = frozenset((20, 21))
LOCAL_FIX_S = 60.0  # an aircraft's own last position serves as reference this long
LOCAL_RANGE_M = 180 * 1852.0  # local CPR decoding is unambiguous within 180 NM of the reference
QUALITY_BY_BDS = {"05": ("NUCp",), "65": ("NACp", "NICa", "SIL"), "62": ("NACp",)}
# Type codes decoded: identification 1-4, surface 5-8, airborne position 9-18 and 20-22, velocity 19,
# target state and status 29 (selected altitude, NACp), operational status 31 (quality). Aircraft status
# (28) carries nothing a track uses.
USED_TYPE_CODES = frozenset((*range(1, 23), 29, 31))
TARGET_STATE = 29
INTENT_EVERY_S = 5.0  # one target state decoded per aircraft this often (the track builder keeps it 10 s)
HEARD_S = 60.0  # a Comm-B reply is taken for an aircraft heard in a squitter this recently
# Registers whose bits carry no BDS code and can read as BDS 4,0: when rs1090 finds one of them in
# the same reply too, the reply is ambiguous and not used.
AMBIGUOUS_WITH_BDS40 = ("bds44", "bds45", "bds50", "bds60")


@dataclass
class Decoded:
    sightings: list[Sighting] = field(default_factory=list)
    malformed: int = 0  # not hex, wrong length, CRC failed
    other: int = 0  # Mode S replies, and squitters that carry nothing for a track (aircraft status)


def downlink_format(frame: str) -> int:
    """DF of a hex frame (5 bits; 24 and above all mean DF24)."""
    return min(int(frame[:2], 16) >> 3, 24)


def used_squitter(me: int) -> bool:
    """An extended squitter (its first ME byte ``me``) whose type code a track uses; target state and
    status only in the DO-260B layout (subtype 1: the DO-260A subtype 0 lays its bits out differently)."""
    return me >> 3 in USED_TYPE_CODES and (me >> 3 != TARGET_STATE or (me >> 1) & 3 == 1)


def may_be_bds40(frame: str) -> bool:
    """A Comm-B reply (112 bits) whose MB field could be BDS 4,0: not all zero, and its reserved
    bits 40-47 and 52-53 zero (a cheap first test, to spare the library the replies that cannot be;
    rs1090 checks the status bits)."""
    if len(frame) != 28:
        return False
    mb = int(frame[8:22], 16)
    return mb != 0 and (mb >> 9) & 0xFF == 0 and (mb >> 3) & 3 == 0


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance on a sphere: plenty for a 180 NM plausibility check."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


class ModeSDecoder:
    """Batches of (time, hex frame) in, sightings out; keeps CPR frames between batches."""

    def __init__(
        self, reference: tuple[float, float] | None = None, source: str = "modes", pair_window_s: float = 10.0
    ) -> None:
        self.reference = reference
        self.source = source
        self.pair_window_s = pair_window_s
        self._cpr: dict[str, dict[str, tuple[float, str]]] = {}  # address -> parity -> (time, frame)
        self._fix: dict[str, tuple[float, float, float]] = {}  # address -> last (time, lat, lon)
        self._heard: dict[str, float] = {}  # address -> last time heard in a squitter (its parity checked)
        self._intent: dict[str, float] = {}  # address -> time of the last target state decoded

    def decode(self, times: Sequence[float], frames: Sequence[str]) -> Decoded:
        out = Decoded()
        kept_t: list[float] = []
        kept: list[str] = []
        for t, frame in zip(times, frames, strict=True):
            if FRAME.fullmatch(frame) is None:
                out.malformed += 1
            elif (df := downlink_format(frame)) not in SQUITTER_DF:
                if df in COMM_B_DF and may_be_bds40(frame):
                    kept_t.append(t)
                    kept.append(frame.lower())
                else:
                    out.other += 1
            elif len(frame) != 28:
                out.malformed += 1  # an extended squitter is 112 bits
            elif not used_squitter(me := int(frame[8:10], 16)) or (
                me >> 3 == TARGET_STATE and self._intent_too_soon(t, frame)
            ):
                out.other += 1
            else:
                kept_t.append(t)
                kept.append(frame.lower())
        if not kept:
            return out
        carried = self._carried(kept, kept_t[0])
        messages = self._decode([f for _, f in carried] + kept, [t for t, _ in carried] + kept_t)
        skip = set(carried)
        decoded = 0
        for m in messages:
            if skip and (m.get("timestamp"), m.get("frame")) in skip:
                continue
            decoded += 1
            if m.get("df") in ("20", "21"):
                sighting = self._selected_vertical_intention(m)
                if sighting is None:
                    out.other += 1
                    continue
            else:
                sighting = self._sighting(m)
            if sighting is not None:
                out.sightings.append(sighting)
        out.malformed += len(kept) - decoded
        self._forget_before(kept_t[-1] - self.pair_window_s)
        return out

    def _decode(self, frames: list[str], times: list[float]) -> list[dict[str, Any]]:
        try:
            result: list[dict[str, Any]] = rs1090.decode(frames, times, reference=self.reference)  # type: ignore[assignment]
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # a panic in the library (pyo3 PanicException is a BaseException)
            return []
        return result

    def _local(self, address: str, t: float, frame: str) -> tuple[float | None, float | None]:
        """One frame decoded against a reference: the aircraft's own last position if recent,
        else the receiver's; a result farther than 180 NM from the reference is ambiguous."""
        fix = self._fix.get(address)
        if fix is not None and t - fix[0] <= LOCAL_FIX_S:
            reference = fix[1], fix[2]
        elif self.reference is not None:
            reference = self.reference
        else:
            return None, None
        try:
            m = rs1090.decode(frame, reference=reference)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            return None, None
        lat, lon = m.get("latitude"), m.get("longitude")
        if not isinstance(lat, float) or not isinstance(lon, float):
            return None, None
        if distance_m(reference, (lat, lon)) > LOCAL_RANGE_M:
            return None, None
        return lat, lon

    def _carried(self, frames: list[str], first_t: float) -> list[tuple[float, str]]:
        """The last even and odd frame of each aircraft in this batch, heard before it."""
        out = []
        for address in {f[2:8] for f in frames}:
            for t, frame in self._cpr.get(address, {}).values():
                if t <= first_t:
                    out.append((t, frame))
        out.sort()
        return out

    def _forget_before(self, time_s: float) -> None:
        stale = [a for a, pair in self._cpr.items() if max(t for t, _ in pair.values()) < time_s]
        for address in stale:
            del self._cpr[address]
        for address in [a for a, fix in self._fix.items() if fix[0] < time_s - LOCAL_FIX_S]:
            del self._fix[address]
        for address in [a for a, heard in self._heard.items() if heard < time_s - HEARD_S]:
            del self._heard[address]
        for address in [a for a, seen in self._intent.items() if seen < time_s - INTENT_EVERY_S]:
            del self._intent[address]

    def _intent_too_soon(self, t: float, frame: str) -> bool:
        """Whether a target state (TC 29) comes within ``INTENT_EVERY_S`` of the aircraft's last one decoded: sent
        every 1.25 s, its selected altitude seldom changes, and decoding every one cost the feeder a
        tenth of its rate."""
        address = frame[2:8].lower()
        if t - self._intent.get(address, -math.inf) < INTENT_EVERY_S:
            return True
        self._intent[address] = t
        return False

    def _selected_vertical_intention(self, m: dict[str, Any]) -> Sighting | None:
        """BDS 4,0 of a Comm-B reply: the MCP/FCU selected altitude, else the FMS one."""
        address, t, bds40 = m.get("icao24"), m.get("timestamp"), m.get("bds40")
        if not isinstance(address, str) or not isinstance(t, float | int) or not isinstance(bds40, dict):
            return None
        heard = self._heard.get(address)
        if heard is None or t - heard > HEARD_S or any(m.get(k) for k in AMBIGUOUS_WITH_BDS40):
            return None
        selected = bds40.get("selected_mcp", bds40.get("selected_fms"))
        if not isinstance(selected, int | float):
            return None
        return Sighting(address, float(t), self.source, selected_alt_m=selected * FT)

    def _sighting(self, m: dict[str, Any]) -> Sighting | None:
        address = m.get("icao24")
        t = m.get("timestamp")
        if not isinstance(address, str) or not isinstance(t, float | int):
            return None
        t = float(t)
        self._heard[address] = t
        bds = m.get("bds")
        keys = QUALITY_BY_BDS.get(bds) if isinstance(bds, str) else None
        quality = () if keys is None else tuple((k, float(q)) for k in keys if isinstance(q := m.get(k), int | float))
        if bds == "05":
            parity = m.get("parity")
            if isinstance(parity, str):
                self._cpr.setdefault(address, {})[parity] = (t, m["frame"])
            alt = m.get("altitude") if m.get("source") == "barometric" else None
            lat, lon = m.get("latitude"), m.get("longitude")
            if not isinstance(lat, float) and "lat_cpr" in m:
                lat, lon = self._local(address, t, m["frame"])
            if isinstance(lat, float) and isinstance(lon, float):
                self._fix[address] = (t, lat, lon)
            else:
                lat = lon = None
            altitude = alt * FT if isinstance(alt, int | float) else None
            return Sighting(address, t, self.source, lat, lon, altitude, quality=quality)
        if bds == "09":
            gs, track, vrate = m.get("groundspeed"), m.get("track"), m.get("vertical_rate")
            if not isinstance(gs, int | float) or not isinstance(track, int | float):
                return Sighting(address, t, self.source, quality=quality) if quality else None  # airspeed only
            rate = vrate * FPM if isinstance(vrate, int | float) else None
            return Sighting(address, t, self.source, gs_mps=gs * KT, track_deg=track % 360.0, vrate_mps=rate,
                            quality=quality)  # fmt: skip
        if bds == "08":
            callsign = m.get("callsign")
            name = callsign.strip("_ #") or None if isinstance(callsign, str) else None
            return Sighting(address, t, self.source, callsign=name)
        if bds == "06":
            return Sighting(address, t, self.source, on_ground=True)
        if bds == "62":  # target state and status: selected altitude (MCP/FCU or FMS, as the source says)
            selected = m.get("selected_altitude")
            if not isinstance(selected, int | float):
                return Sighting(address, t, self.source, quality=quality) if quality else None
            return Sighting(address, t, self.source, quality=quality, selected_alt_m=selected * FT)
        return Sighting(address, t, self.source, quality=quality) if quality else None
