"""Staff authentication: server-side sessions, idle timeout, login throttling, API tokens.

Passwords are checked by :func:`radiotrial.services.authenticate` (Argon2id hashes in the
registry). A browser session is a random 256-bit id in an HttpOnly, SameSite=Strict cookie
(Secure in production) pointing at a server-side record, so logout and the idle timeout
really end it (OWASP Session Management Cheat Sheet). Programmatic clients exchange a password
for a signed, time-limited bearer token.

Both carry the account's ``auth_epoch`` from sign-in, and every request compares it with the
registry's (:func:`live_account`): after a password change, a role change or deactivation the
old sessions and tokens are refused at once, not when they expire.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from radiotrial.registry import Actor, permission_matrix
from radiotrial.services import Account, ServiceContext, current_account

__all__ = [
    "SESSION_COOKIE",
    "SessionStore",
    "StaffSession",
    "TokenSigner",
    "allowed",
    "live_account",
]

SESSION_COOKIE: Final = "rt_session"


def allowed(actor: Actor, action: str) -> bool:
    """Whether ``actor``'s role grants ``action`` (``data/roles.yaml``)."""
    return permission_matrix().allows(actor.role, action)


def live_account(ctx: ServiceContext, actor: Actor, auth_epoch: int) -> Account | None:
    """The account behind a session or token if it still stands for what it was issued for:
    active, same role and name, same ``auth_epoch`` (None: refuse the credential)."""
    account = current_account(ctx, actor.username)
    if account is None or account.actor != actor or account.auth_epoch != auth_epoch:
        return None
    return account


@dataclass
class StaffSession:
    """One signed-in browser."""

    id: str
    actor: Actor
    auth_epoch: int
    created: float
    last_seen: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    must_change_password: bool = False
    """Signed in with a one-time password: only the password change page is open."""


class SessionStore:
    """In-process session records with idle and absolute timeouts (thread-safe).

    One server process holds the sessions; a restart signs everyone out, which is the safe
    failure for a clinical application.
    """

    def __init__(
        self, idle_s: float, max_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.idle_s = idle_s
        self.max_s = max_s
        self._clock = clock
        self._sessions: dict[str, StaffSession] = {}
        self._lock = threading.Lock()

    def create(
        self, actor: Actor, auth_epoch: int = 0, *, must_change_password: bool = False
    ) -> StaffSession:
        now = self._clock()
        session = StaffSession(
            secrets.token_urlsafe(32), actor, auth_epoch, now, now,
            must_change_password=must_change_password,
        )  # fmt: skip
        with self._lock:
            self._purge(now)
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str | None) -> StaffSession | None:
        """The live session for ``session_id`` (touching it), or None if unknown or expired."""
        if not session_id:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if now - session.last_seen > self.idle_s or now - session.created > self.max_s:
                del self._sessions[session_id]
                return None
            session.last_seen = now
            return session

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def _purge(self, now: float) -> None:
        dead = [
            sid
            for sid, s in self._sessions.items()
            if now - s.last_seen > self.idle_s or now - s.created > self.max_s
        ]
        for sid in dead:
            del self._sessions[sid]


class TokenSigner:
    """Bearer tokens: the signed username, role, name and ``auth_epoch``, valid for
    ``max_age_s`` (and only while the epoch is the account's: :func:`live_account`)."""

    def __init__(self, secret_key: str, max_age_s: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="radiotrial.api-token")
        self.max_age_s = max_age_s

    def issue(self, actor: Actor, auth_epoch: int = 0) -> str:
        return self._serializer.dumps([actor.username, actor.role, actor.full_name, auth_epoch])

    def verify(self, token: str) -> tuple[Actor, int] | None:
        """The token's actor and epoch, or None when forged, malformed or expired."""
        try:
            data = self._serializer.loads(token, max_age=int(self.max_age_s))
        except (SignatureExpired, BadSignature):
            return None
        if not (
            isinstance(data, list)
            and len(data) == 4
            and all(isinstance(x, str) for x in data[:3])
            and type(data[3]) is int
        ):
            return None
        try:
            return Actor(data[0], data[1], data[2]), data[3]
        except ValueError:
            return None
