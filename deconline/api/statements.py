"""Signed statements over HTTP: the request body is the statement's exact bytes, the signature a
header; a retry of the same bytes gets the first answer (issue 24).

    POST /v1/operations
    Content-Type: application/vnd.deconline.statement+json
    X-Deconline-Signature: <base64 Ed25519 over DSSE PAE(type, body)>

    {"action":"operation.file","body":{...},"created":"2026-12-07T10:00:00.000Z","line":"deconline/1a2b3c4d","nonce":"..."}

The route validates ``body`` as it always did (a malformed body is a 422 before anything about its
signature). Then: 401 for a signature that does not verify or a ``created`` outside the window,
403 for another line or another action. A copy of a statement that was carried out gets its
first answer, marked ``Idempotent-Replayed: true``; other bytes under a used nonce get 422.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from deconline.record.actions import BY_ROUTE
from deconline.record.envelope import PAYLOAD_TYPE, REPLAYED_HEADER, SIGNATURE_HEADER, EnvelopeError, read_statement
from deconline.record.signing import SignatureError
from deconline.service import record as record_service
from deconline.service import rules
from deconline.service.actors import Actor
from deconline.service.errors import Forbidden, Invalid, ServiceError, Unauthorized
from deconline.service.line import Line
from deconline.service.statements import DEFAULT_WINDOW_S, Answer, Signed, first_answer

STATEMENT_TYPE = PAYLOAD_TYPE  # the body is the statement: its content type is its payload type
WINDOW_REFRESH_S = 5.0
STATE_KEY = "deconline_statement"


@dataclass
class LineFacts:
    """What every statement is checked against, without a query per request: the line's id (never
    changes) and the window of the agreement in force (read again every few seconds)."""

    line_id: str | None = None
    window_s: float = DEFAULT_WINDOW_S
    window_read_at: float = -1e18

    def _read(self, line: Line) -> None:
        with line.db.read() as session:
            if self.line_id is None:
                self.line_id = record_service.origin(line.record, session)
            agreement = rules.in_force(session)
        window = agreement.statement_window_s if agreement is not None else None
        self.window_s = window or DEFAULT_WINDOW_S
        self.window_read_at = time.monotonic()

    async def current(self, line: Line) -> tuple[str, float]:
        if self.line_id is None or time.monotonic() - self.window_read_at > WINDOW_REFRESH_S:
            await run_in_threadpool(self._read, line)
        assert self.line_id is not None
        return self.line_id, self.window_s


@dataclass
class SignatureCheck:
    """The outcome of checking a submission's statement, raised by the route only after the body
    itself has been validated — so malformed input is a 422 before it is a 401."""

    signed: Signed | None = None
    problem: ServiceError | None = None
    party: str | None = None
    replayable: bool = False  # a copy of it, if carried out before, gets the first answer

    def require(self) -> Signed | None:
        if self.problem is not None:
            raise self.problem
        return self.signed


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _sign_it(route_action: str) -> str:
    return (
        f"sign your submission as a statement for '{route_action}': send the statement's bytes as the body "
        f"(Content-Type: {STATEMENT_TYPE}) with {SIGNATURE_HEADER}, the base64 Ed25519 signature over its "
        "DSSE PAE; the Python client, the CLI and the console do it with your key (see the README, 'Signed words')"
    )


async def check_statement(request: Request, actor: Actor, line: Line, facts: LineFacts) -> SignatureCheck:
    """Read and check the statement a party's write carries; never raises (see :class:`SignatureCheck`)."""
    if actor.role != "party" or actor.party_id is None:
        return SignatureCheck()  # the admin holds no party key: Idempotency-Key serves its retries
    route = request.scope.get("route")
    action = BY_ROUTE.get((request.method, getattr(route, "path_format", "")))
    if action is None:
        return SignatureCheck()
    expected = action.for_path({k: str(v) for k, v in request.path_params.items()})
    check = SignatureCheck(party=actor.party_id)
    request.scope.setdefault("state", {})[STATE_KEY] = check
    signature = request.headers.get(SIGNATURE_HEADER)
    if not request.headers.get("content-type", "").startswith(STATEMENT_TYPE) or not signature:
        bare = " (a signature over a bare body is no longer accepted: it could be replayed)" if signature else ""
        check.problem = Unauthorized(_sign_it(expected) + bare)
        return check
    raw = await request.body()
    try:
        said = read_statement(raw, getattr(request, "statement_value", None))
    except EnvelopeError as exc:
        check.problem = Invalid(["body"], f"the statement is malformed: {exc}")
        return check
    signed = Signed(raw, signature, said)
    line_id, window_s = await facts.current(line)
    now = line.clock()
    if said.line != line_id:
        check.problem = Forbidden(f"this statement is for line '{said.line}'; this line is '{line_id}'")
    elif said.action != expected:
        check.problem = Forbidden(f"this statement is signed for '{said.action}'; this route takes '{expected}'")
    elif abs(now - said.created_s) > window_s:
        ahead = said.created_s - now
        check.problem = Unauthorized(
            f"the statement was created at {said.created}, {abs(ahead):.0f} s {'ahead of' if ahead > 0 else 'behind'} "
            f"the line's clock ({_iso(now)}); statements are accepted within ±{window_s:.0f} s: check your clock, "
            "and sign a new statement"
        )
    else:
        check.signed, check.replayable = signed, True
        try:
            signed.verify(actor.public_key or "")
        except SignatureError as exc:  # a copy of what the party signed before its key changed still replays
            check.problem = Unauthorized(f"signature rejected: {exc}")
    return check


def statement_of(request: Request) -> SignatureCheck | None:
    check = request.scope.get("state", {}).get(STATE_KEY)
    return check if isinstance(check, SignatureCheck) else None


def replayed(answer: Answer) -> Response:
    headers = {REPLAYED_HEADER: "true"} | ({"Location": answer.location} if answer.location else {})
    return Response(answer.body, status_code=answer.status, media_type="application/json", headers=headers)


async def replay_after_failure(request: Request, line: Line) -> Response | None:
    """A copy of a statement carried out before fails on its way (a stale version, its claimed
    nonce): answer it with the first answer instead. None when it was not carried out."""
    check = statement_of(request)
    if check is None or check.signed is None or check.party is None or not check.replayable:
        return None
    said = check.signed.said
    answer = await run_in_threadpool(first_answer, line.db, line.answers, check.party, said.nonce, check.signed.digest)
    return replayed(answer) if answer is not None else None


def keep_answer(request: Request, line: Line, response: Response) -> None:
    """Keep the first answer of a statement just carried out, for its copies."""
    check = statement_of(request)
    if check is None or check.signed is None or check.party is None or not check.signed.carried_out:
        return
    if response.status_code >= 300:
        return
    answer = Answer(response.status_code, bytes(response.body), response.headers.get("location"))
    line.answers.keep(line.db, check.party, check.signed, answer, line.clock())
