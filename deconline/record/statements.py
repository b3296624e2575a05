"""What a party signed in a record entry, and whether its envelope fits the entry (issue 24).

A party's signed entry embeds what it signed, in one of two forms:

* ``event["statement"]``: the statement's exact text (an envelope, see :mod:`deconline.record.envelope`);
  the signature covers ``PAE(PAYLOAD_TYPE, statement as UTF-8)``, never a re-canonicalised copy;
* ``event["submission"]``: the body alone (entries recorded before envelopes); the signature
  covers the body's canonical JSON.

Shared by the bundle's entry check and the key history's rotation check, so both read an entry
the same way. Pure: values in, bytes and values out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, NamedTuple

from deconline.record.actions import kinds_of
from deconline.record.canonical import canonical_json
from deconline.record.envelope import PAYLOAD_TYPE, EnvelopeError, Statement, pae, read_statement

# A statement is created before the service records it; the recording may seem earlier by the
# difference between the party's clock and the service's, up to this much:
CREATED_AFTER_ENTRY_S = 300
# and the service refuses a statement older than its acceptance window, so none is this much
# older than the entry that records it:
CREATED_BEFORE_ENTRY_S = 86_400


class StatementError(ValueError):
    """The entry does not say what was signed, or says it in a form that cannot have been signed."""


class SignedPart(NamedTuple):
    """What the party's signature on an entry covers."""

    message: bytes  # exactly the bytes the signature is over
    body: Any  # the party's document
    statement: Statement | None  # its envelope; None for an entry signed the old way (the body alone)


def signed_part(event: Any) -> SignedPart:
    """The signed bytes, body and statement of a signed entry's ``event``; raises
    :class:`StatementError` when the event embeds neither form, both, or a malformed statement."""
    if not isinstance(event, dict):
        raise StatementError("a signed entry's event must be an object")
    if "statement" in event:
        if "submission" in event:
            raise StatementError("a signed entry embeds its statement or its submission, not both")
        text = event["statement"]
        if not isinstance(text, str):
            raise StatementError("the statement must be embedded as its exact text (a string)")
        try:
            data = text.encode("utf-8")
            statement = read_statement(data)
        except (UnicodeEncodeError, EnvelopeError) as exc:
            raise StatementError(f"the statement cannot have been signed: {exc}") from exc
        return SignedPart(pae(PAYLOAD_TYPE, data), statement.body, statement)
    if "submission" in event:
        try:
            message = canonical_json(event["submission"])
        except (TypeError, ValueError) as exc:
            raise StatementError(f"the submission cannot have been signed: {exc}") from exc
        return SignedPart(message, event["submission"], None)
    raise StatementError("a signed entry must embed the party's statement (or, before envelopes, its submission)")


def envelope_problem(statement: Statement, origin: str | None, kind: Any, time_s: float) -> str | None:
    """What is wrong with a signed statement recorded as a ``kind`` entry at ``time_s`` on the log
    ``origin`` (None: nothing): another line, an action that does not make that kind, or a
    creation time too far from the recording's. ``origin`` None: the line is not checked."""
    if origin is not None and statement.line != origin:
        return f"the statement is for line {statement.line}, not this record's line {origin}"
    kinds = kinds_of(statement.action)
    if kind not in kinds:
        makes = f"it makes {', '.join(kinds)}" if kinds else "the action is unknown"
        return f"a statement for {statement.action} does not make {kind} entries ({makes})"
    try:
        created = statement.created_s
    except ValueError:
        return f"the statement's created time {statement.created} is not a date"
    window = (
        f"a statement is created at most {CREATED_AFTER_ENTRY_S} s after its recording (clocks differ) "
        f"and at most {CREATED_BEFORE_ENTRY_S} s before it"
    )
    if created > time_s + CREATED_AFTER_ENTRY_S:
        return (
            f"the statement was created at {statement.created}, {created - time_s:.0f} s after the entry "
            f"recording it ({_when(time_s)}): {window}"
        )
    if created < time_s - CREATED_BEFORE_ENTRY_S:
        return (
            f"the statement was created at {statement.created}, {time_s - created:.0f} s before the entry "
            f"recording it ({_when(time_s)}): {window}"
        )
    return None


def _when(time_s: float) -> str:
    try:
        return datetime.fromtimestamp(time_s, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return repr(time_s)
