"""Errors a use case raises; the API maps each to its HTTP status with the message as is."""

from __future__ import annotations

from collections.abc import Sequence


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """The request is well formed but the state does not allow it (stale version, no agreement...)."""

    status = 409


class Invalid(ServiceError):
    """Input breaks a rule; ``loc`` is the path of the field, as in FastAPI's own 422 answers."""

    status = 422

    def __init__(self, loc: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = list(loc)
