"""CLI: nuclide, protocol and demo commands, JSON contracts, error handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radiotrial.cli import main

PROTOCOL = Path(__file__).resolve().parents[2] / "protocols" / "lu177-neob-er-her2-mbc-phase1.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def test_nuclide_json_reports_icrp107_energies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "nuclide", "Lu-177", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["nuclide"] == "Lu-177" and data["half_life_d"] == pytest.approx(6.647)
    e = data["energy_per_decay_mev"]
    assert e["beta-"] == pytest.approx(0.1333, rel=5e-4)
    assert e["electrons"] == pytest.approx(0.1479, rel=5e-4)
    assert e["photons"] == pytest.approx(0.03510, rel=5e-4)


def test_nuclide_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "nuclide", "I-131")
    assert code == 0 and "364.49" in out


def test_unknown_nuclide_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "nuclide", "Xx-1")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "not an ICRP-107 nuclide" in err
    assert "Traceback" not in err


def test_debug_shows_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--debug", "nuclide", "Xx-1")
    assert code == 2 and "Traceback" in err


def test_protocol_validate_and_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "protocol", "validate", str(PROTOCOL), "--json")
    assert code == 0 and json.loads(out)["valid"] is True
    code, out, _ = run(capsys, "protocol", "show", str(PROTOCOL), "--json")
    assert code == 0 and json.loads(out)["dose_levels"]["levels"][0]["activity"] == 1.85
    code, out, _ = run(capsys, "protocol", "show", str(PROTOCOL))
    assert code == 0 and "Menda" in out


def test_protocol_validate_rejects_bad_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        PROTOCOL.read_text(encoding="utf-8").replace("value: 42", "value: 99"), encoding="utf-8"
    )
    code, _, err = run(capsys, "protocol", "validate", str(bad))
    assert code == 2 and "dlt.window" in err and "p.yaml" in err


def test_demo(capsys: pytest.CaptureFixture[str]) -> None:
    # the dosimetry part is covered by tests/dosimetry; here the protocol and escalation parts
    code, out, _ = run(capsys, "demo", "--no-dosimetry", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["nuclide"]["nuclide"] == "Lu-177"
    assert data["protocol"]["dose_levels_gbq"] == [1.85, 3.7, 5.55, 7.4, 9.25]
    # BOIN, target 0.3: 1/3 at level 3 lies between λe = 0.236 and λd = 0.359 → stay
    assert data["escalation"]["next_level"] == 3
    assert data["dosimetry"] is None


@pytest.mark.parametrize(
    "argv", [["--help"], ["nuclide", "--help"], ["protocol", "show", "--help"], ["demo", "--help"]]
)
def test_help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "Usage" in out
