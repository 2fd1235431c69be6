"""Pydantic models of a trial protocol.

Every number carries its provenance: numeric fields live in objects with a ``source`` (and an
``assumption`` flag where no primary source was read). Each kind of quantity has its own rule:
every number is finite; durations (:class:`Duration`) are > 0 in a time unit; counts
(:class:`Count`) are whole numbers ≥ 1 without a unit; α/β (:class:`PositiveDose`) is > 0 in a
dose unit; eligibility thresholds lie in the variable's physical range (``data/variables.yaml``);
organ limits are > 0 or null. Cross-field rules (DLT window within the cycle interval, increasing
dose levels, units of the right dimension) are checked at load time.
"""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from radiotrial.errors import NuclideError, UnitError
from radiotrial.nuclides import normalise_name
from radiotrial.protocol._variables import Variable, variable_catalogue
from radiotrial.units import Dimension, convert, dimension_of, known_units

__all__ = [
    "Contact",
    "Count",
    "Criterion",
    "DltDefinition",
    "DltRule",
    "DoseLevel",
    "DoseLevels",
    "Duration",
    "Eligibility",
    "Escalation",
    "ImagingSchedule",
    "OrganLimit",
    "PositiveDose",
    "Protocol",
    "Radiopharmaceutical",
    "ScreeningTest",
    "Sourced",
    "TissueRadiobiology",
    "Treatment",
]

Text = Annotated[str, Field(min_length=1)]
Language = Literal["zh", "en"]
#: Every number in a protocol is finite: NaN slips past every comparison, inf past every limit.
Finite = Annotated[float, Field(allow_inf_nan=False)]


def _both_languages() -> list[Language]:
    return ["zh", "en"]


SourceText = Annotated[str, Field(min_length=3, description="Citation of the value's source.")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _dimension(unit: str) -> Dimension:
    """The unit's dimension; an unknown unit is refused with the valid symbols (said once)."""
    try:
        return dimension_of(unit)
    except UnitError as exc:
        raise ValueError(exc.reason) from None


def _check_unit(unit: str, expected: Dimension | tuple[Dimension, ...], what: str) -> str:
    dims = (expected,) if isinstance(expected, str) else expected
    try:
        dim = dimension_of(unit)
    except UnitError:
        raise ValueError(f"unknown unit {unit!r} for {what}") from None
    if dim not in dims:
        valid = [u for d in dims for u in known_units(d)]
        raise ValueError(
            f"unit {unit!r} is a {dim} unit but {what} needs {' or '.join(dims)} "
            f"(use one of: {', '.join(valid)})"
        )
    return unit


class Sourced(_Model):
    """A finite number with its unit, source and assumption flag."""

    value: Finite
    unit: str | None = None
    source: SourceText
    assumption: bool = False
    note: str | None = None

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str | None) -> str | None:
        if unit is not None:
            _dimension(unit)
        return unit

    def to(self, unit: str) -> float:
        """The value converted to ``unit`` (same dimension required)."""
        if self.unit is None:
            raise UnitError("unit", None, f"value {self.value} has no unit to convert to {unit}")
        return convert(self.value, self.unit, unit)

    def require(self, dimension: Dimension, what: str) -> Self:
        """Check that the unit is of ``dimension`` (used by the model validators)."""
        if self.unit is None:
            raise ValueError(f"{what} needs a unit of dimension {dimension}")
        _check_unit(self.unit, dimension, what)
        return self


class Duration(Sourced):
    """A time span (DLT window, cycle interval, screening window, repair time): > 0, time unit."""

    @model_validator(mode="after")
    def _positive_time(self) -> Self:
        self.require("time", "a duration")
        if not self.value > 0:
            raise ValueError(f"a duration must be > 0, got {self.value:g} {self.unit}")
        return self


class Count(Sourced):
    """A number of things (cycles): a whole number ≥ 1 and no unit."""

    @model_validator(mode="after")
    def _whole(self) -> Self:
        if self.unit is not None:
            raise ValueError(f"a count takes no unit, got unit {self.unit!r}")
        if self.value < 1 or self.value != int(self.value):
            raise ValueError(f"a count must be a whole number >= 1, got {self.value:g}")
        return self


class PositiveDose(Sourced):
    """An absorbed-dose parameter that must be > 0 (α/β of the linear-quadratic model)."""

    @model_validator(mode="after")
    def _positive_dose(self) -> Self:
        self.require("absorbed_dose", "this parameter")
        if not self.value > 0:
            raise ValueError(f"must be > 0 Gy, got {self.value:g} {self.unit}")
        return self


class Site(_Model):
    name: Text
    department: Text
    city: Text
    country: Text


class Radiopharmaceutical(_Model):
    """The investigational product."""

    name: Text
    nuclide: Text
    ligand: Text
    target_receptor: Text
    companion_imaging: str | None = None
    source: SourceText

    @field_validator("nuclide")
    @classmethod
    def _icrp107(cls, value: str) -> str:
        try:
            return normalise_name(value)
        except NuclideError:  # a KeyError, which pydantic would not report as a field error
            raise ValueError(
                "not an ICRP-107 nuclide (expected e.g. 'Lu-177', 'Y-90', 'I-131')"
            ) from None


class DoseLevel(_Model):
    level: Annotated[int, Field(ge=1)]
    activity: Annotated[Finite, Field(gt=0)]
    label: str | None = None


class DoseLevels(_Model):
    """Administered-activity levels of the escalation, in increasing order."""

    unit: str
    levels: Annotated[list[DoseLevel], Field(min_length=1)]
    starting_level: Annotated[int, Field(ge=1)]
    source: SourceText
    assumption: bool = False

    @field_validator("unit")
    @classmethod
    def _activity_unit(cls, unit: str) -> str:
        return _check_unit(unit, "activity", "dose_levels.unit")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        numbers = [lv.level for lv in self.levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"levels must be numbered 1..{len(numbers)} in order, got {numbers}")
        acts = [lv.activity for lv in self.levels]
        for i in range(1, len(acts)):
            if acts[i] <= acts[i - 1]:
                raise ValueError(
                    f"dose levels must increase: level {i + 1} ({acts[i]} {self.unit}) "
                    "is not above "
                    f"level {i} ({acts[i - 1]} {self.unit})"
                )
        if self.starting_level > len(acts):
            raise ValueError(
                f"starting_level {self.starting_level} is not one of levels 1..{len(acts)}"
            )
        return self

    @property
    def activity_gbq(self) -> list[float]:
        """Activities of all levels in GBq, level 1 first."""
        return [convert(lv.activity, self.unit, "GBq") for lv in self.levels]


class Treatment(_Model):
    """Cycles and their spacing."""

    max_cycles: Count
    cycle_interval: Duration


class DltRule(_Model):
    """One clause of the DLT definition (any clause met makes an event a DLT)."""

    id: Text
    category: Literal["haematologic", "non_haematologic", "any"]
    min_grade: Annotated[int, Field(ge=1, le=5)]
    attribution: list[Literal["unrelated", "unlikely", "possible", "probable", "definite"]]
    min_duration_days: Annotated[Finite, Field(ge=0)] | None = None
    terms: list[str] = Field(default_factory=list)
    text: Text
    source: SourceText
    assumption: bool = False


class DltDefinition(_Model):
    """DLT window and definition."""

    window: Duration
    evaluated_cycles: Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1)] = Field(
        default_factory=lambda: [1]
    )
    rules: Annotated[list[DltRule], Field(min_length=1)]


class Escalation(_Model):
    """Dose-escalation design settings."""

    design: Literal[
        "boin", "3+3", "3+3-deescalation", "crm", "tite-crm", "tite-boin", "dosimetry-guided"
    ]
    target_dlt_rate: Sourced
    cohort_size: Annotated[int, Field(ge=1, le=12)]
    max_sample_size: Annotated[int, Field(ge=1)]
    source: SourceText
    assumption: bool = False

    @model_validator(mode="after")
    def _target(self) -> Self:
        rate = self.target_dlt_rate
        if rate.unit is not None:
            rate.require("fraction", "target_dlt_rate")
        value = self.target_fraction
        if not 0.05 < value < 0.6:
            raise ValueError(f"target_dlt_rate must lie in (0.05, 0.6), got {value:g}")
        if self.max_sample_size < self.cohort_size:
            raise ValueError("max_sample_size must be at least one cohort")
        return self

    @property
    def target_fraction(self) -> float:
        """The target DLT rate as a fraction (30 % → 0.3; a unitless value is a fraction)."""
        rate = self.target_dlt_rate
        return float(rate.to("1") if rate.unit else rate.value)


class OrganLimit(_Model):
    """A tolerance limit for an organ at risk (absorbed dose or BED)."""

    organ: Text
    quantity: Literal["absorbed_dose", "bed"]
    limit: Annotated[Finite, Field(gt=0)] | None
    unit: str
    cumulative: bool = True
    condition: str | None = None
    source: SourceText
    assumption: bool = False
    note: str | None = None

    @field_validator("unit")
    @classmethod
    def _dose_unit(cls, unit: str) -> str:
        return _check_unit(unit, "absorbed_dose", "organ_limits.unit")

    @property
    def limit_gy(self) -> float | None:
        """The limit in Gy, or None when the organ is monitored without a validated limit."""
        return None if self.limit is None else convert(self.limit, self.unit, "Gy")


class TissueRadiobiology(_Model):
    """Linear-quadratic parameters of one tissue (override the packaged defaults)."""

    alpha_beta: PositiveDose
    t_repair: Duration


def _check_range(var: Variable, threshold: float, unit: str | None) -> None:
    """Refuse a threshold outside the variable's physical range (``data/variables.yaml``)."""
    lo, hi = var.range_min, var.range_max
    value = (
        threshold
        if unit is None or var.range_unit is None
        else convert(threshold, unit, var.range_unit)
    )
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        shown = f"{threshold:g}" + (f" {unit}" if unit else "")
        ends = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
        where = f" {var.range_unit}" if var.range_unit else ""
        raise ValueError(
            f"threshold {shown} is outside the physical range of {var.name} {ends}{where} "
            f"({var.range_source})"
        )


Operator = Literal[
    ">=", ">", "<=", "<", "==", "!=", "in", "not_in", "is_true", "is_false", "older_than", "within"
]


class Criterion(_Model):
    """One structured eligibility criterion.

    ``variable`` names an entry of the variable catalogue (``data/variables.yaml``); numeric
    variables need a ``threshold`` with a ``unit`` of the variable's dimension. ``older_than`` and
    ``within`` compare a date variable's age at screening with ``threshold`` in ``unit`` (a time
    unit). ``when`` names a boolean variable that must be true for the criterion to apply.
    """

    id: Text
    text: Text
    variable: Text
    operator: Operator
    threshold: Finite | str | bool | list[str] | None = None
    unit: str | None = None
    when: str | None = None
    unless: str | None = None
    source: SourceText
    assumption: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        catalogue = variable_catalogue()
        var = catalogue.get(self.variable)
        if var is None:
            raise ValueError(f"unknown variable {self.variable!r}; known: {', '.join(catalogue)}")
        for cond in (self.when, self.unless):
            if cond is not None and (cond not in catalogue or catalogue[cond].kind != "boolean"):
                raise ValueError(f"condition {cond!r} must name a boolean variable")
        op = self.operator
        if op in ("is_true", "is_false"):
            if var.kind != "boolean":
                raise ValueError(
                    f"operator {op} needs a boolean variable, {self.variable} is {var.kind}"
                )
            return self
        if op in ("older_than", "within"):
            if var.kind != "date":
                raise ValueError(
                    f"operator {op} needs a date variable, {self.variable} is {var.kind}"
                )
            if not isinstance(self.threshold, int | float) or self.unit is None:
                raise ValueError(f"operator {op} needs a numeric threshold with a time unit")
            _check_unit(self.unit, "time", f"criterion {self.id}")
            if not self.threshold > 0:
                raise ValueError(
                    f"threshold {self.threshold:g} {self.unit}: a duration must be > 0"
                )
            return self
        if op in ("in", "not_in"):
            if var.kind != "categorical" or not isinstance(self.threshold, list):
                raise ValueError(f"operator {op} needs a categorical variable and a list threshold")
            unknown = set(self.threshold) - set(var.categories)
            if unknown:
                raise ValueError(f"unknown categories {sorted(unknown)} for {self.variable}")
            return self
        if var.kind == "numeric":
            if not isinstance(self.threshold, int | float) or isinstance(self.threshold, bool):
                raise ValueError(f"{self.variable} needs a numeric threshold")
            if self.unit is None or var.dimension is None:
                raise ValueError(
                    f"{self.variable} threshold needs a unit of dimension {var.dimension}"
                )
            _check_unit(self.unit, var.dimension, f"variable {self.variable!r}")
            _check_range(var, float(self.threshold), self.unit)
        elif var.kind == "score":
            if not isinstance(self.threshold, int | float) or self.unit is not None:
                raise ValueError(f"{self.variable} is a unitless score: give a number and no unit")
            _check_range(var, float(self.threshold), None)
        elif var.kind == "categorical":
            if op not in ("==", "!=") or self.threshold not in var.categories:
                raise ValueError(
                    f"{self.variable} is categorical: use == or != with one of {var.categories}"
                )
        else:
            raise ValueError(f"operator {op} is not valid for a {var.kind} variable")
        return self


class Eligibility(_Model):
    inclusion: Annotated[list[Criterion], Field(min_length=1)]
    exclusion: list[Criterion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [c.id for c in (*self.inclusion, *self.exclusion)]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"criterion ids must be unique, repeated: {dupes}")
        return self


class ScreeningTest(_Model):
    """A test or evaluation required before enrolment, with its validity window."""

    id: Text
    name: Text
    window: Duration
    variables: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> Self:
        unknown = [v for v in self.variables if v not in variable_catalogue()]
        if unknown:
            raise ValueError(f"unknown variables {unknown} in screening test {self.id}")
        return self


class ImagingSchedule(_Model):
    """Post-injection SPECT/CT time points for dosimetry."""

    timepoints: Annotated[list[Annotated[Finite, Field(gt=0)]], Field(min_length=1)]
    unit: str
    modality: Text
    source: SourceText
    assumption: bool = False

    @field_validator("unit")
    @classmethod
    def _time(cls, unit: str) -> str:
        return _check_unit(unit, "time", "imaging_schedule.unit")

    @model_validator(mode="after")
    def _increasing(self) -> Self:
        if any(b <= a for a, b in zip(self.timepoints, self.timepoints[1:], strict=False)):
            raise ValueError(f"timepoints must increase, got {self.timepoints}")
        return self

    @property
    def timepoints_h(self) -> list[float]:
        return [convert(t, self.unit, "h") for t in self.timepoints]


class Contact(_Model):
    """An investigator who answers consultation and pre-screening requests."""

    role: Text
    name: Text
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    phone: str | None = None
    languages: list[Language] = Field(default_factory=_both_languages)
    handles: list[Literal["prescreening", "consultation", "physician_referral"]]
    placeholder: bool = False


class Retention(_Model):
    prescreen_contact_data: Duration


class Protocol(_Model):
    """A complete, validated trial protocol."""

    schema_version: Literal[1]
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: Text
    phase: Literal["1", "1/2", "2"]
    registration: str | None = None
    site: Site
    population: Text
    free_of_charge: bool
    expatriates_eligible: bool
    radiopharmaceutical: Radiopharmaceutical
    dose_levels: DoseLevels
    treatment: Treatment
    dlt: DltDefinition
    escalation: Escalation
    organ_limits: list[OrganLimit]
    radiobiology: dict[str, TissueRadiobiology] = Field(default_factory=dict)
    eligibility: Eligibility
    screening_tests: list[ScreeningTest]
    imaging_schedule: ImagingSchedule
    contacts: Annotated[list[Contact], Field(min_length=1)]
    retention: Retention

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        window_d = self.dlt.window.to("d")
        interval_d = self.treatment.cycle_interval.to("d")
        if window_d > interval_d:
            raise ValueError(
                f"dlt.window ({self.dlt.window.value} {self.dlt.window.unit}) is longer than "
                f"treatment.cycle_interval ({self.treatment.cycle_interval.value} "
                f"{self.treatment.cycle_interval.unit}): "
                "the DLT window must close before the next cycle"
            )
        if max(self.dlt.evaluated_cycles) > self.treatment.max_cycles.value:
            raise ValueError("dlt.evaluated_cycles names a cycle beyond treatment.max_cycles")
        if self.escalation.max_sample_size < self.escalation.cohort_size:
            raise ValueError("escalation.max_sample_size is smaller than one cohort")
        handled = {h for c in self.contacts for h in c.handles}
        missing = {"prescreening", "consultation"} - handled
        if missing:
            raise ValueError(f"contacts: nobody handles {sorted(missing)} requests")
        return self

    def organ_limit(
        self, organ: str, quantity: Literal["absorbed_dose", "bed"]
    ) -> list[OrganLimit]:
        """All limits for ``organ`` of the given quantity (several may apply, by condition)."""
        return [lim for lim in self.organ_limits if lim.organ == organ and lim.quantity == quantity]
