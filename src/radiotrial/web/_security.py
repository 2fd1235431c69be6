"""Request hygiene: CSRF tokens, per-client rate limits, body-size limit, security headers.

CSRF uses the signed double-submit pattern (OWASP CSRF Prevention Cheat Sheet): a random value
in an HttpOnly ``SameSite=Strict`` cookie, and in each form a token that is the HMAC-signed,
timestamped form of that value bound to the form's purpose. A forged cross-site post has neither
the cookie nor a token that verifies against it. The token's random part doubles as the
idempotency key of a submission, so a double click cannot file the same request twice.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.exceptions import HTTPException

__all__ = [
    "CSRF_COOKIE",
    "BodyLimitMiddleware",
    "CsrfError",
    "CsrfSigner",
    "RateLimiter",
    "SecurityHeadersMiddleware",
    "security_headers",
]

CSRF_COOKIE: Final = "rt_csrf"


class CsrfError(Exception):
    """The form's CSRF token is missing, expired, forged or bound to another cookie or form."""


@dataclass(frozen=True)
class CsrfToken:
    """A verified token: its nonce is unique per rendered form."""

    nonce: str


class CsrfSigner:
    """Issue and verify CSRF tokens bound to a cookie value and a form purpose."""

    def __init__(self, secret_key: str, max_age_s: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="radiotrial.csrf")
        self._max_age_s = max_age_s

    @staticmethod
    def new_cookie_value() -> str:
        return secrets.token_urlsafe(32)

    def issue(self, cookie_value: str, purpose: str) -> str:
        """A fresh token for one rendering of the form ``purpose``."""
        return self._serializer.dumps([cookie_value, purpose, secrets.token_urlsafe(16)])

    def verify(self, token: str | None, cookie_value: str | None, purpose: str) -> CsrfToken:
        """Check ``token``; raise :class:`CsrfError` with the reason when it fails."""
        if not token or not cookie_value:
            raise CsrfError("missing token or cookie")
        try:
            data = self._serializer.loads(token, max_age=int(self._max_age_s))
        except SignatureExpired as exc:
            raise CsrfError("expired token") from exc
        except BadSignature as exc:
            raise CsrfError("invalid token") from exc
        if (
            not isinstance(data, list)
            or len(data) != 3
            or not all(isinstance(part, str) for part in data)
        ):
            raise CsrfError("malformed token")
        if not secrets.compare_digest(data[0], cookie_value) or data[1] != purpose:
            raise CsrfError("token does not match this session or form")
        return CsrfToken(nonce=data[2])


class RateLimiter:
    """Sliding-window counter per key (client address), thread-safe, bounded in memory.

    Parameters
    ----------
    limit : int
        Events allowed per key within ``window_s``.
    window_s : float
        Window length in seconds.
    max_keys : int
        Keys remembered at most; the least recently used are forgotten first.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        events = [t for t in self._events.get(key, ()) if now - t < self.window_s]
        self._events[key] = events
        self._events.move_to_end(key)
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)
        return events

    def hit(self, key: str) -> float | None:
        """Record one event; return None if allowed, else the seconds until the next slot."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            if len(events) >= self.limit:
                return self.window_s - (now - events[0])
            events.append(now)
            return None

    def blocked_for(self, key: str) -> float | None:
        """Seconds until ``key`` may act again, without recording an event."""
        with self._lock:
            now = self._clock()
            events = self._recent(key, now)
            return self.window_s - (now - events[0]) if len(events) >= self.limit else None

    def reset(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimitMiddleware:
    """ASGI middleware answering 413 when a body exceeds ``max_bytes``.

    Checks ``Content-Length`` up front and counts streamed bytes as well, so a chunked upload
    without a length cannot get past it: the overflow raises an HTTP 413 exception inside the
    handler that reads the body, which the app's error handlers render.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, send: Send) -> None:
        body = b"413 Request body too large"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = max_bytes + 1
                if declared > max_bytes:
                    await self._reject(send)
                    return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(413, "request body too large")
            return message

        await self.app(scope, counting_receive, send)


class SecurityHeadersMiddleware:
    """Pure ASGI middleware adding ``headers`` to every HTTP response that lacks them.

    Pure ASGI (not ``BaseHTTPMiddleware``) so that exceptions raised while a handler reads the
    body reach the app's exception handlers unwrapped.
    """

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def security_headers(production: bool) -> dict[str, str]:
    """Headers added to every response (HSTS only in production, behind TLS)."""
    headers = dict(SECURITY_HEADERS)
    if production:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers
