"""Linear-quadratic radiobiology for radionuclide therapy: BED, EQD2, EUD, cumulative BED."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from radiotrial.data import load_yaml
from radiotrial.errors import InputFileError, ValidationError

__all__ = [
    "TissueLQ",
    "bed_mono",
    "bed_sum_exponentials",
    "bed_uptake",
    "cumulative_bed",
    "dose_for_bed",
    "dose_for_bed_mono",
    "eqd2",
    "eubed",
    "eud",
    "geud",
    "lea_catcheside_g",
    "tissue_parameters",
]

F64 = npt.NDArray[np.float64]
LN2 = math.log(2.0)


def _positive(name: str, value: npt.ArrayLike) -> F64:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        bad = arr[~(np.isfinite(arr) & (arr > 0))].flat[0] if arr.ndim else float(arr)
        raise ValidationError(name, float(bad), "must be finite and > 0")
    return arr


def _nonneg(name: str, value: npt.ArrayLike) -> F64:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = arr[~(np.isfinite(arr) & (arr >= 0))].flat[0] if arr.ndim else float(arr)
        raise ValidationError(name, float(bad), "must be finite and ≥ 0")
    return arr


def lea_catcheside_g(
    amplitudes_gy_per_h: npt.ArrayLike, rates_per_h: npt.ArrayLike, t_repair_h: npt.ArrayLike
) -> tuple[F64, F64]:
    """Total dose and Lea–Catcheside factor G for R(t) = Σᵢ aᵢ e^{−kᵢt}.

    Parameters
    ----------
    amplitudes_gy_per_h : (..., n) array_like
        aᵢ, Gy/h (negative terms describe an uptake phase; R(t) must stay ≥ 0).
    rates_per_h : (..., n) array_like
        kᵢ > 0, h⁻¹.
    t_repair_h : float or (...) array_like
        Repair half-time T_rep (μ = ln 2/T_rep).

    Returns
    -------
    dose_gy : (...) ndarray
        D = Σ aᵢ/kᵢ.
    g : (...) ndarray
        G = (2/D²) Σᵢ Σⱼ aᵢ aⱼ / ((kᵢ + kⱼ)(kᵢ + μ)).

    Notes
    -----
    G = (2/D²) ∫₀^∞ R(t) ∫₀^t R(w) e^{−μ(t−w)} dw dt evaluated in closed form for a sum of
    exponentials (Dale RG, Br J Radiol 1985;58:515; MIRD Pamphlet 20, Wessels et al. 2008).
    """
    a = np.asarray(amplitudes_gy_per_h, dtype=np.float64)
    k = _positive("rates_per_h", rates_per_h)
    if a.shape != k.shape:
        raise ValidationError("amplitudes_gy_per_h", a.shape, f"must match rates {k.shape}")
    if not np.all(np.isfinite(a)):
        raise ValidationError("amplitudes_gy_per_h", a.tolist(), "must be finite")
    mu = LN2 / _positive("t_repair_h", t_repair_h)
    dose = np.sum(a / k, axis=-1)
    if np.any(dose <= 0):
        raise ValidationError("dose", dose.tolist(), "Σ aᵢ/kᵢ must be > 0")
    mu_e = np.asarray(mu)[..., None, None]
    ki = k[..., :, None]
    kj = k[..., None, :]
    pair = a[..., :, None] * a[..., None, :] / ((ki + kj) * (ki + mu_e))
    g = 2.0 * np.sum(pair, axis=(-2, -1)) / dose**2
    return dose, g


def bed_sum_exponentials(
    amplitudes_gy_per_h: npt.ArrayLike,
    rates_per_h: npt.ArrayLike,
    *,
    alpha_beta_gy: npt.ArrayLike,
    t_repair_h: npt.ArrayLike,
) -> F64:
    """BED for a dose rate R(t) = Σᵢ aᵢ e^{−kᵢt}: BED = D (1 + G D/(α/β)).

    See :func:`lea_catcheside_g` for shapes; returns BED in Gy with shape (...).

    References
    ----------
    Dale RG. The application of the linear-quadratic dose-effect equation to fractionated and
    protracted radiotherapy. Br J Radiol 1985;58:515–528, doi:10.1259/0007-1285-58-690-515.
    Wessels BW, et al. MIRD Pamphlet No. 20. J Nucl Med 2008;49:1884–1899,
    doi:10.2967/jnumed.108.053173.
    """
    ab = _positive("alpha_beta_gy", alpha_beta_gy)
    dose, g = lea_catcheside_g(amplitudes_gy_per_h, rates_per_h, t_repair_h)
    bed: F64 = dose * (1.0 + g * dose / ab)
    return bed


def bed_mono(
    dose_gy: npt.ArrayLike,
    *,
    alpha_beta_gy: npt.ArrayLike,
    t_repair_h: npt.ArrayLike,
    t_eff_h: npt.ArrayLike,
) -> F64:
    """BED of a mono-exponentially decaying dose rate (closed form), element-wise.

    BED = D [1 + D·T_rep / ((α/β)(T_rep + T_eff))]. Works per voxel: every argument broadcasts.

    Examples
    --------
    >>> round(float(bed_mono(10.0, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=50.0)), 3)
    12.04
    """
    d = _nonneg("dose_gy", dose_gy)
    ab = _positive("alpha_beta_gy", alpha_beta_gy)
    tr = _positive("t_repair_h", t_repair_h)
    te = _positive("t_eff_h", t_eff_h)
    bed: F64 = d * (1.0 + d * tr / (ab * (tr + te)))
    return bed


def dose_for_bed(
    bed_gy: npt.ArrayLike, *, alpha_beta_gy: npt.ArrayLike, g_factor: npt.ArrayLike
) -> F64:
    """Absorbed dose that gives ``bed_gy`` for a fixed dose-rate shape (inverse of the LQ BED).

    Parameters
    ----------
    bed_gy : array_like
        Target BED (Gy), ≥ 0.
    alpha_beta_gy : array_like
        α/β of the tissue (Gy), > 0.
    g_factor : array_like
        Lea–Catcheside factor G of the dose-rate shape (dimensionless, ≥ 0; see
        :func:`lea_catcheside_g`). G does not depend on the scale of the dose rate, so a
        patient's G from one cycle applies to any activity of the same kinetics.

    Returns
    -------
    ndarray
        D (Gy), broadcast shape of the arguments.

    Notes
    -----
    Solves BED = D (1 + k D), k = G/(α/β), for D ≥ 0 in the cancellation-free form
    D = 2 BED / (1 + √(1 + 4 k BED)) (equal to (√(1 + 4 k BED) − 1)/(2k) for k > 0, and to
    BED for k = 0).
    """
    b = _nonneg("bed_gy", bed_gy)
    ab = _positive("alpha_beta_gy", alpha_beta_gy)
    k = _nonneg("g_factor", g_factor) / ab
    out: F64 = 2.0 * b / (1.0 + np.sqrt(1.0 + 4.0 * k * b))
    return out


def dose_for_bed_mono(
    bed_gy: npt.ArrayLike,
    *,
    alpha_beta_gy: npt.ArrayLike,
    t_repair_h: npt.ArrayLike,
    t_eff_h: npt.ArrayLike,
) -> F64:
    """Dose of a mono-exponential dose rate that gives ``bed_gy``: the inverse of :func:`bed_mono`.

    G = T_rep / (T_rep + T_eff) for a mono-exponential dose rate; see :func:`dose_for_bed`.

    Examples
    --------
    >>> round(float(dose_for_bed_mono(12.0396, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=50.0)), 3)
    10.0
    """
    tr = _positive("t_repair_h", t_repair_h)
    te = _positive("t_eff_h", t_eff_h)
    return dose_for_bed(bed_gy, alpha_beta_gy=alpha_beta_gy, g_factor=tr / (tr + te))


def bed_uptake(
    dose_gy: npt.ArrayLike,
    *,
    alpha_beta_gy: npt.ArrayLike,
    t_repair_h: npt.ArrayLike,
    t_eff_h: npt.ArrayLike,
    t_uptake_h: npt.ArrayLike,
) -> F64:
    """BED for a dose rate ∝ (1 − e^{−ln2·t/T_U}) e^{−ln2·t/T_eff}, scaled to total ``dose_gy``.

    The rate is R(t) = R₀(e^{−k_e t} − e^{−(k_e + k_u) t}), k = ln 2/T, so that
    D = R₀ k_u/(k_e(k_e + k_u)); the BED follows from :func:`bed_sum_exponentials`. Every
    argument broadcasts (voxel-wise use).
    """
    d = _nonneg("dose_gy", dose_gy)
    ke = LN2 / _positive("t_eff_h", t_eff_h)
    ku = LN2 / _positive("t_uptake_h", t_uptake_h)
    d, ke, ku = np.broadcast_arrays(d, ke, ku)
    kf = ke + ku
    r0 = d * ke * kf / ku
    amps = np.stack([r0, -r0], axis=-1)
    rates = np.stack([ke, kf], axis=-1)
    out = np.zeros(d.shape)
    pos = d > 0
    if np.any(pos):
        out[pos] = bed_sum_exponentials(
            amps[pos],
            rates[pos],
            alpha_beta_gy=np.broadcast_to(np.asarray(alpha_beta_gy, dtype=float), d.shape)[pos],
            t_repair_h=np.broadcast_to(np.asarray(t_repair_h, dtype=float), d.shape)[pos],
        )
    return out


def eqd2(bed_gy: npt.ArrayLike, *, alpha_beta_gy: npt.ArrayLike) -> F64:
    """Equivalent dose in 2-Gy fractions, EQD2 = BED / (1 + 2/(α/β))."""
    b = _nonneg("bed_gy", bed_gy)
    ab = _positive("alpha_beta_gy", alpha_beta_gy)
    out: F64 = b / (1.0 + 2.0 / ab)
    return out


def _volumes(dose: F64, volumes: npt.ArrayLike | None) -> F64:
    if volumes is None:
        return np.full(dose.shape, 1.0 / dose.size)
    v = _nonneg("volumes", volumes)
    if v.shape != dose.shape:
        raise ValidationError("volumes", v.shape, f"must match the dose shape {dose.shape}")
    total = float(v.sum())
    if total <= 0:
        raise ValidationError("volumes", total, "total volume must be > 0")
    out: F64 = v / total
    return out


def eud(
    dose_gy: npt.ArrayLike, *, alpha_per_gy: float, volumes: npt.ArrayLike | None = None
) -> float:
    """Equivalent uniform dose for cell survival: EUD = −ln(Σ vᵢ e^{−α Dᵢ}) / α.

    Parameters
    ----------
    dose_gy : array_like
        Absorbed dose per voxel/bin (any shape).
    alpha_per_gy : float
        Radiosensitivity α (Gy⁻¹).
    volumes : array_like, optional
        Volume (or mass) per element; equal volumes by default (a DVH passes bin volumes).

    References
    ----------
    O'Donoghue JA. Implications of nonuniform tumor doses for radioimmunotherapy. J Nucl Med
    1999;40:1337–1341.
    """
    d = _nonneg("dose_gy", dose_gy)
    a = float(_positive("alpha_per_gy", alpha_per_gy))
    v = _volumes(d, volumes)
    # log-sum-exp keeps high doses from underflowing
    x = -a * d
    m = float(x.max())
    return float(-(m + math.log(float(np.sum(v * np.exp(x - m))))) / a)


def eubed(
    bed_gy: npt.ArrayLike, *, alpha_per_gy: float, volumes: npt.ArrayLike | None = None
) -> float:
    """Equivalent uniform BED: the EUD formula applied to voxel BED (Prideaux et al. 2007).

    References
    ----------
    Prideaux AR, et al. Three-dimensional radiobiologic dosimetry: application of
    radiobiologic modeling to patient-specific 3-dimensional imaging-based internal dosimetry.
    J Nucl Med 2007;48:1008–1016, doi:10.2967/jnumed.106.038000.
    """
    return eud(bed_gy, alpha_per_gy=alpha_per_gy, volumes=volumes)


def geud(dose_gy: npt.ArrayLike, *, a: float, volumes: npt.ArrayLike | None = None) -> float:
    """Generalised EUD (Niemierko): (Σ vᵢ Dᵢ^a)^{1/a}; a < 0 for tumours, a > 0 for organs.

    References
    ----------
    Niemierko A. A generalized concept of equivalent uniform dose (EUD). Med Phys
    1999;26:1100 (abstract).
    """
    d = _nonneg("dose_gy", dose_gy)
    if not math.isfinite(a) or a == 0:
        raise ValidationError("a", a, "must be finite and non-zero")
    if a < 0 and np.any(d == 0):
        return 0.0
    v = _volumes(d, volumes)
    return float(np.sum(v * d**a) ** (1.0 / a))


def cumulative_bed(bed_per_cycle_gy: Sequence[float] | npt.ArrayLike) -> F64:
    """Cumulative BED over cycles (running sum).

    Valid when the dose rate of one cycle has decayed before the next starts (cycles weeks
    apart, T_rep hours), so that no sublethal damage of one cycle interacts with the next:
    BEDs then add (Dale 1985). Returns the running total after each cycle, shape (cycles,).
    """
    b = _nonneg("bed_per_cycle_gy", bed_per_cycle_gy)
    if b.ndim != 1:
        raise ValidationError("bed_per_cycle_gy", b.shape, "expected one value per cycle")
    out: F64 = np.cumsum(b)
    return out


@dataclass(frozen=True, slots=True)
class TissueLQ:
    """LQ parameters of one tissue, with their source and assumption flag."""

    tissue: str
    alpha_beta_gy: float
    t_repair_h: float
    alpha_per_gy: float | None
    source: str
    assumption: bool


def _load() -> dict[str, Any]:
    data = load_yaml("radiobiology.yaml")
    if not isinstance(data.get("tissues"), dict):
        raise InputFileError("radiotrial/data/radiobiology.yaml", "missing 'tissues' mapping")
    return data


def tissue_parameters(tissue: str) -> TissueLQ:
    """LQ parameters of ``tissue`` from ``radiotrial/data/radiobiology.yaml``.

    Raises
    ------
    ValidationError
        Unknown tissue; the message lists the known ones.
    """
    tissues = _load()["tissues"]
    key = tissue.strip().lower().replace(" ", "_").replace("-", "_")
    key = {"kidneys": "kidney", "tumor": "tumour", "marrow": "red_marrow"}.get(key, key)
    if key not in tissues:
        raise ValidationError("tissue", tissue, f"unknown tissue; known: {', '.join(tissues)}")
    row = tissues[key]
    alpha = row.get("alpha_per_gy")
    return TissueLQ(
        tissue=key,
        alpha_beta_gy=float(row["alpha_beta_gy"]),
        t_repair_h=float(row["t_repair_h"]),
        alpha_per_gy=None if alpha is None else float(alpha),
        source=str(row["source"]),
        assumption=bool(row.get("assumption", False)),
    )
