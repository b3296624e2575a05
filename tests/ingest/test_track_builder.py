"""States are built from partial reports only when complete and fresh, newest first, once each."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.sbs import parse
from deconline.ingest.track_builder import TrackBuilder

HEAD = "MSG,{t},1,1,4CA2D6,1,2008/11/28,23:48:{s:06.3f},2008/11/28,23:53:19.161,,"
BASE = HEAD + "{alt},{gs},{trk},{lat},{lon},{vr},,0,0,0,0"


def line(
    t: int, s: float, alt: str = "", gs: str = "", trk: str = "", lat: str = "", lon: str = "", vr: str = ""
) -> str:
    return BASE.format(t=t, s=s, alt=alt, gs=gs, trk=trk, lat=lat, lon=lon, vr=vr)


def test_a_state_needs_position_altitude_and_velocity() -> None:
    builder = TrackBuilder(max_age_s=10)
    builder.sbs(parse(line(3, 10.0, alt="37000", lat="51.4", lon="-1.0")))  # type: ignore[arg-type]
    assert builder.ready() == []  # no velocity yet
    builder.sbs(parse(line(4, 11.0, gs="420", trk="234", vr="-1024")))  # type: ignore[arg-type]
    [first] = builder.ready()  # complete now, at the position's time
    assert first.time_s % 60 == 10.0
    builder.sbs(parse(line(3, 12.0, alt="36975", lat="51.39", lon="-1.01")))  # type: ignore[arg-type]
    [state] = builder.ready()
    assert (state.id, state.lat, state.lon) == ("4ca2d6", 51.39, -1.01)
    assert round(state.alt_m, 1) == round(36975 * 0.3048, 1) and round(state.gs_mps, 2) == round(420 * 1852 / 3600, 2)
    assert builder.ready() == []  # emitted once
    report = state.as_report()
    assert report["time"] == "2008-11-28T23:48:12Z" and report["track_deg"] == 234.0


def test_stale_parts_hold_a_state_back() -> None:
    builder = TrackBuilder(max_age_s=5)
    builder.sbs(parse(line(4, 0.0, gs="420", trk="234")))  # type: ignore[arg-type]
    builder.sbs(parse(line(3, 20.0, alt="37000", lat="51.4", lon="-1.0")))  # type: ignore[arg-type]
    assert builder.ready() == []  # the velocity is 20 s older than the position
    assert builder.forget_older_than(1e12) == 1


@given(st.permutations(list(range(8))))
@settings(max_examples=100)
def test_the_newest_report_wins_whatever_the_arrival_order(order: list[int]) -> None:
    builder = TrackBuilder(max_age_s=60)
    for k in order:
        builder.sbs(parse(line(3, 10.0 + k, alt=str(30000 + k), lat=f"{50 + k / 100:.2f}", lon="1.0")))  # type: ignore[arg-type]
        builder.sbs(parse(line(4, 10.0 + k, gs="400", trk=str(10 * k))))  # type: ignore[arg-type]
    builder.ready()
    a = builder.aircraft["4ca2d6"]
    assert (a.lat, a.track_deg, a.position_s % 60) == (50.07, 70.0, 17.0)
