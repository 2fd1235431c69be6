"""JSON API: the audit trail (entries and hash-chain verification), data exports and the
outbox — the staff pages of :mod:`radiotrial.web._staff_records` and
:mod:`radiotrial.web._staff_outbox`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from radiotrial.registry import Actor
from radiotrial.services import OutboxEntry, list_outbox, verify_audit
from radiotrial.web._api import api_router, require, services
from radiotrial.web._staff_outbox import deliver_queued
from radiotrial.web._staff_records import PAGE_SIZE, AuditRow, audit_entries, export_zip

__all__ = ["records_router"]

records_router = api_router("records")


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "odm"]


@records_router.get("/audit", response_model=list[AuditRow])
def audit(
    request: Request,
    actor: Annotated[Actor, require("audit.read")],
    subject: Annotated[str | None, Field(pattern=r"^[A-Z]{2}-[0-9A-Z]{4,12}$")] = None,
    table: Annotated[str | None, Field(pattern=r"^[a-z_]{1,64}$")] = None,
    user: Annotated[str | None, Field(pattern=r"^[\w.@-]{1,64}$")] = None,
    before: Annotated[int | None, Field(ge=1, le=2**62)] = None,
    limit: Annotated[int, Field(ge=1, le=PAGE_SIZE * 10)] = PAGE_SIZE,
) -> list[AuditRow]:
    """Audit entries, newest first (``before``: entries older than that sequence number);
    entries of the identity vault show that the sealed record changed, never its content."""
    return audit_entries(
        services(request), actor, subject=subject, table=table, user=user, before=before,
        limit=limit,
    )  # fmt: skip


@records_router.get("/audit/verify")
def verify(request: Request, actor: Annotated[Actor, require("audit.verify")]) -> Any:
    """Verify the audit trail's hash chain."""
    return verify_audit(services(request), actor).to_dict()


@records_router.post(
    "/exports",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "the export, zipped"}},
)
def export(
    request: Request, body: ExportIn, actor: Annotated[Actor, require("export.data")]
) -> Response:
    """Pseudonymous trial data as CSV tables or CDISC ODM 1.3.2, in one ZIP (audited)."""
    data, name = export_zip(services(request), actor, body.format)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


@records_router.get("/outbox", response_model=list[OutboxEntry])
def outbox(
    request: Request, actor: Annotated[Actor, require("outbox.manage")]
) -> list[OutboxEntry]:
    """Unsent e-mail (subject, kind, language, reference, reason, attempts; no recipients)."""
    return list_outbox(services(request), actor)


@records_router.post("/outbox/delivery")
def deliver(request: Request, actor: Annotated[Actor, require("outbox.manage")]) -> dict[str, Any]:
    """Deliver every queued e-mail by SMTP now; those that fail stay, with the reason."""
    return deliver_queued(request, actor).to_dict()
