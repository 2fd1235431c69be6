"""Screening checklist, the eligibility engine on the registry's evidence, and the investigator's
per-criterion sign-off.

The decision rests on the engine, never on statuses a caller supplies: inside the decision's
write transaction :func:`decide_eligibility` evaluates the subject's recorded evidence as of the
decision time (``ctx.now()``), and the investigator confirms or overrides each criterion of
that evaluation. Each decision (:class:`radiotrial.eligibility.InvestigatorDecision`) carries the
SHA-256 of the exact criterion judgement it was made on, the signer's printed name, the time
and the meaning; an override carries its reason and gets an audit entry of its own. The record
holding them all is e-signed (password again, 21 CFR 11.200), so the signature binds every
criterion's judgement and decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.eligibility import (
    CriterionStatus,
    EligibilityResult,
    InvestigatorDecision,
    apply_decisions,
    criterion_variables,
    evaluate_criteria,
    evaluate_eligibility,
    parse_patient_record,
    sign_criterion,
)
from radiotrial.eligibility._derive import DerivedValue
from radiotrial.eligibility._derive import Evidence as EngineEvidence
from radiotrial.errors import ValidationError
from radiotrial.protocol import variable_catalogue
from radiotrial.registry import (
    Actor,
    EligibilityDecision,
    Evidence,
    Subject,
    User,
    WorkflowError,
    append_audit,
    require_permission,
    require_reason,
    sign_record,
    subject_rows,
)
from radiotrial.registry._audit import audited_create
from radiotrial.services._context import ServiceContext, get_subject, set_status
from radiotrial.services._subjects import EvidenceItem, record_evidence

__all__ = [
    "CriterionDecision",
    "decide_eligibility",
    "evaluate_record",
    "evaluate_subject",
    "record_patient_record",
    "screening_checklist",
    "sign_decisions",
]


def _checklist(ctx: ServiceContext, evidence: list[Evidence], at: datetime) -> list[dict[str, Any]]:
    """Each screening test: complete when every required variable has in-window evidence.

    A test's required variables are those the protocol's criteria test (or condition on); any
    other variable it lists (``crcl`` beside ``egfr``) is informative only.
    """
    needed = set(criterion_variables(ctx.protocol))
    out = []
    for test in ctx.protocol.screening_tests:
        window = timedelta(days=test.window.to("d"))
        required = [v for v in test.variables if v in needed]
        missing, expired = [], []
        for var in required:
            obs = [e for e in evidence if e.variable == var and (e.test_id in (None, test.id))]
            if not obs:
                missing.append(var)
            elif max(e.observed_at for e in obs) < at - window:
                expired.append(var)
        status = "expired" if expired else "missing" if missing else "complete"
        out.append(
            {
                "test": test.id,
                "name": test.name,
                "window_days": window.days,
                "status": status,
                "required": required,
                "missing": missing,
                "expired": expired,
            }
        )
    return out


def screening_checklist(
    ctx: ServiceContext, actor: Actor, code: str, *, at: datetime | None = None
) -> list[dict[str, Any]]:
    """Each protocol screening test: complete (every required variable observed within its
    window), missing or expired, with the variables concerned."""
    require_permission(actor, "trial.read")
    at = at or ctx.now()
    with ctx.registry.read() as session:
        subject = get_subject(session, code)
        return _checklist(ctx, subject_rows(session, Evidence, subject.id), at)


def _require_screening_complete(
    ctx: ServiceContext, session: Session, subject: Subject, at: datetime, reason: str
) -> None:
    """Raise :class:`WorkflowError` naming every screening test not complete at ``at``."""
    evidence = subject_rows(session, Evidence, subject.id)
    gaps = [t for t in _checklist(ctx, evidence, at) if t["status"] != "complete"]
    if gaps:
        raise WorkflowError(
            f"subject {subject.code} screening",
            [f"{t['test']}: {t['status']} {', '.join(t['missing'] + t['expired'])}" for t in gaps],
            reason,
        )


def _value(row: Evidence, kind: str) -> Any:
    if kind in ("numeric", "score"):
        return row.value_num
    if kind == "boolean":
        return row.value_text == "true"
    if kind == "date":
        return None if row.value_text is None else date.fromisoformat(row.value_text)
    return row.value_text


def _evaluate(
    ctx: ServiceContext, session: Session, subject: Subject, at: datetime
) -> EligibilityResult:
    """The engine on the subject's evidence (latest observation per variable) as of ``at``."""
    catalogue = variable_catalogue()
    derived: dict[str, DerivedValue] = {}
    rows = session.execute(
        sa.select(Evidence)
        .where(Evidence.subject_id == subject.id)
        .order_by(Evidence.observed_at, Evidence.id)
    ).scalars()
    for row in rows:  # later observations replace earlier ones
        var = catalogue.get(row.variable)
        if var is None:
            continue
        value = _value(row, var.kind)
        seen = row.observed_at.date()
        ev = EngineEvidence(
            field=f"registry.evidence[{row.id}]",
            what=row.variable,
            value=value,
            unit=row.unit,
            date=seen,
            source=row.source_document,
        )
        none = var.kind == "date" and value is None
        derived[row.variable] = DerivedValue(
            row.variable,
            value,
            row.unit,
            seen,
            (ev,),
            "recorded: none in the reviewed history" if none else "recorded screening evidence",
            none_recorded=none,
        )
    for name in criterion_variables(ctx.protocol):
        if name not in derived:  # missing data: pending, never met or not met
            derived[name] = DerivedValue(
                name, None, None, None, (), "not recorded in the registry", known=False
            )
    return evaluate_criteria(ctx.protocol, derived, subject_id=subject.code, as_of=at.date())


def evaluate_subject(ctx: ServiceContext, actor: Actor, code: str) -> EligibilityResult:
    """The eligibility engine on the evidence recorded for ``code``, as of now (read-only).

    Screening windows are counted to today; each criterion's ``content_sha256`` identifies the
    judgement an investigator confirms or overrides with :func:`decide_eligibility`.
    """
    require_permission(actor, "trial.read")
    with ctx.registry.read() as session:
        return _evaluate(ctx, session, get_subject(session, code), ctx.now())


def evaluate_record(
    ctx: ServiceContext, actor: Actor, code: str, record: dict[str, Any]
) -> dict[str, Any]:
    """Run :func:`radiotrial.eligibility.evaluate_eligibility` on a screening record, as of
    today (a preview: nothing is written, and the decision rests on recorded evidence).

    The record is pseudonymous (its ``subject_id`` must be the subject's code). Its windows
    are counted to today, not to its own ``assessment_date``, so an old record shows its
    expired tests as pending.
    """
    require_permission(actor, "eligibility.decide")
    parsed = parse_patient_record(record)
    if parsed.subject_id != code:
        raise ValidationError("record.subject_id", parsed.subject_id, f"expected {code}")
    with ctx.registry.read() as session:
        get_subject(session, code)
    return evaluate_eligibility(parsed, ctx.protocol, as_of=ctx.now().date()).to_dict()


def record_patient_record(
    ctx: ServiceContext, actor: Actor, code: str, record: dict[str, Any]
) -> list[int]:
    """File a screening record (the documented patient-record format) as evidence.

    The engine derives every variable the criteria need (HER2 from IHC/ISH, eGFR from
    creatinine, × ULN, wash-out dates, ...); each known one becomes one observation with its
    source document, dated by its measurement (else the record's assessment date) and tagged
    with its screening test. Undecided variables are not filed: they stay pending.
    """
    require_permission(actor, "evidence.record")
    parsed = parse_patient_record(record)
    if parsed.subject_id != code:
        raise ValidationError("record.subject_id", parsed.subject_id, f"expected {code}")
    today = ctx.now().date()
    assessed = parsed.assessment_date or today
    result = evaluate_eligibility(parsed, ctx.protocol, as_of=assessed)
    test_of = {v: t.id for t in reversed(ctx.protocol.screening_tests) for v in t.variables}
    items = []
    for var, d in result.derived.items():
        if not d.known:
            continue
        value = d.value
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        source = next((e.source for e in d.evidence if e.source), None)
        items.append(
            EvidenceItem(
                var,
                value,
                datetime.combine(d.date or assessed, time(0), UTC),
                source or "screening record",
                unit=d.unit if d.unit not in (None, "1") else None,
                test_id=test_of.get(var),
            )
        )
    return record_evidence(ctx, actor, code, items)


@dataclass(frozen=True)
class CriterionDecision:
    """The investigator's decision on one criterion of the engine's evaluation.

    ``content_sha256`` (from :func:`evaluate_subject`) names the judgement the investigator
    reviewed; when given, the decision is refused if the judgement has changed since.
    """

    criterion_id: str
    action: Literal["confirm", "override"]
    status: CriterionStatus | None = None
    reason: str = ""
    content_sha256: str | None = None


def sign_decisions(
    result: EligibilityResult,
    decisions: list[CriterionDecision],
    *,
    signer_id: str,
    signer_name: str,
    signed_at: datetime,
) -> list[InvestigatorDecision]:
    """One :class:`InvestigatorDecision` per criterion of ``result`` (pure; what
    :func:`decide_eligibility` records, and what a caller previews with
    :func:`radiotrial.eligibility.apply_decisions`).

    Raises
    ------
    ValidationError
        A criterion decided twice, unknown or left undecided, a judgement that changed since
        it was reviewed (``content_sha256``), or a decision :func:`sign_criterion` refuses.
    """
    by_id: dict[str, CriterionDecision] = {}
    for i, d in enumerate(decisions):
        if d.criterion_id in by_id:
            raise ValidationError(f"decisions[{i}].criterion_id", d.criterion_id, "decided twice")
        by_id[d.criterion_id] = d
    ids = [c.id for c in result.criteria]
    unknown = sorted(set(by_id) - set(ids))
    if unknown:
        raise ValidationError("decisions", unknown, f"not criteria of this evaluation: {ids}")
    undecided = [i for i in ids if i not in by_id]
    if undecided:
        raise ValidationError(
            "decisions", undecided, "confirm or override every criterion (none is signed blindly)"
        )
    signed = []
    for c in result.criteria:
        d = by_id[c.id]
        if d.content_sha256 is not None and d.content_sha256 != c.content_sha256:
            raise ValidationError(
                f"decisions[{c.id}].content_sha256",
                d.content_sha256[:12],
                "the engine's judgement changed since it was reviewed (new evidence or a "
                "new day); review it again",
            )
        signed.append(
            sign_criterion(
                result,
                c.id,
                action=d.action,
                status=d.status,
                reason=d.reason,
                signer_id=signer_id,
                signer_name=signer_name,
                signed_at=signed_at,
            )
        )
    return signed


def decide_eligibility(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    *,
    overall: Literal["eligible", "ineligible"],
    decisions: list[CriterionDecision],
    reason: str,
    password: str,
) -> int:
    """Record the investigator's eligibility decision on the engine's evaluation, e-signed.

    The engine evaluates the subject's recorded evidence now, in the same transaction; every
    criterion needs a decision (confirm, or override with a reason and a new status). A pending
    criterion can only be confirmed: its evidence is missing or out of window. ``overall`` must
    be what the decisions lead to: 'eligible' is refused while any criterion fails or is
    pending, and also needs every screening test complete; 'ineligible' needs a failing
    criterion. Returns the decision's id.
    """
    require_permission(actor, "eligibility.decide")
    if overall not in ("eligible", "ineligible"):
        raise ValidationError("overall", overall, "eligible or ineligible")
    reason = require_reason(reason, "decide eligibility")
    now = ctx.now()
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        user = session.execute(sa.select(User).where(User.username == actor.username)).scalar()
        result = _evaluate(ctx, session, subject, now)
        signed = sign_decisions(
            result,
            decisions,
            signer_id=actor.username,
            signer_name=(user.full_name if user is not None else "") or actor.username,
            signed_at=now,
        )
        final = apply_decisions(result, signed)
        if final.overall != overall:
            failing, pending = ", ".join(final.failed), ", ".join(final.pending)
            raise ValidationError(
                "overall",
                overall,
                f"the criteria as decided give '{final.overall}' "
                f"(failing: {failing or 'none'}; pending: {pending or 'none'})",
            )
        if overall == "eligible":
            _require_screening_complete(
                ctx, session, subject, now, "screening tests are missing or outside their windows"
            )
        data = final.to_dict()
        decision = EligibilityDecision(
            subject_id=subject.id,
            overall=overall,
            criteria={
                "as_of": data["as_of"],
                "protocol_id": data["protocol_id"],
                "engine_overall": result.overall,
                "results": data["criteria"],
            },
            reason=reason,
            decided_by=actor.username,
            decided_at=now,
        )
        audited_create(session, actor, decision, subject_code=code)
        for d in signed:
            if d.action == "override":
                append_audit(
                    session,
                    actor,
                    action="override",
                    table_name="eligibility_decisions",
                    record_id=decision.id,
                    subject_code=code,
                    old={"criterion": d.criterion_id, "status": d.engine_status},
                    new={
                        "criterion": d.criterion_id,
                        "status": d.status,
                        "content_sha256": d.content_sha256,
                    },
                    reason=d.reason,
                )
        sign_record(
            session, actor, password, decision, meaning="approval", reason=reason,
            subject_code=code,
        )  # fmt: skip
        set_status(session, actor, subject, overall, at=now, reason=reason)
        return decision.id
