"""Bad input: a clear error, or a documented fallback with a note in the report."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from radiotrial.dosimetry import (
    CycleDose,
    Region,
    Session,
    Study,
    plan_next_cycle,
    run_dosimetry,
    write_report,
)
from radiotrial.errors import ProtocolError, ValidationError
from radiotrial.imaging import Volume
from radiotrial.nuclides import get_nuclide
from radiotrial.protocol import bundled_protocol, load_protocol
from radiotrial.units import Activity

T_INJ = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
A0_BQ = 2.0e8
LAM = math.log(2) / 40.0  # effective, per h
LAM_P = get_nuclide("Lu-177").decay_constant_per_s * 3600.0
SHAPE, SPACING = (10, 12, 14), (4.0, 4.0, 4.0)


def _labels() -> np.ndarray:
    lab = np.zeros(SHAPE, dtype=np.int32)
    lab[1:9, 1:11, 1:13] = 1
    lab[3:7, 4:8, 4:8] = 2
    return lab


def _study(
    kidney_bq: dict[float, float], *, spacing: dict[float, tuple[float, ...]] | None = None
) -> Study:
    """Bq/mL images of a 'body' (1 kBq/mL) and a 'kidney' holding ``kidney_bq`` per session."""
    lab = _labels()
    n_kidney = int((lab == 2).sum())
    voxel_ml = float(np.prod(SPACING)) / 1000.0
    sessions = []
    for t, a in kidney_bq.items():
        when = T_INJ + timedelta(hours=t)
        conc = np.where(lab == 1, 1e3, 0.0)
        conc[lab == 2] = a / (n_kidney * voxel_ml)
        ct = Volume(
            np.where(lab > 0, 40.0, -1000.0), spacing_mm=SPACING, units="HU", acquisition_time=when
        )
        spect = Volume(conc, spacing_mm=SPACING, units="Bq/mL", acquisition_time=when)
        fine = (spacing or {}).get(t)
        if fine is not None:  # the same field of view on a twice finer grid, same CT frame
            conc2 = np.repeat(np.repeat(np.repeat(conc, 2, 0), 2, 1), 2, 2)
            spect = Volume(
                conc2,
                spacing_mm=fine,
                origin_mm=(-1.0, -1.0, -1.0),
                units="Bq/mL",
                acquisition_time=when,
            )
        sessions.append(Session(t, spect, ct))
    return Study(
        patient_id="BAD-1",
        administered=Activity(7.4e9, T_INJ, "Lu-177"),
        sessions=tuple(sessions),
        labels=Volume(lab, spacing_mm=SPACING, units="label"),
        regions=(Region("body", (1,), "organ"), Region("kidney", (2,), "organ")),
        sensitivity_cps_per_mbq=1.0,
        acquisition_s=1.0,
        fwhm_mm=0.0,
        label_names={1: "body", 2: "kidney"},
    )


def _mono(t: float) -> float:
    return A0_BQ * math.exp(-LAM * t)


def test_a_session_reading_zero_is_left_out_and_said(tmp_path: Path) -> None:
    study = _study({4.0: _mono(4.0), 24.0: 0.0, 72.0: _mono(72.0)})
    result = run_dosimetry(study, engine="led")
    kidney = result.region("kidney")
    assert any("sessions at 24 h read no activity" in n for n in kidney.notes)
    # the two remaining points define the mono-exponential exactly (no tiny floor dragging it)
    assert kidney.tia_bq_s == pytest.approx(A0_BQ / (LAM / 3600.0), rel=1e-6)
    # its SD has no residual degrees of freedom: the fallback is named too
    assert any("no residual degrees of freedom" in n for n in kidney.notes)
    out = write_report(result, tmp_path / "out", plots=False)
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    row = next(r for r in doc["regions"] if r["region"] == "kidney")
    assert row["notes"] == list(kidney.notes)


def test_one_session_with_activity_decays_physically_with_a_note() -> None:
    study = _study({4.0: _mono(4.0), 24.0: 0.0, 72.0: 0.0})
    kidney = run_dosimetry(study, engine="led").region("kidney")
    assert any("one session only" in n for n in kidney.notes)
    # no biological clearance after the scan: A(4 h) e^{λp·4} / λp, an upper bound
    expected = _mono(4.0) * math.exp(LAM_P * 4.0) / (LAM_P / 3600.0)
    assert kidney.tia_bq_s == pytest.approx(expected, rel=1e-9)
    assert math.isfinite(kidney.dose_sd_gy) and kidney.dose_sd_gy > 0


def test_labels_on_another_grid_are_refused() -> None:
    good = _study({4.0: _mono(4.0), 24.0: _mono(24.0)})
    wrong = Volume(np.zeros((5, 6, 7), dtype=np.int32), spacing_mm=(8.0, 8.0, 8.0), units="label")
    with pytest.raises(ValidationError, match="labels.*not on the SPECT grid"):
        Study(**{**good.__dict__, "labels": wrong})


def test_a_session_on_another_spect_grid_is_resampled_with_a_note() -> None:
    study = _study(
        {4.0: _mono(4.0), 24.0: _mono(24.0), 72.0: _mono(72.0)}, spacing={24.0: (2.0, 2.0, 2.0)}
    )
    result = run_dosimetry(study, engine="led")
    assert any("24 h: SPECT on another grid" in n for n in result.notes)
    # activity-conserving resampling of aligned grids: the kidney curve is unchanged
    assert result.region("kidney").tia_bq_s == pytest.approx(A0_BQ / (LAM / 3600.0), rel=1e-6)


def test_blood_samples_must_be_valid() -> None:
    good = _study({4.0: _mono(4.0), 24.0: _mono(24.0)})
    for bad in (((2.0, 10.0), (1.0, 5.0)), ((1.0, -3.0),), ((-1.0, 3.0),)):
        with pytest.raises(ValidationError, match="blood_samples"):
            Study(**{**good.__dict__, "blood_samples": bad})


def _protocol_with(tmp_path: Path, old: str, new: str) -> Path:
    ref = resources.files("radiotrial.data").joinpath(
        "protocols", "lu177-neob-er-her2-mbc-phase1.yaml"
    )
    text = ref.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "p.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_organ_limit_in_the_wrong_unit_is_refused(tmp_path: Path) -> None:
    kidney = "  - organ: kidneys\n    quantity: absorbed_dose\n    limit: 23\n    unit: Gy"
    bad = _protocol_with(tmp_path, kidney, kidney.replace("unit: Gy", "unit: GBq"))
    with pytest.raises(ProtocolError, match=r"p\.yaml.*organ_limits.*GBq"):
        load_protocol(bad)
    # the same limit in mGy is the same limit: the plan does not change
    mgy = load_protocol(
        _protocol_with(
            tmp_path,
            kidney,
            kidney.replace("limit: 23\n    unit: Gy", "limit: 23000\n    unit: mGy"),
        )
    )
    history = [CycleDose("kidneys", 1, 7.4, 4.0)]
    a = plan_next_cycle(history, bundled_protocol()).organs
    b = plan_next_cycle(history, mgy).organs
    assert [o.max_activity_gbq for o in a] == pytest.approx([o.max_activity_gbq for o in b])
