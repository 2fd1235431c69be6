"""Benchmark: one 4-session virtual patient at 4.8 mm through voxel-wise fitting and kernel dose.

Measured: quantification (calibration + GTM), region and voxel TIA, kernel-convolution dose,
after a warm-up run that compiles the numba kernels. Target: under 10 s on the 2-core machine.

Baseline: the same voxel TIA by scipy ``curve_fit`` (mono-exponential) in a Python loop over a
sample of the fitted voxels, extrapolated to all of them, plus the same quantification and dose
time; the ratio is the speed-up of the vectorised voxel fit on the whole pipeline.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

N_SAMPLE = 300


def run() -> list[dict[str, Any]]:
    from radiotrial.dosimetry import fit_regions, quantify, study_from_virtual_patient, voxel_tia
    from radiotrial.phantom import make_patient
    from radiotrial.transport import compute_dose

    patient = make_patient(seed=1)
    study = study_from_virtual_patient(patient)

    def pipeline() -> tuple[float, dict[str, float]]:
        parts: dict[str, float] = {}
        t0 = time.perf_counter()
        q = quantify(study)
        parts["quantify"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        fit_regions(study, q)
        vox = voxel_tia(study, q)
        parts["tia"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        compute_dose(
            vox.tia,
            nuclide=study.nuclide,
            ct_hu=study.sessions[0].ct,
            method="kernel",
            labels=study.labels,
        )
        parts["dose"] = time.perf_counter() - t2
        return time.perf_counter() - t0, parts

    pipeline()  # warm-up: numba compilation and kernel caches
    elapsed, parts = pipeline()

    # baseline voxel fit: scipy in a loop over sampled organ/tumour voxels
    q = quantify(study)
    lab = np.asarray(study.labels.array)
    remainder = [lb for r in study.regions if r.kind == "remainder" for lb in r.labels]
    series = np.stack(
        [np.asarray(a.array)[(lab > 0) & ~np.isin(lab, remainder)] for a in q.activity], axis=1
    )
    series = series[np.all(series > 0, axis=1)] * 1e-6
    t = study.times_h

    def mono(x: np.ndarray, a: float, k: float) -> np.ndarray:
        return a * np.exp(-k * x)

    rng = np.random.default_rng(0)
    sample = series[rng.choice(series.shape[0], size=min(N_SAMPLE, series.shape[0]), replace=False)]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for y in sample:
            with contextlib.suppress(RuntimeError):  # a failed fit still cost its time
                curve_fit(mono, t, y, p0=(y[0], 0.01), sigma=y, maxfev=2000)
    per_voxel = (time.perf_counter() - t0) / sample.shape[0]
    baseline = per_voxel * series.shape[0] + parts["quantify"] + parts["dose"]
    return [
        {
            "name": "virtual patient 4.8 mm, 4 sessions: quantify + voxel TIA + kernel dose",
            "value": elapsed,
            "unit": "s",
            "target": "< 10 s",
            "baseline_name": f"scipy curve_fit per voxel ({series.shape[0]} voxels, extrapolated)",
            "baseline_value": baseline,
            "ratio": baseline / elapsed,
            "parts_s": parts,
        }
    ]
