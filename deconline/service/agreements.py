"""Proposing and signing agreement versions; the one in force is the newest fully signed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from deconline.core.agreement import Agreement
from deconline.record.canonical import canonical_json
from deconline.record.checkpoint import NoteError
from deconline.record.cosignature import parse_vkey
from deconline.record.signing import SignatureError, verify_document
from deconline.service import notices
from deconline.service.actors import Actor
from deconline.service.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from deconline.service.line import Line
from deconline.service.rules import current_version, parse_document
from deconline.service.statements import Signed
from deconline.store.models import AgreementSignature, AgreementVersion, Party


@dataclass(frozen=True)
class AgreementState:
    agreement: Agreement
    signed_by: dict[str, float]
    proposed_by: str
    created_at: float
    in_force_at: float | None
    current: bool

    @property
    def missing(self) -> list[str]:
        return [p for p in self.agreement.parties if p not in self.signed_by]


def _load(row: AgreementVersion) -> Agreement:
    return parse_document(row.document)


def _state(row: AgreementVersion, current: int | None) -> AgreementState:
    return AgreementState(
        agreement=_load(row),
        signed_by={s.party_id: s.signed_at for s in row.signatures},
        proposed_by=row.proposed_by,
        created_at=row.created_at,
        in_force_at=row.in_force_at,
        current=row.version == current,
    )


def propose(line: Line, actor: Actor, document: object, signed: Signed | None = None) -> AgreementState:
    """Store a new version; nothing changes until every listed party has signed it."""
    try:
        agreement = Agreement.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Invalid(["body", *first["loc"]], first["msg"]) from exc
    for k, witness in enumerate(agreement.witnesses):  # the form is checked above; its key id here
        try:
            parse_vkey(witness.key)
        except NoteError as exc:
            raise Invalid(["body", "witnesses", k, "key"], str(exc)) from exc
    with line.db.write() as session:
        proposer = "admin" if actor.role == "admin" else actor.require_party()
        if actor.role == "party" and proposer not in agreement.parties:
            raise Forbidden("a party may only propose an agreement that lists it")
        latest = session.scalar(select(func.max(AgreementVersion.version))) or 0
        if agreement.version != latest + 1:
            raise Conflict(f"the next agreement version is {latest + 1}, not {agreement.version}")
        known = set(session.scalars(select(Party.id).where(Party.id.in_(agreement.parties))))
        unknown = [p for p in agreement.parties if p not in known]
        if unknown:
            raise Invalid(["body", "parties"], f"not registered on this line: {', '.join(unknown)}")
        row = AgreementVersion(
            version=agreement.version,
            document=canonical_json(agreement.document()).decode("utf-8"),
            proposed_by=proposer,
            created_at=line.clock(),
        )
        session.add(row)
        session.flush()
        event = {"agreement": agreement.document()}
        line.append(session, proposer, "agreement.proposed", event, agreement.parties, signed)
        return _state(row, current_version(session))


def sign(line: Line, actor: Actor, version: int, signature: str, signed: Signed | None = None) -> AgreementState:
    """Verify and store one party's signature; the version takes effect with the last one."""
    party_id = actor.require_party()
    # Under the filing lock: the last signature may put new rules in force, and the plans already
    # accepted are checked under them in the same transaction.
    with line.strategic_change(None) as change:
        session = change.session
        previous = current_version(session)
        row = session.get(AgreementVersion, version, options=[selectinload(AgreementVersion.signatures)])
        if row is None:
            raise NotFound(f"no agreement version {version}")
        agreement = _load(row)
        if party_id not in agreement.parties:
            raise Forbidden(f"party '{party_id}' is not listed in agreement version {version}")
        if any(s.party_id == party_id for s in row.signatures):
            raise Conflict(f"party '{party_id}' has already signed version {version}")
        party = session.get(Party, party_id)
        assert party is not None
        try:
            verify_document(party.public_key, json.loads(row.document), signature)
        except SignatureError as exc:
            raise Unauthorized(f"signature rejected: {exc.args[0]}") from exc
        now = line.clock()
        row.signatures.append(
            AgreementSignature(version=version, party_id=party_id, signature=signature, signed_at=now)
        )
        if {s.party_id for s in row.signatures} >= set(agreement.parties):
            row.in_force_at = now
        session.flush()
        event = {"version": version, "signature": signature, "in_force": row.in_force_at is not None}
        line.append(session, party_id, "agreement.signed", event, agreement.parties, signed)
        current = current_version(session)
        if current == version and previous is not None and previous != version:
            notices.recheck_all(line, session, agreement.strategic_rules, "service", "agreement.in_force")
        return _state(row, current)


def get(line: Line, version: int | None = None) -> AgreementState:
    with line.db.read() as session:
        current = current_version(session)
        wanted = current if version is None else version
        if wanted is None:
            raise NotFound("no agreement is in force yet")
        row = session.get(AgreementVersion, wanted, options=[selectinload(AgreementVersion.signatures)])
        if row is None:
            raise NotFound(f"no agreement version {version}")
        return _state(row, current)


def list_all(line: Line) -> list[AgreementState]:
    with line.db.read() as session:
        current = current_version(session)
        rows = session.scalars(
            select(AgreementVersion)
            .options(selectinload(AgreementVersion.signatures))
            .order_by(AgreementVersion.version)
        )
        return [_state(row, current) for row in rows]


def document_bytes(line: Line, version: int) -> bytes:
    """The exact bytes a party signs for ``version``."""
    with line.db.read() as session:
        row = session.get(AgreementVersion, version)
        if row is None:
            raise NotFound(f"no agreement version {version}")
        return row.document.encode("utf-8")
