"""The rules in force: the newest fully signed agreement version, read in the caller's transaction.

Part of the service's base: every use case reads the rules, so this module imports none of them.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deconline.core.agreement import STORED, Agreement
from deconline.service.errors import Conflict
from deconline.store.models import AgreementVersion


@lru_cache(maxsize=64)
def parse_document(document: str) -> Agreement:
    """Stored documents never change, so each is parsed once."""
    return Agreement.model_validate_json(document, context=STORED)


def current_version(session: Session) -> int | None:
    return session.scalar(select(func.max(AgreementVersion.version)).where(AgreementVersion.in_force_at.is_not(None)))


_IN_FORCE = select(AgreementVersion.document).where(
    AgreementVersion.version
    == select(func.max(AgreementVersion.version)).where(AgreementVersion.in_force_at.is_not(None)).scalar_subquery()
)


def in_force(session: Session) -> Agreement | None:
    """The newest fully signed version, in one query."""
    document = session.connection().scalar(_IN_FORCE)  # Core: the ORM path costs more than the query
    return parse_document(document) if document is not None else None


def require_in_force(session: Session) -> Agreement:
    agreement = in_force(session)
    if agreement is None:
        raise Conflict(
            "no agreement is in force: propose one (POST /v1/agreements) and have every listed party sign it"
        )
    return agreement
