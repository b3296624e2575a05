"""A typed Python client for the deconline API.

>>> with Client("http://127.0.0.1:8000", token) as line:
...     op = line.file_operation([volume], name="sortie 12")
...     op.state, [n.other_party for n in op.notices]

Errors come back as :class:`ApiError` carrying the status and the service's message.

Every write of a party is a signed statement (:mod:`deconline.record.envelope`): the line's id,
the action the route takes, the time, a fresh nonce and the body, signed once. A write whose
answer does not come (a timeout, a cut connection, a 502/503/504) is sent again, the same bytes,
until the service answers or the retries run out: the service carries a statement out once and
answers its copies with the first answer. The admin's writes carry an ``Idempotency-Key`` instead.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deconline.api.key_schemas import PartyKeyOut
from deconline.api.schemas import AgreementOut, HazardOut, NoticeOut, OperationOut, PartyCreated, PartyOut, WhoAmI
from deconline.record.actions import action_for
from deconline.record.canonical import canonical_json
from deconline.record.envelope import (
    IDEMPOTENCY_HEADER,
    PAYLOAD_TYPE,
    REPLAYED_HEADER,
    SIGNATURE_HEADER,
    created_at,
    seal,
)
from deconline.record.signing import public_key_b64, read_private_key, sign_document

WRITES = ("POST", "PUT", "PATCH", "DELETE")
RETRY_STATUSES = (502, 503, 504)


class ApiError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"{status}: {format_detail(detail)}")


class AlreadyCarriedOut(ApiError):
    """A retried write had been carried out, but its first answer was lost with the instance that
    gave it: it was not carried out again. Read the result with a GET."""


def format_detail(detail: Any) -> str:
    """One readable line per problem (FastAPI's 422 lists come as loc + msg)."""
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []))
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def describe(exc: Exception) -> str:
    """One short line for a failed post."""
    if isinstance(exc, ApiError):
        return f"the server answered {exc.status}: {format_detail(exc.detail)}"[:200]
    if isinstance(exc, httpx.ConnectError):
        return "cannot connect to the server"
    if isinstance(exc, httpx.TimeoutException):
        return "the server did not answer in time"
    if isinstance(exc, httpx.HTTPError):
        return f"connection lost ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"[:200]


class Client:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        key: Path | Ed25519PrivateKey | None = None,
        timeout: float = 30.0,
        transport: Any = None,
        retries: int = 4,
        line_id: str | None = None,
        clock: Callable[[], float] | None = None,
        backoff_s: float = 0.5,
    ) -> None:
        """``key``: the party's private key (a file or the key); every write is signed with it.
        ``retries``: how many times an unanswered write is sent again (``backoff_s``, then twice as
        long each time: 0.5, 1, 2, 4 s).
        ``line_id``: the line the statements are for (default: the one the service names);
        ``clock``: the time statements are created at (default: this machine's, UTC)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._key = read_private_key(key) if isinstance(key, Path) else key
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)
        self._retries = retries
        self._line_id = line_id
        self._clock = clock
        self._backoff_s = backoff_s
        self.resent = 0  # writes sent again after no answer, over this client's life

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def line_id(self) -> str:
        """The line this client's statements are for, as the service names it (asked once)."""
        if self._line_id is None:
            line = self._call("GET", "/v1/whoami").get("line")
            if not line:
                raise ApiError(0, "the service did not say its line's id: is it older than this client?")
            self._line_id = str(line)
        return self._line_id

    def _prepare(self, method: str, path: str, kwargs: dict[str, Any], key: Ed25519PrivateKey | None) -> None:
        """Seal a party's write into a statement, or key the admin's; both are sent as they are
        on every retry."""
        action = action_for(method, path) if method in WRITES else None
        if key is not None and action is not None:
            body = kwargs.pop("json", None)
            created = created_at(self._clock()) if self._clock is not None else None
            sealed = seal(key, self.line_id(), action, {} if body is None else body, created=created)
            kwargs["content"] = sealed.statement
            kwargs["headers"] = {SIGNATURE_HEADER: sealed.signature, "Content-Type": PAYLOAD_TYPE}
        elif method in WRITES:
            if "json" in kwargs:
                kwargs["content"] = canonical_json(kwargs.pop("json"))
                kwargs["headers"] = {"Content-Type": "application/json"}
            kwargs.setdefault("headers", {})[IDEMPOTENCY_HEADER] = uuid.uuid4().hex

    def _call(self, method: str, path: str, *, key: Ed25519PrivateKey | None = None, **kwargs: Any) -> Any:
        self._prepare(method, path, kwargs, key or self._key)
        response = self._send(method, path, kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except (ValueError, AttributeError):
                detail = response.text
            if response.status_code == 409 and response.headers.get(REPLAYED_HEADER) == "true":
                raise AlreadyCarriedOut(response.status_code, detail)
            raise ApiError(response.status_code, detail)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def _send(self, method: str, path: str, kwargs: dict[str, Any]) -> httpx.Response:
        """Send, and send a write again, the same bytes, while no answer comes (it is a statement or
        keyed, so the service carries it out once). Reads are not sent again, and neither is a
        write the service refused to connect for at the first try: it is not there, and the
        caller is told at once."""
        retries = self._retries if method in WRITES else 0
        for attempt in range(retries + 1):
            last = attempt == retries
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last or (attempt == 0 and isinstance(exc, httpx.ConnectError)):
                    raise
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return response
            self.resent += 1
            time.sleep(self._backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    # --- live tracks ---
    def post_tracks(self, reports: list[dict[str, Any]], unaffiliated: bool = False) -> dict[str, Any]:
        """A signed batch of at most 5,000 reports (``POST /v1/tracks``): your own aircraft, or with
        ``unaffiliated`` traffic that belongs to no party (surveillance providers only). A report is
        sent as given, the optional ``selected_altitude_m``, ``callsign``, ``nac_p`` and
        ``velocity_age_s`` included (``State.as_report()`` of the feeder gives them when known)."""
        body: dict[str, Any] = {"tracks": reports} | ({"unaffiliated": True} if unaffiliated else {})
        result: dict[str, Any] = self._call("POST", "/v1/tracks", json=body)
        return result

    def tracks(self) -> list[dict[str, Any]]:
        """The tracks you may see (``GET /v1/tracks``): your side's with what their reports said,
        others' while in alert with yours, and live unaffiliated traffic."""
        result: list[dict[str, Any]] = self._call("GET", "/v1/tracks")
        return result

    def alerts(self, active_only: bool = True) -> list[dict[str, Any]]:
        """Your alerts (``GET /v1/alerts``), each with your own aircraft's guidance and any
        coordinated resolution proposed to you."""
        params = {"state": "active" if active_only else "all"}
        result: list[dict[str, Any]] = self._call("GET", "/v1/alerts", params=params)
        return result

    def alert_guidance(self, alert_id: str) -> dict[str, Any]:
        """Your own aircraft's conflict-free and conflicting manoeuvres in one alert, computed now."""
        result: dict[str, Any] = self._call("GET", f"/v1/alerts/{alert_id}/guidance")
        return result

    # --- service and parties ---
    def health(self) -> dict[str, str]:
        result: dict[str, str] = self._call("GET", "/healthz")
        return result

    def whoami(self) -> WhoAmI:
        return WhoAmI.model_validate(self._call("GET", "/v1/whoami"))

    def parties(self) -> list[PartyOut]:
        return [PartyOut.model_validate(p) for p in self._call("GET", "/v1/parties")]

    def add_party(self, party_id: str, public_key: str, group: str | None = None) -> PartyCreated:
        body = {"id": party_id, "public_key": public_key, "group": group}
        return PartyCreated.model_validate(self._call("POST", "/v1/parties", json=body))

    def rotate_key(
        self, new_key: Path | Ed25519PrivateKey, *, current_key: Path | Ed25519PrivateKey | None = None
    ) -> PartyKeyOut:
        """Replace your party's key with ``new_key``: the rotation is signed with the current key
        (this client's own unless given), and from then on this client signs with the new one."""
        current = read_private_key(current_key) if isinstance(current_key, Path) else current_key or self._key
        if current is None:
            raise ValueError("a key rotation is signed with your current private key: give current_key or key")
        new = read_private_key(new_key) if isinstance(new_key, Path) else new_key
        party = self.whoami().party
        body = {
            "kind": "key_rotation",
            "party": party,
            "previous_key": public_key_b64(current),
            "public_key": public_key_b64(new),
            "signed_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        result = PartyKeyOut.model_validate(self._call("POST", f"/v1/parties/{party}/keys", json=body, key=current))
        self._key = new
        return result

    def key_history(self, party: str) -> list[PartyKeyOut]:
        """Every key ``party`` has held, oldest first."""
        return [PartyKeyOut.model_validate(k) for k in self._call("GET", f"/v1/parties/{party}/keys")]

    # --- agreement ---
    def propose_agreement(self, document: dict[str, Any]) -> AgreementOut:
        return AgreementOut.model_validate(self._call("POST", "/v1/agreements", json=document))

    def agreement(self, version: int | None = None) -> AgreementOut:
        path = "/v1/agreements/current" if version is None else f"/v1/agreements/{version}"
        return AgreementOut.model_validate(self._call("GET", path))

    def agreements(self) -> list[AgreementOut]:
        return [AgreementOut.model_validate(a) for a in self._call("GET", "/v1/agreements")]

    def sign_agreement(self, version: int, key_file: Path) -> AgreementOut:
        """Fetch the exact document of ``version``, sign its canonical JSON, send the signature."""
        document = self._call("GET", f"/v1/agreements/{version}/document")
        signature = sign_document(read_private_key(key_file), document)
        body = {"signature": signature}
        return AgreementOut.model_validate(self._call("POST", f"/v1/agreements/{version}/signatures", json=body))

    # --- operations ---
    def file_operation(self, volumes: Sequence[dict[str, Any]], name: str = "") -> OperationOut:
        body = {"name": name, "volumes": list(volumes)}
        return OperationOut.model_validate(self._call("POST", "/v1/operations", json=body))

    def operations(self, state: str | None = None, limit: int = 100, offset: int = 0) -> list[OperationOut]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if state:
            params["state"] = state
        return [OperationOut.model_validate(o) for o in self._call("GET", "/v1/operations", params=params)]

    def operation(self, op_id: str) -> OperationOut:
        return OperationOut.model_validate(self._call("GET", f"/v1/operations/{op_id}"))

    def revise_operation(
        self, op_id: str, version: int, volumes: Sequence[dict[str, Any]], name: str = ""
    ) -> OperationOut:
        body = {"version": version, "name": name, "volumes": list(volumes)}
        return OperationOut.model_validate(self._call("PUT", f"/v1/operations/{op_id}", json=body))

    def check_operation(self, op_id: str, version: int) -> OperationOut:
        return OperationOut.model_validate(
            self._call("POST", f"/v1/operations/{op_id}/check", json={"version": version})
        )

    def set_state(self, op_id: str, version: int, state: str) -> OperationOut:
        body = {"version": version, "state": state}
        return OperationOut.model_validate(self._call("POST", f"/v1/operations/{op_id}/state", json=body))

    def notices(
        self, state: str | None = None, operation: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[NoticeOut]:
        """Notices about your side's operations, open and resolved, oldest first."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if state:
            params["state"] = state
        if operation:
            params["operation"] = operation
        return [NoticeOut.model_validate(n) for n in self._call("GET", "/v1/notices", params=params)]

    # --- hazards ---
    def declare_hazard(self, kind: str, volume: dict[str, Any], name: str = "") -> HazardOut:
        body = {"kind": kind, "name": name, "volume": volume}
        return HazardOut.model_validate(self._call("POST", "/v1/hazards", json=body))

    def hazards(self, include_withdrawn: bool = False) -> list[HazardOut]:
        params = {"include_withdrawn": include_withdrawn}
        return [HazardOut.model_validate(h) for h in self._call("GET", "/v1/hazards", params=params)]

    def change_hazard(
        self, hazard_id: str, version: int, kind: str, volume: dict[str, Any], name: str = ""
    ) -> HazardOut:
        body = {"version": version, "kind": kind, "name": name, "volume": volume}
        return HazardOut.model_validate(self._call("PUT", f"/v1/hazards/{hazard_id}", json=body))

    def withdraw_hazard(self, hazard_id: str) -> HazardOut:
        return HazardOut.model_validate(self._call("DELETE", f"/v1/hazards/{hazard_id}"))

    # --- record ---
    def checkpoint(self) -> str:
        """The latest signed checkpoint; keep it, as a witness, to check later bundles against."""
        value: bytes = self._call("GET", "/v1/record/checkpoint")
        return value.decode()

    def record_key(self) -> str:
        value: bytes = self._call("GET", "/v1/record/key")
        return value.decode().strip()

    def export_record(self, start: int, end: int) -> dict[str, Any]:
        """Your own disclosure bundle of entries ``start``..``end`` (``GET /v1/record/export``)."""
        result: dict[str, Any] = self._call("GET", "/v1/record/export", params={"from": start, "to": end})
        return result

    def record_entry(self, index: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/v1/record/entries/{index}")
        return result

    # --- hotline ---
    def send_message(
        self,
        recipients: Sequence[str],
        kind: str,
        text: str = "",
        references: Sequence[dict[str, str]] = (),
        proposal: dict[str, Any] | None = None,
        requires_ack: bool = True,
    ) -> dict[str, Any]:
        body = {
            "recipients": list(recipients),
            "kind": kind,
            "text": text,
            "references": list(references),
            "proposal": proposal,
            "requires_ack": requires_ack,
        }
        result: dict[str, Any] = self._call("POST", "/v1/messages", json=body)
        return result

    def messages(self, box: str = "in", status: str | None = None) -> list[dict[str, Any]]:
        params = {"box": box, **({"status": status} if status else {})}
        result: list[dict[str, Any]] = self._call("GET", "/v1/messages", params=params)
        return result

    def message(self, message_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/v1/messages/{message_id}")
        return result

    def acknowledge(self, message_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/v1/messages/{message_id}/ack", json={})
        return result

    def answer(self, message_id: str, answer: str) -> dict[str, Any]:
        """Accept or reject (``accept``/``reject``) a coordinated resolution sent to you."""
        result: dict[str, Any] = self._call("POST", f"/v1/messages/{message_id}/answer", json={"answer": answer})
        return result

    def line_health(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/v1/line/health")
        return result

    # --- periodic review ---
    def review(self, start: str, end: str) -> dict[str, Any]:
        """The data of the periodic review of ``[start, end]`` (ISO 8601 with a zone) as this token may see it."""
        result: dict[str, Any] = self._call("GET", "/v1/review", params={"from": start, "to": end})
        return result
