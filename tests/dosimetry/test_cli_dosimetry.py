"""`radiotrial dose run` and `dose plan` end to end on a small virtual patient folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radiotrial.cli import main
from radiotrial.phantom import VirtualPatient, write_patient


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def test_dose_run_and_plan(
    patient: VirtualPatient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_patient(patient, tmp_path / "patient")
    out = tmp_path / "dose"
    code, stdout, err = _run(
        capsys, "dose", "run", str(folder), "--out", str(out), "--engine", "led", "--json"
    )
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["engine"] == "led"
    for name in (
        "regions.csv",
        "results.json",
        "dvh.csv",
        "dose.nii.gz",
        "ct.nii.gz",
        "rtdose.dcm",
        "plots/dvh.png",
    ):
        assert (out / name).is_file(), name
    kidneys = next(r for r in doc["regions"] if r["region"] == "kidneys")
    assert kidneys["dose_gy"] > 0 and kidneys["dose_sd_gy"] > 0
    code, stdout, _ = _run(capsys, "dose", "plan", str(out), "--json")
    assert code == 0
    plan = json.loads(stdout)
    assert plan["next_cycle"] == 2 and plan["limiting_organ"] in {"kidneys", "red_marrow"}


def test_dose_run_refuses_existing_output_and_bad_args(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "dose", "run", "--out", str(tmp_path / "x"))
    assert code == 2 and "--virtual" in err
    code, _, err = _run(
        capsys, "dose", "run", "--virtual", "--engine", "gpu", "--out", str(tmp_path / "y")
    )
    assert code == 2 and "--engine" in err
    code, _, err = _run(capsys, "dose", "run", str(tmp_path), "--out", str(tmp_path / "z"))
    assert code == 2 and "no session folders" in err
    assert not (tmp_path / "z").exists()  # nothing partial written
    code, _, err = _run(capsys, "dose", "plan", str(tmp_path))
    assert code == 2 and "results.json" in err
