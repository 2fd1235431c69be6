"""The outbox page (admins): unsent e-mail, never its recipients, and delivery on demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from radiotrial.registry import Actor
from radiotrial.services import DeliveryReport, QueuedMail, deliver_outbox, list_outbox
from radiotrial.web._auth import StaffSession
from radiotrial.web._context import context_of
from radiotrial.web._ports import OutboundMail
from radiotrial.web._staff import _checked_form, _page, _state, require

__all__ = ["deliver_queued", "outbox_router"]

outbox_router = APIRouter(prefix="/staff", include_in_schema=False)
Manager = Annotated[StaffSession, require("outbox.manage")]


@outbox_router.get("/outbox")
def outbox_page(request: Request, session: Manager) -> Response:
    rows = list_outbox(_state(request).services, session.actor)
    web = context_of(request)
    return _page(
        request,
        session,
        "staff/outbox.html",
        rows=rows,
        smtp=web.settings.smtp is not None,
        sent=request.query_params.get("sent"),
        failed=request.query_params.get("failed"),
    )


def deliver_queued(request: Request, actor: Actor) -> DeliveryReport:
    """Deliver the outbox with the app's mailer (the page and the API)."""
    mailer = context_of(request).mailer

    def send(mail: QueuedMail) -> None:
        mailer.deliver(
            OutboundMail(
                kind="investigator_notice"
                if mail.kind == "investigator_notice"
                else "requester_confirmation",
                to=mail.recipients,
                subject=mail.subject,
                body=mail.body,
                language="zh" if mail.language == "zh" else "en",
                reference=mail.reference,
                headers=dict(mail.headers),
            )
        )

    return deliver_outbox(_state(request).services, actor, send)


@outbox_router.post("/outbox/send")
async def send_outbox(request: Request, session: Manager) -> Response:
    """Deliver every queued message by SMTP now (those that fail stay, with the reason)."""
    await _checked_form(request, session)
    report = await run_in_threadpool(deliver_queued, request, session.actor)
    return RedirectResponse(
        f"/staff/outbox?sent={len(report.sent)}&failed={len(report.failed)}", status_code=303
    )
