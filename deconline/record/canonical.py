"""Canonical JSON (RFC 8785, JCS): the one byte string that every signature covers.

``rfc8785`` is the reference; it writes one value at a time through a byte sink, which costs
~0.1 s for a batch of 5,000 track reports (signed by the client, verified and digested by the
service). :func:`canonical_json` has ``orjson`` write the same bytes where the two agree, which is
nearly always: ASCII keys (sorted alike), strings (escaped alike), integers, and floats once
integral ones are made ints (both write the shortest digits that read back); a float that needs
an exponent is written by ``rfc8785`` and passed through. A non-ASCII key (JCS orders keys by
UTF-16 units) sends the whole value down a slower walk. The tests hold all three equal. A
5,000-report batch: ~10 ms instead of ~90 ms.
"""

from __future__ import annotations

import json
import math
from collections import deque
from itertools import repeat
from operator import setitem
from typing import Any

import orjson
import rfc8785

_INT_LIMIT = 2**53 - 1  # JSON numbers are IEEE doubles: larger integers lose digits
_escape = json.encoder.encode_basestring  # type: ignore[attr-defined]  # C: ", \ and controls, like JCS


class _Unusual(Exception):
    """A value Python's encoder would not write as JCS does."""


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 serialisation of ``value``; raises ``ValueError`` on what JCS cannot encode."""
    try:
        try:
            return orjson.dumps(_as_python_writes_it(value), option=orjson.OPT_SORT_KEYS)
        except (_Unusual, orjson.JSONEncodeError):  # the latter: a lone surrogate, refused below
            return _text(value).encode("utf-8")
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"cannot canonicalise: {exc}") from exc
    except UnicodeEncodeError as exc:
        raise ValueError(f"cannot canonicalise: text contains a lone surrogate ({exc.reason})") from exc


def reference_canonical_json(value: Any) -> bytes:
    """The same, by the ``rfc8785`` package alone (the reference the tests compare with)."""
    try:
        return bytes(rfc8785.dumps(value))
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ValueError(f"cannot canonicalise: {exc}") from exc


_PLAIN_LOW, _PLAIN_HIGH = 1e-4, 1e16  # between these, repr (and orjson) write a float as JCS does


def _as_python_writes_it(value: Any) -> Any:
    """``value`` with integral floats as ints, so that ``orjson`` writes its JCS form. Strings and
    plain floats (the bulk of a batch) are tested inline by the containers, without a call."""
    kind = type(value)
    if kind is float:
        if value.is_integer() and -1e16 < value < 1e16:
            return int(value)  # exact: 200.0 is "200", -0.0 is "0"
        if _PLAIN_LOW <= abs(value) < _PLAIN_HIGH:
            return value  # repr writes no exponent here, and its digits are ECMAScript's
        return orjson.Fragment(bytes(rfc8785.dumps(value)))  # written as is; NaN and infinities raise
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        if not all(type(key) is str and key.isascii() for key in value):
            raise _Unusual  # JCS orders keys by UTF-16 units and refuses others
        return {
            key: item if type(item) is str or (type(item) is float and _PLAIN_LOW <= abs(item) < _PLAIN_HIGH
            and not item.is_integer()) else _as_python_writes_it(item)
            for key, item in value.items()
        }  # fmt: skip
    if kind is list or kind is tuple:
        if len(value) >= _TABLE_MIN and type(value[0]) is dict:
            table = _as_table(value)
            if table is not None:
                return table
        return [
            item if type(item) is str or (type(item) is float and _PLAIN_LOW <= abs(item) < _PLAIN_HIGH
            and not item.is_integer()) else _as_python_writes_it(item)
            for item in value
        ]  # fmt: skip
    if kind is int and -_INT_LIMIT <= value <= _INT_LIMIT:
        return value
    raise _Unusual


_TABLE_MIN = 32  # rows from which a list of like objects is checked a column at a time


def _as_table(rows: list[Any] | tuple[Any, ...]) -> list[Any] | None:
    """A list of objects with one set of keys (a batch of reports, the rows it stores), made ready
    for ``orjson`` a column at a time: a column of plain floats is cleared by a few passes in C
    (``sum``, ``min``, ``max`` and ``float.is_integer`` over it), and only a column that needs it
    is converted, into copies of the rows. None when the rows are not alike (the walk does them)."""
    keys = list(rows[0])
    if set(map(type, rows)) != {dict} or set(map(len, rows)) != {len(keys)}:
        return None
    if not all(type(key) is str and key.isascii() for key in keys):
        raise _Unusual
    table = list(rows)
    copied = False
    for key in keys:
        try:
            column = [row[key] for row in rows]
        except KeyError:  # as many keys, not the same ones
            return None
        kinds = set(map(type, column))
        if kinds <= _AS_IS or (kinds == {float} and _plain(column)) or (kinds == {int} and _safe(column)):
            continue
        if kinds == {float} and _integral(column):
            written: list[Any] = list(map(int, column))  # altitudes and speeds: often whole
        else:
            written = list(map(_as_python_writes_it, column))
        if not copied:
            table, copied = list(map(dict.copy, rows)), True
        deque(map(setitem, table, repeat(key), written), maxlen=0)
    return table


def _safe(column: list[int]) -> bool:
    """Every integer within the range a JSON number keeps exactly."""
    return min(column) >= -_INT_LIMIT and max(column) <= _INT_LIMIT


def _integral(column: list[float]) -> bool:
    """Every float finite, whole and written by ``int`` as JCS writes it."""
    return all(map(float.is_integer, column)) and max(map(abs, column)) < _PLAIN_HIGH  # NaN, inf: not integers


_AS_IS = {str, bool, type(None)}  # written by orjson as JCS writes them (a lone surrogate makes it refuse)


def _plain(column: list[float]) -> bool:
    """Every float finite, not integral and within the range that repr writes without an exponent."""
    if not math.isfinite(sum(column)):  # NaN and infinities (or an overflow: then the walk decides)
        return False
    if any(map(float.is_integer, column)):
        return False
    magnitudes = list(map(abs, column))
    return min(magnitudes) >= _PLAIN_LOW and max(magnitudes) < _PLAIN_HIGH


def _text(value: Any) -> str:
    if isinstance(value, str):
        return str(_escape(value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _number(float(value))  # a subclass's repr may not be a number (numpy's float64)
    if isinstance(value, int):
        if not -_INT_LIMIT <= value <= _INT_LIMIT:
            raise ValueError(f"cannot canonicalise: {value} exceeds safe integer domain for JSON floats")
        return str(int(value))
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise ValueError("cannot canonicalise: object keys must be strings")
        keys = sorted(value) if all(key.isascii() for key in value) else sorted(value, key=_utf16)
        return "{" + ",".join(f"{_escape(key)}:{_text(value[key])}" for key in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_text(item) for item in value) + "]"
    raise ValueError(f"cannot canonicalise: unsupported type: {type(value)}")


def _utf16(key: str) -> bytes:
    return key.encode("utf-16be")  # JCS orders keys by UTF-16 code units


def _number(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"cannot canonicalise: {value} is not representable in JCS")
    if value == 0:
        return "0"  # -0.0 too
    written = repr(value)  # the shortest digits that read back as this value, as ECMAScript's
    if "e" in written:  # ECMAScript places exponents differently: the reference knows how
        return bytes(rfc8785.dumps(value)).decode("ascii")
    return written[:-2] if written.endswith(".0") else written  # 200.0 is "200"
