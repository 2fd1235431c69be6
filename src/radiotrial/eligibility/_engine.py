"""Evaluate a patient record against a protocol's structured eligibility criteria.

Semantics
---------
Every criterion states a *condition* on one variable (``age >= 18 y``, ``last systemic therapy
within 28 d``). Its ``status`` says whether that condition holds for the patient:

* ``met`` / ``not_met``: decided from in-window evidence;
* ``pending``: the record does not decide it (missing data, an equivocal test, or a
  measurement older than the protocol's screening window) — never silently met or not met;
* ``not_applicable``: its ``when`` condition is false (or ``unless`` true).

Its ``outcome`` says what that means for eligibility. Inclusion: met → ``pass``, not met →
``fail``. **Exclusion: met (the excluding condition holds) → ``fail``; not met → ``pass``.**
Overall: ``ineligible`` if any criterion fails (even while others are pending), else
``pending`` if any is pending, else ``eligible``.

Date operators: ``within X`` holds when fewer than X have elapsed since the date (at exactly
X the wash-out is complete); ``older_than X`` is its complement. A documented absence of the
event (no such therapy in the reviewed history) makes ``within`` false and ``older_than`` true.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from radiotrial.eligibility._derive import DerivedValue, EvaluationOptions, Evidence, derive
from radiotrial.eligibility._record import PatientRecord
from radiotrial.errors import ValidationError
from radiotrial.protocol import Criterion, Protocol
from radiotrial.units import convert

__all__ = [
    "CriterionKind",
    "CriterionResult",
    "CriterionStatus",
    "EligibilityResult",
    "Outcome",
    "Overall",
    "check_record_dates",
    "criterion_variables",
    "evaluate_criteria",
    "evaluate_criterion",
    "evaluate_eligibility",
    "overall_of",
    "screening_windows",
]

CriterionStatus = Literal["met", "not_met", "pending", "not_applicable"]
Outcome = Literal["pass", "fail", "pending", "not_applicable"]
Overall = Literal["eligible", "ineligible", "pending"]
CriterionKind = Literal["inclusion", "exclusion", "protocol"]

_MAX_AGE_Y = 130


@dataclass(frozen=True)
class CriterionResult:
    """The judgement of one criterion, with its evidence and reason in words."""

    id: str
    kind: CriterionKind
    text: str
    variable: str
    operator: str
    threshold: Any
    unit: str | None
    status: CriterionStatus
    outcome: Outcome
    reason: str
    value: Any = None
    value_unit: str | None = None
    evidence: tuple[Evidence, ...] = ()
    window: dict[str, Any] | None = None
    source: str = ""
    assumption: bool = False
    engine_status: CriterionStatus | None = None
    decision: Any = None  # InvestigatorDecision once signed (see _signoff)

    def content_dict(self) -> dict[str, Any]:
        """The engine's judgement only (what an investigator's signature binds to)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "variable": self.variable,
            "operator": self.operator,
            "threshold": self.threshold,
            "unit": self.unit,
            "status": self.engine_status or self.status,
            "reason": self.reason,
            "value": self.value.isoformat() if isinstance(self.value, date) else self.value,
            "value_unit": self.value_unit,
            "evidence": [e.to_dict() for e in self.evidence],
            "window": self.window,
            "source": self.source,
            "assumption": self.assumption,
        }

    @property
    def content_sha256(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`content_dict`."""
        text = json.dumps(
            self.content_dict(),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        d = self.content_dict()
        d["content_sha256"] = self.content_sha256
        d["status"] = self.status
        d["outcome"] = self.outcome
        d["engine_status"] = self.engine_status or self.status
        d["decision"] = None if self.decision is None else self.decision.to_dict()
        return d


def _outcome(kind: CriterionKind, status: CriterionStatus) -> Outcome:
    if status in ("pending", "not_applicable"):
        return status
    holds = status == "met"
    if kind == "exclusion":
        return "fail" if holds else "pass"
    return "pass" if holds else "fail"


def overall_of(criteria: Sequence[CriterionResult]) -> Overall:
    """Combine criterion outcomes: any fail → ineligible; else any pending → pending."""
    outcomes = {c.outcome for c in criteria}
    if "fail" in outcomes:
        return "ineligible"
    if "pending" in outcomes:
        return "pending"
    return "eligible"


@dataclass(frozen=True)
class EligibilityResult:
    """Eligibility of one subject against one protocol on one date."""

    subject_id: str
    protocol_id: str
    as_of: date
    overall: Overall
    criteria: tuple[CriterionResult, ...]
    derived: dict[str, DerivedValue] = field(default_factory=dict)

    def criterion(self, criterion_id: str) -> CriterionResult:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise ValidationError(
            "criterion_id",
            criterion_id,
            f"no such criterion; known: {', '.join(c.id for c in self.criteria)}",
        )

    @property
    def failed(self) -> list[str]:
        return [c.id for c in self.criteria if c.outcome == "fail"]

    @property
    def pending(self) -> list[str]:
        return [c.id for c in self.criteria if c.outcome == "pending"]

    @property
    def fully_confirmed(self) -> bool:
        """Every applicable criterion carries an investigator decision."""
        return all(c.decision is not None for c in self.criteria if c.status != "not_applicable")

    def with_criteria(self, criteria: Sequence[CriterionResult]) -> EligibilityResult:
        return replace(self, criteria=tuple(criteria), overall=overall_of(criteria))

    def to_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for c in self.criteria:
            counts[c.outcome] = counts.get(c.outcome, 0) + 1
        return {
            "subject_id": self.subject_id,
            "protocol_id": self.protocol_id,
            "as_of": self.as_of.isoformat(),
            "overall": self.overall,
            "counts": counts,
            "failed": self.failed,
            "pending": self.pending,
            "fully_confirmed": self.fully_confirmed,
            "criteria": [c.to_dict() for c in self.criteria],
            "derived": {k: v.to_dict() for k, v in self.derived.items()},
        }


def check_record_dates(record: PatientRecord, as_of: date) -> None:
    """Refuse dates after the assessment date or before the date of birth.

    Raises
    ------
    ValidationError
        Naming the field path (``labs[3].date``), the date and the rule.
    """
    birth = record.demographics.birth_date
    for path, d in record.dated_fields():
        if d > as_of:
            raise ValidationError(
                path,
                d.isoformat(),
                f"date is in the future (after the assessment date {as_of.isoformat()})",
            )
        if d < birth and path != "demographics.birth_date":
            raise ValidationError(
                path, d.isoformat(), f"date is before the date of birth {birth.isoformat()}"
            )
    from radiotrial.eligibility._derive import age_in_years

    if age_in_years(birth, as_of) > _MAX_AGE_Y:
        raise ValidationError(
            "demographics.birth_date", birth.isoformat(), f"implies an age above {_MAX_AGE_Y} years"
        )


def screening_windows(protocol: Protocol) -> dict[str, tuple[str, float, str]]:
    """variable → (screening test id, window in days, window text); the shortest window wins."""
    out: dict[str, tuple[str, float, str]] = {}
    for test in protocol.screening_tests:
        days = test.window.to("d")
        for v in test.variables:
            if v not in out or days < out[v][1]:
                out[v] = (test.id, days, f"{test.window.value:g} {test.window.unit}")
    return out


def _fmt(value: Any, unit: str | None) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    return f"{text} {unit}" if unit and unit != "1" else text


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == ">=":
        return bool(left >= right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    if op == "<":
        return bool(left < right)
    if op == "==":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "in":
        return left in right
    if op == "not_in":
        return left not in right
    raise ValidationError("criterion.operator", op, "not a comparison operator")


def evaluate_criterion(
    criterion: Criterion,
    kind: CriterionKind,
    derived: dict[str, DerivedValue],
    *,
    as_of: date,
    windows: dict[str, tuple[str, float, str]] | None = None,
) -> CriterionResult:
    """Judge one criterion from already-derived variables (see the module docstring)."""
    c = criterion
    windows = windows or {}

    def result(
        status: CriterionStatus,
        reason: str,
        dv: DerivedValue | None = None,
        *,
        value: Any = None,
        value_unit: str | None = None,
        window: dict[str, Any] | None = None,
        extra_evidence: tuple[Evidence, ...] = (),
    ) -> CriterionResult:
        ev = (dv.evidence if dv is not None else ()) + extra_evidence
        return CriterionResult(
            id=c.id,
            kind=kind,
            text=c.text,
            variable=c.variable,
            operator=c.operator,
            threshold=c.threshold,
            unit=c.unit,
            source=c.source,
            assumption=c.assumption,
            status=status,
            outcome=_outcome(kind, status),
            reason=reason,
            value=value,
            value_unit=value_unit,
            evidence=ev,
            window=window,
        )

    # applicability
    for cond, wanted in ((c.when, True), (c.unless, False)):
        if cond is None:
            continue
        dv = derived[cond]
        if not dv.known:
            return result(
                "pending",
                f"applies only {'if' if wanted else 'unless'} {cond}, "
                f"which is pending: {dv.derivation}",
                dv,
            )
        if bool(dv.value) != wanted:
            return result(
                "not_applicable",
                f"not applicable: {cond} is {'no' if wanted else 'yes'} ({dv.derivation})",
                dv,
            )

    dv = derived[c.variable]
    if not dv.known:
        return result("pending", f"pending: {dv.derivation}", dv)

    window = None
    if c.variable in windows and dv.date is not None:
        test_id, days, text = windows[c.variable]
        age_d = (as_of - dv.date).days
        window = {
            "test": test_id,
            "window_d": days,
            "measured": dv.date.isoformat(),
            "age_d": age_d,
        }
        if age_d > days:
            return result(
                "pending",
                f"pending: {c.variable} from {dv.date.isoformat()} is {age_d} d old, outside the "
                f"{text} screening window of '{test_id}'; repeat the test",
                dv,
                value=dv.value,
                value_unit=dv.unit,
                window=window,
            )

    op = c.operator
    if op in ("is_true", "is_false"):
        holds = bool(dv.value) is (op == "is_true")
        reason = f"{dv.derivation} → {c.variable} is {'true' if dv.value else 'false'}"
        return result("met" if holds else "not_met", reason, dv, value=dv.value, window=window)

    if op in ("within", "older_than"):
        assert isinstance(c.threshold, int | float) and c.unit is not None
        limit_d = convert(float(c.threshold), c.unit, "d")
        if dv.value is None:  # documented: never happened
            holds = op == "older_than"
            return result(
                "met" if holds else "not_met",
                f"{dv.derivation}: condition '{op} {c.threshold:g} {c.unit}' "
                f"{'holds' if holds else 'does not hold'}",
                dv,
                window=window,
            )
        assert isinstance(dv.value, date)
        elapsed_d = (as_of - dv.value).days
        within = elapsed_d < limit_d
        holds = within if op == "within" else not within
        reason = (
            f"{dv.derivation}: {elapsed_d} d before {as_of.isoformat()}, "
            f"{'within' if within else 'not within'} {c.threshold:g} {c.unit} ({limit_d:g} d)"
        )
        return result("met" if holds else "not_met", reason, dv, value=dv.value, window=window)

    value: Any = dv.value
    value_unit = dv.unit
    if c.unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
        if dv.unit is None:
            raise ValidationError(
                f"criterion {c.id}.unit", c.unit, f"{c.variable} is derived without a unit"
            )
        value = convert(float(value), dv.unit, c.unit)
        value_unit = c.unit
    holds = _compare(op, value, c.threshold)
    threshold_text = (
        _fmt(c.threshold, c.unit)
        if not isinstance(c.threshold, list)
        else "{" + ", ".join(c.threshold) + "}"
    )
    reason = (
        f"{c.variable} {_fmt(value, value_unit)} {op} {threshold_text}: "
        f"{'yes' if holds else 'no'} ({dv.derivation})"
    )
    return result(
        "met" if holds else "not_met", reason, dv, value=value, value_unit=value_unit, window=window
    )


def evaluate_eligibility(
    record: PatientRecord,
    protocol: Protocol,
    *,
    as_of: date | None = None,
    options: EvaluationOptions | None = None,
) -> EligibilityResult:
    """Evaluate every inclusion and exclusion criterion of ``protocol`` for ``record``.

    Parameters
    ----------
    record : PatientRecord
        Validated screening data (:func:`radiotrial.eligibility.parse_patient_record`).
    protocol : Protocol
        The protocol whose ``eligibility`` and ``screening_tests`` (validity windows) apply.
    as_of : date, optional
        Assessment date: ages, wash-outs and screening windows are counted to this date; no
        record date may lie after it. Defaults to the record's ``assessment_date``.
    options : EvaluationOptions, optional
        Protocol choices not carried by the criteria (Cockcroft–Gault weight).

    Returns
    -------
    EligibilityResult
        Overall ``eligible`` / ``ineligible`` / ``pending`` and one :class:`CriterionResult`
        per criterion with status, outcome, evidence and reason.

    Raises
    ------
    ValidationError
        Dates in the future or before birth, impossible values, unknown units (naming the
        record field), a criterion on a variable the engine cannot derive.

    Examples
    --------
    >>> from datetime import date
    >>> from radiotrial.protocol import bundled_protocol
    >>> from radiotrial.eligibility import example_record
    >>> res = evaluate_eligibility(example_record("eligible"), bundled_protocol())
    >>> res.overall, res.as_of
    ('eligible', datetime.date(2025, 6, 10))
    """
    if as_of is None:
        if record.assessment_date is None:
            raise ValidationError(
                "as_of", None, "give the assessment date (or set assessment_date in the record)"
            )
        as_of = record.assessment_date
    check_record_dates(record, as_of)
    opts = options or EvaluationOptions()
    derived = {v: derive(v, record, as_of, opts) for v in criterion_variables(protocol)}
    result = evaluate_criteria(protocol, derived, subject_id=record.subject_id, as_of=as_of)
    results = list(result.criteria)
    residency = record.demographics.residency
    if residency == "expatriate" and not protocol.expatriates_eligible:
        ev = Evidence(
            "demographics.residency", "residency", residency, None, None, record.demographics.source
        )
        results.append(
            CriterionResult(
                id="P-EXPATRIATE",
                kind="protocol",
                text="Expatriates are not eligible under this protocol",
                variable="residency",
                operator="==",
                threshold="resident",
                unit=None,
                status="not_met",
                outcome="fail",
                reason="the protocol does not admit expatriates (expatriates_eligible: false)",
                value=residency,
                evidence=(ev,),
                source="protocol.expatriates_eligible",
            )
        )
    return result.with_criteria(results)


def criterion_variables(protocol: Protocol) -> list[str]:
    """Every variable the protocol's criteria test or condition on (``when``/``unless``)."""
    needed: list[str] = []
    for c in (*protocol.eligibility.inclusion, *protocol.eligibility.exclusion):
        for v in (c.variable, c.when, c.unless):
            if v is not None and v not in needed:
                needed.append(v)
    return needed


def evaluate_criteria(
    protocol: Protocol,
    derived: dict[str, DerivedValue],
    *,
    subject_id: str,
    as_of: date,
) -> EligibilityResult:
    """Judge every inclusion and exclusion criterion from already-derived variables.

    ``derived`` must hold every variable of :func:`criterion_variables` (``known=False`` for
    those not decided); screening windows are counted to ``as_of``. This is the engine behind
    :func:`evaluate_eligibility` (variables derived from a patient record) and behind the
    registry's evaluation of recorded evidence.
    """
    missing = [v for v in criterion_variables(protocol) if v not in derived]
    if missing:
        raise ValidationError("derived", missing, "no value (known or pending) for these variables")
    windows = screening_windows(protocol)
    results = [
        evaluate_criterion(c, "inclusion", derived, as_of=as_of, windows=windows)
        for c in protocol.eligibility.inclusion
    ] + [
        evaluate_criterion(c, "exclusion", derived, as_of=as_of, windows=windows)
        for c in protocol.eligibility.exclusion
    ]
    return EligibilityResult(
        subject_id=subject_id,
        protocol_id=protocol.id,
        as_of=as_of,
        overall=overall_of(results),
        criteria=tuple(results),
        derived=derived,
    )
