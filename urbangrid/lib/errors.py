"""Domain errors raised by actions; the API, pages and commands translate them the same way.

Every action validates before it writes, so raising one of these inside ``transaction.atomic``
leaves the database unchanged.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: a clear, user-facing message (already translated) plus an HTTP status."""

    status = 400
    code = "invalid"

    def __init__(self, message: Any, *, field: str | None = None, details: Any = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.field:
            body["field"] = self.field
        if self.details is not None:
            body["details"] = self.details
        return body


class InvalidInput(DomainError):
    """Malformed or unacceptable input (400/422)."""

    status = 400
    code = "invalid"


class PermissionDenied(DomainError):
    """The actor may see the object but may not perform this action (403)."""

    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """Missing, or outside the actor's jurisdiction: the two are answered alike (404)."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    """A concurrent change won, or the transition is not allowed from the current state (409)."""

    status = 409
    code = "conflict"
