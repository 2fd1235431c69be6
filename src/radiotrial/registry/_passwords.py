"""Argon2id password hashing for user accounts (parameters in ``data/roles.yaml``)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from radiotrial.errors import ValidationError
from radiotrial.registry._roles import account_settings

__all__ = ["check_password_policy", "hash_password", "password_needs_rehash", "verify_password"]


@cache
def _hasher() -> PasswordHasher:
    p = account_settings()["argon2"]
    if p["variant"] != "argon2id":
        raise ValidationError("accounts.argon2.variant", p["variant"], "only argon2id is allowed")
    return PasswordHasher(
        time_cost=int(p["time_cost"]),
        memory_cost=int(p["memory_cost_kib"]),
        parallelism=int(p["parallelism"]),
        hash_len=int(p["hash_len"]),
        salt_len=int(p["salt_len"]),
        type=Type.ID,
    )


def check_password_policy(password: str) -> str:
    """Refuse passwords shorter than the configured minimum (NIST SP 800-63B)."""
    minimum = int(account_settings()["min_password_length"]["value"])
    if not isinstance(password, str) or len(password) < minimum:
        raise ValidationError("password", "***", f"must have at least {minimum} characters")
    return password


def hash_password(password: str) -> str:
    """PHC-format Argon2id hash (``$argon2id$v=19$m=…,t=…,p=…$salt$tag``)."""
    return _hasher().hash(check_password_policy(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False on mismatch or an unreadable hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the stored hash used weaker parameters than the current ones."""
    return _hasher().check_needs_rehash(password_hash)
