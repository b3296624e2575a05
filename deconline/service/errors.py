"""Errors a use case raises; the API maps each to its HTTP status with the message as is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled whatever a subclass's ``__init__`` takes: the filing desk answers with it."""
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(cls: type[ServiceError], args: tuple[Any, ...], state: dict[str, Any]) -> ServiceError:
    error = Exception.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


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
