"""DICOM RT Dose: round trips, the IOD checked by dciodvfy and GDCM, and refusal of bad input."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk  # noqa: N813
from pydicom.uid import RadiopharmaceuticalRadiationDoseSRStorage, RTPlanStorage

from radiotrial.errors import InputFileError, ValidationError
from radiotrial.imaging import (
    DicomStudy,
    Volume,
    administration_uid,
    new_uid,
    read_rtdose,
    read_rtdose_info,
    write_ct_series,
    write_rtdose,
)

from .conftest import SHANGHAI, T_INJ, oblique_direction, run_dciodvfy


def _dose(
    *, direction: np.ndarray | None = None, units: str = "Gy", shape=(5, 6, 7), seed: int = 3
) -> Volume:
    rng = np.random.default_rng(seed)
    return Volume(
        rng.gamma(2.0, 3.0, shape),  # a few Gy with a long tail, like a voxel dose map
        spacing_mm=(4.8, 4.0, 3.0),
        origin_mm=(-12.5, 7.25, 31.0),
        direction=oblique_direction() if direction is None else direction,
        units=units,
        acquisition_time=T_INJ + timedelta(days=7),
    )


@pytest.mark.parametrize("bits", [16, 32])
def test_round_trip_geometry_and_quantisation(tmp_path: Path, study: DicomStudy, bits) -> None:
    dose = _dose()
    path = write_rtdose(
        dose,
        tmp_path / "dose.dcm",
        study=study,
        administration_id="cycle-1",
        bits_allocated=bits,
        comment="LED, 4 time points",
    )
    back = read_rtdose(path)
    info = read_rtdose_info(path)
    # geometry: DS strings hold ≥ 10 significant digits, far below 1e-4 mm
    assert back.same_grid(dose, tol_mm=1e-4)
    np.testing.assert_allclose(back.direction, dose.direction, atol=1e-6)
    assert back.units == "Gy"
    assert back.acquisition_time == dose.acquisition_time
    assert back.acquisition_time.utcoffset() == SHANGHAI.utcoffset(None)
    # value = rint(D/s)·s, so |error| ≤ s/2 (plus float64 rounding of the product)
    s = info.dose_grid_scaling
    assert s == pytest.approx(dose.array.max() / (2**bits - 1), rel=1e-8)
    np.testing.assert_allclose(back.array, dose.array, rtol=0, atol=0.5 * s * (1 + 1e-9))
    assert info.dose_type == "PHYSICAL"
    assert info.dose_summation_type == "RECORD"
    assert info.bits_allocated == bits
    assert info.comment == "LED, 4 time points"
    assert info.referenced_instance == (
        RadiopharmaceuticalRadiationDoseSRStorage,
        administration_uid(study.study_instance_uid, "cycle-1"),
    )
    # independent reader: GDCM places the frames by GridFrameOffsetVector itself and returns
    # the stored integers (it does not apply DoseGridScaling)
    img = sitk.ReadImage(str(path))
    np.testing.assert_allclose(img.GetOrigin(), dose.origin_mm, atol=1e-4)
    np.testing.assert_allclose(img.GetSpacing(), dose.spacing_xyz_mm, atol=1e-4)
    np.testing.assert_allclose(np.reshape(img.GetDirection(), (3, 3)), dose.direction, atol=1e-5)
    raw = sitk.GetArrayFromImage(img).astype(np.float64)
    np.testing.assert_allclose(raw * s, dose.array, rtol=0, atol=0.5 * s * (1 + 1e-9))


def test_passes_dciodvfy_and_references_ct(tmp_path: Path, study: DicomStudy, labels_ct) -> None:
    ct, _ = labels_ct
    ct_dir = write_ct_series(ct, tmp_path / "ct", study=study)
    ct_uids = sorted(str(pydicom.dcmread(f).SOPInstanceUID) for f in ct_dir.iterdir())
    ct_for = str(pydicom.dcmread(next(ct_dir.iterdir())).FrameOfReferenceUID)
    # the dose lives on a coarser SPECT-like grid in the CT's frame of reference
    dose = _dose()
    for kind, kwargs in (
        ("RECORD", {"administration_id": "C1"}),
        ("PLAN", {"referenced_instance": (RTPlanStorage, new_uid())}),
    ):
        path = write_rtdose(
            dose,
            tmp_path / f"{kind}.dcm",
            study=study,
            reference=ct_dir,
            dose_summation_type=kind,
            **kwargs,
        )
        report = run_dciodvfy(path)
        assert "Error" not in report, report
        info = read_rtdose_info(path)
        assert info.frame_of_reference_uid == ct_for
        assert sorted(info.referenced_image_uids) == ct_uids
        assert info.dose_summation_type == kind
    ds = pydicom.dcmread(tmp_path / "PLAN.dcm")
    assert ds.ReferencedRTPlanSequence[0].ReferencedSOPClassUID == RTPlanStorage
    assert ds.DoseUnits == "GY"
    assert ds.FrameIncrementPointer == 0x3004000C


def test_effective_dose_type_for_bed_maps(tmp_path: Path, study: DicomStudy) -> None:
    path = write_rtdose(
        _dose(), tmp_path / "bed.dcm", study=study, administration_id="C1", dose_type="EFFECTIVE"
    )
    assert read_rtdose_info(path).dose_type == "EFFECTIVE"
    report = run_dciodvfy(path)
    assert "Error" not in report, report


def test_voxel_positions_follow_the_standard(tmp_path: Path, study: DicomStudy) -> None:
    """Positions from the raw tags (PS3.3 C.7.6.2.1.1 and C.8.8.3.2) match the input grid."""
    dose = _dose(shape=(4, 3, 5))
    path = write_rtdose(dose, tmp_path / "d.dcm", study=study, administration_id="C1")
    ds = pydicom.dcmread(path)
    ipp = np.asarray(ds.ImagePositionPatient, float)
    row, col = (
        np.asarray(ds.ImageOrientationPatient[:3], float),
        np.asarray(ds.ImageOrientationPatient[3:], float),
    )
    dr, dc = (float(v) for v in ds.PixelSpacing)  # (row spacing, column spacing)
    offsets = np.asarray(ds.GridFrameOffsetVector, float)
    assert offsets[0] == 0.0  # relative form
    normal = np.cross(row, col)
    k, j, i = np.meshgrid(*(np.arange(n) for n in dose.shape), indexing="ij")
    pos = ipp + i[..., None] * dc * row + j[..., None] * dr * col + offsets[k][..., None] * normal
    expected = dose.index_to_lps(np.stack([i, j, k], axis=-1))
    np.testing.assert_allclose(pos, expected, atol=1e-4)


def test_left_handed_input_is_the_same_dose_in_space(tmp_path: Path, study: DicomStudy) -> None:
    d = oblique_direction()
    left = _dose(direction=np.column_stack([d[:, 0], d[:, 1], -d[:, 2]]))
    back = read_rtdose(write_rtdose(left, tmp_path / "d.dcm", study=study, administration_id="1"))
    # written along row × column: frame 0 is the last input slice, same point in space
    np.testing.assert_allclose(
        back.index_to_lps([0, 0, 0]), left.index_to_lps([0, 0, left.shape[0] - 1]), atol=1e-4
    )
    s = read_rtdose_info(tmp_path / "d.dcm").dose_grid_scaling
    np.testing.assert_allclose(back.array[::-1], left.array, atol=0.5 * s * (1 + 1e-9))


def test_zero_dose_and_single_frame(tmp_path: Path, study: DicomStudy) -> None:
    zero = Volume(np.zeros((1, 3, 4)), spacing_mm=(2.0, 1.0, 1.0), units="Gy")
    back = read_rtdose(write_rtdose(zero, tmp_path / "z.dcm", study=study, administration_id="1"))
    assert back.same_grid(zero)
    assert not back.array.any()
    assert back.acquisition_time is None


# ---- bad input, writer -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("array", "units", "match"),
    [
        (np.ones((2, 2, 2)), "Bq/mL", r"dose.units='Bq/mL'.*Gy"),
        (np.ones((2, 2, 2)), "Gy/s", r"dose.units='Gy/s'"),
        (np.array([[[1.0, -0.1]]]), "Gy", r"dose.array=-0.1.*≥ 0 Gy"),
        (np.array([[[1.0, np.nan]]]), "Gy", r"dose.array=nan.*finite.*\(0, 0, 1\)"),
        (np.array([[[np.inf, 1.0]]]), "Gy", r"dose.array=inf.*finite"),
    ],
)
def test_writer_refuses_bad_dose(
    tmp_path: Path, study: DicomStudy, array: np.ndarray, units: str, match: str
) -> None:
    v = Volume(array, spacing_mm=(1, 1, 1), units=units)
    with pytest.raises(ValidationError, match=match):
        write_rtdose(v, tmp_path / "d.dcm", study=study, administration_id="1")
    assert list(tmp_path.iterdir()) == []  # nothing partial


def test_rounding_noise_below_zero_is_stored_as_zero(tmp_path: Path, study: DicomStudy) -> None:
    # −1e-12 Gy (FFT round-off) is far below half a step (10/65535/2 Gy): accepted as 0
    v = Volume(np.array([[[10.0, -1e-12, 3.0]]]), spacing_mm=(1, 1, 1), units="Gy")
    back = read_rtdose(write_rtdose(v, tmp_path / "d.dcm", study=study, administration_id="1"))
    assert back.array[0, 0, 1] == 0.0


def test_writer_refuses_missing_references(tmp_path: Path, study: DicomStudy, labels_ct) -> None:
    dose = _dose()
    with pytest.raises(ValidationError, match=r"administration_id.*\(3008,0030\)"):
        write_rtdose(dose, tmp_path / "d.dcm", study=study)
    with pytest.raises(ValidationError, match=r"referenced_instance.*\(300C,0002\)"):
        write_rtdose(dose, tmp_path / "d.dcm", study=study, dose_summation_type="PLAN")
    with pytest.raises(ValidationError, match="referenced_instance"):
        write_rtdose(dose, tmp_path / "d.dcm", study=study, referenced_instance=("1.2.x", "1.2"))
    ct, _ = labels_ct
    ct_dir = write_ct_series(ct, tmp_path / "ct", study=study)
    with pytest.raises(ValidationError, match="frame_of_reference_uid.*contradicts"):
        write_rtdose(
            dose,
            tmp_path / "d.dcm",
            study=study,
            reference=ct_dir,
            frame_of_reference_uid=new_uid(),
            administration_id="1",
        )
    assert not (tmp_path / "d.dcm").exists()
    path = write_rtdose(dose, tmp_path / "d.dcm", study=study, administration_id="1")
    with pytest.raises(ValidationError, match="already exists"):
        write_rtdose(dose, path, study=study, administration_id="1")


# ---- bad input, reader -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda ds: setattr(ds, "DoseUnits", "RELATIVE"), r"DoseUnits \(3004,0002\) = 'RELATIVE'"),
        (lambda ds: setattr(ds, "DoseType", "ERROR"), r"DoseType \(3004,0004\) = 'ERROR'"),
        (lambda ds: setattr(ds, "DoseGridScaling", "0"), r"DoseGridScaling \(3004,000E\) = 0"),
        (lambda ds: delattr(ds, "DoseGridScaling"), r"missing or empty DoseGridScaling"),
        (
            lambda ds: setattr(ds, "GridFrameOffsetVector", [0, 4.8, 9.6, 16.0, 19.2]),
            r"\(3004,000C\): irregular frame spacing",
        ),
        (
            lambda ds: setattr(ds, "GridFrameOffsetVector", [0, 4.8, 4.8, 9.6, 14.4]),
            r"not monotonic",
        ),
        (lambda ds: setattr(ds, "GridFrameOffsetVector", [0, 4.8]), r"expected 5 finite"),
        (lambda ds: setattr(ds, "Modality", "CT"), r"expected RT Dose Storage"),
        (
            lambda ds: setattr(ds, "GridFrameOffsetVector", [5, 9.8, 14.6, 19.4, 24.2]),
            r"absolute form.*not 1",
        ),
    ],
)
def test_reader_refuses_bad_files(tmp_path: Path, study: DicomStudy, mutate, match: str) -> None:
    p = write_rtdose(_dose(), tmp_path / "d.dcm", study=study, administration_id="1")
    ds = pydicom.dcmread(p)
    mutate(ds)
    ds.save_as(p)
    with pytest.raises(InputFileError, match=match) as e:
        read_rtdose(p)
    assert str(p) in str(e.value)


def test_reader_accepts_absolute_and_decreasing_offsets(tmp_path: Path, study: DicomStudy) -> None:
    axial = _dose(direction=np.eye(3))
    p = write_rtdose(axial, tmp_path / "d.dcm", study=study, administration_id="1")
    s = read_rtdose_info(p).dose_grid_scaling
    ds = pydicom.dcmread(p)
    # absolute form (C.8.8.3.2): z coordinates of the frames, valid for 1\0\0\0\1\0
    ds.GridFrameOffsetVector = [axial.origin_mm[2] + 4.8 * k for k in range(5)]
    ds.save_as(p)
    back = read_rtdose(p)
    assert back.same_grid(axial, tol_mm=1e-4)
    # decreasing offsets: the stack runs against the normal (a left-handed grid)
    ds.GridFrameOffsetVector = [-4.8 * k for k in range(5)]
    ds.save_as(p)
    back = read_rtdose(p)
    assert back.direction[2, 2] == pytest.approx(-1.0)
    np.testing.assert_allclose(back.index_to_lps([0, 0, 4]), np.add(axial.origin_mm, [0, 0, -19.2]))
    np.testing.assert_allclose(back.array, axial.array, atol=0.5 * s * (1 + 1e-9))
