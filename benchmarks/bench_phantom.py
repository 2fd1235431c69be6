"""Virtual-patient generation: a 4-time-point 177Lu-NeoB patient at 4.8 mm.

Baselines are measured in the same run:

* generation: the same patient with the attenuation factor computed the straightforward scipy
  way (``ndimage.rotate`` the μ map per angle, cumulative sum, rotate back) instead of the
  compiled rotated-grid kernel;
* attenuation factor alone: compiled kernel vs that scipy reference;
* write + read back (NIfTI + JSON sidecars): against ``numpy.savez_compressed``/``load`` of the
  same arrays (raw compressed numpy I/O, no geometry).
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
        from radiotrial.imaging import read_nifti

        def write_read() -> None:
            out = write_patient(patient, Path(tmp) / "vp")
            for f in sorted(out.rglob("*.nii.gz")):
                read_nifti(f)

        t_io, _ = _time(write_read)
        arrays = {"labels": anat.labels.array, "density": anat.density.array}
        arrays["tia"] = patient.tia_voxel.array
        for tp in patient.time_points:
            arrays |= {
                f"ct{tp.time_h:g}": tp.ct.array,
                f"spect{tp.time_h:g}": tp.spect.array,
                f"act{tp.time_h:g}": tp.true_activity.array,
                f"lab{tp.time_h:g}": tp.labels.array,
            }

        def raw() -> None:
            np.savez_compressed(Path(tmp) / "raw.npz", **arrays)
            with np.load(Path(tmp) / "raw.npz") as z:
                for k in z.files:
                    z[k]

        t_raw, _ = _time(raw)

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
            "name": "phantom: write + read back patient (NIfTI + sidecars, truth)",
            "value": t_io,
            "unit": "s",
            "target": "< 10 s",
            "baseline_name": "numpy savez_compressed + load of the same arrays",
            "baseline_value": t_raw,
            "ratio": t_raw / t_io,
        },
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
