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


FULL = "1NNN 2NNN 3NNN 3NTN 3NNN 3NNT 3NNN 3NNN 3NTN 3NNN"  # 30 patients, complete


def test_tite_designs_stop_at_the_maximum_sample_size_as_boin() -> None:
    from radiotrial.escalation import parse_outcomes

    st = parse_outcomes(FULL, 5)
    boin = BoinDesign(0.3, 5).decide(st)
    tb = TiteBoinDesign(0.3, 5).decide(st)
    assert (boin.action, boin.next_level, boin.mtd) == ("stop", None, 3)
    # complete data: TITE-BOIN is BOIN, including the stop and the selected MTD
    assert (tb.action, tb.next_level, tb.mtd) == (boin.action, boin.next_level, boin.mtd)
    tc = TiteCrmDesign(getprior(0.05, 0.3, 3, 5), 0.3, cohort_size=3, max_cohorts=10).decide(st)
    assert (tc.action, tc.next_level) == ("stop", None) and tc.mtd is not None
    # with patients still pending at the stop, no MTD is named yet
    lv = DoseLevels.numbered(5)
    pending = TrialState(lv, (*st.patients[:-1], Patient(3, None, 10.0)))
    dec = TiteBoinDesign(0.3, 5).decide(pending)
    assert dec.action == "stop" and dec.mtd is None and "1 pending" in dec.reason


def test_suspension_is_its_own_field() -> None:
    lv = DoseLevels.numbered(5)
    pts = (
        Patient(1, False),
        Patient(1, False),
        Patient(1, False),
        Patient(2, None, 5.0),
        Patient(2, True, 10.0),
        Patient(2, None, 5.0),
    )
    data = TiteBoinDesign(0.3, 5).decide(TrialState(lv, pts)).to_dict()
    # next_level keeps its meaning (None = stop): a suspension names the level to resume at
    assert data["action"] == "suspend" and data["accrual_suspended"] is True
    assert data["next_level"] == 2
    ok = BoinDesign(0.3, 5).decide(TrialState(lv, pts[:3], ((0, 1, 2),))).to_dict()
    assert ok["accrual_suspended"] is False


def test_tite_crm_suspension_rules() -> None:
    skel = getprior(0.05, 0.3, 3, 5)
    lv = DoseLevels.numbered(5)
    pts = (Patient(1, False), Patient(1, None, 30.0), Patient(1, None, 30.0))
    plain = TiteCrmDesign(skel, 0.3, cohort_size=3, max_cohorts=6).decide(TrialState(lv, pts))
    assert plain.action == "escalate" and not plain.accrual_suspended  # dfcrm: no suspension
    held = TiteCrmDesign(skel, 0.3, cohort_size=3, max_cohorts=6, max_pending=0.5)
    dec = held.decide(TrialState(lv, pts))
    assert (dec.action, dec.next_level, dec.accrual_suspended) == ("suspend", 1, True)
    waits = TiteCrmDesign(skel, 0.3, cohort_size=3, max_cohorts=6, min_complete=3)
    assert waits.decide(TrialState(lv, pts)).action == "suspend"
    # in simulation, the rules hold accrual and lengthen the trial
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    st = TiteSettings(42, 6)
    free = TiteCrmDesign(skel, 0.3, cohort_size=3, max_cohorts=6).simulate(
        p, settings=st, n_trials=300, seed=3
    )
    slow = waits.simulate(p, settings=st, n_trials=300, seed=3)
    assert free.extra["mean_suspensions"] == 0
    assert slow.extra["mean_suspensions"] > 0
    assert slow.extra["mean_duration"] > free.extra["mean_duration"]
    assert slow.selection_prob.sum() + slow.stop_prob == pytest.approx(1)


def test_tite_history_beyond_maximum_refused() -> None:
    from radiotrial.errors import ValidationError
    from radiotrial.escalation import parse_outcomes

    with pytest.raises(ValidationError, match="history.*exceed the design's maximum"):
        TiteBoinDesign(0.3, 5, max_cohorts=2).decide(parse_outcomes("1NNN 2NNN 3NNN", 5))
