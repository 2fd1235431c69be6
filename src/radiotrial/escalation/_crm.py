"""The continual reassessment method (CRM) with one-parameter working models, as dfcrm.

Working models (Cheung 2011; R package dfcrm, ``crm``):

* empiric ("power"): F(d_k, a) = s_k^{exp(a)}, s = skeleton;
* one-parameter logistic: logit F(d_k, a) = c + exp(a)·x_k, x_k = logit(s_k) − c, intercept c
  (default 3),

with a normal prior a ~ N(0, σ²), σ² = 1.34 by default. The posterior mean of a is computed by
quadrature on a fixed grid (trapezoid rule over ±8 prior SDs, 401 nodes, which is spectrally
accurate for these smooth, Gaussian-tailed integrands; dfcrm uses R's adaptive ``integrate``
with relative tolerance 1.2e-4), and the curve is the plug-in
F(d_k, â). The recommended level is dfcrm's: the level whose estimate is closest to the target
(the highest if all are below it, the lowest if all are above).

Safety rules (options): no skipping in escalation, no escalation right after a cohort whose DLT
fraction reaches the target (dfcrm ``restrict=TRUE``, "coherence"); overdose control that only
allows levels with Pr(p_k > target | data) ≤ ``overdose_max`` (the feasibility bound of EWOC,
Babb et al. 1998); stopping when Pr(p_1 > target | data) > ``stop_threshold``.

References
----------
O'Quigley J, Pepe M, Fisher L. Continual reassessment method. Biometrics 1990;46:33–48,
doi:10.2307/2531628. Cheung YK. Dose Finding by the Continual Reassessment Method. CRC, 2011.
Lee SM, Cheung YK. Model calibration in the continual reassessment method. Clin Trials
2009;6:227–238, doi:10.1177/1740774509105076. Babb J, Rogatko A, Zacks S. Cancer phase I clinical
trials: efficient dose escalation with overdose control. Stat Med 1998;17:1103–1120.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from radiotrial.errors import ValidationError
from radiotrial.escalation._engine import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP_TOXIC,
    UNDECIDED,
    CohortDesign,
    FloatArray,
    IntArray,
    StepResult,
    unique_rows,
)
from radiotrial.escalation._state import TrialState
from radiotrial.escalation._validation import (
    check_cohort_size,
    check_levels,
    check_positive_int,
    check_probability,
    check_skeleton,
    check_start_level,
    check_target,
)

__all__ = ["CrmDesign", "CrmFit", "CrmModel", "crm_indifference_intervals", "getprior"]

Model = Literal["empiric", "logistic"]


@dataclass(frozen=True)
class CrmFit:
    """Posterior summary of a CRM fit (one trial state)."""

    a_hat: float
    post_var: float
    p_hat: FloatArray
    p_lower: FloatArray
    p_upper: FloatArray
    p_overdose: FloatArray
    mtd: int  # 1-based recommended level (unrestricted)


class CrmModel:
    """A one-parameter CRM working model with a normal prior.

    Parameters
    ----------
    skeleton : (K,) array_like
        Prior guesses of the DLT probability per level, strictly increasing in (0, 1).
    target : float
        Target DLT rate.
    model : {"empiric", "logistic"}
    intercept : float
        Fixed intercept c of the logistic model (default 3, as dfcrm).
    prior_sd : float
        SD of the normal prior on a (default √1.34, as dfcrm).
    n_grid : int
        Quadrature nodes.
    """

    def __init__(
        self,
        skeleton: npt.ArrayLike,
        target: float,
        *,
        model: Model = "empiric",
        intercept: float = 3.0,
        prior_sd: float = math.sqrt(1.34),
        n_grid: int = 401,
    ) -> None:
        self.skeleton = check_skeleton(skeleton)
        self.target = check_target(target)
        if model not in ("empiric", "logistic"):
            raise ValidationError("model", model, "use 'empiric' or 'logistic'")
        self.model: Model = model
        self.intercept = float(intercept)
        if not prior_sd > 0:
            raise ValidationError("prior_sd", prior_sd, "must be > 0")
        self.prior_sd = float(prior_sd)
        if model == "logistic":
            x = np.log(self.skeleton / (1 - self.skeleton)) - self.intercept
            if not np.all(x < 0):
                raise ValidationError(
                    "intercept",
                    intercept,
                    "too small for the skeleton: scaled doses logit(s) - c must be < 0",
                )
        self.grid = np.linspace(
            -8 * self.prior_sd,
            8 * self.prior_sd,
            check_positive_int(n_grid, name="n_grid", minimum=101),
        )
        h = self.grid[1] - self.grid[0]
        self._w = np.full(self.grid.size, h)
        self._w[[0, -1]] = h / 2

    @property
    def n_levels(self) -> int:
        return int(self.skeleton.size)

    @cached_property
    def dose_scaled(self) -> FloatArray:
        """Scaled doses: the skeleton (empiric) or logit(s) − c (logistic)."""
        if self.model == "empiric":
            return self.skeleton.copy()
        out: FloatArray = np.log(self.skeleton / (1 - self.skeleton)) - self.intercept
        return out

    def curve(self, a: npt.ArrayLike) -> FloatArray:
        """F(d_k, a): DLT probability per level, shape (..., K), for parameter values ``a``."""
        aa = np.asarray(a, dtype=np.float64)[..., None]
        if self.model == "empiric":
            out: FloatArray = self.skeleton ** np.exp(aa)
            return out
        res: FloatArray = expit(self.intercept + np.exp(aa) * self.dose_scaled)
        return res

    @cached_property
    def _log_tables(self) -> tuple[FloatArray, FloatArray]:
        """log F and log(1 − F) on the grid, shape (K, G)."""
        ea = np.exp(self.grid)[None, :]
        if self.model == "empiric":
            x = ea * np.log(self.skeleton)[:, None]  # log F ≤ 0
            return x, np.log(-np.expm1(x))
        z = self.intercept + ea * self.dose_scaled[:, None]
        return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)

    @cached_property
    def _overdose_threshold(self) -> FloatArray:
        """a*_k such that p_k > target ⟺ a < a*_k."""
        if self.model == "empiric":
            out: FloatArray = np.log(np.log(self.target) / np.log(self.skeleton))
            return out
        num = math.log(self.target / (1 - self.target)) - self.intercept
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = num / self.dose_scaled
        res: FloatArray = np.where(ratio > 0, np.log(np.where(ratio > 0, ratio, 1.0)), -np.inf)
        return res

    def _summaries(
        self, loglik: FloatArray, *, overdose: bool = True
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Posterior mean, variance and Pr(p_k > target) from log-likelihoods (S, G)."""
        lp = loglik - 0.5 * (self.grid / self.prior_sd) ** 2
        lp -= lp.max(axis=1, keepdims=True)
        np.maximum(lp, -700.0, out=lp)  # keep exp() out of subnormals, which are slow
        post = np.exp(lp)
        post *= self._w
        z = post.sum(axis=1)
        mean = post @ self.grid / z
        var = post @ self.grid**2 / z - mean**2
        if not overdose:
            return mean, np.maximum(var, 0.0), np.zeros((loglik.shape[0], self.n_levels))
        # Pr(a < a*_k): posterior mass below each threshold, the cell holding it split linearly
        thr = self._overdose_threshold
        over = np.empty((loglik.shape[0], thr.size))
        for j, t in enumerate(thr):
            if t <= self.grid[0]:
                over[:, j] = 0.0
            elif t >= self.grid[-1]:
                over[:, j] = 1.0
            else:
                i0 = int(np.searchsorted(self.grid, t)) - 1
                f = (t - self.grid[i0]) / (self.grid[i0 + 1] - self.grid[i0])
                below = post[:, : i0 + 1].sum(axis=1) + f * post[:, i0 + 1]
                over[:, j] = below / z
        return mean, np.maximum(var, 0.0), np.clip(over, 0.0, 1.0)

    def posterior_counts(
        self, n: IntArray, y: IntArray, *, overdose: bool = True
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Posterior mean of a, plug-in curve (S, K) and Pr(p_k > target) (S, K) from counts.

        The posterior depends on the data only through (n, y), so it is computed once per
        distinct row: simulated trials share few distinct states.
        """
        lf, l1f = self._log_tables
        rows = np.concatenate([np.asarray(n, np.int64), np.asarray(y, np.int64)], axis=1)
        first, inv = unique_rows(rows)
        uniq = rows[first]
        k = self.n_levels
        yy = uniq[:, k:].astype(np.float64)
        nn = uniq[:, :k].astype(np.float64)
        loglik = yy @ lf + (nn - yy) @ l1f
        mean, _, over = self._summaries(loglik, overdose=overdose)
        return mean[inv], self.curve(mean)[inv], over[inv]

    def recommend(self, p_hat: FloatArray) -> IntArray:
        """dfcrm's recommendation (0-based) per row of plug-in curves (S, K)."""
        below = np.all(p_hat <= self.target, axis=1)
        above = np.all(p_hat >= self.target, axis=1)
        rec: IntArray = np.argmin(np.abs(p_hat - self.target), axis=1).astype(np.int64)
        rec[below] = self.n_levels - 1
        rec[above & ~below] = 0
        return rec

    def fit(
        self,
        levels: npt.ArrayLike,
        tox: npt.ArrayLike,
        *,
        weights: npt.ArrayLike | None = None,
        conf_level: float = 0.90,
    ) -> CrmFit:
        """Fit to patient-level data (dfcrm ``crm`` / ``titecrm``).

        Parameters
        ----------
        levels : (N,) array_like of int
            1-based level of each patient.
        tox : (N,) array_like of {0, 1}
        weights : (N,) array_like, optional
            TITE weights in [0, 1] for patients without DLT (DLT patients always weigh 1).
        conf_level : float
            Level of the probability interval of the curve (dfcrm ``ptoxL``/``ptoxU``).
        """
        lv = np.asarray(levels, dtype=np.int64)
        tx = np.asarray(tox, dtype=np.float64)
        if lv.shape != tx.shape or lv.ndim != 1:
            raise ValidationError("tox", tx.tolist(), "levels and tox must have the same length")
        if lv.size and (lv.min() < 1 or lv.max() > self.n_levels):
            raise ValidationError("levels", lv.tolist(), f"levels run from 1 to {self.n_levels}")
        w = np.ones_like(tx) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != tx.shape or np.any(w < 0) or np.any(w > 1):
            raise ValidationError("weights", w.tolist(), "need one weight in [0, 1] per patient")
        w = np.where(tx > 0, 1.0, w)
        lf, l1f = self._log_tables
        idx = lv - 1
        fvals = np.exp(lf[idx])  # (N, G)
        with np.errstate(divide="ignore"):
            non = np.where(w[:, None] >= 1.0, l1f[idx], np.log1p(-w[:, None] * fvals))
        loglik = (tx[:, None] * lf[idx] + (1 - tx[:, None]) * non).sum(axis=0)[None, :]
        mean, var, over = self._summaries(loglik)
        a = float(mean[0])
        sd = math.sqrt(float(var[0]))
        from scipy.stats import norm

        crit = float(norm.ppf(0.5 + conf_level / 2))
        p_hat = self.curve(a)
        lo = self.curve(a + crit * sd)  # larger a → smaller p
        hi = self.curve(a - crit * sd)
        rec = int(self.recommend(p_hat[None, :])[0]) + 1
        return CrmFit(a, float(var[0]), p_hat, lo, hi, over[0], rec)


def getprior(
    halfwidth: float,
    target: float,
    nu: int,
    n_levels: int,
    *,
    model: Model = "empiric",
    intercept: float = 3.0,
) -> FloatArray:
    """Skeleton calibrated to indifference intervals target ± halfwidth (dfcrm ``getprior``).

    Parameters
    ----------
    halfwidth : float
        Half-width δ of the indifference intervals.
    target : float
    nu : int
        1-based prior guess of the MTD level (its skeleton value is the target).
    n_levels : int
    model : {"empiric", "logistic"}
    intercept : float

    Returns
    -------
    (K,) ndarray
        Skeleton s with s_nu = target, such that for each pair of adjacent levels there is a
        parameter value b_k at which F(d_{k-1}, b_k) = target − δ and F(d_k, b_k) = target + δ.

    References
    ----------
    Lee SM, Cheung YK. Clin Trials 2009;6:227–238, doi:10.1177/1740774509105076.
    """
    phi = check_target(target)
    k = check_levels(n_levels)
    if not 1 <= nu <= k:
        raise ValidationError("nu", nu, f"must be a level from 1 to {k}")
    if not 0 < halfwidth < min(phi, 1 - phi):
        raise ValidationError("halfwidth", halfwidth, f"must lie in (0, {min(phi, 1 - phi):g})")
    lo, hi = phi - halfwidth, phi + halfwidth
    x = np.full(k, np.nan)
    i = nu - 1
    if model == "empiric":
        x[i] = phi
        for j in range(i, 0, -1):
            b = math.log(math.log(hi) / math.log(x[j]))
            x[j - 1] = math.exp(math.log(lo) / math.exp(b))
        for j in range(i, k - 1):
            b = math.log(math.log(lo) / math.log(x[j]))
            x[j + 1] = math.exp(math.log(hi) / math.exp(b))
        return x
    if model != "logistic":
        raise ValidationError("model", model, "use 'empiric' or 'logistic'")
    c = intercept
    x[i] = math.log(phi / (1 - phi)) - c
    for j in range(i, 0, -1):
        b = math.log((math.log(hi / (1 - hi)) - c) / x[j])
        x[j - 1] = (math.log(lo / (1 - lo)) - c) / math.exp(b)
    for j in range(i, k - 1):
        b = math.log((math.log(lo / (1 - lo)) - c) / x[j])
        x[j + 1] = (math.log(hi / (1 - hi)) - c) / math.exp(b)
    out: FloatArray = 1.0 / (1.0 + np.exp(-c - x))
    return out


def crm_indifference_intervals(model: CrmModel) -> FloatArray:
    """Indifference interval of each level as true MTD (dfcrm ``crmsens`` ``iint``), (K, 2).

    For adjacent levels k−1, k the switch point b_k solves F(d_{k−1}, b) + F(d_k, b) = 2φ; the
    interval of level k is [F(d_{k−1}, b_k), F(d_{k+1}, b_{k+1})] (NaN at the ends).
    """
    from scipy.optimize import brentq

    kk = model.n_levels
    phi = model.target
    b = np.full(kk + 1, np.nan)
    for k in range(1, kk):

        def f(a: float, k: int = k) -> float:
            c = model.curve(a)
            return float(c[k - 1] + c[k] - 2 * phi)

        b[k] = brentq(f, -20, 20, xtol=1e-12)
    out = np.full((kk, 2), np.nan)
    for k in range(kk):
        if k >= 1:
            out[k, 0] = model.curve(b[k])[k - 1]
        if k + 1 < kk:
            out[k, 1] = model.curve(b[k + 1])[k + 1]
    return out


class CrmDesign(CohortDesign):
    """Bayesian CRM run cohort by cohort.

    Parameters
    ----------
    skeleton, target, model, intercept, prior_sd :
        See :class:`CrmModel`.
    cohort_size, max_cohorts, start_level :
        Trial size and 1-based start level.
    restrict : bool
        No skipping and no escalation right after a cohort whose DLT fraction ≥ target
        (dfcrm ``restrict=TRUE``).
    overdose_max : float or None
        Overdose control: only levels with Pr(p > target | data) ≤ this are allowed (e.g. 0.25).
    stop_threshold : float or None
        Stop for toxicity when Pr(p_1 > target | data) > this (e.g. 0.90) after ≥ 3 patients at
        level 1.
    """

    def __init__(
        self,
        skeleton: npt.ArrayLike,
        target: float,
        *,
        model: Model = "empiric",
        intercept: float = 3.0,
        prior_sd: float = math.sqrt(1.34),
        cohort_size: int = 3,
        max_cohorts: int = 10,
        start_level: int = 1,
        restrict: bool = True,
        overdose_max: float | None = None,
        stop_threshold: float | None = None,
        name: str | None = None,
    ) -> None:
        self.model = CrmModel(skeleton, target, model=model, intercept=intercept, prior_sd=prior_sd)
        self.target = self.model.target
        self.name = name or f"CRM ({model})"
        self.n_levels = self.model.n_levels
        self.cohort_size = check_cohort_size(cohort_size)
        self.max_cohorts = check_positive_int(max_cohorts, name="max_cohorts")
        self.start_level = check_start_level(start_level, self.n_levels)
        self.restrict = restrict
        self.overdose_max = (
            None if overdose_max is None else check_probability(overdose_max, name="overdose_max")
        )
        self.stop_threshold = (
            None
            if stop_threshold is None
            else check_probability(stop_threshold, name="stop_threshold")
        )

    def _cap(self, rec: IntArray, over: FloatArray) -> IntArray:
        if self.overdose_max is None:
            return rec
        allowed = (over <= self.overdose_max).sum(axis=1) - 1
        capped: IntArray = np.maximum(np.minimum(rec, allowed), 0)
        return capped

    @property
    def _needs_overdose(self) -> bool:
        return self.overdose_max is not None or self.stop_threshold is not None

    def step(
        self, d: IntArray, n: IntArray, y: IntArray, k: IntArray, elim: IntArray
    ) -> StepResult:
        _, p_hat, over = self.model.posterior_counts(n, y, overdose=self._needs_overdose)
        rec = self._cap(self.model.recommend(p_hat), over)
        if self.restrict:
            coherent = k >= self.target * self.cohort_size
            rec = np.where(coherent, np.minimum(rec, d), np.minimum(rec, d + 1))
        action = np.where(rec > d, ESCALATE, np.where(rec < d, DEESCALATE, STAY)).astype(np.int64)
        if self.stop_threshold is not None:
            stop = (n[:, 0] >= 3) & (over[:, 0] > self.stop_threshold)
            action[stop] = STOP_TOXIC
        return StepResult(rec.astype(np.int64), elim, action, np.full(d.size, UNDECIDED, np.int64))

    def select(self, n: IntArray, y: IntArray, elim: IntArray) -> IntArray:
        _, p_hat, over = self.model.posterior_counts(n, y, overdose=self._needs_overdose)
        sel = self._cap(self.model.recommend(p_hat), over)
        if self.stop_threshold is not None:
            sel = np.where((n[:, 0] >= 3) & (over[:, 0] > self.stop_threshold), -1, sel)
        return sel.astype(np.int64)

    def explain(self, state: TrialState, result: StepResult) -> tuple[str, dict[str, Any]]:
        n, y = state.counts()
        lv = [p.level for p in state.patients]
        tx = [int(bool(p.dlt)) for p in state.patients]
        fit = self.model.fit(lv, tx)
        d = (state.current_level or 1) - 1
        act = int(result.action[0])
        nxt = int(result.next_level[0]) + 1
        parts = [
            f"posterior mean a = {fit.a_hat:.3f}; estimated DLT rates "
            + ", ".join(f"L{i + 1} {p:.3f}" for i, p in enumerate(fit.p_hat)),
            f"closest to the target {self.target:g}: level {fit.mtd}",
        ]
        if self.overdose_max is not None:
            parts.append(
                f"overdose control allows levels with Pr(p > target) ≤ {self.overdose_max:g}"
            )
        if self.restrict and nxt != fit.mtd and act != STOP_TOXIC:
            parts.append(
                f"restricted (no skipping / no escalation after a toxic cohort) to level {nxt}"
            )
        if act == STOP_TOXIC:
            parts.append(
                f"Pr(p1 > target) = {fit.p_overdose[0]:.3f} > {self.stop_threshold}: "
                "stop for toxicity"
            )
        else:
            parts.append(f"next cohort at level {nxt} (current level {d + 1})")
        details = {
            "a_hat": fit.a_hat,
            "posterior_var": fit.post_var,
            "p_hat": fit.p_hat.tolist(),
            "p_overdose": fit.p_overdose.tolist(),
            "recommended_unrestricted": fit.mtd,
            "skeleton": self.model.skeleton.tolist(),
            "n": n.tolist(),
            "y": y.tolist(),
        }
        return "; ".join(parts), details
