"""Virtual-patient generation: a 4-time-point 177Lu-NeoB patient at 4.8 mm.

Baselines are measured in the same run:

* generation: the same patient with the attenuation factor computed the straightforward scipy
  way (``ndimage.rotate`` the μ map per angle, cumulative sum, rotate back) instead of the
  compiled rotated-grid kernel;
* attenuation factor alone: compiled kernel vs that scipy reference;
* write (NIfTI + JSON sidecars, truth, preview): against ``numpy.savez_compressed`` of the same
  arrays (raw compressed numpy I/O, no geometry);
* read back, timed apart from writing: every NIfTI volume with its sidecar through
  ``read_nifti`` against nibabel's bare array (no sidecar, no LPS geometry, no checks), and the
  DICOM export (4 CT series + 4 NM objects) through the checked readers against SimpleITK/GDCM.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

import radiotrial.phantom._patient as patient_mod
from radiotrial.phantom import layout, make_patient, mean_transmission, write_patient

TARGET_S = 10.0


def _scipy_transmission(
    mu_per_cm: npt.ArrayLike, spacing_mm: tuple[float, float, float], *, n_angles: int = 32
) -> npt.NDArray[np.float32]:
    mu = np.asarray(mu_per_cm, dtype=np.float64)
    dy = spacing_mm[1]
    acc = np.zeros_like(mu)
    for k in range(n_angles):
        angle = 360.0 * k / n_angles
        rot = ndimage.rotate(mu, angle, axes=(1, 2), reshape=False, order=1)
        path = (np.cumsum(rot[:, ::-1], axis=1)[:, ::-1] - 0.5 * rot) * dy / 10.0
        acc += ndimage.rotate(np.exp(-path), -angle, axes=(1, 2), reshape=False, order=1, cval=1.0)
    return (acc / n_angles).astype(np.float32)


def _time(fn: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run() -> list[dict[str, Any]]:
    """Time patient generation, the attenuation factor and write/read-back."""
    make_patient(seed=0, time_points_h=[24])  # compile/load numba kernels, read data files
    layout.cache_clear()
    cpu0 = time.process_time()
    t_gen, patient = _time(lambda: make_patient(seed=1))
    cpu_gen = time.process_time() - cpu0
    load = os.getloadavg()[0]
    original = patient_mod.mean_transmission
    patient_mod.mean_transmission = _scipy_transmission  # type: ignore[assignment]
    try:
        layout.cache_clear()
        t_base, _ = _time(lambda: make_patient(seed=1))
    finally:
        patient_mod.mean_transmission = original

    anat = patient.anatomy
    mu = np.where(anat.labels.array > 0, 0.14, 0.0)
    spacing = anat.labels.spacing_mm
    t_tau, tau = _time(lambda: mean_transmission(mu, spacing, n_angles=32))
    t_tau_ref, tau_ref = _time(lambda: _scipy_transmission(mu, spacing, n_angles=32))
    body = anat.labels.array > 0
    agree = float(np.max(np.abs(tau[body] - tau_ref[body])))

    with tempfile.TemporaryDirectory() as tmp:
        import nibabel as nib
        import SimpleITK as sitk  # noqa: N813

        from radiotrial.imaging import read_ct_series, read_nifti, read_nm_image

        t_write, out = _time(lambda: write_patient(patient, Path(tmp) / "vp"))
        files = sorted(out.rglob("*.nii.gz"))
        t_read, _ = _time(lambda: [read_nifti(f) for f in files])
        # naive reader: nibabel's array only (no sidecar, no LPS geometry, no checks)
        t_read_base, _ = _time(lambda: [np.asarray(nib.load(f).dataobj) for f in files])
        arrays = {"labels": anat.labels.array, "density": anat.density.array}
        arrays["tia"] = patient.tia_voxel.array
        for tp in patient.time_points:
            arrays |= {
                f"ct{tp.time_h:g}": tp.ct.array,
                f"spect{tp.time_h:g}": tp.spect.array,
                f"act{tp.time_h:g}": tp.true_activity.array,
                f"lab{tp.time_h:g}": tp.labels.array,
            }
        t_raw, _ = _time(lambda: np.savez_compressed(Path(tmp) / "raw.npz", **arrays))

        dcm = write_patient(patient, Path(tmp) / "dcm", image_format="dicom", segmentation=False)
        sessions = sorted((dcm / "dicom").iterdir())

        def read_dicom() -> None:
            for s in sessions:
                read_ct_series(s / "CT")
                read_nm_image(s / "NM.dcm")

        def read_gdcm() -> None:
            for s in sessions:
                reader = sitk.ImageSeriesReader()
                reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(s / "CT")))
                reader.Execute()
                sitk.ReadImage(str(s / "NM.dcm"))

        t_dcm, _ = _time(read_dicom)
        t_dcm_base, _ = _time(read_gdcm)

    shape = "x".join(map(str, anat.labels.shape))
    return [
        {
            "name": (
                f"phantom: generate 4-time-point patient at 4.8 mm ({shape}); "
                f"CPU {cpu_gen:.1f} s, load avg {load:.1f}"
            ),
            "value": t_gen,
            "unit": "s",
            "target": f"< {TARGET_S:g} s",
            "baseline_name": "same with scipy.ndimage.rotate attenuation",
            "baseline_value": t_base,
            "ratio": t_base / t_gen,
        },
        {
            "name": f"phantom: attenuation factor, 32 angles (max |Δτ| vs scipy {agree:.3f})",
            "value": t_tau,
            "unit": "s",
            "target": "< 2 s",
            "baseline_name": "scipy.ndimage.rotate + cumsum",
            "baseline_value": t_tau_ref,
            "ratio": t_tau_ref / t_tau if t_tau > 0 else math.inf,
        },
        {
            "name": "phantom: write patient (NIfTI + sidecars, truth, preview)",
            "value": t_write,
            "unit": "s",
            "target": "< 10 s",
            "baseline_name": "numpy savez_compressed of the same arrays",
            "baseline_value": t_raw,
            "ratio": t_raw / t_write,
        },
        {
            "name": f"phantom: read back patient, {len(files)} NIfTI volumes with sidecars",
            "value": t_read,
            "unit": "s",
            "target": "< 5 s",
            "baseline_name": "nibabel array only (no sidecar, geometry or checks)",
            "baseline_value": t_read_base,
            "ratio": t_read_base / t_read,
        },
        {
            "name": "phantom: read back patient DICOM (4 CT series + 4 NM, checked)",
            "value": t_dcm,
            "unit": "s",
            "target": "< 5 s",
            "baseline_name": "SimpleITK/GDCM read of the same files (no checks)",
            "baseline_value": t_dcm_base,
            "ratio": t_dcm_base / t_dcm,
        },
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
