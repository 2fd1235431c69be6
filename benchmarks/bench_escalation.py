"""Escalation benchmarks: exact BOIN OCs, vectorised BOIN simulation vs a per-trial loop."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from radiotrial.escalation import BoinDesign, exact_oc, simulate_oc
from radiotrial.escalation._engine import tolerances

TRUTH = np.array([0.05, 0.15, 0.30, 0.45, 0.60])


def _best(fn: Any, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def _loop_trials(design: BoinDesign, u: np.ndarray) -> np.ndarray:
    """Straightforward baseline: one trial at a time, one decision at a time."""
    sel = np.empty(u.shape[0], np.int64)
    k = design.n_levels
    c = design.cohort_size
    for t in range(u.shape[0]):
        d = np.array([design.start_level])
        elim = np.array([k])
        n = np.zeros((1, k), np.int64)
        y = np.zeros((1, k), np.int64)
        stopped = False
        for cohort in range(design.max_cohorts):
            kk = int((u[t, cohort * c : (cohort + 1) * c] < TRUTH[d[0]]).sum())
            n[0, d[0]] += c
            y[0, d[0]] += kk
            res = design.step(d, n, y, np.array([kk]), elim)
            elim, d = res.elim, res.next_level
            if res.action[0] in (3, 4):
                stopped = res.action[0] == 3
                break
        sel[t] = -1 if stopped else design.select(n, y, elim)[0]
    return sel


def run() -> list[dict[str, Any]]:
    design = BoinDesign(0.3, 5, cohort_size=3, max_cohorts=10)
    exact_oc(design, TRUTH)  # warm numba caches
    simulate_oc(design, TRUTH, n_trials=100)
    t_exact = _best(lambda: exact_oc(design, TRUTH))
    u = tolerances(10_000, 30, 1)
    t_vec = _best(lambda: simulate_oc(design, TRUTH, u=u))
    u_small = u[:500]
    t_loop = _best(lambda: _loop_trials(design, u_small), repeat=1) * (10_000 / 500)
    return [
        {
            "name": "exact BOIN OCs, 5 levels x 10 cohorts of 3",
            "value": t_exact,
            "unit": "s",
            "target": "< 1 s",
            "baseline_name": (
                "R BOIN get.oc, 10,000 simulated trials (~6 s per the issue; not run here)"
            ),
            "baseline_value": 6.0,
            "ratio": 6.0 / t_exact,
        },
        {
            "name": "10,000 simulated BOIN trials (vectorised)",
            "value": t_vec,
            "unit": "s",
            "target": "< 0.5 s",
            "baseline_name": ("per-trial Python loop, same decisions (500 trials, scaled x20)"),
            "baseline_value": t_loop,
            "ratio": t_loop / t_vec,
        },
    ]
