"""A virtual patient's DICOM export: finer CT grid, dciodvfy, CT/SEG/RTSTRUCT read-back.

Kept small for ``make test``: a 19.2 mm SPECT grid with a 9.6 mm CT grid (k = 2), one session.
dciodvfy (Debian dicom3tools, installed by tools/system-deps.sh) checks every object against
the IODs of the DICOM standard; the test fails on any line it reports as an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from radiotrial.cli import app
from radiotrial.cli._output import run_app
from radiotrial.errors import ValidationError
from radiotrial.imaging import read_ct_series, read_nm_image, read_rtstruct, read_seg
from radiotrial.phantom import VirtualPatient, labels_on_ct_grid, make_patient, write_patient

from ..imaging.conftest import run_dciodvfy

SPECT_MM, CT_MM = 19.2, 9.6


@pytest.fixture(scope="module")
def fine_ct_patient() -> VirtualPatient:
    return make_patient(
        seed=2, spacing_mm=SPECT_MM, ct_spacing_mm=CT_MM, time_points_h=[24], tumours="liver:20"
    )


@pytest.fixture(scope="module")
def export(fine_ct_patient: VirtualPatient, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = write_patient(fine_ct_patient, tmp_path_factory.mktemp("vp") / "vp", image_format="dicom")
    return out / "dicom" / "t024h"


def _corners(v) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Outer corners (LPS mm) of the first and the last voxel: the physical extent."""
    half = 0.5 * np.asarray(v.spacing_xyz_mm)
    first = v.index_to_lps([0, 0, 0]) - half
    last = v.index_to_lps([n - 1 for n in reversed(v.shape)]) + half
    return first, last


def test_finer_ct_grid_shares_the_spect_extent(fine_ct_patient: VirtualPatient) -> None:
    tp = fine_ct_patient.time_points[0]
    assert tp.ct.spacing_mm == (CT_MM,) * 3 and tp.spect.spacing_mm == (SPECT_MM,) * 3
    assert tp.ct.shape == tuple(2 * n for n in tp.spect.shape)
    for a, b in zip(_corners(tp.ct), _corners(tp.spect), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)
    # a lesion's CT voxels are exactly the 2³ CT voxels of each of its SPECT voxels
    anat = fine_ct_patient.anatomy
    assert anat.ct_tissue is not None
    lesion = anat.mask("tumour_1")
    on_ct = labels_on_ct_grid(anat.labels, tp.ct).array == anat.region("tumour_1").label
    assert on_ct.sum() == 8 * lesion.sum()
    # organs are painted from the same primitives on both grids: the body (non-air) volume
    # agrees within its voxelisation error. For voxel centres on a smooth convex surface the
    # first-order in/out errors cancel; what remains is ≈ S h² / (12 R) (trunk surface S ≈
    # 0.7 m², h = 19.2 mm, radius R ≈ 15 cm), ≈ 0.4 % of 36 L: 2 % allowed
    air = anat.tissue_names.index("air")
    v_spect = np.count_nonzero(anat.tissue.array != air) * anat.labels.voxel_volume_ml
    v_ct = np.count_nonzero(anat.ct_tissue.array != air) * tp.ct.voxel_volume_ml
    assert v_ct == pytest.approx(v_spect, rel=0.02)


def test_ct_spacing_must_nest_in_the_spect_grid() -> None:
    with pytest.raises(ValidationError, match="ct_spacing_mm"):
        make_patient(spacing_mm=SPECT_MM, ct_spacing_mm=7.0, time_points_h=[24], tumours="")


def test_export_passes_dciodvfy(export: Path) -> None:
    files = [*sorted((export / "CT").iterdir()), export / "NM.dcm", export / "SEG.dcm"]
    files.append(export / "RTSTRUCT.dcm")
    for f in files:
        report = run_dciodvfy(f)
        errors = [line for line in report.splitlines() if "Error" in line]
        assert not errors, f"{f.name}: {errors}"


def test_export_reads_back(fine_ct_patient: VirtualPatient, export: Path) -> None:
    tp = fine_ct_patient.time_points[0]
    ct = read_ct_series(export / "CT")
    assert ct.same_grid(tp.ct)
    # HU are stored as int16 with slope 1 (clinical convention): rounding to ±0.5 HU
    assert np.max(np.abs(ct.array - tp.ct.array)) <= 0.5
    assert ct.acquisition_time == tp.acquisition_time
    nm = read_nm_image(export / "NM.dcm")
    assert nm.volume.same_grid(tp.spect)
    truth = labels_on_ct_grid(tp.labels, tp.ct)
    names = {r.label: r.name for r in fine_ct_patient.anatomy.regions}
    seg, seg_names = read_seg(export / "SEG.dcm", reference=export / "CT")
    assert seg.same_grid(tp.ct)
    np.testing.assert_array_equal(seg.array, truth.array)  # binary SEG is lossless
    assert seg_names == {k: names[k] for k in seg_names}
    rs, rs_names = read_rtstruct(export / "RTSTRUCT.dcm", reference=export / "CT")
    assert rs_names == seg_names
    # marching squares at level 0.5 puts each contour between the mask's voxel centres and
    # its neighbours', so filling the polygons recovers every voxel: Dice 1 per region
    for label in seg_names:
        a, b = rs.array == label, truth.array == label
        dice = 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))
        assert dice == 1.0, (names[label], dice)


def test_cli_ct_voxel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["phantom", "make", "--seed", "4", "--voxel-mm", str(SPECT_MM), "--times", "24",
            "--tumours", "", "--json"]  # fmt: skip
    assert run_app(app, [*base, "--out", str(tmp_path / "a"), "--ct-voxel-mm", str(CT_MM)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ct_spacing_mm_zyx"] == [CT_MM] * 3
    assert summary["ct_grid_shape_zyx"] == [2 * n for n in summary["grid_shape_zyx"]]
    assert run_app(app, [*base, "--out", str(tmp_path / "b"), "--ct-voxel-mm", "7"]) == 2
    assert "ct_spacing_mm" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
