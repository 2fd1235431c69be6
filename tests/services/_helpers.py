"""Helpers that walk a subject along the workflow through the public services."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from radiotrial.registry import Actor
from radiotrial.services import (
    EvidenceItem,
    ServiceContext,
    decide_eligibility,
    open_screening,
    record_evidence,
    register_prescreen,
)
from tests.registry._fixtures import PASSWORD


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


def all_criteria_met(ctx: ServiceContext) -> list[dict[str, Any]]:
    elig = ctx.protocol.eligibility
    return [{"id": c.id, "status": "met", "reason": "documented"} for c in elig.inclusion] + [
        {"id": c.id, "status": "not_met", "reason": "documented"} for c in elig.exclusion
    ]


def screening_evidence(ctx: ServiceContext) -> list[EvidenceItem]:
    at = ctx.now() - timedelta(days=2)
    return [
        EvidenceItem("platelets", 210.0, at, "lab report L-1", unit="10^9/L", test_id="labs"),
        EvidenceItem("neob_pet_positive", True, at, "PET report P-1", test_id="neob-pet"),
        EvidenceItem("recist_measurable", True, at, "CT report C-1", test_id="recist-imaging"),
        EvidenceItem("pregnant_or_breastfeeding", False, at, "hCG test", test_id="pregnancy-test"),
    ]


def make_eligible(ctx: ServiceContext, coordinator: Actor, investigator: Actor, i: int) -> str:
    """Pre-screen → screening → evidence → signed 'eligible' decision; returns the code."""
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
        criteria=all_criteria_met(ctx),
        reason="all criteria met",
        password=PASSWORD,
    )
    return code
