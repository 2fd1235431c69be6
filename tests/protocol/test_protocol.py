"""Protocol model: the bundled protocol matches its sources; bad files are refused precisely."""

from __future__ import annotations

import re
from collections.abc import Callable
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
            # numbering, not quantities: the file format, level numbers, which cycles count
            structural = path.endswith(("schema_version", ".level")) or ".evaluated_cycles[" in path
            assert has_source or structural, f"number without source at {path}"

    walk(_raw(), "", False)


# The rule for assumption flags. A source is *primary* when it cites the publication, guideline,
# registry entry or announcement the number was read from. It is not primary, and the entry
# must then carry ``assumption: true``, when the number comes only from radiotrial's fact sheet
# (REFERENCE.md, itself a summary), is a radiotrial default or choice, was inferred, or is
# cited as secondary, not read, typical, conventional, common or illustrative.
NOT_PRIMARY = re.compile(
    r"REFERENCE\.md|radiotrial (?:default|issue)|chosen by radiotrial|radiotrial defaults|"
    r"secondary|not read|inferred|typical|conventional|common|illustrative|public code",
    re.IGNORECASE,
)


def _sourced_records(node: Any, path: str = "") -> list[tuple[str, dict[str, Any], bool]]:
    """(path, record, holds a number of its own) for every mapping with a ``source``."""
    out: list[tuple[str, dict[str, Any], bool]] = []

    def numbers(n: Any) -> bool:
        if isinstance(n, dict):
            return any(numbers(v) for v in n.values() if not _has_source(v))
        if isinstance(n, list):
            return any(numbers(v) for v in n if not _has_source(v))
        return isinstance(n, int | float) and not isinstance(n, bool)

    if isinstance(node, dict):
        if "source" in node:
            out.append((path, node, numbers(node)))
        for key, value in node.items():
            out += _sourced_records(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _sourced_records(value, f"{path}[{i}]")
    return out


def _has_source(node: Any) -> bool:
    return isinstance(node, dict) and "source" in node


def test_numbers_without_a_primary_source_are_flagged() -> None:
    records = _sourced_records(_raw())
    assert len(records) > 40  # the walk sees the whole file
    for path, rec, has_number in records:
        if has_number and NOT_PRIMARY.search(rec["source"]):
            assert rec.get("assumption") is True, f"{path}: {rec['source']!r} needs assumption"
    # the values the audit named are among them
    raw = _raw()
    crit = {c["id"]: c for c in raw["eligibility"]["inclusion"] + raw["eligibility"]["exclusion"]}
    for cid in ("I-AGE", "I-ECOG", "I-HB", "I-PLT", "I-WBC", "I-ANC", "I-EGFR", "I-ER"):
        assert crit[cid]["assumption"] is True, cid
    for cid in ("E-RLT", "E-BONE", "E-SYST", "E-TRANSF", "E-BRAIN", "E-PREG", "E-MARROW"):
        assert crit[cid]["assumption"] is True, cid
    assert raw["escalation"]["assumption"] is True  # cohort size and sample size: defaults
    assert raw["dlt"]["window"]["assumption"] is True  # inferred from NeoRay's cycle 1


def test_er_threshold_follows_the_neob_breast_protocol() -> None:
    # NCT05870579 (177Lu-NeoB in ER+/HER2- breast cancer) requires ER > 10%; ASCO/CAP's ≥ 1%
    # includes "ER-low" 1-10% tumours (REFERENCE.md, eligibility building blocks)
    er = next(c for c in bundled_protocol().eligibility.inclusion if c.id == "I-ER")
    assert (er.operator, er.threshold, er.unit) == (">", 10.0, "%")


def test_schema_version_and_unknown_field() -> None:
    raw = _raw()
    raw["schema_version"] = 2
    with pytest.raises(ProtocolError, match=r"schema_version=2: Input should be 1"):
        _parse(raw)
    raw = _raw()
    raw["dose_levels"]["step_size"] = 1.85
    with pytest.raises(
        ProtocolError, match=r"dose_levels.step_size=1.85: unknown field \(check the spelling"
    ):
        _parse(raw)


def test_missing_field() -> None:
    raw = _raw()
    raw["dose_level"] = raw.pop("dose_levels")
    with pytest.raises(ProtocolError, match="dose_levels: required field is missing"):
        _parse(raw)


def _set(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        node: Any = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _criterion(cid: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        elig = raw["eligibility"]
        crit = next(c for c in elig["inclusion"] + elig["exclusion"] if c["id"] == cid)
        crit[key] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set("dlt", "window", "value", value=-5), r"dlt.window=-5: a duration must be > 0"),
        (
            _set("treatment", "cycle_interval", "value", value=-6),
            r"treatment.cycle_interval=-6: a duration must be > 0, got -6 week",
        ),
        # NaN compares False with everything, so it would slip past the window rule
        (_set("dlt", "window", "value", value=float("nan")), r"dlt.window.value=nan: .*finite"),
        (
            _set("radiobiology", "kidneys", "alpha_beta", "value", value=-2.6),
            r"radiobiology.kidneys.alpha_beta=-2.6: must be > 0 Gy",
        ),
        (
            _set("radiobiology", "kidneys", "t_repair", "value", value=0),
            r"radiobiology.kidneys.t_repair=0: a duration must be > 0",
        ),
        (
            _set("screening_tests", 0, "window", "value", value=-14),
            r"screening_tests.0.window=-14: a duration must be > 0",
        ),
        (
            _set("retention", "prescreen_contact_data", "value", value=-180),
            r"retention.prescreen_contact_data=-180: a duration must be > 0",
        ),
        (
            _criterion("I-AGE", "threshold", -18),
            r"eligibility.inclusion.0 \(I-AGE\): threshold -18 y is outside the physical range "
            r"of age \[0, inf\] y",
        ),
        (
            _criterion("I-ER", "threshold", 150),
            r"eligibility.inclusion.1 \(I-ER\): threshold 150 % is outside the physical range "
            r"of er_percent \[0, 100\] %",
        ),
        (
            _criterion("I-ECOG", "threshold", 7),
            r"eligibility.inclusion.7 \(I-ECOG\): threshold 7 is outside the physical range "
            r"of ecog \[0, 5\]",
        ),
        (
            _criterion("E-SYST", "threshold", -28),
            r"eligibility.exclusion.2 \(E-SYST\): threshold -28 d: a duration must be > 0",
        ),
        (
            _set("organ_limits", 0, "limit", value=float("inf")),
            r"organ_limits.0.limit=inf: .*finite",
        ),
        (
            _set("organ_limits", 0, "limit", value=-23),
            r"organ_limits.0.limit=-23: .*greater than 0",
        ),
        (
            _set("dose_levels", "levels", 4, "activity", value=float("inf")),
            r"dose_levels.levels.4.activity=inf: .*finite",
        ),
        (
            _set("treatment", "max_cycles", "unit", value="Gy"),
            r"treatment.max_cycles=4: a count takes no unit, got unit 'Gy'",
        ),
        (
            _set("treatment", "max_cycles", "value", value=2.5),
            r"treatment.max_cycles=2.5: a count must be a whole number >= 1",
        ),
        (
            _set("radiopharmaceutical", "nuclide", value="Lu-999"),
            r"radiopharmaceutical.nuclide='Lu-999': not an ICRP-107 nuclide",
        ),
        (
            _set("dlt", "evaluated_cycles", value=[]),
            r"dlt.evaluated_cycles: List should have at least 1 item",
        ),
        (
            _set("escalation", "target_dlt_rate", "unit", value="Gy"),
            r"escalation: unit 'Gy' is a absorbed_dose unit but target_dlt_rate needs fraction",
        ),
    ],
)
def test_impossible_numbers_are_refused(
    edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    raw = _raw()
    edit(raw)
    with pytest.raises(ProtocolError, match=r"^test\.yaml: " + message):
        _parse(raw)


def test_percent_target_is_converted() -> None:
    raw = _raw()
    raw["escalation"]["target_dlt_rate"].update(value=30, unit="%")
    assert parse_protocol(yaml.safe_dump(raw)).escalation.target_fraction == pytest.approx(0.3)


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
    with pytest.raises(ProtocolError) as err:
        _parse(raw)
    msg = str(err.value)
    assert msg.startswith("test.yaml: treatment.cycle_interval.unit='fortnights': unknown unit;")
    assert msg.count("fortnights") == 1  # said once, not repeated by each layer


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
