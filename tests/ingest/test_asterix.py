"""ASTERIX CAT021/048/062: real captures checked against hand decoding, round trips, and garbage."""

from __future__ import annotations

import math
import struct
import time
from collections import Counter

import asterix.generated as gen
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from deconline.ingest.asterix import (
    Decoded,
    RadarSite,
    decode,
    encode_cat021,
    ground_range_m,
    parse_radar,
    utc_from_time_of_day,
)
from deconline.ingest.pcap import udp_payloads
from deconline.ingest.sighting import Sighting
from tests.conftest import SHARED

ASTERIX = SHARED / "data" / "asterix"
needs_shared = pytest.mark.skipif(not ASTERIX.exists(), reason="needs ../shared/data (the recorded captures)")

DAY = 86400.0
FT, NM = 0.3048, 1852.0
# 2016-05-05 07:35:56 UTC, when cat_034_048.pcap was captured; the .raw/.ast files carry only times of day
RECEIVED = 1462433756.0
SITE = RadarSite(49.0, 12.0, 500.0)  # an invented site for radar 25/201 (its real one is not in the data)
ICAO_CHARS = {**{i: chr(64 + i) for i in range(1, 27)}, 32: " ", **{48 + d: str(d) for d in range(10)}}


def icao_text(raw: bytes) -> str:
    """Eight 6-bit characters (A-Z = 1..26, space = 32, digits = 48..57) from six bytes."""
    bits = int.from_bytes(raw, "big")
    return "".join(ICAO_CHARS.get((bits >> (42 - 6 * i)) & 0x3F, "?") for i in range(8)).strip()


def signed(raw: bytes) -> int:
    return int.from_bytes(raw, "big", signed=True)


def unsigned(raw: bytes) -> int:
    return int.from_bytes(raw, "big")


def read(name: str) -> bytes:
    return (ASTERIX / name).read_bytes()


def decode_capture(name: str, radars: dict[tuple[int, int], RadarSite]) -> tuple[Decoded, float]:
    """Every datagram of a pcap, stamped with its capture time; and the decode rate in records/s."""
    datagrams, skipped = udp_payloads(read(name))
    assert skipped == 0
    total = Decoded()
    start = time.perf_counter()
    for d in datagrams:
        total.add(decode(d.payload, received_s=d.time_s, radars=radars))
    return total, total.records / (time.perf_counter() - start)


def accounted(d: Decoded) -> bool:
    return d.records == len(d.sightings) + d.skipped + d.no_radar.total()


# -- small pure parts ------------------------------------------------------------------------------


def test_parse_radar() -> None:
    assert parse_radar("25/201=46.07,14.48,300") == ((25, 201), RadarSite(46.07, 14.48, 300.0))
    assert parse_radar(" 1/2=-33.9,151.2") == ((1, 2), RadarSite(-33.9, 151.2, 0.0))
    for bad, says in [
        ("25/201", "expected SAC/SIC=lat,lon,alt_m"),
        ("25-201=46,14,300", "expected"),
        ("25/201=46;14;300", "expected"),
        ("x/201=46,14,300", "expected"),
        ("256/1=46,14,300", "0..255"),
        ("25/201=146,14,300", "latitude is -90..90"),
        ("25/201=46,14,nan", "metres"),
    ]:
        with pytest.raises(ValueError, match=says):
            parse_radar(bad)


def test_time_of_day_takes_the_date_nearest_the_reception() -> None:
    midnight = 1462406400.0  # 2016-05-05 00:00:00 UTC
    assert utc_from_time_of_day(27354.5, midnight + 27356.0) == midnight + 27354.5
    assert utc_from_time_of_day(86399.0, midnight + 2.0) == midnight - 1.0  # sent before midnight, read after
    assert utc_from_time_of_day(1.0, midnight - 2.0) == midnight + 1.0  # a receiver clock a little slow
    assert utc_from_time_of_day(43200.0, midnight) == midnight + 43200.0


@given(st.floats(0.0, DAY, exclude_max=True), st.floats(0.0, 4e9))
def test_time_of_day_is_kept_and_lands_within_half_a_day(tod: float, received: float) -> None:
    t = utc_from_time_of_day(tod, received)
    assert abs(t - received) <= DAY / 2 + 1e-6
    assert math.isclose((t - tod) / DAY, round((t - tod) / DAY), abs_tol=1e-9)


def test_ground_range_on_the_four_thirds_earth() -> None:
    assert ground_range_m(10_000.0, 0.0, 0.0) == pytest.approx(10_000.0, rel=1e-6)
    assert ground_range_m(5_000.0, 0.0, 5_000.0) == pytest.approx(0.0, abs=1e-3)  # straight overhead
    assert ground_range_m(1_000.0, 0.0, 5_000.0) == 0.0  # an impossible triangle is clamped
    # the earth curving away puts the target higher above the site's horizon than on a flat earth
    # (by about d²/2R), so a little less of the slant range is horizontal
    flat = math.sqrt(200_000.0**2 - 10_000.0**2)
    raised = math.sqrt(200_000.0**2 - (10_000.0 + 200_000.0**2 / (2 * 6_371_000.0 * 4 / 3)) ** 2)
    assert ground_range_m(200_000.0, 0.0, 10_000.0) == pytest.approx(raised, rel=2e-4)
    assert ground_range_m(200_000.0, 0.0, 10_000.0) < flat


# -- real captures ------------------------------------------------------------------------------


@needs_shared
def test_cat048_record_against_hand_decoding() -> None:
    raw = read("cat048.raw")
    # one datablock: CAT 0x30, LEN 48, FSPEC fd f7 02 = items 010 140 020 040 070 090 | 220 240 250 161
    # 200 170 | 230, all but 250 (a repetition count then 8 bytes) and 020/170 (one byte each here) fixed.
    assert (raw[0], unsigned(raw[1:3]), raw[3:6].hex()) == (48, 48, "fdf702")
    sac, sic = raw[6], raw[7]  # I048/010
    tod = unsigned(raw[8:11]) / 128  # I048/140, 1/128 s
    rho_m = unsigned(raw[12:14]) / 256 * NM  # I048/040 RHO, 1/256 NM
    theta = unsigned(raw[14:16]) * 360 / 65536  # I048/040 THETA
    assert raw[18] & 0xC0 == 0  # I048/090 V and G clear
    fl = signed(bytes([raw[18] & 0x3F, raw[19]])) / 4  # I048/090, 1/4 FL
    address = raw[20:23].hex()  # I048/220
    callsign = icao_text(raw[23:29])  # I048/240
    gs = unsigned(raw[40:42]) / 2**14 * NM  # I048/200 ground speed, 2^-14 NM/s
    heading = unsigned(raw[42:44]) * 360 / 65536  # I048/200 heading
    assert ((sac, sic), tod, fl, address, callsign) == ((25, 201), 27354.6015625, 330.0, "3c660c", "DLH65A")

    no_site = decode(raw, received_s=RECEIVED)
    assert (no_site.records, no_site.sightings, no_site.no_radar) == (1, [], Counter({(25, 201): 1}))

    out = decode(raw, received_s=RECEIVED, radars={(25, 201): SITE})
    assert (out.records, out.malformed, out.skipped) == (1, 0, 0)
    (s,) = out.sightings
    assert (s.address, s.callsign, s.on_ground, s.vrate_mps) == (address, callsign, False, None)
    assert s.time_s == 1462406400.0 + tod
    assert s.alt_m == pytest.approx(fl * 100 * FT)
    assert (s.gs_mps, s.track_deg) == pytest.approx((gs, heading))
    assert s.lat is not None and s.lon is not None
    # back from the decoded position to the site: the azimuth is THETA and the distance the ground range
    # of the slant range on a 4/3-radius earth (law of cosines in the site-centre-target triangle)
    azimuth, _, distance = Geod(ellps="WGS84").inv(SITE.lon, SITE.lat, s.lon, s.lat)
    r = 6_371_000.0 * 4 / 3
    r1, r2 = r + SITE.alt_m, r + fl * 100 * FT
    expected = r * math.acos((r1**2 + r2**2 - rho_m**2) / (2 * r1 * r2))
    assert azimuth % 360 == pytest.approx(theta, abs=1e-6)
    assert distance == pytest.approx(expected, abs=0.01)
    assert 360_000 < distance < rho_m  # 197.7 NM slant at FL330


@needs_shared
def test_cat062_record_against_hand_decoding() -> None:
    raw = read("cat062cat065.raw")
    # CAT 0x3e, LEN 183, FSPEC bf cf fd 02: 010 015 070 105 100 185 | 210 060 040 080 290 | 200 295 136 130
    # 135 220 | 340. Fixed sizes up to 040; 080 runs 4 bytes (its FX bits 11 03 01 18), 290 is 4 (primary
    # 0x70: three one-byte ages), 200 is 1, 295 is 3 (primary 0x90: two one-byte ages).
    assert (raw[0], unsigned(raw[1:3]), raw[3:7].hex()) == (62, 183, "bfcffd02")
    sac, sic = raw[7], raw[8]  # I062/010
    tod = unsigned(raw[10:13]) / 128  # I062/070
    lat = signed(raw[13:17]) * 180 / 2**25  # I062/105
    lon = signed(raw[17:21]) * 180 / 2**25
    vx, vy = signed(raw[27:29]) / 4, signed(raw[29:31]) / 4  # I062/185, 0.25 m/s
    track_number = unsigned(raw[35:37])  # I062/040
    assert (raw[37:41].hex(), raw[41], raw[46]) == ("11030118", 0x70, 0x90)
    fl = signed(raw[49:51]) / 4  # I062/136 measured flight level
    rocd = signed(raw[55:57]) * 6.25  # I062/220, ft/min
    assert ((sac, sic), track_number, fl, rocd, (vx, vy)) == ((25, 100), 4980, 157.0, -443.75, (-51.25, 170.0))

    out = decode(raw, received_s=RECEIVED)
    assert (out.records, out.categories, out.skipped, out.malformed) == (3, Counter({62: 2, 65: 1}), 1, 0)
    first, second = out.sightings
    assert first.address == "25-100:4980" and first.callsign is None  # no I062/380: named by track number
    assert first.time_s == 1462406400.0 + tod  # 08:35:11.66, nearest to 07:35:56 on the same day
    assert (first.lat, first.lon) == pytest.approx((lat, lon), abs=1e-12)
    assert first.alt_m == pytest.approx(fl * 100 * FT)
    assert first.gs_mps == pytest.approx(math.hypot(vx, vy))
    assert first.track_deg == pytest.approx(360 + math.degrees(math.atan2(vx, vy)))  # 343.2°: north-north-west
    assert first.vrate_mps == pytest.approx(rocd * FT / 60)
    assert (second.address, second.callsign) == ("3c0a55", "SXD4723")
    assert second.alt_m == pytest.approx(35_000 * FT)


@needs_shared
def test_cat021_records_against_hand_decoding() -> None:
    raw = read("cat21_re.ast")
    # two datablocks (44 and 47 bytes). FSPEC, 7 bytes: c5 1d 31 01 43 23 04 = 010 040 130 | 080 073 074 |
    # 090 210 | - | 020 016 | 132 295 | RE. 040 runs two bytes (01: FX, then 40: GBS), 130 is 3+3 bytes.
    assert (raw[0], unsigned(raw[1:3]), raw[3:10].hex(), raw[44], unsigned(raw[45:47])) == (
        21,
        44,
        "c51d3101432304",
        21,
        47,
    )
    ground = raw[12] & 1 and raw[13] & 0x40  # I021/040 second octet, GBS
    lat = signed(raw[14:17]) * 180 / 2**23  # I021/130, 180/2^23 degrees
    lon = signed(raw[17:20]) * 180 / 2**23
    address = raw[20:23].hex()  # I021/080
    tod = unsigned(raw[23:26]) / 128  # I021/073
    out = decode(raw, received_s=RECEIVED)
    assert (out.records, out.malformed, out.skipped, len(out.sightings)) == (2, 0, 0, 2)
    s = out.sightings[0]
    assert (s.address, s.on_ground, bool(ground)) == (address, True, True) and address == "000001"
    assert (s.lat, s.lon) == pytest.approx((lat, lon), abs=1e-12)  # 61.475 N 7.879 W: Vagar, Faroe Islands
    assert s.time_s == 1462406400.0 + tod
    assert s.quality == (("NUCp", 0.0),)  # I021/210 says DO-260 (version 0), I021/090 is 0
    assert [x.address for x in out.sightings] == ["000001", "000002"]


def test_cat021_hand_built_record() -> None:
    """The fields the recorded CAT021 lacks, in a record assembled byte by byte (edition 2.x UAP)."""
    # FSPEC: 010(1) 040(2) 131(7) | 080(11) 073(12) | 145(21) | 155(24) 160(26) | 170(29) 146(32)
    fspec = bytes([0xC3, 0x19, 0x03, 0x29, 0x90])
    items = (
        bytes([25, 201])  # 010 SAC/SIC
        + bytes([0x00])  # 040: ATP/ARC/RC/RAB all 0, no extension
        + struct.pack(">ii", round(46.5 / 180 * 2**30), round(-14.25 / 180 * 2**30))  # 131
        + bytes.fromhex("4ca7a8")  # 080
        + (3600 * 128).to_bytes(3, "big")  # 073: 01:00:00
        + struct.pack(">h", 350 * 4)  # 145: FL350
        + struct.pack(">H", round(-1000 / 6.25) & 0x7FFF)  # 155: RE 0, then 15-bit signed in 6.25 ft/min
        + struct.pack(">HH", round(0.125 * 2**14), round(90 / 360 * 65536))  # 160: 0.125 NM/s, 90°
        + int("".join(f"{c:06b}" for c in [18, 25, 18, 49, 55, 52, 3, 32]), 2).to_bytes(6, "big")  # 170 RYR174C
        + ((1 << 15) | (2 << 13) | (36_000 // 25)).to_bytes(2, "big")  # 146: SAS 1, source 2 (MCP/FCU), 25 ft
    )
    block = bytes([21]) + (3 + len(fspec) + len(items)).to_bytes(2, "big") + fspec + items
    out = decode(block, received_s=1462406400.0 + 3601)
    (s,) = out.sightings
    assert (s.address, s.callsign, s.time_s, s.on_ground) == ("4ca7a8", "RYR174C", 1462406400.0 + 3600, False)
    assert (s.lat, s.lon) == pytest.approx((46.5, -14.25), abs=1e-7)
    assert s.alt_m == pytest.approx(35_000 * FT)
    assert s.vrate_mps == pytest.approx(-1000 * FT / 60)
    assert (s.gs_mps, s.track_deg) == pytest.approx((0.125 * NM, 90.0))
    assert s.selected_alt_m == pytest.approx(36_000 * FT)


def test_an_older_edition_is_tried_when_the_newest_fails() -> None:
    cat = gen.Cat_021_0_26  # before 2.0: time in I021/030, vertical rate and flight level as bare elements
    record = cat.cv_record.create(
        {
            "010": (("SAC", 1), ("SIC", 2)),
            "040": 0,
            "030": (3600.0, "s"),
            "130": ((46.0, "°"), (14.0, "°")),
            "080": 0x4CA7A8,
            "090": 0x0A07,  # AC 0, MN 0, DC 0, spare, PA (NUCp) 7
            "145": (300.0, "FL"),
            "155": (-512.5, "ft/min"),
            "160": ((0.125, "NM/s"), (45.0, "°")),
            "170": "EZY12",
        }
    )
    out = decode(cat.create([record]).unparse().to_bytes(), received_s=3000.0)
    assert out.editions == Counter({"021 0.26": 1})
    (s,) = out.sightings
    assert (s.address, s.callsign, s.time_s, s.quality) == ("4ca7a8", "EZY12", 3600.0, (("NUCp", 7.0),))
    assert (s.lat, s.lon) == pytest.approx((46.0, 14.0), abs=1e-5)  # 180/2^23 degrees
    assert (s.alt_m, s.vrate_mps) == pytest.approx((30_000 * FT, -512.5 * FT / 60))
    assert (s.gs_mps, s.track_deg) == pytest.approx((0.125 * NM, 45.0))


@needs_shared
def test_capture_counts_and_decode_rate() -> None:
    radars = {(25, 201): SITE}
    cat048, rate048 = decode_capture("cat_034_048.pcap", radars)
    # 120 datablocks in 100 datagrams; two of the 128 CAT048 records (Mode S track status) have no position
    assert (cat048.records, cat048.categories, cat048.malformed) == (162, Counter({48: 128, 34: 34}), 0)
    assert cat048.editions == Counter({"048 1.32": 128, "034 1.29": 34})
    assert cat048.no_radar == Counter(
        {(25, 12): 38, (25, 204): 28, (25, 13): 14, (25, 11): 8, (25, 205): 6, (25, 14): 4}
    )
    assert (len(cat048.sightings), cat048.skipped) == (28, 36) and accounted(cat048)
    assert len({s.address for s in cat048.sightings}) == 14  # each twice: the capture has both A and B feeds

    every_radar = dict.fromkeys(cat048.no_radar, SITE) | radars
    all048, _ = decode_capture("cat_034_048.pcap", every_radar)
    assert (len(all048.sightings), all048.no_radar.total()) == (126, 0)
    assert len({s.address for s in all048.sightings}) == 63  # 62 Mode S addresses and one track 25-204:2986

    cat062, rate062 = decode_capture("cat_062_065.pcap", radars)
    assert (cat062.records, cat062.categories, len(cat062.sightings)) == (3, Counter({62: 2, 65: 1}), 2)
    assert {(s.address, s.callsign) for s in cat062.sightings} == {("4ca7a8", "RYR174C"), ("4cac7f", "ISS2007")}

    # asterix.pcap is CAT062 in a pre-1.x edition libasterix does not have: 72 datablocks parse with no
    # edition, and the other 28 only by accident (times past midnight, latitudes beyond 90°): all refused
    old062, _ = decode_capture("asterix.pcap", radars)
    assert (old062.malformed, old062.records, old062.sightings) == (100, 0, [])
    print(f"\nASTERIX decode rate: cat_034_048 {rate048:,.0f} records/s, cat_062_065 {rate062:,.0f} records/s")


# -- round trips through libasterix's encoder ----------------------------------------------------


sightings = st.builds(
    Sighting,
    address=st.integers(0, 2**24 - 1).map(lambda a: f"{a:06x}"),
    time_s=st.floats(1.7e9 - 40_000, 1.7e9 + 40_000),  # within half a day of the reception below
    source=st.just("asterix"),
    lat=st.floats(-90, 90),
    lon=st.floats(-180, 180),
    alt_m=st.floats(-300, 15_000),
    gs_mps=st.floats(0, 600),
    track_deg=st.floats(0, 360, exclude_max=True),
    vrate_mps=st.floats(-100, 100),
    callsign=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8),
    on_ground=st.booleans(),
    selected_alt_m=st.none() | st.floats(-300, 15_000),
)


@given(st.lists(sightings, min_size=1, max_size=5))
@settings(max_examples=50, deadline=None)
def test_cat021_round_trip(sent: list[Sighting]) -> None:
    data = encode_cat021(sent, sac=1, sic=2)
    out = decode(data, received_s=1.7e9)
    assert (out.records, out.malformed, len(out.sightings)) == (len(sent), 0, len(sent))
    for a, b in zip(sent, out.sightings, strict=True):
        assert (b.address, b.callsign, b.on_ground) == (a.address, a.callsign, a.on_ground)
        assert b.time_s == pytest.approx(a.time_s, abs=1 / 256 + 1e-6)
        assert (b.lat, b.lon) == pytest.approx((a.lat, a.lon), abs=2e-7)
        assert b.alt_m == pytest.approx(a.alt_m, abs=25 * FT / 2 + 1e-6)
        assert b.gs_mps == pytest.approx(a.gs_mps, abs=NM / 2**15 + 1e-6)
        assert a.track_deg is not None and b.track_deg is not None
        off = abs(b.track_deg - a.track_deg)
        assert min(off, 360 - off) < 360 / 2**17 + 1e-9  # half the least significant bit, across north too
        assert b.vrate_mps == pytest.approx(a.vrate_mps, abs=6.25 * FT / 120 + 1e-9)
        assert b.selected_alt_m == (None if a.selected_alt_m is None else pytest.approx(a.selected_alt_m, abs=25 * FT))


def test_encode_cat021_refuses_a_track_id() -> None:
    with pytest.raises(ValueError):
        encode_cat021([Sighting("25-201:12", 0.0)])


def cat048_block(**items: object) -> bytes:
    record = gen.Cat_048_1_32.cv_record.create(items)  # type: ignore[arg-type]
    return bytes(gen.Cat_048_1_32.create([record]).unparse().to_bytes())


def test_cat048_round_trip() -> None:
    data = cat048_block(
        **{
            "010": (("SAC", 7), ("SIC", 9)),
            "140": (3600.0, "s"),
            "040": (("RHO", (50.0, "NM")), ("THETA", (90.0, "°"))),
            "090": (("V", 0), ("G", 0), ("FL", (100.0, "FL"))),
            "161": (0, ("TRN", 1234)),
            "200": (("GSP", (0.0625, "NM/s")), ("HDG", (270.0, "°"))),
            "240": "TEST1",
        }
    )
    site = RadarSite(0.0, 0.0, 0.0)
    out = decode(data, received_s=3600.0, radars={(7, 9): site})
    (s,) = out.sightings
    assert (s.address, s.callsign, s.time_s) == ("7-9:1234", "TEST1", 3600.0)
    assert s.alt_m == pytest.approx(10_000 * FT)
    assert (s.gs_mps, s.track_deg) == pytest.approx((0.0625 * NM, 270.0), abs=1e-9)
    assert s.lat == pytest.approx(0.0, abs=1e-9) and s.lon is not None and s.lon > 0  # due east
    _, _, distance = Geod(ellps="WGS84").inv(0.0, 0.0, s.lon, s.lat)
    assert distance == pytest.approx(ground_range_m(50 * NM, 0.0, 10_000 * FT), abs=0.01)


def test_cat048_flight_level_not_validated_is_dropped() -> None:
    data = cat048_block(
        **{
            "010": (("SAC", 7), ("SIC", 9)),
            "040": (("RHO", (5.0, "NM")), ("THETA", (0.0, "°"))),
            "090": (("V", 1), ("G", 0), ("FL", (100.0, "FL"))),
            "220": 0xABC123,
        }
    )
    (s,) = decode(data, received_s=5.0, radars={(7, 9): SITE}).sightings
    assert (s.address, s.alt_m, s.time_s) == ("abc123", None, 5.0)  # no I048/140: the reception time


def test_cat062_selected_altitude_from_aircraft_derived_data() -> None:
    """I062/380 subfield SAL: the selected altitude the track's aircraft downlinked (25 ft steps)."""
    cat = gen.Cat_062_1_21
    items = {
        "010": (("SAC", 1), ("SIC", 2)),
        "070": (10.0, "s"),
        "105": (("LAT", (45.0, "°")), ("LON", (7.0, "°"))),
        "040": 12,
        "380": {"ADR": 0x4CA7A8, "SAL": (1, 2, (24_000.0, "ft"))},
    }
    record = cat.cv_record.create(items)  # type: ignore[arg-type]
    (s,) = decode(cat.create([record]).unparse().to_bytes(), received_s=10.0).sightings
    assert (s.address, s.selected_alt_m) == ("4ca7a8", pytest.approx(24_000 * FT))
    items["380"] = {"ADR": 0x4CA7A8}
    record = cat.cv_record.create(items)  # type: ignore[arg-type]
    (s,) = decode(cat.create([record]).unparse().to_bytes(), received_s=10.0).sightings
    assert s.selected_alt_m is None


def test_cat062_with_only_a_cartesian_position_is_skipped() -> None:
    cat = gen.Cat_062_1_21
    record = cat.cv_record.create(
        {
            "010": (("SAC", 1), ("SIC", 2)),
            "070": (10.0, "s"),
            "100": (("X", (1000.0, "m")), ("Y", (2000.0, "m"))),
            "040": 12,
        }
    )
    out = decode(cat.create([record]).unparse().to_bytes(), received_s=10.0)
    assert (out.records, out.skipped, out.sightings) == (1, 1, [])


# -- garbage: counted, never raised --------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("name", ["cat048.raw", "cat062cat065.raw", "cat21_re.ast"])
def test_truncated_datablocks_are_counted(name: str) -> None:
    raw = read(name)
    boundaries, at = set(), 0  # where each datablock ends, by its length field
    while at < len(raw):
        at += unsigned(raw[at + 1 : at + 3])
        boundaries.add(at)
    for cut in range(1, len(raw)):
        out = decode(raw[:cut], received_s=RECEIVED)
        assert (out.malformed >= 1) == (cut not in boundaries)


@needs_shared
def test_wrong_length_fields_are_counted() -> None:
    raw = read("cat048.raw")
    for length in (0, 2, 3, 47, 49, 0xFFFF):
        out = decode(raw[:1] + length.to_bytes(2, "big") + raw[3:], received_s=RECEIVED)
        assert out.malformed >= 1 and out.sightings == [] and out.no_radar.total() == 0
    both = decode(raw + b"\x30\x00", received_s=RECEIVED)  # a good datablock, then a torn header
    assert (both.records, both.malformed) == (1, 1)


def test_unknown_category_is_skipped_not_malformed() -> None:
    out = decode(bytes([200, 0, 5, 0x80, 1]), received_s=0.0)
    assert (out.records, out.skipped, out.malformed) == (0, 1, 0)


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None)
def test_random_bytes_never_raise(data: bytes) -> None:
    out = decode(data, received_s=1e9, radars={(0, 0): SITE})
    assert out.records <= len(out.sightings) + out.skipped + out.no_radar.total()  # blocks of CAT001 count once


@given(st.sampled_from([1, 2, 21, 34, 48, 62, 65, 240]), st.binary(max_size=200))
@settings(max_examples=800, deadline=None)
def test_random_records_in_a_valid_datablock_never_raise(category: int, body: bytes) -> None:
    data = bytes([category]) + (3 + len(body)).to_bytes(2, "big") + body
    out = decode(data, received_s=1e9, radars={(b, c): SITE for b in range(4) for c in range(4)})
    assert accounted(out) or (category == 1 and out.skipped == 1)  # CAT001 has two UAPs: not split
    for s in out.sightings:
        assert s.lat is None or (-90 <= s.lat <= 90 and s.lon is not None and -180 <= s.lon <= 180)
        assert abs(s.time_s - 1e9) <= DAY / 2 or s.time_s == 1e9
