"""BOIN against the R package BOIN's published outputs and analytic identities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from radiotrial.errors import ValidationError
from radiotrial.escalation import (
    BoinDesign,
    boin_boundaries,
    boin_select_mtd,
    exact_oc,
    parse_outcomes,
    simulate_oc,
)

TRUTH = [0.05, 0.15, 0.30, 0.45, 0.60]


@pytest.mark.parametrize(
    ("target", "lam_e", "lam_d"),
    # Liu & Yuan (2015), JRSS-C 64:507 and the BOIN docs (p_saf = 0.6φ, p_tox = 1.4φ), 3 decimals
    [(0.2, 0.157, 0.238), (0.25, 0.197, 0.298), (0.3, 0.236, 0.358)],
)
def test_lambda_table(target: float, lam_e: float, lam_d: float) -> None:
    b = boin_boundaries(target, 30)
    # 3 printed decimals; λd(0.3) = 0.35852 is printed 0.358 (truncated), so allow one unit
    assert b.lambda_e == pytest.approx(lam_e, abs=1e-3)
    assert b.lambda_d == pytest.approx(lam_d, abs=1e-3)


def test_boundary_table_matches_r_package_for_target_03() -> None:
    # get.boundary(target=0.3, ncohort=10, cohortsize=3)$boundary_tab (BOIN docs / JSS 2020)
    rows = boin_boundaries(0.3, 30).table(3)
    assert [r["n"] for r in rows] == list(range(3, 31, 3))
    assert [r["escalate_if_dlt_le"] for r in rows] == [0, 1, 2, 2, 3, 4, 4, 5, 6, 7]
    assert [r["deescalate_if_dlt_ge"] for r in rows] == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert [r["eliminate_if_dlt_ge"] for r in rows] == [3, 4, 5, 7, 8, 9, 10, 11, 12, 14]


def test_elimination_boundary_is_the_beta_posterior_rule() -> None:
    b = boin_boundaries(0.3, 30, extrasafe=True)
    assert b.stop_min is not None
    for n in range(3, 31):
        e = int(b.eliminate_min[n - 1])
        assert stats.beta.sf(0.3, e + 1, n - e + 1) > 0.95
        assert stats.beta.sf(0.3, e, n - e + 2) <= 0.95
        s = int(b.stop_min[n - 1])
        assert stats.beta.sf(0.3, s + 1, n - s + 1) > 0.90 >= stats.beta.sf(0.3, s, n - s + 2)


def test_select_mtd_r_docs_example() -> None:
    out = boin_select_mtd(0.3, [3, 3, 15, 9, 0], [0, 0, 4, 4, 0])
    assert out["mtd"] == 3
    # Beta(0.05, 0.05) posterior means; already monotone so PAVA leaves them unchanged
    assert out["p_est"][2] == pytest.approx(4.05 / 15.1, rel=1e-12)
    assert out["p_est"][4] is None


def test_select_mtd_ties_and_elimination() -> None:
    # pooled (tied) estimates below the target: the highest of the tie is chosen
    assert boin_select_mtd(0.3, [3, 3, 0], [0, 0, 0])["mtd"] == 2
    # level 1 eliminated (3/3): no MTD
    assert boin_select_mtd(0.3, [3, 0, 0], [3, 0, 0])["mtd"] is None
    # extrasafe stops at 2/3? Pr(p>0.3 | Beta(3,2)) = 0.9163 > 0.90
    assert boin_select_mtd(0.3, [3, 3], [2, 0], extrasafe=True)["mtd"] is None
    assert boin_select_mtd(0.3, [3, 3], [2, 0])["mtd"] is not None


def test_decisions() -> None:
    d = BoinDesign(0.3, 5)
    assert d.decide(parse_outcomes("1NNN 2NTT", 5)).next_level == 1
    assert d.decide(parse_outcomes("1NNN 2NNN", 5)).next_level == 3
    assert d.decide(parse_outcomes("1NNN 2NTN", 5)).next_level == 2
    stop = d.decide(parse_outcomes("1TTT", 5))
    assert stop.next_level is None and stop.mtd is None and stop.action == "stop"
    # level 2 eliminated (3/3), de-escalate; then 0/3 at level 1 must not re-escalate into it
    assert d.decide(parse_outcomes("1NNN 2TTT", 5)).next_level == 1
    assert d.decide(parse_outcomes("1NNN 2TTT 1NNN", 5)).next_level == 1
    assert d.decide(parse_outcomes("", 5)).next_level == 1


def test_n_earlystop() -> None:
    d = BoinDesign(0.3, 3, n_earlystop=9, max_cohorts=10)
    dec = d.decide(parse_outcomes("1NNN 2NTN 2NNT 2NTN", 3))  # 3/9 at level 2: stay → stop
    assert dec.next_level is None and dec.mtd == 2


def test_exact_probabilities_sum_to_one() -> None:
    oc = exact_oc(BoinDesign(0.3, 5), TRUTH)
    assert oc.selection_prob.sum() + oc.stop_prob == pytest.approx(1.0, abs=1e-12)
    assert oc.mean_total_n <= 30 + 1e-12
    assert np.all(oc.mean_dlt <= oc.mean_n)


def test_simulated_within_3_se_of_exact() -> None:
    d = BoinDesign(0.3, 5)
    ex = exact_oc(d, TRUTH)
    sim = simulate_oc(d, TRUTH, n_trials=20_000, seed=11)
    t = 20_000
    # binomial SE from the exact probability (the simulated one underestimates rare events)
    se = np.sqrt(ex.selection_prob * (1 - ex.selection_prob) / t)
    assert np.all(np.abs(sim.selection_prob - ex.selection_prob) <= 3 * se + 1e-12)
    assert sim.mean_n_se is not None
    assert np.all(np.abs(sim.mean_n - ex.mean_n) <= 3 * sim.mean_n_se + 1e-12)


def test_more_toxic_truth_never_selects_higher() -> None:
    d = BoinDesign(0.3, 5)
    base = np.array(TRUTH)
    prev = None
    for shift in np.linspace(-0.04, 0.3, 8):
        oc = exact_oc(d, np.clip(base + shift, 0, 1))
        tail = np.cumsum(oc.selection_prob[::-1])[::-1]  # P(select ≥ j)
        if prev is not None:
            assert np.all(tail <= prev + 1e-12)
        prev = tail


def test_bad_input() -> None:
    with pytest.raises(ValidationError, match="target"):
        boin_boundaries(0.7, 30)
    with pytest.raises(ValidationError, match="target"):
        BoinDesign(0.04, 5)
    with pytest.raises(ValidationError, match="truth"):
        exact_oc(BoinDesign(0.3, 3), [0.1, 0.2, 1.5])
    with pytest.raises(ValidationError, match="history"):
        BoinDesign(0.3, 3).decide(parse_outcomes("1NNN 4NNN", 3))
