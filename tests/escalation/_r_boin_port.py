"""An independent port of the R package BOIN 2.7.1's single-agent algorithm, for the tests.

It transcribes, step for step and without using radiotrial's escalation code, what R BOIN's
``get.boundary`` (boundaries), ``get.oc`` (the per-trial loop, without titration) and
``select.mtd`` (isotonic MTD selection) do, and enumerates every outcome sequence of a trial
(each cohort's DLT count is Binomial(cohort size, p)) to give exact operating characteristics.
The R points it reproduces on purpose:

* the last cohort is added and the loop ends before its elimination check (``select.mtd``
  re-applies elimination on the final data);
* ``extrasafe`` is checked only inside the block that runs when the current n has an
  elimination boundary, and only at level 1;
* ``n.earlystop`` ends the trial only when the decision would keep the level unchanged;
* ``select.mtd`` pools adjacent violators of the first violating pair, repeatedly (R's own
  ``pava``), adds i·1e-10 to the i-th admissible estimate and takes the first minimum of
  |p̂ − target|.

It is slow (one Python call per outcome sequence), so the tests use small trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats


def _sf(target: float, a: float, b: float) -> float:
    """R's 1 - pbeta(target, a, b)."""
    return float(1.0 - stats.beta.cdf(target, a, b))


def r_boundaries(
    target: float, npts: int, p_saf: float, p_tox: float, cutoff_eli: float
) -> tuple[list[int], list[int], list[int | None]]:
    """Escalation, de-escalation and elimination counts for n = 1..npts (get.boundary)."""
    lam1 = math.log((1 - p_saf) / (1 - target)) / math.log(
        target * (1 - p_saf) / (p_saf * (1 - target))
    )
    lam2 = math.log((1 - target) / (1 - p_tox)) / math.log(
        p_tox * (1 - target) / (target * (1 - p_tox))
    )
    b_e, b_d, elim = [], [], []
    for n in range(1, npts + 1):
        b_e.append(math.floor(lam1 * n))
        b_d.append(math.ceil(lam2 * n))
        found = None
        if n >= 3:
            for ntox in range(1, n + 1):
                if _sf(target, ntox + 1, n - ntox + 1) > cutoff_eli:
                    found = ntox
                    break
        elim.append(found)
    for i, e in enumerate(elim):
        if e is not None and b_d[i] > e:
            b_d[i] = e
    return b_e, b_d, elim


def _r_pava(x: list[float], wt: list[float]) -> list[float]:
    """R BOIN's own pava: pool the first violating adjacent pair of level sets, repeat."""
    x = list(x)
    n = len(x)
    if n <= 1:
        return x
    sets = list(range(n))
    while True:
        viol = [i for i in range(n - 1) if x[i + 1] - x[i] < 0]
        if not viol:
            return x
        i = viol[0]
        a, b = sets[i], sets[i + 1]
        members = [j for j in range(n) if sets[j] in (a, b)]
        pooled = sum(x[j] * wt[j] for j in members) / sum(wt[j] for j in members)
        for j in members:
            x[j] = pooled
            sets[j] = a


def r_select_mtd(
    target: float,
    n: list[int],
    y: list[int],
    cutoff_eli: float = 0.95,
    extrasafe: bool = False,
    offset: float = 0.05,
) -> int | None:
    """0-based MTD (None for R's 99) as select.mtd, boundMTD = FALSE."""
    k = len(n)
    elimi = [False] * k
    for i in range(k):
        if n[i] >= 3 and _sf(target, y[i] + 1, n[i] - y[i] + 1) > cutoff_eli:
            for j in range(i, k):
                elimi[j] = True
            break
    if extrasafe and n[0] >= 3 and _sf(target, y[0] + 1, n[0] - y[0] + 1) > cutoff_eli - offset:
        elimi = [True] * k
    if elimi[0] or sum(n[i] for i in range(k) if not elimi[i]) == 0:
        return None
    adm = [i for i in range(k) if n[i] != 0 and not elimi[i]]
    phat = [(y[i] + 0.05) / (n[i] + 0.1) for i in adm]
    var = [(y[i] + 0.05) * (n[i] - y[i] + 0.05) / ((n[i] + 0.1) ** 2 * (n[i] + 1.1)) for i in adm]
    phat = _r_pava(phat, [1.0 / v for v in var])
    phat = [p + (j + 1) * 1e-10 for j, p in enumerate(phat)]
    dist = [abs(p - target) for p in phat]
    return adm[dist.index(min(dist))]  # R's sort(..., index.return=TRUE)$ix[1]: first minimum


@dataclass
class ExactOc:
    selection: np.ndarray
    stop: float
    mean_n: np.ndarray
    mean_dlt: np.ndarray


def r_exact_oc(
    target: float,
    p_true: list[float],
    ncohort: int,
    cohortsize: int,
    *,
    n_earlystop: int = 100,
    startdose: int = 1,
    extrasafe: bool = False,
    offset: float = 0.05,
    cutoff_eli: float = 0.95,
) -> ExactOc:
    """Exact OCs of get.oc by enumerating every outcome sequence of its per-trial loop."""
    k = len(p_true)
    npts = ncohort * cohortsize
    b_e, b_d, b_elim = r_boundaries(target, npts, 0.6 * target, 1.4 * target, cutoff_eli)
    pmf = [stats.binom.pmf(np.arange(cohortsize + 1), cohortsize, p) for p in p_true]
    out = ExactOc(np.zeros(k), 0.0, np.zeros(k), np.zeros(k))

    def finish(n: list[int], y: list[int], prob: float, stopped: bool) -> None:
        out.mean_n += prob * np.array(n)
        out.mean_dlt += prob * np.array(y)
        mtd = None if stopped else r_select_mtd(target, n, y, cutoff_eli, extrasafe, offset)
        if mtd is None:
            out.stop += prob
        else:
            out.selection[mtd] += prob

    def cohort(i: int, d: int, n: list[int], y: list[int], elimi: list[bool], prob: float) -> None:
        for tox in range(cohortsize + 1):
            pr = prob * float(pmf[d][tox])
            if pr == 0.0:
                continue
            nn, yy, el = list(n), list(y), list(elimi)
            last = sum(nn) + cohortsize >= npts
            nn[d] += cohortsize
            yy[d] += tox
            if last:  # R adds the final cohort and leaves the loop before any check
                finish(nn, yy, pr, False)
                continue
            nd_, yd = nn[d], yy[d]
            if b_elim[nd_ - 1] is not None:
                if yd >= b_elim[nd_ - 1]:  # type: ignore[operator]
                    for j in range(d, k):
                        el[j] = True
                    if d == 0:
                        finish(nn, yy, pr, True)
                        continue
                if (
                    extrasafe
                    and d == 0
                    and nn[0] >= 3
                    and _sf(target, yy[0] + 1, nn[0] - yy[0] + 1) > cutoff_eli - offset
                ):
                    finish(nn, yy, pr, True)
                    continue
            e, dd = b_e[nd_ - 1], b_d[nd_ - 1]
            if nd_ >= n_earlystop and (
                (e < yd < dd) or (d == 0 and yd >= dd) or ((d == k - 1 or el[d + 1]) and yd <= e)
            ):
                finish(nn, yy, pr, False)
                continue
            nxt = d
            if yd <= e and d != k - 1:
                if not el[d + 1]:
                    nxt = d + 1
            elif yd >= dd and d != 0:
                nxt = d - 1
            if i + 1 == ncohort:
                finish(nn, yy, pr, False)
            else:
                cohort(i + 1, nxt, nn, yy, el, pr)

    cohort(0, startdose - 1, [0] * k, [0] * k, [False] * k, 1.0)
    return out
