"""End-to-end dosimetry on a virtual patient with known truth (reduced grid).

Tolerances follow issue 5: kidneys, liver and spleen within 5 % with the imaging schedule of
this test (an early 1 h scan samples the fast renal phase; with a first scan at 4 h the
unsampled early kidney phase biases the kidney TIA by about −6 %, see docs/dosimetry.md);
tumours of at least 10 mL within 10 % after partial-volume correction. The dose reference is
the dose computed from the *true* TIA map by the same engine, which isolates the quantification
error from the engine's own (validated in tests/transport).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from radiotrial.dosimetry import DosimetryResult, dvh


@pytest.mark.parametrize("region", ["kidneys", "liver", "spleen", "pancreas"])
def test_organ_tia_and_dose_recovered(result: DosimetryResult, region: str) -> None:
    v = result.validation
    assert v is not None
    assert v[region]["tia_ratio"] == pytest.approx(1.0, abs=0.05)
    assert v[region]["dose_ratio"] == pytest.approx(1.0, abs=0.05)


def test_tumours_recovered_after_pvc(result: DosimetryResult) -> None:
    v = result.validation
    assert v is not None
    tumours = [r for r in result.regions if r.kind == "tumour" and r.volume_ml >= 10.0]
    assert len(tumours) == 3
    for r in tumours:
        assert v[r.name]["tia_ratio"] == pytest.approx(1.0, abs=0.10), r.name
        assert v[r.name]["dose_ratio"] == pytest.approx(1.0, abs=0.10), r.name


def test_every_dose_has_uncertainty_and_bed(result: DosimetryResult) -> None:
    for r in result.regions:
        assert r.dose_sd_gy > 0 and math.isfinite(r.dose_sd_gy), r.name
        # the quadrature sum is at least its largest component
        assert r.dose_sd_gy >= max(r.components_rsd.values()) * r.dose_gy - 1e-12
    kidneys = result.region("kidneys")
    assert kidneys.bed_gy is not None and kidneys.bed_gy > kidneys.dose_gy  # BED ≥ D always


def test_kidney_dose_coefficient_in_neoray_range(result: DosimetryResult) -> None:
    # NeoRay: kidneys 0.10 ± 0.056 Gy/GBq (REFERENCE.md); the virtual population aims at it
    assert 0.10 - 2 * 0.056 < result.region("kidneys").dose_per_gbq_gy < 0.10 + 2 * 0.056


def test_plan_limits_by_smallest_allowed_activity(result: DosimetryResult) -> None:
    plan = result.plan
    assert plan is not None and plan.max_activity_gbq is not None
    assert plan.max_activity_gbq == min(o.max_activity_gbq for o in plan.organs)
    limiting = next(o for o in plan.organs if o.organ == plan.limiting_organ)
    if limiting.quantity == "absorbed_dose":  # identity: the planned dose fills the room exactly
        planned = limiting.cumulative_gy + limiting.dose_per_gbq_gy * plan.max_activity_gbq
        assert planned == pytest.approx(limiting.limit_gy, rel=1e-9)


def test_red_marrow_both_methods(result: DosimetryResult) -> None:
    methods = {m.method: m for m in result.marrow}
    assert set(methods) == {"blood", "image"}
    assert all(m.dose_gy > 0 for m in methods.values())


def test_voxel_map_mixes_own_fits_and_fallback(result: DosimetryResult) -> None:
    method = np.asarray(result.voxels.method.array)
    assert np.any(method == 1) and np.any(method == 2)
    # label rescaling: voxel TIAs add up to the label TIAs
    lab = np.asarray(result.study.labels.array)
    tia = np.asarray(result.voxels.tia.array)
    for label, total in result.voxels.label_tia_bq_s.items():
        if total > 0:
            assert tia[lab == label].sum() == pytest.approx(total, rel=1e-9)


def test_dvh_of_uniform_and_ramp() -> None:
    dose = np.full((4, 4, 4), 2.0)
    mask = np.ones_like(dose, dtype=bool)
    levels, frac = dvh(dose, mask, bins=5, max_gy=4.0)
    np.testing.assert_allclose(levels, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(frac, [1, 1, 1, 0, 0])
    ramp = np.arange(100, dtype=np.float64).reshape(4, 5, 5)
    levels, frac = dvh(ramp, np.ones_like(ramp, dtype=bool), bins=11, max_gy=100.0)
    np.testing.assert_allclose(frac, 1 - levels / 100.0)  # V(≥d) of a uniform ramp is linear
