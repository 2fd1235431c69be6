"""JSON API: adverse events (CTCAE v5.0 grading from a laboratory value) and signed DLT
adjudication — the safety part of the staff subject page (:mod:`radiotrial.web._staff_safety`).

Field names are CDISC SDTM AE's. With a laboratory ``value`` the grade is computed by
:func:`radiotrial.safety.grade_lab` (the same :func:`~radiotrial.web._staff_safety.grade_event`
as the form) and a typed ``AETOXGR`` is refused; without one, ``AETOXGR`` is required.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from radiotrial.errors import ValidationError
from radiotrial.registry import Actor
from radiotrial.services import (
    adjudicate_dlt,
    propose_dlt,
    report_adverse_event,
    update_adverse_event,
)
from radiotrial.web._api import Code, api_router, jsonable, require, services
from radiotrial.web._staff_safety import grade_event

__all__ = ["safety_router"]

safety_router = api_router("safety")

Grade = Annotated[int, Field(ge=1, le=5)]
Short = Annotated[str, Field(min_length=1, max_length=200)]
Number = Annotated[float, Field(allow_inf_nan=False)]
EventId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class AdverseEventIn(BaseModel):
    """A new adverse event (SDTM AE names)."""

    model_config = ConfigDict(extra="forbid")
    AETERM: Short | None = Field(None, description="Verbatim term (default: the CTCAE term).")
    ctcae_term: Short | None = Field(None, description="CTCAE v5.0 term (AEDECOD).")
    value: Number | None = Field(None, description="Laboratory value: the grade is computed.")
    unit: Annotated[str, Field(max_length=32)] | None = None
    lln: Number | None = None
    uln: Number | None = None
    baseline: Number | None = None
    AETOXGR: Grade | None = Field(None, description="CTCAE grade, when there is no value.")
    AESTDTC: AwareDatetime
    AEENDTC: AwareDatetime | None = None
    AEREL: Literal["unrelated", "unlikely", "possible", "probable", "definite"]
    AESER: Literal["Y", "N"] = "N"
    AEOUT: Short | None = None
    AEACN: Short | None = None


class AdverseEventOut(BaseModel):
    AESPID: int
    AEDECOD: str
    AETOXGR: int
    grading_rule: str | None = Field(description="The CTCAE rule applied to the value, if any.")


class AdverseEventChange(BaseModel):
    """A change of grade, end date or outcome, with its reason (voids an earlier DLT
    adjudication of the event)."""

    model_config = ConfigDict(extra="forbid")
    AETOXGR: Grade | None = None
    AEENDTC: AwareDatetime | None = None
    AEOUT: Short | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class AdjudicationIn(BaseModel):
    """The investigator's DLT verdict, e-signed with the password; a DLT names the protocol
    rule it meets."""

    model_config = ConfigDict(extra="forbid")
    is_dlt: bool
    rationale: Annotated[str, Field(min_length=1, max_length=1000)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    rule_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


@safety_router.post(
    "/subjects/{code}/adverse-events", status_code=201, response_model=AdverseEventOut
)
def report_event(
    request: Request,
    code: Code,
    body: AdverseEventIn,
    actor: Annotated[Actor, require("ae.report")],
) -> AdverseEventOut:
    """Record an adverse event; a laboratory value is graded by CTCAE v5.0."""
    if body.value is not None and body.AETOXGR is not None:
        raise ValidationError("AETOXGR", body.AETOXGR, "the grade is computed from the value")
    decod, grade, lab = grade_event(
        ctcae_term=body.ctcae_term, aeterm=body.AETERM, value=body.value, unit=body.unit,
        lln=body.lln, uln=body.uln, baseline=body.baseline, aetoxgr=body.AETOXGR,
    )  # fmt: skip
    aespid = report_adverse_event(
        services(request), actor, code, aeterm=body.AETERM or decod, aedecod=decod,
        aetoxgr=grade, aestdtc=body.AESTDTC, aeendtc=body.AEENDTC, aerel=body.AEREL,
        aeser=body.AESER, aeout=body.AEOUT, aeacn=body.AEACN,
    )  # fmt: skip
    return AdverseEventOut(
        AESPID=aespid, AEDECOD=decod, AETOXGR=grade, grading_rule=lab.rule if lab else None
    )


@safety_router.post("/subjects/{code}/adverse-events/{aespid}", status_code=204)
def update_event(
    request: Request,
    code: Code,
    aespid: EventId,
    body: AdverseEventChange,
    actor: Annotated[Actor, require("ae.report")],
) -> None:
    """Change an adverse event's grade, end date or outcome (with a reason)."""
    names = {"AETOXGR": "aetoxgr", "AEENDTC": "aeendtc", "AEOUT": "aeout"}
    changes = {field: getattr(body, name) for name, field in names.items() if getattr(body, name)}
    if not changes:
        raise ValidationError("changes", {}, "change AETOXGR, AEENDTC or AEOUT")
    update_adverse_event(services(request), actor, code, aespid, changes, reason=body.reason)


@safety_router.post("/subjects/{code}/adverse-events/{aespid}/adjudication", status_code=201)
def adjudicate_event(
    request: Request,
    code: Code,
    aespid: EventId,
    body: AdjudicationIn,
    actor: Annotated[Actor, require("dlt.adjudicate")],
) -> Any:
    """Adjudicate an adverse event as a DLT or not, e-signed."""
    return jsonable(
        adjudicate_dlt(
            services(request), actor, code, aespid, is_dlt=body.is_dlt,
            rationale=body.rationale, password=body.password,
            rule_id=body.rule_id if body.is_dlt else None,
        )
    )  # fmt: skip


@safety_router.get("/subjects/{code}/dlt-proposal")
def dlt_proposal(
    request: Request, code: Code, actor: Annotated[Actor, require("trial.read")]
) -> Any:
    """The rule-based DLT verdict per adverse event (a proposal; nothing is written)."""
    return jsonable(propose_dlt(services(request), actor, code))
