"""Mode S through rs1090: textbook frames, the real captures checked against a decoder written
from the specification (tests/ingest/reference_adsb.py), CPR pairs across batches, and garbage."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.beast import BeastReader
from deconline.ingest.decoders import BeastDecoder, FramesDecoder, avr_line, csv_line
from deconline.ingest.modes import FPM, FT, KT, ModeSDecoder
from deconline.ingest.modes_crc import remainder
from deconline.ingest.sighting import Sighting
from deconline.ingest.track_builder import TrackBuilder
from tests.conftest import SHARED
from tests.ingest import reference_adsb as ref

CAPTURE = SHARED / "data" / "sample_dump1090.bin"
FRAMES_CSV = SHARED / "data" / "short_flights.csv"
needs_shared = pytest.mark.skipif(not CAPTURE.exists(), reason="needs ../shared/data (the recorded captures)")

# "The 1090 MHz Riddle" (J. Sun), worked examples with their published answers.
IDENTIFICATION = "8D4840D6202CC371C32CE0576098"  # KLM1023, 4840d6
EVEN = "8D40621D58C382D690C8AC2863A7"  # 40621d, t = 1457996402
ODD = "8D40621D58C386435CC412692AD6"  # t = 1457996400 -> 52.2572, 3.91937, 38,000 ft
VELOCITY = "8D485020994409940838175B284F"  # 159.20 kt, 182.88 deg, -832 ft/min
TARGET_STATE_A43F51 = "8da43f51ea07e870015c08c39f8a"  # short_flights.csv: TC 29, MCP/FCU 4,000 ft, 1015.2 hPa
# sample_dump1090.bin: Comm-B replies of 48520a (TRA89M at FL380) holding BDS 4,0, MCP/FCU 38,000 ft
BDS40_DF20 = "a0001838ca380030a80000d1f024"
BDS40_DF21 = "a80018a7ca380030a800001d4e3e"
# pyModeS README (github.com/junzis/pyModeS, "Mode-S Enhanced Surveillance"): selalt40mcp -> 3000 ft
PYMODES_BDS40 = "A000029C85E42F313000007047D3"


def test_textbook_frames() -> None:
    decoder = ModeSDecoder()
    out = decoder.decode([1457996400.0, 1457996402.0, 1.0, 2.0], [ODD, EVEN, IDENTIFICATION, VELOCITY])
    assert out.malformed == 0 and out.other == 0
    by_kind = {(s.address, s.lat is not None, s.gs_mps is not None, s.callsign): s for s in out.sightings}
    [position] = [s for s in out.sightings if s.lat is not None]
    assert (position.address, round(position.lat or 0, 4), round(position.lon or 0, 5)) == ("40621d", 52.2572, 3.91937)
    assert position.alt_m == pytest.approx(38_000 * FT)
    [ident] = [s for s in out.sightings if s.callsign]
    assert (ident.address, ident.callsign) == ("4840d6", "KLM1023")
    [speed] = [s for s in out.sightings if s.gs_mps is not None]
    assert speed.gs_mps == pytest.approx(159.20 * KT, abs=0.01) and speed.track_deg == pytest.approx(182.88, abs=0.01)
    assert speed.vrate_mps == pytest.approx(-832 * FPM)
    assert len(by_kind) == 4


def test_a_single_frame_decodes_locally_with_a_reference() -> None:
    [s] = ModeSDecoder(reference=(52.258, 3.918)).decode([1.0], [EVEN]).sightings
    assert (round(s.lat or 0, 4), round(s.lon or 0, 4)) == (52.2572, 3.9194)
    [alone] = ModeSDecoder().decode([1.0], [EVEN]).sightings
    assert alone.lat is None and alone.alt_m is not None  # no pair, no reference: altitude only


def test_cpr_pairs_span_batches() -> None:
    decoder = ModeSDecoder()
    first = decoder.decode([1457996400.0], [ODD])
    second = decoder.decode([1457996402.0], [EVEN])
    assert first.sightings[0].lat is None
    [s] = second.sightings
    assert round(s.lat or 0, 4) == 52.2572
    too_late = ModeSDecoder(pair_window_s=10.0)
    too_late.decode([1000.0], [ODD])
    too_late.decode([1020.0], [VELOCITY])  # time moves on: the old frame is forgotten
    assert too_late.decode([1030.0], [EVEN]).sightings[0].lat is None


def reference_positions(times: list[float], frames: list[str]) -> dict[tuple[str, float], tuple[float, float]]:
    """Global CPR decoding of every airborne position that has an opposite frame within 10 s."""
    last: dict[tuple[str, int], tuple[float, str]] = {}
    found = {}
    for t, frame in zip(times, frames, strict=True):
        if ref.bits(frame, 1, 5) not in (17, 18) or not 9 <= ref.type_code(frame) <= 18:
            continue
        address, odd = frame[2:8].lower(), ref.cpr(frame)[0]
        other = last.get((address, 1 - odd))
        last[(address, odd)] = (t, frame)
        if other is None or t - other[0] > 10:
            continue
        even, odd_frame = (other[1], frame) if odd else (frame, other[1])
        position = ref.global_position(even, odd_frame, newest_is_odd=bool(odd))
        if position is not None:
            found[(address, t)] = position
    return found


def check_against_reference(times: list[float], frames: list[str], sightings: list[Sighting]) -> int:
    expected = reference_positions(times, frames)
    checked = 0
    for s in sightings:
        if s.lat is None or s.lon is None or (s.address, s.time_s) not in expected:
            continue
        lat, lon = expected[(s.address, s.time_s)]
        assert (s.lat, s.lon) == (pytest.approx(lat, abs=1e-5), pytest.approx(lon, abs=1e-5)), s
        checked += 1
    by_frame = dict(zip(times, frames, strict=True))
    for s in sightings:
        frame = by_frame.get(s.time_s)
        if frame is None or ref.bits(frame, 1, 5) != 17:
            continue
        if s.gs_mps is not None and (v := ref.velocity(frame)) is not None:
            assert s.gs_mps == pytest.approx(v[0] * KT, rel=1e-6) and s.track_deg == pytest.approx(v[1], abs=1e-6)
            assert s.vrate_mps == (None if v[2] is None else pytest.approx(v[2] * FPM))
        if s.alt_m is not None and 9 <= ref.type_code(frame) <= 18 and (alt := ref.altitude_ft(frame)) is not None:
            assert s.alt_m == pytest.approx(alt * FT)
        if s.callsign:
            assert s.callsign == ref.callsign(frame)
    return checked


@needs_shared
def test_short_flights_agree_with_the_reference_decoder() -> None:
    rows = [line.split(",") for line in FRAMES_CSV.read_text().split()]
    times, frames = [float(t) for t, _ in rows], [f for _, f in rows]
    out = ModeSDecoder().decode(times, frames)
    # 14 aircraft status squitters (TC 28), 36 target states within 5 s of the aircraft's last one decoded
    assert (len(frames), out.malformed, out.other) == (486, 0, 50)
    assert len({s.address for s in out.sightings}) == 9
    positions = [s for s in out.sightings if s.lat is not None]
    assert len(positions) == 163
    assert check_against_reference(times, frames, out.sightings) >= 100
    builder = TrackBuilder(max_age_s=10)
    for s in out.sightings:
        builder.take(s)
    states = builder.ready()
    # 9 aircraft: 7 with positions and a state (ac5920's last velocity is 11.3 s older than its last
    # position: sent with that age, see below), 2 with nothing but status messages
    assert len({s.address for s in positions}) == 7 and len(states) == 7
    assert all(33 < s.lat < 35 and -85.5 < s.lon < -83.5 for s in states)  # around Atlanta
    assert {s.id: round(s.velocity_age_s, 1) for s in states if s.velocity_age_s > 5} == {"ac5920": 11.3, "a5aa20": 5.5}


@needs_shared
def test_target_state_squitters_give_the_selected_altitude() -> None:
    """The 65 TC 29 squitters of the capture, against the specification's decoding: rs1090 rounds
    the 32 ft steps to the 100 ft the crew selected."""
    rows = [line.split(",") for line in FRAMES_CSV.read_text().split()]
    target_states = [(float(t), f) for t, f in rows if ref.type_code(f) == 29]
    assert len(target_states) == 65
    # One aircraft's target states are decoded once every 5 s (sent every 1.25 s, they seldom change).
    throttled = ModeSDecoder().decode([t for t, _ in target_states], [f for _, f in target_states])
    assert (throttled.malformed, throttled.other, len(throttled.sightings)) == (0, 36, 29)
    sightings = [s for t, f in target_states for s in ModeSDecoder().decode([t], [f]).sightings]  # each alone
    assert len(sightings) == 65
    for s, (t, frame) in zip(sightings, target_states, strict=True):
        feet = ref.selected_altitude_ft(frame)
        assert feet is not None and s.time_s == t and s.address == frame[2:8].lower()
        assert s.selected_alt_m is not None and abs(s.selected_alt_m / FT - feet) <= 50
        assert round(s.selected_alt_m / FT) % 100 == 0
        assert dict(s.quality)["NACp"] == ref.me(frame, 40, 4)
    selected = {(s.address, round(s.selected_alt_m / FT)) for s in sightings if s.selected_alt_m is not None}
    assert ("ac5920", 36_000) in selected and ("a43f51", 4_000) in selected and ("a5aa20", 2_500) in selected
    # The DO-260A layout (subtype 0) differs: such a squitter is not read as if it were DO-260B.
    version_1 = with_parity(TARGET_STATE_A43F51[:8] + f"{int(TARGET_STATE_A43F51[8:10], 16) & ~0b110:02x}"
                            + TARGET_STATE_A43F51[10:22])  # fmt: skip
    assert ModeSDecoder().decode([1.0], [version_1]).other == 1


def with_parity(first_88_bits: str) -> str:
    """An extended squitter with its parity computed (for frames changed from real ones)."""
    body = bytes.fromhex(first_88_bits + "000000")
    return (body[:-3] + remainder(body).to_bytes(3, "big")).hex()


@needs_shared
def test_the_aircraft_whose_velocity_came_late_is_posted_with_its_age() -> None:
    """ac5920 (AAL2174) in the last 15 s of the capture: velocities at -14.5, -13.5 and -11.3 s, then
    only a position (one frame, decoded against a reference near Atlanta). The builder used to drop
    that state (velocity older than 10 s); it is posted now, the velocity's age with it."""
    rows = [line.split(",") for line in FRAMES_CSV.read_text().split()]
    end = max(float(t) for t, _ in rows)
    last = [(float(t), f) for t, f in rows if f[2:8].lower() == "ac5920" and float(t) >= end - 15]
    assert [ref.type_code(f) for _, f in last] == [19, 31, 19, 19, 11]
    out = ModeSDecoder(reference=(33.64, -84.43)).decode([t for t, _ in last], [f for _, f in last])
    builder = TrackBuilder(max_age_s=10)
    for s in out.sightings:
        builder.take(s)
    [state] = builder.ready()
    assert (state.id, state.time_s) == ("ac5920", last[-1][0])
    assert state.velocity_age_s == pytest.approx(last[-1][0] - last[-2][0]) and 11.2 < state.velocity_age_s < 11.4
    report = state.as_report()
    assert report["velocity_age_s"] == round(state.velocity_age_s, 3) and report["nac_p"] == 9
    assert round(report["gs_mps"] / KT) == 486 and round(report["alt_m"] / FT) == 36_000  # type: ignore[operator]
    assert "selected_altitude_m" not in report  # its last target state was 36 s before: stale


@needs_shared
def test_the_beast_capture_agrees_with_the_reference_decoder() -> None:
    frames = BeastReader().feed(CAPTURE.read_bytes())
    mode_s = [f for f in frames if f.kind != 0x31]
    times = [(f.mlat_ticks - mode_s[0].mlat_ticks) / 12e6 for f in mode_s]
    hexes = [f.message.hex() for f in mode_s]
    out = ModeSDecoder().decode(times, hexes)
    # 239 frames: 23 extended squitters, all of 48520a (2 of them aircraft status), 216 other replies, of
    # which 9 Comm-B hold BDS 4,0; of its 4 target states, one came within 5 s of the one before
    assert (len(frames), out.other, out.malformed) == (239, 2 + 216 - 9 + 1, 0)
    assert {s.address for s in out.sightings} == {"48520a"}
    [callsign] = {s.callsign for s in out.sightings if s.callsign}
    assert callsign == "TRA89M"
    assert check_against_reference(times, hexes, out.sightings) == 3
    builder = TrackBuilder()
    for s in out.sightings:
        builder.take(s)
    [state] = builder.ready()
    assert (round(state.lat, 3), round(state.lon, 3), round(state.alt_m)) == (43.657, 1.23, round(38_000 * FT))
    assert round(state.gs_mps / KT) == 395 and round(state.track_deg) == 354
    assert dict(state.quality)["NACp"] == 9


@needs_shared
def test_comm_b_selected_vertical_intention_from_the_beast_capture() -> None:
    """BDS 4,0 in DF20/21 replies: the MCP/FCU selected altitude, checked against the specification's
    layout; taken only for an aircraft heard in a squitter (the address of a Comm-B reply is
    recovered from its parity, so a garbled reply names an aircraft that does not exist)."""
    frames = BeastReader().feed(CAPTURE.read_bytes())
    mode_s = [f for f in frames if f.kind != 0x31]
    times = [(f.mlat_ticks - mode_s[0].mlat_ticks) / 12e6 for f in mode_s]
    hexes = [f.message.hex() for f in mode_s]
    out = ModeSDecoder().decode(times, hexes)
    comm_b = [s for s in out.sightings if s.selected_alt_m is not None and s.time_s in dict.fromkeys(
        t for t, h in zip(times, hexes, strict=True) if h[:2] in ("a0", "a8"))]  # fmt: skip
    target_state = [s for s in out.sightings if s.selected_alt_m is not None and s not in comm_b]
    assert len(comm_b) == 9 and len(target_state) == 3  # the fourth came within 5 s of the one before
    assert {(s.address, round(s.selected_alt_m / FT)) for s in comm_b + target_state} == {("48520a", 38_000)}  # type: ignore[operator]
    for frame in (BDS40_DF20, BDS40_DF21):
        assert ref.bds40_selected_ft(frame) == (38_000, None)  # MCP/FCU only, no FMS altitude
        assert frame in hexes
    # Alone, with no squitter of that aircraft heard, the same replies give nothing.
    alone = ModeSDecoder().decode([1.0, 2.0], [BDS40_DF20, BDS40_DF21])
    assert (alone.sightings, alone.other, alone.malformed) == ([], 2, 0)


def test_comm_b_needs_its_aircraft_heard_in_a_squitter_within_a_minute() -> None:
    assert ref.bds40_selected_ft(PYMODES_BDS40) == (3_008, 3_008)  # 16 ft steps; rs1090 gives the 3,000 selected
    squitter = with_parity("8d4243d0" + IDENTIFICATION[8:22].lower())  # an identification of 4243d0
    decoder = ModeSDecoder()
    out = decoder.decode([9.0, 10.0, 11.0], [PYMODES_BDS40, squitter, PYMODES_BDS40])
    assert out.other == 1  # the first reply came before the aircraft was heard
    [reply] = [s for s in out.sightings if s.selected_alt_m is not None]
    assert (reply.address, reply.time_s, reply.selected_alt_m) == ("4243d0", 11.0, pytest.approx(3_000 * FT))
    assert decoder.decode([70.0], [PYMODES_BDS40]).sightings[0].selected_alt_m == pytest.approx(3_000 * FT)
    late = decoder.decode([71.0], [PYMODES_BDS40])
    assert (late.sightings, late.other) == ([], 1)
    # A BDS 5,0/6,0 reply of the same aircraft (pyModeS README) is not taken for a selected altitude.
    assert decoder.decode([12.0], ["A000029CFFBAA11E2004727281F1"]).sightings == []


@needs_shared
def test_a_beast_file_is_timed_by_its_mlat_clock_and_any_chunking_gives_the_same() -> None:
    data = CAPTURE.read_bytes()
    whole = BeastDecoder(ModeSDecoder(), start_s=1_000.0).take(data, 5.0)
    pieces = BeastDecoder(ModeSDecoder(), start_s=1_000.0)
    sightings = []
    for k in range(0, len(data), 97):
        sightings += pieces.take(data[k : k + 97], 5.0).sightings
    assert [s.time_s for s in whole.sightings] == [s.time_s for s in sightings]
    assert min(s.time_s for s in sightings) > 1_000 and max(s.time_s for s in sightings) < 1_024  # a 24 s capture
    assert whole.messages == 239 and whole.malformed == 0


def test_avr_and_csv_lines() -> None:
    assert avr_line(f"*{EVEN};", 7.0) == (7.0, EVEN)
    assert avr_line(f"@0123456789AB{EVEN};", 7.0) == (7.0, EVEN)
    assert avr_line(EVEN, 7.0) is None and avr_line("*;", 7.0) is None
    assert csv_line(f"1457996402.5,{EVEN}", 0.0) == (1457996402.5, EVEN)
    assert csv_line(f"yesterday,{EVEN}", 0.0) is None and csv_line("1.0", 0.0) is None
    decoder = FramesDecoder(ModeSDecoder(), avr_line)
    text = f"*{ODD};\n*{EVEN[:10]}".encode()
    first = decoder.take(text, 1.0)
    second = decoder.take(f"{EVEN[10:]};\n*zz;\nnonsense\n".encode(), 2.0)
    assert first.messages == 1 and second.messages == 3 and second.malformed == 2
    assert [s.lat is not None for s in second.sightings] == [True]


hex_frames = st.text(alphabet="0123456789abcdefABCDEF", min_size=0, max_size=30)


@given(st.lists(st.one_of(hex_frames, st.text(max_size=30)), max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_input_is_counted_never_raised(frames: list[str]) -> None:
    out = ModeSDecoder(reference=(50.0, 5.0)).decode([float(k) for k in range(len(frames))], frames)
    assert out.malformed + out.other <= len(frames)
    assert all(isinstance(s.address, str) and math.isfinite(s.time_s) for s in out.sightings)


@given(st.lists(st.tuples(st.sampled_from([EVEN, ODD, VELOCITY, IDENTIFICATION]), st.integers(0, 27)), max_size=20))
@settings(max_examples=200, deadline=None)
def test_corrupted_squitters_fail_their_crc(corruptions: list[tuple[str, int]]) -> None:
    frames = []
    for frame, at in corruptions:
        digit = "0123456789ABCDEF"[(int(frame[at], 16) + 1) % 16]
        frames.append(frame[:at] + digit + frame[at + 1 :])
    out = ModeSDecoder().decode([1.0] * len(frames), frames)
    assert out.malformed + out.other == len(frames) and out.sightings == []
