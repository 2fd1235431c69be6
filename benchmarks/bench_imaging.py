"""Imaging I/O timings, each with a baseline measured in the same run (``ratio`` = baseline / us).

* read back a 4-time-point patient (CT series + 4 SPECT NM objects) at 4.8 mm; baseline
  SimpleITK/GDCM reading the same files (geometry only, no radiopharmaceutical or checks);
* read an RT Dose of a 4.8 mm whole-body grid; baseline SimpleITK/GDCM (stored integers only,
  DoseGridScaling not applied);
* rasterise an RT Structure Set of five organs on a 2 mm CT; baseline the same even-odd
  rasterisation with pydicom's DS parsing and matplotlib's point-in-polygon test over
  the whole slice for every contour (the reader before the scanline fill).
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
        rows = [_bench_rtdose(Path(tmp)), _bench_rtstruct(Path(tmp))]
    return [
        {
            "name": "imaging: read back 4-time-point patient (CT + 4 NM, 4.8 mm)",
            "value": best,
            "unit": "s",
            "target": 2.0,
            "baseline_name": "SimpleITK/GDCM read of the same files (no checks)",
            "baseline_value": base,
            "ratio": base / best,
        },
        *rows,
    ]


def _best_of(n: int, func: Any) -> float:
    best = np.inf
    for _ in range(n):
        t = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t)
    return float(best)


def _bench_rtdose(root: Path) -> dict[str, Any]:
    import SimpleITK as sitk  # noqa: N813

    from radiotrial.imaging import DicomStudy, Volume, read_rtdose, write_rtdose

    rng = np.random.default_rng(1)
    dose = Volume(rng.gamma(2.0, 2.0, (80, 72, 104)), spacing_mm=(4.8, 4.8, 4.8), units="Gy")
    path = write_rtdose(
        dose, root / "dose.dcm", study=DicomStudy(patient_id="BENCH-001"), administration_id="1"
    )
    ours = _best_of(3, lambda: read_rtdose(path))
    base = _best_of(3, lambda: sitk.GetArrayFromImage(sitk.ReadImage(str(path))))
    return {
        "name": "imaging: read RT Dose 80x72x104 (4.8 mm), checked and scaled to Gy",
        "value": ours,
        "unit": "s",
        "target": 0.5,
        "baseline_name": "SimpleITK/GDCM read of the same file (raw integers)",
        "baseline_value": base,
        "ratio": base / ours,
    }


def _naive_rasterise(path: Path, like: Any) -> Any:
    """The straightforward reader: pydicom DS values, every slice centre tested per contour."""
    import pydicom
    from matplotlib.path import Path as MplPath

    ds = pydicom.dcmread(path)
    _, ny, nx = like.shape
    jj, ii = np.mgrid[0:ny, 0:nx]
    centres = np.column_stack([ii.ravel(), jj.ravel()]).astype(np.float64)
    out = np.zeros(like.shape, dtype=np.int32)
    for rc in ds.ROIContourSequence:
        inside = np.zeros(like.shape, dtype=bool)
        for c in rc.ContourSequence:
            ijk = like.lps_to_index(np.asarray(c.ContourData, dtype=float).reshape(-1, 3))
            k = round(float(np.mean(ijk[:, 2])))
            inside[k] ^= MplPath(ijk[:, :2]).contains_points(centres).reshape(ny, nx)
        out[inside] = int(rc.ReferencedROINumber)
    return out


def _bench_rtstruct(root: Path) -> dict[str, Any]:
    from radiotrial.imaging import (
        DicomStudy,
        Volume,
        read_rtstruct,
        write_ct_series,
        write_rtstruct,
    )

    shape = (60, 192, 256)  # 12 × 38 × 51 cm at 2 mm
    z, y, x = np.mgrid[0 : shape[0], 0 : shape[1], 0 : shape[2]].astype(np.float64)
    lab = np.zeros(shape, np.int32)
    for n, (cz, cy, cx, rz, ry, rx) in enumerate(
        [
            (30, 96, 128, 28, 80, 115),  # body
            (30, 90, 80, 20, 40, 45),  # liver
            (28, 110, 70, 8, 12, 10),  # right kidney
            (28, 110, 186, 8, 12, 10),  # left kidney
            (34, 80, 170, 10, 15, 20),  # spleen
        ],
        start=1,
    ):
        lab[((z - cz) / rz) ** 2 + ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 < 1] = n
    t0 = datetime(2025, 4, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    study = DicomStudy(patient_id="BENCH-001", study_datetime=t0)
    ct = Volume(lab * 10.0, spacing_mm=(2.0, 2.0, 2.0), units="HU", acquisition_time=t0)
    ct_dir = write_ct_series(ct, root / "ct_rs", study=study)
    names = {1: "body", 2: "liver", 3: "right kidney", 4: "left kidney", 5: "spleen"}
    rs = write_rtstruct(
        ct.with_array(lab, units="label"), names, root / "rs.dcm", reference=ct_dir, study=study
    )
    got, _ = read_rtstruct(rs, reference=ct_dir)
    if not np.array_equal(got.array, _naive_rasterise(rs, ct)):  # same answer, or no timing
        raise AssertionError("RTSTRUCT rasterisations disagree")
    ours = _best_of(2, lambda: read_rtstruct(rs, reference=ct_dir))
    base = _best_of(1, lambda: _naive_rasterise(rs, ct))
    return {
        "name": "imaging: rasterise RTSTRUCT, 5 organs on a 60x192x256 CT (2 mm)",
        "value": ours,
        "unit": "s",
        "target": 2.0,
        "baseline_name": "pydicom DS parsing + whole-slice point-in-polygon per contour",
        "baseline_value": base,
        "ratio": base / ours,
    }


if __name__ == "__main__":
    for row in run():
        print(row)
