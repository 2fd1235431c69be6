"""Time-to-event designs: weights (dfcrm formulas), reduction to BOIN, decisions."""

from __future__ import annotations

import numpy as np
import pytest

from radiotrial.escalation import BoinDesign, DoseLevels, Patient, TrialState, getprior
from radiotrial.escalation._engine import run_trials, tolerances
from radiotrial.escalation._tite import TiteBoinDesign, TiteCrmDesign, TiteSettings, tite_weights


def test_linear_and_adaptive_weights() -> None:
    w = tite_weights([10, 20, 30, 42], [0, 1, 0, 0], 42)
    assert w == pytest.approx([10 / 42, 1, 30 / 42, 1])
    # adaptive (Cheung & Chappell 2000, dfcrm): one DLT at u=20, z = 1
    w = tite_weights([10, 20, 30, 42], [0, 1, 0, 0], 42, scheme="adaptive")
    assert w == pytest.approx([10 / 20 / 2, 1, (1 + (30 - 20) / (42 - 20)) / 2, 1])


def test_tite_boin_with_slow_accrual_is_boin() -> None:
    # one patient per 10 windows: every outcome is complete before the next cohort, so
    # TITE-BOIN must take BOIN's decisions trial by trial on the same tolerances
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    u = tolerances(3000, 30, 4)
    tb = TiteBoinDesign(0.3, 5).simulate(p, settings=TiteSettings(42, 0.1), u=u, seed=4)
    boin = run_trials(BoinDesign(0.3, 5), np.array(p), u)
    sel = np.bincount(boin.selected[boin.selected >= 0], minlength=5) / 3000
    assert tb.selection_prob == pytest.approx(sel, abs=1e-12)
    assert tb.mean_n == pytest.approx(boin.n.mean(axis=0), abs=1e-12)
    assert tb.extra["mean_suspensions"] == 0


def test_tite_boin_fast_accrual_suspends_and_shortens() -> None:
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    fast = TiteBoinDesign(0.3, 5).simulate(p, settings=TiteSettings(42, 6), n_trials=1000, seed=2)
    slow = TiteBoinDesign(0.3, 5).simulate(p, settings=TiteSettings(42, 0.5), n_trials=1000, seed=2)
    assert fast.extra["mean_duration"] < slow.extra["mean_duration"]
    assert fast.extra["mean_suspensions"] > 0
    assert fast.selection_prob.sum() + fast.stop_prob == pytest.approx(1)


def test_tite_boin_decision_uses_effective_sample_size() -> None:
    lv = DoseLevels.numbered(5)
    pts = (
        Patient(1, False),
        Patient(1, False),
        Patient(1, False),
        Patient(2, False),
        Patient(2, False),
        Patient(2, False),
        Patient(2, None, 21.0),
    )
    dec = TiteBoinDesign(0.3, 5).decide(TrialState(lv, pts))
    assert dec.details["effective_n"] == pytest.approx(3 + 0.5)
    assert dec.action == "escalate" and dec.next_level == 3
    pts2 = (*pts[:3], Patient(2, None, 5.0), Patient(2, True, 10.0), Patient(2, None, 5.0))
    assert TiteBoinDesign(0.3, 5).decide(TrialState(lv, pts2)).action == "suspend"


def test_tite_crm_decision_and_simulation() -> None:
    skel = getprior(0.05, 0.3, 3, 5)
    d = TiteCrmDesign(skel, 0.3, cohort_size=3, max_cohorts=6)
    lv = DoseLevels.numbered(5)
    pts = (Patient(1, False), Patient(1, False), Patient(1, None, 21.0))
    dec = d.decide(TrialState(lv, pts))
    assert dec.details["weights"] == pytest.approx([1, 1, 0.5])
    assert dec.next_level in (1, 2)
    oc = d.simulate([0.05, 0.15, 0.30, 0.45, 0.60], n_trials=500, seed=1)
    assert oc.selection_prob.sum() + oc.stop_prob == pytest.approx(1)
    assert oc.mean_total_n == pytest.approx(18)
