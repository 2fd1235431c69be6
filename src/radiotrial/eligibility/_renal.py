"""Kidney function from raw values: eGFR (CKD-EPI 2021), creatinine clearance (Cockcroft–Gault)."""

from __future__ import annotations

import math
from typing import Literal

from radiotrial.eligibility._constants import lab_constants, value_of
from radiotrial.errors import ValidationError

__all__ = [
    "Sex",
    "WeightBasis",
    "body_weight_for_cg",
    "cockcroft_gault",
    "egfr_ckd_epi_2021",
    "ideal_body_weight_kg",
]

Sex = Literal["female", "male"]
WeightBasis = Literal["actual", "ideal", "adjusted"]


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(name, value, "must be a finite number")
    if value <= 0:
        raise ValidationError(name, value, "must be > 0")
    return float(value)


def _sex(sex: str) -> Sex:
    if sex not in ("female", "male"):
        raise ValidationError("sex", sex, "must be 'female' or 'male' (sex used by the equation)")
    return sex  # type: ignore[return-value]


def egfr_ckd_epi_2021(creatinine_mg_dl: float, age_y: float, sex: Sex) -> float:
    """Estimated GFR by the race-free CKD-EPI 2021 creatinine equation.

    Parameters
    ----------
    creatinine_mg_dl : float
        IDMS-traceable serum creatinine in mg/dL (convert µmol/L with
        :func:`radiotrial.eligibility.convert_lab`).
    age_y : float
        Age in years (≥ 18: the equation is not validated in children).
    sex : {"female", "male"}

    Returns
    -------
    float
        eGFR in mL/min/1.73 m².

    Notes
    -----
    eGFR = 142 · min(Scr/κ, 1)^α · max(Scr/κ, 1)^−1.200 · 0.9938^age · (1.012 if female),
    κ = 0.7 (F) / 0.9 (M), α = −0.241 (F) / −0.302 (M). Coefficients in
    ``data/lab_constants.yaml``.

    References
    ----------
    Inker LA et al., N Engl J Med 2021;385:1737-1749, doi:10.1056/NEJMoa2102953.

    Examples
    --------
    >>> round(egfr_ckd_epi_2021(1.1, 50, "male"))
    82
    """
    scr = _positive("creatinine_mg_dl", creatinine_mg_dl)
    age = _positive("age_y", age_y)
    c = lab_constants()["ckd_epi_2021"]
    if age < c["min_age_y"]:
        raise ValidationError(
            "age_y", age_y, f"CKD-EPI 2021 is for adults (age ≥ {c['min_age_y']} y)"
        )
    s = c[_sex(sex)]
    ratio = scr / s["kappa_mg_dl"]
    return float(
        c["constant"]
        * min(ratio, 1.0) ** s["alpha"]
        * max(ratio, 1.0) ** c["exponent_above_kappa"]
        * c["age_factor"] ** age
        * s["factor"]
    )


def ideal_body_weight_kg(height_cm: float, sex: Sex) -> float:
    """Ideal body weight by Devine (1974): 50 kg (M) / 45.5 kg (F) + 2.3 kg per inch over 5 ft."""
    h = _positive("height_cm", height_cm)
    c = lab_constants()["ideal_body_weight"]
    base = c["female_base_kg"] if _sex(sex) == "female" else c["male_base_kg"]
    return float(base + c["kg_per_inch"] * (h - c["base_height_cm"]) / 2.54)


def body_weight_for_cg(
    weight_kg: float, sex: Sex, *, basis: WeightBasis = "actual", height_cm: float | None = None
) -> float:
    """The body weight that enters Cockcroft–Gault (a protocol choice).

    ``actual`` uses the measured weight; ``ideal`` the Devine ideal weight; ``adjusted``
    IBW + 0.4 (actual − IBW). The ideal and adjusted options need the height and never exceed
    the actual weight (the usual convention when the patient is below ideal weight).
    """
    w = _positive("weight_kg", weight_kg)
    if basis == "actual":
        return w
    if height_cm is None:
        raise ValidationError("height_cm", None, f"the {basis} body weight needs the height")
    ibw = ideal_body_weight_kg(height_cm, sex)
    if basis == "ideal":
        return min(w, ibw)
    if basis == "adjusted":
        frac = value_of(lab_constants()["ideal_body_weight"]["adjusted_weight_fraction"])
        return min(w, ibw + frac * (w - ibw))
    raise ValidationError("basis", basis, "must be 'actual', 'ideal' or 'adjusted'")


def cockcroft_gault(creatinine_mg_dl: float, age_y: float, weight_kg: float, sex: Sex) -> float:
    """Creatinine clearance by Cockcroft–Gault.

    Parameters
    ----------
    creatinine_mg_dl : float
        Serum creatinine in mg/dL.
    age_y : float
        Age in years.
    weight_kg : float
        Body weight in kg (see :func:`body_weight_for_cg` for the protocol's choice).
    sex : {"female", "male"}

    Returns
    -------
    float
        Creatinine clearance in mL/min (not normalised to body surface area).

    Notes
    -----
    CrCl = (140 − age) · weight / (72 · Scr), × 0.85 if female.

    References
    ----------
    Cockcroft DW, Gault MH, Nephron 1976;16:31-41, doi:10.1159/000180580.

    Examples
    --------
    >>> cockcroft_gault(1.0, 60, 72, "male")
    80.0
    """
    scr = _positive("creatinine_mg_dl", creatinine_mg_dl)
    age = _positive("age_y", age_y)
    w = _positive("weight_kg", weight_kg)
    c = lab_constants()["cockcroft_gault"]
    if age >= c["age_offset_y"]:
        raise ValidationError("age_y", age_y, f"must be below {c['age_offset_y']:g} years")
    crcl = (c["age_offset_y"] - age) * w / (c["divisor"] * scr)
    if _sex(sex) == "female":
        crcl *= c["female_factor"]
    return float(crcl)
