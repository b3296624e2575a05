"""The msgspec reading of a track batch agrees with the pydantic model wherever it is used."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import ModelWrapValidatorHandler, ValidationError, model_validator

from deconline.api.schemas import TrackBatch
from deconline.api.track_reports import read_batch


class ModelOnly(TrackBatch):
    """The reference: the model as it was, every report validated by pydantic."""

    @model_validator(mode="wrap")
    @classmethod
    def _read_fast(cls, value: Any, handler: ModelWrapValidatorHandler[TrackBatch]) -> TrackBatch:
        return handler(value)


def numbers(low: float, high: float) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.floats(low, high),
        st.sampled_from([low, high, low - 1e-9, high + 1e-9, 0, 1, -1, 0.0, -0.0]),
        st.integers(int(low) - 2, int(high) + 2),
        st.floats(),  # NaN, infinities and anything out of range
        st.sampled_from([True, False, None, "1.5", "12", [], {}]),
    )


def times() -> st.SearchStrategy[Any]:
    aware = st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat())
    utc = st.datetimes().map(lambda t: t.isoformat() + "Z")
    odd = st.sampled_from(
        [
            "2026-12-07T06:40:14Z",
            "2026-12-07T06:40:14.123456789Z",
            "2026-12-07T06:40:14.1234567+01:00",
            "2026-12-07 06:40:14Z",
            "2026-12-07t06:40:14z",
            "2026-12-07T06:40:60Z",
            "2026-12-07T24:00:00Z",
            "2026-12-07T06:40Z",
            "2026-12-07T06:40:14",
            "2026-12-07",
            "2026-12-07T06:40:14+0100",
            "2026-12-07T06:40:14-00:00",
            "2026-12-07T06:40:14,5Z",
            "20261207T064014Z",
            1_764_800_000,
            1_764_800_000.5,
            "1764800000",
            "",
        ]
    )
    return st.one_of(aware, utc, odd)


def texts(*good: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(good), st.text(max_size=12), st.sampled_from(["x\n", "", " ", "ab c", None, 3]))


fields: dict[str, st.SearchStrategy[Any]] = {
    "id": texts("a1b2c3", "P0-00001", "x.y:z_1"),
    "lat": numbers(-90, 90),
    "lon": numbers(-180, 180),
    "alt_m": numbers(-500, 30_000),
    "gs_mps": numbers(0, 1_500),
    "track_deg": numbers(0, 360),
    "vrate_mps": numbers(-250, 250),
    "time": times(),
    "selected_altitude_m": numbers(-500, 30_000),
    "callsign": texts("BAW123", " baw12 ", "AB CD", "ÀB", "toolongcall", "ß"),
    "nac_p": numbers(0, 11),
    "velocity_age_s": numbers(0, 3600),
    "extra": st.just(1),
}


VALID: dict[str, st.SearchStrategy[Any]] = {
    "id": st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
    "lat": st.floats(-90, 90),
    "lon": st.floats(-180, 180),
    "alt_m": st.floats(-500, 30_000) | st.integers(-500, 30_000),
    "gs_mps": st.floats(0, 1_500),
    "track_deg": st.floats(0, 360),
    "time": st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat()) | st.just("2026-12-07T06:40:14.25Z"),
}


@st.composite
def reports(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed report, then perhaps one field changed to anything, added or taken away."""
    report = {name: draw(values) for name, values in VALID.items()}
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        if name in report and draw(st.integers(0, 5)) == 0:
            del report[name]
        else:
            report[name] = draw(fields[name])
    return report


batches = st.fixed_dictionaries(
    {"tracks": st.lists(reports(), min_size=0, max_size=3)},
    optional={"unaffiliated": st.sampled_from([True, False, 1, 0, "true", None])},
)


def model_answer(value: Any) -> Any:
    try:
        batch = ModelOnly.model_validate(value)
    except ValidationError as exc:
        return ("refused", exc.errors(include_url=False, include_context=False))
    return ("read", batch.reports(), batch.unaffiliated)


@settings(max_examples=300, deadline=None)
@given(batches)
def test_msgspec_reads_only_what_the_model_reads_as_the_model(value: dict[str, Any]) -> None:
    fast = read_batch(value)
    event("read by msgspec" if fast is not None else "left to the model")
    reference = model_answer(value)
    if fast is not None:
        assert reference == ("read", *fast)
    assert model_answer_of(TrackBatch, value) == reference  # the route's model: the same answer either way


def model_answer_of(model: type[TrackBatch], value: Any) -> Any:
    try:
        batch = model.model_validate(value)
    except ValidationError as exc:
        return ("refused", exc.errors(include_url=False, include_context=False))
    return ("read", batch.reports(), batch.unaffiliated)


def test_a_well_formed_batch_is_read_by_msgspec() -> None:
    value = {
        "tracks": [
            {"id": f"P0-{i:05d}", "lat": 50.5, "lon": 1.25 + i, "alt_m": 5000, "gs_mps": 200.0, "track_deg": 360.0,
             "time": "2026-12-07T06:40:14.25+01:00", "callsign": " baw1 ", "nac_p": 8, "velocity_age_s": 0.0}
            for i in range(3)
        ]
    }  # fmt: skip
    fast = read_batch(value)
    assert fast is not None
    reports, unaffiliated = fast
    assert not unaffiliated
    assert reports[0].track_deg == 0.0 and reports[0].callsign == "BAW1" and reports[0].velocity_age_s is None
    assert reports[0].time_s == 1_796_622_014.25  # 05:40:14.25 UTC
    assert (reports, False) == model_answer(value)[1:]


@pytest.mark.parametrize(
    "change",
    [{"id": "a\n"}, {"callsign": "TOO LONG 1"}, {"lat": 90.000001}, {"time": "2026-12-07T06:40:14"}, {"speed": 1}],
)
def test_what_msgspec_refuses_the_model_answers(change: dict[str, Any]) -> None:
    report = {"id": "a", "lat": 1.0, "lon": 2.0, "alt_m": 3.0, "gs_mps": 4.0, "track_deg": 5.0}
    value = {"tracks": [{**report, "time": "2026-12-07T06:40:14Z", **change}]}
    assert read_batch(value) is None
    with pytest.raises(ValidationError):
        TrackBatch.model_validate(value)
