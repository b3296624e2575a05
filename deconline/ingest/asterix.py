"""EUROCONTROL ASTERIX surveillance data (CAT021 ADS-B, CAT048 monoradar, CAT062 system tracks) as sightings.

Parsing is done by ``libasterix`` (MIT, pure Python); this module only picks the fields a track
needs and converts them to SI at the edge. A sender's edition is not announced on the wire, so a
datablock is parsed with each edition of its category, newest first, and the first one that parses
it whole *and* gives plausible values (time of day within a day, latitude and longitude on the
globe, no empty record) is used: a wrong edition often parses by accident and yields nonsense.
Nothing here raises on bad input; what cannot be used is counted (``Decoded``). Pure: the date
comes from ``received_s``, nothing reads a clock or a socket.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import asterix.generated as gen
from asterix.base import Bits, UapSingle
from pyproj import Geod

from deconline.ingest.sighting import Sighting
from deconline.ingest.units import FL, FPM, FT, NM

__all__ = [
    "Decoded",
    "RadarSite",
    "decode",
    "encode_cat021",
    "ground_range_m",
    "parse_radar",
    "polar_to_wgs84",
    "utc_from_time_of_day",
]

DAY_S = 86_400.0
EARTH_RADIUS_M = 6_371_000.0  # mean radius
EFFECTIVE_RADIUS_M = EARTH_RADIUS_M * 4.0 / 3.0  # standard refraction: radar rays are straight on this sphere

_GEOD = Geod(ellps="WGS84")
_CATEGORIES: dict[int, list[Any]] = gen.manifest["CATS"]  # type: ignore[assignment]
_EDITIONS = {cat: tuple(reversed(specs)) for cat, specs in _CATEGORIES.items()}  # newest first


@dataclass(frozen=True)
class RadarSite:
    """Where a radar stands (WGS84, antenna height in metres): needed to place its polar plots."""

    lat: float
    lon: float
    alt_m: float = 0.0


@dataclass
class Decoded:
    """What came out of some bytes.

    Every record parsed ends up in exactly one of ``sightings``, ``skipped`` (another category,
    nothing usable, a position only in Cartesian) or ``no_radar`` (a CAT048 plot from a radar
    whose site was not given; keyed by SAC/SIC so the user can be told which to configure).
    ``malformed`` counts datablocks that no edition parses plausibly, and datagrams whose
    length fields do not add up. A datablock that is not split into records (a category
    libasterix does not know, or CAT001/007 with their two UAPs) counts once in ``skipped``.
    """

    sightings: list[Sighting] = field(default_factory=list)
    records: int = 0
    malformed: int = 0
    skipped: int = 0
    no_radar: Counter[tuple[int, int]] = field(default_factory=Counter)
    categories: Counter[int] = field(default_factory=Counter)  # records per category
    editions: Counter[str] = field(default_factory=Counter)  # records per edition that read them, "021 2.7"

    def add(self, other: Decoded) -> None:
        """Accumulate (e.g. over the datagrams of a capture)."""
        self.sightings += other.sightings
        self.records += other.records
        self.malformed += other.malformed
        self.skipped += other.skipped
        self.no_radar.update(other.no_radar)
        self.categories.update(other.categories)
        self.editions.update(other.editions)


class _Implausible(ValueError):
    """A value no sender means: the datablock was parsed with the wrong edition, or is garbage."""


@dataclass(frozen=True)
class _Context:
    received_s: float
    radars: Mapping[tuple[int, int], RadarSite]
    source: str


_Outcome = Sighting | tuple[int, int] | None  # a sighting, the SAC/SIC of a radar not given, or skipped
_NO_RADARS: Mapping[tuple[int, int], RadarSite] = MappingProxyType({})


def parse_radar(text: str) -> tuple[tuple[int, int], RadarSite]:
    """``SAC/SIC=lat,lon[,alt_m]`` (as given to ``--radar``), e.g. ``25/201=46.07,14.48,300``."""
    usage = f"--radar {text!r}: expected SAC/SIC=lat,lon,alt_m, e.g. 25/201=46.07,14.48,300"
    key, sep, where = text.partition("=")
    codes = key.strip().split("/")
    numbers = where.split(",")
    if not sep or len(codes) != 2 or len(numbers) not in (2, 3):
        raise ValueError(usage)
    try:
        sac, sic = (int(c) for c in codes)
        lat, lon, *alt = (float(n) for n in numbers)
    except ValueError:
        raise ValueError(usage) from None
    if not (0 <= sac <= 255 and 0 <= sic <= 255):
        raise ValueError(f"--radar {text!r}: SAC and SIC are 0..255 each")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"--radar {text!r}: latitude is -90..90 and longitude -180..180 (degrees, in that order)")
    alt_m = alt[0] if alt else 0.0
    if not math.isfinite(alt_m):
        raise ValueError(f"--radar {text!r}: the antenna height must be a number of metres")
    return (sac, sic), RadarSite(lat, lon, alt_m)


def utc_from_time_of_day(tod_s: float, received_s: float) -> float:
    """The UTC instant with this time of day that lies nearest to ``received_s`` (wraps midnight both ways)."""
    midnight = math.floor(received_s / DAY_S) * DAY_S
    t = midnight + tod_s % DAY_S
    if t - received_s > DAY_S / 2:
        t -= DAY_S
    elif received_s - t > DAY_S / 2:
        t += DAY_S
    return t


def ground_range_m(slant_m: float, site_alt_m: float, target_alt_m: float) -> float:
    """Ground distance to a target seen at a slant range, on the 4/3-earth-radius sphere.

    The site, the target and the centre make a triangle with sides ``R+h_site``, ``R+h_target``
    and the slant range; the arc length on the effective sphere is the ground distance. An
    inconsistent triangle (slant shorter than the height difference) gives 0. At 200 NM and FL350
    the model's choices move the result by tens of metres (55 m for no refraction instead of 4/3,
    15 m for 300 m of pressure-altitude error, under 1 m for the polar instead of the mean radius),
    far below a radar's own azimuth error there (0.05° is 320 m); the flat-earth sqrt(rho²-h²)
    would be 200 m off.
    """
    r1 = EFFECTIVE_RADIUS_M + site_alt_m
    r2 = EFFECTIVE_RADIUS_M + target_alt_m
    cos_angle = (r1 * r1 + r2 * r2 - slant_m * slant_m) / (2.0 * r1 * r2)
    return EFFECTIVE_RADIUS_M * math.acos(max(-1.0, min(1.0, cos_angle)))


def polar_to_wgs84(site: RadarSite, ground_m: float, azimuth_deg: float) -> tuple[float, float]:
    """Latitude and longitude at a ground distance and true azimuth from the site (WGS84 geodesic).

    The azimuth is taken from true north at the site (radars are aligned to it). The geodesic is
    exact (Karney, via pyproj), so the error is the ground range's, see ``ground_range_m``.
    """
    lon, lat, _ = _GEOD.fwd(site.lon, site.lat, azimuth_deg, ground_m)
    return float(lat), float(lon)


# -- reading items whatever the edition: absent or undefined in this edition gives None ----------


def _item(rec: Any, name: str, *path: str) -> Any:
    try:
        node = rec.get_item(name)
        for sub in path:
            if node is None:
                return None
            node = node.variation.get_item(sub)
        return node
    except (AttributeError, KeyError, ValueError):
        return None


def _quantity(node: Any, unit: str) -> float | None:
    """The value of an element in ``unit`` (None if the element is something else in this edition)."""
    try:
        content = node.variation.content
    except AttributeError:
        return None
    return float(content.as_quantity()) if getattr(content, "cv_unit", None) == unit else None


def _uint(node: Any) -> int | None:
    return None if node is None else int(node.as_uint())


def _text(node: Any) -> str | None:
    try:
        return str(node.variation.content.as_string()).strip() or None
    except AttributeError:
        return None


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _time(rec: Any, names: Iterable[str], ctx: _Context) -> float:
    tod = _first(*(_quantity(_item(rec, n), "s") for n in names))
    if tod is None:
        return ctx.received_s  # no time in the record: take the reception time
    if not 0.0 <= tod < DAY_S + 1.0:  # one more second for a leap second
        raise _Implausible("time of day")
    return utc_from_time_of_day(tod, ctx.received_s)


def _latlon(rec: Any, name: str) -> tuple[float, float] | None:
    lat = _quantity(_item(rec, name, "LAT"), "°")
    lon = _quantity(_item(rec, name, "LON"), "°")
    if lat is None or lon is None:
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _Implausible("position")
    return lat, lon


def _sac_sic(rec: Any) -> tuple[int, int] | None:
    sac, sic = _uint(_item(rec, "010", "SAC")), _uint(_item(rec, "010", "SIC"))
    return None if sac is None or sic is None else (sac, sic)


def _ident(address: int | None, sac_sic: tuple[int, int] | None, track_number: int | None) -> str | None:
    """The ICAO address, else the track number qualified by its SAC/SIC (``25-201:1234``)."""
    if address is not None:
        return f"{address:06x}"
    return None if sac_sic is None or track_number is None else f"{sac_sic[0]}-{sac_sic[1]}:{track_number}"


def _fl_m(fl: float | None) -> float | None:
    return None if fl is None else fl * FL


def _fpm(rate: float | None) -> float | None:
    return None if rate is None else rate * FPM


def _feet(feet: float | None) -> float | None:
    return None if feet is None else feet * FT


# -- one function per category -------------------------------------------------------------------


def _cat021(rec: Any, ctx: _Context) -> _Outcome:
    """ADS-B target report (editions 2.x and 0.2x)."""
    address = _uint(_item(rec, "080"))
    time_s = _time(rec, ("073", "071", "075", "072", "077", "030"), ctx)
    position = _latlon(rec, "131") or _latlon(rec, "130")
    if address is None:
        return None
    alt_m = _fl_m(_quantity(_item(rec, "145"), "FL"))
    vrate = _first(  # barometric before geometric; a group in editions 2.x, a bare element in 0.2x
        *(_quantity(_item(rec, *path), "ft/min") for path in (("155", "BVR"), ("155",), ("157", "GVR"), ("157",)))
    )
    gs = _quantity(_item(rec, "160", "GS"), "NM/s")
    track = _quantity(_item(rec, "160", "TA"), "°")
    callsign = _text(_item(rec, "170"))
    if position is None and alt_m is None and gs is None and callsign is None:
        return None
    lat, lon = position or (None, None)
    gs_mps, track_deg = (None, None) if gs is None or track is None else (gs * NM, track % 360.0)
    on_ground = _uint(_item(rec, "040", "GBS")) == 1
    ident, vrate_mps, quality = f"{address:06x}", _fpm(vrate), _quality021(rec)
    selected = _feet(_quantity(_item(rec, "146", "ALT"), "ft"))  # I021/146 Selected Altitude
    return Sighting(
        ident, time_s, ctx.source, lat, lon, alt_m, gs_mps, track_deg, vrate_mps, callsign, on_ground, quality,
        selected,
    )  # fmt: skip


def _quality021(rec: Any) -> tuple[tuple[str, float], ...]:
    """I021/090 under the names the other decoders use; NUCp before DO-260A (MOPS version 0)."""
    if (pa := _uint(_item(rec, "090", "PA"))) is not None:  # editions 0.2x
        return (("NUCp", float(pa)),)
    names: tuple[tuple[str, str], ...] = (("NUCPNIC", "NIC"), ("NACP", "NACp"), ("NUCRNACV", "NACv"), ("SIL", "SIL"))
    if _uint(_item(rec, "210", "VN")) == 0:
        names = (("NUCPNIC", "NUCp"),)
    return tuple((label, float(v)) for sub, label in names if (v := _uint(_item(rec, "090", sub))) is not None)


def _cat048(rec: Any, ctx: _Context) -> _Outcome:
    """Monoradar target report: a polar plot placed from the site given for its radar's SAC/SIC."""
    sac_sic = _sac_sic(rec)
    time_s = _time(rec, ("140",), ctx)
    ident = _ident(_uint(_item(rec, "220")), sac_sic, _uint(_item(rec, "161", "TRN")))
    rho = _quantity(_item(rec, "040", "RHO"), "NM")
    theta = _quantity(_item(rec, "040", "THETA"), "°")
    x = _quantity(_item(rec, "042", "X"), "NM")
    y = _quantity(_item(rec, "042", "Y"), "NM")
    polar = None if rho is None or theta is None else (rho, theta)
    cartesian = None if x is None or y is None else (math.hypot(x, y), math.degrees(math.atan2(x, y)))
    if sac_sic is None or ident is None or (polar or cartesian) is None:
        return None
    site = ctx.radars.get(sac_sic)
    if site is None:
        return sac_sic
    invalid = _uint(_item(rec, "090", "V")) == 1 or _uint(_item(rec, "090", "G")) == 1
    alt_m = None if invalid else _fl_m(_quantity(_item(rec, "090", "FL"), "FL"))
    if polar is not None:  # the measured slant range to the ground (at the site's height if no valid FL)
        ground = ground_range_m(polar[0] * NM, site.alt_m, site.alt_m if alt_m is None else alt_m)
        lat, lon = polar_to_wgs84(site, ground, polar[1])
    else:  # only the calculated position, already in the radar's horizontal plane
        assert cartesian is not None
        lat, lon = polar_to_wgs84(site, cartesian[0] * NM, cartesian[1])
    gs = _quantity(_item(rec, "200", "GSP"), "NM/s")
    heading = _quantity(_item(rec, "200", "HDG"), "°")
    gs_mps, track_deg = (None, None) if gs is None or heading is None else (gs * NM, heading % 360.0)
    callsign, on_ground = _text(_item(rec, "240")), _uint(_item(rec, "230", "STAT")) in (1, 3)
    return Sighting(ident, time_s, ctx.source, lat, lon, alt_m, gs_mps, track_deg, None, callsign, on_ground)


def _cat062(rec: Any, ctx: _Context) -> _Outcome:
    """System track: WGS84 position, Cartesian velocity, aircraft-derived address and callsign."""
    time_s = _time(rec, ("070",), ctx)
    position = _latlon(rec, "105")
    ident = _ident(_uint(_item(rec, "380", "ADR")), _sac_sic(rec), _uint(_item(rec, "040")))
    if position is None or ident is None:
        return None  # a track only in Cartesian coordinates, or one nobody can name
    vx = _quantity(_item(rec, "185", "VX"), "m/s")
    vy = _quantity(_item(rec, "185", "VY"), "m/s")
    gs = track = None
    if vx is not None and vy is not None:
        gs, track = math.hypot(vx, vy), math.degrees(math.atan2(vx, vy)) % 360.0
    fl = _first(_quantity(_item(rec, "136"), "FL"), _quantity(_item(rec, "135", "CTB"), "FL"))
    vrate = _fpm(_quantity(_item(rec, "220"), "ft/min"))
    callsign, on_ground = _text(_item(rec, "380", "ID")), _uint(_item(rec, "080", "SFC")) == 1
    selected = _feet(_quantity(_item(rec, "380", "SAL", "ALT"), "ft"))  # I062/380 SAL, downlinked selected altitude
    return Sighting(
        ident, time_s, ctx.source, *position, _fl_m(fl), gs, track, vrate, callsign, on_ground, selected_alt_m=selected
    )


_DECODERS: dict[int, Callable[[Any, _Context], _Outcome]] = {21: _cat021, 48: _cat048, 62: _cat062}


# -- datagrams and datablocks --------------------------------------------------------------------


def _datablocks(data: bytes) -> tuple[list[tuple[int, bytes]], bool]:
    """Split a datagram into (category, records) by the length fields; False if they do not add up."""
    blocks: list[tuple[int, bytes]] = []
    at = 0
    while at < len(data):
        if at + 3 > len(data):
            return blocks, False
        length = int.from_bytes(data[at + 1 : at + 3], "big")
        if length < 3 or at + length > len(data):
            return blocks, False
        blocks.append((data[at], data[at + 3 : at + length]))
        at += length
    return blocks, True


def _decode_block(category: int, body: bytes, ctx: _Context, out: Decoded) -> None:
    editions = [e for e in _EDITIONS.get(category, ()) if issubclass(e.cv_uap, UapSingle)]
    if not editions:
        out.skipped += 1  # a category (or a multi-UAP one) we do not read
        return
    decoder = _DECODERS.get(category)
    bits = Bits.from_bytes(body)
    for edition in editions:
        records = edition.cv_uap.parse(bits)
        if isinstance(records, ValueError):
            continue
        try:
            if any(r.is_empty() for r in records):
                raise _Implausible("empty record")
            outcomes = [decoder(r, ctx) if decoder else None for r in records]
        except (ValueError, ArithmeticError):  # _Implausible, or what a wrong edition makes of the bits
            continue
        out.records += len(records)
        out.categories[category] += len(records)
        out.editions["{:03d} {}.{}".format(category, *edition.cv_edition)] += len(records)
        for outcome in outcomes:
            if isinstance(outcome, Sighting):
                out.sightings.append(outcome)
            elif isinstance(outcome, tuple):
                out.no_radar[outcome] += 1
            else:
                out.skipped += 1
        return
    out.malformed += 1


def decode(
    data: bytes,
    *,
    received_s: float,
    radars: Mapping[tuple[int, int], RadarSite] = _NO_RADARS,
    source: str = "asterix",
) -> Decoded:
    """Every usable record of one datagram (one or more datablocks) as a sighting; never raises.

    ``received_s`` is when the datagram arrived (or its pcap timestamp): ASTERIX carries only the
    time of day, and the date is the one that puts it nearest to this instant.
    """
    out = Decoded()
    ctx = _Context(received_s, radars, source)
    blocks, whole = _datablocks(data)
    if not whole:
        out.malformed += 1
    for category, body in blocks:
        _decode_block(category, body, ctx, out)
    return out


def encode_cat021(sightings: Iterable[Sighting], *, sac: int = 0, sic: int = 0) -> bytes:
    """One CAT021 (edition 2.7) datablock with a record per sighting, for tests and loopback feeds.

    Each record carries what the sighting has: address, time of day (I021/073), position (131),
    flight level (145), barometric vertical rate (155), ground vector (160), callsign (170),
    selected altitude (146, source not given) and the ground bit (040). Addresses must be ICAO 24-bit (six hex digits).
    """
    cat = gen.Cat_021_2_7
    records = []
    for s in sightings:
        if len(s.address) != 6 or s.address.strip("0123456789abcdefABCDEF"):
            raise ValueError(f"{s.address!r} is not an ICAO 24-bit address (six hex digits)")
        has_vector = s.gs_mps is not None and s.track_deg is not None
        gs = min(max((s.gs_mps or 0.0) / NM, 0.0), 1.99)  # the field holds under 2 NM/s
        track = (s.track_deg or 0.0) % 360.0
        records.append(
            cat.cv_record.create(
                {
                    "010": (("SAC", sac), ("SIC", sic)),
                    "040": ((0, 0, 0, 0, None), (0, 1 if s.on_ground else 0, 0, 0, 0, 0, None)),
                    "073": (s.time_s % DAY_S, "s"),
                    "080": int(s.address, 16),
                    "131": None if s.lat is None or s.lon is None else ((s.lat, "°"), (s.lon, "°")),
                    "145": None if s.alt_m is None else (s.alt_m / FL, "FL"),
                    "155": None if s.vrate_mps is None else (0, (s.vrate_mps / FPM, "ft/min")),
                    "160": (0, (gs, "NM/s"), (track, "°")) if has_vector else None,
                    "170": None if s.callsign is None else s.callsign.upper(),
                    "146": None if s.selected_alt_m is None else (0, 0, (s.selected_alt_m / FT, "ft")),
                }
            )
        )
    data = cat.create(records).unparse().to_bytes()
    if len(data) > 0xFFFF:
        raise ValueError(f"{len(records)} records do not fit in one datablock (64 KiB); send fewer at a time")
    return bytes(data)
