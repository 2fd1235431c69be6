"""JSON API: subjects, screening, the signed eligibility decision and enrolment.

The same use cases as the staff subject page (:mod:`radiotrial.web._staff`), each behind the
permission the page's action needs. Times are ISO 8601 with a UTC offset (the staff forms read
site time; a programmatic client says which zone it means).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from radiotrial.registry import Actor, IdentityRecord
from radiotrial.services import (
    CriterionDecision,
    EvidenceItem,
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
from radiotrial.web._api import Code, api_router, jsonable, require, services
from radiotrial.web._screening import list_subjects

__all__ = ["subjects_router"]

subjects_router = api_router("subjects")

Reason = Annotated[str, Field(min_length=1, max_length=500)]
Password = Annotated[str, Field(min_length=1, max_length=1024)]


class SubjectSummary(BaseModel):
    code: str
    status: str
    status_at: datetime
    source: str
    dose_level: int | None


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variable: Annotated[str, Field(min_length=1, max_length=64)]
    value: float | bool | str | None  # None: a date variable's event documented as never
    unit: Annotated[str, Field(max_length=32)] | None = None
    observed_at: datetime
    source_document: Annotated[str, Field(min_length=1, max_length=200)]
    test_id: Annotated[str, Field(max_length=64)] | None = None


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Annotated[str, Field(max_length=500)] | None = None


class ReasonIn(BaseModel):
    """Why identity data is read (audited with the read)."""

    model_config = ConfigDict(extra="forbid")
    reason: Reason


class CriterionDecisionIn(BaseModel):
    """The investigator's decision on one criterion of the engine's evaluation: confirm it, or
    override it with a status and a reason. ``content_sha256`` (from ``GET …/screening``) names
    the judgement reviewed; a judgement changed since is refused, not signed unseen."""

    model_config = ConfigDict(extra="forbid")
    criterion_id: Annotated[str, Field(min_length=1, max_length=64)]
    action: Literal["confirm", "override"]
    status: Literal["met", "not_met", "pending", "not_applicable"] | None = None
    reason: Annotated[str, Field(max_length=500)] = ""
    content_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


class DecisionIn(BaseModel):
    """The investigator's decision on the engine's evaluation of the recorded evidence, every
    criterion decided, e-signed with the password (re-authentication, 21 CFR 11.200)."""

    model_config = ConfigDict(extra="forbid")
    overall: Literal["eligible", "ineligible"]
    decisions: Annotated[list[CriterionDecisionIn], Field(min_length=1, max_length=200)]
    reason: Reason
    password: Password


class DecisionOut(BaseModel):
    decision_id: int


class EnrolmentOut(BaseModel):
    subject: str
    cohort: int
    slot: int
    dose_level: int
    activity_gbq: float
    decision: dict[str, Any]


@subjects_router.get("/subjects", response_model=list[SubjectSummary])
def subjects(
    request: Request,
    actor: Annotated[Actor, require("trial.read")],
    status: Annotated[str | None, Field(max_length=32)] = None,
) -> list[SubjectSummary]:
    """Subjects (pseudonymous), newest status change first."""
    rows = list_subjects(services(request), actor, statuses=(status,) if status else ())
    return [SubjectSummary(**row.__dict__) for row in rows]


@subjects_router.get("/subjects/{code}")
def subject(request: Request, code: Code, actor: Annotated[Actor, require("trial.read")]) -> Any:
    """A subject's status, milestones, cycles, adverse events and signatures."""
    return jsonable(subject_status(services(request), actor, code))


@subjects_router.post("/subjects/{code}/identity", response_model=IdentityRecord,
                      response_model_exclude_none=True)  # fmt: skip
def identity(
    request: Request, code: Code, body: ReasonIn, actor: Annotated[Actor, require("identity.read")]
) -> IdentityRecord:
    """The subject's identity from the vault; the read is audited with its reason."""
    return reveal_identity(services(request), actor, code, reason=body.reason)


@subjects_router.get("/subjects/{code}/screening")
def screening(request: Request, code: Code, actor: Annotated[Actor, require("trial.read")]) -> Any:
    """Screening tests with their windows, and the eligibility engine's per-criterion results."""
    ctx = services(request)
    result = evaluate_subject(ctx, actor, code).to_dict()
    return jsonable(
        {
            "checklist": screening_checklist(ctx, actor, code),
            "overall": result["overall"],
            "as_of": result["as_of"],
            "criteria": result["criteria"],
        }
    )


@subjects_router.post("/subjects/{code}/candidate", status_code=204)
def to_candidate(
    request: Request,
    code: Code,
    body: TransitionIn,
    actor: Annotated[Actor, require("screening.open")],
) -> None:
    """Potential candidate → candidate."""
    take_forward(services(request), actor, code, note=body.note)


@subjects_router.post("/subjects/{code}/screening", status_code=204)
def to_screening(
    request: Request,
    code: Code,
    body: TransitionIn,
    actor: Annotated[Actor, require("screening.open")],
) -> None:
    """Open screening."""
    open_screening(services(request), actor, code, note=body.note)


@subjects_router.post("/subjects/{code}/evidence", status_code=201)
def evidence(
    request: Request,
    code: Code,
    items: Annotated[list[EvidenceIn], Field(min_length=1, max_length=100)],
    actor: Annotated[Actor, require("evidence.record")],
) -> dict[str, list[int]]:
    """Record screening observations (all or none)."""
    ids = record_evidence(
        services(request), actor, code, [EvidenceItem(**item.model_dump()) for item in items]
    )
    return {"ids": ids}


@subjects_router.post("/subjects/{code}/eligibility", status_code=201, response_model=DecisionOut)
def decide(
    request: Request,
    code: Code,
    body: DecisionIn,
    actor: Annotated[Actor, require("eligibility.decide")],
) -> DecisionOut:
    """Sign the eligibility decision (the subject moves to eligible or ineligible)."""
    decisions = [CriterionDecision(**d.model_dump()) for d in body.decisions]
    decision = decide_eligibility(
        services(request), actor, code, overall=body.overall, decisions=decisions,
        reason=body.reason, password=body.password,
    )  # fmt: skip
    return DecisionOut(decision_id=decision)


@subjects_router.post("/subjects/{code}/enrolment", status_code=201, response_model=EnrolmentOut)
def enrolment(
    request: Request, code: Code, actor: Annotated[Actor, require("subject.enrol")]
) -> EnrolmentOut:
    """Enrol an eligible subject at the dose level the design recommends now."""
    return EnrolmentOut(**jsonable(enrol(services(request), actor, code).to_dict()))
