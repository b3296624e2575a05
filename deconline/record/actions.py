"""What a signed statement may be for: one action per write route, and the record entries it makes.

An action names the route's purpose and, for a route on one subject, that subject's id
(``operation.revise:op_1a2b``): an envelope signed to revise one operation cannot be sent to
revise another. The client, the console and the service derive it from the method and path
alone, and ``record verify`` checks that an entry's kind is one its action makes. Shared by the
shell and the verifier, so it lives here, pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    method: str
    route: str  # FastAPI's path template
    name: str  # the purpose; ":{param}" follows for a route on one subject
    kinds: tuple[str, ...]  # the record entry kinds a statement for it makes
    subject: str | None = None  # the path parameter naming the subject

    def for_path(self, params: dict[str, str]) -> str:
        return self.name if self.subject is None else f"{self.name}:{params[self.subject]}"


OPERATION_STATES = ("proposed", "accepted", "active", "ended", "cancelled")

ACTIONS: tuple[Action, ...] = (
    Action("POST", "/v1/operations", "operation.file", ("operation.filed",)),
    Action("PUT", "/v1/operations/{op_id}", "operation.revise", ("operation.revised",), "op_id"),
    Action("POST", "/v1/operations/{op_id}/check", "operation.check", ("operation.checked",), "op_id"),
    Action(
        "POST",
        "/v1/operations/{op_id}/state",
        "operation.state",
        tuple(f"operation.{s}" for s in OPERATION_STATES),
        "op_id",
    ),
    Action(
        "POST",
        "/v1/operations/{op_id}/notices/{notice_id}/request",
        "notice.request",
        ("message.sent",),
        "notice_id",
    ),
    Action("POST", "/v1/hazards", "hazard.declare", ("hazard.declared",)),
    Action("PUT", "/v1/hazards/{hazard_id}", "hazard.change", ("hazard.changed",), "hazard_id"),
    Action("DELETE", "/v1/hazards/{hazard_id}", "hazard.withdraw", ("hazard.withdrawn",), "hazard_id"),
    Action("POST", "/v1/tracks", "tracks.post", ("tracks.batch",)),
    Action("POST", "/v1/messages", "message.send", ("message.sent",)),
    Action("POST", "/v1/messages/{message_id}/ack", "message.ack", ("message.acknowledged",), "message_id"),
    Action("POST", "/v1/messages/{message_id}/answer", "message.answer", ("message.answered",), "message_id"),
    Action("POST", "/v1/parties/{party_id}/keys", "key.rotate", ("party.key_rotated",), "party_id"),
    Action("POST", "/v1/agreements", "agreement.propose", ("agreement.proposed",)),
    Action("POST", "/v1/agreements/{version}/signatures", "agreement.sign", ("agreement.signed",), "version"),
)

BY_ROUTE: dict[tuple[str, str], Action] = {(a.method, a.route): a for a in ACTIONS}
_BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}


def _pattern(route: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", route)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$")


_MATCHERS = [(a, _pattern(a.route)) for a in ACTIONS]


def action_for(method: str, path: str) -> str | None:
    """The action a request to ``path`` must be signed for (None: the route takes no statement)."""
    path = path.split("?", 1)[0].rstrip("/") or "/"
    for action, pattern in _MATCHERS:
        if action.method == method.upper():
            found = pattern.match(path)
            if found:
                return action.for_path(found.groupdict())
    return None


def kinds_of(action: str) -> tuple[str, ...]:
    """The record entry kinds a statement for ``action`` makes (empty for an unknown action)."""
    known = _BY_NAME.get(action.split(":", 1)[0])
    return known.kinds if known is not None else ()
