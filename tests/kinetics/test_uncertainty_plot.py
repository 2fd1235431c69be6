"""EANM-style uncertainty combination (Monte Carlo check) and the TAC plot."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiotrial.errors import ValidationError
from radiotrial.kinetics import (
    fit_tac,
    fit_tacs,
    plot_tac_fit,
    random_activity_sd_mbq,
    total_tia_sd_mbq_h,
)

LN2 = math.log(2.0)
T = np.array([4.0, 24.0, 72.0, 168.0])


def test_poisson_and_other_random_components():
    sd = random_activity_sd_mbq([100.0, 50.0], counts=[10_000, 2_500], other_random_rel_sd=0.03)
    assert sd == pytest.approx([100 * math.sqrt(1e-4 + 9e-4), 50 * math.sqrt(4e-4 + 9e-4)])
    with pytest.raises(ValidationError):
        random_activity_sd_mbq([1.0], counts=[0])


def test_total_sd_matches_monte_carlo_with_shared_calibration():
    # truth: mono-exponential; each replicate draws ONE calibration error (shared by all time
    # points) and independent 4 % errors per point
    rng = np.random.default_rng(21)
    truth = 200 * np.exp(-LN2 * T / 55.0)
    n = 3000
    cal = 1 + 0.06 * rng.standard_normal((n, 1))
    y = truth * cal * (1 + 0.04 * rng.standard_normal((n, T.size)))
    sigma = random_activity_sd_mbq(truth, other_random_rel_sd=0.04)
    batch = fit_tacs(T, y, model="mono", sigma_mbq=sigma)
    total = total_tia_sd_mbq_h(
        np.median(batch.tia_mbq_h), np.median(batch.tia_sd_mbq_h), calibration_rel_sd=0.06
    )
    # MC SD of an SD with 3000 samples: ~1.3 %; first-order propagation: a few % -> 8 %
    assert float(total) == pytest.approx(float(np.std(batch.tia_mbq_h, ddof=1)), rel=0.08)
    # the fit alone (random part) must under-estimate the spread: the shared part is missing
    assert np.median(batch.tia_sd_mbq_h) < 0.8 * np.std(batch.tia_mbq_h)


def test_tia_sd_coverage_with_absolute_and_with_estimated_scale():
    # 4000 noisy mono-exponential TACs (4 points, 5 % normal noise). With the true σ given
    # (absolute), TIA ± 2 SD covers the truth in 95.4 % of the fits (normal); with relative
    # weights the scale is estimated from 2 residual degrees of freedom, so ±2 SD covers only
    # P(|t₂| ≤ 2) = 81.6 % (Student's t): the reported SD is the standard uncertainty, not a
    # 95 % interval. Tolerance: 4 binomial SD (≈ 1.3 and 2.5 points) plus 1 point for the
    # first-order (delta-method) propagation.
    rng = np.random.default_rng(8)
    n = 4000
    truth_y = 200 * np.exp(-LN2 * T / 55.0)
    y = truth_y * (1 + 0.05 * rng.standard_normal((n, T.size)))
    truth = 200 * 55.0 / LN2
    absolute = fit_tacs(T, y, model="mono", sigma_mbq=0.05 * truth_y)
    z = (np.asarray(absolute.tia_mbq_h) - truth) / np.asarray(absolute.tia_sd_mbq_h)
    assert np.mean(np.abs(z) <= 2) == pytest.approx(
        0.954, abs=4 * math.sqrt(0.954 * 0.046 / n) + 0.01
    )
    scaled = fit_tacs(T, y, model="mono")
    z = (np.asarray(scaled.tia_mbq_h) - truth) / np.asarray(scaled.tia_sd_mbq_h)
    p_t2 = 2 / math.sqrt(6)  # P(|t_2| <= 2) = x/sqrt(2 + x^2) at x = 2
    assert np.mean(np.abs(z) <= 2) == pytest.approx(
        p_t2, abs=4 * math.sqrt(p_t2 * (1 - p_t2) / n) + 0.01
    )


def test_plot_writes_png(tmp_path):
    fit = fit_tac(T, 200 * np.exp(-LN2 * T / 55.0) * np.array([1.02, 0.97, 1.01, 0.99]))
    out = plot_tac_fit(fit, tmp_path / "plots" / "kidney.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in out.parent.iterdir()] == ["kidney.png"]  # no temp file left
