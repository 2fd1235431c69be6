"""CRM against independent adaptive quadrature and dfcrm's calibration identities."""

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
    assert fit.a_hat == pytest.approx(_quad_posterior_mean(model), abs=1e-8)
    assert fit.mtd in range(1, 7)
    assert np.all(np.diff(fit.p_hat) > 0)


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
