"""SBS-1 (BaseStation) lines: SI units at the edge, a clear reason for every refused line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.sbs import FT, KT, SbsError, parse

POSITION = "MSG,3,1,1,4CA2D6,1,2008/11/28,23:48:18.611,2008/11/28,23:53:19.161,,37000,,,51.45735,-1.02826,,,0,0,0,0"
VELOCITY = "MSG,4,1,1,4CA2D6,1,2008/11/28,23:48:18.611,2008/11/28,23:53:19.161,,,420.5,234.0,,,-1024,,0,0,0,0"
IDENT = "MSG,1,1,1,4CA2D6,1,2008/11/28,23:48:18.611,2008/11/28,23:53:19.161,RYR1427 ,,,,,,,,0,0,0,0"


def test_position_velocity_identification() -> None:
    position = parse(POSITION)
    assert position is not None
    assert (position.icao, position.lat, position.lon) == ("4ca2d6", 51.45735, -1.02826)
    assert position.alt_m == pytest.approx(37000 * FT) and position.on_ground is False
    assert position.time_s == pytest.approx(1227916098.611)
    velocity = parse(VELOCITY)
    assert velocity is not None and velocity.lat is None
    assert velocity.gs_mps == pytest.approx(420.5 * KT) and velocity.track_deg == 234.0
    assert velocity.vrate_mps == pytest.approx(-1024 * FT / 60)
    ident = parse(IDENT)
    assert ident is not None and ident.callsign == "RYR1427"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("hello", "not an SBS record"),
        ("MSG,3,1,1,4CA2D6", "22 fields"),
        (POSITION.replace("4CA2D6", "XYZ"), "24-bit address"),
        (POSITION.replace("51.45735", "95.1"), "latitude"),
        (POSITION.replace("37000", "thirty"), "altitude"),
        (POSITION.replace("37000", "nan"), "altitude"),
        (POSITION.replace("2008/11/28,23:48:18.611", "yesterday,noon", 1), "time"),
        (POSITION.replace("MSG,3", "MSG,9"), "transmission type"),
    ],
)
def test_bad_lines_say_why(line: str, reason: str) -> None:
    with pytest.raises(SbsError, match=reason):
        parse(line)


def test_messages_without_state_are_passed_over() -> None:
    assert parse(POSITION.replace("MSG,3", "MSG,8")) is None
    assert parse("STA,,5,179,400AA5,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM") is None


@given(st.text(max_size=200))
@settings(max_examples=500)
def test_any_text_is_a_report_none_or_an_sbs_error(line: str) -> None:
    try:
        report = parse(line)
    except SbsError:
        return
    assert report is None or len(report.icao) == 6


@given(
    st.lists(
        st.one_of(st.just(""), st.from_regex(r"-?[0-9]{1,6}(\.[0-9]{1,5})?", fullmatch=True)), min_size=22, max_size=22
    )
)
@settings(max_examples=300)
def test_any_numbers_in_the_fields_are_parsed_or_refused(values: list[str]) -> None:
    fields = POSITION.split(",")
    for k in (11, 12, 13, 14, 15, 16):
        fields[k] = values[k]
    try:
        report = parse(",".join(fields))
    except SbsError:
        return
    assert report is not None
    if report.lat is not None:
        assert -90 <= report.lat <= 90
    if report.track_deg is not None:
        assert 0 <= report.track_deg < 360
