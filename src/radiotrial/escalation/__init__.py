"""Dose-escalation designs, decisions and operating characteristics.

Designs (one interface: trial state → decision with its reason): BOIN (as the R package BOIN),
3+3 (escalation-only and with de-escalation), CRM (empiric and logistic, as dfcrm), TITE-CRM
and TITE-BOIN for late-onset DLTs, and a dosimetry-guided design that escalates on a target
organ absorbed dose. Operating characteristics exactly (dynamic programming over trial states)
or by vectorised simulation with common random numbers. :func:`design_from_protocol` builds the
design a trial protocol names (used by the registry services and the CLI).
"""

from radiotrial.escalation._boin import BoinBoundaries, BoinDesign, boin_boundaries, boin_select_mtd
from radiotrial.escalation._crm import (
    CrmDesign,
    CrmFit,
    CrmModel,
    crm_indifference_intervals,
    getprior,
)
from radiotrial.escalation._engine import (
    CohortDesign,
    Decision,
    OperatingCharacteristics,
    exact_oc,
    simulate_oc,
)
from radiotrial.escalation._isotonic import pava
from radiotrial.escalation._protocol import (
    ProtocolDesignSettings,
    design_from_protocol,
    design_settings,
)
from radiotrial.escalation._state import DoseLevels, Patient, TrialState, parse_outcomes
from radiotrial.escalation._threeplusthree import ThreePlusThree

__all__ = [
    "BoinBoundaries",
    "BoinDesign",
    "CohortDesign",
    "CrmDesign",
    "CrmFit",
    "CrmModel",
    "Decision",
    "DoseLevels",
    "OperatingCharacteristics",
    "Patient",
    "ProtocolDesignSettings",
    "ThreePlusThree",
    "TrialState",
    "boin_boundaries",
    "boin_select_mtd",
    "crm_indifference_intervals",
    "design_from_protocol",
    "design_settings",
    "exact_oc",
    "getprior",
    "parse_outcomes",
    "pava",
    "simulate_oc",
]
