"""Everything a request handler needs, built once by the app factory."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from starlette.requests import Request

from radiotrial.protocol import Protocol
from radiotrial.web._facts import PublicFacts
from radiotrial.web._mail import Mailer
from radiotrial.web._ports import Backend
from radiotrial.web._render import Renderer
from radiotrial.web._security import CsrfSigner, RateLimiter
from radiotrial.web._settings import WebSettings

__all__ = ["WebContext", "client_address", "context_of"]


@dataclass
class WebContext:
    settings: WebSettings
    protocol: Protocol
    facts: PublicFacts
    backend: Backend
    mailer: Mailer
    csrf: CsrfSigner
    form_limiter: RateLimiter
    renderer: Renderer
    country_codes: frozenset[str]
    page_cache: dict[tuple[str, ...], str] = field(default_factory=dict)
    mail_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="radiotrial-mail")
    )
    """Threads that send notices after the response (two: a slow SMTP server delays mail,
    never requests)."""
    """Rendered pages that differ per request only by a placeholder (the blank forms)."""


def context_of(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def client_address(request: Request, trust_forwarded_for: bool) -> str:
    """The client's address for rate limiting (first X-Forwarded-For hop only behind a proxy)."""
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            return first[:64]
    return request.client.host if request.client else "unknown"
