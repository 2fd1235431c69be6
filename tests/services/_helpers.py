"""Helpers that walk a subject along the workflow through the public services."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from radiotrial.registry import Actor
from radiotrial.services import (
    CriterionDecision,
    EvidenceItem,
    ServiceContext,
    decide_eligibility,
    evaluate_subject,
    open_screening,
    record_evidence,
    register_prescreen,
)
from tests.registry._fixtures import PASSWORD

# a complete screening record that meets the bundled protocol's criteria (variable, value,
# unit, screening test); None for a date variable: documented as never given
ELIGIBLE: list[tuple[str, object, str | None, str | None]] = [
    ("age", 54, "y", None),
    ("er_percent", 80, "%", None),
    ("her2_status", "negative", None, None),
    ("metastatic_or_unresectable", True, None, None),
    ("recist_measurable", True, None, "recist-imaging"),
    ("liver_metastases", False, None, "recist-imaging"),
    ("brain_metastases", "none", None, "recist-imaging"),
    ("neob_pet_positive", True, None, "neob-pet"),
    ("prior_endocrine_therapy", True, None, None),
    ("ecog", 1, None, "performance-status"),
    ("life_expectancy", 26, "week", None),
    ("haemoglobin", 11.8, "g/dL", "labs"),
    ("platelets", 210, "10^9/L", "labs"),
    ("wbc", 5.1, "10^9/L", "labs"),
    ("anc", 3.2, "10^9/L", "labs"),
    ("egfr", 88, "mL/min/1.73m2", "labs"),
    ("albumin", 4.0, "g/dL", "labs"),
    ("bilirubin", 0.6, "xULN", "labs"),
    ("alt", 0.8, "xULN", "labs"),
    ("ast", 0.9, "xULN", "labs"),
    ("prior_radioligand_therapy", False, None, None),
    ("last_bone_seeking_radionuclide", None, None, None),
    ("last_systemic_therapy", "2024-01-10", None, None),
    ("transfusion_to_meet_eligibility", False, None, None),
    ("pregnant_or_breastfeeding", False, None, "pregnancy-test"),
    ("diffuse_marrow_involvement", False, None, None),
]


def identity(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "family_name": f"Zhang{i}",
        "given_name": "Wei",
        "name_native": "张伟",
        "date_of_birth": date(1970, 1, 1) + timedelta(days=i),
        "email": f"patient{i}@example.org",
        "phone": "+86 21 6417 5590",
        "document_type": "passport",
        "document_number": f"E{i:08d}",
        "document_country": "CHN",
        "nationality": "CHN",
        "preferred_language": "zh",
        **extra,
    }


def screening_evidence(
    ctx: ServiceContext, *, at: datetime | None = None, **values: object
) -> list[EvidenceItem]:
    """:data:`ELIGIBLE` as observations two days old (or at ``at``); ``values`` replace some."""
    at = at or ctx.now() - timedelta(days=2)
    unknown = set(values) - {v for v, *_ in ELIGIBLE}
    assert not unknown, unknown
    return [
        EvidenceItem(var, values.get(var, value), at, f"source of {var}", unit, test)  # type: ignore[arg-type]
        for var, value, unit, test in ELIGIBLE
    ]


def confirm_all(ctx: ServiceContext, actor: Actor, code: str) -> list[CriterionDecision]:
    """The investigator confirms every criterion exactly as the engine judged it."""
    result = evaluate_subject(ctx, actor, code)
    return [CriterionDecision(c.id, "confirm", content_sha256=c.content_sha256)
            for c in result.criteria]  # fmt: skip


def make_eligible(ctx: ServiceContext, coordinator: Actor, investigator: Actor, i: int) -> str:
    """Pre-screen → screening → evidence → engine → signed 'eligible' decision; returns the code."""
    code = register_prescreen(
        ctx, identity(i), consents={"contact": True, "health_data": True}
    ).reference
    open_screening(ctx, coordinator, code)
    record_evidence(ctx, coordinator, code, screening_evidence(ctx))
    decide_eligibility(
        ctx,
        investigator,
        code,
        overall="eligible",
        decisions=confirm_all(ctx, investigator, code),
        reason="all criteria met on the recorded evidence",
        password=PASSWORD,
    )
    return code
