"""Image-space simulation of quantitative SPECT: attenuation, resolution, Poisson noise, motion.

The model (documented in ``docs/virtual-patients.md``):

1. attenuation: for every voxel the mean photon transmission over ``n`` projection angles in
   the transaxial plane, :math:`τ_v = \\frac1n \\sum_θ \\exp(-\\int_v^{∞} μ(s)\\,ds)` along the
   ray from the voxel to a detector at angle θ (primary photons only; μ at 208 keV from xraydb
   for the tissue compositions of the CT);
2. detection: expected primary counts :math:`λ = S\\,T\\,\\bar d\\; G * (A ⊙ τ)` with the
   calibration factor S (cps/MBq, attenuation-corrected), acquisition time T, mean physical
   decay over the acquisition :math:`\\bar d = (1 - e^{-λ_p T})/(λ_p T)`, and a Gaussian system
   PSF G;
3. noise: :math:`N ∼ \\mathrm{Poisson}(λ)`;
4. attenuation correction: :math:`I = N \\cdot (G*A)/(G*(A⊙τ))`, so that
   :math:`E[I] = S T \\bar d\\, G*A` (unbiased, resolution-limited), and the calibrated image is
   :math:`I/(S T \\bar d)` per voxel volume (Bq/mL at acquisition start).

Scatter, collimator penetration and reconstruction noise correlations are not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

import numba
import numpy as np
import numpy.typing as npt
from scipy import ndimage

from radiotrial.errors import ValidationError
from radiotrial.phantom._data import load_data, value_of

__all__ = [
    "AcquisitionSettings",
    "Motion",
    "acquisition_settings",
    "mean_transmission",
    "sample_motion",
    "simulate_counts",
    "system_fwhm_mm",
    "warp_labels",
]

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
_FWHM_PER_SIGMA: Final = 2.0 * math.sqrt(2.0 * math.log(2.0))


@numba.njit(cache=True)
def _bilinear(img: F64, y: float, x: float) -> float:  # pragma: no cover - compiled
    ny, nx = img.shape
    if not (x > -1.0 and y > -1.0 and x < nx and y < ny):
        return 0.0
    x0 = math.floor(x)
    y0 = math.floor(y)
    fx = x - x0
    fy = y - y0
    val = 0.0
    for jj in range(2):
        yy = y0 + jj
        if yy < 0 or yy >= ny:
            continue
        wy = fy if jj == 1 else 1.0 - fy
        for ii in range(2):
            xx = x0 + ii
            if xx < 0 or xx >= nx:
                continue
            val += wy * (fx if ii == 1 else 1.0 - fx) * img[yy, xx]
    return val


@numba.njit(cache=True, parallel=True)
def _transmission_kernel(
    mu_mm: F64, dy: float, dx: float, n_angles: int
) -> F64:  # pragma: no cover - compiled
    nz, ny, nx = mu_mm.shape
    h = min(dx, dy)
    cy = 0.5 * (ny - 1) * dy
    cx = 0.5 * (nx - 1) * dx
    out = np.ones_like(mu_mm)
    for k in numba.prange(nz):
        sl = mu_mm[k]
        # radius (mm) enclosing every attenuating pixel of the slice: the rotated grid covers
        # only that disc, and voxels outside it hold no activity
        rk = 0.0
        for j in range(ny):
            for i in range(nx):
                if sl[j, i] > 0.0:
                    r = math.hypot(j * dy - cy, i * dx - cx)
                    rk = max(rk, r)
        if rk == 0.0:
            continue
        rk += 2.0 * h
        m = math.ceil(2.0 * rk / h) + 1
        path = np.empty((m, m), dtype=np.float64)
        acc_t = np.zeros((ny, nx), dtype=np.float64)
        for a in range(n_angles):
            th = 2.0 * math.pi * a / n_angles
            c = math.cos(th)
            s = math.sin(th)
            # μ on a rotated grid whose +v axis points at the detector; the path from each
            # sample to the detector is a reverse cumulative sum (half of its own cell)
            for iu in range(m):
                u = -rk + iu * h
                acc = 0.0
                for iv in range(m - 1, -1, -1):
                    v = -rk + iv * h
                    val = _bilinear(sl, (s * u + c * v + cy) / dy, (c * u - s * v + cx) / dx)
                    path[iv, iu] = acc + 0.5 * val * h
                    acc += val * h
            # every voxel reads the path integral at its rotated position
            for j in range(ny):
                y = j * dy - cy
                for i in range(nx):
                    x = i * dx - cx
                    u = (c * x + s * y + rk) / h
                    v = (-s * x + c * y + rk) / h
                    if u < 0.0 or u > m - 1 or v > m - 1:
                        acc_t[j, i] += 1.0  # the ray misses the attenuating disc
                    else:
                        acc_t[j, i] += math.exp(-_bilinear(path, max(v, 0.0), u))
        for j in range(ny):
            for i in range(nx):
                out[k, j, i] = acc_t[j, i] / n_angles
    return out


def mean_transmission(
    mu_per_cm: npt.ArrayLike, spacing_mm: tuple[float, float, float], *, n_angles: int = 32
) -> F32:
    """Mean primary-photon transmission from each voxel to a detector orbiting in the xy plane.

    Parameters
    ----------
    mu_per_cm : (Z, Y, X) array_like
        Linear attenuation coefficient map, 1/cm (≥ 0).
    spacing_mm : (dz, dy, dx)
        Voxel size, mm.
    n_angles : int, default 32
        Number of equally spaced detector angles over 360°.

    Returns
    -------
    (Z, Y, X) float32 ndarray
        :math:`τ_v = \\frac1n \\sum_θ e^{-\\int μ\\,ds}` in (0, 1].

    Notes
    -----
    For each angle the μ map is resampled (bilinear) on a rotated grid whose rows point to the
    detector, integrated by a reverse cumulative sum, and read back at every voxel (bilinear);
    cost O(N · n_angles), compiled with numba and parallel over slices.
    """
    mu = np.asarray(mu_per_cm, dtype=np.float32)
    if mu.ndim != 3:
        raise ValidationError("mu_per_cm", mu.shape, "expected a (Z, Y, X) array")
    if not np.all(np.isfinite(mu)) or float(mu.min(initial=0.0)) < 0:
        raise ValidationError(
            "mu_per_cm", "array", "attenuation coefficients must be finite and ≥ 0"
        )
    if not 4 <= n_angles <= 720:
        raise ValidationError("n_angles", n_angles, "use 4-720 angles")
    _, dy, dx = spacing_mm
    tau = _transmission_kernel(mu.astype(np.float64) * 0.1, float(dy), float(dx), int(n_angles))
    return np.asarray(tau, dtype=np.float32)


@cache
def system_fwhm_mm() -> float:
    """Default system resolution (FWHM, mm) of 177Lu SPECT with a medium-energy collimator.

    Notes
    -----
    Anger's parallel-hole geometric resolution with the effective hole length
    :math:`L_{eff} = L - 2/μ_{Pb}` (μ of lead at 208.4 keV from xraydb):
    :math:`R_c = d (L_{eff} + z)/L_{eff}`, combined in quadrature with the intrinsic resolution,
    :math:`R = \\sqrt{R_c^2 + R_i^2}` (Sorenson & Phelps, *Physics in Nuclear Medicine*, 2nd ed.,
    ch. 16 §B "Design and performance characteristics of parallel-hole collimators"; Cherry,
    Sorenson & Phelps, 4th ed., ch. 14). The book gives the formula, not the resulting value:
    hole size, length, intrinsic resolution and distance are assumptions in ``spect.yaml``.
    """
    import xraydb

    data = load_data("spect.yaml")
    col = data["collimator"]
    e_ev = float(value_of(data["photopeak_kev"])) * 1e3
    mu_pb_per_mm = float(xraydb.material_mu("Pb", e_ev, density=11.35)) / 10.0
    d = float(value_of(col["hole_diameter_mm"]))
    length = float(value_of(col["hole_length_mm"]))
    z = float(value_of(col["distance_mm"]))
    l_eff = length - 2.0 / mu_pb_per_mm
    r_col = d * (l_eff + z) / l_eff
    return math.hypot(r_col, float(value_of(col["intrinsic_fwhm_mm"])))


@dataclass(frozen=True, slots=True)
class AcquisitionSettings:
    """SPECT acquisition and calibration settings.

    Attributes
    ----------
    sensitivity_cps_per_mbq : float
        Calibration factor: attenuation-corrected counts per second per MBq.
    acquisition_s : float
        Acquisition duration, s (projections × seconds per projection / heads).
    fwhm_mm : float
        Isotropic Gaussian system resolution, FWHM (mm).
    n_attenuation_angles : int
        Angles averaged for the attenuation factor.
    """

    sensitivity_cps_per_mbq: float
    acquisition_s: float
    fwhm_mm: float
    n_attenuation_angles: int

    def __post_init__(self) -> None:
        for name in ("sensitivity_cps_per_mbq", "acquisition_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValidationError(name, v, "must be > 0")
        if not (math.isfinite(self.fwhm_mm) and self.fwhm_mm >= 0):
            raise ValidationError("fwhm_mm", self.fwhm_mm, "must be ≥ 0 mm (0: no blur)")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the ground-truth record."""
        return {
            "sensitivity_cps_per_mbq": self.sensitivity_cps_per_mbq,
            "acquisition_s": self.acquisition_s,
            "fwhm_mm": self.fwhm_mm,
            "n_attenuation_angles": self.n_attenuation_angles,
        }


def acquisition_settings(
    *,
    sensitivity_cps_per_mbq: float | None = None,
    acquisition_s: float | None = None,
    fwhm_mm: float | None = None,
    n_attenuation_angles: int | None = None,
) -> AcquisitionSettings:
    """Settings from ``spect.yaml`` defaults, each overridable."""
    d = load_data("spect.yaml")
    default_s = (
        float(value_of(d["projections"]))
        * float(value_of(d["seconds_per_projection"]))
        / float(value_of(d["heads"]))
    )
    return AcquisitionSettings(
        float(value_of(d["sensitivity_cps_per_mbq"]))
        if sensitivity_cps_per_mbq is None
        else float(sensitivity_cps_per_mbq),
        default_s if acquisition_s is None else float(acquisition_s),
        system_fwhm_mm() if fwhm_mm is None else float(fwhm_mm),
        int(value_of(d["attenuation_angles"]))
        if n_attenuation_angles is None
        else int(n_attenuation_angles),
    )


def _blur(arr: F64, fwhm_mm: float, spacing_mm: tuple[float, float, float]) -> F64:
    if fwhm_mm <= 0:
        return arr
    sigma = [fwhm_mm / _FWHM_PER_SIGMA / s for s in spacing_mm]
    # reflecting boundaries conserve the total (no counts lost at the array edge); float32
    # halves the memory traffic, the result is accumulated back in float64
    out = ndimage.gaussian_filter(arr.astype(np.float32), sigma, mode="reflect", truncate=4.0)
    return np.asarray(out, dtype=np.float64)


def simulate_counts(
    activity_bq: npt.ArrayLike,
    transmission: npt.ArrayLike,
    spacing_mm: tuple[float, float, float],
    settings: AcquisitionSettings,
    *,
    decay_per_s: float,
    rng: np.random.Generator,
) -> tuple[F64, F64, float]:
    """Noisy attenuation-corrected SPECT counts and the detected primary counts.

    Parameters
    ----------
    activity_bq : (Z, Y, X) array_like
        True activity per voxel at acquisition start, Bq.
    transmission : (Z, Y, X) array_like
        Mean transmission τ from :func:`mean_transmission`.
    spacing_mm : (dz, dy, dx)
        Voxel size, mm.
    settings : AcquisitionSettings
        Calibration, duration and resolution.
    decay_per_s : float
        Physical decay constant (1/s) for decay during the acquisition.
    rng : numpy.random.Generator
        Source of the Poisson noise.

    Returns
    -------
    corrected_counts : (Z, Y, X) ndarray
        Attenuation-corrected counts per voxel (the image before calibration).
    detected_counts : (Z, Y, X) ndarray
        Poisson-distributed primary counts detected, :math:`N`.
    counts_per_bq : float
        :math:`S T \\bar d` in counts per Bq at acquisition start (the calibration).
    """
    act = np.asarray(activity_bq, dtype=np.float64)
    tau = np.asarray(transmission, dtype=np.float64)
    t = settings.acquisition_s
    mean_decay = -math.expm1(-decay_per_s * t) / (decay_per_s * t) if decay_per_s > 0 else 1.0
    counts_per_bq = settings.sensitivity_cps_per_mbq * 1e-6 * t * mean_decay
    blurred = _blur(act, settings.fwhm_mm, spacing_mm)
    blurred_att = _blur(act * tau, settings.fwhm_mm, spacing_mm)
    lam = np.maximum(blurred_att, 0.0) * counts_per_bq
    detected = rng.poisson(lam).astype(np.float64)
    ratio = np.divide(
        blurred,
        blurred_att,
        out=np.zeros_like(blurred),
        where=blurred_att > 1e-12 * blurred.max(initial=1.0),
    )
    return detected * ratio, detected, counts_per_bq


@dataclass(frozen=True, slots=True)
class Motion:
    """True patient motion of one time point relative to the reference (first) time point.

    The image of the time point samples the reference anatomy at

    .. math:: φ(q) = R^T (q - c - t) + c + u(q)

    for every voxel centre q (LPS, mm) of the (shared) grid: rigid rotation R about the centre c,
    translation t, and a small smooth displacement field u (zero for rigid-only motion).

    Attributes
    ----------
    rotation : (3, 3) ndarray
        R (reference → time point).
    translation_mm : (3,) ndarray
        t, LPS mm.
    centre_mm : (3,) ndarray
        c, LPS mm.
    displacement_mm : (Z, Y, X, 3) ndarray or None
        u(q) as LPS (x, y, z) components in mm, on the grid, or ``None``.
    """

    rotation: F64
    translation_mm: F64
    centre_mm: F64
    displacement_mm: F64 | None = None

    @property
    def matrix(self) -> F64:
        """4×4 homogeneous rigid map reference → time point: q = R (p − c) + c + t."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.centre_mm + self.translation_mm - self.rotation @ self.centre_mm
        return m

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the displacement field is stored separately as an array)."""
        return {
            "convention": (
                "time-point voxel q samples the reference at R^T (q - c - t) + c + u(q) (LPS mm)"
            ),
            "reference_to_timepoint_matrix": self.matrix.tolist(),
            "rotation": self.rotation.tolist(),
            "translation_mm": self.translation_mm.tolist(),
            "centre_mm": self.centre_mm.tolist(),
            "nonrigid": self.displacement_mm is not None,
            "max_displacement_mm": None
            if self.displacement_mm is None
            else float(np.linalg.norm(self.displacement_mm, axis=-1).max()),
        }

    def correspondences(self, grid: Any, mask: npt.ArrayLike) -> tuple[F64, F64]:
        """True point pairs of the voxels in ``mask``: (reference position, time-point position).

        Parameters
        ----------
        grid : Volume
            The shared SPECT grid (geometry only; axis-aligned, as the phantom's).
        mask : (Z, Y, X) bool array_like
            Voxels of the time point's frame to report (e.g. its organ labels).

        Returns
        -------
        reference_mm, timepoint_mm : (N, 3) ndarrays
            LPS mm: time-point voxel centre q and the reference point φ(q) it images. A
            registration with the reference as fixed image should map φ(q) to q.
        """
        idx = np.argwhere(np.asarray(mask, dtype=bool))
        z, y, x = _voxel_lps(grid.shape, grid.spacing_mm, grid.origin_mm)
        q = np.column_stack([x[idx[:, 2]], y[idx[:, 1]], z[idx[:, 0]]])
        p = (q - self.centre_mm - self.translation_mm) @ self.rotation + self.centre_mm
        if self.displacement_mm is not None:
            p = p + self.displacement_mm[idx[:, 0], idx[:, 1], idx[:, 2]]
        return p, q


def _voxel_lps(
    shape: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    origin_mm: tuple[float, float, float],
) -> tuple[F64, F64, F64]:
    dz, dy, dx = spacing_mm
    ox, oy, oz = origin_mm
    z = oz + dz * np.arange(shape[0], dtype=np.float64)
    y = oy + dy * np.arange(shape[1], dtype=np.float64)
    x = ox + dx * np.arange(shape[2], dtype=np.float64)
    return z, y, x


def sample_motion(
    rng: np.random.Generator,
    shape: tuple[int, int, int],
    spacing_mm: tuple[float, float, float],
    origin_mm: tuple[float, float, float],
    *,
    nonrigid: bool,
    centre_mm: F64,
) -> Motion:
    """Draw a rigid (and optionally small non-rigid) motion from ``spect.yaml`` settings.

    Notes
    -----
    Rotation angles and translations are normal with the configured SDs; the non-rigid field is
    white noise smoothed by a Gaussian (σ = ``nonrigid_smoothing_mm``) and scaled so that its
    largest displacement equals ``nonrigid_amplitude_mm``.
    """
    from radiotrial.phantom._shapes import rotation_matrix

    cfg = load_data("spect.yaml")["motion"]
    rot_sd = float(value_of(cfg["rigid_rotation_sd_deg"]))
    tr_sd = float(value_of(cfg["rigid_translation_sd_mm"]))
    angles = rng.normal(0.0, rot_sd, 3)
    trans = rng.normal(0.0, tr_sd, 3)
    field: F64 | None = None
    if nonrigid:
        amp = float(value_of(cfg["nonrigid_amplitude_mm"]))
        smooth = float(value_of(cfg["nonrigid_smoothing_mm"]))
        sig = [smooth / s for s in spacing_mm]
        comps = [
            ndimage.gaussian_filter(rng.standard_normal(shape), sig, mode="reflect")
            for _ in range(3)
        ]
        field = np.stack(comps, axis=-1)
        field *= amp / float(np.linalg.norm(field, axis=-1).max())
    rot = rotation_matrix((float(angles[0]), float(angles[1]), float(angles[2])))
    return Motion(rot, trans, np.asarray(centre_mm, dtype=np.float64), field)


def warp_labels(
    arr: npt.NDArray[Any],
    motion: Motion,
    spacing_mm: tuple[float, float, float],
    origin_mm: tuple[float, float, float],
    *,
    field_spacing_mm: tuple[float, float, float] | None = None,
    field_origin_mm: tuple[float, float, float] | None = None,
) -> npt.NDArray[Any]:
    """Resample a label-like array (nearest neighbour) into a time point's moved frame.

    ``field_spacing_mm``/``field_origin_mm`` give the grid of the motion's displacement field
    when ``arr`` lies on another (finer, nested) grid: the smooth field is then interpolated
    (trilinear) at ``arr``'s voxel centres. Work proceeds in z slabs to bound the memory.
    """
    fsp = spacing_mm if field_spacing_mm is None else field_spacing_mm
    forg = origin_mm if field_origin_mm is None else field_origin_mm
    z, y, x = _voxel_lps(arr.shape, spacing_mm, origin_mm)
    ox, oy, oz = origin_mm
    dz, dy, dx = spacing_mm
    out = np.empty(arr.shape, dtype=arr.dtype)
    slab = max(1, 2_000_000 // max(1, arr.shape[1] * arr.shape[2]))
    for k0 in range(0, arr.shape[0], slab):
        zs = z[k0 : k0 + slab]
        qz, qy, qx = np.meshgrid(zs, y, x, indexing="ij")
        q = np.stack([qx, qy, qz], axis=-1)
        p = (q - motion.centre_mm - motion.translation_mm) @ motion.rotation + motion.centre_mm
        if motion.displacement_mm is not None:
            if field_spacing_mm is None:
                p = p + motion.displacement_mm[k0 : k0 + slab]
            else:
                at = np.stack(
                    [(qz - forg[2]) / fsp[0], (qy - forg[1]) / fsp[1], (qx - forg[0]) / fsp[2]]
                )
                for c in range(3):
                    p[..., c] += ndimage.map_coordinates(
                        motion.displacement_mm[..., c], at, order=1, mode="nearest"
                    )
        coords = np.stack([(p[..., 2] - oz) / dz, (p[..., 1] - oy) / dy, (p[..., 0] - ox) / dx])
        out[k0 : k0 + slab] = ndimage.map_coordinates(arr, coords, order=0, mode="constant", cval=0)
    return out
