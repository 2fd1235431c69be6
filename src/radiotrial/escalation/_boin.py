"""BOIN: the Bayesian optimal interval design (Liu & Yuan 2015), as the R package BOIN runs it.

Follows the code of the R package BOIN 2.7.1 (``get.boundary``, ``get.oc``, ``select.mtd``;
Yan et al. 2020, doi:10.18637/jss.v094.i13). Points where code and documentation differ, and
what radiotrial does (the code's behaviour), are listed in ``docs/escalation.md``:

* the decision is "escalate if y ≤ floor(λe·n)", "de-escalate if y ≥ ceil(λd·n)", i.e. the
  documented "p̂ ≥ λd" on counts; the de-escalation count is capped by the elimination count;
* ``extrasafe`` is checked only when an elimination boundary exists for the current n (it sits
  inside that ``if`` in ``get.oc``), and only at the lowest level;
* ``n.earlystop`` stops only when the decision would keep the trial at the same level (stay, or
  de-escalate at level 1, or escalate at the top / below an eliminated level);
* MTD selection uses Beta(0.05, 0.05) posterior means, weighted PAVA with weights 1/posterior
  variance, then adds i·1e-10 to the i-th admissible level so that among tied estimates the
  highest is chosen below the target and the lowest above it; the first minimum of |p̂ − φ|
  wins (R's ``sort`` is stable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy import stats

from radiotrial.errors import ValidationError
from radiotrial.escalation._engine import (
    DEESCALATE,
    ESCALATE,
    STAY,
    STOP_SELECT,
    STOP_TOXIC,
    UNDECIDED,
    CohortDesign,
    IntArray,
    StepResult,
)
from radiotrial.escalation._isotonic import _pava_inplace, pava
from radiotrial.escalation._state import TrialState
from radiotrial.escalation._validation import (
    check_cohort_size,
    check_levels,
    check_positive_int,
    check_probability,
    check_start_level,
    check_target,
)

__all__ = ["BoinBoundaries", "BoinDesign", "boin_boundaries", "boin_select_mtd"]

_NONE = 10**6  # sentinel count: "no boundary" (larger than any n)


def check_n_earlystop(n_earlystop: int) -> int:
    """``n_earlystop`` above 6, as R BOIN requires.

    R BOIN 2.7.1 ``get.boundary`` answers ``n.earlystop <= 6`` with "the value of n.earlystop is
    too low to ensure good operating characteristics. Recommend n.earlystop = 9 to 18" and
    returns no boundaries (``get.oc`` only warns, because it calls ``get.boundary`` with
    ``n.earlystop = ncohort * cohortsize``); a design without boundaries cannot run, so
    radiotrial refuses the value.
    """
    v = check_positive_int(n_earlystop, name="n_earlystop")
    if v <= 6:
        raise ValidationError(
            "n_earlystop",
            n_earlystop,
            "must be above 6 (R BOIN get.boundary refuses n.earlystop <= 6: too low for good "
            "operating characteristics; 9 to 18 recommended)",
        )
    return v


@dataclass(frozen=True)
class BoinBoundaries:
    """BOIN decision boundaries.

    Attributes
    ----------
    lambda_e, lambda_d : float
        Escalation and de-escalation boundaries on the observed DLT rate.
    n : (N,) int array
        Numbers of patients 1..N at a level.
    escalate_max, deescalate_min, eliminate_min : (N,) int arrays
        Escalate if y ≤ escalate_max[n-1]; de-escalate if y ≥ deescalate_min[n-1]; eliminate
        the level and all above if y ≥ eliminate_min[n-1] (``-1`` = no such count, n < 3 or
        not reachable).
    stop_min : (N,) int array or None
        With ``extrasafe``, stop the trial if y ≥ stop_min[n-1] at the lowest level.
    """

    target: float
    p_saf: float
    p_tox: float
    lambda_e: float
    lambda_d: float
    cutoff_eli: float
    n: IntArray
    escalate_max: IntArray
    deescalate_min: IntArray
    eliminate_min: IntArray
    stop_min: IntArray | None

    def table(self, cohort_size: int, n_earlystop: int = 100) -> list[dict[str, Any]]:
        """Rows of the decision table at multiples of the cohort size (``boundary_tab``)."""
        top = min(int(self.n[-1]), check_n_earlystop(n_earlystop))
        rows = []
        for nn in range(cohort_size, top + 1, cohort_size):
            i = nn - 1
            row: dict[str, Any] = {
                "n": nn,
                "escalate_if_dlt_le": int(self.escalate_max[i]),
                "deescalate_if_dlt_ge": int(self.deescalate_min[i]),
                "eliminate_if_dlt_ge": None
                if self.eliminate_min[i] < 0
                else int(self.eliminate_min[i]),
            }
            if self.stop_min is not None:
                row["stop_if_dlt_ge_at_lowest"] = (
                    None if self.stop_min[i] < 0 else int(self.stop_min[i])
                )
            rows.append(row)
        return rows


def _lambdas(target: float, p_saf: float, p_tox: float) -> tuple[float, float]:
    lam_e = math.log((1 - p_saf) / (1 - target)) / math.log(
        target * (1 - p_saf) / (p_saf * (1 - target))
    )
    lam_d = math.log((1 - target) / (1 - p_tox)) / math.log(
        p_tox * (1 - target) / (target * (1 - p_tox))
    )
    return lam_e, lam_d


def _posterior_boundary(target: float, n_max: int, cutoff: float) -> IntArray:
    """Smallest y with Pr(p > target | Beta(y+1, n−y+1)) > cutoff, for n = 1..n_max (-1: none)."""
    out = np.full(n_max, -1, np.int64)
    for nn in range(3, n_max + 1):
        yy = np.arange(1, nn + 1)
        ok = stats.beta.sf(target, yy + 1, nn - yy + 1) > cutoff
        if ok.any():
            out[nn - 1] = int(yy[np.argmax(ok)])
    return out


def boin_boundaries(
    target: float,
    n_max: int,
    *,
    p_saf: float | None = None,
    p_tox: float | None = None,
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
    offset: float = 0.05,
) -> BoinBoundaries:
    """BOIN escalation, de-escalation, elimination (and extra-safe stopping) boundaries.

    Parameters
    ----------
    target : float
        Target DLT rate φ, in (0.05, 0.6).
    n_max : int
        Largest number of patients at one level to tabulate (the maximum sample size).
    p_saf, p_tox : float, optional
        φ1 (highest rate deemed sub-therapeutic) and φ2 (lowest deemed overly toxic); default
        0.6φ and 1.4φ. Each must differ from φ by at least 0.1φ (as in BOIN).
    cutoff_eli : float
        Posterior probability above which a level is eliminated (default 0.95).
    extrasafe : bool
        Also tabulate the stricter stopping rule at the lowest level (cutoff_eli − offset).
    offset : float
        In [0, 0.5).

    Returns
    -------
    BoinBoundaries

    Notes
    -----
    .. math::

        λ_e = \\frac{\\ln\\frac{1-φ_1}{1-φ}}{\\ln\\frac{φ(1-φ_1)}{φ_1(1-φ)}},\\qquad
        λ_d = \\frac{\\ln\\frac{1-φ}{1-φ_2}}{\\ln\\frac{φ_2(1-φ)}{φ(1-φ_2)}}

    escalate if y ≤ ⌊λe n⌋, de-escalate if y ≥ ⌈λd n⌉, eliminate if n ≥ 3 and
    Pr(p > φ | y, n) > cutoff_eli under a Beta(1, 1) prior.

    References
    ----------
    Liu S, Yuan Y. Bayesian optimal interval designs for phase I clinical trials. J R Stat Soc
    C 2015;64:507–523, doi:10.1111/rssc.12089.

    Examples
    --------
    >>> b = boin_boundaries(0.3, 30)
    >>> round(b.lambda_e, 3), round(b.lambda_d, 3)
    (0.236, 0.358)
    """
    phi = check_target(target)
    p_saf = 0.6 * phi if p_saf is None else check_probability(p_saf, name="p_saf")
    p_tox = 1.4 * phi if p_tox is None else check_probability(p_tox, name="p_tox")
    if phi - p_saf < 0.1 * phi:
        raise ValidationError(
            "p_saf", p_saf, "must be below the target by at least 10% of the target"
        )
    if p_tox - phi < 0.1 * phi:
        raise ValidationError(
            "p_tox", p_tox, "must exceed the target by at least 10% of the target"
        )
    cutoff = check_probability(cutoff_eli, name="cutoff_eli")
    if not 0 <= offset < 0.5:
        raise ValidationError("offset", offset, "must lie in [0, 0.5)")
    n_max = check_positive_int(n_max, name="n_max")
    lam_e, lam_d = _lambdas(phi, p_saf, p_tox)
    nn = np.arange(1, n_max + 1)
    b_e = np.floor(lam_e * nn).astype(np.int64)
    b_d = np.ceil(lam_d * nn).astype(np.int64)
    elim = _posterior_boundary(phi, n_max, cutoff)
    capped = (elim >= 0) & (b_d > elim)
    b_d[capped] = elim[capped]
    stop = _posterior_boundary(phi, n_max, cutoff - offset) if extrasafe else None
    return BoinBoundaries(phi, p_saf, p_tox, lam_e, lam_d, cutoff, nn, b_e, b_d, elim, stop)


@numba.njit(cache=True)
def _select_many(
    n: npt.NDArray[np.int64],
    y: npt.NDArray[np.int64],
    target: float,
    elim_min: npt.NDArray[np.int64],
    stop_min: npt.NDArray[np.int64],
    extrasafe: bool,
    bound_mtd: bool,
    lambda_d: float,
) -> npt.NDArray[np.int64]:  # pragma: no cover - compiled
    s_count, k = n.shape
    out = np.full(s_count, -1, np.int64)
    ph = np.empty(k)
    wt = np.empty(k)
    idx = np.empty(k, np.int64)
    for s in range(s_count):
        first_elim = k
        for i in range(k):
            ni = n[s, i]
            if ni >= 3 and elim_min[ni - 1] >= 0 and y[s, i] >= elim_min[ni - 1]:
                first_elim = i
                break
        if (
            extrasafe
            and n[s, 0] >= 3
            and stop_min[n[s, 0] - 1] >= 0
            and y[s, 0] >= stop_min[n[s, 0] - 1]
        ):
            first_elim = 0
        if first_elim == 0:
            continue
        m = 0
        for i in range(first_elim):
            if n[s, i] > 0:
                a = y[s, i] + 0.05
                b = n[s, i] - y[s, i] + 0.05
                tot = n[s, i] + 0.1
                ph[m] = a / tot
                wt[m] = 1.0 / (a * b / (tot * tot * (tot + 1.0)))
                idx[m] = i
                m += 1
        if m == 0:
            continue
        _pava_inplace(ph, wt, m)
        best = -1
        best_dist = np.inf
        for j in range(m):
            v = ph[j] + (j + 1) * 1e-10
            if bound_mtd and not v < lambda_d:
                continue
            dist = abs(v - target)
            if dist < best_dist:
                best_dist = dist
                best = j
        if best >= 0:
            out[s] = idx[best]
    return out


def boin_select_mtd(
    target: float,
    n: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
    offset: float = 0.05,
    bound_mtd: bool = False,
    p_tox: float | None = None,
) -> dict[str, Any]:
    """Select the MTD at the end of a trial, as BOIN's ``select.mtd``.

    Parameters
    ----------
    target : float
        Target DLT rate.
    n, y : (K,) array_like of int
        Patients treated and DLTs per level.
    cutoff_eli, extrasafe, offset : see :func:`boin_boundaries`.
    bound_mtd : bool
        Require the isotonic estimate at the MTD to be below λd (``boundMTD``).
    p_tox : float, optional
        φ2 used for λd (default 1.4·target).

    Returns
    -------
    dict
        ``mtd`` (1-based or None), ``p_est`` (isotonic estimate per level, None if untreated),
        ``ci95`` (per-level (lo, hi) of the Beta(y+0.05, n−y+0.05) posterior, PAVA-smoothed as
        in BOIN), ``p_overdose`` (Pr(p > target), PAVA-smoothed).

    Examples
    --------
    >>> boin_select_mtd(0.3, [3, 3, 15, 9, 0], [0, 0, 4, 4, 0])["mtd"]
    3
    """
    phi = check_target(target)
    na = np.asarray(n, dtype=np.int64)
    ya = np.asarray(y, dtype=np.int64)
    if na.ndim != 1 or na.shape != ya.shape or na.size == 0:
        raise ValidationError(
            "y", ya.tolist(), "n and y must be lists of the same length (one per level)"
        )
    check_levels(na.size)
    if np.any(na < 0) or np.any(ya < 0) or np.any(ya > na):
        raise ValidationError("y", ya.tolist(), "need 0 <= y <= n at every level")
    p_tox_v = 1.4 * phi if p_tox is None else p_tox
    b = boin_boundaries(
        phi, max(int(na.max()), 3), cutoff_eli=cutoff_eli, extrasafe=True, offset=offset
    )
    assert b.stop_min is not None
    _, lam_d = _lambdas(phi, 0.6 * phi, p_tox_v)
    sel = _select_many(
        na[None, :], ya[None, :], phi, b.eliminate_min, b.stop_min, extrasafe, bound_mtd, lam_d
    )
    mtd = int(sel[0])
    tr = na > 0
    p_est: list[float | None] = [None] * na.size
    ci: list[tuple[float, float] | None] = [None] * na.size
    pod: list[float | None] = [None] * na.size
    if tr.any():
        a = ya[tr] + 0.05
        bb = na[tr] - ya[tr] + 0.05
        tot = na[tr] + 0.1
        w = 1.0 / (a * bb / (tot**2 * (tot + 1)))
        est = pava(a / tot, w)
        lo = pava(stats.beta.ppf(0.025, a, bb), w)
        hi = pava(stats.beta.ppf(0.975, a, bb), w)
        po = pava(stats.beta.sf(phi, a, bb))
        for j, i in enumerate(np.flatnonzero(tr)):
            p_est[i] = float(est[j])
            ci[i] = (float(lo[j]), float(hi[j]))
            pod[i] = float(po[j])
    return {
        "target": phi,
        "mtd": None if mtd < 0 else mtd + 1,
        "p_est": p_est,
        "ci95": ci,
        "p_overdose": pod,
        "n": na.tolist(),
        "y": ya.tolist(),
    }


class BoinDesign(CohortDesign):
    """The BOIN design for a single agent.

    Parameters
    ----------
    target : float
        Target DLT rate φ.
    n_levels : int
        Number of dose levels K.
    cohort_size : int
        Patients per cohort (default 3).
    max_cohorts : int
        Number of cohorts (maximum sample size = cohort_size · max_cohorts).
    start_level : int
        1-based starting level (default 1).
    n_earlystop : int
        Stop when this many patients have been treated at the current level and the decision
        is to stay (default 100, which in practice never triggers); must be above 6, as in R
        BOIN (:func:`check_n_earlystop`).
    p_saf, p_tox, cutoff_eli, extrasafe, offset :
        As in :func:`boin_boundaries`.
    bound_mtd : bool
        As in :func:`boin_select_mtd`.
    """

    def __init__(
        self,
        target: float,
        n_levels: int,
        *,
        cohort_size: int = 3,
        max_cohorts: int = 10,
        start_level: int = 1,
        n_earlystop: int = 100,
        p_saf: float | None = None,
        p_tox: float | None = None,
        cutoff_eli: float = 0.95,
        extrasafe: bool = False,
        offset: float = 0.05,
        bound_mtd: bool = False,
        name: str = "BOIN",
    ) -> None:
        self.name = name
        self.n_levels = check_levels(n_levels)
        self.cohort_size = check_cohort_size(cohort_size)
        self.max_cohorts = check_positive_int(max_cohorts, name="max_cohorts")
        self.start_level = check_start_level(start_level, self.n_levels)
        self.n_earlystop = check_n_earlystop(n_earlystop)
        self.extrasafe = extrasafe
        self.bound_mtd = bound_mtd
        self.bounds = boin_boundaries(
            target,
            max(self.max_patients, 3),
            p_saf=p_saf,
            p_tox=p_tox,
            cutoff_eli=cutoff_eli,
            extrasafe=True,
            offset=offset,
        )
        self.target = self.bounds.target

    @cached_property
    def _tables(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        b = self.bounds
        assert b.stop_min is not None
        pad = np.array([_NONE])  # index 0 (n = 0) never used
        be = np.concatenate([pad * -1, b.escalate_max])
        bd = np.concatenate([pad, b.deescalate_min])
        el = np.concatenate([pad, np.where(b.eliminate_min < 0, _NONE, b.eliminate_min)])
        st = np.concatenate([pad, np.where(b.stop_min < 0, _NONE, b.stop_min)])
        return be, bd, el, st

    def step(
        self, d: IntArray, n: IntArray, y: IntArray, k: IntArray, elim: IntArray
    ) -> StepResult:
        be, bd, el, st = self._tables
        rows = np.arange(d.size)
        nd = n[rows, d]
        yd = y[rows, d]
        top = self.n_levels - 1
        has_elim = el[nd] < _NONE
        elim_now = has_elim & (yd >= el[nd])
        elim = np.where(elim_now, np.minimum(elim, d), elim)
        stop_tox = elim_now & (d == 0)
        if self.extrasafe:
            stop_tox |= has_elim & (d == 0) & (nd >= 3) & (yd >= st[nd])
        esc = yd <= be[nd]
        de = yd >= bd[nd]
        next_blocked = (d == top) | (elim <= d + 1)
        converge = (nd >= self.n_earlystop) & (
            (~esc & ~de) | ((d == 0) & de) | (next_blocked & esc)
        )
        action = np.full(d.size, STAY, np.int64)
        nxt = d.copy()
        up = esc & (d != top) & ~next_blocked
        action[up] = ESCALATE
        nxt[up] = d[up] + 1
        down = ~esc & de & (d != 0)
        action[down] = DEESCALATE
        nxt[down] = d[down] - 1
        action[converge] = STOP_SELECT
        action[stop_tox] = STOP_TOXIC
        return StepResult(nxt, elim, action, np.full(d.size, UNDECIDED, np.int64))

    def select(self, n: IntArray, y: IntArray, elim: IntArray) -> IntArray:
        b = self.bounds
        assert b.stop_min is not None
        out: IntArray = _select_many(
            np.ascontiguousarray(n),
            np.ascontiguousarray(y),
            self.target,
            b.eliminate_min,
            b.stop_min,
            self.extrasafe,
            self.bound_mtd,
            b.lambda_d,
        )
        return out

    def explain(self, state: TrialState, result: StepResult) -> tuple[str, dict[str, Any]]:
        n, y = state.counts()
        d = (state.current_level or 1) - 1
        nd, yd = int(n[d]), int(y[d])
        b = self.bounds
        i = nd - 1
        e_max, d_min, el = int(b.escalate_max[i]), int(b.deescalate_min[i]), int(b.eliminate_min[i])
        rate = f"{yd}/{nd} DLT at level {d + 1} (observed rate {yd / nd:.3f})"
        act = int(result.action[0])
        elim = int(result.elim[0])
        if act == STOP_TOXIC:
            why = (
                f"{rate}: Pr(p > {b.target:g} | data) exceeds the elimination cut-off, level 1 is "
                "eliminated, so the trial stops for toxicity"
            )
        elif act == STOP_SELECT:
            why = (
                f"{rate}: {nd} patients at the current level reached n_earlystop={self.n_earlystop}"
            )
        elif act == ESCALATE:
            why = f"{rate} ≤ λe={b.lambda_e:.3f} (escalate if DLT ≤ {e_max} of {nd}): escalate"
        elif act == DEESCALATE:
            extra = (
                f"; levels ≥ {elim + 1} are eliminated (DLT ≥ {el} of {nd})" if elim <= d else ""
            )
            why = (
                f"{rate} ≥ λd={b.lambda_d:.3f} (de-escalate if DLT ≥ {d_min} of {nd})"
                f"{extra}: de-escalate"
            )
        elif yd <= e_max:
            blocked = (
                "it is the highest level"
                if d == self.n_levels - 1
                else f"level {d + 2} is eliminated"
            )
            why = f"{rate} ≤ λe={b.lambda_e:.3f} but {blocked}: stay"
        elif yd >= d_min:
            why = f"{rate} ≥ λd={b.lambda_d:.3f} but level 1 is the lowest: stay"
        else:
            why = f"{rate} lies between λe={b.lambda_e:.3f} and λd={b.lambda_d:.3f}: stay"
        details = {
            "lambda_e": b.lambda_e,
            "lambda_d": b.lambda_d,
            "eliminated_from": None if elim >= self.n_levels else elim + 1,
            "n": n.tolist(),
            "y": y.tolist(),
        }
        return why, details
