"""Absorbed-dose maps as DICOM RT Dose: one multi-frame object, frames along the slice normal.

The RT Dose IOD (PS3.3 A.18.3) is written with the Patient, General Study, RT Series, Frame of
Reference, General Equipment, General Image, Image Plane, Image Pixel, Multi-frame, RT Dose and
SOP Common modules. Frames are stacked along the normal of the image plane and located by
Grid Frame Offset Vector (3004,000C) in its *relative* form (first value 0, PS3.3 C.8.8.3.2);
values are unsigned integers times Dose Grid Scaling (3004,000E), in Gy.

References
----------
DICOM PS3.3 A.18 (RT Dose IOD), C.8.8.1 (RT Series), C.8.8.3 (RT Dose module; C.8.8.3.2 Grid
Frame Offset Vector; C.8.8.3.4 Image Pixel specialisation), C.7.6.2 (Image Plane), C.7.6.6
(Multi-frame), A.35.18 (Radiopharmaceutical Radiation Dose SR); PS3.5 B.2 (UUID-derived UIDs).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import RadiopharmaceuticalRadiationDoseSRStorage, RTDoseStorage

from radiotrial.errors import InputFileError, ValidationError
from radiotrial.imaging._dicom_common import (
    DicomStudy,
    atomic_output_file,
    base_dataset,
    check_orientation,
    dicom_da,
    dicom_tm,
    ds_str,
    file_timezone,
    new_uid,
    pixel_array,
    read_dataset,
    read_date_time,
    reading,
    require,
    require_float,
    require_floats,
    right_handed,
    save,
)
from radiotrial.imaging._series import DicomSeries, single_series
from radiotrial.imaging._volume import Volume

__all__ = [
    "RTDoseInfo",
    "administration_uid",
    "read_rtdose",
    "read_rtdose_info",
    "write_rtdose",
]

DoseSummationType = Literal["PLAN", "RECORD"]
DoseType = Literal["PHYSICAL", "EFFECTIVE"]

#: Grid Frame Offset Vector (3004,000C): the Frame Increment Pointer of an RT Dose grid.
_GRID_FRAME_OFFSET_TAG: Final = 0x3004000C
#: Frame positions agree with a regular grid to this tolerance (DS carries ≤ 16 characters).
_OFFSET_ATOL_MM: Final = 1e-3
_OFFSET_RTOL: Final = 1e-4
#: Headroom on Dose Grid Scaling so that DS rounding (≤ 5e-11 relative) never overflows.
_SCALING_HEADROOM: Final = 1e-9


def administration_uid(study_instance_uid: str, administration_id: str) -> str:
    """A stable UID naming one administration of a radiopharmaceutical (PS3.5 B.2).

    The UID is the ``2.25.`` form of a name-based UUID (RFC 4122 version 5) of the study UID
    and the administration identifier, so every dose map of the same administration
    references the same record.
    """
    if not administration_id.strip():
        raise ValidationError("administration_id", administration_id, "must not be empty")
    name = f"radiotrial:{study_instance_uid}:{administration_id}"
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, name).int}"


@dataclass(frozen=True)
class RTDoseInfo:
    """What an RT Dose object says about its dose, besides the grid.

    Attributes
    ----------
    dose_type : str
        Dose Type (3004,0004): ``PHYSICAL`` (absorbed dose) or ``EFFECTIVE`` (e.g. BED, EQD2).
    dose_summation_type : str
        Dose Summation Type (3004,000A), e.g. ``RECORD`` or ``PLAN``.
    comment : str
        Dose Comment (3004,0006).
    dose_grid_scaling : float
        Gy per stored unit (3004,000E); half of it bounds the quantisation error.
    bits_allocated : int
    frame_of_reference_uid, study_instance_uid, series_instance_uid, sop_instance_uid : str
    referenced_instance : tuple of (str, str) or None
        ``(SOP Class UID, SOP Instance UID)`` of the referenced RT Plan or treatment record.
    referenced_image_uids : tuple of str
        SOP Instance UIDs in Referenced Image Sequence (0008,1140) (the CT it was computed on).
    """

    dose_type: str
    dose_summation_type: str
    comment: str
    dose_grid_scaling: float
    bits_allocated: int
    frame_of_reference_uid: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    referenced_instance: tuple[str, str] | None
    referenced_image_uids: tuple[str, ...]


def _quantise(
    dose: npt.NDArray[np.float64], bits: int
) -> tuple[npt.NDArray[np.unsignedinteger], str]:
    """Stored unsigned integers and the Dose Grid Scaling DS string (stored × scaling = Gy)."""
    top = float(2**bits - 1)
    peak = float(np.max(dose))
    if peak <= 0.0:
        return np.zeros(dose.shape, dtype=np.uint16 if bits == 16 else np.uint32), "1"
    scaling_str = ds_str([peak / top * (1.0 + _SCALING_HEADROOM)])[0]
    scaling = float(scaling_str)
    stored = np.rint(dose / scaling).clip(0.0, top)
    return stored.astype(np.uint16 if bits == 16 else np.uint32), scaling_str


def _check_dose(dose: Volume, bits: int) -> npt.NDArray[np.float64]:
    if dose.units != "Gy":
        raise ValidationError(
            "dose.units",
            dose.units,
            "an RT Dose holds absorbed dose in Gy (DoseUnits GY); convert the map first",
        )
    if bits not in (16, 32):
        raise ValidationError("bits_allocated", bits, "RT Dose pixels are 16 or 32 bits")
    values = np.asarray(dose.array, dtype=np.float64)
    finite = np.isfinite(values)
    if not np.all(finite):
        bad = np.argwhere(~finite)[0]
        raise ValidationError(
            "dose.array",
            float(values[tuple(bad)]),
            f"dose must be finite; first bad voxel at (z, y, x) = {tuple(int(v) for v in bad)}",
        )
    low = float(np.min(values))
    if low < 0.0:
        # floating-point noise (FFT convolution) that rounds to 0 at the grid scaling is
        # indistinguishable from 0 once stored; anything more negative is a real error
        peak = max(float(np.max(values)), 0.0)
        half_step = 0.5 * peak / float(2**bits - 1)
        if low < -half_step:
            bad = np.unravel_index(int(np.argmin(values)), values.shape)
            raise ValidationError(
                "dose.array",
                low,
                "absorbed dose must be ≥ 0 Gy (DoseType PHYSICAL/EFFECTIVE is stored unsigned); "
                f"most negative voxel at (z, y, x) = {tuple(int(v) for v in bad)}",
            )
        values = np.clip(values, 0.0, None)
    return values


def write_rtdose(
    dose: Volume,
    path: Path | str,
    *,
    study: DicomStudy,
    reference: Path | str | DicomSeries | None = None,
    frame_of_reference_uid: str | None = None,
    dose_summation_type: DoseSummationType = "RECORD",
    dose_type: DoseType = "PHYSICAL",
    administration_id: str | None = None,
    referenced_instance: tuple[str, str] | None = None,
    comment: str = "",
    series_instance_uid: str | None = None,
    series_number: int = 20,
    series_description: str = "Absorbed dose",
    bits_allocated: Literal[16, 32] = 16,
    overwrite: bool = False,
) -> Path:
    """Write an absorbed-dose map (Gy) as one DICOM RT Dose object.

    Parameters
    ----------
    dose : Volume
        ``units == "Gy"``, finite, ≥ 0; any grid (a SPECT or CT grid, any orientation).
        Its ``acquisition_time``, if set, is written as Acquisition Date/Time.
    path : path
        Output file (written to a temporary sibling, then renamed).
    study : DicomStudy
        Patient and study identity of the dose object.
    reference : path or DicomSeries, optional
        The image series (the CT) the dose was computed on: its Frame of Reference UID is
        shared and its instances are listed in Referenced Image Sequence (0008,1140).
    frame_of_reference_uid : str, optional
        When there is no ``reference`` (or to check it): the patient coordinate system of
        the dose. A new UID is made when both are omitted (a dose that cannot be overlaid).
    dose_summation_type : {"RECORD", "PLAN"}, default "RECORD"
        ``RECORD``: dose delivered by a recorded administration (post-therapy dosimetry);
        ``PLAN``: dose planned (e.g. predicted for the next cycle).
    dose_type : {"PHYSICAL", "EFFECTIVE"}, default "PHYSICAL"
        ``EFFECTIVE`` for radiobiologically weighted maps (BED, EQD2; PS3.3 C.8.8.3, CP-2379).
    administration_id : str, optional
        For ``RECORD``: the administration (e.g. the registry's administration ID) the dose
        belongs to. It is referenced in Referenced Treatment Record Sequence (3008,0030) as
        a Radiopharmaceutical Radiation Dose SR instance with UID
        :func:`administration_uid` ``(study UID, administration_id)``.
    referenced_instance : (str, str), optional
        ``(SOP Class UID, SOP Instance UID)`` of the RT Plan (``PLAN``) or treatment record
        (``RECORD``); overrides ``administration_id``.
    comment : str
        Dose Comment (3004,0006), ≤ 10240 characters (e.g. method, engine, cycle).
    series_instance_uid : str, optional
    series_number : int, default 20
    series_description : str, default "Absorbed dose"
    bits_allocated : {16, 32}, default 16
        Pixel depth. 16 bits bound the error by ``max/131070`` (≈ 8e-6 of the maximum) and
        are what the installed ``dciodvfy`` can verify; 32 bits bound it by ``max/8.6e9``.
    overwrite : bool, default False

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        Units other than Gy, non-finite or negative dose, no plan/record reference, a
        reference series without Frame of Reference, or a contradicting
        ``frame_of_reference_uid``.

    Notes
    -----
    Stored values are :math:`q = \\mathrm{rint}(D/s)` with Dose Grid Scaling
    :math:`s = D_{\\max}(1+10^{-9})/(2^{b}-1)` rounded to a 16-character DS, so the read-back
    dose :math:`q s` satisfies :math:`|qs - D| \\le s/2`. Negative values that would round to
    0 (floating-point noise) are stored as 0; more negative values raise.
    The RT Dose module requires Referenced RT Plan Sequence (300C,0002) for ``PLAN`` and
    Referenced Treatment Record Sequence (3008,0030) for ``RECORD`` (PS3.3 C.8.8.3); radioligand
    therapy has no RT Plan object, so post-therapy dose maps reference the administration.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from radiotrial.imaging import DicomStudy, Volume, read_rtdose
    >>> d = Volume(np.full((2, 3, 4), 2.5), spacing_mm=(4.8, 4.8, 4.8), units="Gy")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "dose.dcm"
    >>> _ = write_rtdose(d, out, study=DicomStudy(patient_id="NEOB-001"), administration_id="C1")
    >>> round(float(read_rtdose(out).array.max()), 6)  # within DoseGridScaling / 2
    2.5
    """
    values = _check_dose(dose, bits_allocated)
    if dose_summation_type not in ("PLAN", "RECORD"):
        raise ValidationError("dose_summation_type", dose_summation_type, "'PLAN' or 'RECORD'")
    if dose_type not in ("PHYSICAL", "EFFECTIVE"):
        raise ValidationError("dose_type", dose_type, "'PHYSICAL' or 'EFFECTIVE'")
    ref_item = _treatment_reference(
        study, dose_summation_type, administration_id, referenced_instance
    )
    series = None
    if reference is not None:
        series = reference if isinstance(reference, DicomSeries) else single_series(reference)
        ref_for = series.frame_of_reference_uid
        if ref_for is None:
            raise ValidationError(
                "reference",
                str(series.files[0]),
                "the reference series has no FrameOfReferenceUID (0020,0052)",
            )
        if frame_of_reference_uid is not None and frame_of_reference_uid != ref_for:
            raise ValidationError(
                "frame_of_reference_uid",
                frame_of_reference_uid,
                f"contradicts the reference series' FrameOfReferenceUID {ref_for}",
            )
        for_uid = ref_for
    else:
        for_uid = frame_of_reference_uid or new_uid()
    if len(comment) > 10240:
        raise ValidationError("comment", comment[:40] + "…", "DoseComment is ≤ 10240 characters")

    array, origin, direction = right_handed(dose.with_array(values))
    stored, scaling_str = _quantise(np.asarray(array, dtype=np.float64), bits_allocated)
    dz, dy, dx = dose.spacing_mm
    nz = int(stored.shape[0])
    when = dose.acquisition_time or study.study_datetime or datetime.now().astimezone()
    ds = base_dataset(
        study=study,
        sop_class_uid=RTDoseStorage,
        modality="RTDOSE",
        series_instance_uid=series_instance_uid or new_uid(),
        series_number=series_number,
        series_description=series_description,
        frame_of_reference_uid=for_uid,
        content_time=when,
        instance_number=1,
    )
    ds.OperatorsName = ""  # RT Series, Type 2
    # General Image
    if dose.acquisition_time is not None:
        ds.AcquisitionDate = dicom_da(dose.acquisition_time)
        ds.AcquisitionTime = dicom_tm(dose.acquisition_time)
    ds.ImageType = ["DERIVED", "SECONDARY"]
    if series is not None:
        refs = []
        for h in series.headers:
            item = Dataset()
            item.ReferencedSOPClassUID = h.SOPClassUID
            item.ReferencedSOPInstanceUID = h.SOPInstanceUID
            refs.append(item)
        ds.ReferencedImageSequence = Sequence(refs)
    # Image Plane
    ds.ImagePositionPatient = ds_str(origin)
    ds.ImageOrientationPatient = ds_str(np.concatenate([direction[:, 0], direction[:, 1]]))
    ds.PixelSpacing = ds_str([dy, dx])
    ds.SliceThickness = ds_str([dz])[0]
    # Image Pixel (RT Dose specialisation, C.8.8.3.4)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(stored.shape[1]), int(stored.shape[2])
    ds.BitsAllocated = bits_allocated
    ds.BitsStored = bits_allocated
    ds.HighBit = bits_allocated - 1
    ds.PixelRepresentation = 0
    # Multi-frame: frames located by Grid Frame Offset Vector (relative form, first = 0)
    ds.NumberOfFrames = nz
    ds.FrameIncrementPointer = _GRID_FRAME_OFFSET_TAG
    ds.GridFrameOffsetVector = ds_str(np.arange(nz) * dz)
    # RT Dose
    ds.DoseUnits = "GY"
    ds.DoseType = dose_type
    ds.DoseSummationType = dose_summation_type
    ds.DoseGridScaling = scaling_str
    if comment:
        ds.DoseComment = comment
    if dose_summation_type == "PLAN":
        ds.ReferencedRTPlanSequence = Sequence([ref_item])
    else:
        ds.ReferencedTreatmentRecordSequence = Sequence([ref_item])
    ds.PixelData = np.ascontiguousarray(stored).tobytes()
    with atomic_output_file(Path(path), overwrite=overwrite) as tmp:
        save(ds, tmp)
    return Path(path)


def _treatment_reference(
    study: DicomStudy,
    summation: str,
    administration_id: str | None,
    referenced_instance: tuple[str, str] | None,
) -> Dataset:
    item = Dataset()
    if referenced_instance is not None:
        cls, inst = referenced_instance
        for name, uid in (("SOP Class UID", cls), ("SOP Instance UID", inst)):
            if not uid or len(uid) > 64 or not all(p.isdigit() for p in uid.split(".")):
                raise ValidationError("referenced_instance", referenced_instance, f"{name} {uid!r}")
        item.ReferencedSOPClassUID = cls
        item.ReferencedSOPInstanceUID = inst
        return item
    if summation == "PLAN":
        raise ValidationError(
            "referenced_instance",
            None,
            "a PLAN dose must reference its RT Plan (Referenced RT Plan Sequence (300C,0002) "
            "is Type 1C); pass referenced_instance=(sop_class_uid, sop_instance_uid), or use "
            "dose_summation_type='RECORD' with administration_id= for delivered dose",
        )
    if administration_id is None:
        raise ValidationError(
            "administration_id",
            None,
            "a RECORD dose must reference the treatment it was delivered by (Referenced "
            "Treatment Record Sequence (3008,0030) is Type 1C); pass administration_id= or "
            "referenced_instance=",
        )
    item.ReferencedSOPClassUID = RadiopharmaceuticalRadiationDoseSRStorage
    item.ReferencedSOPInstanceUID = administration_uid(study.study_instance_uid, administration_id)
    return item


# ---- reading ---------------------------------------------------------------------------------
def _frame_positions(
    p: str,
    ds: Dataset,
    nz: int,
    direction: npt.NDArray[np.float64],
    origin: npt.NDArray[np.float64],
) -> tuple[float, float]:
    """(spacing_mm, sign) of the frame stack along the slice normal from GridFrameOffsetVector."""
    if "GridFrameOffsetVector" not in ds:
        if nz != 1:
            raise InputFileError(
                p, "missing GridFrameOffsetVector (3004,000C) for a multi-frame dose"
            )
        dz = require_float(p, ds, "SliceThickness")
        if not dz > 0:
            raise InputFileError(p, f"SliceThickness (0018,0050) = {dz} must be > 0")
        return dz, 1.0
    fip = ds.get("FrameIncrementPointer")
    if nz > 1 and fip is not None and int(fip) != _GRID_FRAME_OFFSET_TAG:
        raise InputFileError(
            p, f"FrameIncrementPointer (0028,0009) = {fip}: expected GridFrameOffsetVector"
        )
    offsets = require_floats(p, ds, "GridFrameOffsetVector", nz)
    if offsets[0] != 0.0:
        # absolute form: z coordinates, allowed only for unrotated transverse planes (C.8.8.3.2)
        if np.max(np.abs(direction[:, :2] - np.eye(3)[:, :2])) > 1e-4:
            raise InputFileError(
                p,
                f"GridFrameOffsetVector (3004,000C) starts at {offsets[0]} (absolute form) but "
                "ImageOrientationPatient (0020,0037) is not 1\\0\\0\\0\\1\\0",
            )
        offsets = offsets - origin[2]
        if abs(offsets[0]) > _OFFSET_ATOL_MM:
            raise InputFileError(
                p,
                f"GridFrameOffsetVector (3004,000C) absolute z {offsets[0] + origin[2]} differs "
                f"from ImagePositionPatient (0020,0032) z {origin[2]}",
            )
    if nz == 1:
        dz = float(ds.get("SliceThickness") or 0) or 1.0
        return dz, 1.0
    gaps = np.diff(offsets)
    step = float(np.mean(gaps))
    if step == 0.0 or np.any(np.sign(gaps) != np.sign(step)):
        raise InputFileError(
            p, f"GridFrameOffsetVector (3004,000C) = {offsets.tolist()} is not monotonic"
        )
    irregular = np.abs(gaps - step) > max(_OFFSET_ATOL_MM, _OFFSET_RTOL * abs(step))
    if np.any(irregular):
        i = int(np.flatnonzero(irregular)[0])
        raise InputFileError(
            p,
            f"GridFrameOffsetVector (3004,000C): irregular frame spacing {gaps[i]:.4f} mm vs "
            f"{step:.4f} mm between frames {i + 1} and {i + 2}; a Volume needs a regular grid",
        )
    return abs(step), math.copysign(1.0, step)


def _open(path: Path | str) -> tuple[str, Dataset]:
    p = str(path)
    ds = read_dataset(Path(path))
    if str(ds.get("SOPClassUID", "")) != RTDoseStorage or str(ds.get("Modality", "")) != "RTDOSE":
        raise InputFileError(
            p,
            f"SOPClassUID (0008,0016) = {ds.get('SOPClassUID')!r}, Modality (0008,0060) = "
            f"{ds.get('Modality')!r}: expected RT Dose Storage ({RTDoseStorage}), 'RTDOSE'",
        )
    units = str(require(p, ds, "DoseUnits")).strip().upper()
    if units != "GY":
        raise InputFileError(
            p, f"DoseUnits (3004,0002) = {ds.DoseUnits!r}: only absolute doses in GY are read"
        )
    dtype = str(require(p, ds, "DoseType")).strip().upper()
    if dtype not in ("PHYSICAL", "EFFECTIVE"):
        raise InputFileError(
            p,
            f"DoseType (3004,0004) = {ds.DoseType!r}: expected PHYSICAL or EFFECTIVE "
            "(an ERROR grid is not a dose)",
        )
    return p, ds


def _scaling(p: str, ds: Dataset) -> float:
    s = require_float(p, ds, "DoseGridScaling")
    if not s > 0:
        raise InputFileError(p, f"DoseGridScaling (3004,000E) = {s} must be > 0")
    return s


def read_rtdose(path: Path | str, *, assume_timezone: tzinfo | None = None) -> Volume:
    """Read a grid-based DICOM RT Dose into a Gy :class:`Volume`.

    Parameters
    ----------
    path : path
        One RT Dose file.
    assume_timezone : tzinfo, optional
        For Acquisition Date/Time without TimezoneOffsetFromUTC (0008,0201).

    Returns
    -------
    Volume
        ``units == "Gy"``, float64 = stored × DoseGridScaling; a stack whose Grid Frame
        Offset Vector decreases is returned with ``direction[:, 2]`` = −(row × column).

    Raises
    ------
    InputFileError
        Not an RT Dose; DoseUnits other than GY (RELATIVE); DoseType ERROR; missing or
        non-positive DoseGridScaling; irregular, non-monotonic or absolute-but-rotated Grid
        Frame Offset Vector; pixel data of the wrong size — naming the file and the tag.
    """
    with reading(path):
        p, ds = _open(path)
        scaling = _scaling(p, ds)
        nz = int(ds.get("NumberOfFrames") or 1)
        if nz < 1:
            raise InputFileError(p, f"NumberOfFrames (0028,0008) = {nz}")
        direction = check_orientation(p, require_floats(p, ds, "ImageOrientationPatient", 6))
        origin = require_floats(p, ds, "ImagePositionPatient", 3)
        ps = require_floats(p, ds, "PixelSpacing", 2)
        if np.any(ps <= 0):
            raise InputFileError(p, f"PixelSpacing (0028,0030) = {ps.tolist()} must be > 0")
        dz, sign = _frame_positions(p, ds, nz, direction, origin)
        if int(ds.get("PixelRepresentation", 0)) != 0:
            raise InputFileError(
                p, "PixelRepresentation (0028,0103) = 1: signed values are an ERROR dose"
            )
        raw = pixel_array(p, ds)
        rows, cols = int(require(p, ds, "Rows")), int(require(p, ds, "Columns"))
        if raw.ndim == 2 and nz == 1:
            raw = raw[None]
        if raw.shape != (nz, rows, cols):
            raise InputFileError(
                p, f"PixelData (7FE0,0010) holds {raw.shape}, expected {(nz, rows, cols)}"
            )
        tz = file_timezone(p, ds, assume_timezone)
        when = read_date_time(p, ds, "Acquisition", fallback_tz=tz)
        d = direction.copy()
        d[:, 2] *= sign
        return Volume(
            raw.astype(np.float64) * scaling,
            spacing_mm=(dz, float(ps[0]), float(ps[1])),
            origin_mm=(float(origin[0]), float(origin[1]), float(origin[2])),
            direction=d,
            units="Gy",
            acquisition_time=when,
        )


def read_rtdose_info(path: Path | str) -> RTDoseInfo:
    """Dose type, summation type, scaling and references of an RT Dose (no pixel decoding).

    Raises
    ------
    InputFileError
        As :func:`read_rtdose` for the header checks.
    """
    with reading(path):
        p, ds = _open(path)
        ref: tuple[str, str] | None = None
        for kw in ("ReferencedRTPlanSequence", "ReferencedTreatmentRecordSequence"):
            seq = ds.get(kw)
            if seq:
                ref = (str(seq[0].ReferencedSOPClassUID), str(seq[0].ReferencedSOPInstanceUID))
                break
        images = tuple(
            str(item.ReferencedSOPInstanceUID) for item in ds.get("ReferencedImageSequence") or []
        )
        return RTDoseInfo(
            dose_type=str(ds.DoseType).strip().upper(),
            dose_summation_type=str(require(p, ds, "DoseSummationType")),
            comment=str(ds.get("DoseComment", "")),
            dose_grid_scaling=_scaling(p, ds),
            bits_allocated=int(require(p, ds, "BitsAllocated")),
            frame_of_reference_uid=str(require(p, ds, "FrameOfReferenceUID")),
            study_instance_uid=str(require(p, ds, "StudyInstanceUID")),
            series_instance_uid=str(require(p, ds, "SeriesInstanceUID")),
            sop_instance_uid=str(require(p, ds, "SOPInstanceUID")),
            referenced_instance=ref,
            referenced_image_uids=images,
        )
