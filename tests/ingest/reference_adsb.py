"""A slow, obvious ADS-B decoder written from the specification (ICAO Doc 9871 / "The 1090 MHz
Riddle"), used only to check what ``rs1090`` gives the feeder. Airborne positions (TC 9-18,
Q-bit altitudes), CPR global decoding of an even/odd pair, and velocities of subtypes 1-2."""

from __future__ import annotations

import math

NZ = 15


def bits(frame: str, start: int, length: int) -> int:
    """Bits ``start`` to ``start + length - 1`` of the frame, counted from 1 as the spec does."""
    value = int(frame, 16)
    total = len(frame) * 4
    return (value >> (total - start - length + 1)) & ((1 << length) - 1)


def me(frame: str, start: int, length: int) -> int:
    """Bits of the 56-bit ME field (bit 1 of ME is bit 33 of the message)."""
    return bits(frame, 32 + start, length)


def type_code(frame: str) -> int:
    return me(frame, 1, 5)


def altitude_ft(frame: str) -> int | None:
    code = me(frame, 9, 12)
    if not code & 0b000000010000:  # Q bit clear: Gillham-coded, 100 ft steps (not in these captures)
        return None
    n = ((code & 0b111111100000) >> 1) | (code & 0b000000001111)
    return n * 25 - 1000


def cpr(frame: str) -> tuple[int, float, float]:
    """(odd flag, latitude fraction, longitude fraction)."""
    return me(frame, 22, 1), me(frame, 23, 17) / 131072, me(frame, 40, 17) / 131072


def nl(lat: float) -> int:
    if abs(lat) >= 87.0:
        return 1 if abs(lat) > 87.0 else 2
    a = 1 - math.cos(math.pi / (2 * NZ))
    b = math.cos(math.pi / 180 * abs(lat)) ** 2
    return math.floor(2 * math.pi / math.acos(1 - a / b))


def global_position(even: str, odd: str, newest_is_odd: bool) -> tuple[float, float] | None:
    _, lat_e, lon_e = cpr(even)
    _, lat_o, lon_o = cpr(odd)
    d_even, d_odd = 360 / (4 * NZ), 360 / (4 * NZ - 1)
    j = math.floor(59 * lat_e - 60 * lat_o + 0.5)
    lat_even = d_even * (j % 60 + lat_e)
    lat_odd = d_odd * (j % 59 + lat_o)
    lat_even -= 360 if lat_even >= 270 else 0
    lat_odd -= 360 if lat_odd >= 270 else 0
    if nl(lat_even) != nl(lat_odd):
        return None  # the pair straddles a longitude zone boundary
    lat = lat_odd if newest_is_odd else lat_even
    zones = nl(lat)
    n = max(zones - (1 if newest_is_odd else 0), 1)
    m = math.floor(lon_e * (zones - 1) - lon_o * zones + 0.5)
    lon = (360 / n) * (m % n + (lon_o if newest_is_odd else lon_e))
    lon -= 360 if lon >= 180 else 0
    return lat, lon


def velocity(frame: str) -> tuple[float, float, int | None] | None:
    """(ground speed kt, track deg, vertical rate ft/min) of a subtype 1 or 2 velocity message."""
    subtype = me(frame, 6, 3)
    if subtype not in (1, 2):
        return None
    scale = 1 if subtype == 1 else 4
    v_ew, v_ns = me(frame, 15, 10), me(frame, 26, 10)
    if v_ew == 0 or v_ns == 0:
        return None
    vx = (v_ew - 1) * scale * (-1 if me(frame, 14, 1) else 1)
    vy = (v_ns - 1) * scale * (-1 if me(frame, 25, 1) else 1)
    speed = math.hypot(vx, vy)
    track = math.degrees(math.atan2(vx, vy)) % 360
    raw = me(frame, 38, 9)
    rate = None if raw == 0 else (raw - 1) * 64 * (-1 if me(frame, 37, 1) else 1)
    return speed, track, rate


def callsign(frame: str) -> str:
    alphabet = "#ABCDEFGHIJKLMNOPQRSTUVWXYZ##### ###############0123456789######"
    return "".join(alphabet[me(frame, 9 + 6 * k, 6)] for k in range(8)).strip("# ")


def selected_altitude_ft(frame: str) -> int | None:
    """Target state and status (TC 29, subtype 1, DO-260B 2.2.3.2.7.1): the 11-bit selected altitude
    in 32 ft steps above 0 (0: no data); ME bit 9 says MCP/FCU (0) or FMS (1)."""
    raw = me(frame, 10, 11)
    return None if raw == 0 else (raw - 1) * 32


def bds40_selected_ft(frame: str) -> tuple[int | None, int | None]:
    """BDS 4,0 in the MB field of a Comm-B reply (bits 33-88): MCP/FCU and FMS selected altitudes,
    each a status bit and 12 bits in 16 ft steps (ICAO Doc 9871, table A-2-64)."""

    def field(status_bit: int) -> int | None:
        return bits(frame, 32 + status_bit + 1, 12) * 16 if bits(frame, 32 + status_bit, 1) else None

    return field(1), field(14)
