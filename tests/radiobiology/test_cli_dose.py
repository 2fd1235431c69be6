"""`radiotrial dose bed` and `radiotrial dose release` through the real entry point."""

from __future__ import annotations

import json

import pytest

from radiotrial.cli import main as _main


def main(argv: list[str]) -> int:
    """Run the CLI entry point; it may return the status or raise SystemExit with it."""
    try:
        rc = _main(argv)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return rc


def test_dose_bed_json(capsys):
    rc = main(
        [
            "dose",
            "bed",
            "--dose-gy",
            "10",
            "--alpha-beta",
            "2.6",
            "--t-repair-h",
            "2.8",
            "--t-eff-h",
            "50",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bed_gy"] == pytest.approx(12.040, abs=5e-4)  # REFERENCE.md check value
    assert out["eqd2_gy"] == pytest.approx(out["bed_gy"] / (1 + 2 / 2.6))


def test_dose_bed_uptake_is_lower(capsys):
    main(
        [
            "dose",
            "bed",
            "--dose-gy",
            "10",
            "--alpha-beta",
            "2.6",
            "--t-repair-h",
            "2.8",
            "--t-eff-h",
            "50",
            "--t-uptake-h",
            "5",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    # a slower start spreads the dose: less incomplete-repair interaction, lower BED
    assert 10.0 < out["bed_gy"] < 12.040


def test_dose_bed_error_exit_2(capsys):
    rc = main(
        [
            "dose",
            "bed",
            "--dose-gy",
            "10",
            "--alpha-beta",
            "0",
            "--t-repair-h",
            "2.8",
            "--t-eff-h",
            "50",
        ]
    )
    assert rc == 2
    assert "alpha_beta_gy" in capsys.readouterr().err


def test_dose_release_json(capsys):
    rc = main(["dose", "release", "--activity-gbq", "7.4", "--t-eff-h", "60", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["discharge"]["rule_set"] == "china_gbz120_2020"
    assert {r["scenario"] for r in out["restrictions"]} >= {"partner", "work"}
