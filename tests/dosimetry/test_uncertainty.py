"""Uncertainty per the EANM guidance (Gear et al. 2018): is the reported SD right?

Coverage on virtual patients. The phantom's camera calibration and resolution are exact, so
each patient's study is given a calibration factor and a FWHM that are off by one draw of the
uncertainties the budget assumes (data/dosimetry.yaml), as a clinic's would be. Then the true
TIA should lie within ±2 reported SD for about 95 % of the regions (z = error/SD ~ N(0, 1)).
Regions whose schedule warning says the SD leaves out an unsampled phase are excluded — that
they are flagged is tested in test_schedule.py. Tolerance: the regions of one patient share
its calibration draw, so the ~100 z values carry the information of some 10–30 independent
ones; fraction within 2 SD ≥ 0.85 and RMS(z) within 0.5–1.5 are ~3 SD of that sampling
spread around 0.954 and 1, and fail both for SDs too small (RMS ≫ 1) and for SDs inflated by
terms that do not occur (RMS ≪ 1).
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest

from radiotrial.dosimetry import run_dosimetry, study_from_virtual_patient
from radiotrial.dosimetry._absorbed import volume_sensitivity
from radiotrial.dosimetry._data import value
from radiotrial.dosimetry._tia import fit_rsd
from radiotrial.kinetics import FitWarning, fit_tac
from radiotrial.phantom import make_patient
from tests.dosimetry._virtual import PROTOCOL_TIMES_H, SPACING_MM, TUMOURS, virtual_patient

COVERAGE_SEEDS = range(1, 11)


def test_tia_sd_covers_the_truth_on_virtual_patients() -> None:
    u_cal, u_fwhm = value("uncertainty", "calibration_rsd"), value("uncertainty", "fwhm_rsd")
    z: list[float] = []
    for seed in COVERAGE_SEEDS:
        study = study_from_virtual_patient(virtual_patient(seed, PROTOCOL_TIMES_H))
        rng = np.random.default_rng(1000 + seed)
        study = dataclasses.replace(
            study,
            sensitivity_cps_per_mbq=study.sensitivity_cps_per_mbq * (1 + u_cal * rng.normal()),
            fwhm_mm=study.fwhm_mm * (1 + u_fwhm * rng.normal()),
        )
        result = run_dosimetry(study, engine="led", validate=False)
        assert study.truth is not None
        for r in result.regions:
            if r.kind == "remainder" or r.warnings:
                continue
            truth = study.truth["regions"][r.name]["tia_in_field_bq_s"]
            z.append((r.tia_bq_s - truth) / r.tia_sd_bq_s)
    zs = np.array(z)
    assert zs.size >= 60
    assert np.mean(np.abs(zs) <= 2) >= 0.85
    assert 0.5 <= float(np.sqrt(np.mean(zs**2))) <= 1.5


def test_volume_sensitivity_is_one_minus_the_concentration_ratio() -> None:
    # analytic: a label of uniform TIA concentration c_in inside tissue at c_out, uniform
    # density: |∂ln D/∂ln V| = 1 − c_out/c_in (Gear et al. 2018: activity and mass share the VOI)
    lab = np.ones((12, 12, 12), dtype=np.int64)
    lab[4:8, 4:8, 4:8] = 2
    mass = np.full(lab.shape, 1.05)
    for c_out in (0.0, 0.25, 1.0, 2.0):
        tia = np.where(lab == 2, 1.0, c_out)
        assert volume_sensitivity(lab, (2,), tia, mass) == pytest.approx(abs(1 - c_out), rel=1e-12)
    # a region with air around it keeps the full mass term (no tissue shell): sensitivity 1
    lab[lab == 1] = 0
    assert volume_sensitivity(lab, (2,), np.ones(lab.shape), mass) == 1.0


def test_sd_without_residual_dof_falls_back_to_assumed_uncertainties_with_a_note() -> None:
    # two points: an exact mono-exponential, no residual degrees of freedom, NaN covariance
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fit = fit_tac([4.0, 48.0], [100.0, 40.0], model="mono")
    assert math.isnan(fit.tia_sd_mbq_h)
    rsd, note = fit_rsd(fit, None)
    assert math.isfinite(rsd) and rsd > 0
    assert note is not None and "absolute activity uncertainties" in note
    # the Poisson part adds: fewer counts, larger SD
    with_counts, _ = fit_rsd(fit, np.array([400.0, 160.0]))
    assert with_counts > rsd
    # an estimable SD is used as it is, without a note
    ok = fit_tac([4.0, 24.0, 48.0, 168.0], [100.0, 70.0, 41.0, 3.0], model="mono")
    assert fit_rsd(ok, None) == (pytest.approx(ok.tia_sd_mbq_h / ok.tia_mbq_h), None)


def test_two_sessions_every_region_has_a_finite_sd_and_says_why() -> None:
    patient = make_patient(seed=5, spacing_mm=SPACING_MM, tumours=TUMOURS, time_points_h=(24, 96))
    result = run_dosimetry(study_from_virtual_patient(patient), engine="led", validate=False)
    for r in result.regions:
        assert math.isfinite(r.tia_sd_bq_s) and r.tia_sd_bq_s > 0, r.name
        assert math.isfinite(r.dose_sd_gy) and r.dose_sd_gy > 0, r.name
    kidneys = result.region("kidneys")
    assert any("no residual degrees of freedom" in n for n in kidneys.notes)
    # the fitter's batch warning is not swallowed: it reaches the run's notes
    assert any(n.startswith("TAC fits of") and "not estimable" in n for n in result.notes)


def test_recovery_uncertainty_largest_for_small_lesions() -> None:
    result = run_dosimetry(
        study_from_virtual_patient(virtual_patient(1, PROTOCOL_TIMES_H)),
        engine="led",
        validate=False,
    )
    rec = {r.name: r.components_rsd["recovery"] for r in result.regions}
    # a 12 mL bone lesion at 9.6 mm depends far more on the assumed resolution than the liver
    assert rec["tumour_3"] > 5 * rec["liver"] > 0
    nopvc = run_dosimetry(
        study_from_virtual_patient(virtual_patient(1, PROTOCOL_TIMES_H)),
        engine="led",
        pvc=False,
        validate=False,
    )
    assert all(r.components_rsd["recovery"] == 0.0 for r in nopvc.regions)
