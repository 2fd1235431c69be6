"""Errors raised by the registry and the services that use it."""

from __future__ import annotations

from typing import Any

from radiotrial.errors import RadiotrialError, ValidationError

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DuplicateSubjectError",
    "PermissionDeniedError",
    "RecordNotFoundError",
    "SchemaError",
    "VaultError",
    "WorkflowError",
]


class PermissionDeniedError(RadiotrialError, PermissionError):
    """The acting user's role does not grant the action (see ``data/roles.yaml``)."""

    def __init__(self, role: str, action: str, user: str | None = None) -> None:
        self.role = role
        self.action = action
        who = f"user {user!r} (role {role})" if user else f"role {role!r}"
        super().__init__(f"{who} may not perform {action!r}")


class AuthenticationError(RadiotrialError, PermissionError):
    """Unknown user, inactive account or wrong password (deliberately not saying which)."""


class WorkflowError(ValidationError):
    """An illegal status transition or a step out of order (names subject, status and rule)."""


class RecordNotFoundError(RadiotrialError, LookupError):
    """A subject, user or record does not exist."""

    def __init__(self, kind: str, key: Any) -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found")


class DuplicateSubjectError(RadiotrialError, ValueError):
    """The identity's keyed hash matches a person already in the registry."""

    def __init__(self, existing: str, basis: str) -> None:
        self.existing = existing
        self.basis = basis
        super().__init__(f"this person is already registered as {existing} (same {basis})")


class ConflictError(RadiotrialError, RuntimeError):
    """A concurrent change won (stale record version, slot already taken, cohort full)."""


class VaultError(RadiotrialError, ValueError):
    """The vault key is missing or invalid, or a ciphertext fails authentication."""


class SchemaError(RadiotrialError, RuntimeError):
    """The database has no registry schema, or an older one (run ``radiotrial db upgrade``)."""
