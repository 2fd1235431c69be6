"""Next-cycle planning: closed forms against the protocol's limits."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from radiotrial.dosimetry import (
    CycleDose,
    load_s_table_csv,
    mird_label_doses,
    plan_next_cycle,
    red_marrow_blood_based,
    sphere_dose_gy,
)
from radiotrial.errors import InputFileError
from radiotrial.nuclides import get_nuclide
from radiotrial.protocol import bundled_protocol
from radiotrial.transport import sphere_s_value


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


def test_s_table_csv_mird_identity(tmp_path: Path) -> None:
    # D_t = Σ_s Ã_s S(t←s) with a user's table; mGy/(MBq*s) converted to mGy/(MBq*h) ×3600
    csv_path = tmp_path / "s.csv"
    csv_path.write_text(
        "target,source,s_value,unit,target_mass_g\n"
        "kidneys,kidneys,2e-4,mGy/(MBq*s),300\n"
        "kidneys,liver,1e-6,mGy/(MBq*s),\n"
        "liver,liver,5e-5,mGy/(MBq*s),1800\n",
        encoding="utf-8",
    )
    s = load_s_table_csv(csv_path, nuclide="Lu-177")
    tia = {"kidneys": 1000.0 * 3.6e9, "liver": 2000.0 * 3.6e9}  # MBq·h in Bq·s
    dose = mird_label_doses(tia, {}, s)
    assert dose["kidneys"] == pytest.approx((1000 * 2e-4 + 2000 * 1e-6) * 3600 * 1e-3)
    # self-dose scales as 1/m (electron-like): a kidney of 150 g doubles it
    scaled = mird_label_doses({"kidneys": tia["kidneys"]}, {"kidneys": 150.0}, s)
    assert scaled["kidneys"] == pytest.approx(2 * 1000 * 2e-4 * 3600 * 1e-3)


def test_s_table_csv_errors_name_the_row(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("target,source,s_value,unit\nkidneys,kidneys,1,Gy/kg\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"bad.csv: row 2: unit 'Gy/kg'"):
        load_s_table_csv(bad, nuclide="Lu-177")
    bad.write_text("target,source,value\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="needs columns"):
        load_s_table_csv(bad, nuclide="Lu-177")


def test_sphere_dose_is_tia_times_sphere_s_value() -> None:
    s = sphere_s_value("Lu-177", 20.0, density_g_cm3=1.0, n_photon_histories=20_000)
    assert sphere_dose_gy("Lu-177", 3.6e9, 20.0, 1.0) == pytest.approx(s.s_mgy_per_mbq_h * 1e-3)
