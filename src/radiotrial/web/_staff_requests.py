"""The staff request queue and request pages.

Every portal request is listed with its answers, kind, requester type, languages, interpreter
need, country and travel, contact channel, time and time zone, and its consents (the optional
"other trials" one included) — all pseudonymous; names and contacts are shown only on the
request page, on demand, with an audited reason. The link in the investigators' e-mail
(``/staff/requests/<reference>``) opens the request, whatever the registry matched it to.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from radiotrial.services import (
    RequestView,
    erase_request_data,
    list_requests,
    mark_request_handled,
    request_detail,
    resolve_request_match,
    reveal_request_contact,
)
from radiotrial.web._auth import StaffSession
from radiotrial.web._forms import (
    CONSULTATION_TOPICS,
    CONTACT_CHANNELS,
    CONTACT_TIMES,
    LANGUAGE_CHOICES,
    MEDICAL_QUESTIONS,
    REQUESTER_NAMES,
    YES_NO_NOT_SURE,
)
from radiotrial.web._i18n import countries
from radiotrial.web._screening import list_subjects
from radiotrial.web._staff import Reader, _checked_form, _page, _state, require, staff_language

__all__ = ["requests_router"]

requests_router = APIRouter(prefix="/staff", include_in_schema=False)


def _labels(request: Request) -> dict[str, Any]:
    """Label maps the request templates translate (message ids, English source)."""
    return {
        "requester": dict(REQUESTER_NAMES),
        "answer": dict(YES_NO_NOT_SURE),
        "channel": dict(CONTACT_CHANNELS),
        "contact_time": dict(CONTACT_TIMES),
        "language": dict(LANGUAGE_CHOICES),
        "topic": dict(CONSULTATION_TOPICS),
        "questions": MEDICAL_QUESTIONS,
        "country": dict(countries(staff_language(request))),
    }


def _list(request: Request, session: StaffSession, name: str, **ctx: Any) -> Response:
    return _page(request, session, name, labels=_labels(request), **ctx)


@requests_router.get("/")
def queue(request: Request, session: Reader) -> Response:
    """Open requests (not yet handled), newest first, and the people in screening."""
    ctx = _state(request).services
    pipeline = list_subjects(ctx, session.actor, statuses=("candidate", "screening", "eligible"))
    return _list(
        request,
        session,
        "staff/queue.html",
        requests=list_requests(ctx, session.actor),
        pipeline=pipeline,
        title_all=False,
        note=request.query_params.get("note"),
    )


@requests_router.get("/requests")
def all_requests(request: Request, session: Reader) -> Response:
    """Every request, handled ones included."""
    rows = list_requests(_state(request).services, session.actor, open_only=False)
    return _list(
        request,
        session,
        "staff/queue.html",
        requests=rows,
        pipeline=None,
        title_all=True,
        note=None,
    )


def _detail(
    request: Request, session: StaffSession, reference: str, contact: dict[str, Any] | None
) -> Response:
    view: RequestView = request_detail(_state(request).services, session.actor, reference)
    return _list(request, session, "staff/request.html", r=view, contact=contact)


@requests_router.get("/requests/{reference}")
def request_page(request: Request, reference: str, session: Reader) -> Response:
    """One request (the link in the investigators' e-mail notice)."""
    return _detail(request, session, reference, None)


@requests_router.post("/requests/{reference}/contact")
async def show_contact(
    request: Request,
    reference: str,
    session: Annotated[StaffSession, require("identity.read")],
) -> Response:
    data = await _checked_form(request, session)
    record = await run_in_threadpool(
        lambda: reveal_request_contact(
            _state(request).services, session.actor, reference, reason=data.get("reason", "")
        )
    )
    return _detail(request, session, reference, record.model_dump())


@requests_router.post("/requests/{reference}/match")
async def resolve_match(
    request: Request,
    reference: str,
    session: Annotated[StaffSession, require("identity.write")],
) -> Response:
    data = await _checked_form(request, session)
    choice = data.get("same_as", "")
    await run_in_threadpool(
        lambda: resolve_request_match(
            _state(request).services,
            session.actor,
            reference,
            same_as=None if choice == "different" else choice,
            reason=data.get("reason", ""),
        )
    )
    return RedirectResponse(f"/staff/requests/{reference}", status_code=303)


@requests_router.post("/requests/{reference}/handled")
async def handled(
    request: Request,
    reference: str,
    session: Annotated[StaffSession, require("request.handle")],
) -> Response:
    data = await _checked_form(request, session)
    await run_in_threadpool(
        lambda: mark_request_handled(
            _state(request).services, session.actor, reference, note=data.get("note", "")
        )
    )
    return RedirectResponse(f"/staff/requests/{reference}", status_code=303)


@requests_router.post("/requests/{reference}/erase")
async def erase(
    request: Request,
    reference: str,
    session: Annotated[StaffSession, require("prescreen.purge")],
) -> Response:
    """Erase, at the person's request, the data of someone not taken forward."""
    data = await _checked_form(request, session)
    ctx = _state(request).services
    view = request_detail(ctx, session.actor, reference)
    await run_in_threadpool(
        lambda: erase_request_data(ctx, session.actor, view.subject, reason=data.get("reason", ""))
    )
    return RedirectResponse(
        f"/staff/subjects/{view.subject}?note=request-data-erased", status_code=303
    )
