"""DICOM round trips, checked against SimpleITK/GDCM (an independent reader) and dciodvfy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk  # noqa: N813

from radiotrial.errors import ValidationError
from radiotrial.imaging import (
    DicomStudy,
    EnergyWindow,
    NMImage,
    Radiopharmaceutical,
    TomoRotation,
    Volume,
    find_series,
    read_ct_series,
    read_nm_image,
    read_rtstruct,
    read_seg,
    write_ct_series,
    write_nm_image,
    write_rtstruct,
    write_seg,
)

from .conftest import SHANGHAI, T_INJ, oblique_direction, run_dciodvfy


def _spect(units: str = "Bq/mL", left_handed: bool = False) -> Volume:
    rng = np.random.default_rng(7)
    d = oblique_direction()
    if left_handed:
        d = np.column_stack([d[:, 0], d[:, 1], -d[:, 2]])
    return Volume(
        rng.gamma(2.0, 500.0, (6, 9, 11)),
        spacing_mm=(4.8, 4.8, 4.8),
        origin_mm=(-20.0, 15.0, 40.0),
        direction=d,
        units=units,
        acquisition_time=T_INJ + timedelta(hours=24, minutes=5),
    )


def _nm(vol: Volume) -> NMImage:
    rp = Radiopharmaceutical("177Lu", 7.4e9, T_INJ)
    # window 208.4 keV ±10% (MRTDosimetry harmonised protocol, REFERENCE.md)
    return NMImage(vol, rp, (EnergyWindow(187.56, 229.24),), TomoRotation(120, 60.0), "PARA")


def test_ct_round_trip_matches_gdcm(tmp_path: Path, study: DicomStudy, labels_ct) -> None:
    ct, _ = labels_ct
    out = write_ct_series(ct, tmp_path / "ct", study=study)
    back = read_ct_series(out)
    # HU are stored as int16 with slope 1: integer inputs come back exactly
    np.testing.assert_array_equal(back.array, ct.array)
    assert back.same_grid(ct)
    assert back.acquisition_time == ct.acquisition_time
    # independent reader: GDCM via SimpleITK sorts the slices itself
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(out)))
    img = reader.Execute()
    np.testing.assert_allclose(img.GetOrigin(), ct.origin_mm, atol=1e-4)  # DS precision
    np.testing.assert_allclose(img.GetSpacing(), ct.spacing_xyz_mm, atol=1e-4)
    np.testing.assert_allclose(np.reshape(img.GetDirection(), (3, 3)), ct.direction, atol=1e-5)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(img), ct.array)
    for f in sorted(out.iterdir())[:2]:
        report = run_dciodvfy(f)
        assert "Error" not in report, report


@pytest.mark.parametrize("left_handed", [False, True])
def test_nm_round_trip(tmp_path: Path, study: DicomStudy, left_handed: bool) -> None:
    vol = _spect(left_handed=left_handed)
    path = write_nm_image(_nm(vol), tmp_path / "nm.dcm", study=study)
    back = read_nm_image(path)
    v = back.volume
    # left-handed input is re-expressed right-handed: compare in patient space
    if left_handed:
        vol = Volume(
            vol.array[::-1],
            spacing_mm=vol.spacing_mm,
            origin_mm=tuple(vol.index_to_lps([0, 0, vol.shape[0] - 1])),
            direction=np.column_stack([vol.direction[:, :2], -vol.direction[:, 2]]),
            units=vol.units,
        )
    assert v.same_grid(vol, tol_mm=1e-4)
    # 16-bit storage with slope max/65535: error ≤ half a step of the maximum
    np.testing.assert_allclose(v.array, vol.array, rtol=0, atol=0.5 * vol.array.max() / 65535)
    assert v.total() == pytest.approx(vol.total(), rel=1e-5)
    rp = back.radiopharmaceutical
    assert rp.nuclide == "Lu-177"
    assert rp.injected_activity_bq == pytest.approx(7.4e9, rel=1e-12)
    assert rp.injection_time == T_INJ
    assert back.time_since_injection_h == pytest.approx(24 + 5 / 60, abs=1e-9)
    assert back.rotation == TomoRotation(120, 60.0)
    ds = pydicom.dcmread(path)
    # NM Isotope module: Radionuclide Total Dose is in MBq (PS3.3 C.8.4.10.1.7)
    assert float(ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose) == 7400.0
    assert ds.RadiopharmaceuticalInformationSequence[0].RadionuclideCodeSequence[0].CodeValue == (
        "447553000"  # SNOMED CT ^177^Lutetium, DICOM CID 18
    )
    assert ds.Units == "BQML"
    # independent geometry check by GDCM
    img = sitk.ReadImage(str(path))
    np.testing.assert_allclose(img.GetOrigin(), v.origin_mm, atol=1e-4)
    np.testing.assert_allclose(np.reshape(img.GetDirection(), (3, 3)), v.direction, atol=1e-5)
    report = run_dciodvfy(path)
    assert "Error" not in report, report


def test_nm_refuses_unsupported_units(tmp_path: Path, study: DicomStudy) -> None:
    with pytest.raises(ValidationError, match="volume.units"):
        write_nm_image(_nm(_spect(units="Bq")), tmp_path / "x.dcm", study=study)
    assert not list(tmp_path.iterdir())  # nothing partial


def test_seg_and_rtstruct_round_trip(tmp_path: Path, study: DicomStudy, labels_ct) -> None:
    ct, lab = labels_ct
    ct_dir = write_ct_series(ct, tmp_path / "ct", study=study)
    labels = ct.with_array(lab, units="label")
    names = {1: "liver", 2: "tumour 1"}
    seg = write_seg(labels, names, tmp_path / "seg.dcm", reference=ct_dir)
    rs = write_rtstruct(labels, names, tmp_path / "rs.dcm", reference=ct_dir, study=study)
    got, got_names = read_seg(seg, reference=ct_dir)
    np.testing.assert_array_equal(got.array, lab)  # binary SEG is lossless
    assert got_names == names
    got, got_names = read_rtstruct(rs, reference=ct_dir)
    # marching-squares contours at level 0.5 enclose exactly the voxel centres of the mask
    np.testing.assert_array_equal(got.array, lab)
    assert got_names == names
    for f in (seg, rs):
        report = run_dciodvfy(f)
        assert "Error" not in report, report
    kinds = {s.modality for s in find_series(tmp_path)[0]}
    assert kinds == {"CT", "SEG", "RTSTRUCT"}


def test_seg_refuses_other_grid(tmp_path: Path, study: DicomStudy, labels_ct) -> None:
    ct, lab = labels_ct
    ct_dir = write_ct_series(ct, tmp_path / "ct", study=study)
    shifted = Volume(lab, spacing_mm=ct.spacing_mm, origin_mm=(0, 0, 0), units="label")
    with pytest.raises(ValidationError, match="grid differs"):
        write_seg(shifted, {1: "liver", 2: "t"}, tmp_path / "seg.dcm", reference=ct_dir)
    assert not (tmp_path / "seg.dcm").exists()


def test_timezone_kept(tmp_path: Path, study: DicomStudy) -> None:
    vol = _spect()
    path = write_nm_image(_nm(vol), tmp_path / "nm.dcm", study=study)
    back = read_nm_image(path)
    assert back.volume.acquisition_time is not None
    assert back.volume.acquisition_time.utcoffset() == SHANGHAI.utcoffset(None)


def test_seg_keeps_label_values(tmp_path: Path, study: DicomStudy, labels_ct) -> None:
    """Segment numbers must run 1..N (PS3.3 C.8.20.2); the label values 3 and 6 come back."""
    ct, lab = labels_ct
    ct_dir = write_ct_series(ct, tmp_path / "ct", study=study)
    labels = ct.with_array(lab * 3, units="label")
    names = {3: "liver", 6: "tumour 1"}
    seg = write_seg(labels, names, tmp_path / "seg.dcm", reference=ct_dir)
    ds = pydicom.dcmread(seg)
    assert [int(s.SegmentNumber) for s in ds.SegmentSequence] == [1, 2]
    assert [s.TrackingID for s in ds.SegmentSequence] == ["label 3: liver", "label 6: tumour 1"]
    got, got_names = read_seg(seg, reference=ct_dir)
    np.testing.assert_array_equal(got.array, lab * 3)
    assert got_names == names
    report = run_dciodvfy(seg)
    assert "Error" not in report, report
    # a SEG from elsewhere (no radiotrial Tracking ID) reads as its segment numbers
    for item in ds.SegmentSequence:
        del item.TrackingID, item.TrackingUID
    ds.save_as(seg)
    got, got_names = read_seg(seg, reference=ct_dir)
    np.testing.assert_array_equal(got.array, lab)
    assert got_names == {1: "liver", 2: "tumour 1"}
