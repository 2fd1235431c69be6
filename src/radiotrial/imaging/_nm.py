"""Reconstructed NM (SPECT) images: one multi-frame NM Image Storage object per acquisition.

References
----------
DICOM PS3.3 A.5 (NM Image IOD); C.8.4.7 (NM Image Pixel), C.8.4.8 (NM Multi-frame:
Frame Increment Pointer = Slice Vector (0054,0080) for RECON TOMO), C.8.4.9 (NM Image),
C.8.4.10 (NM Isotope: Radionuclide Total Dose (0018,1074) is in **MBq** for NM, C.8.4.10.1.7,
unlike the PET Isotope module's Bq), C.8.4.11 (NM Detector), C.8.4.12 (NM TOMO Acquisition),
C.8.4.14 (NM Reconstruction), C.7.6.16.2.11 (Real World Value Mapping); PS3.16 CID 18
(isotopes, SNOMED CT codes as shipped by pydicom).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.uid import NuclearMedicineImageStorage

from radiotrial.errors import InputFileError, NuclideError, ValidationError
from radiotrial.imaging._dicom_common import (
    DicomStudy,
    atomic_output_file,
    base_dataset,
    check_orientation,
    dicom_da,
    dicom_dt,
    dicom_tm,
    ds_str,
    file_timezone,
    new_uid,
    parse_dt,
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
from radiotrial.nuclides import get_nuclide
from radiotrial.units import check_aware

__all__ = [
    "EnergyWindow",
    "NMImage",
    "Radiopharmaceutical",
    "TomoRotation",
    "read_nm_image",
    "write_nm_image",
]

#: Volume units ↔ DICOM Units (0054,1001) defined terms (PS3.3 C.8.9.1.1.3) and UCUM codes
#: for the Real World Value Mapping measurement units.
_UNITS_TO_DICOM: Final = {"Bq/mL": "BQML", "counts": "CNTS", "cps": "CPS"}
_DICOM_TO_UNITS: Final = {v: k for k, v in _UNITS_TO_DICOM.items()}
_UCUM: Final = {
    "Bq/mL": ("Bq/ml", "Becquerels/milliliter"),
    "counts": ("{counts}", "Counts"),
    "cps": ("{counts}/s", "Counts per second"),
}


@dataclass(frozen=True)
class Radiopharmaceutical:
    """What was injected, how much and when (the NM Isotope module's content).

    Parameters
    ----------
    nuclide : str
        Any spelling radiotrial.nuclides accepts (``"Lu-177"``, ``"177Lu"``); normalised.
    injected_activity_bq : float
        Activity administered, Bq, at ``injection_time`` (> 0).
    injection_time : datetime
        Timezone-aware start of the administration.
    name : str, default "[177Lu]Lu-NeoB"
        Radiopharmaceutical (0018,0031).
    """

    nuclide: str
    injected_activity_bq: float
    injection_time: datetime
    name: str = "[177Lu]Lu-NeoB"

    def __post_init__(self) -> None:
        object.__setattr__(self, "nuclide", get_nuclide(self.nuclide).name)
        a = float(self.injected_activity_bq)
        if not math.isfinite(a) or a <= 0:
            raise ValidationError(
                "injected_activity_bq", self.injected_activity_bq, "must be > 0 Bq"
            )
        object.__setattr__(self, "injected_activity_bq", a)
        check_aware("injection_time", self.injection_time)


@dataclass(frozen=True)
class EnergyWindow:
    """An acquisition energy window, keV."""

    lower_kev: float
    upper_kev: float
    name: str = "photopeak"

    def __post_init__(self) -> None:
        if not (0 < self.lower_kev < self.upper_kev):
            raise ValidationError(
                "energy_window", (self.lower_kev, self.upper_kev), "need 0 < lower < upper keV"
            )


@dataclass(frozen=True)
class TomoRotation:
    """How the tomographic projections were acquired (NM TOMO Acquisition module).

    Parameters
    ----------
    projections : int
        Number of projections (frames in the rotation, all heads together).
    frame_duration_s : float
        Acquisition time per projection, s.
    scan_arc_deg : float, default 360
        Angular range covered.
    start_angle_deg : float, default 0
    direction : {"CW", "CC"}, default "CW"
    """

    projections: int
    frame_duration_s: float
    scan_arc_deg: float = 360.0
    start_angle_deg: float = 0.0
    direction: str = "CW"

    def __post_init__(self) -> None:
        if self.projections < 1:
            raise ValidationError("projections", self.projections, "must be ≥ 1")
        if not (self.frame_duration_s > 0 and math.isfinite(self.frame_duration_s)):
            raise ValidationError("frame_duration_s", self.frame_duration_s, "must be > 0 s")
        if not (0 < self.scan_arc_deg <= 360):
            raise ValidationError("scan_arc_deg", self.scan_arc_deg, "must be in (0, 360]")
        if self.direction not in ("CW", "CC"):
            raise ValidationError("direction", self.direction, "'CW' or 'CC'")

    @property
    def angular_step_deg(self) -> float:
        """Scan arc divided by the number of projections."""
        return self.scan_arc_deg / self.projections


@dataclass(frozen=True)
class NMImage:
    """A reconstructed SPECT image with what quantification needs beside the voxels.

    Attributes
    ----------
    volume : Volume
        Units ``Bq/mL``, ``counts`` or ``cps``; ``acquisition_time`` = acquisition start.
    radiopharmaceutical : Radiopharmaceutical
    energy_windows : tuple of EnergyWindow
        At least one is needed to write the image (NumberOfEnergyWindows is Type 1).
    rotation : TomoRotation or None
        Projection acquisition; written as an empty (Type 2) sequence when unknown.
    collimator_type : str, default ""
        CollimatorType (0018,1181) defined term (``PARA`` for parallel hole); "" if unknown.
    series_instance_uid, frame_of_reference_uid, sop_instance_uid : str or None
        Filled by the reader (and usable to link SEG/RTSTRUCT).
    """

    volume: Volume
    radiopharmaceutical: Radiopharmaceutical
    energy_windows: tuple[EnergyWindow, ...] = ()
    rotation: TomoRotation | None = None
    collimator_type: str = ""
    series_instance_uid: str | None = None
    frame_of_reference_uid: str | None = None
    sop_instance_uid: str | None = None

    @property
    def time_since_injection_h(self) -> float:
        """Hours from injection to acquisition start."""
        if self.volume.acquisition_time is None:
            raise ValidationError("volume.acquisition_time", None, "unknown acquisition time")
        dt = self.volume.acquisition_time - self.radiopharmaceutical.injection_time
        return dt.total_seconds() / 3600.0


def _isotope_code(nuclide: str) -> Dataset:
    """SNOMED CT code of the nuclide from pydicom's CID 18/4020 tables."""
    import xraydb

    symbol, mass = nuclide.split("-")
    meta = "m" if mass.endswith("m") else ""
    element = str(xraydb.atomic_name(xraydb.atomic_number(symbol))).capitalize()
    keyword = f"_{mass.rstrip('m')}{meta}{element}"
    code = None
    for cid in ("CID18", "CID4020"):
        coll = getattr(codes, cid)
        if keyword in dir(coll):
            code = getattr(coll, keyword)
            break
    if code is None:
        raise NuclideError(f"{nuclide}: no DICOM CID 18/4020 isotope code in pydicom")
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    item.CodeMeaning = code.meaning
    return item


def _nuclide_from_code(path: str, item: Dataset) -> str:
    meaning = str(item.get("CodeMeaning", ""))
    # CID 18 meanings look like "^177^Lutetium"
    parts = meaning.split("^")
    if len(parts) == 3 and parts[1]:
        import xraydb

        mass, element = parts[1], parts[2]
        try:
            z = xraydb.atomic_number(element.lower())
            return get_nuclide(f"{xraydb.atomic_symbol(z)}-{mass}").name
        except (ValueError, KeyError, NuclideError):
            pass
    raise InputFileError(
        path,
        f"RadionuclideCodeSequence (0054,0300) code {item.get('CodeValue')!r} "
        f"({meaning!r}) is not a recognised isotope",
    )


def _stored_uint16(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.uint16], float]:
    """Scale non-negative values into 16 bits: value = slope × stored (intercept 0)."""
    hi = float(np.max(values))
    if float(np.min(values)) < 0:
        raise ValidationError("volume.array", float(np.min(values)), "NM values must be ≥ 0")
    slope = hi / 65535.0 if hi > 0 else 1.0
    return np.rint(values / slope).astype(np.uint16), slope


def write_nm_image(
    image: NMImage,
    path: Path | str,
    *,
    study: DicomStudy,
    frame_of_reference_uid: str | None = None,
    series_instance_uid: str | None = None,
    series_number: int = 2,
    series_description: str = "SPECT recon",
    overwrite: bool = False,
) -> Path:
    """Write a reconstructed SPECT volume as one multi-frame NM Image Storage file.

    Parameters
    ----------
    image : NMImage
        Volume (``Bq/mL``, ``counts`` or ``cps``, with ``acquisition_time``) and metadata.
    path : path
        Output file (written to a temporary sibling, then renamed).
    study : DicomStudy
    frame_of_reference_uid : str, optional
        Use the CT's to mark the SPECT/CT pair as co-registered.
    series_instance_uid : str, optional
    series_number : int, default 2
    series_description : str
    overwrite : bool, default False

    Returns
    -------
    Path

    Notes
    -----
    NM pixels are 16-bit unsigned (PS3.3 C.8.4.7); real values are
    ``RealWorldValueSlope × stored`` with slope = max/65535, so the relative quantisation
    error of any voxel is at most ``0.5/65535`` of the maximum. The Units (0054,1001) defined
    term (``BQML``, ``CNTS``, ``CPS``) is written beside the mapping, as scanners do.
    """
    vol = image.volume
    if vol.units not in _UNITS_TO_DICOM:
        raise ValidationError(
            "volume.units", vol.units, f"an NM image holds one of {sorted(_UNITS_TO_DICOM)}"
        )
    when = vol.acquisition_time
    if when is None:
        raise ValidationError("volume.acquisition_time", None, "an NM image needs its time")
    rp = image.radiopharmaceutical
    if not image.energy_windows:
        raise ValidationError("energy_windows", (), "at least one energy window is required")
    array, origin, direction = right_handed(vol)
    values = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise ValidationError("volume.array", "non-finite", "NM values must be finite")
    stored, slope = _stored_uint16(values)
    dz, dy, dx = vol.spacing_mm
    nz = stored.shape[0]
    ds = base_dataset(
        study=study,
        sop_class_uid=NuclearMedicineImageStorage,
        modality="NM",
        series_instance_uid=series_instance_uid or new_uid(),
        series_number=series_number,
        series_description=series_description,
        frame_of_reference_uid=frame_of_reference_uid or new_uid(),
        content_time=when,
        instance_number=1,
    )
    ds.BodyPartExamined = "WHOLEBODY"
    ds.PatientOrientation = ""
    ds.AcquisitionDate = dicom_da(when)
    ds.AcquisitionTime = dicom_tm(when)
    ds.AcquisitionDateTime = dicom_dt(when)
    # NM/PET Patient Orientation (Type 2 sequences)
    ds.PatientOrientationCodeSequence = Sequence()
    ds.PatientGantryRelationshipCodeSequence = Sequence()
    # NM Image
    ds.ImageType = ["DERIVED", "PRIMARY", "RECON TOMO", "EMISSION"]
    ds.Units = _UNITS_TO_DICOM[vol.units]
    ds.CountsAccumulated = None
    # Image Pixel / NM Image Pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(stored.shape[1]), int(stored.shape[2])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelSpacing = ds_str([dy, dx])
    # Multi-frame + NM Multi-frame: frames are slices
    ds.NumberOfFrames = nz
    ds.FrameIncrementPointer = 0x00540080  # Slice Vector
    ds.SliceVector = list(range(1, nz + 1))
    ds.NumberOfSlices = nz
    ds.NumberOfEnergyWindows = len(image.energy_windows)
    # NM Reconstruction
    ds.SpacingBetweenSlices = ds_str([dz])[0]
    ds.SliceThickness = ds_str([dz])[0]
    # Real World Value Mapping
    rwvm = Dataset()
    rwvm.RealWorldValueFirstValueMapped = 0
    rwvm.RealWorldValueLastValueMapped = 65535
    rwvm.RealWorldValueIntercept = 0.0
    rwvm.RealWorldValueSlope = float(slope)
    rwvm.LUTExplanation = vol.units
    rwvm.LUTLabel = ds.Units
    unit = Dataset()
    unit.CodeValue, unit.CodeMeaning = _UCUM[vol.units]
    unit.CodingSchemeDesignator = "UCUM"
    rwvm.MeasurementUnitsCodeSequence = Sequence([unit])
    ds.RealWorldValueMappingSequence = Sequence([rwvm])
    # NM Isotope
    windows = []
    for w in image.energy_windows:
        rng = Dataset()
        rng.EnergyWindowLowerLimit = ds_str([w.lower_kev])[0]
        rng.EnergyWindowUpperLimit = ds_str([w.upper_kev])[0]
        item = Dataset()
        item.EnergyWindowRangeSequence = Sequence([rng])
        item.EnergyWindowName = w.name
        windows.append(item)
    ds.EnergyWindowInformationSequence = Sequence(windows)
    radio = Dataset()
    radio.RadionuclideCodeSequence = Sequence([_isotope_code(rp.nuclide)])
    radio.Radiopharmaceutical = rp.name
    radio.RadiopharmaceuticalRoute = "Intravenous"
    # the NM module has only a time; the DT (from the PET module) carries date and offset
    radio.RadiopharmaceuticalStartTime = dicom_tm(rp.injection_time)
    radio.RadiopharmaceuticalStartDateTime = dicom_dt(rp.injection_time)
    radio.RadionuclideTotalDose = ds_str([rp.injected_activity_bq / 1e6])[0]  # MBq in NM
    ds.RadiopharmaceuticalInformationSequence = Sequence([radio])
    # NM Detector: for RECON TOMO the item carries the slice plane geometry
    det = Dataset()
    det.ImagePositionPatient = ds_str(origin)
    det.ImageOrientationPatient = ds_str(np.concatenate([direction[:, 0], direction[:, 1]]))
    det.CollimatorType = image.collimator_type
    ds.DetectorInformationSequence = Sequence([det])
    ds.NumberOfDetectors = 1
    # NM TOMO Acquisition
    rotations = []
    if image.rotation is not None:
        r = image.rotation
        rot = Dataset()
        rot.StartAngle = ds_str([r.start_angle_deg])[0]
        rot.AngularStep = ds_str([r.angular_step_deg])[0]
        rot.RotationDirection = r.direction
        rot.ScanArc = ds_str([r.scan_arc_deg])[0]
        rot.ActualFrameDuration = round(r.frame_duration_s * 1000.0)
        rot.NumberOfFramesInRotation = int(r.projections)
        rotations.append(rot)
    ds.RotationInformationSequence = Sequence(rotations)
    ds.NumberOfRotations = 1
    ds.TypeOfDetectorMotion = "STEP AND SHOOT"
    ds.PixelData = np.ascontiguousarray(stored).tobytes()
    with atomic_output_file(Path(path), overwrite=overwrite) as tmp:
        save(ds, tmp)
    return Path(path)


def _units_of(path: str, ds: Dataset) -> tuple[str, float, float]:
    """Volume units, slope and intercept from RWVM, Units (0054,1001) or rescale tags."""
    units_tag = str(ds.get("Units", "")).strip()
    slope, intercept = 1.0, 0.0
    rw_units = None
    rwvm = ds.get("RealWorldValueMappingSequence")
    if rwvm:
        item = rwvm[0]
        slope = float(item.get("RealWorldValueSlope", 1.0))
        intercept = float(item.get("RealWorldValueIntercept", 0.0))
        mu = item.get("MeasurementUnitsCodeSequence")
        if mu:
            code = str(mu[0].get("CodeValue", ""))
            rw_units = next((k for k, v in _UCUM.items() if v[0].lower() == code.lower()), None)
            if rw_units is None:
                raise InputFileError(
                    path,
                    f"MeasurementUnitsCodeSequence (0040,08EA) code {code!r} is not a supported "
                    f"unit (use one of {sorted(v[0] for v in _UCUM.values())})",
                )
    elif "RescaleSlope" in ds:
        slope = float(ds.RescaleSlope)
        intercept = float(ds.get("RescaleIntercept", 0.0))
    if not (math.isfinite(slope) and math.isfinite(intercept)) or slope == 0:
        raise InputFileError(path, f"RealWorldValueSlope/Intercept = {slope}, {intercept}")
    if units_tag:
        if units_tag not in _DICOM_TO_UNITS:
            raise InputFileError(
                path,
                f"Units (0054,1001) = {units_tag!r} is not supported; "
                f"expected one of {sorted(_DICOM_TO_UNITS)}",
            )
        units = _DICOM_TO_UNITS[units_tag]
        if rw_units is not None and rw_units != units:
            raise InputFileError(
                path,
                f"Units (0054,1001) = {units_tag!r} contradicts the real world value "
                f"mapping unit {rw_units!r}",
            )
        return units, slope, intercept
    if rw_units is not None:
        return rw_units, slope, intercept
    raise InputFileError(
        path,
        "unknown units: neither Units (0054,1001) nor RealWorldValueMappingSequence "
        "(0040,9096) MeasurementUnitsCodeSequence is present",
    )


def _read_radiopharmaceutical(path: str, ds: Dataset, tz: tzinfo | None) -> Radiopharmaceutical:
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if not seq:
        raise InputFileError(path, "missing RadiopharmaceuticalInformationSequence (0054,0016)")
    item = seq[0]
    codes_seq = item.get("RadionuclideCodeSequence")
    if not codes_seq:
        raise InputFileError(
            path, "missing RadionuclideCodeSequence (0054,0300) in the radiopharmaceutical item"
        )
    nuclide = _nuclide_from_code(path, codes_seq[0])
    dose = item.get("RadionuclideTotalDose")
    if dose is None or str(dose).strip() == "":
        raise InputFileError(path, "missing injected activity: RadionuclideTotalDose (0018,1074)")
    try:
        mbq = float(dose)
    except (TypeError, ValueError):
        raise InputFileError(path, f"RadionuclideTotalDose (0018,1074) = {dose!r}") from None
    if not math.isfinite(mbq) or mbq <= 0:
        raise InputFileError(path, f"RadionuclideTotalDose (0018,1074) = {dose!r} must be > 0 MBq")
    start = item.get("RadiopharmaceuticalStartDateTime")
    if start:
        when = parse_dt(path, "RadiopharmaceuticalStartDateTime", str(start), fallback_tz=tz)
    elif item.get("RadiopharmaceuticalStartTime"):
        # a time without a date is ambiguous for imaging days after injection
        raise InputFileError(
            path,
            "missing injection date: RadiopharmaceuticalStartDateTime (0018,1078) is absent "
            "and RadiopharmaceuticalStartTime (0018,1072) carries no date",
        )
    else:
        raise InputFileError(
            path, "missing injection time: RadiopharmaceuticalStartDateTime (0018,1078)"
        )
    name = str(item.get("Radiopharmaceutical", "")) or nuclide
    return Radiopharmaceutical(nuclide, mbq * 1e6, when, name=name)


def read_nm_image(
    source: Path | str | DicomSeries, *, assume_timezone: tzinfo | None = None
) -> NMImage:
    """Read a reconstructed multi-frame NM image (one file, or a folder holding one series).

    Parameters
    ----------
    source : path or DicomSeries
    assume_timezone : tzinfo, optional
        For date-times written without a UTC offset and no TimezoneOffsetFromUTC.

    Raises
    ------
    InputFileError
        Not a RECON TOMO NM object; missing radiopharmaceutical, injection time or activity;
        unknown units; inconsistent geometry — naming the file and tag.
    """
    with reading(source if not isinstance(source, DicomSeries) else source.files[0]):
        series = source if isinstance(source, DicomSeries) else single_series(source, modality="NM")
        if series.modality != "NM":
            raise InputFileError(
                str(series.files[0]), f"Modality (0008,0060) = {series.modality!r}, expected 'NM'"
            )
        if len(series.files) != 1:
            raise InputFileError(
                str(series.files[1]),
                f"NM series {series.series_instance_uid} has {len(series.files)} files; expected "
                "one multi-frame reconstruction (SOPInstanceUID (0008,0018))",
            )
        path = series.files[0]
        p = str(path)
        ds = read_dataset(path)
        image_type = [str(v) for v in (ds.get("ImageType") or [])]
        if len(image_type) < 3 or image_type[2] != "RECON TOMO":
            raise InputFileError(p, f"ImageType (0008,0008) = {image_type}: expected RECON TOMO")
        nz = int(require(p, ds, "NumberOfFrames"))
        det = ds.get("DetectorInformationSequence")
        geo = det[0] if det and "ImageOrientationPatient" in det[0] else ds
        direction = check_orientation(p, require_floats(p, geo, "ImageOrientationPatient", 6))
        origin = require_floats(p, geo, "ImagePositionPatient", 3)
        ps = require_floats(p, ds, "PixelSpacing", 2)
        dz = ds.get("SpacingBetweenSlices") or ds.get("SliceThickness")
        if dz is None:
            raise InputFileError(p, "missing SpacingBetweenSlices (0018,0088)")
        dz = require_float(
            p, ds, "SpacingBetweenSlices" if "SpacingBetweenSlices" in ds else "SliceThickness"
        )
        if dz <= 0 or np.any(ps <= 0):
            raise InputFileError(
                p,
                f"SpacingBetweenSlices (0018,0088) = {dz} / PixelSpacing (0028,0030) = "
                f"{ps.tolist()} must be > 0",
            )
        units, slope, intercept = _units_of(p, ds)
        tz = file_timezone(p, ds, assume_timezone)
        rp = _read_radiopharmaceutical(p, ds, tz)
        acq = read_date_time(p, ds, "Acquisition", fallback_tz=tz)
        if acq is None:
            raise InputFileError(p, "missing AcquisitionDateTime (0008,002A)")
        raw = pixel_array(p, ds)
        if raw.ndim == 2 and nz == 1:
            raw = raw[None]
        rows, cols = int(require(p, ds, "Rows")), int(require(p, ds, "Columns"))
        if raw.shape != (nz, rows, cols):
            raise InputFileError(
                p, f"PixelData (7FE0,0010) holds {raw.shape}, expected {(nz, rows, cols)}"
            )
        array = raw.astype(np.float64) * slope + intercept
        windows = []
        for item in ds.get("EnergyWindowInformationSequence") or []:
            for r in item.get("EnergyWindowRangeSequence") or []:
                try:
                    windows.append(
                        EnergyWindow(
                            float(r.EnergyWindowLowerLimit),
                            float(r.EnergyWindowUpperLimit),
                            str(item.get("EnergyWindowName", "")),
                        )
                    )
                except (AttributeError, ValueError, ValidationError) as exc:
                    raise InputFileError(
                        p, f"EnergyWindowRangeSequence (0054,0013): {exc}"
                    ) from None
        rotation = None
        rot_seq = ds.get("RotationInformationSequence")
        if rot_seq:
            rot = rot_seq[0]
            try:
                rotation = TomoRotation(
                    projections=int(rot.NumberOfFramesInRotation),
                    frame_duration_s=float(rot.ActualFrameDuration) / 1000.0,
                    scan_arc_deg=float(rot.ScanArc),
                    start_angle_deg=float(rot.StartAngle),
                    direction=str(rot.RotationDirection),
                )
            except (AttributeError, TypeError, ValueError) as exc:
                raise InputFileError(p, f"RotationInformationSequence (0054,0052): {exc}") from None
        det_items = ds.get("DetectorInformationSequence") or []
        collimator = str(det_items[0].get("CollimatorType", "")) if det_items else ""
        volume = Volume(
            array,
            spacing_mm=(dz, float(ps[0]), float(ps[1])),
            origin_mm=(float(origin[0]), float(origin[1]), float(origin[2])),
            direction=direction,
            units=units,
            acquisition_time=acq,
        )
        return NMImage(
            volume=volume,
            radiopharmaceutical=rp,
            energy_windows=tuple(windows),
            rotation=rotation,
            collimator_type=collimator,
            series_instance_uid=str(ds.SeriesInstanceUID),
            frame_of_reference_uid=str(ds.get("FrameOfReferenceUID", "")) or None,
            sop_instance_uid=str(ds.SOPInstanceUID),
        )
