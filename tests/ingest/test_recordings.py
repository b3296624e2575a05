"""Recorded-traffic loader: real files load with exact counts, every bad record is counted, windows are exact."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deconline.ingest.recordings import (
    FIELDS,
    Recording,
    RecordingError,
    _assemble,
    _generic_json_columns,
    _json_columns,
    _Report,
    _typed_json_columns,
    latest_states,
    load_recording,
)

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
QUICKSTART, CALFIRE = DATA / "quickstart.json.gz", DATA / "calfire.json.gz"
T0 = 1633608773  # 2021-10-07T12:12:53Z, the first record of quickstart (icao24 0101de)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="module")
def quickstart() -> Recording:
    return load_recording(_need(QUICKSTART), "traffic-json")


@pytest.fixture(scope="module")
def calfire() -> Recording:
    return load_recording(_need(CALFIRE), "traffic-json")


def _check_invariants(rec: Recording) -> None:
    n = len(rec.time_s)
    assert n + sum(rec.skipped.values()) == rec.total
    for array in (rec.ids, rec.lat, rec.lon, rec.alt_m, rec.gs_mps, rec.track_deg, rec.vrate_mps):
        assert len(array) == n
    assert np.all(np.diff(rec.time_s) >= 0)
    same_time = np.diff(rec.time_s) == 0
    assert np.all(rec.ids[1:][same_time] >= rec.ids[:-1][same_time]), "ties must be sorted by id"
    for array in (rec.time_s, rec.lat, rec.lon, rec.alt_m, rec.gs_mps, rec.track_deg, rec.vrate_mps):
        assert array.dtype == np.float64 and np.all(np.isfinite(array))
    assert np.all(np.abs(rec.lat) <= 90) and np.all(np.abs(rec.lon) <= 180)
    assert all(i == i.lower() for i in set(rec.ids.tolist()))


def test_quickstart_loads_with_exact_counts(quickstart: Recording) -> None:
    rec = quickstart
    assert rec.total == 284_505
    _check_invariants(rec)
    assert rec.skipped["on ground"] == 55_371
    assert rec.skipped["malformed"] == 0 and rec.skipped["out of range"] == 0
    assert len(set(rec.ids.tolist())) <= 213
    assert rec.time_s[0] <= T0 and rec.time_s[-1] - rec.time_s[0] < 4 * 3600


def test_quickstart_known_record_in_si(quickstart: Recording) -> None:
    rec = quickstart
    (i,) = np.flatnonzero((rec.ids == "0101de") & (rec.time_s == T0))
    assert rec.lat[i] == pytest.approx(48.4824371338)
    assert rec.lon[i] == pytest.approx(3.8288057767)
    assert rec.alt_m[i] == pytest.approx(13650.0 * 0.3048)
    assert rec.gs_mps[i] == pytest.approx(325.0 * 1852 / 3600)
    assert rec.track_deg[i] == pytest.approx(311.1362180242)
    assert rec.vrate_mps[i] == pytest.approx(-896.0 * 0.00508)


def test_calfire_loads_every_record(calfire: Recording) -> None:
    with gzip.open(CALFIRE, "rt") as f:
        n = len(json.load(f))
    assert calfire.total == n == 9_955
    _check_invariants(calfire)
    assert len(calfire.time_s) == n  # no onground field at all: none is on the ground
    assert set(calfire.skipped.values()) == {0}


GOOD = {
    "timestamp": (T0 + 1) * 1000,
    "icao24": "ABC123",
    "latitude": 48.0,
    "longitude": 2.0,
    "altitude": 1000.0,
    "groundspeed": 100,
    "track": 90.0,
    "vertical_rate": 600.0,
    "onground": False,
}


def _bad(**changes: object) -> dict[str, object]:
    record = {**GOOD, **changes}
    return {k: v for k, v in record.items() if v is not ...}  # Ellipsis drops the key


def test_traffic_json_counts_every_bad_kind(tmp_path: Path) -> None:
    records: list[object] = [
        GOOD,
        _bad(vertical_rate=None, timestamp=T0 * 1000),  # null vertical rate counts as 0
        _bad(vertical_rate=..., icao24="def456", onground=None),  # missing vertical rate and onground: fine
        _bad(onground=True),
        _bad(onground=True, latitude=None),  # several faults: counted once, under the first reason
        _bad(latitude=None),
        _bad(track=...),
        _bad(icao24=...),
        _bad(timestamp=None),
        _bad(altitude=math.nan),
        _bad(latitude=91.0),
        _bad(longitude=-180.5),
        _bad(altitude=math.inf),
        _bad(altitude=-(10**400)),  # an integer literal too large for a float
        _bad(altitude="high"),
        _bad(groundspeed=True),
        _bad(icao24=123456),
        _bad(timestamp="yesterday"),
        _bad(onground="maybe"),
        42,
        None,
    ]
    path = tmp_path / "bad.json"  # plain, not gzip'd
    path.write_text(json.dumps(records))  # json writes NaN/Infinity, which the loader must survive
    rec = load_recording(path, "traffic-json")
    assert rec.total == len(records)
    assert rec.skipped == {"malformed": 7, "on ground": 2, "missing field": 5, "out of range": 4}
    _check_invariants(rec)
    assert rec.ids.tolist() == ["abc123", "abc123", "def456"]
    assert rec.time_s.tolist() == [T0, T0 + 1, T0 + 1]
    assert rec.vrate_mps.tolist() == [0.0, pytest.approx(600 * 0.00508), 0.0]
    assert rec.gs_mps[0] == pytest.approx(100 * 0.514444, rel=1e-6)


def test_traffic_json_gzip_detected_by_magic(tmp_path: Path) -> None:
    path = tmp_path / "no_suffix"
    path.write_bytes(gzip.compress(json.dumps([GOOD, GOOD]).encode()))
    rec = load_recording(path, "traffic-json")
    assert rec.total == 2 and len(rec.time_s) == 2
    assert not rec.time_s.flags.writeable


CSV = """\
timestamp,icao24,latitude,longitude,altitude,groundspeed,track,vertical_rate,onground,callsign
1633608773000,AAAAAA,48.0,2.0,1000,100,90,,false,A1
1633608773,bbbbbb,48.0,2.0,1000,100,90,-600,,B2
2021-10-07T12:12:53Z,cccccc,48.0,2.0,1000,100,90,0,0,C3
2021-10-07T14:12:54+02:00,dddddd,48.0,2.0,1000,100,90,0,False,D4
1633608773.5,eeeeee,48.0,2.0,1000,100,90,0,,E5
2021-10-07T12:12:53,ffffff,48.0,2.0,1000,100,90,0,,no zone
1633608773,gggggg,abc,2.0,1000,100,90,0,,bad number
1633608773,hhhhhh,48.0,2.0,1000,100,90,0,true,on ground
1633608773,iiiiii,,2.0,1000,100,90,0,,missing lat
1633608773,jjjjjj,48.0,2.0,NaN,100,90,0,,nan alt
1633608773,kkkkkk,95.0,2.0,1000,100,90,0,,out of range
1633608773,llllll,48.0,2.0,1000,100,90,0,,extra,column
1633608773,mmmmmm,48.0,2.0
1633608773,nnnnnn,48.0,2.0,1000,100,90,0,perhaps,bad flag

"""


def test_csv_timestamps_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text(CSV)
    rec = load_recording(path, "csv")
    assert rec.total == 14
    assert rec.skipped == {"malformed": 5, "on ground": 1, "missing field": 2, "out of range": 1}
    _check_invariants(rec)
    assert rec.ids.tolist() == ["aaaaaa", "bbbbbb", "cccccc", "eeeeee", "dddddd"]
    assert rec.time_s.tolist() == [T0, T0, T0, T0 + 0.5, T0 + 1]
    assert rec.vrate_mps.tolist() == [0.0, pytest.approx(-600 * 0.00508), 0.0, 0.0, 0.0]
    assert rec.alt_m[0] == pytest.approx(304.8)


def test_csv_minimal_header_gzip_and_column_order(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv.gz"
    text = "track,groundspeed,altitude,longitude,latitude,icao24,timestamp\n90,100,1000,2,48,abc123,1633608773\n"
    path.write_bytes(gzip.compress(text.encode()))
    rec = load_recording(path, "csv")
    assert rec.total == 1 and rec.ids.tolist() == ["abc123"]
    assert rec.vrate_mps.tolist() == [0.0] and rec.lat.tolist() == [48.0] and rec.track_deg.tolist() == [90.0]


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        ("traffic-json", b"this is not json"),
        ("traffic-json", b'{"timestamp": 1}'),
        ("traffic-json", b"\x1f\x8bnot really gzip"),
        ("traffic-json", b""),
        ("csv", b""),
        ("csv", b"timestamp,icao24,latitude\n1,a,2\n"),
        ("csv", b"\xff\xfe\x00garbage"),
    ],
)
def test_unreadable_files_raise(tmp_path: Path, fmt: str, content: bytes) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(RecordingError):
        load_recording(path, fmt)  # type: ignore[arg-type]


def test_empty_json_array_and_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[]")
    rec = load_recording(path, "traffic-json")
    assert rec.total == 0 and len(rec.time_s) == 0 and len(latest_states(rec, 0.0, 10.0)) == 0
    with pytest.raises(ValueError, match="unknown recording format"):
        load_recording(path, "parquet")  # type: ignore[arg-type]


def test_recording_rejects_unsorted_or_ragged_arrays() -> None:
    ids = np.array(["a", "b"])
    ones = np.ones(2)
    with pytest.raises(ValueError, match="sorted"):
        Recording(np.array([2.0, 1.0]), ids, ones, ones, ones, ones, ones, ones, skipped={}, total=2)
    with pytest.raises(ValueError, match="length"):
        Recording(np.array([1.0, 2.0]), ids, ones, ones[:1], ones, ones, ones, ones, skipped={}, total=2)


def _reference_latest(rec: Recording, t: float, max_age_s: float) -> list[int]:
    """Slow and obvious: the highest index of each id among records inside the window."""
    best: dict[str, int] = {}
    for i in range(len(rec.time_s)):
        if t - max_age_s <= rec.time_s[i] <= t:
            best[str(rec.ids[i])] = i
    return sorted(best.values())


def _synthetic(times: list[float], ids: list[str]) -> Recording:
    time_a, id_a = np.array(times, dtype=np.float64), np.array(ids, dtype=np.str_)
    order = np.lexsort((id_a, time_a))
    fill = np.zeros(len(times))
    return Recording(time_a[order], id_a[order], fill, fill, fill, fill, fill, fill, skipped={}, total=len(times))


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["a", "b", "c", "d"])), max_size=40),
    t=st.floats(-5, 50) | st.integers(-5, 50).map(float),
    max_age_s=st.floats(0, 30) | st.integers(0, 30).map(float),
)
def test_latest_states_matches_reference(records: list[tuple[int, str]], t: float, max_age_s: float) -> None:
    rec = _synthetic([float(r[0]) for r in records], [r[1] for r in records])
    got = latest_states(rec, t, max_age_s)
    assert got.tolist() == _reference_latest(rec, t, max_age_s)
    assert len(set(rec.ids[got].tolist())) == len(got)


def test_latest_states_on_calfire(calfire: Recording) -> None:
    start, end = float(calfire.time_s[0]), float(calfire.time_s[-1])
    times = [start, float(calfire.time_s[100]), (start + end) / 2, end, end + 30.0]
    for t in times:
        for max_age_s in (0.0, 10.0, 60.0, 3600.0, 1e7):
            got = latest_states(calfire, t, max_age_s)
            assert got.tolist() == _reference_latest(calfire, t, max_age_s)
    assert len(latest_states(calfire, start - 1.0, 60.0)) == 0
    assert len(latest_states(calfire, end, 1e9)) == len(set(calfire.ids.tolist()))


# The typed msgspec decoder must give exactly the Recording of the generic parse (orjson, json for what orjson refuses)
# that it replaced, and fall back to that parse for the whole file whenever it cannot type a record.


def _load(data: bytes, columns: Callable[[bytes, Path], tuple[dict[str, list[object]], int, Any]]) -> Recording | str:
    """The Recording one column reader gives for `data`, or the name of the exception it raises."""
    try:
        raw, total, bad = columns(data, Path("mem.json"))
        return _assemble(raw, total, bad, ms_only=True)
    except (RecordingError, RecursionError) as exc:
        return type(exc).__name__


def _assert_same(new: Recording | str, old: Recording | str) -> None:
    """Bit for bit: every array's dtype and bytes (so -0.0 and NaN count), the counts and the total."""
    assert isinstance(new, Recording) == isinstance(old, Recording), (new, old)
    if not isinstance(new, Recording) or not isinstance(old, Recording):
        assert new == old
        return
    assert (new.skipped, new.total) == (old.skipped, old.total)
    for name in ("time_s", "ids", "lat", "lon", "alt_m", "gs_mps", "track_deg", "vrate_mps"):
        a, b = getattr(new, name), getattr(old, name)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name


def test_typed_record_reads_exactly_the_fields_used() -> None:
    assert _Report.__struct_fields__ == FIELDS


@pytest.mark.parametrize("name", ["quickstart.json.gz", "calfire.json.gz"])
def test_typed_decoder_matches_generic_parse_on_shared_recordings(name: str) -> None:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"shared recording {path} absent (the typed/generic comparison needs /work/shared/data)")
    data = gzip.decompress(path.read_bytes())
    assert _typed_json_columns(data) is not None, "the typed decoder must read the shared recordings itself"
    _assert_same(_load(data, _json_columns), _load(data, _generic_json_columns))
    _assert_same(load_recording(path, "traffic-json"), _load(data, _generic_json_columns))


_REST = '"timestamp":1633608774000,"icao24":"abc123","latitude":48.0,"longitude":2.0,"altitude":1000,"groundspeed":100'


@pytest.mark.parametrize(
    ("typed", "content"),
    [
        (True, b'[{%s,"track":90.5}]'),
        (True, b'[{%s,"track":"90.5"}]'),  # a string for a number: malformed, typed
        (True, b'[{%s,"track":90,"callsign":{"deep":[1,2,{"x":null}]}}]'),  # unused keys skipped, any shape
        (True, b'[{%s,"track":90,"x":123456789012345678901234567890,"y":1e400}, 7, null, "s", [1, {}], true]'),
        (True, b'[{%s,"track":9223372036854775807}, {%s,"track":-9223372036854775808}]'),
        (True, '[{%s,"track":90,"callsign":"\u00e9t\u00e9"}]'.encode()),  # UTF-8 in a string
        (True, b'[{%s,"track":90,"icao24":"ABC124","track":91}]'),  # duplicate keys: the last wins
        (False, b'[{%s,"track":9223372036854775808}]'),  # past int64: orjson reads a float, so fall back
        (False, b'[{%s,"track":123456789012345678901234567890}]'),
        (False, b'[{%s,"track":1e400}]'),  # infinite only for json
        (False, b'[{%s,"track":NaN}, {%s,"track":Infinity}]'),
        (False, b'[{%s,"track":90,"x":NaN}]'),  # even in a field nobody reads
        (False, b'[{%s,"track":[90]}]'),  # an array where a number belongs
        (False, b'[{%s,"track":{"deg":90}}]'),
        (False, b'[{%s,"track":90,"callsign":"\\ud800"}]'),  # a lone surrogate: json only
        (True, b'[{%s,"track":90,"callsign":"\xed\xa0\x80"}]'),  # an encoded surrogate, json only, but unused
        (False, b'[{%s,"track":90,"icao24":"\xed\xa0\x80"}]'),  # the same where it is read
        (False, b'[{%s,"track":90,"callsign":"\xff"}]'),  # not UTF-8: unreadable, even where unused
        (False, b'\xef\xbb\xbf[{%s,"track":90}]'),  # a UTF-8 BOM: json only
        (False, ("[{" + _REST + ',"track":90}]').encode("utf-16")),
        (False, b'[{%s,"track":90,"x":' + b"[" * 1010 + b"]" * 1010 + b"}]"),  # deeper than msgspec goes
        (False, b'{"track":90}'),
        (False, b'[{%s,"track":90}'),
        (False, b""),
    ],
)
def test_typed_decoder_or_whole_file_fallback_gives_the_same_recording(typed: bool, content: bytes) -> None:
    data = content.replace(b"%s", _REST.encode())  # the usable fields but track
    assert (_typed_json_columns(data) is not None) == typed
    _assert_same(_load(data, _json_columns), _load(data, _generic_json_columns))


_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -0.0, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**305, -(10**305), 10**400, 1e-320]),
)
_GOOD = {
    "timestamp": st.one_of(st.integers(0, 2 * 10**12), st.floats(0, 2e12), st.sampled_from(["2021-10-07T12:12:53Z"])),
    "icao24": st.sampled_from(["abc123", "ABC123", " def456 ", "", " "]),
    "onground": st.booleans(),
    "latitude": st.floats(-95, 95),
    "longitude": st.floats(-185, 185),
    "altitude": st.floats(-1000, 50_000) | st.integers(-1000, 50_000),
    "groundspeed": st.floats(0, 700) | st.integers(0, 700),
    "track": st.floats(0, 360),
    "vertical_rate": st.floats(-6000, 6000) | st.integers(-6000, 6000),
}
_WRONG = st.one_of(
    st.sampled_from(["12.5", "high", "", "2021-10-07T12:12:53", "yesterday", True, False, 123456]),
    st.text(max_size=4),
    _NUMBERS,
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "latitude"]), st.integers(0, 3), max_size=1),
)


@st.composite
def _record(draw: st.DrawFn) -> object:
    kind = draw(st.sampled_from(["good", "good", "faulty", "faulty", "other"]))
    if kind == "other":  # not an object: counted malformed
        return draw(
            st.one_of(st.none(), st.booleans(), _NUMBERS, st.text(max_size=3), st.lists(st.integers(), max_size=2))
        )
    record: dict[str, object] = {k: draw(v) for k, v in _GOOD.items()}
    if kind == "faulty":
        for key in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)):
            change = draw(st.sampled_from(["null", "missing", "wrong"]))
            if change == "missing":
                record.pop(key, None)
            else:
                record[key] = None if change == "null" else draw(_WRONG)
    if draw(st.booleans()):  # keys nobody reads, of any shape
        record["callsign"] = draw(st.one_of(st.text(max_size=8), _NUMBERS, st.lists(st.text(max_size=2), max_size=2)))
    return record


@settings(max_examples=400, deadline=None)
@given(records=st.lists(_record(), max_size=8))
def test_typed_decoder_matches_generic_parse_on_random_records(records: list[object]) -> None:
    data = json.dumps(records).encode()  # json writes NaN/Infinity and big integers, which only json reads back
    _assert_same(_load(data, _json_columns), _load(data, _generic_json_columns))
