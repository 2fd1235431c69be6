"""JSON API: dosimetry review per subject and cycle, and the trial's escalation view — what
the staff pages :mod:`radiotrial.web._staff_dosimetry` and
:mod:`radiotrial.web._staff_escalation` show, as data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

from radiotrial.registry import Actor
from radiotrial.services import trial_status
from radiotrial.web._api import Code, api_router, jsonable, require, services
from radiotrial.web._context import context_of
from radiotrial.web._dosimetry import link_run, review_cycle
from radiotrial.web._staff_escalation import choose_truth, escalation_summary

__all__ = ["review_router"]

review_router = api_router("review")
Cycle = Annotated[int, Field(ge=1, le=100)]


class LinkIn(BaseModel):
    """A dosimetry run folder, relative to ``RADIOTRIAL_DOSIMETRY_DIR``."""

    model_config = ConfigDict(extra="forbid")
    analysis_ref: Annotated[str, Field(min_length=1, max_length=300)]


@review_router.get("/subjects/{code}/cycles/{cycle}/dosimetry")
def dosimetry(
    request: Request,
    code: Code,
    cycle: Cycle,
    actor: Annotated[Actor, require("trial.read")],
    kidney_risk_factors: bool = True,
) -> Any:
    """The cycle's region table (dose ± SD, BED, cumulative vs limits), the planned maximum
    activity for the next cycle with the organ that limits it, and the notes; ``null`` when
    the cycle has no dosimetry yet."""
    review = review_cycle(
        services(request), actor, code, cycle, context_of(request).settings.dosimetry_dir,
        kidney_risk_factors=kidney_risk_factors,
    )  # fmt: skip
    return None if review is None else jsonable(review.to_dict())


@review_router.post("/subjects/{code}/cycles/{cycle}/dosimetry", status_code=201)
def link_dosimetry(
    request: Request,
    code: Code,
    cycle: Cycle,
    body: LinkIn,
    actor: Annotated[Actor, require("dosimetry.record")],
) -> dict[str, list[int]]:
    """Link a dosimetry run to the cycle: its doses are recorded in the registry."""
    ids = link_run(
        services(request), actor, code, cycle, context_of(request).settings.dosimetry_dir,
        body.analysis_ref,
    )  # fmt: skip
    return {"ids": ids}


@review_router.get("/trial/status")
def status(request: Request, actor: Annotated[Actor, require("trial.read")]) -> Any:
    """Dose levels, cohorts, DLTs and the escalation design's current recommendation."""
    return jsonable(trial_status(services(request), actor))


@review_router.get("/escalation")
def escalation(
    request: Request,
    actor: Annotated[Actor, require("trial.read")],
    cohorts: Annotated[int, Field(ge=1, le=3)] = 2,
    truth: Annotated[str | None, Field(max_length=200)] = None,
    scenario: Annotated[str | None, Field(max_length=64)] = None,
) -> Any:
    """The trial status and recommendation, dose-transition pathways ``cohorts`` ahead, and
    exact operating characteristics under typed true DLT rates (``truth``: one per level,
    comma-separated) or a shipped scenario."""
    ctx = services(request)
    rates, name = choose_truth(ctx, truth, scenario)
    return jsonable({**escalation_summary(ctx, actor, cohorts, rates), "scenario": name})
