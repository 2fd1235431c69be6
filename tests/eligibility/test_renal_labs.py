"""Renal function equations and laboratory unit conversion against published values."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radiotrial.eligibility import (
    body_weight_for_cg,
    check_lab_value,
    cockcroft_gault,
    convert_lab,
    egfr_ckd_epi_2021,
    ideal_body_weight_kg,
    uln_multiple,
)
from radiotrial.errors import UnitError, ValidationError


@pytest.mark.parametrize(
    ("sex", "kappa", "sex_factor"), [("female", 0.7, 1.012), ("male", 0.9, 1.0)]
)
@pytest.mark.parametrize("age", [18, 45, 70])
def test_ckd_epi_2021_at_kappa_reduces_to_age_and_sex_terms(
    sex: str, kappa: float, sex_factor: float, age: int
) -> None:
    # Analytic identity of Inker et al. NEJM 2021: at Scr = kappa both min/max terms are 1.
    expected = 142 * 0.9938**age * sex_factor
    assert egfr_ckd_epi_2021(kappa, age, sex) == pytest.approx(expected, rel=1e-12)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sex", "kappa", "alpha"), [("female", 0.7, -0.241), ("male", 0.9, -0.302)]
)
def test_ckd_epi_2021_exponents_on_each_side_of_kappa(sex: str, kappa: float, alpha: float) -> None:
    # Ratio to the value at kappa is (Scr/kappa)^alpha below and (Scr/kappa)^-1.200 above.
    at_k = egfr_ckd_epi_2021(kappa, 60, sex)  # type: ignore[arg-type]
    low, high = 0.5 * kappa, 2.0 * kappa
    assert egfr_ckd_epi_2021(low, 60, sex) / at_k == pytest.approx(0.5**alpha, rel=1e-12)  # type: ignore[arg-type]
    assert egfr_ckd_epi_2021(high, 60, sex) / at_k == pytest.approx(2.0**-1.2, rel=1e-12)  # type: ignore[arg-type]


def test_ckd_epi_2021_published_calculator_value() -> None:
    # NKF CKD-EPI 2021 calculator convention: male, 50 y, Scr 1.1 mg/dL reports 82 mL/min/1.73 m²
    # (integer reporting, hence the rounding comparison).
    assert round(egfr_ckd_epi_2021(1.1, 50, "male")) == 82


def test_ckd_epi_refuses_children_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="age_y"):
        egfr_ckd_epi_2021(0.8, 12, "female")
    with pytest.raises(ValidationError, match="creatinine_mg_dl"):
        egfr_ckd_epi_2021(-0.8, 40, "female")
    with pytest.raises(ValidationError, match="sex"):
        egfr_ckd_epi_2021(0.8, 40, "other")  # type: ignore[arg-type]


def test_cockcroft_gault_worked_example() -> None:
    # (140 - 60) * 72 / (72 * 1.0) = 80 mL/min; women x 0.85 (Cockcroft & Gault 1976).
    assert cockcroft_gault(1.0, 60, 72, "male") == pytest.approx(80.0, rel=1e-12)
    assert cockcroft_gault(1.0, 60, 72, "female") == pytest.approx(68.0, rel=1e-12)
    assert cockcroft_gault(2.0, 60, 72, "male") == pytest.approx(40.0, rel=1e-12)


def test_devine_ideal_body_weight() -> None:
    # Devine 1974: 50 kg + 2.3 kg per inch over 5 ft; 5 ft 10 in (177.8 cm) man -> 73 kg.
    assert ideal_body_weight_kg(177.8, "male") == pytest.approx(73.0, abs=1e-9)
    assert ideal_body_weight_kg(152.4, "female") == pytest.approx(45.5, abs=1e-9)
    # adjusted = IBW + 0.4 (actual - IBW)
    assert body_weight_for_cg(93.0, "male", basis="adjusted", height_cm=177.8) == pytest.approx(
        73.0 + 0.4 * 20.0
    )
    assert body_weight_for_cg(60.0, "male", basis="ideal", height_cm=177.8) == 60.0
    with pytest.raises(ValidationError, match="height"):
        body_weight_for_cg(60.0, "male", basis="ideal")


def test_lab_conversions_published_factors() -> None:
    # Creatinine: 1 mg/dL = 88.4 µmol/L (Inker 2021, M = 113.12 g/mol); 4 significant figures.
    assert convert_lab(1.0, "mg/dL", "µmol/L", analyte="creatinine") == pytest.approx(
        88.4, rel=1e-4
    )
    # Bilirubin: 1 mg/dL = 17.1 µmol/L (molar mass 584.66 g/mol); 3 significant figures.
    assert convert_lab(1.0, "mg/dL", "umol/L", analyte="bilirubin") == pytest.approx(17.1, rel=1e-3)
    # CTCAE v5.0 anaemia equivalence 10.0 g/dL = 6.2 mmol/L (given to 2 significant figures).
    assert convert_lab(10.0, "g/dL", "mmol/L", analyte="haemoglobin") == pytest.approx(
        6.2, abs=0.01
    )
    assert convert_lab(9.5, "g/dL", "g/L", analyte="haemoglobin") == 95.0
    assert convert_lab(150_000, "/µL", "10^9/L", analyte="platelets") == 150.0
    assert convert_lab(1.5, "x10^9/L", "/uL", analyte="anc") == 1500.0
    assert convert_lab(1.0, "µkat/L", "U/L", analyte="alt") == 60.0  # 1 U = 1 µmol/min


@given(st.floats(min_value=1e-3, max_value=1e3, allow_nan=False))
def test_creatinine_round_trip(value: float) -> None:
    back = convert_lab(
        convert_lab(value, "mg/dL", "umol/L", analyte="creatinine"),
        "umol/L",
        "mg/dL",
        analyte="creatinine",
    )
    assert back == pytest.approx(value, rel=1e-10)  # 12-significant-digit rounding in convert


def test_lab_unit_errors_name_the_field() -> None:
    with pytest.raises(UnitError, match=r"labs\[3\]\.unit.*not a unit of anc"):
        check_lab_value(1.5, "g/dL", analyte="anc", field="labs[3]")
    with pytest.raises(UnitError, match="unknown unit"):
        check_lab_value(1.5, "furlongs", analyte="platelets", field="labs[0]")
    with pytest.raises(UnitError, match="enzyme"):
        convert_lab(30, "mg/dL", "U/L", analyte="ast")


def test_impossible_lab_values() -> None:
    with pytest.raises(ValidationError, match=r"labs\[1\]\.value=-20.*negative"):
        check_lab_value(-20, "10^9/L", analyte="platelets", field="labs[1]")
    with pytest.raises(ValidationError, match="plausible maximum"):
        check_lab_value(110, "g/dL", analyte="haemoglobin", field="labs[0]")  # g/L typed as g/dL
    with pytest.raises(ValidationError, match="finite"):
        check_lab_value(math.nan, "g/dL", analyte="haemoglobin", field="labs[0]")
    assert check_lab_value(110, "g/L", analyte="haemoglobin", field="labs[0]") == 11.0


def test_uln_multiple_mixed_units() -> None:
    # 34.2 µmol/L bilirubin with ULN 1.0 mg/dL (= 17.1 µmol/L) is 2 × ULN (3 s.f. factor).
    assert uln_multiple(
        34.2, "umol/L", 1.0, "mg/dL", analyte="bilirubin", field="labs[0]"
    ) == pytest.approx(2.0, rel=1e-3)
    with pytest.raises(ValidationError, match="uln"):
        uln_multiple(10, "U/L", 0, "U/L", analyte="alt", field="labs[0]")
