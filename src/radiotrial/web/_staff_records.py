"""Staff pages: the audit trail (listing and hash-chain verification) and data exports.

The listing reads ``audit_log`` read-only (``audit.read``): who, what (old → new), when, why,
newest first, filtered by subject, table or user; entries of the identity vault show that the
encrypted record changed, never its ciphertext or keyed hashes. Verification is
:func:`radiotrial.services.verify_audit` (``audit.verify``). Exports are
:func:`radiotrial.services.export_data` (``export.data``; CSV tables or CDISC ODM 1.3.2, the
export itself audited), delivered as one ZIP file built in a temporary folder.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from radiotrial.errors import ValidationError
from radiotrial.registry import Actor, AuditEntry, require_permission
from radiotrial.services import ServiceContext, export_data, verify_audit
from radiotrial.web._auth import StaffSession, allowed
from radiotrial.web._staff import _checked_form, _page, _state, require

__all__ = ["AuditRow", "audit_entries", "export_zip", "records_router"]

records_router = APIRouter(prefix="/staff", include_in_schema=False)
PAGE_SIZE = 100
_SEALED_TABLES = frozenset({"identities"})  # ciphertext and keyed hashes: never displayed


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: str
    actor: str
    role: str
    action: str
    table: str
    record_id: str | None
    subject: str | None
    changes: list[tuple[str, Any, Any]]  # (field, old, new)
    reason: str | None
    hash: str


def _changes(table: str, old: str | None, new: str | None) -> list[tuple[str, Any, Any]]:
    if table in _SEALED_TABLES:
        return [("(encrypted identity record)", "…" if old else None, "…" if new else None)]
    before = json.loads(old) if old else {}
    after = json.loads(new) if new else {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("value", before, after)]
    keys = sorted(set(before) | set(after))
    return [
        (k, before.get(k), after.get(k))
        for k in keys
        if before.get(k) != after.get(k) and k not in ("version",)
    ]


def audit_entries(
    ctx: ServiceContext,
    actor: Actor,
    *,
    subject: str | None = None,
    table: str | None = None,
    user: str | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> list[AuditRow]:
    """Audit entries, newest first (``before``: only entries with a smaller sequence number)."""
    require_permission(actor, "audit.read")
    stmt = sa.select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if subject:
        stmt = stmt.where(AuditEntry.subject_code == subject)
    if table:
        stmt = stmt.where(AuditEntry.table_name == table)
    if user:
        stmt = stmt.where(AuditEntry.actor == user)
    if before is not None:
        stmt = stmt.where(AuditEntry.seq < before)
    with ctx.registry.read() as session:
        return [
            AuditRow(
                e.seq,
                e.at,
                e.actor,
                e.role,
                e.action,
                e.table_name,
                e.record_id,
                e.subject_code,
                _changes(e.table_name, e.old, e.new),
                e.reason,
                e.hash,
            )
            for e in session.execute(stmt).scalars()
        ]


def _filter(request: Request, name: str, pattern: str) -> str | None:
    import re

    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not re.fullmatch(pattern, raw):
        raise ValidationError(name, raw, "not a valid filter value")
    return raw


@records_router.get("/audit")
def audit(request: Request, session: Annotated[StaffSession, require("audit.read")]) -> Response:
    ctx = _state(request).services
    filters = {
        "subject": _filter(request, "subject", r"[A-Z]{2}-[0-9A-Z]{4,12}"),
        "table": _filter(request, "table", r"[a-z_*]{1,64}"),
        "user": _filter(request, "user", r"[\w.@-]{1,64}"),
    }
    raw_before = _filter(request, "before", r"[0-9]{1,12}")
    rows = audit_entries(
        ctx,
        session.actor,
        subject=filters["subject"],
        table=filters["table"],
        user=filters["user"],
        before=None if raw_before is None else int(raw_before),
    )
    report = None
    if allowed(session.actor, "audit.verify"):
        report = verify_audit(ctx, session.actor).to_dict()
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return _page(
        request,
        session,
        "staff/audit.html",
        report=report,
        rows=rows,
        filters=filters,
        query=query,
        more=len(rows) == PAGE_SIZE,
    )


def export_zip(ctx: ServiceContext, actor: Actor, fmt: str) -> tuple[bytes, str]:
    """Run :func:`export_data` into a temporary folder and pack it as a ZIP (bytes, name)."""
    if fmt not in ("csv", "odm"):
        raise ValidationError("format", fmt, "csv or odm")
    with tempfile.TemporaryDirectory(prefix="radiotrial-export-") as tmp:
        out = Path(tmp) / "export"
        export_data(ctx, actor, fmt, out)  # type: ignore[arg-type]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(out).as_posix())
    stamp = ctx.now().strftime("%Y%m%dT%H%M%SZ")
    return buf.getvalue(), f"{ctx.protocol.id}-{fmt}-{stamp}.zip"


@records_router.get("/exports")
def exports_page(
    request: Request, session: Annotated[StaffSession, require("export.data")]
) -> Response:
    return _page(request, session, "staff/exports.html")


@records_router.post("/exports")
async def export(
    request: Request, session: Annotated[StaffSession, require("export.data")]
) -> Response:
    data = await _checked_form(request, session)
    ctx = _state(request).services
    body, name = await run_in_threadpool(export_zip, ctx, session.actor, data.get("format", ""))
    return Response(
        body,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
