"""Eligibility engine: a patient record against the protocol's structured criteria.

Each criterion comes out ``met`` / ``not_met`` / ``pending`` (or ``not_applicable``) with its
evidence (value, unit, date, source document) and the reason in words; missing or out-of-window
data make a criterion pending, never silently met or not met. Exclusion criteria state the
excluding condition: when it is *met*, the patient is excluded (outcome ``fail``).

Derived variables are computed from raw record data: HER2 status (ASCO/CAP 2018), RECIST 1.1
measurability (Eisenhauer 2009), the 68Ga-NeoB PET rule, prior-therapy wash-outs, labs in any
unit (g/dL ↔ g/L, 10⁹/L ↔ /µL, mg/dL ↔ µmol/L), eGFR (CKD-EPI 2021) and creatinine clearance
(Cockcroft–Gault), ALT/AST/bilirubin as × ULN.

Examples
--------
>>> from radiotrial.eligibility import evaluate_eligibility, example_record
>>> from radiotrial.protocol import bundled_protocol
>>> res = evaluate_eligibility(example_record("pending"), bundled_protocol())
>>> res.overall, res.criterion("I-HB").status
('pending', 'pending')
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Literal

from radiotrial.eligibility._derive import DerivedValue, EvaluationOptions, Evidence, derive
from radiotrial.eligibility._engine import (
    CriterionResult,
    CriterionStatus,
    EligibilityResult,
    Outcome,
    Overall,
    check_record_dates,
    criterion_variables,
    evaluate_criteria,
    evaluate_criterion,
    evaluate_eligibility,
    overall_of,
    screening_windows,
)
from radiotrial.eligibility._labs import (
    ANALYTES,
    analyte_unit,
    check_lab_value,
    convert_lab,
    lab_units,
    uln_multiple,
)
from radiotrial.eligibility._record import (
    PatientRecord,
    PatientRecordError,
    load_patient_record,
    parse_patient_record,
    patient_record_schema,
)
from radiotrial.eligibility._renal import (
    body_weight_for_cg,
    cockcroft_gault,
    egfr_ckd_epi_2021,
    ideal_body_weight_kg,
)
from radiotrial.eligibility._signoff import (
    InvestigatorDecision,
    apply_decisions,
    criterion_digest,
    sign_criterion,
)
from radiotrial.eligibility._tumour import (
    Measurability,
    her2_status,
    ish_group,
    lesion_measurability,
    neob_pet_positive,
)

__all__ = [
    "ANALYTES",
    "CriterionResult",
    "CriterionStatus",
    "DerivedValue",
    "EligibilityResult",
    "EvaluationOptions",
    "Evidence",
    "InvestigatorDecision",
    "Measurability",
    "Outcome",
    "Overall",
    "PatientRecord",
    "PatientRecordError",
    "analyte_unit",
    "apply_decisions",
    "body_weight_for_cg",
    "check_lab_value",
    "check_record_dates",
    "cockcroft_gault",
    "convert_lab",
    "criterion_digest",
    "criterion_variables",
    "derive",
    "egfr_ckd_epi_2021",
    "evaluate_criteria",
    "evaluate_criterion",
    "evaluate_eligibility",
    "example_record",
    "her2_status",
    "ideal_body_weight_kg",
    "ish_group",
    "lab_units",
    "lesion_measurability",
    "load_patient_record",
    "neob_pet_positive",
    "overall_of",
    "parse_patient_record",
    "patient_record_schema",
    "screening_windows",
    "sign_criterion",
    "uln_multiple",
]

ExampleName = Literal["eligible", "ineligible", "pending", "expatriate"]


def example_record(name: ExampleName) -> PatientRecord:
    """One of the documented example records (also in ``docs/examples/patient-*.json``)."""
    ref = resources.files("radiotrial.eligibility").joinpath("examples", f"patient-{name}.json")
    if not ref.is_file():
        raise PatientRecordError(
            "name", name, "no such example; use eligible, ineligible, pending or expatriate"
        )
    return parse_patient_record(
        json.loads(ref.read_text("utf-8")), path=f"examples/patient-{name}.json"
    )
