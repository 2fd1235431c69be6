"""What four scans can and cannot tell: kidneys, liver, spleen within 5 %, and honest warnings.

The phantom's kidneys clear in two phases (T½ 1.5 h and 30 h, data/phantom/
kinetics_lu177_neob.yaml). With the protocol's first scan at 4 h the fast phase is seen by
that one scan only; ``test_first_scan_at_4h_cannot_identify_the_fast_phase`` shows that this
leaves the TIA undetermined by any method, so the 5 % claim of issue 5 is tested on a
four-scan schedule that samples the fast phase twice (2, 6, 24, 96 h), and on the protocol's
schedule the kidney bias must be flagged (docs/dosimetry.md, "What the first scan cannot see").
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from radiotrial.dosimetry import write_report
from radiotrial.kinetics import FitWarning, fit_tacs
from radiotrial.nuclides import get_nuclide
from radiotrial.phantom import RegionKinetics
from tests.dosimetry._virtual import EARLY_TIMES_H, PROTOCOL_TIMES_H, virtual_result

SEEDS = (1, 2, 3, 4)
LAM_P = get_nuclide("Lu-177").decay_constant_per_s * 3600.0


def test_first_scan_at_4h_cannot_identify_the_fast_phase() -> None:
    # Two kidney curves that differ only in the fast phase (T½ 1.5 h vs 0.75 h, amplitude
    # chosen to give the same activity at 4 h) agree at 4, 24, 48 and 168 h to 0.05 % — far
    # below any SPECT noise — but their TIAs differ by more than 20 %. Whatever a method does
    # with these four numbers, it returns (nearly) one TIA for both, so it misses one of them by
    # more than 10 %: the bias is in the data, not in the fit.
    slow_f, slow_t, up = 0.008, 30.0, 0.2
    a = RegionKinetics("a", (0.03, slow_f), (1.5, slow_t), up)
    lam_a, lam_b = math.log(2) / 1.5, math.log(2) / 0.75
    f_b = 0.03 * math.exp((lam_b - lam_a) * 4.0)
    b = RegionKinetics("b", (f_b, slow_f), (0.75, slow_t), up)
    t = np.array(PROTOCOL_TIMES_H)
    ya, yb = a.fraction_at(t, LAM_P), b.fraction_at(t, LAM_P)
    np.testing.assert_allclose(yb, ya, rtol=5e-4)
    tia_a, tia_b = a.tia_h(LAM_P), b.tia_h(LAM_P)
    assert tia_b / tia_a > 1.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        fits = fit_tacs(t, np.stack([ya, yb]))
    est = np.asarray(fits.tia_mbq_h)
    assert est[1] == pytest.approx(est[0], rel=1e-3)
    assert max(abs(est[0] / tia_a - 1), abs(est[1] / tia_b - 1)) > 0.10


@pytest.mark.parametrize("seed", SEEDS)
def test_four_scans_sampling_the_early_phase_recover_organs_within_5_percent(seed: int) -> None:
    # issue 5 item 9, with the early phase sampled by the 2 h and 6 h scans; dose reference:
    # the same engine on the true TIA map (the engine's own accuracy is tests/transport's)
    v = virtual_result(seed, EARLY_TIMES_H).validation
    assert v is not None
    for region in ("kidneys", "liver", "spleen"):
        assert v[region]["tia_ratio"] == pytest.approx(1.0, abs=0.05), region
        assert v[region]["dose_ratio"] == pytest.approx(1.0, abs=0.05), region


@pytest.mark.parametrize("seed", SEEDS)
def test_protocol_schedule_flags_the_unsampled_kidney_phase(seed: int) -> None:
    result = virtual_result(seed, PROTOCOL_TIMES_H)
    v = result.validation
    assert v is not None
    kidneys = result.region("kidneys")
    assert kidneys.warnings and "first scan (4 h)" in kidneys.warnings[0]
    assert kidneys.first_scan_deviation is not None and kidneys.first_scan_deviation > 0.2
    # liver and spleen: uptake complete by 4 h, nothing unsampled, within 5 % and not flagged
    for region in ("liver", "spleen"):
        assert not result.region(region).warnings, region
        assert v[region]["tia_ratio"] == pytest.approx(1.0, abs=0.05), region
    # honesty: no organ of the 5 % claim is off by more than 5 % without a warning
    for region in ("kidneys", "liver", "spleen"):
        if abs(v[region]["tia_ratio"] - 1) > 0.05:
            assert result.region(region).warnings, region


def test_warnings_reach_results_json(tmp_path: Path) -> None:
    result = virtual_result(1, PROTOCOL_TIMES_H)
    out = write_report(result, tmp_path / "out", plots=False)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    kidneys = next(r for r in doc["regions"] if r["region"] == "kidneys")
    assert kidneys["warnings"] == list(result.region("kidneys").warnings)
    assert kidneys["warnings"][0] in doc["warnings"]
    assert 0 < kidneys["tia_before_first_scan_fraction"] < 1
    csv_text = (out / "regions.csv").read_text(encoding="utf-8")
    assert "first scan (4 h)" in csv_text
