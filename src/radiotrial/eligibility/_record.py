"""The patient record: pydantic models of the JSON format described by
``docs/patient-record.schema.json`` (generated from these models).

Every observation carries its ``date`` and ``source`` (the source document: lab report number,
imaging report, clinic letter) so that each eligibility decision can show its evidence. A
section that is absent (``null``) is *not yet documented*; an empty list is documented as
*none* (``"therapies": []`` means no prior therapy). The two are never confused: the first
makes dependent criteria pending, the second decides them.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from radiotrial.eligibility._labs import Analyte
from radiotrial.eligibility._tumour import Her2Ihc, IshResult, LesionKind
from radiotrial.errors import InputFileError, ValidationError

__all__ = [
    "BaselineImaging",
    "BooleanFinding",
    "BrainMetastases",
    "Demographics",
    "Diagnosis",
    "Ecog",
    "ErResult",
    "Her2Result",
    "LabResult",
    "Lesion",
    "LifeExpectancy",
    "Measurement",
    "NeobPet",
    "PatientRecord",
    "PatientRecordError",
    "Pregnancy",
    "Receptors",
    "Therapy",
    "TherapyCategory",
    "TreatmentHistory",
    "load_patient_record",
    "parse_patient_record",
    "patient_record_schema",
]

RECORD_SCHEMA_VERSION = 1

SourceDocument = Annotated[
    str,
    Field(
        min_length=1,
        description="Source document of the value (report number, letter, imaging report).",
    ),
]
Text = Annotated[str, Field(min_length=1)]

TherapyCategory = Literal[
    "endocrine",
    "cdk46_inhibitor",
    "chemotherapy",
    "targeted",
    "antibody_drug_conjugate",
    "immunotherapy",
    "radioligand",
    "bone_seeking_radionuclide",
    "hemibody_radiotherapy",
    "radiotherapy",
    "surgery",
    "other_systemic",
]
SYSTEMIC_CATEGORIES: frozenset[str] = frozenset(
    {
        "endocrine",
        "cdk46_inhibitor",
        "chemotherapy",
        "targeted",
        "antibody_drug_conjugate",
        "immunotherapy",
        "radioligand",
        "other_systemic",
    }
)


class PatientRecordError(ValidationError):
    """A patient record breaks the schema or a consistency rule (field path, value, rule)."""

    def __init__(self, field: str, value: Any, reason: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(field, value, reason)
        if path is not None:
            self.args = (f"{path}: {self.args[0]}",)


class _Rec(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False
    )


Finite = float  # NaN and ±inf are refused by the models' allow_inf_nan=False


class Demographics(_Rec):
    """Date of birth and sex (the identity itself lives in the registry's identity vault)."""

    birth_date: date
    sex: Literal["female", "male"] = Field(description="Sex used by the eGFR/CrCl equations.")
    residency: Literal["resident", "expatriate"] | None = Field(
        None, description="Residency status; expatriates may enrol when the protocol says so."
    )
    source: SourceDocument


class Measurement(_Rec):
    """A dated physical measurement (weight, height) with its unit."""

    value: Annotated[Finite, Field(gt=0)]
    unit: Text
    date: date
    source: SourceDocument


class Diagnosis(_Rec):
    metastatic_or_unresectable: bool = Field(
        description="Metastatic or locally advanced unresectable breast cancer."
    )
    date: date
    source: SourceDocument


class ErResult(_Rec):
    """Oestrogen-receptor IHC: percentage of positive tumour nuclei."""

    percent: Annotated[Finite, Field(ge=0, le=100)]
    date: date
    source: SourceDocument


class Her2Result(_Rec):
    """HER2 by IHC (0/1+/2+/3+) with, for IHC 2+, dual-probe ISH numbers or a result."""

    ihc: Her2Ihc | None = None
    ish_ratio: Annotated[Finite, Field(gt=0)] | None = Field(None, description="HER2/CEP17 ratio.")
    ish_copies_per_cell: Annotated[Finite, Field(ge=0)] | None = Field(
        None, description="Average HER2 signals per cell."
    )
    ish_result: IshResult | None = Field(None, description="Qualitative ISH result.")
    date: date
    source: SourceDocument

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.ihc is None and self.ish_ratio is None and self.ish_result is None:
            raise ValueError("give at least the IHC score or an ISH result")
        return self


class Receptors(_Rec):
    er: ErResult | None = None
    her2: Her2Result | None = None


class Ecog(_Rec):
    score: Annotated[int, Field(ge=0, le=5)]
    date: date
    source: SourceDocument


class LifeExpectancy(_Rec):
    """Investigator-estimated life expectancy."""

    value: Annotated[Finite, Field(gt=0)]
    unit: Text = Field(description="A time unit: week, month, y, d.")
    date: date
    source: SourceDocument


class LabResult(_Rec):
    """One laboratory result with its unit and, where relevant, the laboratory's limits."""

    test: Analyte
    value: Finite
    unit: Text
    lln: Annotated[Finite, Field(ge=0)] | None = Field(
        None, description="Lower limit of normal, in `unit`."
    )
    uln: Annotated[Finite, Field(gt=0)] | None = Field(
        None, description="Upper limit of normal, in `unit` (required for bilirubin, ALT, AST)."
    )
    date: date
    source: SourceDocument


class Lesion(_Rec):
    """A baseline tumour lesion (RECIST 1.1)."""

    id: Annotated[str, Field(min_length=1, max_length=40)]
    site: Text = Field(description="Organ or region, e.g. liver, lung, bone, lymph_node, brain.")
    kind: LesionKind
    long_axis_mm: Annotated[Finite, Field(gt=0)] | None = None
    short_axis_mm: Annotated[Finite, Field(gt=0)] | None = None
    method: Literal["CT", "MRI", "caliper", "chest_xray", "PET"] | None = Field(
        None, description="Overrides the imaging study's modality for this lesion."
    )
    previously_irradiated: bool = False
    progressed_after_irradiation: bool = False

    @model_validator(mode="after")
    def _axes(self) -> Self:
        if (
            self.long_axis_mm is not None
            and self.short_axis_mm is not None
            and self.short_axis_mm > self.long_axis_mm
        ):
            raise ValueError("short_axis_mm cannot exceed long_axis_mm")
        return self


class BaselineImaging(_Rec):
    """Baseline CT/MRI with the lesion list."""

    modality: Literal["CT", "MRI", "caliper", "chest_xray"]
    slice_thickness_mm: Annotated[Finite, Field(gt=0)] | None = None
    lesions: list[Lesion]
    date: date
    source: SourceDocument

    @field_validator("lesions")
    @classmethod
    def _unique(cls, lesions: list[Lesion]) -> list[Lesion]:
        ids = [lesion.id for lesion in lesions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"lesion ids must be unique, repeated: {dupes}")
        return lesions


class NeobPet(_Rec):
    """[68Ga]Ga-NeoB PET read: NeoB avidity of each baseline lesion (by lesion id)."""

    avid: dict[str, bool] = Field(description="Lesion id → NeoB-avid.")
    date: date
    source: SourceDocument


class Therapy(_Rec):
    """One prior anticancer therapy (a regimen or a course of radiotherapy)."""

    name: Text
    category: TherapyCategory
    setting: Literal["metastatic", "adjuvant", "neoadjuvant", "other"] = "metastatic"
    line: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Line in the metastatic setting."
    )
    start_date: date
    end_date: date | None = Field(None, description="Date of the last dose; null while ongoing.")
    source: SourceDocument

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class TreatmentHistory(_Rec):
    """Prior therapies as reviewed on ``date``; an empty list documents no prior therapy."""

    therapies: list[Therapy]
    date: date
    source: SourceDocument


class BooleanFinding(_Rec):
    """A yes/no clinical finding with its date and source."""

    value: bool
    date: date
    source: SourceDocument


class BrainMetastases(_Rec):
    status: Literal["none", "treated_stable", "untreated_or_unstable"]
    date: date
    source: SourceDocument


class Pregnancy(_Rec):
    """Pregnancy and breastfeeding status; a test is needed with child-bearing potential."""

    childbearing_potential: bool
    test_result: Literal["negative", "positive"] | None = None
    test_date: date | None = None
    breastfeeding: bool
    date: date
    source: SourceDocument

    @model_validator(mode="after")
    def _test(self) -> Self:
        if (self.test_result is None) != (self.test_date is None):
            raise ValueError("test_result and test_date go together")
        return self


class PatientRecord(_Rec):
    """Screening data of one prospective subject (pseudonymous: no names or contacts)."""

    schema_version: Literal[1] = Field(description="Patient-record format version.")
    subject_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    assessment_date: date | None = Field(
        None,
        description="Date of the eligibility assessment (ages, wash-outs and screening windows "
        "are counted to it); the evaluation date when absent.",
    )
    demographics: Demographics
    weight: Measurement | None = None
    height: Measurement | None = None
    diagnosis: Diagnosis | None = None
    receptors: Receptors = Field(default_factory=Receptors)
    ecog: Ecog | None = None
    life_expectancy: LifeExpectancy | None = None
    labs: list[LabResult] = Field(default_factory=list)
    baseline_imaging: BaselineImaging | None = None
    neob_pet: NeobPet | None = None
    treatment_history: TreatmentHistory | None = None
    brain_metastases: BrainMetastases | None = None
    liver_metastases: BooleanFinding | None = Field(
        None, description="Explicit finding; otherwise derived from the baseline lesion sites."
    )
    diffuse_marrow_involvement: BooleanFinding | None = None
    transfusion_to_meet_eligibility: BooleanFinding | None = None
    prior_radioligand_therapy: BooleanFinding | None = Field(
        None, description="Explicit finding; otherwise derived from the treatment history."
    )
    pregnancy: Pregnancy | None = None

    @model_validator(mode="after")
    def _cross(self) -> Self:
        if self.neob_pet is not None and self.baseline_imaging is not None:
            known = {lesion.id for lesion in self.baseline_imaging.lesions}
            unknown = sorted(set(self.neob_pet.avid) - known)
            if unknown:
                raise ValueError(
                    f"neob_pet.avid names lesions {unknown} that are not in baseline_imaging"
                )
        return self

    def dated_fields(self) -> list[tuple[str, date]]:
        """Every date in the record with its field path (for future/before-birth checks)."""
        out: list[tuple[str, date]] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, date):
                out.append((path, node))
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name), f"{path}.{name}" if path else name)
            elif isinstance(node, list):
                for i, item in enumerate(node):
                    walk(item, f"{path}[{i}]")

        walk(self, "")
        return out


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def parse_patient_record(data: Any, *, path: str | None = None) -> PatientRecord:
    """Validate a patient record given as parsed JSON (a dict) or JSON text.

    Raises
    ------
    PatientRecordError
        Naming the first offending field path (``labs[2].unit``), its value and the rule; the
        full list is on ``.errors``.
    """
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            raise InputFileError(
                path or "<record>",
                f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            ) from None
    if not isinstance(data, dict):
        raise PatientRecordError(
            "<root>", type(data).__name__, "a patient record is a JSON object", path=path
        )
    try:
        return PatientRecord.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        field = _field_path(first["loc"])
        value = first.get("input")
        if first["type"] == "missing":
            reason, value = "required field is missing", ...
        elif first["type"] == "extra_forbidden":
            reason = "unknown field (check the spelling against docs/patient-record.schema.json)"
            value = ...
        else:
            reason = first["msg"].removeprefix("Value error, ")
            if not isinstance(value, int | float | str | bool) and value is not None:
                value = ...
        extra = f" (+{len(errors) - 1} more problems)" if len(errors) > 1 else ""
        err = PatientRecordError(field, value, reason + extra, path=path)
        err.errors = [  # type: ignore[attr-defined]
            {"field": _field_path(e["loc"]), "message": e["msg"]} for e in errors
        ]
        raise err from None


def load_patient_record(path: str | Path) -> PatientRecord:
    """Read and validate a patient-record JSON file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(str(p), "file not found") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(str(p), f"not UTF-8 text ({exc.reason})") from None
    return parse_patient_record(text, path=str(p))


def patient_record_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the patient record, generated from the models."""
    schema = PatientRecord.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://radiotrial.example.org/schemas/patient-record-v1.json"
    schema["title"] = "radiotrial patient record (screening data), version 1"
    return schema
