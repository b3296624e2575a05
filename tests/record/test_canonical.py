"""The fast canonical JSON gives the reference's bytes (rfc8785) for every JSON value, and the same refusals."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.record.canonical import canonical_json, reference_canonical_json

floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [
        0.0,
        -0.0,
        1e-7,
        1e-6,
        1.5e-5,
        1e16,
        1e20,
        1e21,
        2.0**53,
        2.0**53 + 2,
        123456789012345680000.0,
        5e-324,
        1.7976931348623157e308,
    ]
)
ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
text = st.text()  # any code point, controls and astral planes included
scalars = st.none() | st.booleans() | ints | floats | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(text, inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=600)
@given(values)
def test_same_bytes_as_the_reference(value: Any) -> None:
    assert canonical_json(value) == reference_canonical_json(value)


@given(st.dictionaries(st.text(alphabet=st.characters(min_codepoint=0xE000)), ints, min_size=2, max_size=8))
def test_keys_ordered_by_utf16_code_units_as_the_reference(value: dict[str, int]) -> None:
    assert canonical_json(value) == reference_canonical_json(value)


def test_a_track_batch_as_the_reference() -> None:
    rows = [
        {"party_id": "blue", "track_id": f"a{i:05d}", "lat": 50 + i * 1e-4, "lon": -3.25 + i / 7,
         "alt_m": 1000.0, "gs_mps": 0.0, "track_deg": 359.99, "vrate_mps": -1e-9 * i,
         "time_s": 1764800000.25 + i, "received_at": 1.7648e9}
        for i in range(500)
    ]  # fmt: skip
    assert canonical_json(rows) == reference_canonical_json(rows)


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, 2**53, -(2**53), {1: "x"}, {"k": b"bytes"}, object(), "\ud800", {"\udc00": 1}],
)
def test_refuses_what_the_reference_refuses(value: Any) -> None:
    with pytest.raises(ValueError):
        reference_canonical_json(value)
    with pytest.raises(ValueError):
        canonical_json(value)


@settings(max_examples=300)
@given(st.lists(st.floats(min_value=1e-4, max_value=1e16) | st.floats(min_value=-1e16, max_value=-1e-4), max_size=50))
def test_floats_written_by_the_fast_encoder_as_the_reference(value: list[float]) -> None:
    assert canonical_json(value) == reference_canonical_json(value)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=30))
def test_control_characters_escaped_as_the_reference(value: str) -> None:
    assert canonical_json({"s": value, value.encode().hex(): [value]}) == reference_canonical_json(
        {"s": value, value.encode().hex(): [value]}
    )


def test_float_and_int_subclasses_as_the_reference() -> None:
    import enum

    import numpy as np

    class Level(enum.IntEnum):
        HIGH = 3

    value = {"f": np.float64(1.5), "tiny": np.float64(1e-9), "big": np.float64(1e300), "level": Level.HIGH}
    assert canonical_json(value) == reference_canonical_json(value) == b'{"big":1e+300,"f":1.5,"level":3,"tiny":1e-9}'
    with pytest.raises(ValueError):
        canonical_json({"x": np.float32(0.5)})  # not a float: the reference refuses it too


column_values = st.sampled_from([floats, ints, text, st.none() | st.booleans(), scalars, values])


@settings(max_examples=100)
@given(
    st.lists(st.text(max_size=4), min_size=1, max_size=5, unique=True).flatmap(
        lambda keys: st.tuples(st.just(keys), st.lists(column_values, min_size=len(keys), max_size=len(keys)))
    ),
    st.integers(min_value=32, max_value=80),
    st.data(),
)
def test_a_table_checked_by_columns_as_the_reference(shape: tuple[list[str], list[Any]], n: int, data: Any) -> None:
    """Long lists of like objects take the column path: any keys, any values in the columns."""
    keys, kinds = shape
    rows = [{key: data.draw(kind) for key, kind in zip(keys, kinds, strict=True)} for _ in range(n)]
    assert canonical_json(rows) == reference_canonical_json(rows)


@pytest.mark.parametrize(
    "odd",
    [math.nan, math.inf, 2**53, "\ud800", 1e16, 2.5e-5, -0.0, 7.0],
)
def test_one_odd_value_in_a_table_as_the_reference(odd: Any) -> None:
    rows: list[dict[str, Any]] = [{"a": 0.5 + i, "b": f"r{i}"} for i in range(40)]
    rows[17]["a"] = odd
    try:
        expected = reference_canonical_json(rows)
    except ValueError:
        with pytest.raises(ValueError):
            canonical_json(rows)
        return
    assert canonical_json(rows) == expected
    assert rows[17]["a"] is odd  # the caller's rows are never changed


@pytest.mark.parametrize("odd", [2**53, -(2**53), 2**53 - 1, 0, True])
def test_one_odd_integer_in_a_column_of_integers_as_the_reference(odd: Any) -> None:
    rows: list[dict[str, Any]] = [{"n": i, "s": "x"} for i in range(40)]
    rows[3]["n"] = odd
    try:
        expected = reference_canonical_json(rows)
    except ValueError:
        with pytest.raises(ValueError):
            canonical_json(rows)
        return
    assert canonical_json(rows) == expected


def test_unlike_rows_are_walked_as_the_reference() -> None:
    rows: list[Any] = [{"a": 1.0, "b": 2.5} for _ in range(40)]
    rows[5] = {"a": 1.0, "c": 2.0}  # as many keys, other names
    rows[9] = {"a": 3.0}
    rows.append([1.0, "x"])
    rows.append({"é": 1.0, "b": 2.0})  # a non-ASCII key
    assert canonical_json(rows) == reference_canonical_json(rows)
