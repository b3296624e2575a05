"""Text hygiene: free text one party chooses (names, titles, hotline messages) is shown to others,
on the console and in terminals, so it may not carry control characters or bidirectional
formatting characters (which can hide or reorder what a reader sees).

Refused: C0 controls U+0000–U+001F and U+007F, C1 controls U+0080–U+009F, the bidirectional
embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069 and marks U+200E, U+200F and
U+061C. Multi-line text (a hotline message) may also hold tab and newline.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_FORBIDDEN = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_FORBIDDEN_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # tab (09) and newline (0A) allowed

_CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "CHARACTER TABULATION",
    0x0A: "LINE FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
    0x9B: "CONTROL SEQUENCE INTRODUCER",
}

RULE = "control and bidirectional formatting characters are not allowed"


def describe(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``; controls (which have no Unicode name) by their alias."""
    code = ord(char)
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(code, "CONTROL CHARACTER")
    return f"U+{code:04X} {name}"


def problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be shown to others, or None when it may."""
    found = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN).search(value)
    if found is None:
        return None
    allowed = " (except tab and newline)" if multiline else ""
    return f"contains {describe(found.group())} at character {found.start() + 1}; {RULE}{allowed}"


def _check(value: str, multiline: bool) -> str:
    reason = problem(value, multiline=multiline)
    if reason is not None:
        raise PydanticCustomError("text_characters", "{reason}", {"reason": reason})
    return value


def check_plain(value: str) -> str:
    """``value`` unchanged, or a pydantic error (a 422 naming the field through the API)."""
    return _check(value, False)


def check_multiline(value: str) -> str:
    """As :func:`check_plain`, but tab and newline are allowed."""
    return _check(value, True)


PlainText = Annotated[str, AfterValidator(check_plain)]
"""A name or title: one line of text without control or bidirectional formatting characters."""

MultilineText = Annotated[str, AfterValidator(check_multiline)]
"""Message text: as :data:`PlainText`, but tab and newline are allowed."""
