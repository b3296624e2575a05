"""Load recorded ADS-B traffic (traffic-json or CSV) into SI numpy arrays for replays.

Units are converted once, here at the edge, so the engines only ever see SI. Real recordings are full of gaps,
so a bad record is counted by reason and skipped instead of failing the whole replay; only a file that cannot be
read as a recording at all raises `RecordingError`.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import zlib
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import msgspec
import numpy as np
import orjson
from numpy.typing import NDArray

from deconline.ingest.units import FPM, FT, KT

__all__ = ["Recording", "RecordingError", "latest_states", "latest_states_at", "load_recording"]

MS_THRESHOLD = 1e11  # a CSV epoch number above this is milliseconds (1e11 s is the year 5138)

MALFORMED, ON_GROUND, MISSING, OUT_OF_RANGE = "malformed", "on ground", "missing field", "out of range"
REASONS = (MALFORMED, ON_GROUND, MISSING, OUT_OF_RANGE)  # a record with several faults counts under the first
REQUIRED = ("latitude", "longitude", "altitude", "groundspeed", "track")
NUMERIC = (*REQUIRED, "vertical_rate")
FIELDS = ("timestamp", "icao24", "onground", *NUMERIC)
CSV_REQUIRED = ("timestamp", "icao24", *REQUIRED)
_NULLS = frozenset({"", "null", "none", "nan", "na", "n/a"})
_TRUE, _FALSE = frozenset({"true", "t", "1", "yes"}), frozenset({"false", "f", "0", "no"})

Floats = NDArray[np.float64]
Mask = NDArray[np.bool_]
Column = list[object]


class RecordingError(ValueError):
    """The file cannot be read as a recording at all (a single bad record is only counted, never raised)."""


@dataclass(frozen=True, eq=False)
class Recording:
    """Usable position reports in SI, sorted by (time, id), so replays can slice time windows by bisection."""

    time_s: Floats  # epoch seconds, UTC
    ids: NDArray[np.str_]  # icao24, lower case
    lat: Floats
    lon: Floats
    alt_m: Floats  # barometric
    gs_mps: Floats
    track_deg: Floats  # true
    vrate_mps: Floats
    skipped: dict[str, int]  # reason -> count of records left out
    total: int  # records in the file, usable or not

    def __post_init__(self) -> None:
        """Reject inconsistent arrays early: `latest_states` relies on equal lengths and sorted times."""
        n = len(self.time_s)
        others = (self.ids, self.lat, self.lon, self.alt_m, self.gs_mps, self.track_deg, self.vrate_mps)
        if any(len(a) != n for a in others):
            raise ValueError("Recording arrays must all have the same length")
        if n > 1 and bool(np.any(np.diff(self.time_s) < 0)):
            raise ValueError("Recording.time_s must be sorted")

    @cached_property
    def _id_codes(self) -> tuple[NDArray[np.intp], int]:
        """Small integer per id, computed once, so each `latest_states` call avoids comparing strings."""
        unique, inverse = np.unique(self.ids, return_inverse=True)
        return inverse.astype(np.intp).ravel(), len(unique)


def latest_states(rec: Recording, t: float, max_age_s: float) -> NDArray[np.intp]:
    """Indices of each aircraft's latest record in [t - max_age_s, t], ascending; one per id at most.

    Two bisections find the window, then a scatter-max keeps the last index per id: O(window + ids) per call.
    """
    lo = int(np.searchsorted(rec.time_s, t - max_age_s, side="left"))
    hi = int(np.searchsorted(rec.time_s, t, side="right"))
    if hi <= lo:
        return np.empty(0, dtype=np.intp)
    codes, n_ids = rec._id_codes
    last = np.full(n_ids, -1, dtype=np.intp)
    np.maximum.at(last, codes[lo:hi], np.arange(lo, hi, dtype=np.intp))
    return np.sort(last[last >= 0])


def latest_states_at(rec: Recording, times: Floats, max_age_s: float) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """:func:`latest_states` at many ascending times at once: picture ``k`` is
    ``idx[bounds[k]:bounds[k + 1]]``, exactly what ``latest_states(rec, times[k], max_age_s)`` gives.

    A report is the latest of its aircraft over a run of consecutive times: from the first window
    that holds it to the last one that holds it and not the aircraft's next report. Those runs are
    found by bisection on the windows' bounds (the same comparisons as one window's), then laid out
    time by time: no Python loop per time.
    """
    times = np.asarray(times, dtype=np.float64)
    n = len(rec.time_s)
    lo = np.searchsorted(rec.time_s, times - max_age_s, side="left")
    hi = np.searchsorted(rec.time_s, times, side="right")
    codes, _ = rec._id_codes
    by_id = np.lexsort((np.arange(n), codes))  # each aircraft's reports in order
    following = np.full(n, n, dtype=np.intp)
    same = codes[by_id[1:]] == codes[by_id[:-1]]
    following[by_id[:-1][same]] = by_id[1:][same]
    report = np.arange(n, dtype=np.intp)
    first = np.searchsorted(hi, report, side="right")  # first time whose window reaches the report
    last = np.minimum(np.searchsorted(lo, report, side="right"), np.searchsorted(hi, following, side="right"))
    length = np.maximum(last - first, 0)
    members = np.repeat(report, length)
    starts = np.cumsum(length) - length
    k = np.repeat(first, length) + (np.arange(len(members)) - np.repeat(starts, length))
    order = np.lexsort((members, k))
    bounds = np.searchsorted(k[order], np.arange(len(times) + 1), side="left").astype(np.intp)
    return members[order], bounds


def load_recording(path: Path, fmt: Literal["traffic-json", "csv"]) -> Recording:
    """Read a (possibly gzip'd) recording, skip and count bad records, and return the rest in SI units."""
    data = _read_bytes(Path(path))
    if fmt == "traffic-json":
        raw, total, bad = _json_columns(data, path)
        return _assemble(raw, total, bad, ms_only=True)
    if fmt == "csv":
        raw, total, bad = _csv_columns(data, path)
        return _assemble(raw, total, bad, ms_only=False)
    raise ValueError(f"unknown recording format {fmt!r} (expected 'traffic-json' or 'csv')")


def _read_bytes(path: Path) -> bytes:
    """Whole file, gunzipped when it starts with the gzip magic (whatever its suffix says)."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise RecordingError(f"{path}: corrupt gzip data ({exc})") from exc


_Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]  # orjson turns wider integers into floats
_Scalar = bool | _Int64 | float | str | None  # any JSON scalar; an object or array here makes the decode raise


class _Report(msgspec.Struct, gc=False):
    """The fields a replay uses, as decoded; a record's other keys are skipped, never built; an absent one is None."""

    timestamp: _Scalar = None
    icao24: _Scalar = None
    onground: _Scalar = None
    latitude: _Scalar = None
    longitude: _Scalar = None
    altitude: _Scalar = None
    groundspeed: _Scalar = None
    track: _Scalar = None
    vertical_rate: _Scalar = None


_EMPTY = _Report()
_REPORTS = msgspec.json.Decoder(list[_Report | bool | int | float | str | list[Any] | None])


def _json_columns(data: bytes, path: Path) -> tuple[dict[str, Column], int, Mask]:
    """One list per field: the typed decode when it can read the file, else the generic parse with the same answers."""
    typed = _typed_json_columns(data)
    return typed if typed is not None else _generic_json_columns(data, path)


def _typed_json_columns(data: bytes) -> tuple[dict[str, Column], int, Mask] | None:
    """Columns decoded by msgspec into `_Report`s, or None wherever its answer could differ from the generic parse.

    None for JSON msgspec refuses (NaN literals, lone surrogates, UTF-16, a BOM, too deep nesting), for a value it
    reads but cannot type (an object or array in a used field, a number past float range, an integer outside int64:
    orjson makes those past 64 bits floats) and for bytes that are not UTF-8 (msgspec skips strings unchecked).
    """
    if not data.isascii():
        try:
            data.decode("utf-8", "surrogatepass")  # as json.loads would: invalid UTF-8 anywhere fails the file
        except UnicodeDecodeError:
            return None
    try:
        decoded = _REPORTS.decode(data)
    except (msgspec.MsgspecError, ValueError, RecursionError):  # ValueError: a used string that is not UTF-8
        return None
    records, bad = cast("list[_Report]", decoded), np.zeros(len(decoded), dtype=np.bool_)
    if set(map(type, decoded)) - {_Report}:  # scalars and arrays in the array: malformed, their fields None
        bad = np.array([type(r) is not _Report for r in decoded], dtype=np.bool_)
        records = [r if isinstance(r, _Report) else _EMPTY for r in decoded]
    columns: dict[str, Column] = {  # one comprehension per field: faster than getattr in a loop
        "timestamp": [r.timestamp for r in records],
        "icao24": [r.icao24 for r in records],
        "onground": [r.onground for r in records],
        "latitude": [r.latitude for r in records],
        "longitude": [r.longitude for r in records],
        "altitude": [r.altitude for r in records],
        "groundspeed": [r.groundspeed for r in records],
        "track": [r.track for r in records],
        "vertical_rate": [r.vertical_rate for r in records],
    }
    return columns, len(records), bad


def _generic_json_columns(data: bytes, path: Path) -> tuple[dict[str, Column], int, Mask]:
    """One list per field from fully parsed dicts; non-objects are malformed. The fallback of `_json_columns`."""
    try:
        records = orjson.loads(data)  # a third of the time json takes on a large file
    except orjson.JSONDecodeError:
        try:  # what orjson refuses and json reads: NaN literals, integers past 64 bits, UTF-16
            records = json.loads(data)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise RecordingError(f"{path}: not a traffic-json recording ({exc})") from exc
    if not isinstance(records, list):
        raise RecordingError(f"{path}: a traffic-json recording is a JSON array, got {type(records).__name__}")
    bad = np.zeros(len(records), dtype=np.bool_)
    if set(map(type, records)) - {dict}:
        bad = np.array([type(r) is not dict for r in records], dtype=np.bool_)
        records = [r if type(r) is dict else {} for r in records]
    return {k: [r.get(k) for r in records] for k in FIELDS}, len(records), bad


def _csv_columns(data: bytes, path: Path) -> tuple[dict[str, Column], int, Mask]:
    """Columns of Python values from CSV text: numbers parsed, ISO strings kept, rows of the wrong width malformed."""
    try:
        rows = [r for r in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) if r]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RecordingError(f"{path}: not a CSV recording ({exc})") from exc
    if not rows:
        raise RecordingError(f"{path}: empty CSV, no header row")
    names = [h.strip().lower() for h in rows[0]]
    absent = [c for c in CSV_REQUIRED if c not in names]
    if absent:
        raise RecordingError(f"{path}: CSV header lacks column(s) {', '.join(absent)}")
    body, width, where = rows[1:], len(names), {name: i for i, name in enumerate(names)}
    bad = np.array([len(r) != width for r in body], dtype=np.bool_)
    raw: dict[str, Column] = {}
    for key in FIELDS:
        i = where.get(key)
        cells = [r[i] if i < len(r) else "" for r in body] if i is not None else [""] * len(body)
        raw[key] = [_csv_flag(c) for c in cells] if key == "onground" else [_csv_value(c, key) for c in cells]
    return raw, len(body), bad


def _csv_value(cell: str, key: str) -> object:
    """None for an empty/null cell, a float for a number, else the stripped string (an ISO time, or malformed)."""
    text = cell.strip()
    if text.lower() in _NULLS:
        return None
    if key == "icao24":
        return text
    try:
        return float(text)
    except ValueError:
        return text


def _csv_flag(cell: str) -> object:
    """True/False for the usual spellings, None when empty, else the string itself (malformed)."""
    text = cell.strip().lower()
    return None if text in _NULLS else True if text in _TRUE else False if text in _FALSE else text


def _numbers(values: Column) -> tuple[Floats, Mask]:
    """Float64 column with NaN where missing, plus a mask of non-numbers; the fast path keeps 284k rows cheap."""
    if set(map(type, values)) <= {int, float, type(None)}:
        try:
            return np.array(values, dtype=np.float64), np.zeros(len(values), dtype=np.bool_)
        except OverflowError:  # an integer literal too large for a float: take the slow path
            pass
    floats = [_as_float(v) for v in values]
    bad = np.array([f is None for f in floats], dtype=np.bool_)
    return np.array([math.nan if f is None else f for f in floats], dtype=np.float64), bad


def _as_float(value: object) -> float | None:
    """The number in `value`, NaN when missing, None when it is not a number (bools are not numbers here)."""
    if value is None:
        return math.nan
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value) if abs(value) < 10**300 else (math.inf if value > 0 else -math.inf)
    return None


def _times(values: Column, ms_only: bool) -> tuple[Floats, Mask]:
    """Epoch seconds from epoch numbers (ms, or in CSV ms-or-s by magnitude) or ISO 8601 strings with a zone."""
    strings = {i: v for i, v in enumerate(values) if type(v) is str} if str in set(map(type, values)) else {}
    nums, bad = _numbers([None if type(v) is str else v for v in values] if strings else values)
    secs = nums / 1000.0 if ms_only else np.where(nums > MS_THRESHOLD, nums / 1000.0, nums)
    for i, text in strings.items():
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            stamp = None
        if stamp is None or stamp.tzinfo is None:
            bad[i] = True
        else:
            secs[i] = stamp.timestamp()
    return secs, bad


def _assemble(raw: dict[str, Column], total: int, bad: Mask, ms_only: bool) -> Recording:
    """Validate whole columns at once, count each skipped record under its first reason, convert and sort."""
    num = {k: _numbers(raw[k]) for k in NUMERIC}
    time_s, time_bad = _times(raw["timestamp"], ms_only)
    ids = [v.strip().lower() if type(v) is str else "" for v in raw["icao24"]]
    id_bad = np.array([v is not None and type(v) is not str for v in raw["icao24"]], dtype=np.bool_)
    flags = raw["onground"]
    ground = np.array([v is True for v in flags], dtype=np.bool_)
    flag_bad = np.array([v is not None and type(v) is not bool for v in flags], dtype=np.bool_)
    malformed = bad | time_bad | id_bad | flag_bad | np.logical_or.reduce([num[k][1] for k in NUMERIC])
    id_array = np.array(ids, dtype=np.str_) if ids else np.empty(0, dtype="<U6")
    missing = np.isnan(time_s) | (id_array == "") | np.logical_or.reduce([np.isnan(num[k][0]) for k in REQUIRED])
    lat, lon = num["latitude"][0], num["longitude"][0]
    vrate = np.nan_to_num(num["vertical_rate"][0], nan=0.0, posinf=np.inf, neginf=-np.inf)
    values = [time_s, vrate, *(num[k][0] for k in REQUIRED)]
    out = (np.abs(lat) > 90.0) | (np.abs(lon) > 180.0) | np.logical_or.reduce([np.isinf(v) for v in values])
    keep, skipped = np.ones(total, dtype=np.bool_), {}
    for reason, mask in zip(REASONS, (malformed, ground, missing, out), strict=True):
        hit = mask & keep
        skipped[reason] = int(hit.sum())
        keep &= ~hit
    order = np.flatnonzero(keep)
    order = order[np.lexsort((id_array[order], time_s[order]))]
    columns = [time_s, lat, lon, num["altitude"][0] * FT, num["groundspeed"][0] * KT]
    columns += [num["track"][0], vrate * FPM]
    t, la, lo, alt, gs, trk, vr = (c[order] for c in columns)
    sorted_ids = id_array[order]
    for array in (t, sorted_ids, la, lo, alt, gs, trk, vr):
        array.flags.writeable = False
    return Recording(t, sorted_ids, la, lo, alt, gs, trk, vr, skipped=skipped, total=total)
