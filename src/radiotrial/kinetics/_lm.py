"""Compiled per-curve Levenberg–Marquardt for sum-of-exponentials models (numba).

The batch is split over CPU cores with ``prange``; each curve runs a small dense LM in the
internal coordinates θ of :mod:`radiotrial.kinetics._models` (so every physical constraint
holds by construction) with box bounds on θ. Starting points come from a variable-projection
grid: for each candidate set of rates the amplitudes are linear and solved exactly.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["fit_batch"]

F64 = npt.NDArray[np.float64]


@numba.njit(cache=True, fastmath=False)
def _eval(
    theta: F64,
    t: F64,
    n: int,
    uptake: int,
    lam_p: float,
    f: F64,
    jac: F64,
    work: F64,
) -> None:
    """Model value f (T,) and Jacobian in θ (T, P) at θ (P,); ``work`` has ≥ 4(n+1) slots."""
    m = n + uptake
    dl = work[0:m]
    rates = work[m : 2 * m]
    amps = work[2 * m : 2 * m + n]
    incs = work[2 * m + n : 3 * m + n]
    acc = lam_p
    for k in range(m):
        acc += math.exp(theta[n + k])
        rates[k] = acc
    suma = 0.0
    for i in range(n):
        amps[i] = math.exp(theta[i])
        suma += amps[i]
    for k in range(m):
        incs[k] = math.exp(theta[n + k])
    for j in range(t.size):
        tj = t[j]
        u = math.exp(-rates[n] * tj) if uptake else 0.0
        val = 0.0
        for i in range(n):
            a = amps[i]
            e = math.exp(-rates[i] * tj)
            val += a * (e - u)
            jac[j, i] = a * (e - u)
            dl[i] = -tj * a * e
        if uptake:
            dl[n] = tj * u * suma
        s = 0.0
        for k in range(m - 1, -1, -1):
            s += dl[k]
            jac[j, n + k] = s * incs[k]
        f[j] = val


@numba.njit(cache=True)
def _cholesky_solve(a: F64, b: F64, x: F64, low: F64) -> bool:
    """Solve a x = b for symmetric positive-definite a (P, P); False if not SPD."""
    p = b.size
    for i in range(p):
        for j in range(i + 1):
            s = a[i, j]
            for k in range(j):
                s -= low[i, k] * low[j, k]
            if i == j:
                if s <= 0.0 or not math.isfinite(s):
                    return False
                low[i, i] = math.sqrt(s)
            else:
                low[i, j] = s / low[j, j]
    for i in range(p):
        s = b[i]
        for k in range(i):
            s -= low[i, k] * x[k]
        x[i] = s / low[i, i]
    for i in range(p - 1, -1, -1):
        s = x[i]
        for k in range(i + 1, p):
            s -= low[k, i] * x[k]
        x[i] = s / low[i, i]
    return True


@numba.njit(cache=True)
def _cost(y: F64, sw: F64, f: F64) -> float:
    c = 0.0
    for j in range(y.size):
        r = (y[j] - f[j]) * sw[j]
        c += r * r
    return 0.5 * c


@numba.njit(cache=True)
def _initial(
    t: F64,
    y: F64,
    sw: F64,
    n: int,
    uptake: int,
    lam_p: float,
    rate_grid: F64,
    combos: npt.NDArray[np.int64],
    ups: F64,
    theta: F64,
    ws: F64,
    e_tab: F64,
    u_tab: F64,
) -> None:
    """Grid start: for each rate combination solve the amplitudes linearly, keep the best.

    ``rate_grid`` (R,) and ``ups`` (G,) are absolute rates (h⁻¹); ``combos`` (C, n) indexes
    strictly increasing decay-rate sets in ``rate_grid``. ``e_tab`` (R, T) and ``u_tab`` (G, T)
    are scratch space for the exponentials, computed once per curve.
    """
    nt = t.size
    ymax = 0.0
    for j in range(nt):
        ymax = max(ymax, y[j])
    floor = 1e-6 * ymax
    for r in range(rate_grid.size):
        for j in range(nt):
            e_tab[r, j] = math.exp(-rate_grid[r] * t[j])
    n_up = ups.size if uptake else 1
    if uptake:
        for g in range(n_up):
            for j in range(nt):
                u_tab[g, j] = math.exp(-ups[g] * t[j])
    best = np.inf
    basis = ws[6 : 6 + nt, :n]
    xtx = ws[6 + nt : 6 + nt + n, :n]
    low = ws[6 + nt + n : 6 + nt + 2 * n, :n]
    xty = ws[0, :n]
    amps = ws[1, :n]
    for c in range(combos.shape[0]):
        for g in range(n_up):
            if uptake and ups[g] <= rate_grid[combos[c, n - 1]]:
                continue
            for j in range(nt):
                u = u_tab[g, j] if uptake else 0.0
                for i in range(n):
                    basis[j, i] = (e_tab[combos[c, i], j] - u) * sw[j]
            for i in range(n):
                s = 0.0
                for j in range(nt):
                    s += basis[j, i] * y[j] * sw[j]
                xty[i] = s
                for k in range(i + 1):
                    s = 0.0
                    for j in range(nt):
                        s += basis[j, i] * basis[j, k]
                    xtx[i, k] = s
                    xtx[k, i] = s
            tr = 0.0
            for i in range(n):
                tr += xtx[i, i]
            for i in range(n):
                xtx[i, i] += 1e-12 * tr + 1e-300
            if not _cholesky_solve(xtx, xty, amps, low):
                continue
            cost = 0.0
            for i in range(n):
                amps[i] = max(amps[i], floor)
            for j in range(nt):
                s = y[j] * sw[j]
                for i in range(n):
                    s -= basis[j, i] * amps[i]
                cost += s * s
            if cost < best:
                best = cost
                prev = lam_p
                for i in range(n):
                    theta[i] = math.log(amps[i])
                    rate = rate_grid[combos[c, i]]
                    theta[n + i] = math.log(max(rate - prev, 1e-300))
                    prev = rate
                if uptake:
                    theta[2 * n] = math.log(max(ups[g] - prev, 1e-300))


@numba.njit(cache=True)
def _lm_one(
    t: F64,
    y: F64,
    sw: F64,
    n: int,
    uptake: int,
    lam_p: float,
    theta: F64,
    lo: F64,
    hi: F64,
    max_iter: int,
    ws: F64,
) -> tuple[bool, int]:
    p = theta.size
    nt = t.size
    f = ws[0, :nt]
    f_new = ws[1, :nt]
    g = ws[2, :p]
    step = ws[3, :p]
    new = ws[4, :p]
    work = ws[5]
    jac = ws[6 : 6 + nt, :p]
    jac_new = ws[6 + nt : 6 + 2 * nt, :p]
    a = ws[6 + 2 * nt : 6 + 2 * nt + p, :p]
    ad = ws[6 + 2 * nt + p : 6 + 2 * nt + 2 * p, :p]
    low = ws[6 + 2 * nt + 2 * p : 6 + 2 * nt + 3 * p, :p]
    for k in range(p):
        theta[k] = min(max(theta[k], lo[k]), hi[k])
    _eval(theta, t, n, uptake, lam_p, f, jac, work)
    cost = _cost(y, sw, f)
    scale0 = 0.0
    for j in range(nt):
        scale0 += (y[j] * sw[j]) ** 2
    mu = 1e-3
    recompute = True
    for it in range(1, max_iter + 1):
        if recompute:
            for i in range(p):
                s = 0.0
                for j in range(nt):
                    s += jac[j, i] * (y[j] - f[j]) * sw[j] * sw[j]
                g[i] = s
                for k in range(i + 1):
                    s = 0.0
                    for j in range(nt):
                        s += jac[j, i] * jac[j, k] * sw[j] * sw[j]
                    a[i, k] = s
                    a[k, i] = s
        dmax = 0.0
        for i in range(p):
            dmax = max(dmax, a[i, i])
        for i in range(p):
            for k in range(p):
                ad[i, k] = a[i, k]
            ad[i, i] += mu * (a[i, i] + 1e-9 * dmax) + 1e-300
        ok = _cholesky_solve(ad, g, step, low)
        if not ok:
            mu *= 10.0
            recompute = False
            if mu > 1e10:
                return True, it
            continue
        moved = 0.0
        for k in range(p):
            new[k] = min(max(theta[k] + step[k], lo[k]), hi[k])
            moved = max(moved, abs(new[k] - theta[k]))
        _eval(new, t, n, uptake, lam_p, f_new, jac_new, work)
        cost_new = _cost(y, sw, f_new)
        if math.isfinite(cost_new) and cost_new <= cost:
            gain = cost - cost_new
            for k in range(p):
                theta[k] = new[k]
            for j in range(nt):
                f[j] = f_new[j]
                for k in range(p):
                    jac[j, k] = jac_new[j, k]
            cost = cost_new
            mu = max(mu * 0.3, 1e-12)
            recompute = True
            if cost <= 1e-28 * scale0:
                return True, it
            # MINPACK-style tests: relative reduction of the cost, or of the step
            if gain <= 1e-10 * cost or moved < 1e-9:
                return True, it
        else:
            mu *= 10.0
            recompute = False
            if mu > 1e10:
                return True, it
    return False, max_iter


@numba.njit(cache=True, parallel=True)
def _fit_all(
    t: F64,
    y: F64,
    sw: F64,
    n: int,
    uptake: int,
    lam_p: float,
    rate_grid: F64,
    combos: npt.NDArray[np.int64],
    ups: F64,
    lo: F64,
    hi: F64,
    max_iter: int,
    n_chunks: int,
    theta: F64,
    converged: npt.NDArray[np.bool_],
    n_iter: npt.NDArray[np.int64],
) -> None:
    n_curves = y.shape[0]
    nt = y.shape[1]
    p = theta.shape[1]
    width = max(nt, 4 * (n + 2), p)
    for c in numba.prange(n_chunks):
        # one workspace per chunk: no allocation per curve
        ws = np.empty((6 + 2 * nt + 3 * p, width))
        e_tab = np.empty((rate_grid.size, nt))
        u_tab = np.empty((ups.size, nt))
        for b in range(c * n_curves // n_chunks, (c + 1) * n_curves // n_chunks):
            _initial(
                t[b],
                y[b],
                sw[b],
                n,
                uptake,
                lam_p,
                rate_grid,
                combos,
                ups,
                theta[b],
                ws,
                e_tab,
                u_tab,
            )
            ok, it = _lm_one(
                t[b], y[b], sw[b], n, uptake, lam_p, theta[b], lo[b], hi[b], max_iter, ws
            )
            converged[b] = ok
            n_iter[b] = it


def fit_batch(
    t: F64,
    y: F64,
    sw: F64,
    n_terms: int,
    uptake: bool,
    lam_p: float,
    rate_grid: F64,
    combos: npt.NDArray[np.int64],
    ups: F64,
    lo: F64,
    hi: F64,
    max_iter: int,
) -> tuple[F64, npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Fit every curve; returns θ (B, P), converged (B,), iterations (B,).

    Parameters
    ----------
    t, y, sw : (B, T) ndarray
        Times (h), activities and weights 1/σ.
    rate_grid : (R,) ndarray
        Candidate decay rates (h⁻¹, increasing, > λ_p) for the grid start.
    combos : (C, n) int ndarray
        Strictly increasing index sets into ``rate_grid``.
    ups : (G,) ndarray
        Candidate uptake rates (h⁻¹); combinations with λ_u ≤ λ_n are skipped.
    lo, hi : (B, P) ndarray
        Box bounds on θ.
    """
    b = y.shape[0]
    p = 2 * n_terms + int(uptake)
    theta = np.zeros((b, p))
    converged = np.zeros(b, dtype=np.bool_)
    n_iter = np.zeros(b, dtype=np.int64)
    _fit_all(
        np.ascontiguousarray(t),
        np.ascontiguousarray(y),
        np.ascontiguousarray(sw),
        n_terms,
        int(uptake),
        lam_p,
        np.ascontiguousarray(rate_grid),
        np.ascontiguousarray(combos, dtype=np.int64),
        np.ascontiguousarray(ups),
        np.ascontiguousarray(lo),
        np.ascontiguousarray(hi),
        max_iter,
        max(1, min(b, 64 * numba.get_num_threads())),
        theta,
        converged,
        n_iter,
    )
    return theta, converged, n_iter
