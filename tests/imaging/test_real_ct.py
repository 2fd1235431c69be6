"""A real CT with organ labels (TotalSegmentator example case, ../shared/data): geometry, DICOM
round trips and conserving resampling of label-derived activity.

The data are read in place (never copied into the repository); the tests skip without them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813

from radiotrial.imaging import (
    DicomStudy,
    Volume,
    read_ct_series,
    read_nifti,
    read_rtstruct,
    read_seg,
    resample,
    write_ct_series,
    write_rtstruct,
    write_seg,
)

from .conftest import T_INJ

#: TotalSegmentator "total" class map (data README): a few organs the dosimetry cares about
ORGANS = {1: "spleen", 2: "right kidney", 3: "left kidney", 5: "liver"}
SHAPE_ZYX = (30, 101, 122)  # README: 122 × 101 × 30 voxels (x, y, z) of 3 mm


@pytest.fixture(scope="module")
def case(shared_data: Path) -> tuple[Path, Path]:
    folder = shared_data / "totalsegmentator-example"
    ct, seg = folder / "example_ct_sm.nii.gz", folder / "example_seg.nii.gz"
    if not (ct.is_file() and seg.is_file()):
        pytest.skip(f"TotalSegmentator example case not found in {folder}")
    return ct, seg


@pytest.fixture(scope="module")
def volumes(case: tuple[Path, Path]) -> tuple[Volume, Volume]:
    ct_path, seg_path = case
    ct, meta = read_nifti(ct_path, units="HU")  # no sidecar: units are stated by the caller
    labels, _ = read_nifti(seg_path, units="label")
    assert meta == {}
    return ct.with_time(T_INJ), labels


@pytest.fixture(scope="module")
def ct_series(
    volumes: tuple[Volume, Volume], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, DicomStudy]:
    study = DicomStudy(patient_id="TS-EXAMPLE", study_datetime=T_INJ)
    out = write_ct_series(volumes[0], tmp_path_factory.mktemp("real") / "ct", study=study)
    return out, study


def test_nifti_geometry_matches_readme_and_itk(
    case: tuple[Path, Path], volumes: tuple[Volume, Volume]
) -> None:
    ct, labels = volumes
    assert ct.shape == labels.shape == SHAPE_ZYX
    assert ct.spacing_mm == pytest.approx((3.0, 3.0, 3.0), abs=1e-6)  # README: 3 mm voxels
    np.testing.assert_array_equal(ct.affine, labels.affine)  # README: identical affine
    assert labels.same_grid(ct, tol_mm=0.0)
    # README: HU from −1100 to 1207; labels follow the "total" map (42 values with 0)
    assert (int(ct.array.min()), int(ct.array.max())) == (-1100, 1207)
    present = set(np.unique(labels.array).tolist())
    assert len(present) == 42
    assert set(ORGANS) <= present
    # independent reader: ITK converts NIfTI's RAS to LPS itself
    img = sitk.ReadImage(str(case[0]))
    np.testing.assert_allclose(img.GetOrigin(), ct.origin_mm, atol=1e-4)
    np.testing.assert_allclose(img.GetSpacing(), ct.spacing_xyz_mm, atol=1e-6)
    np.testing.assert_allclose(np.reshape(img.GetDirection(), (3, 3)), ct.direction, atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), ct.array)
    # the kidneys lie either side of the spine: right kidney at lower LPS x (patient's right)
    right = ct.index_to_lps(np.argwhere(labels.array == 2).mean(axis=0)[::-1])
    left = ct.index_to_lps(np.argwhere(labels.array == 3).mean(axis=0)[::-1])
    assert right[0] < left[0]


def test_ct_dicom_round_trip(
    volumes: tuple[Volume, Volume], ct_series: tuple[Path, DicomStudy]
) -> None:
    ct, _ = volumes
    back = read_ct_series(ct_series[0])
    assert back.same_grid(ct, tol_mm=1e-4)  # DS strings carry ≥ 10 significant digits
    np.testing.assert_array_equal(back.array, ct.array)  # int16 HU, slope 1: lossless
    assert back.acquisition_time == T_INJ


def test_seg_and_rtstruct_round_trip_of_organs(
    tmp_path: Path, volumes: tuple[Volume, Volume], ct_series: tuple[Path, DicomStudy]
) -> None:
    _, labels = volumes
    ct_dir, study = ct_series
    lab = np.where(np.isin(labels.array, list(ORGANS)), labels.array, 0).astype(np.int32)
    organs = labels.with_array(lab)
    seg = write_seg(organs, ORGANS, tmp_path / "seg.dcm", reference=ct_dir)
    got, names = read_seg(seg, reference=ct_dir)
    assert got.same_grid(labels, tol_mm=1e-4)
    np.testing.assert_array_equal(got.array, lab)  # binary SEG is lossless
    assert names == ORGANS
    rs = write_rtstruct(organs, ORGANS, tmp_path / "rs.dcm", reference=ct_dir, study=study)
    got, names = read_rtstruct(rs, reference=ct_dir)
    # marching-squares contours at 0.5 pass between in and out voxel centres, so the
    # even-odd rasterisation of the centres gives back every real organ mask exactly
    np.testing.assert_array_equal(got.array, lab)
    assert names == ORGANS


def _concentration_bq_ml(n_labels: int) -> np.ndarray:
    """Bq/mL per label: arbitrary distinct organ values, 1 kBq/mL in other labelled tissue."""
    conc = np.zeros(n_labels)
    conc[1:] = 1e3
    conc[list(ORGANS)] = [5e4, 2e5, 1.8e5, 3e4]
    return conc


def _activity(labels: Volume) -> Volume:
    conc = _concentration_bq_ml(int(labels.array.max()) + 1)
    return labels.with_array(conc[labels.array], units="Bq/mL")


def test_conserving_resample_onto_spect_grid(volumes: tuple[Volume, Volume]) -> None:
    _, labels = volumes
    act = _activity(labels)
    # analytic total: Σ_organ c · n_voxels · 0.027 mL
    counts = np.bincount(labels.array.ravel())
    expected_bq = float(np.sum(_concentration_bq_ml(counts.size) * counts) * 0.027)
    assert act.total() == pytest.approx(expected_bq, rel=1e-12)
    # a 4.8 mm SPECT grid covering the CT, shifted by a non-multiple of either spacing
    ext = np.asarray(labels.spacing_xyz_mm) * np.asarray(labels.shape[::-1])
    n = np.ceil((ext + 9.6) / 4.8).astype(int)
    start = labels.index_to_lps([-0.5, -0.5, -0.5]) - labels.direction @ np.full(3, 4.2)
    spect = Volume(
        np.zeros((n[2], n[1], n[0])),
        spacing_mm=(4.8, 4.8, 4.8),
        origin_mm=tuple(start + labels.direction @ np.full(3, 2.4)),
        direction=labels.direction,
    )
    out = resample(act, spect)
    # exact overlap weights form a partition of unity: ∫ c dV is kept to rounding
    assert out.total() == pytest.approx(expected_bq, rel=1e-9)
    assert out.units == "Bq/mL"
    assert float(out.array.min()) >= 0.0


def test_conserving_resample_equals_subvoxel_reference(volumes: tuple[Volume, Volume]) -> None:
    """On a crop around the kidneys, the 3 → 4.8 mm overlap is computed independently on the
    common 0.6 mm lattice (3 = 5 × 0.6, 4.8 = 8 × 0.6): split every CT voxel into 5³ equal
    parts, sum the parts in each 8³ block. Both are exact, so they agree to rounding."""
    _, labels = volumes
    act = _activity(labels)
    zz, yy, xx = np.nonzero(np.isin(labels.array, (2, 3)))
    sl = tuple(slice(int(a.min()), int(a.max()) + 1) for a in (zz, yy, xx))
    k0, j0, i0 = (s.start for s in sl)
    crop = Volume(
        act.array[sl],
        spacing_mm=act.spacing_mm,
        origin_mm=tuple(act.index_to_lps([i0, j0, k0])),
        direction=act.direction,
        units="Bq/mL",
    )
    lead = 7  # the target grid starts 7 × 0.6 mm = 4.2 mm before the crop
    fine = np.asarray(crop.array) * crop.voxel_volume_ml / 125.0  # Bq per 0.6 mm cell
    for axis in range(3):
        fine = np.repeat(fine, 5, axis=axis)
    m = [int(np.ceil((lead + f) / 8)) for f in fine.shape]
    fine = np.pad(fine, [(lead, 8 * mm - lead - f) for mm, f in zip(m, fine.shape, strict=True)])
    reference_bq = fine.reshape(m[0], 8, m[1], 8, m[2], 8).sum(axis=(1, 3, 5))
    start = crop.index_to_lps([-0.5, -0.5, -0.5]) - crop.direction @ np.full(3, 0.6 * lead)
    grid = Volume(
        np.zeros(tuple(m)),
        spacing_mm=(4.8, 4.8, 4.8),
        origin_mm=tuple(start + crop.direction @ np.full(3, 2.4)),
        direction=crop.direction,
    )
    out = resample(crop, grid)
    # relative 1e-9 of the largest voxel: float64 sums of ≤ 512 terms
    np.testing.assert_allclose(
        out.array * grid.voxel_volume_ml, reference_bq, rtol=0, atol=1e-9 * reference_bq.max()
    )
