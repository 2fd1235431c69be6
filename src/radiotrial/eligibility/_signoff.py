"""Investigator confirmation or override of each criterion, as e-signature-ready data.

A decision binds to the exact engine judgement it was made on: the SHA-256 of the criterion's
canonical JSON (:meth:`CriterionResult.content_dict`). If the record changes and the engine's
judgement with it, the old decision no longer applies (:func:`apply_decisions` refuses it), in
the spirit of 21 CFR Part 11 §11.70 (signature/record linking). The decision carries the signer's
printed name, the date and time, and the meaning of the signature (§11.50). Persisting it, and
authenticating the signer, is the registry's job; this module is pure data and checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from radiotrial.eligibility._engine import (
    CriterionResult,
    CriterionStatus,
    EligibilityResult,
    _outcome,
)
from radiotrial.errors import ValidationError
from radiotrial.units import check_aware

__all__ = ["InvestigatorDecision", "apply_decisions", "criterion_digest", "sign_criterion"]

Action = Literal["confirm", "override"]


def criterion_digest(criterion: CriterionResult) -> str:
    """SHA-256 (hex) of the canonical JSON of a criterion's engine judgement."""
    return criterion.content_sha256


@dataclass(frozen=True, slots=True)
class InvestigatorDecision:
    """One investigator's signed confirmation or override of one criterion."""

    subject_id: str
    protocol_id: str
    as_of: date
    criterion_id: str
    action: Action
    engine_status: CriterionStatus
    status: CriterionStatus
    reason: str
    signer_id: str
    signer_name: str
    signer_role: Literal["investigator"]
    signed_at: datetime
    meaning: str
    content_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject_id": self.subject_id,
            "protocol_id": self.protocol_id,
            "as_of": self.as_of.isoformat(),
            "criterion_id": self.criterion_id,
            "action": self.action,
            "engine_status": self.engine_status,
            "status": self.status,
            "reason": self.reason,
            "signer_id": self.signer_id,
            "signer_name": self.signer_name,
            "signer_role": self.signer_role,
            "signed_at": self.signed_at.isoformat(),
            "meaning": self.meaning,
            "content_sha256": self.content_sha256,
        }


def sign_criterion(
    result: EligibilityResult,
    criterion_id: str,
    *,
    action: Action,
    signer_id: str,
    signer_name: str,
    signed_at: datetime,
    reason: str = "",
    status: CriterionStatus | None = None,
) -> InvestigatorDecision:
    """Build an investigator's decision on one criterion of ``result``.

    Parameters
    ----------
    result : EligibilityResult
        The engine's result the investigator reviewed.
    criterion_id : str
        The criterion (``I-PLT``); unknown ids raise.
    action : {"confirm", "override"}
        Confirm the engine's status, or replace it with ``status``.
    signer_id, signer_name : str
        Registry user id and printed name of the investigator.
    signed_at : datetime
        Timezone-aware date and time of signing.
    reason : str
        Required for an override (why the engine's judgement is replaced).
    status : {"met", "not_met", "not_applicable"}, optional
        The new status (override only).

    Notes
    -----
    A *pending* judgement can be confirmed (it stays pending) but not overridden: pending means
    the evidence is missing or outside its screening window, and the remedy is to record it,
    after which the engine judges the criterion again. An override replaces a judgement made on
    evidence, never missing evidence.

    Raises
    ------
    ValidationError
        Unknown criterion, naive datetime, override without a reason, of a pending judgement,
        or with the same or a pending status.
    """
    crit = result.criterion(criterion_id)
    check_aware("signed_at", signed_at)
    if not signer_id.strip() or not signer_name.strip():
        raise ValidationError("signer_id", signer_id, "signer id and printed name are required")
    engine_status = crit.engine_status or crit.status
    if action == "confirm":
        if status is not None and status != engine_status:
            raise ValidationError(
                f"{criterion_id}.status",
                status,
                "a confirmation keeps the engine's status; use action='override'",
            )
        final: CriterionStatus = engine_status
        meaning = (
            f"I confirm that criterion {criterion_id} is {engine_status} on the evidence shown."
        )
    elif action == "override":
        if not reason.strip():
            raise ValidationError(f"{criterion_id}.reason", reason, "an override needs a reason")
        if engine_status == "pending":
            raise ValidationError(
                f"criterion {criterion_id}",
                "pending",
                "a pending criterion lacks in-window evidence: record the evidence, do not "
                "override it",
            )
        if status is None or status == "pending":
            raise ValidationError(
                f"{criterion_id}.status", status, "an override sets met, not_met or not_applicable"
            )
        if status == engine_status:
            raise ValidationError(
                f"{criterion_id}.status", status, "equals the engine's status; use action='confirm'"
            )
        final = status
        meaning = (
            f"I override criterion {criterion_id} from {engine_status} to {status} "
            "and take responsibility for this judgement."
        )
    else:
        raise ValidationError("action", action, "must be 'confirm' or 'override'")
    return InvestigatorDecision(
        subject_id=result.subject_id,
        protocol_id=result.protocol_id,
        as_of=result.as_of,
        criterion_id=criterion_id,
        action=action,
        engine_status=engine_status,
        status=final,
        reason=reason.strip(),
        signer_id=signer_id.strip(),
        signer_name=signer_name.strip(),
        signer_role="investigator",
        signed_at=signed_at,
        meaning=meaning,
        content_sha256=criterion_digest(crit),
    )


def apply_decisions(
    result: EligibilityResult, decisions: Iterable[InvestigatorDecision]
) -> EligibilityResult:
    """Apply signed decisions to a result; the overall verdict is recomputed.

    The latest decision (by ``signed_at``) per criterion wins. Each criterion keeps its
    ``engine_status`` next to the final ``status``.

    Raises
    ------
    ValidationError
        A decision for another subject, protocol or date, an unknown criterion, or one signed
        on a different version of the criterion's judgement (stale signature).
    """
    latest: dict[str, InvestigatorDecision] = {}
    for d in decisions:
        if (d.subject_id, d.protocol_id, d.as_of) != (
            result.subject_id,
            result.protocol_id,
            result.as_of,
        ):
            raise ValidationError(
                "decision",
                f"{d.subject_id}/{d.protocol_id}/{d.as_of}",
                "belongs to another evaluation than "
                f"{result.subject_id}/{result.protocol_id}/{result.as_of}",
            )
        crit = result.criterion(d.criterion_id)
        if criterion_digest(crit) != d.content_sha256:
            raise ValidationError(
                f"decision[{d.criterion_id}].content_sha256",
                d.content_sha256[:12],
                "signed a different version of this criterion's judgement; review and sign again",
            )
        if d.criterion_id not in latest or d.signed_at > latest[d.criterion_id].signed_at:
            latest[d.criterion_id] = d
    out: list[CriterionResult] = []
    for c in result.criteria:
        chosen = latest.get(c.id)
        if chosen is None:
            out.append(c)
            continue
        out.append(
            replace(
                c,
                engine_status=c.engine_status or c.status,
                status=chosen.status,
                outcome=_outcome(c.kind, chosen.status),
                decision=chosen,
            )
        )
    return result.with_criteria(out)
