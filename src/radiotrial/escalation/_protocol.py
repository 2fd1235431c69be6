"""The escalation design a trial protocol names, with the protocol's numbers.

One home for reading ``protocol.escalation`` and ``protocol.dose_levels`` into design settings:
the registry services (enrolment, trial status) and the ``radiotrial design`` commands both
build their design here, so the same protocol always gives the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from radiotrial.errors import ValidationError
from radiotrial.escalation._boin import BoinDesign
from radiotrial.escalation._engine import CohortDesign
from radiotrial.escalation._threeplusthree import ThreePlusThree

if TYPE_CHECKING:  # only read here: escalation does not load pydantic at import
    from radiotrial.protocol import Protocol

__all__ = ["ProtocolDesignSettings", "design_from_protocol", "design_settings"]


@dataclass(frozen=True, slots=True)
class ProtocolDesignSettings:
    """Escalation settings read from a protocol.

    Attributes
    ----------
    design : str
        Design named by ``protocol.escalation.design`` (e.g. ``"boin"``, ``"3+3-deescalation"``).
    activity_gbq : tuple of float
        Activity of each dose level (GBq), level 1 first.
    target : float
        Target DLT rate (fraction).
    cohort_size : int
        Patients per cohort.
    max_cohorts : int
        Cohorts within the maximum sample size, ⌊max_sample_size / cohort_size⌋ (at least 1).
    start_level : int
        Starting level, 1-based.
    """

    design: str
    activity_gbq: tuple[float, ...]
    target: float
    cohort_size: int
    max_cohorts: int
    start_level: int


def design_settings(protocol: Protocol) -> ProtocolDesignSettings:
    """Design settings of ``protocol``: levels in GBq, target DLT rate, cohorts, start level."""
    esc = protocol.escalation
    return ProtocolDesignSettings(
        design=esc.design,
        activity_gbq=tuple(protocol.dose_levels.activity_gbq),
        target=esc.target_fraction,
        cohort_size=esc.cohort_size,
        max_cohorts=max(1, esc.max_sample_size // esc.cohort_size),
        start_level=protocol.dose_levels.starting_level,
    )


def design_from_protocol(protocol: Protocol) -> CohortDesign:
    """The cohort design named by ``protocol.escalation`` (BOIN or a 3+3 variant).

    BOIN takes the protocol's target, cohort size, ⌊max sample size / cohort size⌋ cohorts and
    starting level; 3+3 takes ⌊max sample size / 3⌋ cohorts of 3 and the starting level.

    Raises
    ------
    ValidationError
        ``protocol.escalation.design`` is a time-to-event, CRM or dosimetry-guided design: these
        need per-patient follow-up, a skeleton or organ doses that a protocol alone does not give.
    """
    s = design_settings(protocol)
    n_levels = len(s.activity_gbq)
    if s.design == "boin":
        return BoinDesign(
            s.target,
            n_levels,
            cohort_size=s.cohort_size,
            max_cohorts=s.max_cohorts,
            start_level=s.start_level,
        )
    if s.design in ("3+3", "3+3-deescalation"):
        return ThreePlusThree(
            n_levels,
            variant="escalation-only" if s.design == "3+3" else "de-escalation",
            max_cohorts=max(1, protocol.escalation.max_sample_size // 3),
            start_level=s.start_level,
        )
    raise ValidationError(
        "protocol.escalation.design",
        s.design,
        "the registry services run BOIN and 3+3 designs; time-to-event and dosimetry-guided "
        "designs need per-patient follow-up that enrolment does not feed yet",
    )
