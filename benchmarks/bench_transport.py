"""Transport benchmarks: 128³ kernel convolution, photon MC throughput, time to 1 % on kidney dose.

Each row compares against a baseline measured in the same run:

* kernel convolution — radiotrial's real-FFT convolution (``scipy.fft``, single precision, fast
  lengths, circular padding by the kernel half-width only, all cores) against
  ``scipy.signal.fftconvolve`` (float64, full linear padding) on the same TIA and kernel;
* kernel engine — ``compute_dose(method="kernel")`` on 128³ (electron and photon kernels, one
  shared forward FFT, kernel spectra cached per grid), against the same ``fftconvolve``;
* MC histories/s — the numba photon MC (track-length scoring) on all cores against the same MC
  on one thread;
* photon MC time to 1 % — extrapolated (t ∝ 1/σ²) for the photon part of the kidney mean dose
  of a virtual patient (radiotrial.phantom), track-length estimator against the analog
  (interaction-site) estimator in the same run;
* MC engine time to 1 % — the same for the full MC engine (condensed-history electrons +
  photons), against the same run on one thread.
"""

from __future__ import annotations

import time
from typing import Any

import numba
import numpy as np

from radiotrial.transport import compute_dose, voxel_s_kernel
from radiotrial.transport._engines import PhotonEstimator, _cached_spectrum, _fft_convolve


def _row(
    name: str, value: float, unit: str, target: str, base_name: str, base: float
) -> dict[str, Any]:
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "target": target,
        "baseline_name": base_name,
        "baseline_value": base,
        "ratio": base / value if value > 0 else float("nan"),
    }


def _bench_convolution() -> list[dict[str, Any]]:
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(0)
    tia = rng.random((128, 128, 128))
    k = voxel_s_kernel("Lu-177", 4.8, half_width=(31, 31, 31)).full()  # 63³: photons to 15 cm
    _fft_convolve(tia[:16, :16, :16], k)  # warm up plans
    t0 = time.perf_counter()
    ours = _fft_convolve(tia, k)
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = fftconvolve(tia, k, mode="same")
    t_ref = time.perf_counter() - t0
    assert np.allclose(ours, ref, rtol=1e-4, atol=1e-6 * float(ref.max()))  # float32 FFT
    tia_s = np.zeros((128, 128, 128))
    tia_s[40:90, 40:90, 40:90] = 1.0
    compute_dose(tia_s, nuclide="Lu-177", spacing_mm=(4.8,) * 3, method="kernel")  # kernel cache
    _cached_spectrum.cache_clear()
    t0 = time.perf_counter()
    compute_dose(tia_s, nuclide="Lu-177", spacing_mm=(4.8,) * 3, method="kernel")
    t_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    compute_dose(tia_s, nuclide="Lu-177", spacing_mm=(4.8,) * 3, method="kernel")
    t_engine = time.perf_counter() - t0
    return [
        _row(
            "kernel convolution 128³ ⊛ 63³", t_ours, "s", "< 1 s", "scipy.signal.fftconvolve", t_ref
        ),
        _row(
            "kernel engine 128³ (e⁻ + γ, density correction)",
            t_engine,
            "s",
            "< 1 s",
            "scipy.signal.fftconvolve (γ part only)",
            t_ref,
        )
        | {"without_cached_kernel_spectra_s": t_first},
    ]


def _bench_mc() -> list[dict[str, Any]]:
    from radiotrial.phantom import make_patient

    p = make_patient(seed=1, time_points_h=[24], spacing_mm=4.8, noise=False)
    tia = p.tia_voxel
    ct = p.anatomy.ct
    labels = np.asarray(p.anatomy.labels.array)
    kidneys = {r.label for r in p.anatomy.regions if r.name.startswith("kidney")}
    lab = np.where(np.isin(labels, list(kidneys)), 1, 0)
    kw: dict[str, Any] = {"nuclide": "Lu-177", "ct_hu": ct, "labels": lab, "method": "mc"}
    compute_dose(tia, n_histories=16_000, **kw)  # compile / warm caches
    sel = lab == 1
    mass = np.asarray(p.anatomy.density.array, dtype=np.float64)[sel]

    def photon_time_to_1pct(estimator: PhotonEstimator) -> tuple[float, float]:
        # photons only (electrons deposited locally, no electron variance); 32 batches for a
        # steadier batch estimate of σ
        r = compute_dose(
            tia,
            n_histories=400_000,
            n_batches=32,
            electrons="local",
            photon_estimator=estimator,
            **kw,
        )
        mean = float((r.photon_dose_gy[sel] * mass).sum() / mass.sum())
        rel = r.region_uncertainty_gy[1] / mean
        return r.details["photon_seconds"] * (rel / 0.01) ** 2, rel

    compute_dose(tia, n_histories=16_000, photon_estimator="analog", **kw)
    t_tle, rel_tle = photon_time_to_1pct("track-length")
    t_ana, rel_ana = photon_time_to_1pct("analog")
    n = 400_000
    r = compute_dose(tia, n_histories=n, **kw)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        r1 = compute_dose(tia, n_histories=n // 4, **kw)
    finally:
        numba.set_num_threads(threads)
    hps = r.details["histories_per_second"]
    hps1 = r1.details["histories_per_second"]
    # time to 1 %: t ∝ 1/σ² for the full MC engine (electrons + photons)
    t_run = r.details["photon_seconds"] + r.details["electron_seconds"]
    t_run1 = r1.details["photon_seconds"] + r1.details["electron_seconds"]
    rel = r.region_uncertainty_gy[1] / r.region_mean_gy[1]
    rel1 = r1.region_uncertainty_gy[1] / r1.region_mean_gy[1]
    t_1pct = t_run * (rel / 0.01) ** 2
    t_1pct_1 = t_run1 * (rel1 / 0.01) ** 2
    photon_mean = float((r.photon_dose_gy[sel] * mass).sum() / mass.sum())
    return [
        _row(
            "photon MC histories/s (virtual patient, 2.7 M voxels)",
            1.0 / hps,
            "s/history",
            f"{threads} threads",
            "same MC, 1 thread",
            1.0 / hps1,
        )
        | {"histories_per_second": hps, "baseline_histories_per_second": hps1},
        _row(
            "photon MC time to 1 % on kidney photon dose (track-length)",
            t_tle,
            "s",
            "< 60 s",
            "analog scoring, same run",
            t_ana,
        )
        | {"relative_uncertainty_at_400k": rel_tle, "baseline_relative_uncertainty": rel_ana},
        _row(
            "MC engine (e⁻ + γ) time to 1 % on kidney mean dose",
            t_1pct,
            "s",
            "< 60 s",
            "same MC, 1 thread",
            t_1pct_1,
        )
        | {
            "kidney_relative_uncertainty_at_400k": rel,
            "kidney_photon_share": photon_mean / r.region_mean_gy[1],
            "photon_seconds": r.details["photon_seconds"],
            "electron_seconds": r.details["electron_seconds"],
        },
    ]


def run() -> list[dict[str, Any]]:
    """All transport benchmarks (see module docstring)."""
    return [*_bench_convolution(), *_bench_mc()]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
