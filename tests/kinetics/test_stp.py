"""Single-time-point methods against their analytic identities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiotrial.errors import ValidationError
from radiotrial.kinetics import hanscheid_bias, hanscheid_tia, hanscheid_valid_range, madsen_tia

LN2 = math.log(2.0)


@pytest.mark.parametrize("t_eff_h", [24.0, 67.0, 96.0, 160.0])
def test_hanscheid_exact_when_scan_time_equals_t_eff(t_eff_h):
    a0 = 500.0
    a_t = a0 * math.exp(-LN2)  # scanned at t = T_eff
    res = hanscheid_tia(a_t, t_eff_h)
    assert res.tia_mbq_h == pytest.approx(a0 * t_eff_h / LN2, rel=1e-12)


def test_hanscheid_bias_shape():
    # exact at x = 1/2 and x = 1, maximum 2/(e ln2) at x = ln2 (derivative of 2/(x 2^{1/x}))
    assert hanscheid_bias([0.5, 1.0]) == pytest.approx([1.0, 1.0], rel=1e-12)
    assert float(hanscheid_bias(LN2)) == pytest.approx(2 / (math.e * LN2), rel=1e-12)
    lo, hi = hanscheid_valid_range(0.1)
    assert float(hanscheid_bias(lo)) == pytest.approx(0.9, abs=1e-9)
    assert float(hanscheid_bias(hi)) == pytest.approx(0.9, abs=1e-9)
    x = np.linspace(lo, hi, 200)
    assert np.all(np.abs(hanscheid_bias(x) - 1) <= 0.1 + 1e-9)


def test_madsen_exact_and_optimal_time():
    a0, te = 300.0, 50.0
    t = 72.0
    res = madsen_tia(a0 * math.exp(-LN2 * t / te), t, te, t_eff_sd_h=10.0)
    assert res.tia_mbq_h == pytest.approx(a0 * te / LN2, rel=1e-12)
    # at t* = T_eff/ln2 the half-life uncertainty does not propagate (∂lnTIA/∂lnT = 1 − λt)
    t_star = te / LN2
    res_star = madsen_tia(a0 * math.exp(-LN2 * t_star / te), t_star, te, t_eff_sd_h=10.0)
    assert res_star.tia_sd_mbq_h == pytest.approx(0.0, abs=1e-9 * res_star.tia_mbq_h)
    assert res.tia_sd_mbq_h > 0


def test_madsen_sd_matches_monte_carlo():
    rng = np.random.default_rng(2)
    te, sd, t, a = 60.0, 6.0, 24.0, 100.0
    samples = rng.normal(te, sd, 200_000)
    lam = LN2 / samples
    mc = np.std(a * np.exp(lam * t) / lam)
    # delta method vs MC at 10 % half-life spread: first-order error ~1 %, MC error ~0.2 %
    assert madsen_tia(a, t, te, t_eff_sd_h=sd).tia_sd_mbq_h == pytest.approx(mc, rel=0.03)


def test_stp_bad_input():
    with pytest.raises(ValidationError):
        hanscheid_tia(-1.0, 96.0)
    with pytest.raises(ValidationError):
        madsen_tia(1.0, 0.0, 50.0)
    with pytest.raises(ValidationError):
        madsen_tia(1.0, 24.0, -5.0)
