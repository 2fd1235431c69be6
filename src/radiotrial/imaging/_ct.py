"""CT Image Storage series: one file per slice, HU through Rescale Slope/Intercept.

References
----------
DICOM PS3.3 A.3 (CT Image IOD), C.7.6.2 (Image Plane), C.7.6.3 (Image Pixel),
C.8.2.1 (CT Image module).
"""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage

from radiotrial.errors import InputFileError, ValidationError
from radiotrial.imaging._dicom_common import (
    DicomStudy,
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
    write_files,
)
from radiotrial.imaging._series import DicomSeries, single_series
from radiotrial.imaging._volume import Volume

__all__ = ["read_ct_series", "read_slice_values", "stack_geometry", "write_ct_series"]

#: Relative tolerance on slice spacing; DS values carry ≤ 16 characters (PS3.5 6.2).
_SPACING_RTOL: Final = 1e-3
_SPACING_ATOL_MM: Final = 1e-3


def _rescale(hu: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int16], float, float]:
    """Stored int16 values, slope and intercept for HU (1 HU resolution when it fits)."""
    lo, hi = float(np.min(hu)), float(np.max(hu))
    if lo >= -32768 and hi <= 32767:
        return np.rint(hu).astype(np.int16), 1.0, 0.0
    slope = (hi - lo) / 65535.0
    intercept = lo + 32768.0 * slope
    stored = np.rint((hu - intercept) / slope).clip(-32768, 32767).astype(np.int16)
    return stored, slope, intercept


def write_ct_series(
    volume: Volume,
    out_dir: Path | str,
    *,
    study: DicomStudy,
    frame_of_reference_uid: str | None = None,
    series_instance_uid: str | None = None,
    series_number: int = 1,
    series_description: str = "CT",
    kvp: float = 120.0,
    overwrite: bool = False,
) -> Path:
    """Write a HU volume as a CT Image Storage series, one file per slice.

    Parameters
    ----------
    volume : Volume
        ``units == "HU"``, with an ``acquisition_time``.
    out_dir : path
        New folder to create (written to a temporary sibling, then renamed).
    study : DicomStudy
        Patient and study identity.
    frame_of_reference_uid : str, optional
        Share it with the SPECT of the same session; new UID if omitted.
    series_instance_uid : str, optional
    series_number : int, default 1
    series_description : str, default "CT"
    kvp : float, default 120
        Peak tube voltage recorded in KVP (0018,0060).
    overwrite : bool, default False

    Returns
    -------
    Path
        ``out_dir``.

    Notes
    -----
    HU are stored as signed 16-bit integers (slope 1, intercept 0) when the range allows,
    i.e. rounded to 1 HU; otherwise a linear rescale spans the range. Left-handed volumes
    are flipped along Z so that slices advance along row × column (PS3.3 C.7.6.2.1.1).
    """
    if volume.units != "HU":
        raise ValidationError("volume.units", volume.units, "a CT series holds HU")
    when = volume.acquisition_time or study.study_datetime
    if when is None:
        raise ValidationError(
            "volume.acquisition_time", None, "a CT needs an acquisition time (or study_datetime)"
        )
    array, origin, direction = right_handed(volume)
    hu = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(hu)):
        raise ValidationError("volume.array", "non-finite", "HU must be finite")
    stored, slope, intercept = _rescale(hu)
    series_uid = series_instance_uid or new_uid()
    for_uid = frame_of_reference_uid or new_uid()
    dz, dy, dx = volume.spacing_mm
    normal = direction[:, 2]

    def writer(k: int) -> object:
        def write(path: Path) -> None:
            ds = base_dataset(
                study=study,
                sop_class_uid=CTImageStorage,
                modality="CT",
                series_instance_uid=series_uid,
                series_number=series_number,
                series_description=series_description,
                frame_of_reference_uid=for_uid,
                content_time=when,
                instance_number=k + 1,
            )
            ds.PatientPosition = "HFS"
            # unpaired region: Laterality (Type 2C) is then absent (PS3.3 C.7.3.1)
            ds.BodyPartExamined = "WHOLEBODY"
            ds.AcquisitionNumber = 1
            ds.AcquisitionDate = dicom_da(when)
            ds.AcquisitionTime = dicom_tm(when)
            ds.PatientOrientation = ""
            ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
            ds.KVP = ds_str([kvp])[0]
            pos = np.asarray(origin) + k * dz * normal
            ds.ImagePositionPatient = ds_str(pos)
            ds.ImageOrientationPatient = ds_str(np.concatenate([direction[:, 0], direction[:, 1]]))
            ds.PixelSpacing = ds_str([dy, dx])
            ds.SliceThickness = ds_str([dz])[0]
            ds.SliceLocation = ds_str([float(pos @ normal)])[0]
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.Rows, ds.Columns = int(stored.shape[1]), int(stored.shape[2])
            ds.BitsAllocated = 16
            ds.BitsStored = 16
            ds.HighBit = 15
            ds.PixelRepresentation = 1
            ds.RescaleIntercept = ds_str([intercept])[0]
            ds.RescaleSlope = ds_str([slope])[0]
            ds.RescaleType = "HU"
            ds.WindowCenter = "40"
            ds.WindowWidth = "400"
            ds.PixelData = np.ascontiguousarray(stored[k]).tobytes()
            save(ds, path)

        return write

    writers = {f"CT_{k + 1:04d}.dcm": writer(k) for k in range(stored.shape[0])}
    return write_files(Path(out_dir), writers, overwrite=overwrite)  # type: ignore[arg-type]


def stack_geometry(
    series: DicomSeries, *, assume_timezone: tzinfo | None = None
) -> tuple[Volume, list[Dataset]]:
    """Sort single-frame slices along their normal and check that they form one regular grid.

    Only headers are used (no pixel data is decoded).

    Returns
    -------
    grid : Volume
        A zero volume (float32, units ``"1"``) carrying the series geometry and acquisition
        time.
    headers : list of Dataset
        The slice headers ordered by position along the normal (array index k).

    Raises
    ------
    InputFileError
        Inconsistent orientation, pixel spacing or matrix; duplicated or missing slices;
        irregular slice spacing — naming the file and tag.
    """
    files, headers = series.files, series.headers
    ref_path = str(files[0])
    iop0 = require_floats(ref_path, headers[0], "ImageOrientationPatient", 6)
    direction = check_orientation(ref_path, iop0)
    ps0 = require_floats(ref_path, headers[0], "PixelSpacing", 2)
    if np.any(ps0 <= 0):
        raise InputFileError(ref_path, f"PixelSpacing (0028,0030) = {ps0.tolist()} must be > 0")
    rows0 = int(require(ref_path, headers[0], "Rows"))
    cols0 = int(require(ref_path, headers[0], "Columns"))
    if rows0 < 1 or cols0 < 1:
        raise InputFileError(ref_path, f"Rows/Columns (0028,0010/0011) = {rows0}×{cols0}")
    positions = []
    for path, ds in zip(files, headers, strict=True):
        p = str(path)
        iop = require_floats(p, ds, "ImageOrientationPatient", 6)
        if np.max(np.abs(iop - iop0)) > 1e-4:
            raise InputFileError(
                p,
                f"inconsistent ImageOrientationPatient (0020,0037): {iop.tolist()} vs "
                f"{iop0.tolist()} in {files[0].name}",
            )
        ps = require_floats(p, ds, "PixelSpacing", 2)
        if np.max(np.abs(ps - ps0)) > _SPACING_ATOL_MM:
            raise InputFileError(
                p,
                f"inconsistent PixelSpacing (0028,0030): {ps.tolist()} vs {ps0.tolist()} "
                f"in {files[0].name}",
            )
        if int(require(p, ds, "Rows")) != rows0 or int(require(p, ds, "Columns")) != cols0:
            raise InputFileError(
                p, f"inconsistent Rows/Columns (0028,0010/0011): expected {rows0}×{cols0}"
            )
        positions.append(require_floats(p, ds, "ImagePositionPatient", 3))
    pos = np.asarray(positions)
    proj = pos @ direction[:, 2]
    order = np.argsort(proj, kind="stable")
    proj, pos = proj[order], pos[order]
    ordered = [files[i] for i in order]
    ordered_headers = [headers[i] for i in order]
    # every slice must sit on the normal line through the first one
    inplane = (pos - pos[0]) @ direction[:, :2]
    bad = np.flatnonzero(np.max(np.abs(inplane), axis=1) > max(1e-2, 1e-3 * float(ps0.min())))
    if bad.size:
        raise InputFileError(
            str(ordered[bad[0]]),
            "ImagePositionPatient (0020,0032) is not on the slice normal through the first "
            f"slice (in-plane offset {inplane[bad[0]].tolist()} mm): inconsistent positions",
        )
    if len(proj) == 1:
        dz = float(require_float(ref_path, headers[0], "SliceThickness"))
        if not dz > 0:
            raise InputFileError(ref_path, f"SliceThickness (0018,0050) = {dz} must be > 0")
    else:
        gaps = np.diff(proj)
        dup = np.flatnonzero(gaps < _SPACING_ATOL_MM)
        if dup.size:
            i = int(dup[0])
            raise InputFileError(
                str(ordered[i + 1]),
                f"duplicated slice: ImagePositionPatient (0020,0032) at {proj[i]:.3f} mm along "
                f"the normal, same as {ordered[i].name}",
            )
        dz = float(np.min(gaps))
        irregular = np.flatnonzero(np.abs(gaps - dz) > max(_SPACING_ATOL_MM, _SPACING_RTOL * dz))
        if irregular.size:
            i = int(irregular[0])
            ratio = gaps[i] / dz
            what = (
                f"missing slice(s): gap of {gaps[i]:.3f} mm (≈{ratio:.2f}× the {dz:.3f} mm spacing)"
                if abs(ratio - round(ratio)) < 0.01 and round(ratio) >= 2
                else f"inconsistent slice spacing: {gaps[i]:.3f} mm vs {dz:.3f} mm"
            )
            raise InputFileError(
                str(ordered[i + 1]),
                f"{what} between {ordered[i].name} and {ordered[i + 1].name} "
                "(ImagePositionPatient (0020,0032))",
            )
    first = ordered_headers[0]
    tz = file_timezone(str(ordered[0]), first, assume_timezone)
    acq = read_date_time(str(ordered[0]), first, "Acquisition", fallback_tz=tz)
    if acq is None:
        acq = read_date_time(str(ordered[0]), first, "Series", fallback_tz=tz)
    grid = Volume(
        np.broadcast_to(np.float32(0), (len(ordered), rows0, cols0)),
        spacing_mm=(dz, float(ps0[0]), float(ps0[1])),
        origin_mm=(float(pos[0][0]), float(pos[0][1]), float(pos[0][2])),
        direction=direction,
        units="1",
        acquisition_time=acq,
    )
    return grid, ordered_headers


def read_slice_values(headers: list[Dataset], rows: int, cols: int) -> npt.NDArray[np.float64]:
    """Decode and rescale (slope × stored + intercept) ordered single-frame slices."""
    slices = []
    for h in headers:
        path = str(h.filename)
        full = read_dataset(Path(path))
        raw = pixel_array(path, full)
        if raw.shape != (rows, cols):
            raise InputFileError(
                path, f"PixelData (7FE0,0010) holds {raw.shape}, expected {(rows, cols)}"
            )
        try:
            slope = float(full.get("RescaleSlope", 1.0))
            intercept = float(full.get("RescaleIntercept", 0.0))
        except (TypeError, ValueError):
            slope = intercept = float("nan")
        if not np.isfinite(slope) or slope == 0 or not np.isfinite(intercept):
            raise InputFileError(
                path, f"RescaleSlope/RescaleIntercept (0028,1053/1052) = {slope}, {intercept}"
            )
        slices.append(raw.astype(np.float64) * slope + intercept)
    return np.stack(slices)


def read_ct_series(
    folder: Path | str | DicomSeries, *, assume_timezone: tzinfo | None = None
) -> Volume:
    """Read one CT series (a folder holding only that series) into a HU :class:`Volume`.

    Parameters
    ----------
    folder : path or DicomSeries
        Folder searched recursively; it must hold exactly one series.
    assume_timezone : tzinfo, optional
        Used for acquisition times when the files carry no TimezoneOffsetFromUTC.

    Raises
    ------
    InputFileError
        Mixed series, wrong modality, missing/duplicated slices, inconsistent geometry.
    """
    with reading(folder if not isinstance(folder, DicomSeries) else folder.files[0]):
        series = folder if isinstance(folder, DicomSeries) else single_series(folder, modality="CT")
        if series.modality != "CT":
            raise InputFileError(
                str(series.files[0]), f"Modality (0008,0060) = {series.modality!r}, expected 'CT'"
            )
        grid, headers = stack_geometry(series, assume_timezone=assume_timezone)
        _, rows, cols = grid.shape
        return grid.with_array(read_slice_values(headers, rows, cols), units="HU")
