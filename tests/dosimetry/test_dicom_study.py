"""A clinic's DICOM study (NM + CT per session, SEG regions) read by `load_study`.

A small synthetic patient: a cube of soft tissue (CT 40 HU) with one 'kidney' label of known
activity decaying mono-exponentially; the NM images are in Bq/mL, so no camera calibration and
no PVC (no FWHM given) are involved, and the region TIA must equal the analytic integral of
the fitted mono-exponential: A₀/λ_eff. Tolerance 1e-3 relative: the data and model are exact,
but NM pixels are stored as 16-bit integers with a rescale slope (quantisation ≤ 1.5e-5 of the
maximum per voxel) and the fit is iterative.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from radiotrial.dosimetry import load_study, run_dosimetry
from radiotrial.errors import InputFileError
from radiotrial.imaging import (
    DicomStudy,
    EnergyWindow,
    NMImage,
    Radiopharmaceutical,
    Volume,
    new_uid,
    write_ct_series,
    write_nm_image,
    write_seg,
)

T_INJ = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
A0_BQ = 2.0e8  # in the kidney label at t = 0
LAMBDA_PER_H = math.log(2) / 40.0  # effective half-life 40 h
TIMES_H = (4.0, 24.0, 72.0)


def _write(root: Path) -> None:
    shape, spacing = (12, 14, 16), (4.0, 4.0, 4.0)
    labels = np.zeros(shape, dtype=np.int32)
    labels[2:10, 2:12, 2:14] = 1
    labels[4:8, 5:9, 5:9] = 2
    n_kidney = int((labels == 2).sum())
    voxel_ml = 0.064
    study = DicomStudy(patient_id="RT-001")
    rp = Radiopharmaceutical("Lu-177", 7.4e9, T_INJ)
    for i, t in enumerate(TIMES_H):
        folder = root / "dicom" / f"s{i}"
        folder.mkdir(parents=True)
        when = T_INJ + timedelta(hours=t)
        ct = Volume(
            np.where(labels > 0, 40.0, -1000.0),
            spacing_mm=spacing,
            units="HU",
            acquisition_time=when,
        )
        frame = new_uid()
        ct_dir = write_ct_series(ct, folder / "CT", study=study, frame_of_reference_uid=frame)
        conc = np.zeros(shape)
        conc[labels == 2] = A0_BQ * math.exp(-LAMBDA_PER_H * t) / (n_kidney * voxel_ml)
        conc[labels == 1] = 1e3
        spect = Volume(conc, spacing_mm=spacing, units="Bq/mL", acquisition_time=when)
        write_nm_image(
            NMImage(spect, rp, energy_windows=(EnergyWindow(187.5, 229.2),)),
            folder / "NM.dcm",
            study=study,
            frame_of_reference_uid=frame,
        )
        if i == 0:
            lab = Volume(labels, spacing_mm=spacing, units="label", acquisition_time=when)
            write_seg(lab, {1: "body", 2: "kidney"}, folder / "SEG.dcm", reference=ct_dir)
    (root / "study.json").write_text(
        json.dumps({"patient_id": "RT-001", "cycle": 2}), encoding="utf-8"
    )


def test_clinic_dicom_study(tmp_path: Path) -> None:
    _write(tmp_path)
    study = load_study(tmp_path)
    assert study.patient_id == "RT-001" and study.cycle == 2
    assert study.times_h.tolist() == pytest.approx(list(TIMES_H), abs=1e-6)
    assert study.administered.gbq == pytest.approx(7.4)
    assert {r.name for r in study.regions} == {"body", "kidney"}
    result = run_dosimetry(study, engine="led", pvc=False)
    kidney = result.region("kidney")
    assert kidney.tia_bq_s == pytest.approx(A0_BQ / (LAMBDA_PER_H / 3600.0), rel=1e-3)
    assert kidney.dose_gy > 0 and kidney.dose_sd_gy > 0


def test_missing_regions_named(tmp_path: Path) -> None:
    _write(tmp_path)
    (tmp_path / "dicom" / "s0" / "SEG.dcm").unlink()
    with pytest.raises(InputFileError, match=r"s0: no regions: expected SEG.dcm or RTSTRUCT.dcm"):
        load_study(tmp_path)
    with pytest.raises(InputFileError, match="not a folder"):
        load_study(tmp_path / "absent")
