"""User accounts: create, authenticate, change password or role, deactivate.

An account created with a generated one-time password is marked ``password_change_required``;
the web app lets it do nothing but choose its own password (:func:`change_password`).
Changing the password or the role, or deactivating the account, increments its
``auth_epoch``: the web app's sessions and API tokens carry the epoch they were issued in
(:func:`sign_in`) and are refused once :func:`current_account` reports another.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    Actor,
    AuthenticationError,
    User,
    append_audit,
    hash_password,
    password_needs_rehash,
    permission_matrix,
    require_permission,
    verify_password,
)
from radiotrial.registry._audit import audited_create, audited_update
from radiotrial.services._context import PORTAL, ServiceContext

__all__ = [
    "Account",
    "authenticate",
    "change_password",
    "change_role",
    "create_user",
    "current_account",
    "deactivate_user",
    "password_change_required",
    "sign_in",
]

BOOTSTRAP = Actor("bootstrap", "admin", "first administrator set-up")
SYSTEM_ROLES = frozenset({PORTAL, "retention"})  # act in the code, never sign in


def create_user(
    ctx: ServiceContext,
    actor: Actor | None,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    one_time: bool = False,
) -> Actor:
    """Create an account (Argon2id password hash). ``actor=None`` only for the first admin.

    ``one_time``: the password was generated and shown once; it must be changed at the first
    sign-in.
    """
    if role not in permission_matrix().roles or role in SYSTEM_ROLES:
        raise ValidationError(
            "role", role, "unknown role (portal and retention are system roles, not logins)"
        )
    if not username.strip() or len(username) > 64:
        raise ValidationError("username", username, "must be 1-64 characters")
    password_hash = hash_password(password)
    with ctx.registry.write() as session:
        n_users = session.execute(sa.select(sa.func.count(User.id))).scalar_one()
        if actor is None:
            if n_users or role != "admin":
                raise AuthenticationError(
                    "only the first account (an admin) may be created without an acting user"
                )
            actor = BOOTSTRAP
        else:
            require_permission(actor, "user.manage")
        exists = session.execute(sa.select(User.id).where(User.username == username)).first()
        if exists:
            raise ValidationError("username", username, "already taken")
        user = User(
            username=username,
            full_name=full_name,
            role=role,
            password_hash=password_hash,
            active=True,
            password_change_required=one_time,
        )
        audited_create(session, actor, user)
    return Actor(username, role, full_name)


@dataclass(frozen=True)
class Account:
    """A signed-in account as the web app checks it on each request."""

    actor: Actor
    auth_epoch: int
    password_change_required: bool


def _account(user: User) -> Account:
    return Account(
        Actor(user.username, user.role, user.full_name),
        user.auth_epoch,
        user.password_change_required,
    )


def sign_in(ctx: ServiceContext, username: str, password: str) -> Account:
    """Check the password; the account with its current epoch. One error for every failure."""
    with ctx.registry.write() as session:
        user = session.execute(
            sa.select(User).where(User.username == username)
        ).scalar_one_or_none()
        if user is None or not user.active or not verify_password(user.password_hash, password):
            raise AuthenticationError("unknown user, inactive account or wrong password")
        if password_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)  # same password: epoch unchanged
        return _account(user)


def authenticate(ctx: ServiceContext, username: str, password: str) -> Actor:
    """Check the password; returns the acting identity. The same error for every failure."""
    return sign_in(ctx, username, password).actor


def current_account(ctx: ServiceContext, username: str) -> Account | None:
    """The active account ``username`` as it is now (None: unknown or deactivated)."""
    with ctx.registry.read() as session:
        user = session.execute(
            sa.select(User).where(User.username == username, User.active.is_(True))
        ).scalar_one_or_none()
        return None if user is None else _account(user)


def password_change_required(ctx: ServiceContext, username: str) -> bool:
    """Whether ``username`` still has a one-time password (unknown accounts: False)."""
    with ctx.registry.read() as session:
        flag = session.execute(
            sa.select(User.password_change_required).where(User.username == username)
        ).scalar_one_or_none()
    return bool(flag)


def change_password(
    ctx: ServiceContext, actor: Actor, *, current_password: str, new_password: str
) -> int:
    """Replace the acting user's password (the current one re-checked; Argon2id; audited).

    The new password must satisfy the policy and differ from the current one; a one-time
    password is then no longer required to change. Returns the account's new ``auth_epoch``
    (every other session and token of the account is refused from now on).
    """
    if new_password == current_password:
        raise ValidationError("new_password", "***", "must differ from the current password")
    new_hash = hash_password(new_password)  # the policy check, before any write
    with ctx.registry.write() as session:
        user = session.execute(
            sa.select(User).where(User.username == actor.username)
        ).scalar_one_or_none()
        if (
            user is None
            or not user.active
            or not verify_password(user.password_hash, current_password)
        ):
            raise AuthenticationError("the current password is wrong")
        was_required, epoch = user.password_change_required, user.auth_epoch
        user.password_hash = new_hash
        user.password_change_required = False
        user.auth_epoch = epoch + 1  # sessions and tokens signed in before are refused
        # the hash itself is never audited: record that it changed
        append_audit(
            session,
            actor,
            action="update",
            table_name="users",
            record_id=user.id,
            old={"password_hash": "***", "password_change_required": was_required,
                 "auth_epoch": epoch},
            new={"password_hash": "*** (changed)", "password_change_required": False,
                 "auth_epoch": epoch + 1},
            reason="password changed by its owner",
        )  # fmt: skip
    return epoch + 1


def _existing(session: Session, username: str) -> User:
    user = session.execute(sa.select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise ValidationError("username", username, "no such user")
    return user


def deactivate_user(ctx: ServiceContext, actor: Actor, username: str, *, reason: str) -> None:
    """Deactivate an account (accounts are never deleted: the audit trail names them)."""
    require_permission(actor, "user.manage")
    with ctx.registry.write() as session:
        user = _existing(session, username)
        audited_update(
            session, actor, user, {"active": False, "auth_epoch": user.auth_epoch + 1},
            reason=reason,
        )  # fmt: skip


def change_role(
    ctx: ServiceContext, actor: Actor, username: str, role: str, *, reason: str
) -> None:
    """Give an account another role (audited with its reason; signed-in sessions and tokens of
    the account are refused afterwards: they were granted the old role's permissions)."""
    require_permission(actor, "user.manage")
    if role not in permission_matrix().roles or role in SYSTEM_ROLES:
        raise ValidationError("role", role, "unknown role (portal and retention are system roles)")
    with ctx.registry.write() as session:
        user = _existing(session, username)
        if user.role != role:
            audited_update(
                session, actor, user, {"role": role, "auth_epoch": user.auth_epoch + 1},
                reason=reason,
            )  # fmt: skip
