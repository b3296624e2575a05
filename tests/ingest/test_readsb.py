"""readsb / dump1090 aircraft.json: units, per-part times, both field vocabularies, bad documents."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.decoders import ReadsbDecoder
from deconline.ingest.readsb import FPM, FT, KT, ReadsbError, parse
from deconline.ingest.track_builder import TrackBuilder

# What readsb 3.14 writes to /run/readsb/aircraft.json (trimmed to the fields it always has).
DOCUMENT = {
    "now": 1764000000.5,
    "messages": 123456,
    "aircraft": [
        {"hex": "4ca2d6", "type": "adsb_icao", "flight": "RYR1AB  ", "alt_baro": 37000, "alt_geom": 37575,
         "gs": 420.3, "track": 234.5, "baro_rate": -64, "squawk": "2312", "lat": 51.4, "lon": -1.0, "nic": 8,
         "nac_p": 9, "nac_v": 1, "sil": 3, "seen_pos": 0.4, "seen": 0.1, "rssi": -21.3},
        {"hex": "~2b0c1d", "type": "tisb_other", "alt_baro": 3000, "lat": 51.0, "lon": -1.2, "seen_pos": 1.0,
         "seen": 1.0},
        {"hex": "3c6589", "alt_baro": "ground", "gs": 12.0, "track": 90.0, "lat": 50.03, "lon": 8.56,
         "seen_pos": 2.0, "seen": 2.0},
        {"hex": "a1b2c3", "seen": 5.0, "rssi": -30.0},
        {"hex": "bad001", "alt_baro": "high", "seen": 1.0},
    ],
}  # fmt: skip
OLD_DUMP1090 = {
    "now": 1764000000.0,
    "aircraft": [{"hex": "4ca2d6", "altitude": 37000, "speed": 420, "track": 234, "vert_rate": 128, "lat": 51.4,
                  "lon": -1.0, "seen_pos": 0.0, "seen": 0.0}],
}  # fmt: skip


def test_a_readsb_picture_in_si_units() -> None:
    picture = parse(json.dumps(DOCUMENT))
    assert (picture.aircraft, picture.malformed, picture.other) == (5, 1, 2)  # TIS-B id, nothing usable; "high"
    airborne, ground = picture.sightings
    assert airborne.address == "4ca2d6" and airborne.callsign == "RYR1AB"
    assert airborne.time_s == pytest.approx(1764000000.1)  # timed by its position (seen_pos 0.4 s ago)
    assert airborne.alt_m == pytest.approx(37000 * FT) and airborne.gs_mps == pytest.approx(420.3 * KT)
    assert airborne.vrate_mps == pytest.approx(-64 * FPM) and airborne.track_deg == 234.5
    assert dict(airborne.quality) == {"NIC": 8, "NACp": 9, "NACv": 1, "SIL": 3}
    assert ground.on_ground and ground.alt_m is None
    builder = TrackBuilder()
    for s in picture.sightings:
        builder.take(s)
    [state] = builder.ready()  # the aircraft on the ground takes no part
    assert state.id == "4ca2d6" and state.callsign == "RYR1AB"


def test_the_selected_altitude_is_the_mcp_one_else_the_fms_one() -> None:
    """readsb writes what TC 29 and BDS 4,0 said as nav_altitude_mcp and nav_altitude_fms (ft)."""
    entry = {"hex": "4ca2d6", "alt_baro": 31000, "gs": 420.0, "track": 90.0, "baro_rate": 1500, "lat": 51.4,
             "lon": -1.0, "seen_pos": 0.0, "seen": 0.0}  # fmt: skip
    cases = [({"nav_altitude_mcp": 35008, "nav_altitude_fms": 37000}, 35008 * FT),
             ({"nav_altitude_fms": 37000}, 37000 * FT), ({}, None)]  # fmt: skip
    for extra, expected in cases:
        [s] = parse(json.dumps({"now": 1764000000.0, "aircraft": [entry | extra]})).sightings
        assert s.selected_alt_m == (None if expected is None else pytest.approx(expected))
    [s] = parse(json.dumps({"now": 1.0, "aircraft": [entry | {"nav_altitude_mcp": "high"}]})).sightings or [None]
    assert s is None  # a field of the wrong type: the entry is malformed, as for the other fields
    builder = TrackBuilder()
    builder.take(parse(json.dumps({"now": 1764000000.0, "aircraft": [entry | cases[0][0]]})).sightings[0])
    [state] = builder.ready()
    assert state.as_report()["selected_altitude_m"] == pytest.approx(35008 * FT)


def test_dump1090_names_are_read_too() -> None:
    [s] = parse(json.dumps(OLD_DUMP1090)).sightings
    assert s.alt_m == pytest.approx(37000 * FT) and s.gs_mps == pytest.approx(420 * KT)
    assert s.vrate_mps == pytest.approx(128 * FPM)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<html>", "not JSON"),
        (b"[]", 'an object with an "aircraft" list'),
        (b'{"aircraft": []}', '"now"'),
        (b'{"now": "soon", "aircraft": []}', '"now"'),
    ],
)
def test_documents_that_are_not_aircraft_json(document: bytes, message: str) -> None:
    with pytest.raises(ReadsbError, match=message):
        parse(document)
    outcome = ReadsbDecoder("readsb+file:x").take(document, 0.0)
    assert outcome.malformed == 1 and outcome.notes


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                ["hex", "lat", "lon", "gs", "track", "alt_baro", "seen", "seen_pos", "flight", "baro_rate", "nic"]
            ),
            json_values,
        )
    )
)
@settings(max_examples=300, deadline=None)
def test_any_entry_is_counted_never_raised(entries: list[dict[str, object]]) -> None:
    picture = parse(json.dumps({"now": 1764000000, "aircraft": entries}, allow_nan=True))
    assert picture.aircraft == len(entries)
    assert picture.malformed + picture.other + len(picture.sightings) == len(entries)
