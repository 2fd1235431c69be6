"""Derive the protocol's eligibility variables (``data/variables.yaml``) from a patient record.

Each derivation returns a :class:`DerivedValue`: the value in a stated unit, the measurement
date that the screening window applies to, the evidence (record field, raw value, unit, date,
source document) and the derivation in words. ``known=False`` means the record does not decide
the value yet; the engine turns it into a *pending* criterion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from radiotrial.eligibility._constants import lab_constants
from radiotrial.eligibility._labs import analyte_unit, check_lab_value, uln_multiple
from radiotrial.eligibility._record import (
    SYSTEMIC_CATEGORIES,
    LabResult,
    Measurement,
    PatientRecord,
    Therapy,
)
from radiotrial.eligibility._renal import (
    WeightBasis,
    body_weight_for_cg,
    cockcroft_gault,
    egfr_ckd_epi_2021,
)
from radiotrial.eligibility._tumour import her2_status, lesion_measurability, neob_pet_positive
from radiotrial.errors import UnitError, ValidationError
from radiotrial.units import convert, dimension_of

__all__ = ["DERIVATIONS", "DerivedValue", "EvaluationOptions", "Evidence", "age_in_years", "derive"]

Value = float | int | str | bool | date | None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence: where in the record, what, the raw value, its unit, date, source."""

    field: str
    what: str
    value: Value
    unit: str | None
    date: date | None
    source: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "what": self.what,
            "value": self.value.isoformat() if isinstance(self.value, date) else self.value,
            "unit": self.unit,
            "date": None if self.date is None else self.date.isoformat(),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class DerivedValue:
    """A protocol variable derived from the record (see module docstring)."""

    variable: str
    value: Value
    unit: str | None
    date: date | None
    evidence: tuple[Evidence, ...]
    derivation: str
    known: bool = True
    none_recorded: bool = False  # date variables: documented that the event never happened

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "value": self.value.isoformat() if isinstance(self.value, date) else self.value,
            "unit": self.unit,
            "date": None if self.date is None else self.date.isoformat(),
            "known": self.known,
            "derivation": self.derivation,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class EvaluationOptions:
    """Protocol choices that the criteria themselves do not carry.

    Parameters
    ----------
    cg_weight : {"actual", "ideal", "adjusted"}
        Body weight entering Cockcroft–Gault.
    """

    cg_weight: WeightBasis = "actual"
    extra: dict[str, Any] = field(default_factory=dict)


def _unknown(variable: str, reason: str, *evidence: Evidence) -> DerivedValue:
    return DerivedValue(variable, None, None, None, tuple(evidence), reason, known=False)


def age_in_years(birth: date, on: date) -> int:
    """Completed years of age on ``on`` (the calendar rule: the birthday counts)."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def _age(r: PatientRecord, as_of: date, _: EvaluationOptions) -> DerivedValue:
    d = r.demographics
    years = age_in_years(d.birth_date, as_of)
    # the evidence is the age on the assessment date, never the birth date: a date of birth is
    # identity data and belongs in the vault, not in signed trial records
    ev = Evidence("demographics.birth_date", "age in completed years", years, "y", as_of, d.source)
    return DerivedValue("age", years, "y", None, (ev,), f"{years} completed years on {as_of}")


def _sex(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    d = r.demographics
    ev = Evidence("demographics.sex", "sex", d.sex, None, None, d.source)
    return DerivedValue("sex", d.sex, None, None, (ev,), "recorded sex")


def _ecog(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    if r.ecog is None:
        return _unknown("ecog", "no ECOG performance status in the record")
    e = r.ecog
    ev = Evidence("ecog", "ECOG performance status", e.score, None, e.date, e.source)
    return DerivedValue("ecog", e.score, None, e.date, (ev,), f"ECOG {e.score}")


def _life_expectancy(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    le = r.life_expectancy
    if le is None:
        return _unknown("life_expectancy", "no life-expectancy estimate in the record")
    if dimension_of(le.unit) != "time":
        raise UnitError("life_expectancy.unit", le.unit, "life expectancy needs a time unit")
    ev = Evidence(
        "life_expectancy", "estimated life expectancy", le.value, le.unit, le.date, le.source
    )
    return DerivedValue(
        "life_expectancy", le.value, le.unit, le.date, (ev,), "investigator estimate"
    )


def _er(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    er = r.receptors.er
    if er is None:
        return _unknown("er_percent", "no ER immunohistochemistry in the record")
    ev = Evidence(
        "receptors.er.percent", "ER-positive tumour nuclei", er.percent, "%", er.date, er.source
    )
    return DerivedValue("er_percent", er.percent, "%", er.date, (ev,), f"ER {er.percent:g}% by IHC")


def _her2(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    h = r.receptors.her2
    if h is None:
        return _unknown("her2_status", "no HER2 result in the record")
    parts = [f"IHC {h.ihc}" if h.ihc else None]
    if h.ish_ratio is not None:
        parts.append(f"ISH ratio {h.ish_ratio:g}, {h.ish_copies_per_cell} signals/cell")
    if h.ish_result is not None:
        parts.append(f"ISH {h.ish_result}")
    raw = "; ".join(p for p in parts if p)
    ev = Evidence("receptors.her2", "HER2 IHC/ISH", raw, None, h.date, h.source)
    status, why = her2_status(
        h.ihc,
        ish_ratio=h.ish_ratio,
        ish_copies_per_cell=h.ish_copies_per_cell,
        ish_result=h.ish_result,
    )
    if status is None:
        return _unknown("her2_status", f"{why} (ASCO/CAP 2018)", ev)
    return DerivedValue(
        "her2_status", status, None, h.date, (ev,), f"{why} → HER2-{status} (ASCO/CAP 2018)"
    )


def _boolean_section(
    name: str, label: str
) -> Callable[[PatientRecord, date, EvaluationOptions], DerivedValue]:
    def derive_one(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
        finding = getattr(r, name)
        if finding is None:
            return _unknown(name, f"{label}: not documented in the record")
        ev = Evidence(name, label, finding.value, None, finding.date, finding.source)
        return DerivedValue(
            name,
            finding.value,
            None,
            finding.date,
            (ev,),
            f"{label}: {'yes' if finding.value else 'no'}",
        )

    return derive_one


def _metastatic(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    d = r.diagnosis
    if d is None:
        return _unknown("metastatic_or_unresectable", "no diagnosis section in the record")
    v = d.metastatic_or_unresectable
    ev = Evidence(
        "diagnosis.metastatic_or_unresectable",
        "metastatic or unresectable",
        v,
        None,
        d.date,
        d.source,
    )
    return DerivedValue("metastatic_or_unresectable", v, None, d.date, (ev,), "recorded diagnosis")


def _measurability(r: PatientRecord) -> list[Any]:
    img = r.baseline_imaging
    assert img is not None
    return [
        lesion_measurability(
            les.id,
            les.kind,
            method=les.method or img.modality,
            long_axis_mm=les.long_axis_mm,
            short_axis_mm=les.short_axis_mm,
            slice_thickness_mm=img.slice_thickness_mm,
            previously_irradiated=les.previously_irradiated,
            progressed_after_irradiation=les.progressed_after_irradiation,
        )
        for les in img.lesions
    ]


def _recist(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    img = r.baseline_imaging
    if img is None:
        return _unknown("recist_measurable", "no baseline imaging (lesion list) in the record")
    verdicts = _measurability(r)
    ev = tuple(
        Evidence(
            f"baseline_imaging.lesions[{i}]",
            f"lesion {les.id} ({les.site}, {les.kind})",
            les.short_axis_mm if les.kind == "lymph_node" else les.long_axis_mm,
            "mm",
            img.date,
            img.source,
        )
        for i, les in enumerate(img.lesions)
    )
    n = sum(m.measurable for m in verdicts)
    words = "; ".join(m.reason for m in verdicts) or "no lesions"
    return DerivedValue(
        "recist_measurable",
        n > 0,
        None,
        img.date,
        ev,
        f"{n} measurable lesion(s) by RECIST 1.1 (Eisenhauer 2009): {words}",
    )


def _pet(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    pet, img = r.neob_pet, r.baseline_imaging
    if pet is None:
        return _unknown("neob_pet_positive", "no [68Ga]Ga-NeoB PET read in the record")
    ev_pet = Evidence(
        "neob_pet.avid",
        "NeoB-avid lesions",
        ", ".join(f"{k}:{'avid' if v else 'not avid'}" for k, v in pet.avid.items()),
        None,
        pet.date,
        pet.source,
    )
    if img is None:
        return _unknown(
            "neob_pet_positive", "the PET rule needs the conventional-imaging lesion list", ev_pet
        )
    value, why = neob_pet_positive(_measurability(r), pet.avid)
    if value is None:
        return _unknown("neob_pet_positive", why, ev_pet)
    return DerivedValue("neob_pet_positive", value, None, pet.date, (ev_pet,), why)


def _history(r: PatientRecord, variable: str) -> DerivedValue | None:
    if r.treatment_history is None:
        return _unknown(variable, "no treatment history in the record")
    return None


def _therapy_ev(i: int, t: Therapy, r: PatientRecord) -> Evidence:
    end = t.end_date.isoformat() if t.end_date else "ongoing"
    return Evidence(
        f"treatment_history.therapies[{i}]",
        f"{t.name} ({t.category}, {t.setting}{f', line {t.line}' if t.line else ''})",
        f"{t.start_date.isoformat()} to {end}",
        None,
        t.end_date or t.start_date,
        t.source,
    )


def _prior_endocrine(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    if (u := _history(r, "prior_endocrine_therapy")) is not None:
        return u
    assert r.treatment_history is not None
    hits = [
        (i, t)
        for i, t in enumerate(r.treatment_history.therapies)
        if t.category == "endocrine" and t.setting == "metastatic"
    ]
    ev = tuple(_therapy_ev(i, t, r) for i, t in hits)
    h = r.treatment_history
    if not hits:
        ev = (
            Evidence(
                "treatment_history",
                "treatment history reviewed",
                len(h.therapies),
                None,
                h.date,
                h.source,
            ),
        )
    names = ", ".join(t.name for _, t in hits) or "none"
    return DerivedValue(
        "prior_endocrine_therapy",
        bool(hits),
        None,
        None,
        ev,
        f"endocrine therapy in the advanced setting: {names}",
    )


def _endocrine_lines(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    if (u := _history(r, "prior_endocrine_lines")) is not None:
        return u
    assert r.treatment_history is not None
    hits = [
        (i, t)
        for i, t in enumerate(r.treatment_history.therapies)
        if t.category == "endocrine" and t.setting == "metastatic"
    ]
    lines = {t.line for _, t in hits if t.line is not None}
    n = len(lines) + sum(t.line is None for _, t in hits)
    ev = tuple(_therapy_ev(i, t, r) for i, t in hits)
    return DerivedValue(
        "prior_endocrine_lines",
        n,
        None,
        None,
        ev,
        f"{n} endocrine line(s) in the metastatic setting "
        "(regimens with the same line number count once)",
    )


def _last_therapy(
    variable: str, categories: frozenset[str], label: str
) -> Callable[[PatientRecord, date, EvaluationOptions], DerivedValue]:
    def derive_one(r: PatientRecord, as_of: date, _: EvaluationOptions) -> DerivedValue:
        if (u := _history(r, variable)) is not None:
            return u
        h = r.treatment_history
        assert h is not None
        hits = [(i, t) for i, t in enumerate(h.therapies) if t.category in categories]
        if not hits:
            ev = Evidence(
                "treatment_history",
                "treatment history reviewed",
                f"no {label}",
                None,
                h.date,
                h.source,
            )
            return DerivedValue(
                variable, None, None, None, (ev,), f"no {label} recorded", none_recorded=True
            )
        # an ongoing therapy counts as given up to the assessment date
        i, last = max(hits, key=lambda it: it[1].end_date or as_of)
        when = last.end_date or as_of
        ongoing = " (ongoing: counted up to the assessment date)" if last.end_date is None else ""
        return DerivedValue(
            variable,
            when,
            None,
            None,
            (_therapy_ev(i, last, r),),
            f"last {label}: {last.name} on {when.isoformat()}{ongoing}",
        )

    return derive_one


def _prior_rlt(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    if r.prior_radioligand_therapy is not None:
        return _boolean_section("prior_radioligand_therapy", "prior radioligand therapy")(
            r, _as_of, _
        )
    if (u := _history(r, "prior_radioligand_therapy")) is not None:
        return u
    h = r.treatment_history
    assert h is not None
    hits = [(i, t) for i, t in enumerate(h.therapies) if t.category == "radioligand"]
    ev = tuple(_therapy_ev(i, t, r) for i, t in hits) or (
        Evidence(
            "treatment_history",
            "treatment history reviewed",
            "no radioligand therapy",
            None,
            h.date,
            h.source,
        ),
    )
    return DerivedValue(
        "prior_radioligand_therapy", bool(hits), None, None, ev, "from the treatment history"
    )


def _liver_mets(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    img = r.baseline_imaging
    in_liver = (
        []
        if img is None
        else [les.id for les in img.lesions if les.site.strip().lower() == "liver"]
    )
    if r.liver_metastases is not None:
        f = r.liver_metastases
        if in_liver and not f.value:
            raise ValidationError(
                "liver_metastases.value",
                False,
                f"contradicts baseline_imaging lesions in the liver ({', '.join(in_liver)})",
            )
        ev = Evidence("liver_metastases", "liver metastases", f.value, None, f.date, f.source)
        return DerivedValue("liver_metastases", f.value, None, f.date, (ev,), "recorded finding")
    if img is None:
        return _unknown("liver_metastases", "no baseline imaging and no liver-metastases finding")
    ev = Evidence(
        "baseline_imaging.lesions",
        "lesions in the liver",
        ", ".join(in_liver) or "none",
        None,
        img.date,
        img.source,
    )
    return DerivedValue(
        "liver_metastases", bool(in_liver), None, img.date, (ev,), "from the baseline lesion sites"
    )


def _brain(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    b = r.brain_metastases
    if b is None:
        return _unknown("brain_metastases", "brain-metastases status not documented")
    ev = Evidence("brain_metastases.status", "brain metastases", b.status, None, b.date, b.source)
    return DerivedValue(
        "brain_metastases", b.status, None, b.date, (ev,), f"brain metastases: {b.status}"
    )


def _pregnancy(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
    var = "pregnant_or_breastfeeding"
    if r.demographics.sex == "male":
        ev = Evidence("demographics.sex", "sex", "male", None, None, r.demographics.source)
        return DerivedValue(var, False, None, None, (ev,), "not applicable to a male patient")
    p = r.pregnancy
    if p is None:
        return _unknown(var, "pregnancy / breastfeeding status not documented")
    ev_bf = Evidence(
        "pregnancy.breastfeeding", "breastfeeding", p.breastfeeding, None, p.date, p.source
    )
    if p.breastfeeding:
        return DerivedValue(var, True, None, p.date, (ev_bf,), "breastfeeding")
    if not p.childbearing_potential:
        ev = Evidence(
            "pregnancy.childbearing_potential",
            "child-bearing potential",
            False,
            None,
            p.date,
            p.source,
        )
        return DerivedValue(
            var, False, None, None, (ev, ev_bf), "no child-bearing potential, not breastfeeding"
        )
    if p.test_result is None:
        return _unknown(var, "child-bearing potential: a pregnancy test is needed", ev_bf)
    ev_t = Evidence(
        "pregnancy.test_result", "pregnancy test", p.test_result, None, p.test_date, p.source
    )
    return DerivedValue(
        var,
        p.test_result == "positive",
        None,
        p.test_date,
        (ev_t, ev_bf),
        f"pregnancy test {p.test_result}, not breastfeeding",
    )


def _latest_lab(r: PatientRecord, analyte: str) -> tuple[int, LabResult] | None:
    hits = [(i, lab) for i, lab in enumerate(r.labs) if lab.test == analyte]
    if not hits:
        return None
    return max(hits, key=lambda it: (it[1].date, it[0]))


def _lab_ev(i: int, lab: LabResult) -> Evidence:
    return Evidence(f"labs[{i}]", lab.test, lab.value, lab.unit, lab.date, lab.source)


def _lab(analyte: str) -> Callable[[PatientRecord, date, EvaluationOptions], DerivedValue]:
    def derive_one(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
        hit = _latest_lab(r, analyte)
        if hit is None:
            return _unknown(analyte, f"no {analyte} result in the record")
        i, lab = hit
        value = check_lab_value(lab.value, lab.unit, analyte=analyte, field=f"labs[{i}]")
        unit = analyte_unit(analyte)
        how = (
            "latest result"
            if lab.unit == unit
            else f"latest result, {lab.value:g} {lab.unit} converted to {unit}"
        )
        return DerivedValue(analyte, value, unit, lab.date, (_lab_ev(i, lab),), how)

    return derive_one


def _uln_lab(analyte: str) -> Callable[[PatientRecord, date, EvaluationOptions], DerivedValue]:
    def derive_one(r: PatientRecord, _as_of: date, _: EvaluationOptions) -> DerivedValue:
        hit = _latest_lab(r, analyte)
        if hit is None:
            return _unknown(analyte, f"no {analyte} result in the record")
        i, lab = hit
        check_lab_value(lab.value, lab.unit, analyte=analyte, field=f"labs[{i}]")
        ev = _lab_ev(i, lab)
        if lab.uln is None:
            return _unknown(
                analyte, f"{analyte} result has no upper limit of normal (labs[{i}].uln)", ev
            )
        x = uln_multiple(
            lab.value, lab.unit, lab.uln, lab.unit, analyte=analyte, field=f"labs[{i}]"
        )
        return DerivedValue(
            analyte,
            x,
            "xULN",
            lab.date,
            (ev,),
            f"{lab.value:g} {lab.unit} / ULN {lab.uln:g} {lab.unit} = {x:.3g} × ULN",
        )

    return derive_one


def _creatinine(r: PatientRecord, variable: str) -> tuple[float, Evidence, date] | DerivedValue:
    hit = _latest_lab(r, "creatinine")
    if hit is None:
        return _unknown(variable, "no serum creatinine result in the record")
    i, lab = hit
    scr = check_lab_value(lab.value, lab.unit, analyte="creatinine", field=f"labs[{i}]")
    return scr, _lab_ev(i, lab), lab.date


def _egfr(r: PatientRecord, as_of: date, _: EvaluationOptions) -> DerivedValue:
    got = _creatinine(r, "egfr")
    if isinstance(got, DerivedValue):
        return got
    scr, ev, when = got
    age = age_in_years(r.demographics.birth_date, as_of)
    sex = r.demographics.sex
    if age < lab_constants()["ckd_epi_2021"]["min_age_y"]:
        return _unknown("egfr", f"CKD-EPI 2021 is not validated at age {age} y (adults only)", ev)
    egfr = egfr_ckd_epi_2021(scr, age, sex)
    ev_age = Evidence("demographics.birth_date", "age (y)", age, "y", None, r.demographics.source)
    return DerivedValue(
        "egfr",
        egfr,
        "mL/min/1.73m2",
        when,
        (ev, ev_age),
        f"CKD-EPI 2021 (Inker 2021): creatinine {scr:.3g} mg/dL, {age} y, {sex} "
        f"→ {egfr:.1f} mL/min/1.73 m²",
    )


def _weight_kg(m: Measurement, field_name: str, want: str) -> float:
    if dimension_of(m.unit) != want:
        raise UnitError(f"{field_name}.unit", m.unit, f"needs a {want} unit")
    return convert(m.value, m.unit, "kg" if want == "mass" else "cm")


def _crcl(r: PatientRecord, as_of: date, opts: EvaluationOptions) -> DerivedValue:
    got = _creatinine(r, "crcl")
    if isinstance(got, DerivedValue):
        return got
    scr, ev, when = got
    if r.weight is None:
        return _unknown("crcl", "Cockcroft–Gault needs the body weight", ev)
    weight = _weight_kg(r.weight, "weight", "mass")
    height = None
    if opts.cg_weight != "actual":
        if r.height is None:
            return _unknown("crcl", f"the {opts.cg_weight} body weight needs the height", ev)
        height = _weight_kg(r.height, "height", "length")
    age = age_in_years(r.demographics.birth_date, as_of)
    sex = r.demographics.sex
    w = body_weight_for_cg(weight, sex, basis=opts.cg_weight, height_cm=height)
    crcl = cockcroft_gault(scr, age, w, sex)
    ev_w = Evidence(
        "weight", "body weight", r.weight.value, r.weight.unit, r.weight.date, r.weight.source
    )
    return DerivedValue(
        "crcl",
        crcl,
        "mL/min",
        when,
        (ev, ev_w),
        f"Cockcroft–Gault (1976): creatinine {scr:.3g} mg/dL, {age} y, {w:.1f} kg "
        f"({opts.cg_weight} weight), {sex} → {crcl:.1f} mL/min",
    )


DERIVATIONS: dict[str, Callable[[PatientRecord, date, EvaluationOptions], DerivedValue]] = {
    "age": _age,
    "sex": _sex,
    "ecog": _ecog,
    "life_expectancy": _life_expectancy,
    "er_percent": _er,
    "her2_status": _her2,
    "metastatic_or_unresectable": _metastatic,
    "recist_measurable": _recist,
    "neob_pet_positive": _pet,
    "prior_endocrine_therapy": _prior_endocrine,
    "prior_endocrine_lines": _endocrine_lines,
    "haemoglobin": _lab("haemoglobin"),
    "platelets": _lab("platelets"),
    "wbc": _lab("wbc"),
    "anc": _lab("anc"),
    "albumin": _lab("albumin"),
    "egfr": _egfr,
    "crcl": _crcl,
    "bilirubin": _uln_lab("bilirubin"),
    "alt": _uln_lab("alt"),
    "ast": _uln_lab("ast"),
    "liver_metastases": _liver_mets,
    "prior_radioligand_therapy": _prior_rlt,
    "last_bone_seeking_radionuclide": _last_therapy(
        "last_bone_seeking_radionuclide",
        frozenset({"bone_seeking_radionuclide", "hemibody_radiotherapy"}),
        "bone-seeking radionuclide or hemi-body radiotherapy",
    ),
    "last_systemic_therapy": _last_therapy(
        "last_systemic_therapy", SYSTEMIC_CATEGORIES, "systemic anticancer therapy"
    ),
    "transfusion_to_meet_eligibility": _boolean_section(
        "transfusion_to_meet_eligibility", "transfusion given only to meet eligibility"
    ),
    "brain_metastases": _brain,
    "pregnant_or_breastfeeding": _pregnancy,
    "diffuse_marrow_involvement": _boolean_section(
        "diffuse_marrow_involvement", "diffuse bone-marrow involvement"
    ),
}


def derive(
    variable: str, record: PatientRecord, as_of: date, options: EvaluationOptions | None = None
) -> DerivedValue:
    """Derive one catalogue variable from ``record`` as of ``as_of``.

    Raises
    ------
    ValidationError
        ``variable`` has no derivation (a catalogue variable added without teaching the engine).
    """
    fn = DERIVATIONS.get(variable)
    if fn is None:
        raise ValidationError(
            "criterion.variable",
            variable,
            f"the eligibility engine cannot derive this variable; known: {', '.join(DERIVATIONS)}",
        )
    return fn(record, as_of, options or EvaluationOptions())
