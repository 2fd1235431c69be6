"""The design a protocol names: one builder for the registry services and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from radiotrial.cli import app
from radiotrial.cli._output import run_app
from radiotrial.errors import ValidationError
from radiotrial.escalation import (
    BoinDesign,
    ThreePlusThree,
    design_from_protocol,
    design_settings,
    parse_outcomes,
)
from radiotrial.protocol import bundled_protocol, load_protocol
from radiotrial.services import design_for


def _variant(tmp_path: Path, **escalation: object) -> Path:
    """The bundled protocol file with ``escalation`` fields replaced."""
    raw = yaml.safe_load(_bundled_path().read_text(encoding="utf-8"))
    raw["escalation"].update(escalation)
    out = tmp_path / "protocol.yaml"
    out.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return out


def _bundled_path() -> Path:
    return Path(__file__).parents[2] / "protocols" / "lu177-neob-er-her2-mbc-phase1.yaml"


def test_settings_are_the_protocol_numbers() -> None:
    # the bundled protocol: BOIN, target 0.3, cohorts of 3, 24 patients, levels 1.85..9.25 GBq
    s = design_settings(bundled_protocol())
    assert (s.design, s.target, s.cohort_size, s.max_cohorts, s.start_level) == (
        "boin",
        0.3,
        3,
        8,
        1,
    )
    assert s.activity_gbq == pytest.approx((1.85, 3.7, 5.55, 7.4, 9.25), rel=1e-12)
    d = design_from_protocol(bundled_protocol())
    assert isinstance(d, BoinDesign)
    assert (d.n_levels, d.cohort_size, d.max_cohorts, d.target) == (5, 3, 8, 0.3)
    assert design_for is design_from_protocol  # the services' name is the same function


def test_three_plus_three_and_unsupported_designs(tmp_path: Path) -> None:
    d = design_from_protocol(load_protocol(_variant(tmp_path, design="3+3-deescalation")))
    assert isinstance(d, ThreePlusThree) and d.variant == "de-escalation"
    assert d.max_cohorts == 24 // 3
    with pytest.raises(ValidationError, match=r"protocol\.escalation\.design.*tite-crm"):
        design_from_protocol(load_protocol(_variant(tmp_path, design="tite-crm")))


@pytest.mark.parametrize("design", ["boin", "3+3"])
def test_cli_next_runs_the_registry_design(
    design: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 3+3 with 6 patients allowed: after two complete cohorts the maximum sample size is
    # reached, so the protocol's design stops where a 3+3 with 2·K cohorts would go on.
    path = _variant(tmp_path, design=design, max_sample_size=6)
    history = "1NNN 2NNN"
    expected = design_from_protocol(load_protocol(path)).decide(parse_outcomes(history, 5))
    rc = run_app(app, ["design", "next", "--protocol", str(path), "--history", history, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert (data["action"], data["next_level"]) == (expected.action, expected.next_level)
    assert data["action"] == "stop"
