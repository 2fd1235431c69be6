"""Uncertainty of activities and TIA per the EANM guidance (Gear et al. 2018).

An activity is A = C/(Q·RC) (count rate C, calibration factor Q, recovery coefficient RC).
Components that differ between time points (count statistics, VOI delineation on each scan) are
random: they weight the fit and reach the TIA through the fit covariance. Components shared by
every time point (the calibration factor of the camera, the recovery coefficient of a VOI whose
size does not change) scale the whole curve, are fully correlated between time points and must
not be put into the fit weights: they scale the TIA and add in quadrature to its relative
uncertainty.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError

__all__ = ["random_activity_sd_mbq", "total_tia_sd_mbq_h"]

F64 = npt.NDArray[np.float64]


def _rel(name: str, value: float) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValidationError(name, value, "relative SD must be finite and ≥ 0 (0.05 for 5 %)")
    return v


def random_activity_sd_mbq(
    activity_mbq: npt.ArrayLike,
    *,
    counts: npt.ArrayLike | None = None,
    other_random_rel_sd: float = 0.0,
) -> F64:
    """1-SD random (time-point-independent) uncertainty of each activity, MBq.

    Parameters
    ----------
    activity_mbq : (..., T) array_like
        Activities.
    counts : (..., T) array_like, optional
        Net counts in the VOI at each time point: Poisson relative SD 1/√N.
    other_random_rel_sd : float
        Further relative SD that varies from scan to scan (VOI delineation, registration).

    Returns
    -------
    (..., T) ndarray
        σ_A = A·√(1/N + u_other²); pass it as ``sigma_mbq`` to :func:`fit_tacs`.
    """
    a = np.asarray(activity_mbq, dtype=np.float64)
    rel2 = np.full(a.shape, _rel("other_random_rel_sd", other_random_rel_sd) ** 2)
    if counts is not None:
        n = np.asarray(counts, dtype=np.float64)
        if np.any(~np.isfinite(n)) or np.any(n <= 0):
            raise ValidationError("counts", n.tolist(), "counts must be finite and > 0")
        rel2 = rel2 + 1.0 / n
    if np.any(rel2 <= 0):
        raise ValidationError("counts", None, "give counts or other_random_rel_sd > 0")
    out: F64 = a * np.sqrt(rel2)
    return out


def total_tia_sd_mbq_h(
    tia_mbq_h: npt.ArrayLike,
    tia_sd_random_mbq_h: npt.ArrayLike,
    *,
    calibration_rel_sd: float = 0.0,
    recovery_rel_sd: float = 0.0,
) -> F64:
    """Total TIA SD: fit (random) part plus the fully correlated calibration and recovery parts.

    u(TIA)² = u_fit² + TIA²·(u_Q² + u_RC²), with u_Q, u_RC the relative SDs of the calibration
    factor and of a recovery coefficient shared by every time point (first-order law of
    propagation, EANM guidance; A ∝ 1/(Q·RC) gives ∂ln TIA/∂ln Q = −1).

    References
    ----------
    Gear JI, Cox MG, Gustafsson J, et al. EANM practical guidance on uncertainty analysis for
    molecular radiotherapy absorbed dose calculations. Eur J Nucl Med Mol Imaging
    2018;45:2456–2474, doi:10.1007/s00259-018-4136-7.
    """
    tia = np.asarray(tia_mbq_h, dtype=np.float64)
    sd = np.asarray(tia_sd_random_mbq_h, dtype=np.float64)
    sys2 = _rel("calibration_rel_sd", calibration_rel_sd) ** 2 + (
        _rel("recovery_rel_sd", recovery_rel_sd) ** 2
    )
    out: F64 = np.sqrt(sd**2 + tia**2 * sys2)
    return out
