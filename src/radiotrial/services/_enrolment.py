"""Enrolment into cohort slots at the level the escalation design recommends; trial status.

The escalation design (``protocol.escalation``) sees the trial as a
:class:`radiotrial.escalation.TrialState` built from the registry: cohorts in order, each
subject's DLT outcome in the DLT window (DLT, no DLT, or pending). A cohort opens only when the
design can decide, i.e. when every earlier subject's outcome is known; it takes
``escalation.cohort_size`` evaluable subjects. A subject who leaves before the DLT window closes
without a DLT is not evaluable: the slot is replaced, not counted.

Slot assignment happens inside one serialised write transaction (see
:class:`radiotrial.registry.Registry`) and ``UNIQUE(cohort_id, slot)`` backs it in the schema,
so concurrent enrolments can neither share a slot nor overfill a cohort.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from radiotrial.escalation import (
    Decision,
    DoseLevels,
    Patient,
    TrialState,
    design_from_protocol,
)
from radiotrial.protocol import Protocol
from radiotrial.registry import (
    Actor,
    Administration,
    AdverseEvent,
    Cohort,
    ConflictError,
    DltAdjudication,
    Subject,
    WorkflowError,
    require_permission,
)
from radiotrial.registry._audit import audited_create, audited_update
from radiotrial.services._context import ServiceContext, get_subject, set_status
from radiotrial.services._eligibility import _require_screening_complete

__all__ = [
    "EnrolmentResult",
    "design_for",
    "dlt_outcome",
    "enrol",
    "escalation_state",
    "trial_status",
]

_OFF = ("off-study", "withdrawn")


#: the escalation design a protocol names; one home in :mod:`radiotrial.escalation`
design_for = design_from_protocol


def dlt_outcome(
    session: Session, protocol: Protocol, subject: Subject, now: datetime
) -> bool | str | None:
    """``True`` DLT, ``False`` window complete without DLT, ``None`` pending, ``"not-evaluable"``.

    Notes
    -----
    The windows are those of :func:`radiotrial.safety.dlt_windows`: from the administration of
    each evaluated cycle (protocol ``dlt.evaluated_cycles``) by calendar day, day 0 to day
    ``window − 1``, closing on day ``window``. The outcome rests on the investigator's signed
    adjudications: a DLT is an adjudicated DLT with onset in a window; the windows are complete
    without DLT only when every evaluated cycle was given, every window has closed and every
    event with onset in a window has a current adjudication (one of the event as it is now).
    """
    from radiotrial.safety import dlt_windows, onset_in_window

    admins = session.execute(
        sa.select(Administration).where(Administration.subject_id == subject.id)
    ).scalars()
    windows = dlt_windows(protocol.dlt, {a.cycle: a.administered_at.date() for a in admins})
    rows = session.execute(
        sa.select(AdverseEvent, DltAdjudication)
        .outerjoin(DltAdjudication, DltAdjudication.adverse_event_id == AdverseEvent.id)
        .where(AdverseEvent.subject_id == subject.id)
    ).all()
    # an adjudication counts only for the version of the event it judged
    current = [(ae, adj if adj is not None and adj.adverse_event_version == ae.version else None)
               for ae, adj in rows]  # fmt: skip
    if any(adj is not None and adj.is_dlt and adj.in_window for _ae, adj in current):
        return True
    if not windows:
        return "not-evaluable" if subject.status in _OFF else None

    closes = max(w1 for _, _, w1 in windows)
    all_given = len(windows) == len(protocol.dlt.evaluated_cycles)
    pending_ae = [
        ae
        for ae, adj in current
        if adj is None and onset_in_window(ae.aestdtc.date(), windows) is not False
    ]
    if all_given and now.date() >= closes and not pending_ae:
        return False
    if subject.status in _OFF and subject.status_at.date() < closes:
        return "not-evaluable"
    return None


def escalation_state(
    session: Session, protocol: Protocol, now: datetime
) -> tuple[TrialState, list[Cohort], dict[int, Any]]:
    """The trial as the design sees it, the cohorts, and each enrolled subject's outcome."""
    levels = DoseLevels.from_activities_gbq(protocol.dose_levels.activity_gbq)
    cohorts = list(session.execute(sa.select(Cohort).order_by(Cohort.number)).scalars())
    patients: list[Patient] = []
    groups: list[tuple[int, ...]] = []
    outcomes: dict[int, Any] = {}
    for cohort in cohorts:
        idx = []
        members = sorted(cohort.subjects, key=lambda s: s.slot or 0)
        for s in members:
            out = dlt_outcome(session, protocol, s, now)
            outcomes[s.id] = out
            if out == "not-evaluable":
                continue
            idx.append(len(patients))
            patients.append(Patient(cohort.dose_level, out if isinstance(out, bool) else None))
        groups.append(tuple(idx))
    return TrialState(levels, tuple(patients), tuple(groups)), cohorts, outcomes


def _occupied(cohort: Cohort, outcomes: dict[int, Any]) -> int:
    return sum(1 for s in cohort.subjects if outcomes.get(s.id) != "not-evaluable")


@dataclass(frozen=True)
class EnrolmentResult:
    code: str
    cohort: int
    slot: int
    dose_level: int
    activity_gbq: float
    decision: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.code,
            "cohort": self.cohort,
            "slot": self.slot,
            "dose_level": self.dose_level,
            "activity_gbq": self.activity_gbq,
            "decision": self.decision,
        }


def _open_cohort(
    session: Session, ctx: ServiceContext, actor: Actor, state: TrialState, number: int
) -> Cohort:
    if state.n_pending:
        raise ConflictError(
            f"cohort {number - 1} is full and {state.n_pending} subject(s) are still in their "
            "DLT window or have unadjudicated adverse events; the next cohort opens when the "
            "design can decide"
        )
    decision: Decision = design_from_protocol(ctx.protocol).decide(state)
    if decision.next_level is None:
        raise WorkflowError(
            "trial", decision.action, f"the design stops the trial: {decision.reason}"
        )
    level = decision.next_level
    cohort = Cohort(
        number=number,
        dose_level=level,
        activity_gbq=ctx.protocol.dose_levels.activity_gbq[level - 1],
        capacity=ctx.protocol.escalation.cohort_size,
        opened_at=ctx.now(),
        decision=decision.to_dict(),
    )
    audited_create(session, actor, cohort, reason=decision.reason)
    return cohort


def enrol(ctx: ServiceContext, actor: Actor, code: str) -> EnrolmentResult:
    """Enrol an eligible subject into the next free slot of the open cohort.

    Raises
    ------
    WorkflowError
        The subject is not eligible, a screening test is outside its window, or the design
        stops the trial.
    ConflictError
        The open cohort is full and the design cannot decide yet (outcomes pending).
    """
    require_permission(actor, "subject.enrol")
    now = ctx.now()
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        if subject.status != "eligible":
            raise WorkflowError(
                f"subject {code} status", subject.status, "only an eligible subject is enrolled"
            )
        _require_screening_complete(
            ctx, session, subject, now,
            "screening tests are outside their windows at enrolment: re-screen",
        )  # fmt: skip
        state, cohorts, outcomes = escalation_state(session, ctx.protocol, now)
        total = sum(_occupied(c, outcomes) for c in cohorts)
        if total >= ctx.protocol.escalation.max_sample_size:
            raise WorkflowError(
                "trial", total, f"maximum sample size {ctx.protocol.escalation.max_sample_size}"
            )
        cohort = cohorts[-1] if cohorts else None
        if cohort is None or _occupied(cohort, outcomes) >= cohort.capacity:
            cohort = _open_cohort(session, ctx, actor, state, len(cohorts) + 1)
        used = [s.slot for s in cohort.subjects if s.slot is not None]
        slot = max(used, default=0) + 1
        audited_update(
            session,
            actor,
            subject,
            {
                "cohort_id": cohort.id,
                "slot": slot,
                "dose_level": cohort.dose_level,
                "enrolled_at": now,
            },
            reason=f"enrolled in cohort {cohort.number}, slot {slot}",
            subject_code=code,
        )
        set_status(session, actor, subject, "on-study", at=now, reason="enrolled", kind="enrolment")
        return EnrolmentResult(
            code, cohort.number, slot, cohort.dose_level, cohort.activity_gbq, cohort.decision
        )


def trial_status(ctx: ServiceContext, actor: Actor) -> dict[str, Any]:
    """Dose levels, cohorts with their subjects and DLT outcomes, and the design's advice."""
    require_permission(actor, "trial.read")
    now = ctx.now()
    with ctx.registry.read() as session:
        state, cohorts, outcomes = escalation_state(session, ctx.protocol, now)
        n, y = state.counts()
        design = design_from_protocol(ctx.protocol)
        if state.n_pending:
            recommendation: dict[str, Any] = {
                "action": "wait",
                "next_level": None,
                "reason": f"{state.n_pending} subject(s) with DLT outcome pending",
            }
        else:
            recommendation = design.decide(state).to_dict()
        counts = dict(
            session.execute(
                sa.select(Subject.status, sa.func.count()).group_by(Subject.status)
            ).all()
        )
        return {
            "protocol": ctx.protocol.id,
            "design": design.name,
            "dose_levels": [
                {
                    "level": i + 1,
                    "activity_gbq": a,
                    "n_evaluated": int(n[i]),
                    "n_dlt": int(y[i]),
                }
                for i, a in enumerate(ctx.protocol.dose_levels.activity_gbq)
            ],
            "cohorts": [
                {
                    "cohort": c.number,
                    "dose_level": c.dose_level,
                    "activity_gbq": c.activity_gbq,
                    "capacity": c.capacity,
                    "subjects": [
                        {
                            "subject": s.code,
                            "slot": s.slot,
                            "status": s.status,
                            "dlt": outcomes.get(s.id),
                        }
                        for s in sorted(c.subjects, key=lambda s: s.slot or 0)
                    ],
                }
                for c in cohorts
            ],
            "subjects_by_status": counts,
            "outcomes": state.outcome_string(),
            "recommendation": recommendation,
            "as_of": now,
        }
