"""The public portal: plain-language pages and the two request forms, in Chinese and English."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final
from urllib.parse import parse_qsl

from fastapi import APIRouter, BackgroundTasks, Request
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from radiotrial.web._context import WebContext, client_address, context_of
from radiotrial.web._forms import (
    CONSENTS,
    CONSULTATION_TOPICS,
    CONTACT_CHANNELS,
    CONTACT_TIMES,
    LANGUAGE_CHOICES,
    MEDICAL_QUESTIONS,
    REQUESTER_TYPES,
    YES_NO_NOT_SURE,
    FormResult,
    time_zones,
    validate_form,
)
from radiotrial.web._i18n import LANGUAGES, Lang, countries, negotiate
from radiotrial.web._mail import (
    first_response_days,
    investigator_notice,
    requester_confirmation,
    responsible_contacts,
)
from radiotrial.web._ports import PortalRequest, Receipt, RequestKind
from radiotrial.web._security import CSRF_COOKIE, CsrfError

__all__ = ["portal_router"]

log = logging.getLogger("radiotrial.web.portal")

portal_router = APIRouter(include_in_schema=False)

PAGES: Final = {
    "": "portal/home.html",
    "treatment": "portal/treatment.html",
    "who-can-join": "portal/who_can_join.html",
    "taking-part": "portal/taking_part.html",
    "contact": "portal/contact.html",
    "privacy": "portal/privacy.html",
}
FORMS: Final[dict[str, RequestKind]] = {
    "prescreening": "prescreening",
    "consultation": "consultation",
}
MAX_FIELDS: Final = 64


@cache
def _option_tags(items: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Escaped ``<option>`` tags of a long select list (built once: hundreds of entries)."""
    return tuple(
        (code, f'<option value="{escape(code)}">{escape(label)}</option>') for code, label in items
    )


def select_options(items: tuple[tuple[str, str], ...], selected: str | None) -> Markup:
    """The options of ``items`` with ``selected`` marked, as safe HTML."""
    parts = []
    for code, tag in _option_tags(items):
        if code == selected:
            tag = tag.replace("<option ", "<option selected ", 1)
        parts.append(tag)
    return Markup("".join(parts))


def _lang(value: str) -> Lang:
    for lang in LANGUAGES:
        if value == lang:
            return lang
    raise HTTPException(404)


@portal_router.get("/")
def root(request: Request) -> Response:
    """Send the visitor to the language their browser prefers (Accept-Language)."""
    lang = negotiate(request.headers.get("accept-language"))
    return RedirectResponse(f"/{lang}/", status_code=303, headers={"Vary": "Accept-Language"})


@portal_router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _page_context(ctx: WebContext) -> dict[str, Any]:
    return {"facts": ctx.facts, "response_days": first_response_days()}


@portal_router.get("/{lang}/")
def home(request: Request, lang: str) -> Response:
    ctx = context_of(request)
    return ctx.renderer.response(request, _lang(lang), PAGES[""], _page_context(ctx))


@portal_router.get("/{lang}/{page}")
def page(request: Request, lang: str, page: str) -> Response:
    ctx = context_of(request)
    language = _lang(lang)
    if page in FORMS:
        return _form_response(request, ctx, language, FORMS[page], None, status_code=200)
    template = PAGES.get(page)
    if template is None or not page:
        raise HTTPException(404)
    return ctx.renderer.response(request, language, template, _page_context(ctx))


def _form_response(
    request: Request,
    ctx: WebContext,
    lang: Lang,
    kind: RequestKind,
    result: FormResult | None,
    *,
    status_code: int,
    banner: str | None = None,
) -> Response:
    cookie = request.cookies.get(CSRF_COOKIE)
    new_cookie = cookie is None or len(cookie) > 128
    if new_cookie:
        cookie = ctx.csrf.new_cookie_value()
    assert cookie is not None
    token = ctx.csrf.issue(cookie, kind)
    fresh = result is None and banner is None and status_code == 200
    key = (lang, kind, request.url.path)
    if fresh and key in ctx.page_cache:
        # a blank form differs per request only by its CSRF token: render once, fill it in
        # (the template autoescapes the token; it is URL-safe base64 and needs no escaping)
        html = ctx.page_cache[key].replace(_TOKEN_SLOT, token)
        response: Response = HTMLResponse(html, headers={"Cache-Control": "no-store"})
    else:
        response = _render_form(request, ctx, lang, kind, result, status_code, banner, token)
        if fresh:
            blank = _render_form(request, ctx, lang, kind, None, 200, None, _TOKEN_SLOT)
            ctx.page_cache[key] = bytes(blank.body).decode("utf-8")
    if new_cookie:
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            max_age=int(ctx.settings.csrf_max_age_s),
            httponly=True,
            secure=ctx.settings.cookies_secure,
            samesite="strict",
            path="/",
        )
    return response


_TOKEN_SLOT: Final = "RT-CSRF-TOKEN-SLOT-7f3c9a"


def _render_form(
    request: Request,
    ctx: WebContext,
    lang: Lang,
    kind: RequestKind,
    result: FormResult | None,
    status_code: int,
    banner: str | None,
    token: str,
) -> HTMLResponse:
    values = result.values if result else {}
    context = {
        **_page_context(ctx),
        "kind": kind,
        "csrf_token": token,
        "values": values,
        "errors": result.errors if result else {},
        "banner": banner,
        "requester_types": REQUESTER_TYPES,
        "contact_channels": CONTACT_CHANNELS,
        "contact_times": CONTACT_TIMES,
        "language_choices": LANGUAGE_CHOICES,
        "yes_no_not_sure": YES_NO_NOT_SURE,
        "medical_questions": MEDICAL_QUESTIONS if kind == "prescreening" else (),
        "topics": CONSULTATION_TOPICS,
        "consents": CONSENTS,
        "country_options": select_options(countries(lang), values.get("country")),
        "time_zone_options": select_options(
            tuple((tz, tz) for tz in time_zones()), values.get("time_zone") or ctx.facts.time_zone
        ),
        "detect_time_zone": not values.get("time_zone"),
    }
    return ctx.renderer.response(
        request,
        lang,
        "portal/form.html",
        context,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


async def _read_form(request: Request, *, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """Strictly parse an ``application/x-www-form-urlencoded`` UTF-8 body.

    Starlette's parser replaces undecodable bytes with U+FFFD; a request form must arrive intact,
    so malformed percent-encoding of UTF-8, repeated fields or more than ``max_fields`` fields
    answer 400.
    """
    content_type = request.headers.get("content-type", "")
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "application/x-www-form-urlencoded":
        raise HTTPException(415, "use application/x-www-form-urlencoded")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params else "utf-8"
    if charset not in ("utf-8", "utf8", ""):
        raise HTTPException(415, "only UTF-8 forms are accepted")
    body = await request.body()
    try:
        pairs = parse_qsl(
            body.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "malformed form encoding") from exc
    data: dict[str, str] = {}
    for key, value in pairs:
        if key in data:
            raise HTTPException(400, "repeated form field")
        data[key] = value
    return data


def _notify(ctx: WebContext, request: PortalRequest, receipt: Receipt) -> None:
    """Send the investigators' notices and the requester's confirmation (after the response)."""
    base = ctx.settings.public_base_url.rstrip("/")
    staff_url = f"{base}/staff/requests/{receipt.reference}"
    contacts = responsible_contacts(ctx.facts, request)
    mails = [investigator_notice(ctx.facts, request, receipt, c, staff_url) for c in contacts]
    reply_to = next((c.email for c in contacts), None)
    confirmation = requester_confirmation(ctx.facts, request, receipt, reply_to)
    if confirmation is not None:
        mails.append(confirmation)
    ctx.mailer.send_all(mails)


async def _notify_in_mail_thread(ctx: WebContext, request: PortalRequest, receipt: Receipt) -> None:
    """Run :func:`_notify` on the mail threads, not the request thread pool: SMTP round trips
    and outbox fsyncs then never hold a worker that a registration is waiting for."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(ctx.mail_executor, _notify, ctx, request, receipt)


@portal_router.post("/{lang}/{form}")
async def submit(request: Request, lang: str, form: str, tasks: BackgroundTasks) -> Response:
    ctx = context_of(request)
    language = _lang(lang)
    kind = FORMS.get(form)
    if kind is None:
        raise HTTPException(405)
    # the limit counts requests filed, not attempts: a person correcting a mistyped field is
    # never throttled for it, while a client filing request after request is
    client = client_address(request, ctx.settings.trust_forwarded_for)
    wait_s = ctx.form_limiter.blocked_for(client)
    if wait_s is not None:
        raise HTTPException(429, headers={"Retry-After": str(max(1, int(wait_s + 0.5)))})
    data = await _read_form(request)
    try:
        token = ctx.csrf.verify(data.get("csrf_token"), request.cookies.get(CSRF_COOKIE), kind)
    except CsrfError as exc:
        log.warning("refused %s form: %s", kind, exc)
        return _form_response(
            request,
            ctx,
            language,
            kind,
            None,
            status_code=403,
            banner="csrf",
        )
    result = validate_form(
        kind, data, country_codes=ctx.country_codes, trial_country=ctx.facts.country_code
    )
    if not result.ok:
        return _form_response(request, ctx, language, kind, result, status_code=422)
    portal_request = PortalRequest(
        kind=kind,
        requester_type=result.requester_type,
        language=language,
        identity=result.identity,
        answers=result.answers,
        consents=result.consents,
        submitted_at=datetime.now(UTC),
        idempotency_key=token.nonce,
    )
    receipt = await run_in_threadpool(ctx.backend.submit_request, portal_request)
    if receipt.created:
        ctx.form_limiter.hit(client)  # a repeat of the same form (double click) is not counted
        tasks.add_task(_notify_in_mail_thread, ctx, portal_request, receipt)
    log.info("%s request %s filed (new=%s)", kind, receipt.reference, receipt.created)
    contacts = responsible_contacts(ctx.facts, portal_request)
    return ctx.renderer.response(
        request,
        language,
        "portal/confirmation.html",
        {
            **_page_context(ctx),
            "kind": kind,
            "receipt": receipt,
            "email_sent": "email" in result.identity,
            "reply_to": contacts[0].email if contacts else None,
        },
        headers={"Cache-Control": "no-store"},
    )
