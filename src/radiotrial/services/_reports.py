"""Read-side use cases: a subject's record, audit verification, exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    Actor,
    Administration,
    AdverseEvent,
    AuditReport,
    DltAdjudication,
    DosimetryResult,
    EligibilityDecision,
    ExportResult,
    ImagingSession,
    Milestone,
    Request,
    append_audit,
    export_csv,
    export_odm,
    require_permission,
    signatures_of,
    subject_rows,
    verify_chain,
)
from radiotrial.services._context import ServiceContext, get_subject
from radiotrial.services._enrolment import dlt_outcome

__all__ = ["export_data", "subject_status", "verify_audit"]


def subject_status(ctx: ServiceContext, actor: Actor, code: str) -> dict[str, Any]:
    """Everything pseudonymous about one subject: status, milestones, cycles, AEs, signatures,
    and the references of its portal requests."""
    require_permission(actor, "trial.read")
    now = ctx.now()
    with ctx.registry.read() as session:
        s = get_subject(session, code)
        milestones = subject_rows(session, Milestone, s.id)
        decisions = subject_rows(session, EligibilityDecision, s.id)
        admins = subject_rows(session, Administration, s.id, order_by=Administration.cycle)
        cycles = []
        for a in admins:
            imaging = session.execute(
                sa.select(ImagingSession).where(ImagingSession.administration_id == a.id)
            ).scalars()
            dosim = session.execute(
                sa.select(DosimetryResult).where(DosimetryResult.administration_id == a.id)
            ).scalars()
            cycles.append(
                {
                    "cycle": a.cycle,
                    "administered_at": a.administered_at,
                    "net_activity_mbq": a.net_activity_mbq,
                    "prescribed_activity_mbq": a.prescribed_activity_mbq,
                    "imaging_h": [round(i.hours_post_injection, 2) for i in imaging],
                    "dosimetry": [
                        {"target": d.target, "absorbed_dose_gy": d.absorbed_dose_gy,
                         "bed_gy": d.bed_gy, "method": d.method}
                        for d in dosim
                    ],
                }
            )  # fmt: skip
        aes = []
        for ae, adj in session.execute(
            sa.select(AdverseEvent, DltAdjudication)
            .outerjoin(DltAdjudication, DltAdjudication.adverse_event_id == AdverseEvent.id)
            .where(AdverseEvent.subject_id == s.id)
            .order_by(AdverseEvent.aespid)
        ).all():
            aes.append(
                {
                    "AESPID": ae.aespid, "AETERM": ae.aeterm, "AETOXGR": ae.aetoxgr,
                    "AEREL": ae.aerel, "AESER": ae.aeser, "AESTDTC": ae.aestdtc,
                    "cycle": ae.cycle,
                    "dlt": None if adj is None else {
                        "is_dlt": adj.is_dlt, "rule": adj.rule_id, "in_window": adj.in_window,
                        "current": adj.adverse_event_version == ae.version,
                        "signatures": signatures_of(session, adj),
                    },
                }
            )  # fmt: skip
        return {
            "subject": s.code,
            "status": s.status,
            "status_at": s.status_at,
            "source": s.source,
            "consents": s.consents,
            "cohort": None if s.cohort is None else s.cohort.number,
            "slot": s.slot,
            "dose_level": s.dose_level,
            "enrolled_at": s.enrolled_at,
            "dlt_outcome": dlt_outcome(session, ctx.protocol, s, now) if s.enrolled_at else None,
            "milestones": [
                {"kind": m.kind, "from": m.from_status, "to": m.to_status, "at": m.at,
                 "by": m.recorded_by, "note": m.note}
                for m in milestones
            ],
            "eligibility": [_decision(session, d) for d in decisions],
            "cycles": cycles,
            "adverse_events": aes,
            "requests": [
                {"reference": r.reference, "kind": r.kind, "received_at": r.received_at,
                 "handled": r.handled_at is not None}
                for r in session.execute(
                    sa.select(Request).where(Request.subject_id == s.id)
                    .order_by(Request.received_at)
                ).scalars()
            ],
        }  # fmt: skip


def _decision(session: Any, d: EligibilityDecision) -> dict[str, Any]:
    """An eligibility decision: its per-criterion confirmations and overrides, signatures."""
    results = d.criteria.get("results", [])
    overrides = [
        {"criterion": r["id"], "engine_status": r["engine_status"], "status": r["status"],
         "reason": r["decision"]["reason"], "signer_name": r["decision"]["signer_name"]}
        for r in results
        if (r.get("decision") or {}).get("action") == "override"
    ]  # fmt: skip
    confirmed = sum((r.get("decision") or {}).get("action") == "confirm" for r in results)
    return {
        "overall": d.overall, "decided_by": d.decided_by, "decided_at": d.decided_at,
        "reason": d.reason, "as_of": d.criteria.get("as_of"), "confirmed": confirmed,
        "overrides": overrides, "signatures": signatures_of(session, d),
    }  # fmt: skip


def verify_audit(ctx: ServiceContext, actor: Actor) -> AuditReport:
    """Verify the audit chain (read-only: verification itself is not written to the chain)."""
    require_permission(actor, "audit.verify")
    with ctx.registry.read() as session:
        return verify_chain(session)


def export_data(
    ctx: ServiceContext, actor: Actor, fmt: Literal["csv", "odm"], directory: Path
) -> ExportResult:
    """Pseudonymous export (CSV tables or CDISC ODM 1.3.2); the export itself is audited."""
    require_permission(actor, "export.data")
    with ctx.registry.write() as session:
        if fmt == "csv":
            result = export_csv(session, Path(directory), study_id=ctx.protocol.id)
        elif fmt == "odm":
            result = export_odm(
                session, Path(directory), study_id=ctx.protocol.id, study_name=ctx.protocol.title
            )
        else:
            raise ValidationError("format", fmt, "csv or odm")
        append_audit(
            session,
            actor,
            action="export",
            table_name="*",
            new={"format": fmt, "files": result.files, "n_subjects": result.n_subjects},
        )
    return result
