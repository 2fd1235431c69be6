"""Vectorised least-squares fitting of many time-activity curves at once.

One call fits B curves (voxels, regions or patients): the Levenberg–Marquardt iterations run per
curve in compiled code (:mod:`radiotrial.kinetics._lm`, numba, the batch split over the CPU
cores), so there is no Python loop over curves; covariance, TIA and model choice are then
computed for the whole batch with numpy. Starting points come from a variable-projection grid:
for each combination of candidate rates the amplitudes are linear and solved in closed form,
and the best combination per curve starts the nonlinear fit.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.kinetics._lm import fit_batch
from radiotrial.kinetics._models import LN2, MODELS, ExpModel, get_model
from radiotrial.kinetics._result import FitParameter, TacFit
from radiotrial.kinetics._validate import FitWarning, check_activities, check_sigma, check_times
from radiotrial.nuclides import get_nuclide

__all__ = ["ModelFits", "TacFitBatch", "Weighting", "aicc", "fit_tac", "fit_tacs"]

F64 = npt.NDArray[np.float64]
Weighting = Literal["relative", "poisson", "uniform"]

DEFAULT_CANDIDATES: Final = ("mono", "mono_uptake", "bi", "bi_uptake", "tri")
_PHI_LO_REL: Final = 1e-7  # smallest rate increment, relative to λ_p (≈ the physical bound)
_RATE_MAX_PER_H: Final = 200.0  # no biological process of interest is faster (T½ ≈ 12 s)
_AT_BOUND_REL: Final = 1e-4


@dataclass(frozen=True)
class ModelFits:
    """Fits of one model to every curve of a batch (arrays over the batch axis B).

    Attributes
    ----------
    params : (B, P) ndarray
        Natural parameters (amplitudes, rates in h⁻¹).
    covariance : (B, P, P) ndarray
        Parameter covariance (NaN where not estimable).
    tia, tia_sd : (B,) ndarray
        Analytic TIA and its SD (activity·h).
    chi_square : (B,) ndarray
        Weighted residual sum of squares.
    aicc : (B,) ndarray
        AICc (inf where T < P + 2).
    converged : (B,) bool ndarray
    n_iter : (B,) int ndarray
    at_bound : (B, P) bool ndarray
    """

    model: ExpModel
    params: F64
    covariance: F64
    tia: F64
    tia_sd: F64
    chi_square: F64
    aicc: F64
    converged: npt.NDArray[np.bool_]
    n_iter: npt.NDArray[np.int64]
    at_bound: npt.NDArray[np.bool_]


def aicc(chi_square: F64 | float, n_points: int, n_params: int) -> F64:
    """Corrected Akaike information criterion of a least-squares fit.

    AICc = N ln(χ²/N) + 2K + 2K(K + 1)/(N − K − 1), with K the number of adjustable model
    parameters; +inf where N ≤ K + 1 (undefined).

    References
    ----------
    Burnham KP, Anderson DR. *Model Selection and Multimodel Inference*, 2nd ed., Springer 2002,
    §2.4. Glatting G, et al. Med Phys 2007;34:4285–4292, doi:10.1118/1.2794176 (AICc for
    biokinetic model choice).
    """
    chi = np.asarray(chi_square, dtype=np.float64)
    k = n_params
    if n_points <= k + 1:
        return np.full(chi.shape, np.inf)
    return n_points * np.log(chi / n_points) + 2 * k + 2 * k * (k + 1) / (n_points - k - 1)


# ---------------------------------------------------------------------------------------------
# starting points


def _grids(model: ExpModel, times_h: F64, lam_p: float) -> tuple[F64, npt.NDArray[np.int64], F64]:
    """Grid-start candidates: decay rates (R,), index sets (C, n) and uptake rates (G,), h⁻¹."""
    t_pos = times_h[times_h > 0]
    t_min = max(float(t_pos.min()) if t_pos.size else 1.0, 1e-3)
    t_max = max(float(times_h.max()), 1e-3)
    n = model.n_terms
    size = {1: 8 if model.uptake else 12, 2: 10, 3: 8}[n]
    # fast enough to reach e^{-50} across the sampled span: late-only data can still pin a
    # fast clearance
    span = max(t_max - float(times_h.min()), 1e-3)
    fastest = min(max(LN2 / (0.5 * t_min), 50.0 / span), _RATE_MAX_PER_H / 2)
    slowest = lam_p * 1e-3
    rates = lam_p + np.geomspace(slowest, max(fastest, slowest * 10), size)
    combos = np.array(list(itertools.combinations(range(size), n)), dtype=np.int64)
    if not model.uptake:
        return rates, combos, np.array([np.nan])
    ups = np.geomspace(LN2 / t_max, min(LN2 / (0.02 * t_min), _RATE_MAX_PER_H / 2), 5)
    return rates, combos, ups


def _bounds(model: ExpModel, y: F64, lam_p: float) -> tuple[F64, F64]:
    b = y.shape[0]
    ymax = y.max(axis=1)
    lo = np.empty((b, model.n_params))
    hi = np.empty((b, model.n_params))
    n = model.n_terms
    # amplitudes are values at t = 0: far above the data when the first scan is late
    lo[:, :n] = (np.log(ymax) - 30.0)[:, None]
    hi[:, :n] = (np.log(ymax) + 80.0)[:, None]
    lo[:, n:] = math.log(lam_p * _PHI_LO_REL)
    hi[:, n:] = math.log(_RATE_MAX_PER_H)
    return lo, hi


# ---------------------------------------------------------------------------------------------
# one model on a batch


def _fit_model(
    model: ExpModel,
    t: F64,
    y: F64,
    sw: F64,
    lam_p: float,
    *,
    absolute_sigma: bool,
    max_iter: int,
) -> ModelFits:
    n_points = y.shape[1]
    rate_grid, combos, ups = _grids(model, t, lam_p)
    lo, hi = _bounds(model, y, lam_p)
    theta, converged, n_iter = fit_batch(
        np.broadcast_to(t, y.shape),
        y,
        sw,
        model.n_terms,
        model.uptake,
        lam_p,
        rate_grid,
        combos,
        ups,
        lo,
        hi,
        max_iter,
    )
    amps, rates, lam_u = model.natural(theta, lam_p)
    tt = np.broadcast_to(t, y.shape) if t.ndim == 2 else t
    jac = model.jacobian_natural(amps, rates, lam_u, tt)
    # the model is linear in the amplitudes: f = Σ aᵢ ∂f/∂aᵢ
    value = np.einsum("btn,bn->bt", jac[:, :, : model.n_terms], amps)
    chi = np.sum(((y - value) * sw) ** 2, axis=1)
    n = model.n_terms
    # parameters pinned on a bound (no biological clearance resolved; instantaneous uptake)
    # are held fixed for the covariance, as bounded least squares does
    at_bound = np.zeros_like(theta, dtype=bool)
    at_bound[:, n:] = (np.exp(theta[:, n:]) <= lam_p * _AT_BOUND_REL) | (
        theta[:, n:] >= hi[:, n:] - 1e-6
    )
    # parameters the data cannot see (e.g. an uptake far faster than the first scan) are fixed
    params_all = np.concatenate([amps, rates] + ([lam_u[:, None]] if lam_u is not None else []), 1)
    sens = np.linalg.norm(jac * sw[:, :, None], axis=1) * np.abs(params_all)
    at_bound |= sens <= 1e-9 * np.linalg.norm(y * sw, axis=1)[:, None]
    free = ~at_bound
    jw = jac * sw[:, :, None] * free[:, None, :]
    fisher = np.einsum("btp,btq->bpq", jw, jw) + np.eye(model.n_params) * at_bound[:, None, :]
    # scale to unit diagonal before inverting: amplitudes and rates differ by many decades
    diag = np.diagonal(fisher, axis1=1, axis2=2)
    d = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    # tiny ridge: exact degeneracy (two equal rates) gives huge, not failing, variances
    scaled = fisher * d[:, :, None] * d[:, None, :] + 1e-13 * np.eye(model.n_params)
    with np.errstate(over="ignore", invalid="ignore"):
        inv = np.linalg.inv(scaled)
        inv = inv * d[:, :, None] * d[:, None, :] * free[:, :, None] * free[:, None, :]
    dof = n_points - model.n_params
    if absolute_sigma:
        s2 = np.ones(y.shape[0])
    elif dof > 0:
        s2 = chi / dof
    else:
        s2 = np.full(y.shape[0], np.nan)
    cov = inv * s2[:, None, None]
    tia, grad = model.tia_and_gradient(amps, rates, lam_u)
    var = np.einsum("bp,bpq,bq->b", grad, cov, grad)
    tia_sd = np.sqrt(np.maximum(var, 0.0))
    tia_sd[~np.isfinite(var)] = np.nan
    floor = 1e-24 * np.sum((y * sw) ** 2, axis=1)  # noise-free data: χ² → 0, keep ln finite
    crit = aicc(np.maximum(chi, floor), n_points, model.n_params)
    params = np.concatenate([amps, rates] + ([lam_u[:, None]] if lam_u is not None else []), axis=1)
    return ModelFits(model, params, cov, tia, tia_sd, chi, crit, converged, n_iter, at_bound)


# ---------------------------------------------------------------------------------------------
# model choice


def _choose(
    fits: dict[str, ModelFits], y: F64, n_points: int, max_tia_cv: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_]]:
    """Per-curve model index into ``list(fits)`` and the rule that chose it.

    Rule (documented in :func:`fit_tacs`):

    1. among models with N ≥ P + 2, the smallest AICc (non-converged fits, and fits whose TIA
       relative SD exceeds ``max_tia_cv``, excluded);
    2. where the data rise after the first point (an uptake phase is visible) but the choice has
       no uptake term, the uptake model with the smallest AICc, or if none is AICc-eligible the
       simplest uptake model with at most N − 1 parameters (N when N ≤ 3);
    3. where no model is AICc-eligible (N ≤ 3): mono-exponential, or rule 2.
    """
    names = list(fits)
    b = y.shape[0]

    def acceptable(f: ModelFits) -> npt.NDArray[np.bool_]:
        # an extrapolation the data do not support (e.g. a huge fast component pinned by one
        # point) shows up as a TIA SD far above the TIA; NaN (no dof) cannot be judged
        with np.errstate(invalid="ignore"):
            bad_cv = f.tia_sd > max_tia_cv * f.tia
        return f.converged & ~bad_cv

    crit = np.stack([np.where(acceptable(fits[m]), fits[m].aicc, np.inf) for m in names], axis=1)
    eligible = np.array([n_points >= MODELS[m].n_params + 2 for m in names])
    choice = np.full(b, -1, dtype=np.int64)
    rule = np.full(b, "aicc", dtype="<U12")
    if eligible.any():
        masked = np.where(eligible[None, :], crit, np.inf)
        has = np.isfinite(masked).any(axis=1)
        choice[has] = np.argmin(masked[has], axis=1)
    allowed = n_points if n_points <= 3 else n_points - 1
    uptake_ok = [
        i for i, m in enumerate(names) if MODELS[m].uptake and MODELS[m].n_params <= allowed
    ]
    no_uptake_ok = [
        i for i, m in enumerate(names) if not MODELS[m].uptake and MODELS[m].n_params <= n_points
    ]
    rising = np.argmax(y, axis=1) > 0
    is_uptake = np.array([MODELS[m].uptake for m in names])
    need_uptake = rising & ((choice < 0) | ~is_uptake[np.maximum(choice, 0)])
    if uptake_ok and need_uptake.any():
        elig_up = [i for i in uptake_ok if eligible[i]]
        if elig_up:
            sub = crit[:, elig_up]
            pick = np.array(elig_up)[np.argmin(sub, axis=1)]
            finite = np.isfinite(sub).any(axis=1)
        else:
            simplest = min(uptake_ok, key=lambda i: MODELS[names[i]].n_params)
            pick = np.full(b, simplest)
            finite = np.ones(b, dtype=bool)
        sel = need_uptake & finite
        choice[sel] = pick[sel]
        rule[sel] = "uptake-shape"
    missing = choice < 0
    if missing.any():
        if not no_uptake_ok and not uptake_ok:
            raise ValidationError(
                "models", names, f"no candidate model fits {n_points} time points"
            )
        simplest = min(no_uptake_ok or uptake_ok, key=lambda i: MODELS[names[i]].n_params)
        choice[missing] = simplest
        rule[missing] = "few-points"
    return choice, rule


# ---------------------------------------------------------------------------------------------
# public API


@dataclass(frozen=True)
class TacFitBatch:
    """Fits of B curves: per-model arrays plus the per-curve choice.

    Attributes
    ----------
    times_h : (T,) or (B, T) ndarray
    activity_mbq, sigma_mbq : (B, T) ndarray
    fits : dict[str, ModelFits]
        Every fitted candidate model.
    choice : (B,) int ndarray
        Index into ``model_names`` of the model used for each curve.
    selection_rule : (B,) str ndarray
    tia_mbq_h, tia_sd_mbq_h : (B,) ndarray
        TIA and SD of the chosen model per curve.
    """

    times_h: F64
    activity_mbq: F64
    sigma_mbq: F64
    weighting: str
    nuclide: str
    fits: dict[str, ModelFits]
    choice: npt.NDArray[np.int64]
    selection_rule: npt.NDArray[np.str_]
    tia_mbq_h: F64
    tia_sd_mbq_h: F64
    covariance_estimable: bool
    absolute_sigma: bool

    @property
    def model_names(self) -> tuple[str, ...]:
        """Names of the fitted candidate models, in the order ``choice`` indexes."""
        return tuple(self.fits)

    @property
    def chosen_models(self) -> npt.NDArray[np.str_]:
        """(B,) model name per curve."""
        return np.array(self.model_names)[self.choice]

    @property
    def converged(self) -> npt.NDArray[np.bool_]:
        """(B,) whether the chosen fit converged."""
        conv = np.stack([f.converged for f in self.fits.values()], axis=1)
        return conv[np.arange(len(self)), self.choice]

    def __len__(self) -> int:
        return int(self.activity_mbq.shape[0])

    def _sigma(self, i: int, mf: ModelFits, dof: int) -> F64:
        # relative/poisson/uniform weights carry a scale estimated from the residuals
        row: F64 = np.array(self.sigma_mbq[i], dtype=np.float64)
        if self.absolute_sigma:
            return row
        scale = math.sqrt(float(mf.chi_square[i]) / dof) if dof > 0 else math.nan
        scaled: F64 = row * scale
        return scaled

    def __getitem__(self, i: int) -> TacFit:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i = i % len(self)
        name = self.model_names[int(self.choice[i])]
        mf = self.fits[name]
        model = mf.model
        n = model.n_terms
        t = self.times_h if self.times_h.ndim == 1 else self.times_h[i]
        lam_p = LN2 / get_nuclide(self.nuclide).half_life("h")
        cov = mf.covariance[i]
        se = np.sqrt(np.maximum(np.diag(cov), 0.0))
        values = mf.params[i]
        params: dict[str, FitParameter] = {}
        for j, pname in enumerate(model.param_names):
            if j < n:
                lower, upper, unit = 0.0, math.inf, "MBq"
            else:
                lower = lam_p if j == n else float(values[j - 1])
                upper, unit = _RATE_MAX_PER_H, "1/h"
            params[pname] = FitParameter(
                pname, float(values[j]), float(se[j]), unit, lower, upper, bool(mf.at_bound[i, j])
            )
        notes: list[str] = []
        dof = int(t.size - model.n_params)
        if not np.isfinite(mf.tia_sd[i]):
            notes.append(
                "covariance not estimable: no residual degrees of freedom without absolute "
                "uncertainties (pass sigma_mbq), or a singular information matrix"
            )
        if mf.at_bound[i, n]:
            notes.append(
                f"slowest rate at the physical-decay bound of {self.nuclide} (no biological "
                "clearance resolved); held fixed for the covariance"
            )
        if model.uptake and mf.at_bound[i, -1]:
            notes.append(
                "uptake faster than the first time point resolves; its rate is held fixed for "
                "the covariance (TIA is insensitive to it)"
            )
        if not mf.converged[i]:
            notes.append("Levenberg–Marquardt did not converge within max_iter")
        rule = str(self.selection_rule[i])
        if rule == "few-points":
            notes.append(f"{t.size} points: too few for AICc; simplest model used")
        elif rule == "uptake-shape":
            notes.append("data rise after the first point: an uptake model was used")
        return TacFit(
            model=name,
            params=params,
            covariance=cov.copy(),
            tia_mbq_h=float(mf.tia[i]),
            tia_sd_mbq_h=float(mf.tia_sd[i]),
            times_h=np.array(t),
            activity_mbq=self.activity_mbq[i].copy(),
            sigma_mbq=self._sigma(i, mf, dof),
            weighting=self.weighting,
            chi_square=float(mf.chi_square[i]),
            dof=dof,
            aicc=float(mf.aicc[i]),
            aicc_by_model={m: float(f.aicc[i]) for m, f in self.fits.items()},
            converged=bool(mf.converged[i]),
            n_iter=int(mf.n_iter[i]),
            nuclide=self.nuclide,
            selection_rule=rule,
            notes=tuple(notes),
        )


def fit_tacs(
    times_h: npt.ArrayLike,
    activity_mbq: npt.ArrayLike,
    *,
    model: str = "auto",
    candidates: tuple[str, ...] = DEFAULT_CANDIDATES,
    nuclide: str = "Lu-177",
    sigma_mbq: npt.ArrayLike | None = None,
    absolute_sigma: bool = True,
    weighting: Weighting = "relative",
    max_iter: int = 200,
    max_tia_cv: float = 0.5,
) -> TacFitBatch:
    """Fit sum-of-exponentials models to B time-activity curves in one vectorised call.

    Parameters
    ----------
    times_h : (T,) or (B, T) array_like
        Times after injection, h; finite, ≥ 0, strictly increasing. 1 ≤ T ≤ any.
    activity_mbq : (T,) or (B, T) array_like
        Activity (MBq, or any activity unit: the TIA is then in that unit × h), > 0.
    model : str
        ``"auto"`` (choose per curve, see Notes) or one of ``mono``, ``mono_uptake``, ``bi``,
        ``bi_uptake``, ``tri``, ``tri_uptake``.
    candidates : tuple of str
        Models considered by ``"auto"``.
    nuclide : str
        Nuclide whose physical decay constant is the lower bound of every decay rate.
    sigma_mbq : array_like, optional
        Absolute 1-SD uncertainty of each activity, broadcastable to (B, T) (e.g. from the
        calibration, recovery and count statistics per Gear et al. 2018). When given, weights
        are 1/σ² and, with ``absolute_sigma``, the covariance is not rescaled by the residuals.
    absolute_sigma : bool
        With ``sigma_mbq``: True, σ is the absolute 1-SD (s² = 1); False, σ gives relative
        weights only and the covariance is scaled by χ²/(T − P), as scipy's ``curve_fit``
        does (useful where the shape of the uncertainty is known but not its size).
    weighting : {"relative", "poisson", "uniform"}
        Without ``sigma_mbq``: σ ∝ A (constant coefficient of variation, the usual model of
        quantitative SPECT), σ ∝ √A, or σ = const; the scale is estimated from the residuals.
    max_iter : int
        Levenberg–Marquardt iteration limit.
    max_tia_cv : float
        ``"auto"`` only: candidate fits whose TIA relative SD exceeds this are not eligible
        (their extrapolation is not supported by the data).

    Returns
    -------
    TacFitBatch
        Per-curve fits; ``batch[i]`` is a :class:`TacFit` with a printable ``report()``.

    Raises
    ------
    ValidationError
        Times not increasing or before injection, activities ≤ 0 or not finite, fewer points
        than the requested model's parameters, a single time point (use
        :func:`hanscheid_tia` or :func:`madsen_tia`), unknown model.

    Warns
    -----
    FitWarning
        Some fits did not converge, or the covariance cannot be estimated (T = P without
        ``sigma_mbq``); the affected results say so in ``notes`` and carry NaN SDs.

    Notes
    -----
    Models: A(t) = Σᵢ aᵢ (e^{−λᵢt} − u·e^{−λ_u t}) with λ_p ≤ λ₁ < … < λₙ < λ_u (λ_p the
    physical decay constant, u = 1 for uptake models). TIA = Σᵢ aᵢ (1/λᵢ − u/λ_u).

    Covariance: C = s² (JᵀWJ)⁻¹ with J the Jacobian in the natural parameters at the optimum,
    W = diag(1/σ²), s² = χ²/(T − P) unless σ is absolute (s² = 1). SD(TIA)² = ∇TIAᵀ C ∇TIA
    (first-order law of propagation of uncertainty, EANM guidance, Gear et al. 2018).

    Automatic choice (few time points): models with T ≥ P + 2 whose fit converged and whose
    TIA relative SD is ≤ ``max_tia_cv`` are ranked by AICc (K = P), in the spirit of the
    goodness-of-fit criteria of Kletting et al. 2013; where the data rise after the first
    point and the choice has no uptake term, the best uptake model is used instead
    (AICc-eligible, else the simplest with ≤ T − 1 parameters, ≤ T when T ≤ 3); with T ≤ 3
    and falling data the mono-exponential is used. Two points give an exact mono-exponential;
    one point is refused.

    References
    ----------
    Gear JI, et al. EANM practical guidance on uncertainty analysis for molecular radiotherapy
    absorbed dose calculations. Eur J Nucl Med Mol Imaging 2018;45:2456–2474,
    doi:10.1007/s00259-018-4136-7.
    Kletting P, et al. Optimized selection of fit functions for biokinetic modelling. Med Phys
    2013;40:102504, doi:10.1118/1.4820367.
    Moré JJ. The Levenberg–Marquardt algorithm: implementation and theory. Lecture Notes in
    Mathematics 630, Springer 1978, doi:10.1007/BFb0067700.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([4.0, 24.0, 72.0, 168.0])
    >>> a = 100 * np.exp(-np.log(2) / 50 * t)
    >>> fit = fit_tacs(t, a, model="mono")[0]
    >>> round(fit.tia_mbq_h / (100 * 50 / np.log(2)), 6)
    1.0
    """
    t = check_times(times_h)
    n_points = t.shape[-1]
    y = check_activities(activity_mbq, n_points)
    if t.ndim == 2 and t.shape[0] != y.shape[0]:
        raise ValidationError("times_h", t.shape, f"per-curve times need {y.shape[0]} rows")
    if n_points < 2:
        raise ValidationError(
            "times_h",
            t.tolist(),
            "one time point cannot be fitted; use hanscheid_tia() or madsen_tia() "
            "(single-time-point methods)",
        )
    nuc = get_nuclide(nuclide)
    lam_p = LN2 / nuc.half_life("h")
    sig = check_sigma(sigma_mbq, y.shape, name="sigma_mbq")
    if not max_tia_cv > 0:
        raise ValidationError("max_tia_cv", max_tia_cv, "must be > 0")
    if weighting not in ("relative", "poisson", "uniform"):
        raise ValidationError("weighting", weighting, "use 'relative', 'poisson' or 'uniform'")
    if sig is not None:
        sigma, absolute, wname = sig, bool(absolute_sigma), "sigma"
    elif weighting == "relative":
        sigma, absolute, wname = y.copy(), False, weighting
    elif weighting == "poisson":
        sigma, absolute, wname = np.sqrt(y * y.max(axis=1, keepdims=True)), False, weighting
    else:
        sigma, absolute, wname = (
            np.broadcast_to(y.max(axis=1, keepdims=True), y.shape).copy(),
            False,
            weighting,
        )
    sw = 1.0 / sigma

    if model == "auto":
        for c in candidates:
            get_model(c)
        allowed = n_points if n_points <= 3 else n_points - 1
        names = [
            c
            for c in candidates
            if n_points >= MODELS[c].n_params + 2
            or (MODELS[c].n_params <= allowed and (MODELS[c].uptake or MODELS[c].n_terms == 1))
        ]
        # keep only the simplest uptake model among the non-AICc-eligible fallbacks
        fallback_up = [c for c in names if n_points < MODELS[c].n_params + 2 and MODELS[c].uptake]
        if fallback_up:
            keep = min(fallback_up, key=lambda c: MODELS[c].n_params)
            names = [c for c in names if c not in fallback_up or c == keep]
        if not names:
            raise ValidationError(
                "candidates", candidates, f"none can be fitted to {n_points} points"
            )
    else:
        m = get_model(model)
        if m.n_params > n_points:
            raise ValidationError(
                "model",
                model,
                f"{m.n_params} parameters but only {n_points} time points; "
                "use a simpler model or model='auto'",
            )
        names = [model]

    fits = {
        name: _fit_model(MODELS[name], t, y, sw, lam_p, absolute_sigma=absolute, max_iter=max_iter)
        for name in names
    }
    if model == "auto":
        choice, rule = _choose(fits, y, n_points, max_tia_cv)
    else:
        choice = np.zeros(y.shape[0], dtype=np.int64)
        rule = np.full(y.shape[0], "requested", dtype="<U12")
    tia = np.stack([f.tia for f in fits.values()], axis=1)[np.arange(y.shape[0]), choice]
    sd = np.stack([f.tia_sd for f in fits.values()], axis=1)[np.arange(y.shape[0]), choice]
    conv = np.stack([f.converged for f in fits.values()], axis=1)[np.arange(y.shape[0]), choice]
    n_bad = int(np.count_nonzero(~conv))
    if n_bad:
        warnings.warn(
            f"{n_bad} of {y.shape[0]} TAC fits did not converge in {max_iter} iterations; "
            "see each result's notes",
            FitWarning,
            stacklevel=2,
        )
    n_nan = int(np.count_nonzero(~np.isfinite(sd)))
    if n_nan:
        warnings.warn(
            f"TIA SD not estimable for {n_nan} of {y.shape[0]} curves (no residual degrees of "
            "freedom without sigma_mbq, or singular information matrix); their SD is NaN",
            FitWarning,
            stacklevel=2,
        )
    return TacFitBatch(
        times_h=t,
        activity_mbq=y,
        sigma_mbq=sigma,
        absolute_sigma=absolute,
        weighting=wname,
        nuclide=nuc.name,
        fits=fits,
        choice=choice,
        selection_rule=rule,
        tia_mbq_h=tia,
        tia_sd_mbq_h=sd,
        covariance_estimable=n_nan == 0,
    )


def fit_tac(
    times_h: npt.ArrayLike,
    activity_mbq: npt.ArrayLike,
    *,
    model: str = "auto",
    candidates: tuple[str, ...] = DEFAULT_CANDIDATES,
    nuclide: str = "Lu-177",
    sigma_mbq: npt.ArrayLike | None = None,
    absolute_sigma: bool = True,
    weighting: Weighting = "relative",
    max_iter: int = 200,
    max_tia_cv: float = 0.5,
) -> TacFit:
    """Fit one time-activity curve; see :func:`fit_tacs` for parameters and the method.

    Examples
    --------
    >>> fit = fit_tac([4, 24, 72, 168], [80.0, 70.0, 40.0, 11.0], model="mono")
    >>> fit.model, fit.params["lambda1_per_h"].unit
    ('mono', '1/h')
    """
    a = np.asarray(activity_mbq, dtype=np.float64)
    if a.ndim != 1:
        raise ValidationError("activity_mbq", a.shape, "fit_tac takes one curve (T,); use fit_tacs")
    batch = fit_tacs(
        times_h,
        a,
        model=model,
        candidates=candidates,
        nuclide=nuclide,
        sigma_mbq=None
        if sigma_mbq is None
        else np.asarray(sigma_mbq, dtype=np.float64)[None, ...]
        if np.ndim(sigma_mbq) == 1
        else sigma_mbq,
        absolute_sigma=absolute_sigma,
        weighting=weighting,
        max_iter=max_iter,
        max_tia_cv=max_tia_cv,
    )
    return batch[0]
