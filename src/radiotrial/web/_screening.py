"""Read-side helpers the staff pages need that the services layer does not offer yet.

- :func:`list_subjects`: the queue and subject list (pseudonymous columns only);
- :func:`evaluate_subject`: the eligibility engine on the evidence recorded in the registry
  (latest observation per variable), so the investigator sees each criterion's result with its
  evidence before signing. Both check ``trial.read`` and only read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from radiotrial.eligibility import CriterionResult, evaluate_criterion, overall_of
from radiotrial.eligibility._derive import DerivedValue
from radiotrial.eligibility._derive import Evidence as EngineEvidence
from radiotrial.protocol import variable_catalogue
from radiotrial.registry import (
    Actor,
    Evidence,
    RecordNotFoundError,
    Subject,
    require_permission,
)
from radiotrial.services import ServiceContext

__all__ = ["SubjectRow", "evaluate_subject", "list_subjects"]


@dataclass(frozen=True)
class SubjectRow:
    code: str
    status: str
    status_at: datetime
    source: str
    dose_level: int | None


def list_subjects(
    ctx: ServiceContext, actor: Actor, *, statuses: tuple[str, ...] = (), limit: int = 500
) -> list[SubjectRow]:
    """Subjects, newest status change first, optionally only in ``statuses``."""
    require_permission(actor, "trial.read")
    stmt = sa.select(Subject).order_by(Subject.status_at.desc()).limit(limit)
    if statuses:
        stmt = stmt.where(Subject.status.in_(statuses))
    with ctx.registry.read() as session:
        return [
            SubjectRow(s.code, s.status, s.status_at, s.source, s.dose_level)
            for s in session.execute(stmt).scalars()
        ]


def _value(row: Evidence, kind: str) -> Any:
    if kind in ("numeric", "score"):
        return row.value_num
    if kind == "boolean":
        return row.value_text == "true"
    if kind == "date":
        return date.fromisoformat(row.value_text) if row.value_text else None
    return row.value_text


def evaluate_subject(
    ctx: ServiceContext, actor: Actor, code: str, *, as_of: date | None = None
) -> tuple[str, list[CriterionResult]]:
    """Overall result and per-criterion results from the subject's recorded evidence."""
    require_permission(actor, "trial.read")
    as_of = as_of or ctx.now().date()
    catalogue = variable_catalogue()
    with ctx.registry.read() as session:
        subject = session.execute(
            sa.select(Subject).where(Subject.code == code)
        ).scalar_one_or_none()
        if subject is None:
            raise RecordNotFoundError("subject", code)
        rows = session.execute(
            sa.select(Evidence)
            .where(Evidence.subject_id == subject.id)
            .order_by(Evidence.observed_at, Evidence.id)
        ).scalars()
        derived: dict[str, DerivedValue] = {}
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
            derived[row.variable] = DerivedValue(
                row.variable, value, row.unit, seen, (ev,), "recorded screening evidence"
            )
    for crit in (*ctx.protocol.eligibility.inclusion, *ctx.protocol.eligibility.exclusion):
        for name in (crit.variable, crit.when, crit.unless):
            if name and name not in derived:  # missing data: pending, never met or not met
                derived[name] = DerivedValue(
                    name, None, None, None, (), "not recorded in the registry", known=False
                )
    windows: dict[str, tuple[str, float, str]] = {}
    for test in ctx.protocol.screening_tests:
        days = test.window.to("d")
        for v in test.variables:
            if v not in windows or days < windows[v][1]:
                windows[v] = (test.id, days, f"{test.window.value:g} {test.window.unit}")
    results = [
        evaluate_criterion(c, "inclusion", derived, as_of=as_of, windows=windows)
        for c in ctx.protocol.eligibility.inclusion
    ] + [
        evaluate_criterion(c, "exclusion", derived, as_of=as_of, windows=windows)
        for c in ctx.protocol.eligibility.exclusion
    ]
    return str(overall_of(results)), results
