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
    # a user's S-value table: kidney self-dose only, 1e-4 mGy/(MBq·s), no mass scaling
    s_csv = tmp_path / "s.csv"
    s_csv.write_text(
        "target,source,s_value,unit\nkidney_left,kidney_left,1e-4,mGy/(MBq*s)\n"
        "kidney_right,kidney_right,1e-4,mGy/(MBq*s)\n",
        encoding="utf-8",
    )
    code, stdout, err = _run(
        capsys,
        "dose", "run", str(folder), "--out", str(out), "--engine", "led", "--json",
        "--s-values", str(s_csv),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["engine"] == "led"
    for name in (
        "regions.csv",
        "results.json",
        "dvh.csv",
        "dose.nii.gz",
        "bed.nii.gz",
        "ct.nii.gz",
        "rtdose.dcm",
        "plots/dvh.png",
    ):
        assert (out / name).is_file(), name
    kidneys = next(r for r in doc["regions"] if r["region"] == "kidneys")
    assert kidneys["dose_gy"] > 0 and kidneys["dose_sd_gy"] > 0
    assert kidneys["bed_sd_gy"] > 0 and kidneys["warnings"]
    # MIRD with the user's table: D = Ã·S per kidney, mass-weighted over the two; the phantom's
    # kidneys are mirror images holding half the TIA each (5 %: voxelisation of the pair)
    level = doc["organ_level"]["kidneys"]
    assert level["method"].startswith(f"MIRD S matrix (user table {s_csv}")
    expected = kidneys["tia_mbq_h"] / 2 * 3600 * 1e-4 * 1e-3
    assert level["dose_gy"] == pytest.approx(expected, rel=0.05)
    assert level["dose_sd_gy"] > 0
    tumours = [r for r in doc["regions"] if r["kind"] == "tumour"]
    assert tumours and all(r["eud_gy"] <= r["dose_gy"] for r in tumours)
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
    bad = tmp_path / "bad.csv"
    bad.write_text("target,source,s_value,unit\nkidney,kidney,1,Gy/kg\n", encoding="utf-8")
    code, _, err = _run(
        capsys, "dose", "run", "--virtual", "--out", str(tmp_path / "w"), "--s-values", str(bad)
    )
    assert code == 2 and "bad.csv: row 2: unit 'Gy/kg'" in err
    assert not (tmp_path / "w").exists()
