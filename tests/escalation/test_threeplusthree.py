"""3+3 exact OCs against closed-form binomial formulas (Storer 1989; Lin & Shih 2001)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom

from radiotrial.escalation import ThreePlusThree, exact_oc, parse_outcomes, simulate_oc

P = np.array([0.05, 0.15, 0.30, 0.45, 0.60])


def b(k: int, p: np.ndarray) -> np.ndarray:
    return binom.pmf(k, 3, p)


def test_escalation_only_closed_form() -> None:
    oc = exact_oc(ThreePlusThree(5), P)
    # probability of escalating past a level: 0/3, or 1/3 then 0/3
    e = b(0, P) + b(1, P) * b(0, P)
    assert oc.stop_prob == pytest.approx(1 - e[0], abs=1e-12)
    for j in range(1, 4):  # MTD = level j (1-based) for j = 1..3: pass 1..j, fail j+1
        assert oc.selection_prob[j - 1] == pytest.approx(np.prod(e[:j]) * (1 - e[j]), abs=1e-12)
    # top level: 0/3 is confirmed by 3 more; ≤1 DLT in 6 makes level 5 the MTD
    top_ok = b(0, P[4]) * (b(0, P[4]) + b(1, P[4])) + b(1, P[4]) * b(0, P[4])
    reach = np.prod(e[:4])
    assert oc.selection_prob[4] == pytest.approx(reach * top_ok, abs=1e-12)
    assert oc.selection_prob[3] == pytest.approx(reach * (1 - top_ok), abs=1e-12)
    # expected patients at level 1: 3 + 3·P(1/3)
    assert oc.mean_n[0] == pytest.approx(3 + 3 * b(1, P[0]), abs=1e-12)
    assert oc.selection_prob.sum() + oc.stop_prob == pytest.approx(1.0, abs=1e-12)


def test_deescalation_variant_expands_lower_level() -> None:
    d = ThreePlusThree(5, variant="de-escalation")
    dec = d.decide(parse_outcomes("1NNN 2NNN 3TTN", 5))
    assert dec.action == "de-escalate" and dec.next_level == 2
    dec = d.decide(parse_outcomes("1NNN 2NNN 3TTN 2NTN", 5))
    assert dec.next_level is None and dec.mtd == 2
    dec = d.decide(parse_outcomes("1NNN 2NNN 3TTN 2TTN", 5))
    assert dec.next_level == 1
    # two levels, every path enumerated: level 2 "fails" with ≥2 DLTs among its 3 or 6
    # patients (0/3 at the top is confirmed by 3 more); level 1 then needs ≤1 DLT in 6.
    p1, p2 = 0.1, 0.4
    ge1 = lambda p: 1 - b(0, p)  # noqa: E731
    ge2 = lambda p: b(2, p) + b(3, p)  # noqa: E731
    fail2 = ge2(p2) + b(1, p2) * ge1(p2) + b(0, p2) * ge2(p2)
    le1 = b(0, p1) + b(1, p1)
    expected = b(0, p1) * fail2 * le1 + b(1, p1) * b(0, p1) * fail2
    oc = exact_oc(ThreePlusThree(2, variant="de-escalation"), [p1, p2])
    assert oc.selection_prob[0] == pytest.approx(expected, abs=1e-12)
    assert oc.selection_prob[1] == pytest.approx(
        (b(0, p1) + b(1, p1) * b(0, p1)) * (1 - fail2), abs=1e-12
    )


@pytest.mark.parametrize("variant", ["escalation-only", "de-escalation"])
def test_simulation_matches_exact(variant: str) -> None:
    d = ThreePlusThree(5, variant=variant)  # type: ignore[arg-type]
    ex = exact_oc(d, P)
    sim = simulate_oc(d, P, n_trials=20_000, seed=5)
    se = np.sqrt(ex.selection_prob * (1 - ex.selection_prob) / 20_000)
    assert np.all(np.abs(sim.selection_prob - ex.selection_prob) <= 3 * se + 1e-12)


@pytest.mark.parametrize("variant", ["escalation-only", "de-escalation"])
def test_more_toxic_truth_never_selects_higher(variant: str) -> None:
    # invariant: raising every level's DLT probability never raises P(select level ≥ j)
    d = ThreePlusThree(5, variant=variant)  # type: ignore[arg-type]
    prev = None
    for shift in np.linspace(-0.04, 0.3, 8):
        oc = exact_oc(d, np.clip(P + shift, 0, 1))
        tail = np.cumsum(oc.selection_prob[::-1])[::-1]
        if prev is not None:
            assert np.all(tail <= prev + 1e-12)
        prev = tail


def test_truncated_trial_selects_by_the_documented_rule() -> None:
    # the cohort cap ends the trial while level 2 has 1/3 (3 more were due): level 2 is not
    # yet 0/3 or ≤1/6, so the MTD is level 1 (0/3), not level 2
    d = ThreePlusThree(5, max_cohorts=2)
    dec = d.decide(parse_outcomes("1NNN 2NTN", 5))
    assert (dec.action, dec.next_level, dec.mtd) == ("stop", None, 1)
    # exact OCs of the same truncated design: P(MTD = 2) needs 0/3 at level 2 after 0/3 at 1
    oc = exact_oc(d, P)
    assert oc.selection_prob[1] == pytest.approx(b(0, P[0]) * b(0, P[1]), abs=1e-12)
    # with ≤1/6 at level 2 the de-escalation variant selects it when the cap ends the trial
    d6 = ThreePlusThree(5, variant="de-escalation", max_cohorts=3)
    assert d6.decide(parse_outcomes("1NNN 2NTN 2NNN", 5)).mtd == 2
