"""The FastAPI application factory."""

from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from radiotrial.errors import RadiotrialError, ValidationError
from radiotrial.protocol import Protocol, bundled_protocol, load_protocol
from radiotrial.registry import (
    AuthenticationError,
    ConflictError,
    PermissionDeniedError,
    RecordNotFoundError,
)
from radiotrial.services import ServiceContext
from radiotrial.web._api import auth_router
from radiotrial.web._api_records import records_router as api_records_router
from radiotrial.web._api_requests import requests_router as api_requests_router
from radiotrial.web._api_review import review_router as api_review_router
from radiotrial.web._api_safety import safety_router as api_safety_router
from radiotrial.web._api_subjects import subjects_router as api_subjects_router
from radiotrial.web._auth import SessionStore, TokenSigner
from radiotrial.web._context import WebContext
from radiotrial.web._facts import public_facts
from radiotrial.web._forms import N_
from radiotrial.web._i18n import LANGUAGES, countries, negotiate, translator
from radiotrial.web._mail import Mailer
from radiotrial.web._portal import portal_router
from radiotrial.web._ports import Backend
from radiotrial.web._render import Renderer, language_of_path
from radiotrial.web._security import (
    BodyLimitMiddleware,
    CsrfSigner,
    RateLimiter,
    SecurityHeadersMiddleware,
    security_headers,
)
from radiotrial.web._services import ServicesBackend, service_context
from radiotrial.web._settings import WebSettings, get_settings
from radiotrial.web._staff import StaffState, staff_language, staff_router
from radiotrial.web._staff_account import account_router
from radiotrial.web._staff_dosimetry import dosimetry_router
from radiotrial.web._staff_escalation import escalation_router
from radiotrial.web._staff_outbox import outbox_router
from radiotrial.web._staff_records import records_router
from radiotrial.web._staff_requests import requests_router
from radiotrial.web._staff_safety import safety_router

__all__ = ["create_app", "load_settings"]

log = logging.getLogger("radiotrial.web")


def load_settings(**overrides: Any) -> WebSettings:
    """Settings from the environment with ``overrides``; errors as :class:`ValidationError`."""
    try:
        return WebSettings(**overrides)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ValidationError(
            f"RADIOTRIAL_{field.upper()}" if field != "settings" else field,
            ...,
            first["msg"].removeprefix("Value error, "),
        ) from exc


def _status_text(status: int) -> str:
    # message ids; translated in the error template
    return {
        400: N_("The request could not be read. Please go back and try again."),
        401: N_("Please sign in."),
        403: N_("You do not have access to this page."),
        404: N_("This page does not exist."),
        405: N_("This action is not available here."),
        413: N_("What you sent is too large."),
        415: N_("What you sent is in a format this site does not accept."),
        422: N_("Some answers need correcting."),
        429: N_("Too many requests from your connection. Please wait a few minutes and try again."),
    }.get(status, N_("Something went wrong on our side. Please try again later."))


def create_app(
    settings: WebSettings | None = None,
    *,
    backend: Backend | None = None,
    protocol: Protocol | None = None,
) -> FastAPI:
    """Build the radiotrial web application.

    Parameters
    ----------
    settings : WebSettings, optional
        Configuration; default :func:`get_settings` (the ``RADIOTRIAL_*`` environment).
    backend : Backend, optional
        The portal's ports; default: :class:`ServicesBackend` on ``settings.db_url`` (the
        schema must exist: ``radiotrial db upgrade`` or ``radiotrial serve``). Tests of the
        public portal alone may pass a :class:`MemoryBackend`.
    protocol : Protocol, optional
        The trial protocol; default ``settings.protocol_file`` or the bundled protocol.

    Returns
    -------
    fastapi.FastAPI
        The ASGI app. Nothing is read or connected at import time; this call loads the
        protocol, compiles the catalogues and prepares the templates.
    """
    settings = settings or get_settings()
    if protocol is None:
        protocol = (
            load_protocol(settings.protocol_file) if settings.protocol_file else bundled_protocol()
        )
    services: ServiceContext | None = None
    if backend is None:
        services = service_context(settings, protocol)
        backend = ServicesBackend(services)
    elif isinstance(backend, ServicesBackend):
        services = backend.ctx
    for lang in LANGUAGES:
        translator(lang)  # compile catalogues now: a broken .po fails at start, not per request
    facts = public_facts(protocol)
    ctx = WebContext(
        settings=settings,
        protocol=protocol,
        facts=facts,
        backend=backend,
        mailer=Mailer(settings.smtp, settings.mail_from, backend),
        csrf=CsrfSigner(settings.signing_key(), settings.csrf_max_age_s),
        form_limiter=RateLimiter(settings.form_rate_limit, settings.form_rate_window_s),
        renderer=Renderer(),
        country_codes=frozenset(code for code, _ in countries("en")),
    )
    production = settings.mode == "production"
    app = FastAPI(
        title="radiotrial",
        version="0.1.0",
        summary=f"Trial platform: {protocol.title}",
        docs_url=None,  # Swagger UI loads scripts from a CDN: refused by our CSP, and offline
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.web = ctx
    app.state.services = services
    app.state.settings = settings
    static = resources.files("radiotrial.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    if services is not None:
        app.state.staff = StaffState(
            services,
            SessionStore(settings.session_idle_s, settings.session_max_s),
            RateLimiter(settings.login_max_failures, settings.login_lockout_s),
        )
        app.state.token_signer = TokenSigner(settings.signing_key(), settings.api_token_s)
    for router in (auth_router, api_subjects_router, api_safety_router, api_review_router,
                   api_requests_router, api_records_router):  # fmt: skip
        app.include_router(router)
    app.include_router(account_router)
    app.include_router(requests_router)
    app.include_router(outbox_router)
    app.include_router(staff_router)
    app.include_router(dosimetry_router)
    app.include_router(safety_router)
    app.include_router(escalation_router)
    app.include_router(records_router)
    app.include_router(portal_router)  # last: its /{lang}/{page} pattern is the broadest
    _install_error_pages(app, ctx)
    app.add_middleware(SecurityHeadersMiddleware, headers=security_headers(production))
    # added last = outermost user middleware: oversize bodies are refused before any parsing
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    return app


_DOMAIN_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (PermissionDeniedError, 403),
    (AuthenticationError, 403),
    (RecordNotFoundError, 404),
    (ConflictError, 409),
)


def _install_error_pages(app: FastAPI, ctx: WebContext) -> None:
    def page(
        request: Request,
        status: int,
        headers: dict[str, str] | None = None,
        detail: str | None = None,
    ) -> Response:
        path = request.url.path
        if path.startswith("/api/"):
            return JSONResponse({"detail": detail or _status_text(status)}, status, headers=headers)
        if path.startswith("/staff"):
            if status == 401:
                return RedirectResponse("/staff/login", status_code=303)
            if status == 303 and headers and "Location" in headers:  # one-time password
                return RedirectResponse(headers["Location"], status_code=303)
            return ctx.renderer.response(
                request,
                staff_language(request),
                "staff/error.html",
                {
                    "status": status,
                    "detail": detail or _status_text(status),
                    "facts": ctx.facts,
                    "session": None,
                },
                status_code=status,
                headers=headers,
            )
        lang = language_of_path(path) or negotiate(request.headers.get("accept-language"))
        return ctx.renderer.response(
            request,
            lang,
            "error.html",
            {"status": status, "message": _status_text(status), "facts": ctx.facts},
            status_code=status,
            headers=headers,
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return page(request, exc.status_code, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, 422)
        return page(request, 400)

    @app.exception_handler(RadiotrialError)
    async def _domain(request: Request, exc: RadiotrialError) -> Response:
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)
        status = next((code for kind, code in _DOMAIN_STATUS if isinstance(exc, kind)), 422)
        # staff and API clients are signed in: the message names the field, value and rule
        return page(request, status, detail=str(exc))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return page(request, 500)
