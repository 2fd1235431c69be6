"""Boundary checks shared by the kinetics functions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError

__all__ = ["FitWarning", "check_activities", "check_sigma", "check_times"]

F64 = npt.NDArray[np.float64]


class FitWarning(RuntimeWarning):
    """A fit finished with a documented fallback (not converged, covariance not estimable, ...)."""


def _first_bad(mask: npt.NDArray[np.bool_]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_times(times_h: npt.ArrayLike, *, name: str = "times_h") -> F64:
    """Times after injection in h: finite, ≥ 0, strictly increasing along the last axis.

    Returns a float64 array of shape (T,) or (B, T).
    """
    t = np.asarray(times_h, dtype=np.float64)
    if t.ndim not in (1, 2) or t.shape[-1] < 1:
        raise ValidationError(name, t.shape, "expected shape (T,) or (B, T) with T ≥ 1 time points")
    if not np.all(np.isfinite(t)):
        raise ValidationError(name, t[~np.isfinite(t)][0], "times must be finite numbers")
    if np.any(t < 0):
        bad = t[t < 0][0]
        raise ValidationError(
            name, float(bad), "time before injection; times are hours after injection (≥ 0)"
        )
    if t.shape[-1] > 1 and np.any(np.diff(t, axis=-1) <= 0):
        idx = _first_bad(np.diff(t, axis=-1) <= 0)
        raise ValidationError(
            name,
            t.tolist() if t.ndim == 1 else t[idx[0]].tolist(),
            "times must be strictly increasing (sort the time points and remove duplicates)",
        )
    return t


def check_activities(activity: npt.ArrayLike, n_times: int, *, name: str = "activity_mbq") -> F64:
    """Activities: finite and > 0, shape (T,) or (B, T) matching the number of times.

    Returns a float64 array of shape (B, T).
    """
    a = np.asarray(activity, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[-1] != n_times:
        raise ValidationError(
            name,
            np.shape(activity),
            f"expected shape ({n_times},) or (B, {n_times}) to match times",
        )
    if a.shape[0] == 0:
        raise ValidationError(name, a.shape, "no curves given")
    if not np.all(np.isfinite(a)):
        idx = _first_bad(~np.isfinite(a))
        raise ValidationError(f"{name}[{idx[0]}, {idx[1]}]", float(a[idx]), "must be finite")
    if np.any(a <= 0):
        idx = _first_bad(a <= 0)
        raise ValidationError(
            f"{name}[{idx[0]}, {idx[1]}]",
            float(a[idx]),
            "activities must be > 0 (mask empty voxels or background-subtracted negatives first)",
        )
    return a


def check_sigma(sigma: npt.ArrayLike | None, shape: tuple[int, int], *, name: str) -> F64 | None:
    """Absolute 1-SD uncertainties, finite and > 0, broadcastable to ``shape``."""
    if sigma is None:
        return None
    s = np.asarray(sigma, dtype=np.float64)
    try:
        s = np.broadcast_to(s, shape).copy()
    except ValueError:
        raise ValidationError(
            name, s.shape, f"cannot broadcast to the activity shape {shape}"
        ) from None
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        bad = s[~(np.isfinite(s) & (s > 0))][0]
        raise ValidationError(name, float(bad), "uncertainties must be finite and > 0")
    return s
