"""Next-cycle planning: closed forms against the protocol's limits."""

from __future__ import annotations

import math

import pytest

from radiotrial.dosimetry import CycleDose, plan_next_cycle, red_marrow_blood_based
from radiotrial.nuclides import get_nuclide
from radiotrial.protocol import bundled_protocol


def test_absorbed_dose_room_and_bed_quadratic() -> None:
    p = bundled_protocol()
    history = [
        CycleDose("kidneys", 1, 7.4, 4.0, bed_gy=4.5, bed_g_factor=0.3, alpha_beta_gy=2.6),
        CycleDose("kidneys", 2, 7.4, 4.0, bed_gy=4.5, bed_g_factor=0.3, alpha_beta_gy=2.6),
        CycleDose("red_marrow", 1, 7.4, 0.2),
        CycleDose("red_marrow", 2, 7.4, 0.2),
    ]
    plan = plan_next_cycle(history, p, kidney_risk_factors=True)
    by = {(o.organ, o.quantity): o for o in plan.organs}
    d = 4.0 / 7.4
    assert by[("kidneys", "absorbed_dose")].max_activity_gbq == pytest.approx((23 - 8) / d)
    bed = by[("kidneys", "bed")]
    dose_next = bed.max_activity_gbq * d
    # the planned cycle's BED exactly fills the room to the 28 Gy limit (risk factors)
    assert dose_next * (1 + 0.3 * dose_next / 2.6) == pytest.approx(28 - 9.0, rel=1e-9)
    assert by[("red_marrow", "absorbed_dose")].max_activity_gbq == pytest.approx(1.6 / (0.2 / 7.4))
    assert plan.limiting_organ == "kidneys" and plan.limiting_quantity == "bed"
    assert plan.next_cycle == 3 and plan.cycles_remaining == 2
    relaxed = plan_next_cycle(history, p, kidney_risk_factors=False)
    assert {o.limit_gy for o in relaxed.organs if o.quantity == "bed"} == {40.0}


def test_limit_already_reached_gives_zero() -> None:
    plan = plan_next_cycle([CycleDose("red_marrow", 1, 7.4, 2.5)], bundled_protocol())
    assert plan.max_activity_gbq == 0.0 and plan.limiting_organ == "red_marrow"


def test_blood_based_marrow_matches_analytic_tia() -> None:
    # mono-exponential blood curve: ã = c0/λ_eff exactly; RMBLR 1, marrow density 1.03 g/mL
    lam_p = get_nuclide("Lu-177").decay_constant_per_s * 3600
    lam = lam_p + 0.05
    times = [2.0, 6.0, 24.0, 48.0, 96.0]
    conc = [1e4 * math.exp(-lam * t) for t in times]
    m = red_marrow_blood_based(times, conc, nuclide="Lu-177", marrow_mass_g=900.0, rmblr=1.0)
    expected_bq_s = 1e4 / lam * 3600 * 900.0 / 1.03
    assert m.tia_bq_s == pytest.approx(expected_bq_s, rel=1e-6)
