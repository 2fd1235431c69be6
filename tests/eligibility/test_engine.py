"""The eligibility engine on the bundled protocol: statuses, evidence, windows, errors."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from radiotrial.eligibility import (
    ANALYTES,
    PatientRecordError,
    evaluate_eligibility,
    example_record,
    load_patient_record,
    parse_patient_record,
    patient_record_schema,
)
from radiotrial.eligibility._constants import lab_constants
from radiotrial.eligibility._derive import DERIVATIONS
from radiotrial.errors import InputFileError, ValidationError
from radiotrial.protocol import bundled_protocol, parse_protocol, variable_catalogue

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2025, 6, 10)


def raw(name: str) -> dict[str, Any]:
    return copy.deepcopy(example_record(name).model_dump(mode="json", exclude_none=True))  # type: ignore[arg-type]


def run(data: dict[str, Any], as_of: date = AS_OF, protocol: Any = None):  # type: ignore[no-untyped-def]
    return evaluate_eligibility(
        parse_patient_record(data), protocol or bundled_protocol(), as_of=as_of
    )


def lab(data: dict[str, Any], test: str) -> dict[str, Any]:
    return next(x for x in data["labs"] if x["test"] == test)


def test_examples_overall() -> None:
    p = bundled_protocol()
    verdicts = {
        n: evaluate_eligibility(example_record(n), p)
        for n in ("eligible", "ineligible", "pending", "expatriate")
    }  # type: ignore[arg-type]
    assert {n: r.overall for n, r in verdicts.items()} == {
        "eligible": "eligible",
        "ineligible": "ineligible",
        "pending": "pending",
        "expatriate": "eligible",
    }
    assert verdicts["ineligible"].failed == ["I-HER2", "I-ECOG", "I-PLT", "E-SYST"]
    assert set(verdicts["pending"].pending) >= {"I-HER2", "I-PET", "I-HB", "I-EGFR", "E-PREG"}
    assert verdicts["pending"].failed == []


def test_every_criterion_has_evidence_and_reason() -> None:
    res = evaluate_eligibility(example_record("eligible"), bundled_protocol())
    for c in res.criteria:
        assert c.reason and c.evidence, c.id
        for e in c.evidence:
            assert e.field and (e.source or e.field.startswith("demographics"))
    plt = res.criterion("I-PLT").to_dict()
    assert plt["status"] == "met" and plt["outcome"] == "pass"
    assert plt["evidence"][0] == {
        "field": "labs[1]",
        "what": "platelets",
        "value": 212,
        "unit": "10^9/L",
        "date": "2025-06-03",
        "source": "Lab report L20250603-117",
    }
    assert plt["window"] == {"test": "labs", "window_d": 14.0, "measured": "2025-06-03", "age_d": 7}


def test_si_units_give_the_same_values() -> None:
    # The expatriate record's SI-unit labs: 118 g/L Hb = 11.8 g/dL; 245 000/µL = 245 ×10⁹/L;
    # creatinine 71 µmol/L = 0.803 mg/dL (÷ 88.4); ALT 0.45/0.58 µkat/L = 0.776 × ULN.
    res = evaluate_eligibility(example_record("expatriate"), bundled_protocol())
    d = res.derived
    assert d["haemoglobin"].value == pytest.approx(11.8, rel=1e-12)
    assert d["platelets"].value == pytest.approx(245.0, rel=1e-12)
    assert d["alt"].value == pytest.approx(0.45 / 0.58, rel=1e-12)
    assert d["egfr"].value == pytest.approx(
        # CKD-EPI 2021 female, 59 y, Scr/0.7 > 1
        142 * (71 / 88.4016973126 / 0.7) ** -1.2 * 0.9938**59 * 1.012,
        rel=1e-9,
    )


def test_exclusion_semantics_and_washout_boundary() -> None:
    data = raw("eligible")
    data["treatment_history"]["therapies"][2]["end_date"] = "2025-05-13"  # exactly 28 d before
    c = run(data).criterion("E-SYST")
    assert (c.status, c.outcome) == ("not_met", "pass")  # wash-out complete at exactly 28 d
    data["treatment_history"]["therapies"][2]["end_date"] = "2025-05-14"  # 27 d
    c = run(data).criterion("E-SYST")
    assert (c.status, c.outcome) == ("met", "fail")  # the excluding condition holds
    data["treatment_history"]["therapies"][2]["end_date"] = None  # ongoing therapy
    assert run(data).criterion("E-SYST").outcome == "fail"


def test_screening_window_boundary() -> None:
    data = raw("eligible")
    for x in data["labs"]:
        x["date"] = "2025-05-27"  # 14 d: inside the 14-day window
    assert run(data).criterion("I-HB").status == "met"
    for x in data["labs"]:
        x["date"] = "2025-05-26"  # 15 d: outside
    c = run(data).criterion("I-HB")
    assert c.status == "pending" and "screening window" in c.reason and c.window["age_d"] == 15  # type: ignore[index]


def test_missing_data_is_pending_never_met_or_not_met() -> None:
    data = raw("eligible")
    for key in (
        "ecog",
        "treatment_history",
        "brain_metastases",
        "baseline_imaging",
        "neob_pet",
        "pregnancy",
    ):
        data.pop(key)
    data["labs"] = [x for x in data["labs"] if x["test"] != "platelets"]
    res = run(data)
    for cid in (
        "I-ECOG",
        "I-ENDO",
        "I-RECIST",
        "I-PET",
        "I-PLT",
        "E-SYST",
        "E-RLT",
        "E-BRAIN",
        "E-PREG",
    ):
        assert res.criterion(cid).status == "pending", cid
    # liver metastases unknown (no imaging): both ALT criteria pending rather than guessed
    assert res.criterion("I-ALT").status == "pending"
    assert res.criterion("I-ALT-LM").status == "pending"
    assert res.overall == "pending"


def test_documented_absence_decides() -> None:
    data = raw("eligible")
    data["treatment_history"]["therapies"] = []
    res = run(data)
    assert res.criterion("E-SYST").status == "not_met"  # no systemic therapy ever
    assert res.criterion("I-ENDO").status == "not_met"  # and so no prior endocrine therapy
    assert res.overall == "ineligible"


def test_when_unless_without_liver_metastases() -> None:
    data = raw("eligible")
    data["baseline_imaging"]["lesions"][0]["site"] = "lung"
    lab(data, "alt")["value"] = 130  # 3.25 x ULN
    res = run(data)
    assert res.criterion("I-ALT-LM").status == "not_applicable"
    assert res.criterion("I-ALT").status == "not_met"  # > 3 x ULN without liver metastases


def test_uln_missing_and_bilirubin_boundary() -> None:
    data = raw("eligible")
    lab(data, "bilirubin")["value"] = 1.8  # exactly 1.5 x ULN 1.2 -> "<= 1.5 x ULN" holds
    assert run(data).criterion("I-BILI").status == "met"
    del lab(data, "bilirubin")["uln"]
    c = run(data).criterion("I-BILI")
    assert c.status == "pending" and "upper limit of normal" in c.reason


def test_her2_equivocal_and_pregnancy_test() -> None:
    data = raw("eligible")
    data["receptors"]["her2"] = {"ihc": "2+", "date": "2025-01-02", "source": "P1"}
    assert run(data).criterion("I-HER2").status == "pending"
    data["pregnancy"] = {
        "childbearing_potential": True,
        "breastfeeding": False,
        "test_result": "negative",
        "test_date": "2025-06-01",
        "date": "2025-06-01",
        "source": "hCG",
    }
    c = run(data).criterion("E-PREG")
    assert c.status == "pending" and "7 d" in c.reason  # test 9 d old, window 7 d
    data["pregnancy"]["test_date"] = data["pregnancy"]["date"] = "2025-06-05"
    assert run(data).criterion("E-PREG").outcome == "pass"
    data["pregnancy"]["test_result"] = "positive"
    assert run(data).criterion("E-PREG").outcome == "fail"


def test_age_birthday_rule() -> None:
    data = raw("eligible")
    data["demographics"]["birth_date"] = "2007-06-10"  # 18th birthday on the assessment date
    data["receptors"]["er"]["date"] = data["receptors"]["her2"]["date"] = "2025-01-01"
    data["diagnosis"]["date"] = "2025-01-01"
    data["treatment_history"]["therapies"] = []
    assert run(data).criterion("I-AGE").status == "met"
    data["demographics"]["birth_date"] = "2007-06-11"
    assert run(data).criterion("I-AGE").status == "not_met"


def test_dates_in_future_or_before_birth_are_refused() -> None:
    data = raw("eligible")
    lab(data, "platelets")["date"] = "2025-06-11"
    with pytest.raises(ValidationError, match=r"labs\[1\]\.date.*future"):
        run(data)
    data = raw("eligible")
    data["diagnosis"]["date"] = "1960-01-01"
    with pytest.raises(ValidationError, match=r"diagnosis\.date.*before the date of birth"):
        run(data)


def test_record_schema_errors_name_the_field() -> None:
    data = raw("eligible")
    data["receptors"]["er"]["percent"] = 150
    with pytest.raises(PatientRecordError, match=r"receptors\.er\.percent=150"):
        parse_patient_record(data)
    data = raw("eligible")
    lab(data, "platelets")["value"] = -5
    with pytest.raises(ValidationError, match=r"labs\[1\]\.value=-5.*negative"):
        run(data)
    data = raw("eligible")
    lab(data, "anc")["unit"] = "g/dL"
    with pytest.raises(ValidationError, match=r"labs\[3\]\.unit"):
        run(data)
    data = raw("eligible")
    data["labz"] = []
    with pytest.raises(PatientRecordError, match="labz.*unknown field"):
        parse_patient_record(data)
    data = raw("eligible")
    data["neob_pet"]["avid"]["L9"] = True
    with pytest.raises(PatientRecordError, match="L9"):
        parse_patient_record(data)


def test_unknown_criterion_variable_and_expatriate_flag() -> None:
    text = (REPO / "protocols" / "lu177-neob-er-her2-mbc-phase1.yaml").read_text("utf-8")
    p = parse_protocol(text.replace("expatriates_eligible: true", "expatriates_eligible: false"))
    res = evaluate_eligibility(example_record("expatriate"), p)
    assert res.overall == "ineligible" and res.failed == ["P-EXPATRIATE"]
    with pytest.raises(ValidationError, match="no such criterion"):
        res.criterion("I-NOPE")


def test_as_of_required_without_assessment_date() -> None:
    data = raw("eligible")
    del data["assessment_date"]
    with pytest.raises(ValidationError, match="as_of"):
        evaluate_eligibility(parse_patient_record(data), bundled_protocol())


def test_bad_json_file(tmp_path: Path) -> None:
    f = tmp_path / "r.json"
    f.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError, match="not valid JSON"):
        load_patient_record(f)
    with pytest.raises(InputFileError, match="not found"):
        load_patient_record(tmp_path / "missing.json")


def test_documented_schema_and_examples_are_current() -> None:
    on_disk = json.loads((REPO / "docs" / "patient-record.schema.json").read_text("utf-8"))
    assert on_disk == patient_record_schema(), (
        "regenerate: radiotrial eligibility schema > docs/..."
    )
    for name in ("eligible", "ineligible", "pending", "expatriate"):
        doc = json.loads((REPO / "docs" / "examples" / f"patient-{name}.json").read_text("utf-8"))
        assert parse_patient_record(doc) == example_record(name)  # type: ignore[arg-type]


def test_catalogue_variables_all_derivable_and_analytes_in_data() -> None:
    assert set(variable_catalogue()) <= set(DERIVATIONS)
    assert set(ANALYTES) == set(lab_constants()["analytes"])


def test_crcl_and_endocrine_lines_derivations() -> None:
    from radiotrial.eligibility import EvaluationOptions, derive

    rec = example_record("eligible")  # 53 y woman, 58 kg, 160 cm, creatinine 0.78 mg/dL
    crcl = derive("crcl", rec, AS_OF)
    # Cockcroft-Gault: (140 - 53) * 58 / (72 * 0.78) * 0.85
    assert crcl.value == pytest.approx((140 - 53) * 58 / (72 * 0.78) * 0.85, rel=1e-12)
    assert crcl.unit == "mL/min" and crcl.date == date(2025, 6, 3)
    ideal = derive("crcl", rec, AS_OF, EvaluationOptions(cg_weight="ideal"))
    ibw = 45.5 + 2.3 * (160 - 152.4) / 2.54  # Devine, 58 kg actual > IBW
    assert ideal.value == pytest.approx((140 - 53) * ibw / (72 * 0.78) * 0.85, rel=1e-12)
    # letrozole (line 1) and fulvestrant (line 2): two endocrine lines
    assert derive("prior_endocrine_lines", rec, AS_OF).value == 2
    data = raw("eligible")
    del data["weight"]
    assert not derive("crcl", parse_patient_record(data), AS_OF).known
    with pytest.raises(ValidationError, match="cannot derive"):
        derive("shoe_size", rec, AS_OF)
