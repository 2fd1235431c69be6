"""Design interface and the two engines that every cohort design shares.

A cohort design is a *vectorised* transition: given many trial states (current level, patients
and DLTs per level, lowest eliminated level) and the outcome of the cohort just treated, it returns
the next level and an action code for each. The same function then serves

* one decision for the team (:meth:`CohortDesign.decide`, a batch of one),
* exact operating characteristics by dynamic programming over the distribution of trial states
  (:func:`exact_oc`; states that coincide are merged, so the work grows with the number of
  *distinct* states, not with the number of outcome sequences), and
* Monte-Carlo operating characteristics vectorised over trials (:func:`simulate_oc`), with
  common random numbers: patient *i* of trial *t* has a latent tolerance ``U[t, i]`` and has a
  DLT at a level with probability ``p`` iff ``U[t, i] < p``, so designs compared on the same
  ``U`` differ only by their decisions.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from radiotrial.errors import ValidationError
from radiotrial.escalation._state import TrialState
from radiotrial.escalation._validation import check_positive_int, check_truth

__all__ = [
    "ACTIONS",
    "CohortDesign",
    "Decision",
    "OperatingCharacteristics",
    "StepResult",
    "check_state_fits",
    "exact_oc",
    "simulate_oc",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# action codes returned by CohortDesign.step
ESCALATE, STAY, DEESCALATE, STOP_TOXIC, STOP_SELECT, STOP_MTD, SUSPEND = range(7)
ACTIONS = ("escalate", "stay", "de-escalate", "stop", "stop", "stop", "suspend")
UNDECIDED = -2  # selection not fixed by the design during the trial: apply select() at the end
NO_MTD = -1


@dataclass(frozen=True, slots=True)
class StepResult:
    """Vectorised result of one design transition (all arrays shape (S,), levels 0-based)."""

    next_level: IntArray
    elim: IntArray
    action: IntArray
    selected: IntArray


@dataclass(frozen=True)
class Decision:
    """The design's decision for the next cohort, with its reason in words.

    ``next_level`` is 1-based, ``None`` only when the trial stops (then ``mtd`` holds the
    selected level, 1-based, or ``None`` when no level is acceptable or the MTD waits for
    pending patients). ``accrual_suspended`` is true when a time-to-event design holds accrual
    until more patients complete their DLT window (``action == "suspend"``): ``next_level`` is
    then the level at which accrual resumes, and nobody is enrolled until a new decision lifts
    the suspension.
    """

    design: str
    action: str
    next_level: int | None
    reason: str
    mtd: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    accrual_suspended: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "design": self.design,
            "action": self.action,
            "next_level": self.next_level,
            "accrual_suspended": self.accrual_suspended,
            "mtd": self.mtd,
            "reason": self.reason,
            **self.details,
        }


def check_state_fits(state: TrialState, n_levels: int, max_patients: int) -> None:
    """Refuse a history with other levels, or more patients, than the design has."""
    if state.n_levels != n_levels:
        raise ValidationError(
            "history",
            state.outcome_string(),
            f"the design has {n_levels} levels, the state {state.n_levels}",
        )
    if len(state.patients) > max_patients:
        raise ValidationError(
            "history",
            state.outcome_string() or f"{len(state.patients)} patients",
            f"{len(state.patients)} patients exceed the design's maximum sample size "
            f"({max_patients}); raise the number of cohorts or check the history",
        )


class CohortDesign(abc.ABC):
    """A dose-finding design that decides after each complete cohort.

    Subclasses set ``name``, ``n_levels``, ``cohort_size``, ``max_cohorts``, ``start_level``
    (0-based) and implement :meth:`step` and :meth:`select`.
    """

    name: str
    n_levels: int
    cohort_size: int
    max_cohorts: int
    start_level: int = 0

    @abc.abstractmethod
    def step(
        self, d: IntArray, n: IntArray, y: IntArray, k: IntArray, elim: IntArray
    ) -> StepResult:
        """Transition after a cohort at level ``d`` with ``k`` DLTs; ``n``, ``y`` include it.

        Parameters
        ----------
        d, k, elim : (S,) int arrays
            Current level (0-based), DLTs in the cohort just completed, lowest eliminated level
            (``n_levels`` when none).
        n, y : (S, K) int arrays
            Patients and DLTs per level including the cohort just completed.
        """

    @abc.abstractmethod
    def select(self, n: IntArray, y: IntArray, elim: IntArray) -> IntArray:
        """Selected MTD (0-based; -1 none) for trials that ended without the design fixing it."""

    def explain(self, state: TrialState, result: StepResult) -> tuple[str, dict[str, Any]]:
        """Reason in words and extra JSON fields for a single decision (override for detail)."""
        return ACTIONS[int(result.action[0])], {}

    @property
    def max_patients(self) -> int:
        return self.cohort_size * self.max_cohorts

    # -- one decision -------------------------------------------------------------------------
    def _state_arrays(
        self, state: TrialState
    ) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
        check_state_fits(state, self.n_levels, self.max_patients)
        if state.n_pending:
            raise ValidationError(
                "history",
                state.outcome_string(),
                f"{self.name} decides on complete cohorts only; "
                "use a time-to-event design for pending patients",
            )
        n, y = state.counts()
        d = np.array(
            [state.current_level - 1 if state.current_level else self.start_level], np.int64
        )
        last = state.cohorts[-1] if state.cohorts else ()
        k = np.array([sum(bool(state.patients[i].dlt) for i in last)], np.int64)
        elim = self._replay_elimination(state)
        return d, n[None, :], y[None, :], k, elim

    def _replay_elimination(self, state: TrialState) -> IntArray:
        """Lowest eliminated level after replaying the history cohort by cohort."""
        elim = np.array([self.n_levels], np.int64)
        n = np.zeros((1, self.n_levels), np.int64)
        y = np.zeros((1, self.n_levels), np.int64)
        for cohort in state.cohorts:
            if not cohort:
                continue
            lvl = state.patients[cohort[0]].level - 1
            kk = sum(bool(state.patients[i].dlt) for i in cohort)
            n[0, lvl] += len(cohort)
            y[0, lvl] += kk
            res = self.step(np.array([lvl]), n, y, np.array([kk]), elim)
            elim = res.elim
        return elim

    def decide(self, state: TrialState) -> Decision:
        """The decision for the next cohort given everything observed so far."""
        if not state.patients:
            lvl = self.start_level + 1
            return Decision(self.name, "start", lvl, f"no patients yet: start at level {lvl}")
        d, n, y, k, elim = self._state_arrays(state)
        res = self.step(d, n, y, k, elim)
        action = int(res.action[0])
        reason, details = self.explain(state, res)
        total = int(n.sum())
        stopped = action in (STOP_TOXIC, STOP_SELECT, STOP_MTD)
        if not stopped and total + self.cohort_size > self.max_patients:
            stopped, action = True, STOP_SELECT
            reason += (
                f"; but the maximum sample size ({self.max_patients}) is reached, so the trial ends"
            )
        if stopped:
            if action == STOP_TOXIC:
                mtd = None
            elif action == STOP_MTD:
                sel = int(res.selected[0])
                mtd = None if sel < 0 else sel + 1
            else:
                sel = int(self.select(n, y, res.elim)[0])
                mtd = None if sel < 0 else sel + 1
            tail = f"; MTD = level {mtd}" if mtd else "; no level is selected as MTD"
            return Decision(self.name, "stop", None, reason + tail, mtd, details)
        return Decision(
            self.name, ACTIONS[action], int(res.next_level[0]) + 1, reason, None, details
        )


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OperatingCharacteristics:
    """Operating characteristics of a design under one true dose-toxicity curve.

    Probabilities are fractions here; :meth:`to_dict` reports percentages under the JSON keys
    scripts rely on (``selection_pct``, ``stop_pct``, ``mean_n``, ``mean_total_n``,
    ``mean_dlt``; ``*_se`` Monte-Carlo standard errors when simulated).
    """

    design: str
    method: Literal["exact", "simulated"]
    truth: FloatArray
    selection_prob: FloatArray
    stop_prob: float
    mean_n: FloatArray
    mean_dlt: FloatArray
    mean_total_n: float
    mean_total_dlt: float
    n_trials: int | None = None
    seed: int | None = None
    selection_prob_se: FloatArray | None = None
    stop_prob_se: float | None = None
    mean_n_se: FloatArray | None = None
    mean_dlt_se: FloatArray | None = None
    mean_total_n_se: float | None = None
    mean_total_dlt_se: float | None = None
    n_states: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "design": self.design,
            "method": self.method,
            "truth": self.truth.tolist(),
            "selection_pct": (100 * self.selection_prob).tolist(),
            "stop_pct": 100 * self.stop_prob,
            "mean_n": self.mean_n.tolist(),
            "mean_total_n": self.mean_total_n,
            "mean_dlt": self.mean_dlt.tolist(),
            "mean_total_dlt": self.mean_total_dlt,
        }
        if self.method == "simulated":
            assert self.selection_prob_se is not None and self.mean_n_se is not None
            assert self.mean_dlt_se is not None
            out |= {
                "selection_pct_se": (100 * self.selection_prob_se).tolist(),
                "stop_pct_se": 100 * float(self.stop_prob_se or 0.0),
                "mean_n_se": self.mean_n_se.tolist(),
                "mean_total_n_se": self.mean_total_n_se,
                "mean_dlt_se": self.mean_dlt_se.tolist(),
                "mean_total_dlt_se": self.mean_total_dlt_se,
                "n_trials": self.n_trials,
                "seed": self.seed,
            }
        else:
            out["n_states"] = self.n_states
        return out | self.extra


def unique_rows(rows: IntArray) -> tuple[IntArray, IntArray]:
    """Indices of the first occurrence of each distinct row and the inverse map.

    Rows of small non-negative integers are packed into one int64 key (mixed radix) so that a
    1-D sort does the work; too-wide rows fall back to ``np.unique(axis=0)``.
    """
    if rows.shape[0] == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    radix = rows.max(axis=0).astype(np.float64) + 1.0
    if float(np.sum(np.log2(radix))) < 62.0:
        mult = np.cumprod(np.concatenate([[1.0], radix[:-1]])).astype(np.int64)
        key = rows.astype(np.int64) @ mult
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    return first.astype(np.int64), inv.ravel().astype(np.int64)


def _merge(
    d: IntArray, elim: IntArray, n: IntArray, y: IntArray, prob: FloatArray
) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]:
    """Merge identical trial states, summing their probabilities."""
    cols = np.concatenate([d[:, None], elim[:, None], n, y], axis=1)
    first, inv = unique_rows(cols)
    p: FloatArray = np.bincount(inv, weights=prob).astype(np.float64)
    return d[first], elim[first], n[first], y[first], p


def exact_oc(
    design: CohortDesign, truth: npt.ArrayLike, *, merge: bool = True
) -> OperatingCharacteristics:
    """Exact operating characteristics by dynamic programming over trial states.

    Each cohort's DLT count at level ``j`` is Binomial(cohort_size, truth[j]); the distribution
    over states (level, n, y, eliminated level) is propagated cohort by cohort, merging equal
    states, until every trial has stopped or used ``max_cohorts`` cohorts.

    Parameters
    ----------
    design : CohortDesign
    truth : (K,) array_like
        True DLT probability of each level.
    merge : bool
        Merge identical states after each cohort (default). ``False`` keeps one row per
        outcome sequence: brute-force enumeration, same result, the benchmark's baseline.

    Returns
    -------
    OperatingCharacteristics
        ``method="exact"``; ``n_states`` is the largest number of distinct active states.

    Notes
    -----
    Expected values are sums over final states: E[n_j] = Σ_s P(s) n_j(s), and the selection
    probability of level j is the total probability of final states whose MTD is j.
    """
    p = check_truth(truth)
    k = design.n_levels
    if p.size != k:
        raise ValidationError("truth", p.tolist(), f"needs one probability per level ({k})")
    c = design.cohort_size
    kk = np.arange(c + 1)
    pmf = stats.binom.pmf(kk[None, :], c, p[:, None])  # (K, c+1)

    d = np.array([design.start_level], np.int64)
    elim = np.array([k], np.int64)
    n = np.zeros((1, k), np.int64)
    y = np.zeros((1, k), np.int64)
    prob = np.ones(1)
    sel_prob = np.zeros(k)
    stop_prob = 0.0
    en = np.zeros(k)
    ey = np.zeros(k)
    max_states = 1

    for cohort in range(design.max_cohorts):
        s = d.size
        rep = np.repeat(np.arange(s), c + 1)
        k_out = np.tile(kk, s)
        d2 = d[rep]
        n2 = n[rep].copy()
        y2 = y[rep].copy()
        rows = np.arange(rep.size)
        n2[rows, d2] += c
        y2[rows, d2] += k_out
        p2 = prob[rep] * pmf[d2, k_out]
        keep = p2 > 0
        d2, n2, y2, k_out, p2, e2 = (
            d2[keep],
            n2[keep],
            y2[keep],
            k_out[keep],
            p2[keep],
            elim[rep][keep],
        )
        res = design.step(d2, n2, y2, k_out, e2)
        done = np.isin(res.action, (STOP_TOXIC, STOP_SELECT, STOP_MTD))
        if cohort == design.max_cohorts - 1:
            done[:] = True
        if done.any():
            fin = np.flatnonzero(done)
            sel = res.selected[fin].copy()
            sel[res.action[fin] == STOP_TOXIC] = NO_MTD
            und = sel == UNDECIDED
            if und.any():
                sel[und] = design.select(n2[fin][und], y2[fin][und], res.elim[fin][und])
            w = p2[fin]
            ok = sel >= 0
            sel_prob += np.bincount(sel[ok], weights=w[ok], minlength=k)
            stop_prob += float(w[~ok].sum())
            en += w @ n2[fin]
            ey += w @ y2[fin]
        act = np.flatnonzero(~done)
        if act.size == 0:
            break
        if merge:
            d, elim, n, y, prob = _merge(
                res.next_level[act], res.elim[act], n2[act], y2[act], p2[act]
            )
        else:
            d, elim, n, y, prob = res.next_level[act], res.elim[act], n2[act], y2[act], p2[act]
        max_states = max(max_states, d.size)

    return OperatingCharacteristics(
        design=design.name,
        method="exact",
        truth=p,
        selection_prob=sel_prob,
        stop_prob=stop_prob,
        mean_n=en,
        mean_dlt=ey,
        mean_total_n=float(en.sum()),
        mean_total_dlt=float(ey.sum()),
        n_states=max_states,
    )


@dataclass(frozen=True)
class SimulatedTrials:
    """Per-trial results of a simulation (levels 0-based; ``selected`` -1 = no MTD).

    ``levels`` and ``dlt`` have shape (T, max_patients) with -1 / False where no patient was
    enrolled.
    """

    selected: IntArray
    n: IntArray
    y: IntArray
    levels: IntArray
    dlt: npt.NDArray[np.bool_]


def tolerances(n_trials: int, n_patients: int, seed: int | None) -> FloatArray:
    """Latent patient tolerances U[t, i] ~ Uniform(0, 1) for common random numbers."""
    rng = np.random.default_rng(seed)
    return rng.random((n_trials, n_patients))


def run_trials(
    design: CohortDesign,
    ptox: FloatArray,
    u: FloatArray,
    *,
    events: npt.NDArray[np.bool_] | None = None,
) -> SimulatedTrials:
    """Run ``u.shape[0]`` trials of a cohort design, vectorised over trials.

    Parameters
    ----------
    ptox : (K,) or (T, P, K) array
        DLT probability per level, or per trial, patient slot and level (heterogeneous
        patients, e.g. from patient-specific absorbed-dose coefficients).
    u : (T, P) array
        Latent tolerances; patient i of trial t has a DLT at level j iff u[t, i] < ptox[..., j].
    events : (T, P, K) bool array, optional
        Further DLT-equivalent events the design counts as DLTs (a realised organ dose above
        the dosimetry-guided design's ``dose_event_gy``). ``dlt`` and ``y`` of the result hold
        what the design counted: DLT or event.
    """
    t_count, p_slots = u.shape
    c = design.cohort_size
    k = design.n_levels
    if p_slots < design.max_patients:
        raise ValidationError("u", u.shape, f"needs at least {design.max_patients} patient slots")
    d = np.full(t_count, design.start_level, np.int64)
    elim = np.full(t_count, k, np.int64)
    n = np.zeros((t_count, k), np.int64)
    y = np.zeros((t_count, k), np.int64)
    selected = np.full(t_count, UNDECIDED, np.int64)
    levels = np.full((t_count, design.max_patients), -1, np.int64)
    dlt = np.zeros((t_count, design.max_patients), bool)
    active = np.arange(t_count)
    for cohort in range(design.max_cohorts):
        if active.size == 0:
            break
        sl = slice(cohort * c, (cohort + 1) * c)
        da = d[active]
        if ptox.ndim == 1:
            prob = ptox[da][:, None]
        else:
            prob = np.take_along_axis(ptox[active, sl, :], da[:, None, None], axis=2)[:, :, 0]
        tox = u[active, sl] < prob
        if events is not None:
            tox |= np.take_along_axis(events[active, sl, :], da[:, None, None], axis=2)[:, :, 0]
        kk = tox.sum(axis=1).astype(np.int64)
        n[active, da] += c
        y[active, da] += kk
        levels[active, sl] = da[:, None]
        dlt[active, sl] = tox
        res = design.step(da, n[active], y[active], kk, elim[active])
        elim[active] = res.elim
        d[active] = res.next_level
        done = np.isin(res.action, (STOP_TOXIC, STOP_SELECT, STOP_MTD))
        sel = res.selected.copy()
        sel[res.action == STOP_TOXIC] = NO_MTD
        selected[active[done]] = sel[done]
        active = active[~done]
    und = np.flatnonzero(selected == UNDECIDED)
    if und.size:
        selected[und] = design.select(n[und], y[und], elim[und])
    return SimulatedTrials(selected, n, y, levels, dlt)


def summarise(
    design_name: str,
    truth: FloatArray,
    trials: SimulatedTrials,
    *,
    seed: int | None,
    extra: dict[str, Any] | None = None,
) -> OperatingCharacteristics:
    """Means and Monte-Carlo standard errors (SE = SD/√T) over simulated trials."""
    t = trials.selected.size
    k = trials.n.shape[1]
    onehot = np.zeros((t, k))
    ok = trials.selected >= 0
    onehot[np.flatnonzero(ok), trials.selected[ok]] = 1.0
    sel = onehot.mean(axis=0)
    stop = 1.0 - float(ok.mean())
    tot_n = trials.n.sum(axis=1)
    tot_y = trials.y.sum(axis=1)
    root = np.sqrt(t)

    def se(a: npt.NDArray[Any]) -> Any:
        return a.std(axis=0, ddof=1) / root if t > 1 else np.zeros_like(a.mean(axis=0), dtype=float)

    return OperatingCharacteristics(
        design=design_name,
        method="simulated",
        truth=truth,
        selection_prob=sel,
        stop_prob=stop,
        mean_n=trials.n.mean(axis=0),
        mean_dlt=trials.y.mean(axis=0),
        mean_total_n=float(tot_n.mean()),
        mean_total_dlt=float(tot_y.mean()),
        n_trials=t,
        seed=seed,
        selection_prob_se=np.sqrt(sel * (1 - sel) / t),
        stop_prob_se=float(np.sqrt(stop * (1 - stop) / t)),
        mean_n_se=se(trials.n.astype(float)),
        mean_dlt_se=se(trials.y.astype(float)),
        mean_total_n_se=float(se(tot_n.astype(float))),
        mean_total_dlt_se=float(se(tot_y.astype(float))),
        extra=extra or {},
    )


def simulate_oc(
    design: CohortDesign,
    truth: npt.ArrayLike,
    *,
    n_trials: int = 10_000,
    seed: int | None = 1,
    u: FloatArray | None = None,
) -> OperatingCharacteristics:
    """Monte-Carlo operating characteristics, vectorised over trials.

    Parameters
    ----------
    design : CohortDesign
    truth : (K,) array_like
        True DLT probability per level.
    n_trials : int
        Number of simulated trials (ignored when ``u`` is given).
    seed : int or None
        Seed of the NumPy generator that draws the patient tolerances.
    u : (T, P) array, optional
        Patient tolerances to reuse (common random numbers across designs).
    """
    p = check_truth(truth)
    if p.size != design.n_levels:
        raise ValidationError(
            "truth", p.tolist(), f"needs one probability per level ({design.n_levels})"
        )
    if u is None:
        check_positive_int(n_trials, name="n_trials", minimum=2)
        u = tolerances(n_trials, design.max_patients, seed)
    trials = run_trials(design, p, u)
    return summarise(design.name, p, trials, seed=seed)
