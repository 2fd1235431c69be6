"""Model-free and single-time-point time-integrated activity (TIA).

* :func:`tia_trapezoid` — trapezoid rule through the data with a physical-decay tail;
* :func:`hanscheid_tia` — one measurement, TIA ≈ A(t)·2t/ln 2 (Hänscheid et al. 2018);
* :func:`madsen_tia` — one measurement and a population effective half-life,
  TIA = A(t)·e^{λt}/λ (Madsen et al. 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import brentq

from radiotrial.errors import ValidationError
from radiotrial.kinetics._models import LN2
from radiotrial.kinetics._validate import check_activities, check_sigma, check_times
from radiotrial.nuclides import get_nuclide

__all__ = [
    "StpResult",
    "TiaResult",
    "hanscheid_bias",
    "hanscheid_tia",
    "hanscheid_valid_range",
    "madsen_tia",
    "tia_trapezoid",
]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class TiaResult:
    """TIA of B curves with its SD and the share of the extrapolated parts.

    Attributes
    ----------
    tia_mbq_h, tia_sd_mbq_h : (B,) ndarray
        TIA and its 1-SD uncertainty (NaN when no ``sigma_mbq`` was given).
    tail_fraction : (B,) ndarray
        Fraction of the TIA after the last time point (physical-decay tail): above ~0.2 the
        result depends heavily on the assumption of no biological clearance after the last scan.
    """

    tia_mbq_h: F64
    tia_sd_mbq_h: F64
    tail_fraction: F64


def tia_trapezoid(
    times_h: npt.ArrayLike,
    activity_mbq: npt.ArrayLike,
    *,
    nuclide: str = "Lu-177",
    sigma_mbq: npt.ArrayLike | None = None,
    start: Literal["zero", "constant", "extrapolate"] = "zero",
) -> TiaResult:
    """Trapezoid TIA with a physical-decay tail after the last time point.

    Parameters
    ----------
    times_h : (T,) array_like
        Times after injection, h (strictly increasing, ≥ 0).
    activity_mbq : (T,) or (B, T) array_like
        Activities (> 0).
    nuclide : str
        Nuclide for the tail A_T / λ_p.
    sigma_mbq : array_like, optional
        1-SD uncertainty of each activity (broadcast to (B, T)); uncorrelated.
    start : {"zero", "constant", "extrapolate"}
        Segment from injection to the first point: a straight line from (0, 0) (uptake),
        constant at the first value, or the mono-exponential through the first two points
        extrapolated back to t = 0 (rates below λ_p are clamped to λ_p).

    Returns
    -------
    TiaResult

    Notes
    -----
    TIA = S₀ + Σ_{k=1}^{T−1} (t_{k+1} − t_k)(A_k + A_{k+1})/2 + A_T/λ_p, linear in the A_k for
    ``start`` = "zero" or "constant", so Var(TIA) = Σ_k w_k² σ_k² exactly; with
    "extrapolate" the head segment is linearised (first-order propagation).
    The tail assumes physical decay only after the last scan (no biological clearance), which
    over-estimates, never under-estimates, the tail of a clearing organ.
    """
    t = check_times(times_h)
    if t.ndim != 1:
        raise ValidationError("times_h", t.shape, "tia_trapezoid takes shared times (T,)")
    y = check_activities(activity_mbq, t.size)
    sig = check_sigma(sigma_mbq, y.shape, name="sigma_mbq")
    lam_p = LN2 / get_nuclide(nuclide).half_life("h")
    nt = t.size
    w = np.zeros((y.shape[0], nt))
    dt = np.diff(t)
    w[:, :-1] += dt / 2
    w[:, 1:] += dt / 2
    w[:, -1] += 1.0 / lam_p
    tail = y[:, -1] / lam_p
    if start == "zero":
        w[:, 0] += t[0] / 2
        head = y[:, 0] * t[0] / 2
        grad_head = None
    elif start == "constant":
        w[:, 0] += t[0]
        head = y[:, 0] * t[0]
        grad_head = None
    elif start == "extrapolate":
        if nt < 2:
            raise ValidationError("start", start, "needs at least two time points")
        lam = np.maximum(np.log(y[:, 0] / y[:, 1]) / (t[1] - t[0]), lam_p)
        a0 = y[:, 0] * np.exp(lam * t[0])
        head = (a0 - y[:, 0]) / lam
        # gradient of the head segment with respect to A_1 and A_2 (λ free where above λ_p)
        free = np.log(y[:, 0] / y[:, 1]) / (t[1] - t[0]) > lam_p
        dh_dlam = (a0 * t[0] * lam - (a0 - y[:, 0])) / lam**2
        dlam_dy0 = np.where(free, 1.0 / (y[:, 0] * (t[1] - t[0])), 0.0)
        dlam_dy1 = np.where(free, -1.0 / (y[:, 1] * (t[1] - t[0])), 0.0)
        grad_head = (
            (np.exp(lam * t[0]) - 1.0) / lam + dh_dlam * dlam_dy0,
            dh_dlam * dlam_dy1,
        )
        w[:, 0] += grad_head[0]
        w[:, 1] += grad_head[1]
    else:
        raise ValidationError("start", start, "use 'zero', 'constant' or 'extrapolate'")
    body = np.sum((y[:, :-1] + y[:, 1:]) * dt / 2, axis=1) if nt > 1 else np.zeros(y.shape[0])
    tia = head + body + tail
    sd = np.sqrt(np.sum((w * sig) ** 2, axis=1)) if sig is not None else np.full(tia.shape, np.nan)
    return TiaResult(tia, sd, tail / tia)


@dataclass(frozen=True)
class StpResult:
    """Single-time-point TIA.

    Attributes
    ----------
    tia_mbq_h, tia_sd_mbq_h : float
        TIA and its 1-SD uncertainty (activity and, for Madsen, half-life uncertainty).
    method : str
    validity : str
        When the approximation holds, in words.
    relative_error_bound : float
        Largest relative model error over the stated validity range (0 where exact).
    """

    tia_mbq_h: float
    tia_sd_mbq_h: float
    method: str
    validity: str
    relative_error_bound: float


def _check_stp(activity_mbq: float, time_h: float) -> None:
    if not math.isfinite(activity_mbq) or activity_mbq <= 0:
        raise ValidationError("activity_mbq", activity_mbq, "must be finite and > 0")
    if not math.isfinite(time_h) or time_h <= 0:
        raise ValidationError("time_h", time_h, "must be > 0 h after injection")


def hanscheid_bias(t_eff_over_t: npt.ArrayLike) -> F64:
    """Ratio of the Hänscheid estimate to the true mono-exponential TIA.

    For a mono-exponential with x = T_eff/t, TIA_H/TIA = 2/(x·2^{1/x}): exactly 1 at x = 1
    and x = 1/2, with a maximum of 2/(e·ln 2) ≈ 1.061 at x = ln 2 in between.
    """
    x = np.asarray(t_eff_over_t, dtype=np.float64)
    return 2.0 / (x * np.exp2(1.0 / x))


def hanscheid_valid_range(tolerance: float = 0.1) -> tuple[float, float]:
    """Interval of T_eff/t (around 1) in which |TIA_H/TIA − 1| ≤ ``tolerance``.

    The ratio is ≥ 1 between x = 1/2 and 1 (peak 1.061 at x = ln 2) and falls on either side,
    so the edges are found below 1/2 and above 1 by Brent's method.
    """
    if not 0 < tolerance < 1:
        raise ValidationError("tolerance", tolerance, "must be in (0, 1)")
    peak = float(hanscheid_bias(LN2))
    if peak - 1 > tolerance:
        raise ValidationError("tolerance", tolerance, f"the bias peaks at {peak - 1:.3f} inside")
    lo = brentq(lambda x: float(hanscheid_bias(x)) - (1 - tolerance), 0.05, 0.5)
    hi = brentq(lambda x: float(hanscheid_bias(x)) - (1 - tolerance), 1.0, 50.0)
    return float(lo), float(hi)


def hanscheid_tia(activity_mbq: float, time_h: float, *, activity_sd_mbq: float = 0.0) -> StpResult:
    """Single-time-point TIA by Hänscheid's approximation, TIA ≈ A(t)·2t/ln 2.

    Parameters
    ----------
    activity_mbq : float
        Activity measured at ``time_h`` (> 0).
    time_h : float
        Measurement time after injection, h (Hänscheid et al. recommend ~96 h for 177Lu
        peptides).
    activity_sd_mbq : float
        1-SD uncertainty of the measured activity.

    Notes
    -----
    For a mono-exponential A(t) = A₀e^{−ln2·t/T}, the estimate divided by the true TIA is
    2/(x·2^{1/x}) with x = T/t: exact for T = t (and T = t/2), within ±10 % for
    x ∈ [0.41, 1.31] (:func:`hanscheid_valid_range`); valid only after uptake is complete.
    The SD carries only the activity uncertainty; the model error is reported as a bound.

    References
    ----------
    Hänscheid H, Lapa C, Buck AK, Lassmann M, Werner RA. Dose mapping after endoradiotherapy
    with 177Lu-DOTATATE/DOTATOC by a single measurement after 4 days. J Nucl Med
    2018;59:75–81, doi:10.2967/jnumed.117.193706.
    """
    _check_stp(activity_mbq, time_h)
    factor = 2.0 * time_h / LN2
    lo, hi = hanscheid_valid_range(0.1)
    return StpResult(
        tia_mbq_h=activity_mbq * factor,
        tia_sd_mbq_h=abs(activity_sd_mbq) * factor,
        method="hanscheid",
        validity=(
            f"mono-exponential clearance after complete uptake, with effective half-life "
            f"between {lo * time_h:.3g} h and {hi * time_h:.3g} h ({lo:.2f}–{hi:.2f} × "
            f"the scan time) for ≤ 10 % error; exact when T_eff equals the scan time"
        ),
        relative_error_bound=0.1,
    )


def madsen_tia(
    activity_mbq: float,
    time_h: float,
    t_eff_h: float,
    *,
    t_eff_sd_h: float = 0.0,
    activity_sd_mbq: float = 0.0,
) -> StpResult:
    """Single-time-point TIA with a population effective half-life (Madsen et al. 2018).

    TIA = A(t)·e^{λt}/λ with λ = ln 2 / T_eff (mono-exponential back-extrapolation).

    Parameters
    ----------
    activity_mbq : float
        Activity at ``time_h``.
    time_h : float
        Measurement time after injection, h.
    t_eff_h, t_eff_sd_h : float
        Population effective half-life of the organ and its SD (between-patient spread), h.
    activity_sd_mbq : float
        1-SD uncertainty of the measured activity.

    Notes
    -----
    ∂ln TIA/∂ln T = 1 − λt, so the half-life uncertainty propagates as
    SD_T(TIA) = TIA·|1 − λt|·σ_T/T and vanishes at the optimal scan time t* = T_eff/ln 2
    (≈ 1.44 T_eff). The SD combines this and the activity term in quadrature.
    Valid after uptake is complete, when the patient's clearance is mono-exponential.

    References
    ----------
    Madsen MT, Menda Y, O'Dorisio TM, O'Dorisio MS. Technical note: single time point dose
    estimate for exponential clearance. Med Phys 2018;45:2318–2324, doi:10.1002/mp.12886.
    """
    _check_stp(activity_mbq, time_h)
    if not math.isfinite(t_eff_h) or t_eff_h <= 0:
        raise ValidationError("t_eff_h", t_eff_h, "population effective half-life must be > 0 h")
    if t_eff_sd_h < 0 or activity_sd_mbq < 0:
        raise ValidationError("t_eff_sd_h", t_eff_sd_h, "uncertainties must be ≥ 0")
    lam = LN2 / t_eff_h
    tia = activity_mbq * math.exp(lam * time_h) / lam
    rel_t = abs(1.0 - lam * time_h) * t_eff_sd_h / t_eff_h
    rel_a = activity_sd_mbq / activity_mbq
    return StpResult(
        tia_mbq_h=tia,
        tia_sd_mbq_h=tia * math.hypot(rel_t, rel_a),
        method="madsen",
        validity=(
            "mono-exponential clearance after complete uptake; least sensitive to the "
            f"half-life when scanned at T_eff/ln2 = {t_eff_h / LN2:.3g} h"
        ),
        relative_error_bound=rel_t,
    )
