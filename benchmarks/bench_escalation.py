"""Escalation benchmarks, each against a baseline measured in the same run.

* exact BOIN OCs (5 levels × 10 cohorts of 3) by dynamic programming over merged trial states,
  against brute-force enumeration of every outcome sequence (``exact_oc(merge=False)``); both
  must give the same probabilities;
* 10,000 simulated BOIN trials vectorised over trials, against a straightforward per-trial
  Python loop on the same tolerances; the loop's selections must equal the vectorised run's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from radiotrial.escalation import BoinDesign, exact_oc, simulate_oc
from radiotrial.escalation._engine import run_trials, tolerances

TRUTH = np.array([0.05, 0.15, 0.30, 0.45, 0.60])
LOOP_TRIALS = 1_000  # the loop runs on the first 1,000 trials; its time is scaled to 10,000


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
            if res.action[0] in (3, 4):  # STOP_TOXIC, STOP_SELECT
                stopped = res.action[0] == 3
                break
        sel[t] = -1 if stopped else design.select(n, y, elim)[0]
    return sel


def run() -> list[dict[str, Any]]:
    design = BoinDesign(0.3, 5, cohort_size=3, max_cohorts=10)
    u = tolerances(10_000, design.max_patients, 1)
    # warm the numba caches and check that each fast path equals its baseline
    merged, brute = exact_oc(design, TRUTH), exact_oc(design, TRUTH, merge=False)
    err = float(np.abs(merged.selection_prob - brute.selection_prob).max())
    if err > 1e-12 or abs(merged.stop_prob - brute.stop_prob) > 1e-12:
        raise AssertionError(f"merged and brute-force exact OCs differ by {err:.3g}")
    vec = run_trials(design, TRUTH, u).selected
    loop = _loop_trials(design, u[:LOOP_TRIALS])
    if not np.array_equal(loop, vec[:LOOP_TRIALS]):
        raise AssertionError("per-trial loop and vectorised simulation select differently")

    t_exact = _best(lambda: exact_oc(design, TRUTH))
    t_brute = _best(lambda: exact_oc(design, TRUTH, merge=False), repeat=1)
    t_vec = _best(lambda: simulate_oc(design, TRUTH, u=u))  # trials and their summary
    t_loop = _best(lambda: _loop_trials(design, u[:LOOP_TRIALS]), repeat=1) * (
        u.shape[0] / LOOP_TRIALS
    )
    return [
        {
            "name": f"exact BOIN OCs, 5 levels x 10 cohorts of 3 ({merged.n_states} states)",
            "value": t_exact,
            "unit": "s",
            "target": "< 1 s",
            "baseline_name": f"brute-force enumeration, {brute.n_states} outcome sequences",
            "baseline_value": t_brute,
            "ratio": t_brute / t_exact,
        },
        {
            "name": "10,000 simulated BOIN trials (vectorised)",
            "value": t_vec,
            "unit": "s",
            "target": "< 0.5 s",
            "baseline_name": (
                f"per-trial Python loop, same selections ({LOOP_TRIALS} trials, scaled x10)"
            ),
            "baseline_value": t_loop,
            "ratio": t_loop / t_vec,
        },
    ]
