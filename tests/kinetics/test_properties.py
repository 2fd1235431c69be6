"""Property-based tests (hypothesis) of the TAC fitter: exactness, scaling, noise, outliers,
too few points."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radiotrial.errors import ValidationError
from radiotrial.kinetics import FitWarning, fit_tac, fit_tacs

LN2 = math.log(2.0)
T_LU_H = 6.647 * 24  # only used to keep generated half-lives below the physical one

half_life = st.floats(min_value=5.0, max_value=150.0)
amplitude = st.floats(min_value=1e-2, max_value=1e4)
times = st.lists(st.floats(min_value=0.5, max_value=400.0), min_size=3, max_size=8, unique=True)
# a curve that falls by more than 2^-40 (1e-12) between its points is beyond any measurement's
# dynamic range, and relative weights 1/A² then span more than double precision can balance
MAX_HALF_LIVES = 40.0
fast = settings(
    max_examples=int(__import__("os").environ.get("RT_HYP", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@fast
@given(a0=amplitude, te=half_life, ts=times)
def test_noise_free_mono_recovers_tia(a0, te, ts):
    t = np.sort(np.array(ts))
    if np.min(np.diff(t)) < 0.5 or (t[-1] - t[0]) / te > MAX_HALF_LIVES:
        return
    fit = fit_tac(t, a0 * np.exp(-LN2 * t / te), model="mono")
    # exact data: TIA to 1e-6 relative whatever the sampling
    assert math.isclose(fit.tia_mbq_h, a0 * te / LN2, rel_tol=1e-6)


@fast
@given(scale=st.floats(min_value=1e-3, max_value=1e3), te=half_life)
def test_tia_scales_linearly_with_activity(scale, te):
    t = np.array([4.0, 24.0, 72.0, 168.0])
    y = 100 * np.exp(-LN2 * t / te) * (1 + 0.03 * np.sin(t))
    base = fit_tac(t, y, model="mono")
    scaled = fit_tac(t, scale * y, model="mono")
    assert math.isclose(scaled.tia_mbq_h, scale * base.tia_mbq_h, rel_tol=1e-7)


@fast
@given(seed=st.integers(0, 2**32 - 1), te=half_life, cv=st.floats(0.01, 0.2))
def test_noisy_fits_are_finite_and_bounded(seed, te, cv):
    rng = np.random.default_rng(seed)
    t = np.array([1.0, 4.0, 24.0, 48.0, 96.0, 168.0])
    y = 100 * np.exp(-LN2 * t / te) * np.exp(cv * rng.standard_normal(t.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        batch = fit_tacs(t, y)
    fit = batch[0]
    # never a silent NaN: finite positive TIA, SD finite or flagged in the notes
    assert math.isfinite(fit.tia_mbq_h) and fit.tia_mbq_h > 0
    assert math.isfinite(fit.tia_sd_mbq_h) or fit.notes
    # the effective decay is never slower than physical decay
    assert max(fit.effective_half_lives_h) <= T_LU_H * (1 + 1e-6)


@fast
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 5), factor=st.floats(2.0, 10.0))
def test_single_outlier_does_not_break_the_fit(seed, which, factor):
    rng = np.random.default_rng(seed)
    t = np.array([1.0, 4.0, 24.0, 48.0, 96.0, 168.0])
    y = 100 * np.exp(-LN2 * t / 60.0) * (1 + 0.02 * rng.standard_normal(t.size))
    y[which] *= factor
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fit = fit_tacs(t, y)[0]
    assert math.isfinite(fit.tia_mbq_h) and fit.tia_mbq_h > 0
    # Relative weights make the fit least squares in relative residuals, roughly in ln A: one
    # point moved by ln f shifts ln TIA by its leverage times ln f, and the leverage of one of
    # six points on (ln A₀, λ) is below 1/2 (largest at the ends). So the TIA lies between the
    # truth (an outlier only adds activity) and √f × truth, with 5 % for the 2 % noise.
    truth = 100 * 60 / LN2
    assert 0.95 * truth < fit.tia_mbq_h < 1.05 * math.sqrt(factor) * truth


@fast
@given(t0=st.floats(0.1, 500.0), a0=amplitude)
def test_one_point_is_refused_with_the_single_point_methods_named(t0, a0):
    with pytest.raises(ValidationError, match="hanscheid_tia"):
        fit_tacs([t0], [a0])


@fast
@given(
    model=st.sampled_from(["bi", "bi_uptake", "tri", "tri_uptake"]),
    ts=st.lists(st.floats(0.5, 400.0), min_size=2, max_size=4, unique=True),
)
def test_fewer_points_than_parameters_are_refused(model, ts):
    t = np.sort(np.array(ts))
    n_params = {"bi": 4, "bi_uptake": 5, "tri": 6, "tri_uptake": 7}[model]
    if t.size >= n_params or np.min(np.diff(t)) <= 0:
        return
    with pytest.raises(ValidationError, match=f"{n_params} parameters but only {t.size}"):
        fit_tacs(t, 100 * np.exp(-LN2 * t / 50.0), model=model)


@fast
@given(a0=amplitude, te=half_life, ts=st.lists(st.floats(0.5, 400.0), min_size=2, max_size=2))
def test_two_points_give_the_exact_mono_exponential(a0, te, ts):
    t = np.sort(np.array(ts))
    if t[1] - t[0] < 1.0 or (t[1] - t[0]) / te > MAX_HALF_LIVES:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fit = fit_tacs(t, a0 * np.exp(-LN2 * t / te))[0]
    # the automatic choice with two points is the mono-exponential through both, and its SD is
    # flagged as not estimable (no residual degrees of freedom), never silently 0
    assert fit.model == "mono" and fit.selection_rule == "few-points"
    assert math.isclose(fit.tia_mbq_h, a0 * te / LN2, rel_tol=1e-6)
    assert math.isnan(fit.tia_sd_mbq_h) and any("not estimable" in n for n in fit.notes)
