"""BOIN against the R package BOIN's published outputs and analytic identities."""

from __future__ import annotations

from typing import Any

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
from tests.escalation._r_boin_port import r_exact_oc

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


@pytest.mark.parametrize(
    ("target", "truth", "ncohort", "cohortsize", "options"),
    [
        (0.3, TRUTH, 6, 3, {}),
        (0.25, [0.10, 0.25, 0.40, 0.50], 7, 3, {"extrasafe": True}),
        (0.3, [0.30, 0.45, 0.60], 8, 3, {"n_earlystop": 9, "start_level": 2}),
        (0.2, [0.05, 0.10, 0.20, 0.35, 0.50], 8, 2, {}),
        (0.3, [0.10, 0.30, 0.50], 10, 1, {}),
    ],
)
def test_exact_oc_equals_a_port_of_r_get_oc(
    target: float, truth: list[float], ncohort: int, cohortsize: int, options: dict[str, Any]
) -> None:
    # tests/escalation/_r_boin_port.py transcribes R BOIN 2.7.1's get.boundary, get.oc loop and
    # select.mtd independently of radiotrial and enumerates every outcome sequence; radiotrial's
    # dynamic programme over merged states must give the same probabilities to rounding
    r = r_exact_oc(
        target,
        truth,
        ncohort,
        cohortsize,
        n_earlystop=options.get("n_earlystop", 100),
        startdose=options.get("start_level", 1),
        extrasafe=options.get("extrasafe", False),
    )
    d = BoinDesign(target, len(truth), cohort_size=cohortsize, max_cohorts=ncohort, **options)
    ex = exact_oc(d, truth)
    assert ex.selection_prob == pytest.approx(r.selection, abs=1e-12)
    assert ex.stop_prob == pytest.approx(r.stop, abs=1e-12)
    assert ex.mean_n == pytest.approx(r.mean_n, abs=1e-11)
    assert ex.mean_dlt == pytest.approx(r.mean_dlt, abs=1e-11)


def test_brute_force_enumeration_equals_merged_states() -> None:
    d = BoinDesign(0.3, 5, max_cohorts=7)
    merged, brute = exact_oc(d, TRUTH), exact_oc(d, TRUTH, merge=False)
    assert brute.n_states is not None and merged.n_states is not None
    assert brute.n_states > 4 * merged.n_states  # the point of merging
    assert merged.selection_prob == pytest.approx(brute.selection_prob, abs=1e-13)
    assert merged.mean_n == pytest.approx(brute.mean_n, abs=1e-12)


def test_simulated_stop_and_dlt_counts_within_3_se_of_exact() -> None:
    # a toxic curve, so that early stopping is common enough to test
    truth = [0.35, 0.50, 0.60, 0.70, 0.80]
    d = BoinDesign(0.3, 5)
    ex = exact_oc(d, truth)
    t = 20_000
    sim = simulate_oc(d, truth, n_trials=t, seed=12)
    assert 0.1 < ex.stop_prob < 0.9
    assert abs(sim.stop_prob - ex.stop_prob) <= 3 * np.sqrt(ex.stop_prob * (1 - ex.stop_prob) / t)
    assert sim.mean_dlt_se is not None and sim.mean_total_dlt_se is not None
    assert np.all(np.abs(sim.mean_dlt - ex.mean_dlt) <= 3 * sim.mean_dlt_se + 1e-12)
    assert abs(sim.mean_total_dlt - ex.mean_total_dlt) <= 3 * sim.mean_total_dlt_se
    assert sim.mean_total_n_se is not None
    assert abs(sim.mean_total_n - ex.mean_total_n) <= 3 * sim.mean_total_n_se


def test_maximum_sample_size() -> None:
    d = BoinDesign(0.3, 5)  # 10 cohorts of 3
    full = "1NNN 2NNN 3NNN 3NTN 3NNN 3NNT 3NNN 3NNN 3NTN 3NNN"
    dec = d.decide(parse_outcomes(full, 5))
    assert (dec.action, dec.next_level, dec.mtd) == ("stop", None, 3)
    with pytest.raises(ValidationError, match=r"^history=.*33 patients exceed .* \(30\)"):
        d.decide(parse_outcomes(" ".join(["1NNT"] * 11), 5))


def test_n_earlystop_at_most_6_refused_as_r() -> None:
    # R BOIN 2.7.1 get.boundary: "n.earlystop is too low ... Recommend n.earlystop = 9 to 18"
    for bad in (3, 6):
        with pytest.raises(ValidationError, match=r"n_earlystop=\d: must be above 6"):
            BoinDesign(0.3, 5, n_earlystop=bad)
        with pytest.raises(ValidationError, match="n_earlystop"):
            boin_boundaries(0.3, 30).table(3, bad)
    assert BoinDesign(0.3, 5, n_earlystop=7).n_earlystop == 7
