"""Time-to-event designs for late-onset DLTs: TITE-CRM and TITE-BOIN.

Radioligand toxicity (marrow, kidney) can appear weeks after administration, so a DLT window
of one cycle (≥ 6 weeks) leaves patients pending when the next cohort is due.

TITE-CRM (Cheung & Chappell 2000; dfcrm ``titecrm``): a patient without DLT who has been
followed for u of a window W contributes 1 − w·F(d, a) to the likelihood, with the *linear*
weight w = min(u/W, 1) or the *adaptive* weight of Cheung & Chappell (the empirical distribution
of the observed DLT times, as dfcrm computes it); DLT patients weigh 1. The recommended level
is limited to one above the current level (dfcrm ``titesim`` ``restrict``). Accrual suspension
(options, off by default as in dfcrm ``titesim``): accrual is held while more than
``max_pending`` of the patients at the current level are pending, and an escalation waits until
``min_complete`` patients at the current level have completed their window.

TITE-BOIN (Yuan et al. 2018; Lin & Yuan 2020): at the current level with n patients, y
observed DLTs and m pending patients, the DLT rate is estimated by
p̂ = y / (n − m + STFT), STFT = Σ_pending u_i/W (uniform prior on the DLT time within the
window), and compared with BOIN's λe, λd. Rules, in order:

1. elimination on observed data (pending counted as no DLT so far) as in BOIN; if the current
   level is eliminated, go to the highest level below it, or stop if none;
2. if y/n ≥ λd even counting every pending patient as DLT-free, de-escalate now;
3. accrual is suspended while more than ``max_pending`` (default 50%) of the patients at the
   current level are pending;
4. escalation needs at least 3 patients with complete DLT assessment at the current level
   (else accrual is suspended until it does);
5. otherwise escalate / stay / de-escalate on p̂ as BOIN.

Both designs stop at the maximum sample size (cohort_size × max_cohorts) as BOIN does; the
final MTD is selected on complete data by BOIN's isotonic rule (TITE-BOIN) or by the CRM
recommendation (TITE-CRM), so while patients are still pending at the stop the decision names
no MTD yet. A suspension is its own decision (``action="suspend"``,
``accrual_suspended=True``, ``next_level`` the level at which accrual resumes); ``next_level``
is ``None`` only when the trial stops.

References
----------
Cheung YK, Chappell R. Sequential designs for phase I clinical trials with late-onset
toxicities. Biometrics 2000;56:1177–1182, doi:10.1111/j.0006-341X.2000.01177.x.
Yuan Y, Lin R, Li D, Nie L, Warren KE. Time-to-event Bayesian optimal interval design to
accelerate phase I trials. Clin Cancer Res 2018;24:4921–4930, doi:10.1158/1078-0432.CCR-18-0246.
(the TITE-BOIN paper; its rules are followed here, not a reference implementation)
Lin R, Yuan Y. Time-to-event model-assisted designs for dose-finding trials with delayed
toxicity. Biostatistics 2020;21:807–824, doi:10.1093/biostatistics/kxz007.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numba
import numpy as np
import numpy.typing as npt

from radiotrial.errors import ValidationError
from radiotrial.escalation._boin import boin_boundaries
from radiotrial.escalation._crm import CrmModel
from radiotrial.escalation._engine import (
    Decision,
    FloatArray,
    IntArray,
    OperatingCharacteristics,
    SimulatedTrials,
    check_state_fits,
    summarise,
    tolerances,
)
from radiotrial.escalation._state import TrialState
from radiotrial.escalation._validation import (
    check_cohort_size,
    check_levels,
    check_positive_int,
    check_probability,
    check_start_level,
    check_target,
    check_truth,
    check_window,
)

__all__ = ["TiteBoinDesign", "TiteCrmDesign", "TiteSettings", "tite_weights"]

Scheme = Literal["linear", "adaptive"]


def tite_weights(
    followup: npt.ArrayLike, tox: npt.ArrayLike, window: float, *, scheme: Scheme = "linear"
) -> FloatArray:
    """TITE-CRM weights, as dfcrm ``titecrm``.

    Parameters
    ----------
    followup : (N,) array_like
        Follow-up of each patient (time to DLT for DLT patients), same unit as ``window``.
    tox : (N,) array_like of {0, 1}
    window : float
        DLT observation window W.
    scheme : {"linear", "adaptive"}

    Returns
    -------
    (N,) ndarray
        Weights in [0, 1]; 1 for DLT patients.

    Notes
    -----
    Linear: w = min(u/W, 1). Adaptive, with z observed DLT times t_(1) ≤ … ≤ t_(z) and m the
    number of them ≤ u: w = u/(t_(1)(z+1)) if m = 0; (z + (u − t_(z))/(W − t_(z)))/(z+1) if
    m = z; else (m + (u − t_(m))/(t_(m+1) − t_(m)))/(z+1); linear when z = 0.
    """
    u = np.asarray(followup, dtype=np.float64)
    y = np.asarray(tox, dtype=np.float64)
    if not window > 0:
        raise ValidationError("window", window, "the DLT window must be > 0")
    if scheme == "linear":
        w = u / window
    elif scheme == "adaptive":
        support = np.sort(u[y == 1])
        z = support.size
        if z == 0:
            w = u / window
        else:
            w = np.empty_like(u)
            for i, ui in enumerate(u):
                m = int(np.sum(support <= ui))
                if m == 0:
                    w[i] = ui / support[0] / (z + 1)
                elif m == z:
                    w[i] = (z + (ui - support[z - 1]) / (window - support[z - 1])) / (z + 1)
                else:
                    w[i] = (m + (ui - support[m - 1]) / (support[m] - support[m - 1])) / (z + 1)
    else:
        raise ValidationError("scheme", scheme, "use 'linear' or 'adaptive'")
    w = np.minimum(w, 1.0)
    out: FloatArray = np.where(y == 1, 1.0, np.maximum(w, 0.0))
    return out


@dataclass(frozen=True)
class TiteSettings:
    """Accrual and DLT-time model for simulating time-to-event designs.

    Parameters
    ----------
    window : float
        DLT window W (days; a radioligand cycle, e.g. 42).
    accrual_per_window : float
        Patients arriving per window (fixed inter-arrival W / rate, as dfcrm ``accrual="fixed"``).
    """

    window: float = 42.0
    accrual_per_window: float = 3.0

    def __post_init__(self) -> None:
        if not self.window > 0:
            raise ValidationError("window", self.window, "must be > 0")
        if not self.accrual_per_window > 0:
            raise ValidationError("accrual_per_window", self.accrual_per_window, "must be > 0")

    @property
    def interarrival(self) -> float:
        return self.window / self.accrual_per_window


@numba.njit(cache=True)
def _status(arr, tox, tdlt, count, tau, w):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Per patient at time tau: observed DLT, complete, follow-up (capped at w)."""
    obs = np.zeros(count, np.bool_)
    comp = np.zeros(count, np.bool_)
    fu = np.zeros(count)
    for i in range(count):
        el = tau - arr[i]
        if tox[i] and arr[i] + tdlt[i] <= tau:
            obs[i] = True
            comp[i] = True
            fu[i] = tdlt[i]
        elif el >= w:
            comp[i] = True
            fu[i] = w
        else:
            fu[i] = max(el, 0.0)
    return obs, comp, fu


@numba.njit(cache=True)
def _boin_rule(  # type: ignore[no-untyped-def]  # pragma: no cover
    d, lev, obs, comp, fu, count, k, w, lam_e, lam_d, elim_min, max_pending
):
    """TITE-BOIN decision at the current level d. Returns (next level, code):
    code 0 escalate, 1 stay, 2 de-escalate, 3 stop (toxic), 6 suspend."""
    # elimination on observed data
    first = k
    for lv in range(k):
        nn = 0
        yy = 0
        for i in range(count):
            if lev[i] == lv:
                nn += 1
                if obs[i]:
                    yy += 1
        if nn >= 3 and elim_min[nn - 1] >= 0 and yy >= elim_min[nn - 1]:
            first = lv
            break
    if d >= first:
        if first == 0:
            return 0, 3
        return first - 1, 2
    n = 0
    y = 0
    m = 0
    stft = 0.0
    for i in range(count):
        if lev[i] == d:
            n += 1
            if obs[i]:
                y += 1
            elif not comp[i]:
                m += 1
                stft += fu[i] / w
    if n == 0:
        return d, 1
    if y / n >= lam_d:
        if d > 0:
            return d - 1, 2
        if m > 0:
            return d, 6
        return d, 1
    if m > max_pending * n:
        return d, 6
    ess = n - m + stft
    phat = y / ess if ess > 0 else 0.0
    if phat <= lam_e:
        if m > 0 and n - m < 3:
            return d, 6
        if d < k - 1 and d + 1 < first:
            return d + 1, 0
        return d, 1
    if phat >= lam_d:
        if d > 0:
            return d - 1, 2
        return d, 1
    return d, 1


@numba.njit(cache=True)
def _next_event(arr, tox, tdlt, lev, d, count, tau, w):  # type: ignore[no-untyped-def]  # pragma: no cover
    """Earliest time after tau when a pending patient at level d completes or has a DLT."""
    best = np.inf
    for i in range(count):
        if lev[i] != d:
            continue
        t = arr[i] + tdlt[i] if tox[i] else arr[i] + w
        if t > tau and t < best:
            best = t
    return best


@numba.njit(cache=True)
def _crm_rec(  # type: ignore[no-untyped-def]  # pragma: no cover
    lev, obs, fu, count, k, w, lf, l1f, f, logprior, grid, gw, target, adaptive
):
    """TITE-CRM recommendation (0-based) from patient data."""
    g = grid.size
    ll = logprior.copy()
    # adaptive weights use the sorted observed DLT times
    z = 0
    for i in range(count):
        if obs[i]:
            z += 1
    sup = np.empty(z)
    j = 0
    for i in range(count):
        if obs[i]:
            sup[j] = fu[i]
            j += 1
    sup.sort()
    for i in range(count):
        lv = lev[i]
        if obs[i]:
            for q in range(g):
                ll[q] += lf[lv, q]
            continue
        u = fu[i]
        if adaptive and z > 0:
            m = 0
            for s in range(z):
                if sup[s] <= u:
                    m += 1
            if m == 0:
                wt = u / sup[0] / (z + 1)
            elif m == z:
                wt = (z + (u - sup[z - 1]) / (w - sup[z - 1])) / (z + 1)
            else:
                wt = (m + (u - sup[m - 1]) / (sup[m] - sup[m - 1])) / (z + 1)
        else:
            wt = u / w
        wt = min(max(wt, 0.0), 1.0)
        if wt >= 1.0:
            for q in range(g):
                ll[q] += l1f[lv, q]
        elif wt > 0.0:
            for q in range(g):
                ll[q] += math.log1p(-wt * f[lv, q])
    mx = ll.max()
    num = 0.0
    den = 0.0
    for q in range(g):
        p = math.exp(max(ll[q] - mx, -700.0)) * gw[q]
        num += p * grid[q]
        den += p
    return num / den


@numba.njit(cache=True)
def _simulate_tite(  # type: ignore[no-untyped-def]  # pragma: no cover
    kind,
    u,
    v,
    ptox,
    k,
    c,
    ncoh,
    start,
    w,
    delta,
    lam_e,
    lam_d,
    elim_min,
    max_pending,
    lf,
    l1f,
    f,
    logprior,
    grid,
    gw,
    skel_model,
    target,
    adaptive,
    skel,
    xs,
    intercept,
    min_complete,
    n_out,
    y_out,
    lev_out,
    dlt_out,
    stop_out,
    dur_out,
    susp_out,
):
    """Simulate TITE trials (kind 0: TITE-BOIN, 1: TITE-CRM) one by one (compiled)."""
    t_count = u.shape[0]
    npts = c * ncoh
    for t in range(t_count):
        arr = np.zeros(npts)
        lev = np.zeros(npts, np.int64)
        tox = np.zeros(npts, np.bool_)
        tdlt = np.zeros(npts)
        d = start
        tau = 0.0
        count = 0
        stopped = False
        nsusp = 0
        for coh in range(ncoh):
            for j in range(c):
                arr[count] = tau + j * delta
                lev[count] = d
                tox[count] = u[t, count] < ptox[d]
                tdlt[count] = v[t, count] * w
                count += 1
            if coh == ncoh - 1:
                break
            tau = arr[count - 1] + delta
            while True:
                obs, comp, fu = _status(arr, tox, tdlt, count, tau, w)
                if kind == 0:
                    nd, code = _boin_rule(
                        d, lev, obs, comp, fu, count, k, w, lam_e, lam_d, elim_min, max_pending
                    )
                    suspend = code == 6
                    stopped = code == 3
                else:
                    ahat = _crm_rec(
                        lev, obs, fu, count, k, w, lf, l1f, f, logprior, grid, gw, target, adaptive
                    )
                    best = 0
                    bestd = np.inf
                    allb = True
                    alla = True
                    for q in range(k):
                        if skel_model == 0:
                            p = skel[q] ** math.exp(ahat)
                        else:
                            p = 1.0 / (1.0 + math.exp(-(intercept + math.exp(ahat) * xs[q])))
                        if p > target:
                            allb = False
                        if p < target:
                            alla = False
                        if abs(p - target) < bestd:
                            bestd = abs(p - target)
                            best = q
                    if allb:
                        best = k - 1
                    elif alla:
                        best = 0
                    nd = min(best, d + 1)
                    n_here = 0
                    m_here = 0
                    for i in range(count):
                        if lev[i] == d:
                            n_here += 1
                            if not comp[i]:
                                m_here += 1
                    suspend = m_here > max_pending * n_here or (
                        nd > d and n_here - m_here < min_complete
                    )
                if suspend:  # wait for the next completion or DLT at the current level
                    nsusp += 1
                    nt = _next_event(arr, tox, tdlt, lev, d, count, tau, w)
                    if not np.isfinite(nt):
                        break
                    tau = nt
                    continue
                d = nd
                break
            if stopped:
                break
        for i in range(count):
            n_out[t, lev[i]] += 1
            if tox[i]:
                y_out[t, lev[i]] += 1
            lev_out[t, i] = lev[i]
            dlt_out[t, i] = tox[i]
        stop_out[t] = stopped
        dur_out[t] = arr[count - 1] + w
        susp_out[t] = nsusp


class _TiteBase(abc.ABC):
    name: str
    n_levels: int
    cohort_size: int
    max_cohorts: int
    start_level: int
    target: float

    window: float
    # each design: (truth, settings, n_trials, seed, u) -> operating characteristics
    _simulate_oc: Callable[..., OperatingCharacteristics]

    @property
    def max_patients(self) -> int:
        return self.cohort_size * self.max_cohorts

    def _check_state(self, state: TrialState) -> None:
        check_state_fits(state, self.n_levels, self.max_patients)

    def _full(self, state: TrialState) -> bool:
        """No room for another cohort within the maximum sample size (BOIN's stopping rule)."""
        return len(state.patients) + self.cohort_size > self.max_patients

    def _stop_at_max(self, state: TrialState, observed: str, details: dict[str, Any]) -> Decision:
        """Stop at the maximum sample size; the MTD once no patient is pending."""
        pending = state.n_pending
        why = (
            f"{observed}; the maximum sample size ({self.max_patients}) is reached, so accrual ends"
        )
        if pending:
            why += f"; the MTD is selected when the {pending} pending patients complete the window"
            return Decision(self.name, "stop", None, why, None, details)
        mtd = self._final_mtd(state)
        why += f"; MTD = level {mtd}" if mtd else "; no level is selected as MTD"
        return Decision(self.name, "stop", None, why, mtd, details)

    @abc.abstractmethod
    def _final_mtd(self, state: TrialState) -> int | None:
        """1-based MTD from complete data (every patient's window closed)."""

    def _suspend(self, level: int, why: str, details: dict[str, Any]) -> Decision:
        return Decision(self.name, "suspend", level + 1, why, None, details, accrual_suspended=True)

    def simulate(
        self,
        truth: npt.ArrayLike,
        *,
        settings: TiteSettings | None = None,
        n_trials: int = 2000,
        seed: int | None = 1,
        u: FloatArray | None = None,
    ) -> OperatingCharacteristics:
        """Simulated operating characteristics; the final MTD is selected on complete data.

        Parameters
        ----------
        truth : (K,) array_like
            True DLT probability of each level.
        settings : TiteSettings, optional
            DLT window and accrual (default: the design's window).
        n_trials : int
            Simulated trials (ignored when ``u`` is given).
        seed : int or None
            Seed of the tolerances and DLT times.
        u : (T, max_patients) ndarray, optional
            Common tolerances shared with other designs.
        """
        st = settings or TiteSettings(window=self.window)
        return self._simulate_oc(truth, st, n_trials, seed, u)

    def _simulate(
        self,
        kind: int,
        truth: npt.ArrayLike,
        settings: TiteSettings,
        n_trials: int,
        seed: int | None,
        u: FloatArray | None,
        extra_args: tuple[Any, ...],
    ) -> tuple[SimulatedTrials, FloatArray, IntArray, npt.NDArray[np.bool_]]:
        p = check_truth(truth)
        if p.size != self.n_levels:
            raise ValidationError(
                "truth", p.tolist(), f"needs one probability per level ({self.n_levels})"
            )
        if u is None:
            check_positive_int(n_trials, name="n_trials", minimum=2)
            u = tolerances(n_trials, self.max_patients, seed)
        t_count = u.shape[0]
        # DLT times come from a second stream so that tolerances stay common across designs
        v = np.random.default_rng(None if seed is None else seed + 7919).random(
            (t_count, self.max_patients)
        )
        k = self.n_levels
        n = np.zeros((t_count, k), np.int64)
        y = np.zeros((t_count, k), np.int64)
        lev = np.full((t_count, self.max_patients), -1, np.int64)
        dlt = np.zeros((t_count, self.max_patients), np.bool_)
        stop = np.zeros(t_count, np.bool_)
        dur = np.zeros(t_count)
        susp = np.zeros(t_count, np.int64)
        _simulate_tite(  # type: ignore[call-arg]
            kind,
            np.ascontiguousarray(u),
            v,
            p,
            k,
            self.cohort_size,
            self.max_cohorts,
            self.start_level,
            settings.window,
            settings.interarrival,
            *extra_args,
            n,
            y,
            lev,
            dlt,
            stop,
            dur,
            susp,
        )
        sel = np.full(t_count, -1, np.int64)
        return SimulatedTrials(sel, n, y, lev, dlt), dur, susp, stop


class TiteBoinDesign(_TiteBase):
    """TITE-BOIN (see module notes for the rules).

    Parameters
    ----------
    target, n_levels, cohort_size, max_cohorts, start_level :
        As :class:`~radiotrial.escalation.BoinDesign`.
    window : float
        DLT window (days).
    max_pending : float
        Suspend accrual while more than this fraction of patients at the current level are
        pending (default 0.5).
    """

    def __init__(
        self,
        target: float,
        n_levels: int,
        *,
        cohort_size: int = 3,
        max_cohorts: int = 10,
        start_level: int = 1,
        window: float = 42.0,
        max_pending: float = 0.5,
        cutoff_eli: float = 0.95,
    ) -> None:
        self.name = "TITE-BOIN"
        self.target = check_target(target)
        self.n_levels = check_levels(n_levels)
        self.cohort_size = check_cohort_size(cohort_size)
        self.max_cohorts = check_positive_int(max_cohorts, name="max_cohorts")
        self.start_level = check_start_level(start_level, self.n_levels)
        self.window = check_window(window)
        self.max_pending = check_probability(max_pending, name="max_pending")
        from radiotrial.escalation._boin import BoinDesign

        self._boin = BoinDesign(
            self.target,
            self.n_levels,
            cohort_size=self.cohort_size,
            max_cohorts=self.max_cohorts,
            cutoff_eli=cutoff_eli,
        )
        self.bounds = boin_boundaries(self.target, max(self.max_patients, 3), cutoff_eli=cutoff_eli)

    def _final_mtd(self, state: TrialState) -> int | None:
        n, y = state.counts()
        sel = int(self._boin.select(n[None, :], y[None, :], np.array([self.n_levels]))[0])
        return None if sel < 0 else sel + 1

    def decide(self, state: TrialState) -> Decision:
        """Decision from patients with DLT status and follow-up (pending allowed)."""
        if not state.patients:
            return Decision(self.name, "start", self.start_level + 1, "no patients yet")
        self._check_state(state)
        pts = state.patients
        cnt = len(pts)
        lev = np.array([p.level - 1 for p in pts], np.int64)
        obs = np.array([bool(p.dlt) for p in pts])
        comp = np.array([p.dlt is not None for p in pts])
        fu = np.array([min(p.followup, self.window) for p in pts])
        d = lev[-1]
        em = self.bounds.eliminate_min
        nd, code = _boin_rule(
            d,
            lev,
            obs,
            comp,
            fu,
            cnt,
            self.n_levels,
            self.window,
            self.bounds.lambda_e,
            self.bounds.lambda_d,
            em,
            self.max_pending,
        )
        here = lev == d
        n, y = int(here.sum()), int((obs & here).sum())
        m = int((here & ~comp).sum())
        stft = float((fu[here & ~comp] / self.window).sum())
        ess = n - m + stft
        phat = y / ess if ess > 0 else 0.0
        details = {
            "n": n,
            "dlt": y,
            "pending": m,
            "stft": stft,
            "effective_n": ess,
            "p_hat": phat,
            "lambda_e": self.bounds.lambda_e,
            "lambda_d": self.bounds.lambda_d,
        }
        obs_txt = (
            f"level {d + 1}: {y} DLT, {m} pending of {n}; STFT = {stft:.2f}, "
            f"effective n = {ess:.2f}, p̂ = {phat:.3f}"
        )
        actions = {0: "escalate", 1: "stay", 2: "de-escalate", 3: "stop", 6: "suspend"}
        act = actions[int(code)]
        if act == "stop":
            return Decision(
                self.name,
                "stop",
                None,
                obs_txt + ": level 1 is eliminated, stop for toxicity",
                None,
                details,
            )
        if self._full(state):
            return self._stop_at_max(state, obs_txt, details)
        if act == "suspend":
            why = (
                f"{obs_txt}: suspend accrual until more patients complete the window "
                f"(>{self.max_pending:.0%} pending, or <3 complete before escalating); "
                f"resume at level {d + 1}"
            )
            return self._suspend(int(d), why, details)
        return Decision(
            self.name,
            act,
            int(nd) + 1,
            f"{obs_txt} (λe={self.bounds.lambda_e:.3f}, λd={self.bounds.lambda_d:.3f}): {act}",
            None,
            details,
        )

    def _simulate_oc(
        self,
        truth: npt.ArrayLike,
        st: TiteSettings,
        n_trials: int,
        seed: int | None,
        u: FloatArray | None,
    ) -> OperatingCharacteristics:
        """MTD on complete data by BOIN's rule."""
        b = self.bounds
        dummy = np.zeros((1, 1))
        args = (
            b.lambda_e,
            b.lambda_d,
            b.eliminate_min,
            self.max_pending,
            dummy,
            dummy,
            dummy,
            np.zeros(1),
            np.zeros(1),
            np.zeros(1),
            0,
            self.target,
            False,
            np.zeros(1),
            np.zeros(1),
            0.0,
            0,
        )
        trials, dur, susp, stop = self._simulate(0, truth, st, n_trials, seed, u, args)
        sel = self._boin.select(trials.n, trials.y, np.full(trials.n.shape[0], self.n_levels))
        sel[stop] = -1
        res = SimulatedTrials(sel, trials.n, trials.y, trials.levels, trials.dlt)
        extra = {
            "mean_duration": float(dur.mean()),
            "mean_suspensions": float(susp.mean()),
            "window": st.window,
        }
        return summarise(self.name, check_truth(truth), res, seed=seed, extra=extra)


class TiteCrmDesign(_TiteBase):
    """TITE-CRM (dfcrm ``titecrm``/``titesim``), decisions at each cohort boundary.

    Parameters
    ----------
    skeleton, target, model, intercept, prior_sd :
        As :class:`~radiotrial.escalation.CrmModel`.
    window : float
        DLT window W (days).
    scheme : {"linear", "adaptive"}
        Weight function.
    cohort_size, max_cohorts, start_level :
        Trial size (cohort size 1 reproduces dfcrm's patient-by-patient TITE-CRM).
    max_pending : float or None
        Suspend accrual while more than this fraction of the patients at the current level are
        pending (``None``, the default, never: dfcrm ``titesim`` has no suspension).
    min_complete : int
        Escalate only when at least this many patients at the current level have completed
        their window; until then accrual is suspended (default 0: no such rule, as dfcrm).
    """

    def __init__(
        self,
        skeleton: npt.ArrayLike,
        target: float,
        *,
        model: Literal["empiric", "logistic"] = "empiric",
        intercept: float = 3.0,
        prior_sd: float = math.sqrt(1.34),
        window: float = 42.0,
        scheme: Scheme = "linear",
        cohort_size: int = 1,
        max_cohorts: int = 30,
        start_level: int = 1,
        max_pending: float | None = None,
        min_complete: int = 0,
    ) -> None:
        self.crm = CrmModel(
            skeleton, target, model=model, intercept=intercept, prior_sd=prior_sd, n_grid=201
        )
        self.name = f"TITE-CRM ({model}, {scheme})"
        self.target = self.crm.target
        self.n_levels = self.crm.n_levels
        self.cohort_size = check_cohort_size(cohort_size)
        self.max_cohorts = check_positive_int(max_cohorts, name="max_cohorts")
        self.start_level = check_start_level(start_level, self.n_levels)
        if scheme not in ("linear", "adaptive"):
            raise ValidationError("scheme", scheme, "use 'linear' or 'adaptive'")
        self.window = check_window(window)
        self.scheme: Scheme = scheme
        self.max_pending = (
            None
            if max_pending is None
            else check_probability(max_pending, name="max_pending", open_interval=False)
        )
        self.min_complete = check_positive_int(min_complete, name="min_complete", minimum=0)

    def _final_mtd(self, state: TrialState) -> int | None:
        pts = state.patients
        fit = self.crm.fit([p.level for p in pts], [int(bool(p.dlt)) for p in pts])
        return fit.mtd

    def decide(self, state: TrialState) -> Decision:
        """Decision from patients with DLT status and follow-up (pending allowed)."""
        if not state.patients:
            return Decision(self.name, "start", self.start_level + 1, "no patients yet")
        self._check_state(state)
        pts = state.patients
        lv = [p.level for p in pts]
        tx = [int(bool(p.dlt)) for p in pts]
        fu = [self.window if p.dlt is False else min(p.followup, self.window) for p in pts]
        w = tite_weights(fu, tx, self.window, scheme=self.scheme)
        fit = self.crm.fit(lv, tx, weights=w)
        cur = pts[-1].level
        nxt = min(fit.mtd, cur + 1)
        act = "escalate" if nxt > cur else ("de-escalate" if nxt < cur else "stay")
        here = [p for p in pts if p.level == cur]
        pending = sum(p.dlt is None for p in here)
        why = (
            f"weighted posterior mean a = {fit.a_hat:.3f}; estimated DLT rates "
            + ", ".join(f"L{i + 1} {p:.3f}" for i, p in enumerate(fit.p_hat))
            + f"; closest to {self.target:g}: level {fit.mtd}"
            + (f"; no skipping: level {nxt}" if nxt != fit.mtd else "")
        )
        details = {
            "a_hat": fit.a_hat,
            "p_hat": fit.p_hat.tolist(),
            "weights": w.tolist(),
            "recommended_unrestricted": fit.mtd,
            "pending": pending,
            "complete_at_current": len(here) - pending,
        }
        if self._full(state):
            return self._stop_at_max(state, why, details)
        if self.max_pending is not None and pending > self.max_pending * len(here):
            return self._suspend(
                cur - 1,
                f"{why}; {pending} of {len(here)} patients at level {cur} are pending "
                f"(more than {self.max_pending:.0%}): suspend accrual, resume at level {cur}",
                details,
            )
        if act == "escalate" and len(here) - pending < self.min_complete:
            return self._suspend(
                cur - 1,
                f"{why}; escalation needs {self.min_complete} patients with a complete window "
                f"at level {cur}, {len(here) - pending} have one: suspend accrual, "
                f"resume at level {cur}",
                details,
            )
        return Decision(self.name, act, nxt, why, None, details)

    def _simulate_oc(
        self,
        truth: npt.ArrayLike,
        st: TiteSettings,
        n_trials: int,
        seed: int | None,
        u: FloatArray | None,
    ) -> OperatingCharacteristics:
        """Final MTD from complete data (CRM recommendation)."""
        m = self.crm
        lf, l1f = m._log_tables
        args = (
            0.0,
            0.0,
            np.full(self.max_patients, -1, np.int64),
            # at most all patients are pending, so 2 × n never triggers: dfcrm's no-suspension
            2.0 if self.max_pending is None else self.max_pending,
            lf,
            l1f,
            np.exp(lf),
            -0.5 * (m.grid / m.prior_sd) ** 2,
            m.grid,
            m._w,
            0 if m.model == "empiric" else 1,
            self.target,
            self.scheme == "adaptive",
            m.skeleton,
            m.dose_scaled,
            m.intercept,
            self.min_complete,
        )
        trials, dur, susp, _ = self._simulate(1, truth, st, n_trials, seed, u, args)
        n, y = trials.n, trials.y
        _, p_hat, _ = self.crm.posterior_counts(n, y, overdose=False)
        sel = self.crm.recommend(p_hat)
        res = SimulatedTrials(sel, n, y, trials.levels, trials.dlt)
        extra = {
            "mean_duration": float(dur.mean()),
            "mean_suspensions": float(susp.mean()),
            "window": st.window,
        }
        return summarise(self.name, check_truth(truth), res, seed=seed, extra=extra)
