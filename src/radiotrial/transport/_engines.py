"""Dose engines behind one interface: local deposition, kernel convolution, Monte Carlo.

All take a time-integrated activity (TIA) map and, optionally, a CT on the same grid and
return the absorbed dose in Gy with its statistical uncertainty.

Notes
-----
``"led"`` — local energy deposition: all electron energy is absorbed in the emitting voxel,
photons are ignored, D = Ã E_e / m_voxel (m from CT density).

In every engine the α and recoil energy of α emitters is absorbed in the emitting voxel (ranges
below 0.1 mm). Only the nuclide's own emissions are transported: progeny (e.g. the Ac-225 chain)
must be given as TIA maps of their own.

``"kernel"`` — FFT convolution of the TIA with voxel S-value kernels computed for the reference
medium (soft tissue), electrons and photons separately (single-precision real FFTs padded by the
kernel half-width only, one forward FFT of the TIA shared by both kernels, kernel spectra cached
per grid). Electrons get the density correction
D_v = D_ref,v · ρ_ref/ρ_v (the energy deposited is kept, the mass is the voxel's own); photons
are not density-scaled, because their dose per unit mass follows μ_en/ρ, which is nearly the same
in lung, soft tissue and water. The kernel assumes an infinite homogeneous medium: it misses
electron range changes across lung and bone and overestimates photon dose near the body surface
(missing backscatter). Electron dose is not reported in air voxels (HU < −950).

``"mc"`` — photon Monte Carlo in the CT geometry (Woodcock tracking, materials and densities
from the HU calibration; vacuum outside the grid) plus electron transport by radiotrial's
condensed-history model in the voxel densities (``electrons="mc"``, the default: water-equivalent
stopping and scattering per g/cm², the geometric step set by the local density and never longer
than half a voxel, residual ranges below 1/20 of the smallest voxel side deposited on the spot),
or by the density-corrected kernel (``"kernel"``) or locally (``"local"``). Photon energy is
scored by the track-length estimator (E ρ μ_tr ℓ along every chord, see
:mod:`radiotrial.transport._photon_tle`; ``photon_estimator="analog"`` scores at interaction
sites instead, with Woodcock tracking), and photons are traced only inside the box around matter,
sources and labelled regions (the air around the patient is vacuum, as beyond the grid). Source
voxels are sampled by stratification of the TIA (history i of a batch draws from the i-th equal
slice of its cumulative distribution), which keeps the number of decays per organ nearly fixed. The
uncertainty is the batch standard error (n_batches independent streams), electrons and photons
combined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.nuclides import get_nuclide
from radiotrial.transport._ct import ct_to_materials
from radiotrial.transport._electron_kernel import electron_point_kernel
from radiotrial.transport._materials import Material, get_material
from radiotrial.transport._photon_kernel import line_sampler, photon_point_kernel
from radiotrial.transport._photon_mc import voxel_mc
from radiotrial.transport._photon_tle import voxel_tle_mc
from radiotrial.transport._photon_xs import photon_tables
from radiotrial.transport._units import MEV_TO_J
from radiotrial.transport._voxel_kernel import check_voxel_mm, full_kernel, voxel_s_octant

__all__ = ["DoseMethod", "DoseResult", "PhotonEstimator", "compute_dose"]

DoseMethod = Literal["led", "kernel", "mc"]
PhotonEstimator = Literal["track-length", "analog"]
_DECAYS_PER_MBQ_H = 3.6e9
_DECAYS_PER_MBQ_S = 1e6


@dataclass(frozen=True)
class DoseResult:
    """Absorbed dose from one engine.

    Attributes
    ----------
    dose_gy : (Z, Y, X) ndarray
        Mean absorbed dose per voxel, Gy.
    uncertainty_gy : (Z, Y, X) ndarray
        One standard error (statistical, Monte Carlo only; zero for deterministic engines), Gy.
    electron_dose_gy, photon_dose_gy : (Z, Y, X) ndarray
        Electron and photon components of ``dose_gy``.
    alpha_dose_gy : (Z, Y, X) ndarray or None
        α and recoil-nucleus energy deposited in the emitting voxel (ranges < 0.1 mm), the third
        component of ``dose_gy`` for α emitters; absorbed dose, no RBE weighting.
    region_mean_gy, region_uncertainty_gy : dict of int to float
        Mass-weighted mean dose and its standard error per label (when labels were given).
    method : str
    spacing_mm : tuple of 3 float
    details : dict
        Histories, batches, timings and kernel sizes.
    """

    dose_gy: npt.NDArray[np.float64]
    uncertainty_gy: npt.NDArray[np.float64]
    electron_dose_gy: npt.NDArray[np.float64]
    photon_dose_gy: npt.NDArray[np.float64]
    method: str
    spacing_mm: tuple[float, float, float]
    region_mean_gy: dict[int, float] = field(default_factory=dict)
    region_uncertainty_gy: dict[int, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    alpha_dose_gy: npt.NDArray[np.float64] | None = None


def _as_array(
    name: str, value: Any
) -> tuple[npt.NDArray[np.float64], tuple[float, float, float] | None, str | None]:
    """Array, spacing and units of a Volume or a plain array."""
    if hasattr(value, "array") and hasattr(value, "spacing_mm"):
        return (
            np.asarray(value.array, dtype=np.float64),
            tuple(value.spacing_mm),
            str(getattr(value, "units", "")),
        )
    arr = np.asarray(value, dtype=np.float64)
    return arr, None, None


def _circular_shape(shape: tuple[int, ...], half_widths: tuple[int, ...]) -> tuple[int, int, int]:
    """Smallest fast real-FFT lengths L ≥ n + hw: circular convolution then equals the linear one.

    An output index i ∈ [0, n) receives a wrapped term only if j + m = i − L for some source
    j ∈ [0, n) and kernel offset |m| ≤ hw, i.e. if L ≤ n − 1 + hw; padding by hw (not 2 hw, as
    for a full linear convolution) is therefore exact for the "same"-size output.
    """
    from scipy import fft

    out = [
        fft.next_fast_len(int(n) + int(h), real=True)
        for n, h in zip(shape, half_widths, strict=True)
    ]
    return (int(out[0]), int(out[1]), int(out[2]))


def _crop_kernel(k: npt.NDArray[np.float64], shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Drop kernel offsets ≥ the grid size along an axis (they never reach an output voxel)."""
    sl = []
    for kn, n in zip(k.shape, shape, strict=True):
        h = (kn - 1) // 2
        c = min(h, n - 1)
        sl.append(slice(h - c, h + c + 1))
    return np.asarray(k[tuple(sl)])


def _kernel_spectrum(
    k: npt.NDArray[np.float64], fshape: tuple[int, int, int]
) -> npt.NDArray[np.complex64]:
    """Real FFT (single precision) of an odd-sized centred kernel wrapped around index 0."""
    from scipy import fft

    buf = np.zeros(fshape, dtype=np.float32)
    idx = [
        np.arange(-((kn - 1) // 2), (kn - 1) // 2 + 1) % L
        for kn, L in zip(k.shape, fshape, strict=True)
    ]
    buf[np.ix_(*idx)] = k
    return np.asarray(fft.rfftn(buf, workers=-1), dtype=np.complex64)


def _convolve_spectra(
    a: npt.NDArray[np.float64],
    spectra: list[npt.NDArray[np.complex64]],
    fshape: tuple[int, int, int],
) -> list[npt.NDArray[np.float64]]:
    """``a ⊛ k`` ("same" size, kernel centred) for each kernel spectrum; one forward FFT of a."""
    from scipy import fft

    # single precision: ~1e-6 relative error, half the time and memory of float64
    fa = fft.rfftn(a.astype(np.float32), fshape, workers=-1)
    n0, n1, n2 = a.shape
    out = []
    for spec in spectra:
        conv = fft.irfftn(fa * spec, fshape, workers=-1, overwrite_x=True)
        out.append(np.asarray(conv[:n0, :n1, :n2], dtype=np.float64))
    return out


def _fft_convolve(
    a: npt.NDArray[np.float64], k: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``a ⊛ k`` with the output the size of ``a`` (odd kernel, centred), via real FFTs.

    Minimal circular padding (see :func:`_circular_shape`), fast FFT lengths, all cores.
    """
    shape = (int(a.shape[0]), int(a.shape[1]), int(a.shape[2]))
    kc = _crop_kernel(k, shape)
    fshape = _circular_shape(shape, tuple((n - 1) // 2 for n in kc.shape))
    return _convolve_spectra(a, [_kernel_spectrum(kc, fshape)], fshape)[0]


@cache
def _electron_octant(
    nuclide: str, ref: Material, spacing: tuple[float, float, float], shape: tuple[int, int, int]
) -> npt.NDArray[np.float64]:
    ek = electron_point_kernel(nuclide, ref)
    total = ek.energy_mev.sum()
    reach = 0.0
    if total > 0:
        inside = np.nonzero(np.cumsum(ek.energy_mev) < total * (1 - 1e-6))[0]
        reach = float(ek.r_edges_mm[inside[-1] + 1]) if inside.size else float(ek.r_edges_mm[1])
    hw = tuple(
        int(min(math.ceil(reach / h) + 1, max(n - 1, 0)))
        for h, n in zip(spacing, shape, strict=True)
    )
    return full_kernel(voxel_s_octant(ek, spacing, hw))  # type: ignore[arg-type]


@cache
def _photon_octant(
    nuclide: str,
    ref: Material,
    spacing: tuple[float, float, float],
    shape: tuple[int, int, int],
    reach_mm: float,
) -> npt.NDArray[np.float64]:
    pk = photon_point_kernel(nuclide, ref)
    hw = tuple(
        int(min(math.ceil(reach_mm / h), max(n - 1, 0)))
        for h, n in zip(spacing, shape, strict=True)
    )
    return full_kernel(voxel_s_octant(pk, spacing, hw))  # type: ignore[arg-type]


KernelKind = Literal["electrons", "photons"]


def _kernel(
    kind: KernelKind,
    nuclide: str,
    ref: Material,
    spacing: tuple[float, float, float],
    shape: tuple[int, int, int],
    reach_mm: float,
) -> npt.NDArray[np.float64]:
    if kind == "electrons":
        return _electron_octant(nuclide, ref, spacing, shape)
    return _photon_octant(nuclide, ref, spacing, shape, reach_mm)


# two kernels (e⁻, γ) for two grids; a 128³ grid's γ spectrum is 17 MB in complex64
@lru_cache(maxsize=4)
def _cached_spectrum(
    kind: KernelKind,
    nuclide: str,
    ref: Material,
    spacing: tuple[float, float, float],
    shape: tuple[int, int, int],
    reach_mm: float,
    fshape: tuple[int, int, int],
) -> npt.NDArray[np.complex64]:
    spec = _kernel_spectrum(_kernel(kind, nuclide, ref, spacing, shape, reach_mm), fshape)
    spec.setflags(write=False)
    return spec


def _kernel_doses_mgy_ref(
    tia_mbq_s: npt.NDArray[np.float64],
    nuclide: str,
    ref: Material,
    spacing: tuple[float, float, float],
    kinds: tuple[KernelKind, ...],
    *,
    photon_reach_mm: float,
) -> tuple[dict[str, npt.NDArray[np.float64]], dict[str, Any]]:
    """Dose (mGy) in the homogeneous reference medium, S kernel ⊛ TIA, for each kind.

    The kernels' FFTs are cached per grid, and all kinds share one forward FFT of the TIA on
    the smallest exact circular padding.
    """
    shape = (int(tia_mbq_s.shape[0]), int(tia_mbq_s.shape[1]), int(tia_mbq_s.shape[2]))
    reach = float(photon_reach_mm)
    kernels = {kd: _kernel(kd, nuclide, ref, spacing, shape, reach) for kd in kinds}
    hw = tuple(max((k.shape[i] - 1) // 2 for k in kernels.values()) for i in range(3))
    fshape = _circular_shape(shape, hw)
    spectra = [_cached_spectrum(kd, nuclide, ref, spacing, shape, reach, fshape) for kd in kinds]
    doses = _convolve_spectra(tia_mbq_s, spectra, fshape)
    info: dict[str, Any] = {f"{kd[:-1]}_kernel_shape": kernels[kd].shape for kd in kinds}
    info["fft_shape"] = fshape
    return {kd: np.clip(d, 0.0, None) for kd, d in zip(kinds, doses, strict=True)}, info


def _check_inputs(
    tia: Any, ct_hu: Any, spacing_mm: Any, labels: Any
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64] | None,
    tuple[float, float, float],
    npt.NDArray[np.int64] | None,
]:
    arr, spacing_v, units = _as_array("tia", tia)
    if units is not None:
        if units == "Bq*s":
            arr = arr / _DECAYS_PER_MBQ_H
        else:
            raise ValidationError(
                "tia", units, "a TIA Volume must carry units 'Bq*s' (or pass an array in MBq h)"
            )
    if arr.ndim != 3 or arr.size == 0:
        raise ValidationError(
            "tia", arr.shape, "expected a non-empty (Z, Y, X) TIA map in MBq h per voxel"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValidationError("tia", "negative or non-finite values", "TIA must be finite and ≥ 0")
    if not np.any(arr > 0):
        raise ValidationError("tia", "all zero", "the TIA map is empty: no activity to transport")
    spacing = spacing_v if spacing_v is not None else spacing_mm
    if spacing is None:
        raise ValidationError(
            "spacing_mm", None, "give spacing_mm (dz, dy, dx) in mm for a plain array"
        )
    sp = np.asarray(
        check_voxel_mm(spacing, "spacing_mm" if spacing_v is None else "tia.spacing_mm")
    )
    if spacing_v is not None and spacing_mm is not None and not np.allclose(spacing_v, spacing_mm):
        raise ValidationError(
            "spacing_mm", spacing_mm, f"does not match the TIA volume's spacing {spacing_v}"
        )
    ct = None
    if ct_hu is not None:
        ct, ct_sp, _ = _as_array("ct_hu", ct_hu)
        if ct.shape != arr.shape:
            raise ValidationError(
                "ct_hu",
                ct.shape,
                f"CT grid does not match the TIA map {arr.shape}; resample it first",
            )
        if ct_sp is not None and not np.allclose(ct_sp, sp, atol=1e-3):
            raise ValidationError(
                "ct_hu", ct_sp, f"CT spacing does not match the TIA spacing {tuple(sp)}"
            )
        if (
            spacing_v is not None
            and hasattr(ct_hu, "same_grid")
            and hasattr(tia, "same_grid")
            and not tia.same_grid(ct_hu)
        ):
            raise ValidationError(
                "ct_hu",
                "origin/direction",
                "CT geometry does not match the TIA map; resample it first",
            )
    lab = None
    if labels is not None:
        lab_arr, _, _ = _as_array("labels", labels)
        if lab_arr.shape != arr.shape:
            raise ValidationError(
                "labels", lab_arr.shape, f"label map does not match the TIA map {arr.shape}"
            )
        lab = lab_arr.astype(np.int64)
        if np.any(lab < 0):
            raise ValidationError(
                "labels", "negative labels", "labels must be ≥ 0 (0 = background)"
            )
    return arr, ct, (float(sp[0]), float(sp[1]), float(sp[2])), lab


def _region_means(
    dose: npt.NDArray[np.float64], mass: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]
) -> dict[int, float]:
    flat = labels.ravel()
    m = np.bincount(flat, weights=mass.ravel())
    e = np.bincount(flat, weights=(dose * mass).ravel())
    return {int(r): float(e[r] / m[r]) for r in np.unique(flat) if r > 0 and m[r] > 0}


def compute_dose(
    tia: Any,
    *,
    nuclide: str,
    ct_hu: Any = None,
    density_g_cm3: Any = None,
    spacing_mm: Any = None,
    method: DoseMethod = "kernel",
    labels: Any = None,
    reference_material: str = "soft-tissue",
    electrons: Literal["auto", "kernel", "local", "mc"] = "auto",
    photons: bool = True,
    n_histories: int = 1_000_000,
    n_batches: int = 16,
    seed: int = 1,
    photon_reach_mm: float = 150.0,
    photon_estimator: PhotonEstimator = "track-length",
) -> DoseResult:
    """Absorbed dose from a TIA map with the chosen engine.

    Parameters
    ----------
    tia : (Z, Y, X) ndarray in MBq h per voxel, or Volume in ``Bq*s``
        Time-integrated activity.
    nuclide : str
        ICRP-107 nuclide.
    density_g_cm3 : (Z, Y, X) ndarray or Volume, optional
        Mass density map overriding the HU calibration's densities (materials still come from
        the HU classes), e.g. a phantom's known densities.
    ct_hu : (Z, Y, X) ndarray or Volume, optional
        CT on the TIA grid (HU); without it the patient is homogeneous ``reference_material``.
    spacing_mm : (dz, dy, dx), optional
        Voxel size for plain arrays (a Volume carries its own); every side 1–10 mm.
    method : {"led", "kernel", "mc"}
        Engine (see module notes).
    labels : (Z, Y, X) int array, optional
        Regions (0 = background) for region means and their uncertainties.
    reference_material : str
        Medium of the kernels and of the patient when no CT is given.
    electrons : {"auto", "kernel", "local", "mc"}
        Electron transport; ``auto`` = ``mc`` for the MC engine, ``kernel`` otherwise
        (``led`` always deposits locally).
    photons : bool
        Include photons (kernel and mc engines).
    n_histories, n_batches, seed : int
        Monte Carlo statistics.
    photon_reach_mm : float
        Half-extent of the photon kernel for the kernel engine.
    photon_estimator : {"track-length", "analog"}
        How the photon MC scores energy: along every chord a photon crosses (unbiased, much
        smaller variance; see module notes) or at the interaction sites (Woodcock tracking).

    Returns
    -------
    DoseResult

    Raises
    ------
    ValidationError
        Empty or negative TIA map, a voxel side outside 1–10 mm (``spacing_mm`` or the
        Volume's spacing), CT or labels not on the TIA grid, unknown method.
    NuclideError
        Nuclide not in ICRP-107.
    """
    if method not in ("led", "kernel", "mc"):
        raise ValidationError("method", method, "use one of led, kernel, mc")
    if electrons not in ("auto", "kernel", "local", "mc"):
        raise ValidationError("electrons", electrons, "use auto, kernel, local or mc")
    if photon_estimator not in ("track-length", "analog"):
        raise ValidationError("photon_estimator", photon_estimator, "use track-length or analog")
    if electrons == "auto":
        electrons = "mc" if method == "mc" else "kernel"
    nuc = get_nuclide(nuclide)
    tia_mbq_h, ct, spacing, lab = _check_inputs(tia, ct_hu, spacing_mm, labels)
    ref = get_material(reference_material)
    if ct is not None:
        mat_idx, dens, materials = ct_to_materials(ct)
        if density_g_cm3 is not None:
            dmap, _, _ = _as_array("density_g_cm3", density_g_cm3)
            if dmap.shape != dens.shape or not np.all(np.isfinite(dmap)) or np.any(dmap <= 0):
                raise ValidationError(
                    "density_g_cm3", dmap.shape, "expected positive densities on the TIA grid"
                )
            dens = dmap.astype(np.float32)
    else:
        mat_idx = np.zeros(tia_mbq_h.shape, dtype=np.int8)
        dens = np.full(tia_mbq_h.shape, ref.density_g_cm3, dtype=np.float32)
        materials = (ref,)
    voxel_cm3 = math.prod(spacing) * 1e-3
    mass_kg = np.maximum(dens.astype(np.float64), 1e-6) * voxel_cm3 * 1e-3
    details: dict[str, Any] = {"nuclide": nuc.name}
    unc = np.zeros(tia_mbq_h.shape)
    region_unc: dict[int, float] = {}
    tia_mbq_s = tia_mbq_h * 3600.0
    if method == "led" or (method == "mc" and electrons == "local"):
        d_e = (
            tia_mbq_h
            * _DECAYS_PER_MBQ_H
            * nuc.energy_per_decay_mev("electrons")
            * MEV_TO_J
            / mass_kg
        )
    kinds: list[KernelKind] = []
    if method != "led" and not (method == "mc" and electrons in ("mc", "local")):
        kinds.append("electrons")
    if method == "kernel" and photons:
        kinds.append("photons")
    ref_doses: dict[str, npt.NDArray[np.float64]] = {}
    if kinds:
        ref_doses, info = _kernel_doses_mgy_ref(
            tia_mbq_s, nuc.name, ref, spacing, tuple(kinds), photon_reach_mm=photon_reach_mm
        )
        details.update(info)
    if "electrons" in ref_doses:
        d_e = ref_doses["electrons"] * (1e-3 * ref.density_g_cm3) / np.maximum(dens, 1e-6)
    d_p = np.zeros(tia_mbq_h.shape)
    if "photons" in ref_doses:
        # photons: dose per mass ∝ μ_en/ρ, nearly the same in all soft media, so no density
        # scaling (scaling by ρ_ref/ρ would overstate photon dose in lung ~3-fold)
        d_p = ref_doses["photons"] * 1e-3
    region_batches: list[npt.NDArray[np.float64]] = []
    if method == "mc" and electrons == "mc":
        d_e, unc_e, rb_e, e_info = _mc_electrons(
            tia_mbq_h, nuc.name, dens, spacing, mass_kg, lab, n_histories, n_batches, seed
        )
        unc = np.hypot(unc, unc_e)
        region_batches.append(rb_e)
        details.update(e_info)
    if method == "mc" and photons:
        d_p, unc_p, rb_p, mc_info = _mc_photons(
            tia_mbq_h,
            nuc.name,
            mat_idx,
            dens,
            materials,
            spacing,
            mass_kg,
            lab,
            n_histories,
            n_batches,
            seed,
            photon_estimator,
        )
        unc = np.hypot(unc, unc_p)
        region_batches.append(rb_p)
        details.update(mc_info)
    if not (method == "mc" and electrons == "mc"):
        # electron energy that the kernel places in air voxels has no meaningful mass there
        air = np.array([m.name == "air" for m in materials])[mat_idx]
        d_e = np.where(air, 0.0, d_e)
    e_alpha = nuc.energy_per_decay_mev("alpha") + nuc.energy_per_decay_mev("alpha-recoil")
    d_a = tia_mbq_h * _DECAYS_PER_MBQ_H * e_alpha * MEV_TO_J / mass_kg if e_alpha > 0 else None
    dose = d_e + d_p if d_a is None else d_e + d_p + d_a
    region_mean = _region_means(dose, mass_kg, lab) if lab is not None else {}
    if lab is not None:
        # independent components: variances of the batch means add
        var = np.zeros(len(region_mean))
        for rb in region_batches:
            if rb.shape[1] == len(region_mean):
                var += rb.var(axis=0, ddof=1) / rb.shape[0]
        region_unc = {r: float(np.sqrt(v)) for r, v in zip(region_mean, var, strict=True)}
    return DoseResult(
        dose_gy=dose,
        uncertainty_gy=unc,
        electron_dose_gy=d_e,
        photon_dose_gy=d_p,
        alpha_dose_gy=d_a,
        method=method,
        spacing_mm=spacing,
        region_mean_gy=region_mean,
        region_uncertainty_gy=region_unc,
        details=details,
    )


def _run_batches(
    call: Any,
    n_batches: int,
    scale: float,
    mass_flat: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64] | None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Run batches in groups of the thread count; batch-method mean and standard error.

    Returns per-voxel mean dose (Gy), its standard error, per-batch region mean doses
    (B, R) and the elapsed seconds.
    """
    import time

    n_threads = max(1, int(numba.get_num_threads()))
    s1 = np.zeros(mass_flat.size)
    s2 = np.zeros(mass_flat.size)
    regions = np.unique(labels[labels > 0]) if labels is not None else np.empty(0, dtype=np.int64)
    region_batches: list[npt.NDArray[np.float64]] = []
    region_mass = np.bincount(labels.ravel(), weights=mass_flat) if labels is not None else None
    t0 = time.perf_counter()
    for start in range(0, n_batches, n_threads):
        ids = np.arange(start, min(start + n_threads, n_batches), dtype=np.int64)
        for row in call(ids):
            d = row * scale / mass_flat
            s1 += d
            s2 += d * d
            if labels is not None and region_mass is not None:
                energy = np.bincount(
                    labels.ravel(), weights=row * scale, minlength=region_mass.size
                )
                region_batches.append(energy[regions] / region_mass[regions])
    elapsed = time.perf_counter() - t0
    mean = s1 / n_batches
    var = np.clip(s2 / n_batches - mean**2, 0.0, None) * n_batches / (n_batches - 1)
    rb = np.asarray(region_batches) if region_batches else np.zeros((n_batches, 0))
    return mean, np.sqrt(var / n_batches), rb, elapsed


def _source(
    tia_mbq_h: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], float]:
    flat = tia_mbq_h.ravel()
    index = np.nonzero(flat > 0)[0].astype(np.int64)
    return np.cumsum(flat[index]), index, float(flat.sum()) * _DECAYS_PER_MBQ_H


def _mc_electrons(
    tia_mbq_h: npt.NDArray[np.float64],
    nuclide: str,
    dens: npt.NDArray[np.float32],
    spacing: tuple[float, float, float],
    mass_kg: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64] | None,
    n_histories: int,
    n_batches: int,
    seed: int,
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], dict[str, Any]
]:
    from radiotrial.transport._electron_kernel import electron_components
    from radiotrial.transport._electron_mc import voxel_electron_tables, voxel_electrons_mc

    t, y = electron_components(nuclide)
    zeros = np.zeros(tia_mbq_h.shape)
    if t.size == 0:
        return zeros, zeros.copy(), np.zeros((n_batches, 0)), {"electron_histories": 0}
    per_decay = float(y.sum())
    cdf = np.cumsum(y) / per_decay
    src_cdf, src_index, decays = _source(tia_mbq_h)
    tables = voxel_electron_tables(get_material("water"))
    h_cm = np.asarray(spacing, dtype=np.float64) / 10.0
    per = n_histories // n_batches
    scale = decays * per_decay / per * MEV_TO_J
    cut_cm = float(h_cm.min()) / 20.0
    dens_flat = np.ascontiguousarray(dens.ravel())
    shape = np.asarray(tia_mbq_h.shape, dtype=np.int64)

    def call(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return voxel_electrons_mc(
            per,
            ids,
            seed + 7919,
            t,
            cdf,
            src_cdf,
            src_index,
            dens_flat,
            shape,
            h_cm,
            *tables,
            0.05,
            cut_cm,
        )

    mean, unc, rb, elapsed = _run_batches(call, n_batches, scale, mass_kg.ravel(), labels)
    info = {
        "electron_histories": per * n_batches,
        "electron_seconds": elapsed,
        "electron_range_cut_mm": cut_cm * 10.0,
    }
    return mean.reshape(tia_mbq_h.shape), unc.reshape(tia_mbq_h.shape), rb, info


def _bounding_box(keep: npt.NDArray[np.bool_]) -> tuple[slice, ...]:
    """Smallest index box holding every True voxel (the whole grid when none is True)."""
    box = []
    for ax in range(keep.ndim):
        hit = np.nonzero(keep.any(axis=tuple(a for a in range(keep.ndim) if a != ax)))[0]
        box.append(slice(int(hit[0]), int(hit[-1]) + 1) if hit.size else slice(0, keep.shape[ax]))
    return tuple(box)


def _mc_photons(
    tia_mbq_h: npt.NDArray[np.float64],
    nuclide: str,
    mat_idx: npt.NDArray[np.int8],
    dens: npt.NDArray[np.float32],
    materials: tuple[Material, ...],
    spacing: tuple[float, float, float],
    mass_kg: npt.NDArray[np.float64],
    labels: npt.NDArray[np.int64] | None,
    n_histories: int,
    n_batches: int,
    seed: int,
    estimator: PhotonEstimator = "track-length",
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64], dict[str, Any]
]:
    e, cdf, per_decay = line_sampler(nuclide)
    zeros = np.zeros(tia_mbq_h.shape)
    if per_decay == 0.0:
        return zeros, zeros.copy(), np.zeros((n_batches, 0)), {"photon_histories": 0}
    # Transport only inside the box around matter, sources and regions: the air around the
    # patient is treated as vacuum, like everything beyond the grid (over 10 cm of air a
    # 100–200 keV photon interacts with probability ≈ 0.2 %), and tracing it would dominate the
    # cost of a history for a typical CT field of view.
    air = np.array([m.name == "air" for m in materials])[mat_idx]
    keep = (~air) | (tia_mbq_h > 0)
    if labels is not None:
        keep |= labels > 0
    box = _bounding_box(keep)
    if box != tuple(slice(0, n) for n in tia_mbq_h.shape):
        mean_b, unc_b, rb, info = _mc_photons(
            np.ascontiguousarray(tia_mbq_h[box]),
            nuclide,
            np.ascontiguousarray(mat_idx[box]),
            np.ascontiguousarray(dens[box]),
            materials,
            spacing,
            np.ascontiguousarray(mass_kg[box]),
            None if labels is None else np.ascontiguousarray(labels[box]),
            n_histories,
            n_batches,
            seed,
            estimator,
        )
        mean = zeros
        unc = zeros.copy()
        mean[box] = mean_b
        unc[box] = unc_b
        info["photon_box"] = tuple((b.start, b.stop) for b in box)
        return mean, unc, rb, info
    tables = photon_tables(materials)
    src_cdf, src_index, decays = _source(tia_mbq_h)
    # majorant: per material the densest voxel, then max over materials; widened by the
    # neighbouring grid points so that interpolation never undercuts a real μ
    mu_tot = tables.mu_total
    mu_max = np.zeros(mu_tot.shape[1])
    for m in range(len(materials)):
        sel = mat_idx == m
        if np.any(sel):
            mu_max = np.maximum(mu_max, float(dens[sel].max()) * mu_tot[m])
    mu_max = np.maximum.reduce([mu_max, np.roll(mu_max, 1), np.roll(mu_max, -1)]) * 1.001
    h_cm = np.asarray(spacing, dtype=np.float64) / 10.0
    per = n_histories // n_batches
    scale = decays * per_decay / per * MEV_TO_J  # J per MeV scored in one batch
    mat_flat = np.ascontiguousarray(mat_idx.ravel())
    dens_flat = np.ascontiguousarray(dens.ravel())
    shape = np.asarray(tia_mbq_h.shape, dtype=np.int64)
    mu_tot_c = np.ascontiguousarray(mu_tot)
    mu_tr_c = np.ascontiguousarray(tables.mu_transfer)

    xs = (
        tables.ln_e0,
        tables.inv_dln,
        tables.mu_photo,
        tables.mu_incoh,
        tables.mu_coh,
        tables.ray_x,
        tables.ray_cdf,
        mu_tot_c,
    )
    geometry = (mat_flat, dens_flat, shape, h_cm)

    def call(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        source = (per, ids, seed, e, cdf, src_cdf, src_index)
        if estimator == "track-length":
            return voxel_tle_mc(*source, *geometry, *xs, mu_tr_c)
        return voxel_mc(*source, *geometry, mu_max[None, :], *xs)

    mean, unc, rb, elapsed = _run_batches(call, n_batches, scale, mass_kg.ravel(), labels)
    info = {
        "photon_histories": per * n_batches,
        "photon_estimator": estimator,
        "batches": n_batches,
        "photon_seconds": elapsed,
        "histories_per_second": per * n_batches / elapsed if elapsed > 0 else float("nan"),
        "threads": max(1, int(numba.get_num_threads())),
    }
    return mean.reshape(tia_mbq_h.shape), unc.reshape(tia_mbq_h.shape), rb, info
