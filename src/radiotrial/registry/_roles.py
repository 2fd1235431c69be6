"""Roles and the permission matrix (``data/roles.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from radiotrial.errors import ValidationError
from radiotrial.registry._errors import PermissionDeniedError

__all__ = [
    "Actor",
    "PermissionMatrix",
    "account_settings",
    "permission_matrix",
    "require_permission",
]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the account name, its role and display name (for signatures)."""

    username: str
    role: str
    full_name: str = ""

    def __post_init__(self) -> None:
        if self.role not in permission_matrix().roles:
            raise ValidationError(
                "role", self.role, f"unknown role; known: {', '.join(permission_matrix().roles)}"
            )


@dataclass(frozen=True)
class PermissionMatrix:
    """Actions, roles and the grants of each role."""

    actions: dict[str, str]
    roles: dict[str, frozenset[str]]
    descriptions: dict[str, str]

    def allows(self, role: str, action: str) -> bool:
        """True when ``role`` is granted ``action``."""
        if action not in self.actions:
            raise ValidationError(
                "action", action, f"unknown action; known: {', '.join(sorted(self.actions))}"
            )
        if role not in self.roles:
            raise ValidationError("role", role, f"unknown role; known: {', '.join(self.roles)}")
        return action in self.roles[role]

    def table(self) -> dict[str, dict[str, bool]]:
        """The full matrix, ``{role: {action: allowed}}``."""
        return {r: {a: a in g for a in self.actions} for r, g in self.roles.items()}


def _load() -> dict[str, Any]:
    text = resources.files("radiotrial.data").joinpath("roles.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValidationError("roles.yaml", ..., "must be a mapping")
    return data


@cache
def permission_matrix() -> PermissionMatrix:
    """The permission matrix from ``data/roles.yaml`` (loaded once, on first use)."""
    data = _load()
    actions = {str(k): str(v) for k, v in data["actions"].items()}
    roles: dict[str, frozenset[str]] = {}
    descriptions: dict[str, str] = {}
    for name, spec in data["roles"].items():
        grants = frozenset(str(g) for g in spec["grants"])
        unknown = sorted(grants - set(actions))
        if unknown:
            raise ValidationError(f"roles.{name}.grants", unknown, "unknown actions")
        roles[str(name)] = grants
        descriptions[str(name)] = str(spec.get("description", ""))
    return PermissionMatrix(actions, roles, descriptions)


@cache
def account_settings() -> dict[str, Any]:
    """Password hashing parameters and policy (``accounts`` in ``data/roles.yaml``)."""
    accounts = _load()["accounts"]
    if not isinstance(accounts, dict):
        raise ValidationError("roles.yaml accounts", ..., "must be a mapping")
    return accounts


def require_permission(actor: Actor, action: str) -> None:
    """Raise :class:`PermissionDeniedError` unless the actor's role grants ``action``."""
    if not permission_matrix().allows(actor.role, action):
        raise PermissionDeniedError(actor.role, action, actor.username)
