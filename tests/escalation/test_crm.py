"""CRM against dfcrm's documented recommendations, independent quadrature and dfcrm's
calibration identities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit

from radiotrial.errors import ValidationError
from radiotrial.escalation import (
    CrmDesign,
    CrmModel,
    crm_indifference_intervals,
    exact_oc,
    getprior,
    parse_outcomes,
    simulate_oc,
)

# dfcrm ``crm`` help-page example data
PRIOR = [0.05, 0.10, 0.20, 0.35, 0.50, 0.70]
LEVEL = [3, 4, 4, 3, 3, 4, 3, 2, 2, 2]
TOX = [0, 0, 1, 0, 0, 1, 1, 0, 0, 0]


def _quad_posterior_mean(model: str, intercept: float = 3.0) -> float:
    s = np.array(PRIOR)
    lv = np.array(LEVEL) - 1
    y = np.array(TOX)

    def f(a: float) -> np.ndarray:
        if model == "empiric":
            return s[lv] ** np.exp(a)
        x = np.log(s / (1 - s)) - intercept
        return expit(intercept + np.exp(a) * x[lv])

    def lik(a: float) -> float:
        p = f(a)
        return float(np.prod(p**y * (1 - p) ** (1 - y)) * math.exp(-a * a / 2 / 1.34))

    den = integrate.quad(lik, -15, 15, epsabs=0, epsrel=1e-12, limit=200)[0]
    num = integrate.quad(lambda a: a * lik(a), -15, 15, epsabs=0, epsrel=1e-12, limit=200)[0]
    return num / den


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_posterior_mean_matches_adaptive_quadrature(model: str) -> None:
    fit = CrmModel(PRIOR, 0.2, model=model).fit(LEVEL, TOX)  # type: ignore[arg-type]
    # trapezoid on 401 nodes is spectrally accurate here; dfcrm's integrate() has rel.tol 1.2e-4
    a = _quad_posterior_mean(model)
    assert fit.a_hat == pytest.approx(a, abs=1e-8)
    # dfcrm's plug-in curve at the quadrature mean, and its rule: the level closest to target
    s = np.array(PRIOR)
    if model == "empiric":
        curve = s ** math.exp(a)
    else:
        curve = expit(3.0 + math.exp(a) * (np.log(s / (1 - s)) - 3.0))
    assert fit.p_hat == pytest.approx(curve, abs=1e-8)
    assert fit.mtd == int(np.argmin(np.abs(curve - 0.2))) + 1


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    # documented dfcrm::crm recommendations (empiric model, N(0, 1.34) prior), through the R
    # package escalation, whose get_dfcrm() calls dfcrm::crm: skeleton 0.05, 0.1, 0.25, 0.4, 0.6,
    # target 0.25; '1NNN 2NTN' -> 2 (get_dfcrm help page example) and '1NNN 2NTT' -> 1
    # (escalation's test of its dfcrm selector, tests/testthat/test_dfcrm.R)
    [("1NNN 2NTN", 2), ("1NNN 2NTT", 1)],
)
def test_dfcrm_documented_recommendations(outcomes: str, expected: int) -> None:
    st = parse_outcomes(outcomes, 5)
    fit = CrmModel([0.05, 0.1, 0.25, 0.4, 0.6], 0.25).fit(
        [p.level for p in st.patients], [int(bool(p.dlt)) for p in st.patients]
    )
    assert fit.mtd == expected


def test_tite_crm_cheung_2011_example() -> None:
    # Cheung (2011), Dose Finding by the CRM, p. 124, as reproduced in trialr's TITE-CRM
    # vignette: four patients at level 3 without DLT, followed 73, 66, 35 and 28 days of a
    # 126-day window; skeleton 0.05, 0.12, 0.25, 0.40, 0.55, target 0.25, empiric model:
    # level 4 is recommended for the next patient
    fit = CrmModel([0.05, 0.12, 0.25, 0.40, 0.55], 0.25).fit(
        [3, 3, 3, 3], [0, 0, 0, 0], weights=np.array([73, 66, 35, 28]) / 126
    )
    assert fit.mtd == 4


def test_no_data_gives_the_skeleton() -> None:
    m = CrmModel(PRIOR, 0.2)
    fit = m.fit([], [])
    assert fit.a_hat == pytest.approx(0.0, abs=1e-12)  # symmetric prior
    assert fit.p_hat == pytest.approx(PRIOR, abs=1e-12)
    assert fit.mtd == 3  # 0.20 is the target


@pytest.mark.parametrize("model", ["empiric", "logistic"])
@pytest.mark.parametrize(
    ("delta", "target", "nu", "k"), [(0.05, 0.25, 3, 5), (0.10, 0.25, 3, 6), (0.04, 0.3, 1, 4)]
)
def test_getprior_indifference_intervals(
    model: str, delta: float, target: float, nu: int, k: int
) -> None:
    skel = getprior(delta, target, nu, k, model=model)  # type: ignore[arg-type]
    assert skel[nu - 1] == pytest.approx(target, rel=1e-12)
    assert np.all(np.diff(skel) > 0)
    # Lee & Cheung (2009): the calibrated skeleton has indifference intervals target ± δ
    iint = crm_indifference_intervals(CrmModel(skel, target, model=model))  # type: ignore[arg-type]
    assert iint[1:, 0] == pytest.approx(target - delta, abs=1e-9)
    assert iint[:-1, 1] == pytest.approx(target + delta, abs=1e-9)


def test_restrictions() -> None:
    d = CrmDesign(getprior(0.05, 0.3, 4, 5), 0.3)
    # three non-toxic cohorts at level 1: no skipping, at most level 2
    assert d.decide(parse_outcomes("1NNN", 5)).next_level == 2
    # a toxic cohort (2/3 ≥ 0.3) forbids escalation
    dec = d.decide(parse_outcomes("1NNN 2NNN 3TTN", 5))
    assert dec.next_level is not None and dec.next_level <= 3
    assert "a_hat" in dec.details and len(dec.details["p_hat"]) == 5


def test_overdose_control_and_stopping() -> None:
    d = CrmDesign(getprior(0.05, 0.3, 3, 5), 0.3, overdose_max=0.25, stop_threshold=0.9)
    dec = d.decide(parse_outcomes("1TTT", 5))
    assert dec.action == "stop" and dec.mtd is None
    dec = d.decide(parse_outcomes("1NNN 2NNN 3NTN", 5))
    po = np.array(dec.details["p_overdose"])
    assert dec.next_level is not None and po[dec.next_level - 1] <= 0.25


def test_exact_vs_simulated() -> None:
    d = CrmDesign(getprior(0.05, 0.3, 3, 5), 0.3, max_cohorts=6)
    p = [0.05, 0.15, 0.30, 0.45, 0.60]
    ex = exact_oc(d, p)
    assert ex.selection_prob.sum() + ex.stop_prob == pytest.approx(1, abs=1e-12)
    sim = simulate_oc(d, p, n_trials=10_000, seed=3)
    se = np.sqrt(ex.selection_prob * (1 - ex.selection_prob) / 10_000)
    assert np.all(np.abs(sim.selection_prob - ex.selection_prob) <= 3 * se + 1e-12)


def test_bad_skeleton() -> None:
    with pytest.raises(ValidationError, match="skeleton"):
        CrmModel([0.1, 0.3, 0.2], 0.3)
    with pytest.raises(ValidationError, match="skeleton"):
        CrmModel([0.0, 0.3, 0.5], 0.3)
    with pytest.raises(ValidationError, match="intercept"):
        CrmModel([0.1, 0.5, 0.99], 0.3, model="logistic", intercept=1.0)
