"""Subject workflow on FHIR ResearchSubject status codes.

The codes are those of the HL7 FHIR R4 value set ``research-subject-status``
(http://hl7.org/fhir/R4/valueset-research-subject-status.html). radiotrial's path through them:

    potential-candidate (pre-screen request) → candidate (taken forward) → screening
    → eligible | ineligible → on-study (enrolled in a cohort slot)
    → on-study-intervention (from the first administration) → follow-up → off-study

``withdrawn`` is reachable from every active state, ``not-registered`` from the states before
enrolment; ``ineligible`` may return to ``screening`` once (re-screening with new evidence).
"""

from __future__ import annotations

from typing import Final, Literal

from radiotrial.registry._errors import WorkflowError

__all__ = ["ACTIVE", "FHIR_STATUSES", "TERMINAL", "TRANSITIONS", "Status", "check_transition"]

Status = Literal[
    "potential-candidate",
    "candidate",
    "screening",
    "eligible",
    "ineligible",
    "not-registered",
    "pending-on-study",
    "on-study",
    "on-study-intervention",
    "on-study-observation",
    "follow-up",
    "off-study",
    "withdrawn",
]

FHIR_STATUSES: Final[tuple[str, ...]] = (
    "potential-candidate",
    "candidate",
    "screening",
    "eligible",
    "ineligible",
    "not-registered",
    "pending-on-study",
    "on-study",
    "on-study-intervention",
    "on-study-observation",
    "follow-up",
    "off-study",
    "withdrawn",
)

TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "potential-candidate": frozenset({"candidate", "not-registered", "withdrawn"}),
    "candidate": frozenset({"screening", "not-registered", "withdrawn"}),
    "screening": frozenset({"eligible", "ineligible", "not-registered", "withdrawn"}),
    "eligible": frozenset({"on-study", "screening", "not-registered", "withdrawn"}),
    "ineligible": frozenset({"screening", "not-registered"}),
    "on-study": frozenset({"on-study-intervention", "off-study", "withdrawn"}),
    "on-study-intervention": frozenset({"follow-up", "off-study", "withdrawn"}),
    "follow-up": frozenset({"off-study", "withdrawn"}),
    "not-registered": frozenset(),
    "off-study": frozenset(),
    "withdrawn": frozenset(),
    # defined by FHIR, not used by radiotrial's path: no way in, so no way out either
    "pending-on-study": frozenset(),
    "on-study-observation": frozenset(),
}

TERMINAL: Final[frozenset[str]] = frozenset({"not-registered", "off-study", "withdrawn"})
ACTIVE: Final[frozenset[str]] = frozenset({"on-study", "on-study-intervention", "follow-up"})


def check_transition(subject_code: str, current: str, new: str) -> None:
    """Raise :class:`WorkflowError` unless ``current → new`` is an allowed transition."""
    if new not in FHIR_STATUSES:
        raise WorkflowError("status", new, f"not a FHIR ResearchSubject status ({FHIR_STATUSES})")
    allowed = TRANSITIONS.get(current, frozenset())
    if new not in allowed:
        nxt = ", ".join(sorted(allowed)) if allowed else "none (final status)"
        raise WorkflowError(
            f"subject {subject_code} status",
            f"{current} → {new}",
            f"transition not allowed; from {current} the next status may be: {nxt}",
        )
