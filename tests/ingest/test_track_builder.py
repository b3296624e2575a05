"""States are built from partial reports only when complete and fresh, newest first, once each; a
late velocity goes out with its age, a selected altitude while it is fresh."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.sbs import parse
from deconline.ingest.sighting import Sighting
from deconline.ingest.track_builder import MAX_VELOCITY_AGE_S, State, TrackBuilder

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


def test_a_stale_altitude_holds_a_state_back_a_late_velocity_goes_with_its_age() -> None:
    builder = TrackBuilder(max_age_s=5)
    builder.sbs(parse(line(4, 0.0, gs="420", trk="234")))  # type: ignore[arg-type]
    builder.sbs(parse(line(3, 20.0, alt="37000", lat="51.4", lon="-1.0")))  # type: ignore[arg-type]
    [state] = builder.ready()  # the velocity is 20 s older than the position: sent, with its age
    assert state.velocity_age_s == pytest.approx(20.0) and state.as_report()["velocity_age_s"] == pytest.approx(20.0)
    builder.sbs(parse(line(4, 21.0, gs="420", trk="234")))  # type: ignore[arg-type]
    builder.sbs(parse(line(3, 22.0, lat="51.41", lon="-1.0")))  # type: ignore[arg-type]
    [state] = builder.ready()  # the altitude (from the position message at 20 s) is 2 s old: fine
    assert state.velocity_age_s == pytest.approx(1.0)
    builder.sbs(parse(line(3, 30.0, lat="51.42", lon="-1.0")))  # type: ignore[arg-type]
    assert builder.ready() == []  # but an altitude 10 s older than the position still holds it back
    assert builder.forget_older_than(1e12) == 1


def test_a_state_needs_some_velocity_and_not_an_hour_old() -> None:
    builder = TrackBuilder(max_age_s=10)
    builder.take(Sighting("abc123", 100.0, lat=50.0, lon=8.0, alt_m=3000.0))
    assert builder.ready() == []  # never a velocity: never a state
    builder.take(Sighting("abc123", 101.0, gs_mps=100.0, track_deg=90.0))
    builder.take(Sighting("abc123", 101.0 + MAX_VELOCITY_AGE_S + 1, lat=50.0, lon=8.1, alt_m=3000.0))
    assert builder.ready() == []  # older than the service takes (the whole batch would be refused)
    builder.take(Sighting("abc123", 102.0 + MAX_VELOCITY_AGE_S, gs_mps=100.0, track_deg=90.0))
    builder.take(Sighting("abc123", 103.0 + MAX_VELOCITY_AGE_S, lat=50.0, lon=8.2, alt_m=3000.0))
    [state] = builder.ready()
    assert state.velocity_age_s == pytest.approx(1.0)


def test_the_selected_altitude_goes_with_the_state_while_it_is_fresh() -> None:
    builder = TrackBuilder(max_age_s=10)
    builder.take(Sighting("abc123", 99.0, selected_alt_m=3048.0, quality=(("NACp", 9.0),)))
    builder.take(Sighting("abc123", 100.0, lat=50.0, lon=8.0, alt_m=1000.0, gs_mps=80.0, track_deg=10.0, vrate_mps=5.0))
    builder.take(Sighting("abc123", 100.5, callsign="dlh4ab"))
    [state] = builder.ready()
    assert (state.selected_alt_m, state.nac_p, state.velocity_age_s) == (3048.0, 9, 0.0)
    report = state.as_report()
    assert (report["selected_altitude_m"], report["callsign"], report["nac_p"]) == (3048.0, "DLH4AB", 9)
    assert "velocity_age_s" not in report  # as fresh as the position
    builder.take(Sighting("abc123", 98.0, selected_alt_m=9999.0))  # older than the one kept: ignored
    builder.take(Sighting("abc123", 109.0, lat=50.0, lon=8.01, alt_m=1000.0, gs_mps=80.0, track_deg=10.0))
    [state] = builder.ready()
    assert state.selected_alt_m == 3048.0  # 10 s old: still fresh
    builder.take(Sighting("abc123", 109.5, lat=50.0, lon=8.02, alt_m=1000.0, gs_mps=80.0, track_deg=10.0))
    [state] = builder.ready()
    assert state.selected_alt_m is None and "selected_altitude_m" not in state.as_report()  # 10.5 s: stale


def test_a_report_carries_only_what_the_service_takes() -> None:
    """A value the service would refuse would cost the whole batch: it is left out instead."""
    base = State("abc123", 50.0, 8.0, 1000.0, 80.0, 10.0, 0.0, 100.0)
    assert set(base.as_report()) == {"id", "lat", "lon", "alt_m", "gs_mps", "track_deg", "vrate_mps", "time"}
    odd = State("abc123", 50.0, 8.0, 1000.0, 80.0, 10.0, 0.0, 100.0, callsign="TOO-LONG-1",
                quality=(("NACp", 12.0),), selected_alt_m=40_000.0)  # fmt: skip
    assert odd.as_report() == base.as_report() and odd.nac_p is None
    assert State(**{**base.__dict__, "callsign": " n464t "}).as_report()["callsign"] == "N464T"
    assert State(**{**base.__dict__, "quality": (("NACp", 8.5),)}).nac_p is None


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
