"""CTCAE v5.0 lab grading against the CTCAE v5.0 tables (boundaries as written there)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radiotrial.cli import main
from radiotrial.errors import UnitError, ValidationError
from radiotrial.safety import ctcae_terms, get_term, grade_lab

# (term, value, expected grade) at and around every boundary of the CTCAE v5.0 text,
# with LLN values of a typical laboratory. "<75.0 - 50.0" means 50.0 <= x < 75.0.
DECREASED = [
    ("Platelet count decreased", 150, 150, 0),
    ("Platelet count decreased", 149.9, 150, 1),
    ("Platelet count decreased", 75, 150, 1),
    ("Platelet count decreased", 74.9, 150, 2),
    ("Platelet count decreased", 50, 150, 2),  # REFERENCE.md: exactly 50 is grade 2
    ("Platelet count decreased", 49.9, 150, 3),
    ("Platelet count decreased", 25, 150, 3),
    ("Platelet count decreased", 24.9, 150, 4),
    ("Neutrophil count decreased", 1.5, 2.0, 1),
    ("Neutrophil count decreased", 1.0, 2.0, 2),
    ("Neutrophil count decreased", 0.5, 2.0, 3),
    ("Neutrophil count decreased", 0.49, 2.0, 4),
    ("White blood cell decreased", 3.0, 4.0, 1),
    ("White blood cell decreased", 2.0, 4.0, 2),
    ("White blood cell decreased", 1.0, 4.0, 3),
    ("White blood cell decreased", 0.9, 4.0, 4),
    ("Lymphocyte count decreased", 0.8, 1.0, 1),
    ("Lymphocyte count decreased", 0.5, 1.0, 2),
    ("Lymphocyte count decreased", 0.2, 1.0, 3),
    ("Lymphocyte count decreased", 0.19, 1.0, 4),
    ("Anemia", 12.0, 12.0, 0),
    ("Anemia", 10.0, 12.0, 1),
    ("Anemia", 8.0, 12.0, 2),
    ("Anemia", 7.9, 12.0, 3),
    ("Hypoalbuminemia", 3.0, 3.5, 1),
    ("Hypoalbuminemia", 2.0, 3.5, 2),
    ("Hypoalbuminemia", 1.9, 3.5, 3),
]


@pytest.mark.parametrize(("term", "value", "lln", "grade"), DECREASED)
def test_decreased_terms(term: str, value: float, lln: float, grade: int) -> None:
    t = get_term(term)
    assert grade_lab(term, value, t.unit or "", lln=lln).grade == grade


# Increased chemistry with a normal (or no) baseline: multiples of ULN, strict ">".
INCREASED = [
    ("Creatinine increased", 1.0, 0),
    ("Creatinine increased", 1.01, 1),
    ("Creatinine increased", 1.5, 1),
    ("Creatinine increased", 1.51, 2),
    ("Creatinine increased", 3.0, 2),
    ("Creatinine increased", 3.01, 3),
    ("Creatinine increased", 6.0, 3),
    ("Creatinine increased", 6.01, 4),
    ("Alanine aminotransferase increased", 3.0, 1),
    ("Alanine aminotransferase increased", 3.01, 2),
    ("Alanine aminotransferase increased", 5.0, 2),
    ("Alanine aminotransferase increased", 5.01, 3),
    ("Alanine aminotransferase increased", 20.0, 3),
    ("Alanine aminotransferase increased", 20.01, 4),
    ("Aspartate aminotransferase increased", 1.01, 1),
    ("Blood bilirubin increased", 1.5, 1),
    ("Blood bilirubin increased", 1.51, 2),
    ("Blood bilirubin increased", 3.01, 3),
    ("Blood bilirubin increased", 10.01, 4),
    ("Alkaline phosphatase increased", 2.5, 1),
    ("Alkaline phosphatase increased", 2.51, 2),
    ("GGT increased", 5.01, 3),
]


@pytest.mark.parametrize(("term", "x_uln", "grade"), INCREASED)
def test_increased_terms_normal_baseline(term: str, x_uln: float, grade: int) -> None:
    t = get_term(term)
    uln = 40.0
    assert grade_lab(term, x_uln * uln, t.unit or "", uln=uln).grade == grade
    # a normal baseline changes nothing
    assert grade_lab(term, x_uln * uln, t.unit or "", uln=uln, baseline=0.5 * uln).grade == (
        grade if term != "Creatinine increased" else max(grade, _creat_baseline_grade(x_uln / 0.5))
    )


def _creat_baseline_grade(x_baseline: float) -> int:
    # CTCAE v5.0 creatinine: >1.5-3.0 x baseline grade 2, >3.0 x baseline grade 3
    return 3 if x_baseline > 3.0 else 2 if x_baseline > 1.5 else 0


def test_abnormal_baseline_rules() -> None:
    # ALT, baseline 60 U/L above ULN 40: grade 1 from 1.5 x baseline (inclusive), 2 above 3 x...
    alt = "Alanine aminotransferase increased"
    assert grade_lab(alt, 89, "U/L", uln=40, baseline=60).grade == 0  # < 1.5 x baseline, > ULN
    assert grade_lab(alt, 90, "U/L", uln=40, baseline=60).grade == 1  # 1.5 x baseline
    assert grade_lab(alt, 181, "U/L", uln=40, baseline=60).grade == 2  # > 3 x baseline
    assert grade_lab(alt, 301, "U/L", uln=40, baseline=60).grade == 3
    assert grade_lab(alt, 1201, "U/L", uln=40, baseline=60).grade == 4
    # bilirubin with abnormal baseline: grade 1 is "> 1.0 - 1.5 x baseline"
    bili = "Blood bilirubin increased"
    assert grade_lab(bili, 2.0, "mg/dL", uln=1.2, baseline=2.0).grade == 0
    assert grade_lab(bili, 2.1, "mg/dL", uln=1.2, baseline=2.0).grade == 1
    assert grade_lab(bili, 3.1, "mg/dL", uln=1.2, baseline=2.0).baseline_abnormal is True
    # creatinine: x baseline clauses apply with any baseline (CTCAE v5.0 text; admiral)
    cr = grade_lab("Creatinine increased", 1.1, "mg/dL", uln=1.0, baseline=0.35)
    assert cr.grade == 3 and "baseline" in cr.rule


def test_unit_conversion_in_grading() -> None:
    assert grade_lab("Platelet count decreased", 50_000, "/uL", lln=150_000).grade == 2
    assert grade_lab("Anemia", 80, "g/L", lln=120).grade == 2  # 80 g/L = 8.0 g/dL: "<10.0 - 8.0"
    assert grade_lab("Anemia", 79, "g/L", lln=120).grade == 3
    assert grade_lab("Anemia", 4.8, "mmol/L", lln=7.4).grade == 3  # < 4.9 mmol/L (CTCAE)
    # creatinine 3.01 x ULN in µmol/L
    assert grade_lab("Creatinine increased", 271, "umol/L", uln=90).grade == 3
    assert grade_lab("Alanine aminotransferase increased", 2.0, "ukat/L", uln=0.58).grade == 2


def test_lln_only_needed_when_it_decides() -> None:
    assert grade_lab("Platelet count decreased", 40, "10^9/L").grade == 3
    with pytest.raises(ValidationError, match="LLN"):
        grade_lab("Platelet count decreased", 100, "10^9/L")
    with pytest.raises(ValidationError, match="ULN"):
        grade_lab("Creatinine increased", 2.0, "mg/dL")


def test_errors() -> None:
    with pytest.raises(ValidationError, match="term='Platelets'"):
        grade_lab("Platelets", 10, "10^9/L")
    with pytest.raises(ValidationError, match="value=-1"):
        grade_lab("Platelet count decreased", -1, "10^9/L", lln=150)
    with pytest.raises(UnitError, match="unit"):
        grade_lab("Anemia", 9, "g/xx", lln=12)
    with pytest.raises(UnitError, match="not a unit of platelets"):
        grade_lab("Platelet count decreased", 9, "g/dL", lln=12)
    with pytest.raises(ValidationError, match="clinically"):
        grade_lab("Febrile neutropenia", 0.4, "10^9/L")


def test_clinical_grades_noted_and_aliases() -> None:
    g = grade_lab("anaemia", 7.0, "g/dL", lln=12)
    assert g.term == "Anemia" and g.grade == 3 and g.max_lab_grade == 3 and "AETOXGR" in g.note
    assert get_term("ALT increased").term == "Alanine aminotransferase increased"
    assert {"haematologic", "non_haematologic"} == {t.category for t in ctcae_terms().values()}


@given(st.floats(min_value=0, max_value=600), st.floats(min_value=0, max_value=600))
def test_decreased_grade_is_monotone(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    g = lambda v: grade_lab("Platelet count decreased", v, "10^9/L", lln=150).grade  # noqa: E731
    assert g(lo) >= g(hi)


@given(
    st.floats(min_value=0, max_value=2000),
    st.floats(min_value=0, max_value=2000),
    st.one_of(st.none(), st.floats(min_value=1, max_value=200)),
)
def test_increased_grade_is_monotone(a: float, b: float, baseline: float | None) -> None:
    lo, hi = sorted((a, b))
    term = "Aspartate aminotransferase increased"
    assert (
        grade_lab(term, lo, "U/L", uln=40, baseline=baseline).grade
        <= grade_lab(term, hi, "U/L", uln=40, baseline=baseline).grade
    )


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def test_cli_grade(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys,
        "ctcae",
        "grade",
        "--term",
        "Platelet count decreased",
        "--value",
        "50",
        "--unit",
        "10^9/L",
        "--lln",
        "150",
        "--json",
    )
    data = json.loads(out)
    assert code == 0 and data["grade"] == 2 and "<75.0 - 50.0" in data["rule"]
    code, out, _ = _run(
        capsys,
        "ctcae",
        "grade",
        "--term",
        "Creatinine increased",
        "--value",
        "2.0",
        "--unit",
        "mg/dL",
        "--uln",
        "1.0",
        "--baseline",
        "0.6",
        "--json",
    )
    assert json.loads(out)["grade"] == 3
    code, out, _ = _run(
        capsys,
        "ctcae",
        "grade",
        "--term",
        "Anemia",
        "--value",
        "7.5",
        "--unit",
        "g/dL",
        "--lln",
        "12",
    )
    assert code == 0 and "grade 3" in out
    code, out, err = _run(
        capsys, "ctcae", "grade", "--term", "Nope", "--value", "1", "--unit", "g/dL"
    )
    assert code == 2 and "term='Nope'" in err and out == ""
    code, out, _ = _run(capsys, "ctcae", "terms", "--json")
    assert code == 0 and any(t["term"] == "Anemia" for t in json.loads(out))
    code, out, _ = _run(capsys, "ctcae", "terms")
    assert code == 0 and "Anemia" in out  # narrow test terminal wraps long names
