"""Virtual patient: truth consistency, counts within Poisson error, output files, CLI."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from radiotrial.cli import app
from radiotrial.cli._output import run_app
from radiotrial.errors import ValidationError
from radiotrial.imaging import read_nifti, read_nm_image
from radiotrial.phantom import VirtualPatient, make_patient, write_patient


def test_one_seed_reproduces_one_patient(small_patient: VirtualPatient) -> None:
    again = make_patient(
        seed=11, spacing_mm=9.6, time_points_h=[4, 48], tumours="liver:20,bone:5,lung:2"
    )
    for a, b in zip(small_patient.time_points, again.time_points, strict=True):
        assert np.array_equal(a.spect.array, b.spect.array)
    other = make_patient(
        seed=12, spacing_mm=9.6, time_points_h=[4], tumours="liver:20,bone:5,lung:2"
    )
    assert not np.array_equal(other.time_points[0].spect.array, again.time_points[0].spect.array)


def test_voxel_truth_equals_analytic_region_truth(small_patient: VirtualPatient) -> None:
    p = small_patient
    tia_in = p.region_tia_bq_s(in_field=True)
    # Σ voxel TIA = Σ in-field region TIA (closed forms), to float rounding
    assert p.tia_voxel.total() == pytest.approx(sum(tia_in.values()), rel=1e-9)
    for tp in p.time_points:
        acts = p.region_activity_bq([tp.time_h])
        assert tp.true_activity.total() == pytest.approx(
            sum(float(a[0]) for a in acts.values()), rel=1e-9
        )
        # per region: activity in the region's voxels equals its analytic curve
        kid = [p.anatomy.region(n).label for n in ("kidney_left", "kidney_right")]
        in_kidneys = tp.true_activity.array[np.isin(tp.labels.array, kid)].sum()
        assert in_kidneys == pytest.approx(float(acts["kidneys"][0]), rel=1e-9)
    # injected activity bounds everything retained
    assert p.time_points[0].true_activity.total() < p.administered.bq


def test_simulated_counts_match_truth_within_poisson_error(small_patient: VirtualPatient) -> None:
    for tp in small_patient.time_points:
        sd = math.sqrt(tp.expected_detected_counts)
        # a Poisson total lies within 5 σ of its mean (p ≈ 6e-7 per check)
        assert abs(tp.detected_counts - tp.expected_detected_counts) < 5 * sd
        # the calibrated image quantifies the in-field activity; its error is the Poisson
        # error scaled by the attenuation correction (≤ 1/τ_min ≈ 10 in the trunk)
        rel = tp.spect.total() / tp.true_activity.total() - 1
        assert abs(rel) < 10 * 5 / math.sqrt(tp.expected_detected_counts)
        # realistic count levels: 10⁵-10⁸ primary counts per session at 7.4 GBq
        assert 1e5 < tp.detected_counts < 1e8


def test_motion_is_recorded_and_applied() -> None:
    p = make_patient(seed=3, spacing_mm=9.6, time_points_h=[4, 24], tumours="", motion="nonrigid")
    ref, moved = p.time_points
    assert ref.motion is None and moved.motion is not None
    assert moved.motion.displacement_mm is not None
    assert np.linalg.norm(moved.motion.displacement_mm, axis=-1).max() == pytest.approx(3.0)
    assert not np.array_equal(ref.labels.array, moved.labels.array)
    # moving the patient does not create or destroy activity
    acts = p.region_activity_bq([24.0])
    assert moved.true_activity.total() == pytest.approx(
        sum(float(a[0]) for a in acts.values()), rel=1e-9
    )
    truth = p.truth()
    assert truth["time_points"][1]["motion"]["nonrigid"] is True


def test_bad_patient_arguments() -> None:
    with pytest.raises(ValidationError, match="motion"):
        make_patient(motion="wobble")
    with pytest.raises(ValidationError, match="time_points_h"):
        make_patient(time_points_h=[4, 4])
    with pytest.raises(ValidationError, match="activity_gbq"):
        make_patient(activity_gbq=-1)


def test_write_nifti_round_trip(small_patient: VirtualPatient, tmp_path: Path) -> None:
    out = write_patient(small_patient, tmp_path / "vp")
    truth = json.loads((out / "truth.json").read_text())
    assert (out / "preview.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert truth["seed"] == 11 and len(truth["time_points"]) == 2
    labels, _ = read_nifti(out / "truth" / "labels.nii.gz")
    assert np.array_equal(labels.array, small_patient.anatomy.labels.array)
    assert labels.same_grid(small_patient.anatomy.labels)
    spect, side = read_nifti(out / "nifti" / "t048h_spect.nii.gz")
    assert spect.units == "Bq/mL"
    assert np.allclose(spect.array, small_patient.time_points[1].spect.array)
    tia, _ = read_nifti(out / "truth" / "tia_voxel.nii.gz")
    assert tia.total() == pytest.approx(small_patient.tia_voxel.total(), rel=1e-6)
    assert side["injected_activity_bq"] == pytest.approx(7.4e9)
    with pytest.raises(ValidationError, match="exists"):
        write_patient(small_patient, out)


def test_failed_write_leaves_nothing(
    small_patient: VirtualPatient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import radiotrial.phantom._io as io

    def boom(*_a: object, **_k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(io, "_write_dicom", boom)
    with pytest.raises(OSError, match="disk full"):
        write_patient(small_patient, tmp_path / "vp", image_format="dicom")
    assert list(tmp_path.iterdir()) == []


def test_write_dicom_round_trip(tmp_path: Path) -> None:
    p = make_patient(seed=2, spacing_mm=9.6, time_points_h=[24], tumours="liver:20")
    out = write_patient(p, tmp_path / "vp", image_format="dicom", segmentation=False)
    assert not (out / "dicom" / "t024h" / "SEG.dcm").exists()
    nm = read_nm_image(out / "dicom" / "t024h" / "NM.dcm")
    tp = p.time_points[0]
    assert nm.volume.same_grid(tp.spect)
    assert nm.radiopharmaceutical.injected_activity_bq == pytest.approx(7.4e9)
    assert nm.time_since_injection_h == pytest.approx(24.0)
    # 16-bit storage: each voxel within half a quantisation step of max/65535
    step = float(tp.spect.array.max()) / 65535
    assert np.max(np.abs(nm.volume.array - tp.spect.array)) <= 0.5 * step * 1.001


def test_cli_make(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    args = ["phantom", "make", "--out", str(out), "--seed", "4", "--voxel-mm", "9.6",
            "--times", "24", "--tumours", "node:2", "--json"]  # fmt: skip
    assert run_app(app, args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seed"] == 4 and "tumour_1" in summary["regions"]
    assert (out / "truth.json").exists()
    assert run_app(app, args) == 2  # exists: refused, one-line error
    assert "already exists" in capsys.readouterr().err
    assert (
        run_app(app, ["phantom", "make", "--out", str(tmp_path / "x"), "--tumours", "kidney:3"])
        == 2
    )
    assert not (tmp_path / "x").exists()
    assert run_app(app, ["phantom", "kinetics", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["region"] for r in rows} >= {"kidneys", "pancreas", "red_marrow"}


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("RADIOTRIAL_VALIDATE") != "full", reason="full validation only")
def test_write_dicom_with_segmentation(tmp_path: Path) -> None:
    from radiotrial.imaging import read_seg

    p = make_patient(seed=2, spacing_mm=9.6, time_points_h=[24], tumours="liver:20")
    out = write_patient(p, tmp_path / "vp", image_format="dicom")
    folder = out / "dicom" / "t024h"
    labels, names = read_seg(folder / "SEG.dcm", reference=folder / "CT")
    assert np.array_equal(labels.array, p.time_points[0].labels.array)
    assert names[p.anatomy.region("liver").label] == "liver"
