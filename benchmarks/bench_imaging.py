"""Time to read back a 4-time-point patient (CT series + 4 SPECT NM objects) at 4.8 mm.

Baseline measured in the same run: SimpleITK/GDCM reading the same files (geometry only,
no radiopharmaceutical or consistency checks), so ``ratio`` = baseline / radiotrial.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np


def _write_patient(root: Path) -> tuple[Path, list[Path]]:
    from radiotrial.imaging import (
        DicomStudy,
        EnergyWindow,
        NMImage,
        Radiopharmaceutical,
        TomoRotation,
        Volume,
        new_uid,
        write_ct_series,
        write_nm_image,
    )

    tz = timezone(timedelta(hours=8))
    t0 = datetime(2025, 4, 1, 9, 0, tzinfo=tz)
    study = DicomStudy(patient_id="BENCH-001", patient_sex="F", study_datetime=t0)
    rng = np.random.default_rng(0)
    shape = (80, 72, 104)  # ≈ 38 × 35 × 50 cm at 4.8 mm, the default SPECT grid
    for_uid = new_uid()
    ct = Volume(
        rng.normal(0.0, 50.0, shape).round(),
        spacing_mm=(4.8, 4.8, 4.8),
        units="HU",
        acquisition_time=t0 + timedelta(hours=4),
    )
    ct_dir = write_ct_series(ct, root / "ct", study=study, frame_of_reference_uid=for_uid)
    rp = Radiopharmaceutical("Lu-177", 7.4e9, t0)
    nms = []
    for i, h in enumerate((4, 24, 48, 168)):
        vol = ct.with_array(rng.gamma(2.0, 1e3, shape), units="Bq/mL").with_time(
            t0 + timedelta(hours=h)
        )
        img = NMImage(vol, rp, (EnergyWindow(187.56, 229.24),), TomoRotation(120, 60.0), "PARA")
        nms.append(write_nm_image(img, root / f"nm_{h}h.dcm", study=study, series_number=2 + i))
    return ct_dir, nms


def run() -> list[dict[str, Any]]:
    import SimpleITK as sitk  # noqa: N813

    from radiotrial.imaging import read_ct_series, read_nm_image

    with tempfile.TemporaryDirectory() as tmp:
        ct_dir, nms = _write_patient(Path(tmp))
        best, base = np.inf, np.inf
        for _ in range(3):
            t = time.perf_counter()
            read_ct_series(ct_dir)
            for p in nms:
                read_nm_image(p)
            best = min(best, time.perf_counter() - t)
            t = time.perf_counter()
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(ct_dir)))
            reader.Execute()
            for p in nms:
                sitk.ReadImage(str(p))
            base = min(base, time.perf_counter() - t)
    return [
        {
            "name": "imaging: read back 4-time-point patient (CT + 4 NM, 4.8 mm)",
            "value": best,
            "unit": "s",
            "target": 2.0,
            "baseline_name": "SimpleITK/GDCM read of the same files (no checks)",
            "baseline_value": base,
            "ratio": base / best,
        }
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
