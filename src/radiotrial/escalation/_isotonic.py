"""Weighted isotonic regression (pool-adjacent-violators), compiled with numba."""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["pava"]


@numba.njit(cache=True)
def _pava_inplace(
    x: npt.NDArray[np.float64], w: npt.NDArray[np.float64], m: int
) -> None:  # pragma: no cover - compiled
    """Isotonic (non-decreasing) weighted least-squares fit of x[:m] in place."""
    val = np.empty(m)
    wt = np.empty(m)
    cnt = np.empty(m, np.int64)
    top = 0
    for i in range(m):
        val[top] = x[i]
        wt[top] = w[i]
        cnt[top] = 1
        top += 1
        while top > 1 and val[top - 2] > val[top - 1]:
            ws = wt[top - 2] + wt[top - 1]
            val[top - 2] = (val[top - 2] * wt[top - 2] + val[top - 1] * wt[top - 1]) / ws
            wt[top - 2] = ws
            cnt[top - 2] += cnt[top - 1]
            top -= 1
    pos = 0
    for b in range(top):
        for _ in range(cnt[b]):
            x[pos] = val[b]
            pos += 1


def pava(x: npt.ArrayLike, w: npt.ArrayLike | None = None) -> npt.NDArray[np.float64]:
    """Weighted isotonic regression of ``x`` (non-decreasing), by pool-adjacent-violators.

    Parameters
    ----------
    x : (m,) array_like
    w : (m,) array_like, optional
        Positive weights (default 1).

    Returns
    -------
    (m,) ndarray
        argmin Σ w_i (x_i − f_i)² over non-decreasing f.

    References
    ----------
    Barlow, Bartholomew, Bremner & Brunk, *Statistical Inference under Order Restrictions*,
    Wiley, 1972.

    Examples
    --------
    >>> pava([0.1, 0.4, 0.2, 0.5]).round(3).tolist()
    [0.1, 0.3, 0.3, 0.5]
    """
    xa = np.array(x, dtype=np.float64)
    wa = np.ones_like(xa) if w is None else np.asarray(w, dtype=np.float64)
    _pava_inplace(xa, wa, xa.size)
    return xa
