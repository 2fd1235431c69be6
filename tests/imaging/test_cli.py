"""`radiotrial imaging inspect`: series, geometry, times and problems, as JSON."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from radiotrial.cli import main
from radiotrial.imaging import (
    DicomStudy,
    EnergyWindow,
    NMImage,
    Radiopharmaceutical,
    Volume,
    write_ct_series,
    write_nm_image,
    write_rtdose,
)

from .conftest import T_INJ


def _run(argv: list[str]) -> int:
    """Exit status of the CLI, whether ``main`` returns it or exits with it."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_inspect_reports_series_and_problems(
    tmp_path: Path, study: DicomStudy, capsys: pytest.CaptureFixture[str]
) -> None:
    ct = Volume(np.zeros((4, 5, 6)), spacing_mm=(2, 1, 1), units="HU", acquisition_time=T_INJ)
    d = write_ct_series(ct, tmp_path / "p" / "ct", study=study)
    spect = Volume(
        np.full((3, 4, 5), 10.0),
        spacing_mm=(4.8, 4.8, 4.8),
        units="Bq/mL",
        acquisition_time=T_INJ + timedelta(hours=24),
    )
    img = NMImage(spect, Radiopharmaceutical("Lu-177", 7.4e9, T_INJ), (EnergyWindow(187.6, 229.2),))
    write_nm_image(img, tmp_path / "p" / "nm.dcm", study=study)
    dose = Volume(np.full((3, 4, 5), 2.0), spacing_mm=(4.8, 4.8, 4.8), units="Gy")
    write_rtdose(dose, tmp_path / "p" / "dose.dcm", study=study, administration_id="C1")
    (d / "CT_0002.dcm").unlink()  # a missing slice must be reported, not crash the listing
    assert _run(["imaging", "inspect", str(tmp_path / "p"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_mod = {s["modality"]: s for s in report["series"]}
    assert set(by_mod) == {"CT", "NM", "RTDOSE"}
    rd = by_mod["RTDOSE"]
    assert rd["problems"] == []
    assert rd["units"] == "Gy"
    # a uniform 2 Gy map is stored as 65535 × (2/65535 rounded to DS): exact to 1e-9
    assert rd["dose"]["max_gy"] == pytest.approx(2.0, rel=1e-8)
    assert rd["dose"]["dose_type"] == "PHYSICAL"
    assert any("missing slice" in p for p in by_mod["CT"]["problems"])
    nm = by_mod["NM"]
    assert nm["problems"] == []
    assert nm["radiopharmaceutical"]["injected_activity_mbq"] == pytest.approx(7400.0)
    assert nm["radiopharmaceutical"]["time_since_injection_h"] == pytest.approx(24.0)
    # 60 voxels × 10 Bq/mL × 0.110592 mL = 66.3552 Bq
    assert nm["total_activity_mbq"] == pytest.approx(60 * 10 * 4.8**3 / 1000 / 1e6, rel=1e-4)
    assert _run(["imaging", "inspect", str(tmp_path / "p")]) == 0
    text = capsys.readouterr().out
    assert "PHYSICAL dose (RECORD), max 2 Gy" in text
    assert "missing slice" in text
    assert _run(["imaging", "inspect", str(tmp_path / "absent")]) == 2
