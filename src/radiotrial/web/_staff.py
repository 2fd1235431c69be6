"""The staff application (server-rendered) and its access rules.

Every route names the permission it needs (``data/roles.yaml`` via
:func:`radiotrial.registry.permission_matrix`); anonymous browsers are sent to the login page
and wrong roles get 403. Every state change is a services-layer use case (one transaction with
its audit entries); the forms carry the session's CSRF token.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from radiotrial.errors import ValidationError
from radiotrial.protocol import variable_catalogue
from radiotrial.services import (
    CriterionDecision,
    EvidenceItem,
    ServiceContext,
    decide_eligibility,
    enrol,
    evaluate_subject,
    open_screening,
    record_evidence,
    reveal_identity,
    screening_checklist,
    subject_status,
    take_forward,
)
from radiotrial.web._auth import SESSION_COOKIE, SessionStore, StaffSession, allowed, live_account
from radiotrial.web._context import context_of
from radiotrial.web._i18n import LANGUAGES, Lang
from radiotrial.web._portal import MAX_FIELDS, _read_form
from radiotrial.web._screening import list_subjects
from radiotrial.web._security import RateLimiter

__all__ = [
    "STAFF_LANGUAGE_COOKIE",
    "StaffState",
    "decisions_from_form",
    "site_zone",
    "staff_language",
    "staff_router",
]

log = logging.getLogger("radiotrial.web.staff")
STAFF_LANGUAGE_COOKIE: Final = "rt_staff_lang"


def site_zone(request: Request) -> ZoneInfo:
    """The trial site's clock (protocol ``site.time_zone``): staff type times in it."""
    return ZoneInfo(context_of(request).facts.time_zone)


staff_router = APIRouter(prefix="/staff", include_in_schema=False)


class StaffState:
    """Sessions and login throttles of one app."""

    def __init__(self, services: ServiceContext, sessions: SessionStore, limiter: RateLimiter):
        self.services = services
        self.sessions = sessions
        self.login_limiter = limiter


def _state(request: Request) -> StaffState:
    state: StaffState | None = getattr(request.app.state, "staff", None)
    if state is None:
        raise HTTPException(404)
    return state


def require(action: str, *, during_password_change: bool = False) -> Any:
    """Dependency: a live session whose role grants ``action`` (else login redirect / 403).

    A session signed in with a one-time password is sent to the password change page from
    every route but those marked ``during_password_change``.
    """

    def dependency(request: Request) -> StaffSession:
        state = _state(request)
        session = state.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            raise HTTPException(401)
        account = live_account(state.services, session.actor, session.auth_epoch)
        if account is None:  # password or role changed, or deactivated, since sign-in
            state.sessions.end(session.id)
            raise HTTPException(401)
        if session.must_change_password and not during_password_change:
            raise HTTPException(303, headers={"Location": "/staff/password"})
        if not allowed(session.actor, action):
            raise HTTPException(403)
        return session

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    dependency.action = action  # type: ignore[attr-defined]
    return Depends(dependency)


Reader = Annotated[StaffSession, require("trial.read")]


async def _checked_form(request: Request, session: StaffSession) -> dict[str, str]:
    # the eligibility form carries four fields per criterion (see decisions_from_form)
    elig = _state(request).services.protocol.eligibility
    limit = MAX_FIELDS + 4 * (len(elig.inclusion) + len(elig.exclusion))
    data = await _read_form(request, max_fields=limit)
    if not secrets.compare_digest(data.get("csrf_token", ""), session.csrf):
        raise HTTPException(403)
    return data


def staff_language(request: Request) -> Lang:
    """The staff application's language: the one chosen with the switch, else English."""
    chosen = request.cookies.get(STAFF_LANGUAGE_COOKIE)
    return "zh" if chosen == "zh" else "en"


def _page(request: Request, session: StaffSession | None, name: str, **ctx: Any) -> Response:
    web = context_of(request)
    return web.renderer.response(
        request,
        staff_language(request),
        name,
        {"session": session, "facts": web.facts, "allowed": allowed, **ctx},
        headers={"Cache-Control": "no-store"},
    )


def _back(code: str, note: str | None = None) -> Response:
    target = f"/staff/subjects/{code}" + (f"?note={note}" if note else "")
    return RedirectResponse(target, status_code=303)


@staff_router.get("/language/{lang}")
def choose_language(request: Request, lang: str) -> Response:
    """Switch the staff application's language (a cookie) and go back to the page."""
    if lang not in LANGUAGES:
        raise HTTPException(404)
    target = request.query_params.get("next", "/staff/")
    if not target.startswith("/staff/") or "//" in target or "\\" in target:
        target = "/staff/"  # only back into the staff application: no open redirect
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        STAFF_LANGUAGE_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="strict",
        secure=context_of(request).settings.cookies_secure,
        path="/staff",
    )
    return response


@staff_router.get("/subjects")
def subjects(request: Request, session: Reader) -> Response:
    rows = list_subjects(_state(request).services, session.actor)
    return _page(request, session, "staff/subjects.html", rows=rows)


def _screening_variables(ctx: ServiceContext) -> list[tuple[str, str, Any]]:
    catalogue = variable_catalogue()
    out = []
    for test in ctx.protocol.screening_tests:
        for v in test.variables:
            if v in catalogue:
                out.append((test.id, v, catalogue[v]))
    seen = {v for _, v, _ in out}
    for crit in (*ctx.protocol.eligibility.inclusion, *ctx.protocol.eligibility.exclusion):
        if crit.variable not in seen and crit.variable in catalogue:
            out.append(("", crit.variable, catalogue[crit.variable]))
            seen.add(crit.variable)
    return out


def _subject_page(
    request: Request, session: StaffSession, code: str, identity: dict[str, Any] | None
) -> Response:
    from radiotrial.web._staff_safety import safety_context

    ctx = _state(request).services
    status = subject_status(ctx, session.actor, code)
    result = evaluate_subject(ctx, session.actor, code)
    return _page(
        request,
        session,
        "staff/subject.html",
        s=status,
        checklist=screening_checklist(ctx, session.actor, code),
        overall=result.overall,
        as_of=result.as_of,
        criteria=result.criteria,
        variables=_screening_variables(ctx),
        identity=identity,
        note=None if identity else request.query_params.get("note"),
        timeline=subject_timeline(status),
        **safety_context(ctx, session.actor, code),
    )


@staff_router.get("/subjects/{code}")
def subject_page(request: Request, code: str, session: Reader) -> Response:
    return _subject_page(request, session, code, None)


@staff_router.post("/subjects/{code}/identity")
async def show_identity(
    request: Request, code: str, session: Annotated[StaffSession, require("identity.read")]
) -> Response:
    data = await _checked_form(request, session)
    ctx = _state(request).services
    identity = await run_in_threadpool(
        reveal_identity, ctx, session.actor, code, reason=data.get("reason", "")
    )
    return _subject_page(request, session, code, identity.model_dump(exclude_none=True))


def subject_timeline(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Milestones, administrations, adverse events and DLT adjudications in time order."""
    events: list[dict[str, Any]] = [
        {"at": m["at"], "kind": m["kind"], "what": f"{m['from'] or ''} → {m['to'] or ''}",
         "by": m["by"], "note": m["note"] or ""}
        for m in status["milestones"]
    ]  # fmt: skip
    for c in status["cycles"]:
        events.append(
            {"at": c["administered_at"], "kind": f"cycle {c['cycle']}",
             "what": f"{c['net_activity_mbq']:.0f} MBq administered", "by": "", "note": ""}
        )  # fmt: skip
    for ae in status["adverse_events"]:
        dlt = ae["dlt"]
        verdict = ""
        if dlt is not None:
            verdict = "DLT" if dlt["is_dlt"] else "not a DLT"
            verdict += "" if dlt["current"] else " (void: event changed since)"
        events.append(
            {"at": ae["AESTDTC"], "kind": f"adverse event {ae['AESPID']}",
             "what": f"{ae['AETERM']}, grade {ae['AETOXGR']}, {ae['AEREL']}",
             "by": "", "note": verdict}
        )  # fmt: skip
    return sorted(events, key=lambda e: e["at"])


@staff_router.post("/subjects/{code}/forward")
async def forward(
    request: Request, code: str, session: Annotated[StaffSession, require("screening.open")]
) -> Response:
    data = await _checked_form(request, session)
    ctx = _state(request).services
    note = data.get("note") or None
    if data.get("to") == "screening":
        await run_in_threadpool(open_screening, ctx, session.actor, code, note=note)
    else:
        await run_in_threadpool(take_forward, ctx, session.actor, code, note=note)
    return _back(code)


def _parse_value(raw: str, kind: str) -> float | str | bool:
    raw = raw.strip()
    if kind in ("numeric", "score"):
        try:
            return float(raw)
        except ValueError:
            raise ValidationError("value", raw, "a number is needed") from None
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValidationError("value", raw, "true or false")
        return raw == "true"
    return raw


@staff_router.post("/subjects/{code}/evidence")
async def add_evidence(
    request: Request, code: str, session: Annotated[StaffSession, require("evidence.record")]
) -> Response:
    data = await _checked_form(request, session)
    ctx = _state(request).services
    variable = data.get("variable", "")
    var = variable_catalogue().get(variable)
    if var is None:
        raise HTTPException(422)
    try:
        observed = datetime.fromisoformat(data.get("observed_at", "")).replace(
            tzinfo=site_zone(request)
        )
    except ValueError:
        raise HTTPException(422) from None
    item = EvidenceItem(
        variable=variable,
        value=_parse_value(data.get("value", ""), var.kind),
        observed_at=observed,
        source_document=data.get("source_document", ""),
        unit=data.get("unit") or None,
        test_id=data.get("test_id") or None,
    )
    await run_in_threadpool(record_evidence, ctx, session.actor, code, [item])
    return _back(code)


def decisions_from_form(data: dict[str, str], criterion_ids: list[str]) -> list[CriterionDecision]:
    """The per-criterion decisions of the decide form.

    For each criterion ``ID`` the form sends ``action_ID`` (confirm or override), for an
    override ``status_ID`` and ``reason_ID``, and ``sha_ID``: the digest of the judgement the
    page showed, so that a judgement changed in between is refused, not signed unseen.
    """
    out = []
    for cid in criterion_ids:
        action = data.get(f"action_{cid}", "")
        if action not in ("confirm", "override"):
            raise ValidationError(f"action_{cid}", action, "confirm or override each criterion")
        sha = data.get(f"sha_{cid}", "")
        if not sha:
            raise ValidationError(f"sha_{cid}", sha, "the reviewed judgement is missing")
        override = action == "override"
        status = (data.get(f"status_{cid}") or None) if override else None
        reason = data.get(f"reason_{cid}", "") if override else ""
        out.append(CriterionDecision(cid, action, status, reason, sha))  # type: ignore[arg-type]
    return out


@staff_router.post("/subjects/{code}/decide")
async def decide(
    request: Request, code: str, session: Annotated[StaffSession, require("eligibility.decide")]
) -> Response:
    data = await _checked_form(request, session)
    ctx = _state(request).services
    overall = data.get("overall", "")
    if overall not in ("eligible", "ineligible"):
        raise HTTPException(422)
    elig = ctx.protocol.eligibility
    decisions = decisions_from_form(data, [c.id for c in (*elig.inclusion, *elig.exclusion)])
    await run_in_threadpool(
        lambda: decide_eligibility(
            ctx,
            session.actor,
            code,
            overall=overall,  # type: ignore[arg-type]
            decisions=decisions,
            reason=data.get("reason", ""),
            password=data.get("password", ""),
        )
    )
    return _back(code)


@staff_router.post("/subjects/{code}/enrol")
async def enrol_subject(
    request: Request, code: str, session: Annotated[StaffSession, require("subject.enrol")]
) -> Response:
    await _checked_form(request, session)
    result = await run_in_threadpool(enrol, _state(request).services, session.actor, code)
    return _back(code, f"enrolled-cohort-{result.cohort}-level-{result.dose_level}")
