"""Shared argument checks for the escalation package (messages name the argument)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError

__all__ = [
    "check_cohort_size",
    "check_levels",
    "check_positive_int",
    "check_probability",
    "check_skeleton",
    "check_target",
    "check_truth",
]

#: Range of target DLT rates accepted, as in the R package BOIN (``get.boundary``: target < 0.05
#: "too low", target > 0.6 "too high"); the ends are refused here so that both boundaries exist.
TARGET_RANGE = (0.05, 0.6)


def check_target(target: float, *, name: str = "target") -> float:
    """Return ``target`` as float if it lies in the open interval (0.05, 0.6)."""
    value = float(target)
    lo, hi = TARGET_RANGE
    if not np.isfinite(value) or not lo < value < hi:
        raise ValidationError(name, target, f"the target DLT rate must lie in ({lo}, {hi})")
    return value


def check_probability(value: float, *, name: str, open_interval: bool = True) -> float:
    """Return ``value`` if it is a probability (open or closed unit interval)."""
    v = float(value)
    ok = (0.0 < v < 1.0) if open_interval else (0.0 <= v <= 1.0)
    if not np.isfinite(v) or not ok:
        rng = "(0, 1)" if open_interval else "[0, 1]"
        raise ValidationError(name, value, f"must be a probability in {rng}")
    return v


def check_positive_int(value: int, *, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer ≥ ``minimum``."""
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ValidationError(name, value, f"must be an integer >= {minimum}")
    return int(value)


def check_cohort_size(value: int) -> int:
    """Cohort size: an integer from 1 to 12."""
    v = check_positive_int(value, name="cohort_size")
    if v > 12:
        raise ValidationError("cohort_size", value, "must be between 1 and 12 patients")
    return v


def check_levels(n_levels: int) -> int:
    """Number of dose levels: 1 to 20."""
    v = check_positive_int(n_levels, name="n_levels")
    if v > 20:
        raise ValidationError("n_levels", n_levels, "at most 20 dose levels are supported")
    return v


def check_start_level(start_level: int, n_levels: int) -> int:
    """The 1-based ``start_level`` of a design with ``n_levels`` levels, returned 0-based."""
    if not 1 <= start_level <= n_levels:
        raise ValidationError("start_level", start_level, f"must be a level from 1 to {n_levels}")
    return start_level - 1


def check_window(window: float) -> float:
    """DLT window of a time-to-event design (days, > 0)."""
    if not window > 0:
        raise ValidationError("window", window, "the DLT window must be > 0")
    return float(window)


def check_truth(
    truth: Sequence[float] | npt.ArrayLike, *, name: str = "truth"
) -> npt.NDArray[np.float64]:
    """Return true DLT probabilities per level as a float array, each in [0, 1].

    A dose-toxicity curve need not be monotone for simulation, but every value must be a
    probability.
    """
    arr = np.asarray(truth, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValidationError(
            name, truth, "must be a non-empty list of probabilities, one per level"
        )
    bad = ~np.isfinite(arr) | (arr < 0.0) | (arr > 1.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(name, truth, f"level {i + 1} has {float(arr[i])!r}, outside [0, 1]")
    check_levels(arr.size)
    return arr


def check_skeleton(
    skeleton: Sequence[float] | npt.ArrayLike, *, name: str = "skeleton"
) -> npt.NDArray[np.float64]:
    """Return a CRM skeleton: probabilities in (0, 1), strictly increasing."""
    arr = np.asarray(skeleton, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValidationError(name, skeleton, "must be a non-empty list of prior DLT probabilities")
    bad = ~np.isfinite(arr) | (arr <= 0.0) | (arr >= 1.0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            name, skeleton, f"level {i + 1} has {float(arr[i])!r}, outside (0, 1)"
        )
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        i = int(np.flatnonzero(np.diff(arr) <= 0)[0])
        raise ValidationError(
            name,
            skeleton,
            f"must be strictly increasing (level {i + 2} is not above level {i + 1})",
        )
    check_levels(arr.size)
    return arr
