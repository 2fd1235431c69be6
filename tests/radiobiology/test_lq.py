"""BED/EQD2/EUD against REFERENCE.md check values, closed forms and numerical integration."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from radiotrial.errors import ValidationError
from radiotrial.radiobiology import (
    bed_mono,
    bed_sum_exponentials,
    bed_uptake,
    cumulative_bed,
    dose_for_bed,
    dose_for_bed_mono,
    eqd2,
    eud,
    geud,
    lea_catcheside_g,
    tissue_parameters,
)

LN2 = math.log(2.0)


def test_reference_check_value():
    # REFERENCE.md: D = 10 Gy, α/β 2.6, T_rep 2.8 h, T_eff 50 h -> BED 12.040 Gy (3 decimals)
    bed = float(bed_mono(10.0, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=50.0))
    assert bed == pytest.approx(12.040, abs=5e-4)


@pytest.mark.parametrize("te", [5.0, 50.0, 160.0])
def test_general_formula_equals_closed_form(te):
    k = LN2 / te
    general = float(bed_sum_exponentials([8.0 * k], [k], alpha_beta_gy=3.0, t_repair_h=1.5))
    closed = float(bed_mono(8.0, alpha_beta_gy=3.0, t_repair_h=1.5, t_eff_h=te))
    assert general == pytest.approx(closed, rel=1e-12)


def test_dose_for_bed_inverts_bed():
    # Analytic identity: D -> BED -> D round trip; rtol 1e-12 is float64 rounding of a few
    # operations (the stable form has no cancellation even for tiny G).
    d = np.array([0.0, 1e-6, 0.5, 10.0, 80.0])
    te = np.array([1.0, 5.0, 50.0, 160.0, 1e6])[:, None]
    bed = bed_mono(d, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=te)
    back = dose_for_bed_mono(bed, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=te)
    np.testing.assert_allclose(back, np.broadcast_to(d, back.shape), rtol=1e-12, atol=0)
    # REFERENCE.md check value read backwards: BED 12.0396 Gy -> D = 10 Gy (4 digits given)
    assert float(
        dose_for_bed_mono(12.0396, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=50.0)
    ) == pytest.approx(10.0, rel=1e-5)
    # general G (uptake + clearance) from the Lea–Catcheside factor
    amps, rates = [5.0, -5.0], [0.01, 0.2]
    dose, g = lea_catcheside_g(amps, rates, 2.8)
    bed = bed_sum_exponentials(amps, rates, alpha_beta_gy=2.6, t_repair_h=2.8)
    assert float(dose_for_bed(bed, alpha_beta_gy=2.6, g_factor=g)) == pytest.approx(
        float(dose), rel=1e-12
    )
    with pytest.raises(ValidationError, match="bed_gy"):
        dose_for_bed(-1.0, alpha_beta_gy=2.6, g_factor=0.1)


def _lea_catcheside_numeric(rate, mu, t_max):
    # G·D² = 2 ∫ R(t) ∫_0^t R(w) e^{−μ(t−w)} dw dt, by adaptive quadrature
    inner = lambda t: integrate.quad(lambda w: rate(w) * math.exp(-mu * (t - w)), 0, t)[0]  # noqa: E731
    return 2 * integrate.quad(lambda t: rate(t) * inner(t), 0, t_max, limit=200)[0]


def test_uptake_bed_matches_numerical_lea_catcheside():
    d, ab, tr, te, tu = 10.0, 2.6, 2.8, 50.0, 3.0
    ke, ku = LN2 / te, LN2 / tu
    r0 = d * ke * (ke + ku) / ku
    rate = lambda t: r0 * (math.exp(-ke * t) - math.exp(-(ke + ku) * t))  # noqa: E731
    g_d2 = _lea_catcheside_numeric(rate, LN2 / tr, 2000.0)
    expected = d + g_d2 / ab
    # quadrature to ~1e-8; 1e-6 relative is ample
    assert float(bed_uptake(d, alpha_beta_gy=ab, t_repair_h=tr, t_eff_h=te, t_uptake_h=tu)) == (
        pytest.approx(expected, rel=1e-6)
    )
    # instantaneous uptake tends to the mono-exponential closed form
    fast = float(bed_uptake(d, alpha_beta_gy=ab, t_repair_h=tr, t_eff_h=te, t_uptake_h=1e-6))
    assert fast == pytest.approx(float(bed_mono(d, alpha_beta_gy=ab, t_repair_h=tr, t_eff_h=te)))


def test_voxelwise_broadcasting():
    dose = np.array([[0.0, 5.0], [10.0, 20.0]])
    te = np.array([[30.0, 40.0], [50.0, 60.0]])
    out = bed_mono(dose, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=te)
    for idx in np.ndindex(dose.shape):
        assert out[idx] == pytest.approx(
            float(bed_mono(dose[idx], alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=te[idx]))
        )
    up = bed_uptake(dose, alpha_beta_gy=2.6, t_repair_h=2.8, t_eff_h=te, t_uptake_h=2.0)
    assert up.shape == dose.shape and up[0, 0] == 0.0


def test_eqd2_identity():
    # at α/β the EQD2 of a 2-Gy-per-fraction BED equals the physical dose: BED=D(1+2/ab)
    assert float(eqd2(10 * (1 + 2 / 2.6), alpha_beta_gy=2.6)) == pytest.approx(10.0)


def test_eud_uniform_and_nonuniform():
    assert eud(np.full(100, 7.0), alpha_per_gy=0.35) == pytest.approx(7.0, rel=1e-12)
    # half the volume at 0 Gy: EUD = −ln(0.5 + 0.5 e^{−αD})/α, far below the mean dose
    d = np.array([0.0, 40.0])
    expected = -math.log(0.5 + 0.5 * math.exp(-0.35 * 40)) / 0.35
    assert eud(d, alpha_per_gy=0.35) == pytest.approx(expected, rel=1e-12)
    assert geud(np.full(10, 3.0), a=-10) == pytest.approx(3.0)
    assert geud(np.array([1.0, 3.0]), a=1) == pytest.approx(2.0)


def test_cumulative_bed():
    assert cumulative_bed([5.0, 6.0, 7.0]) == pytest.approx([5.0, 11.0, 18.0])


def test_tissue_data_is_cited_and_flagged():
    kid = tissue_parameters("kidneys")
    assert kid.alpha_beta_gy == 2.6 and kid.t_repair_h == 2.8
    assert kid.assumption and "Wessels" in kid.source
    with pytest.raises(ValidationError, match="known"):
        tissue_parameters("spleenish")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha_beta_gy": 0.0, "t_repair_h": 2.8, "t_eff_h": 50.0},
        {"alpha_beta_gy": 2.6, "t_repair_h": -1.0, "t_eff_h": 50.0},
        {"alpha_beta_gy": 2.6, "t_repair_h": 2.8, "t_eff_h": float("nan")},
    ],
)
def test_bad_parameters(kwargs):
    with pytest.raises(ValidationError):
        bed_mono(10.0, **kwargs)
