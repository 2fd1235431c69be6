"""Protocol model: the bundled protocol matches its sources; bad files are refused precisely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from radiotrial.errors import ProtocolError
from radiotrial.protocol import bundled_protocol, load_protocol, parse_protocol

BUNDLED = Path(__file__).resolve().parents[2] / "protocols" / "lu177-neob-er-her2-mbc-phase1.yaml"


def _raw() -> dict[str, Any]:
    return yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))


def _parse(raw: dict[str, Any]) -> None:
    parse_protocol(yaml.safe_dump(raw, allow_unicode=True), path="test.yaml")


def test_repo_copy_is_the_bundled_protocol() -> None:
    assert load_protocol(BUNDLED) == bundled_protocol()


def test_bundled_values_match_reference() -> None:
    p = bundled_protocol()
    assert p.radiopharmaceutical.nuclide == "Lu-177"
    assert p.radiopharmaceutical.target_receptor.startswith("GRPR")
    assert p.dose_levels.activity_gbq[0] == 1.85  # NeoRay starting level (PMID 41344852)
    assert p.treatment.cycle_interval.to("d") == 42.0  # ≥ 6 weeks apart
    assert p.escalation.design == "boin"
    kidney = {lim.condition: lim.limit_gy for lim in p.organ_limit("kidneys", "bed")}
    assert kidney == {"with_risk_factors": 28.0, "without_risk_factors": 40.0}  # Bodei 2008
    assert p.organ_limit("kidneys", "absorbed_dose")[0].limit_gy == 23.0  # Menda 2018
    assert p.organ_limit("red_marrow", "absorbed_dose")[0].limit_gy == 2.0  # Menda 2018
    assert p.organ_limit("pancreas", "absorbed_dose")[0].limit_gy is None
    assert p.free_of_charge and p.expatriates_eligible


def test_every_number_has_a_source() -> None:
    def walk(node: Any, path: str, has_source: bool) -> None:
        if isinstance(node, dict):
            here = has_source or "source" in node
            for key, value in node.items():
                walk(value, f"{path}.{key}", here)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]", has_source)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            structural = path.endswith(
                ("schema_version", ".level", "starting_level", "cohort_size", "evaluated_cycles[0]")
            )
            assert has_source or structural, f"number without source at {path}"

    walk(_raw(), "", False)


def test_schema_version_and_unknown_field() -> None:
    raw = _raw()
    raw["dose_level"] = raw.pop("dose_levels")
    with pytest.raises(ProtocolError, match="dose_levels: required field is missing"):
        _parse(raw)


def test_dlt_window_longer_than_cycle_interval() -> None:
    raw = _raw()
    raw["dlt"]["window"]["value"] = 60
    with pytest.raises(
        ProtocolError, match=r"dlt.window \(60.0 d\) is longer than treatment.cycle_interval"
    ):
        _parse(raw)


def test_dose_levels_not_increasing() -> None:
    raw = _raw()
    raw["dose_levels"]["levels"][2]["activity"] = 3.0
    with pytest.raises(
        ProtocolError, match=r"dose_levels: .*level 3 \(3.0 GBq\) is not above level 2"
    ):
        _parse(raw)


def test_unknown_unit() -> None:
    raw = _raw()
    raw["treatment"]["cycle_interval"]["unit"] = "fortnights"
    with pytest.raises(
        ProtocolError, match=r"treatment.cycle_interval.unit='fortnights'.*unknown unit"
    ):
        _parse(raw)


def test_anc_threshold_in_mass_concentration_refused() -> None:
    raw = _raw()
    anc = next(c for c in raw["eligibility"]["inclusion"] if c["variable"] == "anc")
    anc["unit"] = "g/dL"
    with pytest.raises(
        ProtocolError,
        match=(
            r"eligibility.inclusion.12 \(I-ANC\): .*'g/dL' is a mass_concentration unit "
            r"but variable 'anc' needs cell_concentration"
        ),
    ):
        _parse(raw)


def test_dose_level_unit_must_be_activity() -> None:
    raw = _raw()
    raw["dose_levels"]["unit"] = "Gy"
    with pytest.raises(ProtocolError, match="dose_levels.unit='Gy'.*needs activity"):
        _parse(raw)


def test_target_rate_range() -> None:
    raw = _raw()
    raw["escalation"]["target_dlt_rate"]["value"] = 0.75
    with pytest.raises(ProtocolError, match=r"target_dlt_rate must lie in \(0.05, 0.6\)"):
        _parse(raw)


def test_missing_source_refused() -> None:
    raw = _raw()
    del raw["treatment"]["max_cycles"]["source"]
    with pytest.raises(
        ProtocolError, match="treatment.max_cycles.source: required field is missing"
    ):
        _parse(raw)


def test_unknown_variable_and_duplicate_ids() -> None:
    raw = _raw()
    raw["eligibility"]["inclusion"][0]["variable"] = "shoe_size"
    with pytest.raises(ProtocolError, match="unknown variable 'shoe_size'"):
        _parse(raw)
    raw = _raw()
    raw["eligibility"]["exclusion"][0]["id"] = "I-AGE"
    with pytest.raises(ProtocolError, match=r"repeated: \['I-AGE'\]"):
        _parse(raw)


def test_yaml_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nid: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match=r"bad.yaml: <yaml>='line \d+, column \d+'"):
        load_protocol(bad)
    dup = tmp_path / "dup.yaml"
    dup.write_text("schema_version: 1\nschema_version: 2\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match="duplicate key 'schema_version'"):
        load_protocol(dup)
    with pytest.raises(ProtocolError, match="file not found"):
        load_protocol(tmp_path / "absent.yaml")
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n", encoding="utf-8")
    with pytest.raises(ProtocolError, match="must be a YAML mapping"):
        load_protocol(scalar)


def test_site_time_zone_must_be_iana() -> None:
    raw = _raw()
    raw["site"]["time_zone"] = "China Standard Time"
    with pytest.raises(ProtocolError, match="site.time_zone.*not an IANA time zone"):
        _parse(raw)


def test_patient_information_is_checked_against_the_criteria() -> None:
    raw = _raw()
    raw["patient_information"]["inclusion"][0]["criteria"] = ["I-NOPE"]
    with pytest.raises(ProtocolError, match=r"names \['I-NOPE'\], which are not inclusion"):
        _parse(raw)
    raw = _raw()  # an exclusion criterion under inclusion is refused too
    raw["patient_information"]["inclusion"][0]["criteria"] = ["E-PREG"]
    with pytest.raises(ProtocolError, match="which are not inclusion criteria"):
        _parse(raw)
    raw = _raw()  # a threshold placeholder needs exactly one numeric criterion
    raw["patient_information"]["inclusion"][0]["criteria"] = ["I-AGE", "I-ECOG"]
    with pytest.raises(ProtocolError, match="needs exactly one criterion"):
        _parse(raw)
    raw = _raw()  # both languages must carry the same placeholders
    raw["patient_information"]["inclusion"][0]["zh"] = "成年人"
    with pytest.raises(ProtocolError, match="different placeholders"):
        _parse(raw)


def test_plain_criteria_take_the_number_from_the_criterion() -> None:
    raw = _raw()
    age = next(c for c in raw["eligibility"]["inclusion"] if c["id"] == "I-AGE")
    age["threshold"] = 21
    p = parse_protocol(yaml.safe_dump(raw, allow_unicode=True), path="test.yaml")
    first = p.plain_criteria("inclusion")[0]
    assert (first.en, first.zh) == ("are at least 21 years old", "年满21岁")
