"""Shared pieces of DICOM writing and reading: study identity, datetimes, geometry, atomic output.

Datasets are built with pydicom (the encoder is pydicom's); the IOD-specific modules live in
``_ct.py``, ``_nm.py``, ``_regions.py`` (SEG, RTSTRUCT) and ``_rtdose.py``.
"""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

from radiotrial.atomic import atomic_output_dir, atomic_output_file
from radiotrial.errors import InputFileError, RadiotrialError, ValidationError
from radiotrial.imaging._volume import Volume
from radiotrial.units import check_aware

__all__ = [
    "DicomStudy",
    "atomic_output_dir",
    "atomic_output_file",
    "new_uid",
]

#: Root for UIDs radiotrial generates (pydicom's registered prefix, PS3.5 §9 and Annex B).
_UID_PREFIX: Final = "1.2.826.0.1.3680043.8.498."
_ORIENT_TOL: Final = 1e-4  # direction cosines carry ~6 significant digits in DS
_MANUFACTURER: Final = "radiotrial"


def new_uid() -> str:
    """A new globally unique DICOM UID (≤ 64 characters, pydicom's UUID-derived scheme)."""
    return str(generate_uid(prefix=_UID_PREFIX))


@dataclass(frozen=True)
class DicomStudy:
    """Patient and study identity shared by every object written for one imaging study.

    Parameters
    ----------
    patient_id : str
        Pseudonymous trial subject ID (never a name or hospital number).
    patient_name : str, default ""
        DICOM PN; leave empty for pseudonymised data.
    patient_sex : {"F", "M", "O", ""}, default ""
    patient_birth_date : date, optional
    study_instance_uid : str, default new UID
    study_datetime : datetime, optional
        Timezone-aware study start; defaults to the first acquisition written.
    study_id : str, default "1"
    accession_number : str, default ""
    study_description : str, default ""
    """

    patient_id: str
    patient_name: str = ""
    patient_sex: Literal["F", "M", "O", ""] = ""
    patient_birth_date: date | None = None
    study_instance_uid: str = field(default_factory=new_uid)
    study_datetime: datetime | None = None
    study_id: str = "1"
    accession_number: str = ""
    study_description: str = ""

    def __post_init__(self) -> None:
        if not self.patient_id or len(self.patient_id) > 64:
            raise ValidationError("patient_id", self.patient_id, "1 to 64 characters (DICOM LO)")
        if self.patient_sex not in ("F", "M", "O", ""):
            raise ValidationError("patient_sex", self.patient_sex, "one of 'F', 'M', 'O', ''")
        if (
            not re.fullmatch(r"[0-9]+(\.[0-9]+)*", self.study_instance_uid)
            or len(self.study_instance_uid) > 64
        ):
            raise ValidationError("study_instance_uid", self.study_instance_uid, "not a DICOM UID")
        if self.study_datetime is not None:
            check_aware("study_datetime", self.study_datetime)


# ---- date and time ---------------------------------------------------------------------------
def _offset_str(when: datetime) -> str:
    off = when.utcoffset() or timedelta(0)
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def dicom_da(when: datetime | date) -> str:
    """DICOM DA ``YYYYMMDD``."""
    return when.strftime("%Y%m%d")


def dicom_tm(when: datetime) -> str:
    """DICOM TM ``HHMMSS.FFFFFF`` (local time of ``when``)."""
    return when.strftime("%H%M%S.%f")


def dicom_dt(when: datetime) -> str:
    """DICOM DT with UTC offset ``YYYYMMDDHHMMSS.FFFFFF&ZZXX`` (PS3.5 Table 6.2-1)."""
    return when.strftime("%Y%m%d%H%M%S.%f") + _offset_str(when)


_DT_RE: Final = re.compile(
    r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,6}))?([+-]\d{4})?$"
)


def _tz_from(text: str) -> tzinfo:
    sign = 1 if text[0] == "+" else -1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[3:5])))


def parse_dt(path: str, keyword: str, value: str, *, fallback_tz: tzinfo | None) -> datetime:
    """Parse a DICOM DT (or DA+TM joined) into an aware datetime, naming the tag on error."""
    m = _DT_RE.match(str(value).strip())
    if m is None:
        raise InputFileError(path, f"{_tag_name(keyword)} = {value!r} is not a DICOM date-time")
    y, mo, d, h, mi, s, frac, off = m.groups()
    try:
        naive = datetime(
            int(y),
            int(mo or 1),
            int(d or 1),
            int(h or 0),
            int(mi or 0),
            int(s or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError as exc:
        raise InputFileError(path, f"{_tag_name(keyword)} = {value!r}: {exc}") from None
    if off is not None:
        return naive.replace(tzinfo=_tz_from(off))
    if fallback_tz is None:
        raise InputFileError(
            path,
            f"{_tag_name(keyword)} = {value!r} has no UTC offset and the file has no "
            "TimezoneOffsetFromUTC (0008,0201); pass assume_timezone=",
        )
    return naive.replace(tzinfo=fallback_tz)


def file_timezone(path: str, ds: Dataset, assume: tzinfo | None) -> tzinfo | None:
    """The file's TimezoneOffsetFromUTC (0008,0201), else ``assume``."""
    text = ds.get("TimezoneOffsetFromUTC")
    if text:
        if not re.fullmatch(r"[+-]\d{4}", str(text)):
            raise InputFileError(
                path, f"TimezoneOffsetFromUTC (0008,0201) = {text!r} is not of the form +HHMM"
            )
        return _tz_from(str(text))
    return assume


def read_date_time(
    path: str, ds: Dataset, stem: str, *, fallback_tz: tzinfo | None
) -> datetime | None:
    """``{stem}DateTime`` if present, else ``{stem}Date`` + ``{stem}Time``; ``None`` if absent."""
    dt = ds.get(f"{stem}DateTime")
    if dt:
        return parse_dt(path, f"{stem}DateTime", str(dt), fallback_tz=fallback_tz)
    da, tm = ds.get(f"{stem}Date"), ds.get(f"{stem}Time")
    if da and tm:
        return parse_dt(path, f"{stem}Date/{stem}Time", f"{da}{tm}", fallback_tz=fallback_tz)
    return None


# ---- tags ------------------------------------------------------------------------------------
def _tag_name(keyword: str) -> str:
    from pydicom.datadict import tag_for_keyword

    first = keyword.split("/")[0].split(".")[-1]
    tag = tag_for_keyword(first)
    if tag is None:
        return keyword
    return f"{keyword} ({tag >> 16:04X},{tag & 0xFFFF:04X})"


def tag_label(keyword: str) -> str:
    """``"Keyword (gggg,eeee)"`` for messages."""
    return _tag_name(keyword)


def require(path: str, ds: Dataset, keyword: str) -> Any:
    """The value of a required attribute, or :class:`InputFileError` naming the file and tag."""
    value = ds.get(keyword)
    if value is None or (isinstance(value, str | bytes | list) and len(value) == 0):
        raise InputFileError(path, f"missing or empty {_tag_name(keyword)}")
    return value


def require_floats(path: str, ds: Dataset, keyword: str, n: int) -> npt.NDArray[np.float64]:
    """A multi-valued numeric attribute with exactly ``n`` finite values."""
    raw = require(path, ds, keyword)
    seq = list(raw) if isinstance(raw, pydicom.multival.MultiValue | list | tuple) else [raw]
    try:
        arr = np.asarray([float(v) for v in seq], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(path, f"{_tag_name(keyword)} = {raw!r} is not numeric") from None
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise InputFileError(path, f"{_tag_name(keyword)} = {raw!r}: expected {n} finite numbers")
    return arr


def require_float(path: str, ds: Dataset, keyword: str) -> float:
    """A single finite numeric attribute."""
    return float(require_floats(path, ds, keyword, 1)[0])


def check_orientation(path: str, iop: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Validate ImageOrientationPatient and return the 3×3 direction (row, column, normal)."""
    row, col = iop[:3], iop[3:]
    if (
        abs(np.linalg.norm(row) - 1) > 1e-3
        or abs(np.linalg.norm(col) - 1) > 1e-3
        or abs(float(row @ col)) > 1e-3
    ):
        raise InputFileError(
            path,
            f"ImageOrientationPatient (0020,0037) = {iop.tolist()}: row and column cosines "
            "must be orthogonal unit vectors",
        )
    row = row / np.linalg.norm(row)
    col = col - (col @ row) * row
    col = col / np.linalg.norm(col)
    return np.column_stack([row, col, np.cross(row, col)])


def read_dataset(path: Path, *, stop_before_pixels: bool = False) -> Dataset:
    """Read one DICOM file, turning any parser failure into :class:`InputFileError`."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=stop_before_pixels)
    except InvalidDicomError as exc:
        raise InputFileError(str(path), f"not a DICOM file: {exc}") from None
    except (
        OSError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        EOFError,
        BytesLengthException,
        struct.error,  # a file cut inside an element header
    ) as exc:
        raise InputFileError(str(path), f"unreadable DICOM: {type(exc).__name__}: {exc}") from None


def pixel_array(path: str, ds: Dataset) -> npt.NDArray[Any]:
    """Decoded pixel data, or :class:`InputFileError` naming PixelData (7FE0,0010)."""
    if "PixelData" not in ds:
        raise InputFileError(path, "missing PixelData (7FE0,0010)")
    try:
        return np.asarray(ds.pixel_array)
    except Exception as exc:  # pydicom raises many types for corrupt pixel data
        raise InputFileError(
            path, f"PixelData (7FE0,0010) cannot be decoded: {type(exc).__name__}: {exc}"
        ) from None


# ---- geometry --------------------------------------------------------------------------------
def right_handed(
    volume: Volume,
) -> tuple[npt.NDArray[Any], tuple[float, float, float], npt.NDArray[np.float64]]:
    """Array, origin and direction re-expressed so that slice normal = row × column.

    DICOM slice stacks (and NM reconstructed frames) advance along the normal of the image
    plane; a left-handed volume is flipped along Z, which describes the same voxels in space.
    """
    d = volume.direction
    normal = np.cross(d[:, 0], d[:, 1])
    if float(normal @ d[:, 2]) > 0:
        return volume.array, volume.origin_mm, d
    nz = volume.shape[0]
    last = volume.index_to_lps([0.0, 0.0, nz - 1.0])
    new_d = np.column_stack([d[:, 0], d[:, 1], -d[:, 2]])
    return volume.array[::-1], (float(last[0]), float(last[1]), float(last[2])), new_d


def ds_str(values: npt.ArrayLike) -> list[str]:
    """Numbers as DICOM DS strings (≤ 16 characters, PS3.5 Table 6.2-1)."""
    from pydicom.valuerep import format_number_as_ds

    return [format_number_as_ds(float(v)) for v in np.ravel(np.asarray(values, dtype=np.float64))]


# ---- dataset scaffolding ---------------------------------------------------------------------
def base_dataset(
    *,
    study: DicomStudy,
    sop_class_uid: str,
    modality: str,
    series_instance_uid: str,
    series_number: int,
    series_description: str,
    frame_of_reference_uid: str | None,
    content_time: datetime,
    instance_number: int,
    sop_instance_uid: str | None = None,
) -> Dataset:
    """Patient, General Study, General Series, General Equipment, SOP Common, Frame of Reference.

    References
    ----------
    DICOM PS3.3 C.7.1.1, C.7.2.1, C.7.3.1, C.7.4.1, C.7.5.1, C.12.1.
    """
    check_aware("content_time", content_time)
    sop_uid = sop_instance_uid or new_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_uid
    ds.TimezoneOffsetFromUTC = _offset_str(content_time)
    ds.InstanceCreationDate = dicom_da(datetime.now(UTC).astimezone(content_time.tzinfo))
    ds.InstanceCreationTime = dicom_tm(datetime.now(UTC).astimezone(content_time.tzinfo))
    # Patient
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = (
        "" if study.patient_birth_date is None else dicom_da(study.patient_birth_date)
    )
    ds.PatientSex = study.patient_sex
    # General Study
    when = study.study_datetime or content_time
    when = when.astimezone(content_time.tzinfo)
    ds.StudyInstanceUID = study.study_instance_uid
    ds.StudyDate = dicom_da(when)
    ds.StudyTime = dicom_tm(when)
    ds.ReferringPhysicianName = ""
    ds.StudyID = study.study_id
    ds.AccessionNumber = study.accession_number
    if study.study_description:
        ds.StudyDescription = study.study_description
    # General Series
    ds.Modality = modality
    ds.SeriesInstanceUID = series_instance_uid
    ds.SeriesNumber = series_number
    ds.SeriesDate = dicom_da(content_time)
    ds.SeriesTime = dicom_tm(content_time)
    if series_description:
        ds.SeriesDescription = series_description
    # Frame of Reference
    if frame_of_reference_uid is not None:
        ds.FrameOfReferenceUID = frame_of_reference_uid
        ds.PositionReferenceIndicator = ""
    # General Equipment
    ds.Manufacturer = _MANUFACTURER
    ds.SoftwareVersions = software_version()
    # General Image / content
    ds.InstanceNumber = instance_number
    ds.ContentDate = dicom_da(content_time)
    ds.ContentTime = dicom_tm(content_time)
    return ds


def software_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"radiotrial {version('radiotrial')}"
    except PackageNotFoundError:  # pragma: no cover - source checkout without install
        return "radiotrial"


def save(ds: Dataset, path: Path) -> None:
    """Write one dataset as a DICOM Part 10 file (preamble, meta group, explicit VR LE)."""
    ds.save_as(path, enforce_file_format=True)


def write_files(
    target: Path, writers: dict[str, Callable[[Path], None]], *, overwrite: bool
) -> Path:
    """Write several files into a new folder atomically (see :func:`atomic_output_dir`)."""
    with atomic_output_dir(target, overwrite=overwrite) as tmp:
        for name, write in writers.items():
            write(tmp / name)
    return Path(target)


@contextmanager
def reading(path: Path | str) -> Iterator[None]:
    """Turn anything a corrupt file provokes (warnings included) into :class:`InputFileError`.

    pydicom and nibabel decode values lazily and warn on invalid ones; a quantitative reader
    must refuse such files with the file named rather than continue with a guess.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            yield
        except RadiotrialError:
            raise
        except (
            Warning,
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            IndexError,
            OverflowError,
            EOFError,
            OSError,
            NotImplementedError,
            RuntimeError,
            BytesLengthException,
            struct.error,
        ) as exc:
            raise InputFileError(
                str(path), f"malformed file: {type(exc).__name__}: {exc}"
            ) from None
