"""Regions as DICOM Segmentation (highdicom) and RT Structure Set (pydicom), read and written.

A region set is a label :class:`Volume` (0 = background, 1..N = regions) plus the names of
the labels. Both objects reference an image series written by radiotrial or a scanner
(CT slices for RTSTRUCT; any single-frame series or the NM object for SEG).

References
----------
DICOM PS3.3 A.51 (Segmentation IOD), A.19 (RT Structure Set IOD), C.8.8.5 (Structure Set),
C.8.8.6 (ROI Contour: CLOSED_PLANAR contours in patient coordinates), C.8.8.8 (RT ROI
Observations). Herz et al., highdicom, J Digit Imaging 2022;35:1719, doi:10.1007/s10278-022-00683-y.
Marching squares: Lorensen & Cline, SIGGRAPH 1987, doi:10.1145/37402.37422 (contourpy).
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.sr.codedict import codes
from pydicom.tag import Tag
from pydicom.uid import RTStructureSetStorage

from radiotrial.errors import InputFileError, ValidationError
from radiotrial.imaging._dicom_common import (
    DicomStudy,
    atomic_output_file,
    base_dataset,
    ds_str,
    new_uid,
    read_dataset,
    reading,
    require,
    save,
    software_version,
)
from radiotrial.imaging._series import DicomSeries, find_series, single_series
from radiotrial.imaging._volume import Volume

__all__ = ["read_rtstruct", "read_seg", "write_rtstruct", "write_seg"]

_TUMOUR: Final = re.compile(r"tumou?r|lesion|metasta|neoplasm|gtv", re.IGNORECASE)
#: Distinct display colours (RGB) cycled over ROIs.
_COLOURS: Final = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
]


def _check_labels(labels: Volume, names: Mapping[int, str]) -> list[int]:
    if labels.array.dtype.kind not in "biu":
        raise ValidationError("labels.array", str(labels.array.dtype), "labels must be integers")
    present = sorted(int(v) for v in np.unique(labels.array) if v != 0)
    if not names:
        raise ValidationError("names", {}, "name at least one label")
    for k, n in names.items():
        if int(k) < 1 or not str(n).strip():
            raise ValidationError(f"names[{k}]", n, "labels are ≥ 1 with a non-empty name")
    missing = [v for v in present if v not in names]
    if missing:
        raise ValidationError("names", dict(names), f"labels {missing} have no name")
    return sorted(int(k) for k in names)


def _reference_series(reference: Path | str | DicomSeries) -> DicomSeries:
    return reference if isinstance(reference, DicomSeries) else single_series(reference)


def _series_grid(series: DicomSeries) -> tuple[Volume, list[Dataset]]:
    """A zero volume on the reference series' grid and its headers ordered by slice."""
    from radiotrial.imaging._ct import stack_geometry

    return stack_geometry(series)


def _property_codes(name: str) -> tuple[Any, Any]:
    """(category, type) codes for a region name, from pydicom's SNOMED CT dictionary."""
    if _TUMOUR.search(name):
        return codes.SCT.MorphologicallyAbnormalStructure, codes.SCT.Neoplasm
    words = re.sub(r"[^A-Za-z ]", " ", name).split()
    for cand in (
        "".join(w.capitalize() for w in words),
        "".join(w.capitalize() for w in words).rstrip("s"),
        "".join(w.capitalize() for w in words[-1:]).rstrip("s"),
    ):
        if cand and cand in dir(codes.SCT):
            return codes.SCT.AnatomicalStructure, getattr(codes.SCT, cand)
    return codes.SCT.AnatomicalStructure, codes.SCT.Organ


# ---- DICOM SEG -------------------------------------------------------------------------------
_TRACKING_LABEL: Final = re.compile(r"^label (\d+):")


def _tracking_uid(patient_id: str, label: int, name: str) -> str:
    """A UID stable for one patient's region across time points (UUID-5, PS3.5 B.2)."""
    text = f"radiotrial-region:{patient_id}:{label}:{name}"
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, text).int}"


def _label_values(seg: Any, numbers: list[int]) -> list[int]:
    """Label value of each segment: from radiotrial's Tracking ID, else the segment number."""
    values = []
    for n in numbers:
        m = _TRACKING_LABEL.match(str(seg.get_segment_description(n).tracking_id or ""))
        values.append(int(m.group(1)) if m else n)
    if len(set(values)) != len(values) or min(values, default=1) < 1:
        return numbers  # not written by radiotrial (or edited): keep the segment numbers
    return values


def write_seg(
    labels: Volume,
    names: Mapping[int, str],
    path: Path | str,
    *,
    reference: Path | str | DicomSeries,
    series_number: int = 10,
    series_description: str = "Regions",
    overwrite: bool = False,
) -> Path:
    """Write a label volume as a binary DICOM Segmentation referencing an image series.

    Parameters
    ----------
    labels : Volume
        ``units == "label"``, integer array on exactly the grid of ``reference``.
    names : mapping int → str
        Region name of each label value (every non-zero value present must be named).
        Segments are numbered 1..N in label order (PS3.3 C.8.20.2); each keeps its label
        value in Tracking ID (0062,0020) so that :func:`read_seg` restores it.
    path : path
        Output file (temporary sibling then rename).
    reference : path or DicomSeries
        The single-frame image series (e.g. the CT) the regions were drawn on.
    series_number : int, default 10
    series_description : str
    overwrite : bool, default False

    Returns
    -------
    Path

    Raises
    ------
    ValidationError
        Labels not integer, unnamed labels, or a grid different from the reference.
    """
    hd: Any = importlib.import_module("highdicom")

    if labels.units != "label":
        raise ValidationError("labels.units", labels.units, "expected 'label'")
    numbers = _check_labels(labels, names)
    series = _reference_series(reference)
    grid, headers = _series_grid(series)
    if not grid.same_grid(labels):
        raise ValidationError(
            "labels", labels.geometry(), f"grid differs from the reference series {grid.geometry()}"
        )
    sources = [read_dataset(Path(h.filename)) for h in headers]
    onehot = np.stack([labels.array == n for n in numbers], axis=-1).astype(np.uint8)
    descriptions = []
    patient = str(headers[0].get("PatientID", ""))
    for i, n in enumerate(numbers, start=1):
        category, ptype = _property_codes(names[n])
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=i,
                segment_label=str(names[n])[:64],
                segmented_property_category=category,
                segmented_property_type=ptype,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=hd.AlgorithmIdentificationSequence(
                    name="radiotrial", version="1", family=codes.DCM.ArtificialIntelligence
                ),
                # segment numbers must run 1..N (PS3.3 C.8.20.2); the label value rides in
                # the Tracking ID, the same region of the same patient keeps one Tracking UID
                tracking_id=f"label {n}: {names[n]}"[:64],
                tracking_uid=_tracking_uid(patient, n, str(names[n])),
            )
        )
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=onehot,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=new_uid(),
        series_number=series_number,
        sop_instance_uid=new_uid(),
        instance_number=1,
        manufacturer="radiotrial",
        manufacturer_model_name="radiotrial",
        software_versions=software_version(),
        device_serial_number="0",
        series_description=series_description,
        omit_empty_frames=False,
    )
    with atomic_output_file(Path(path), overwrite=overwrite) as tmp:
        seg.save_as(tmp)
    return Path(path)


def read_seg(
    path: Path | str, *, reference: Path | str | DicomSeries
) -> tuple[Volume, dict[int, str]]:
    """Read a binary/fractional DICOM SEG onto the grid of its reference series.

    Parameters
    ----------
    path : path
        The SEG file.
    reference : path or DicomSeries
        The image series it references (checked by SOP Instance UID).

    Returns
    -------
    labels : Volume
        ``units == "label"``, int32. Values are the label values radiotrial wrote (kept in
        Tracking ID (0062,0020) as ``"label N: name"``), else the segment numbers;
        overlapping segments keep the highest value.
    names : dict int → str
        SegmentLabel (0062,0005) of each label value.

    Raises
    ------
    InputFileError
        Not a SEG, or it references instances absent from ``reference``.
    """
    with reading(path):
        hd: Any = importlib.import_module("highdicom")

        p = str(path)
        ds = read_dataset(Path(path))
        if str(ds.get("Modality", "")) != "SEG":
            raise InputFileError(
                p, f"Modality (0008,0060) = {ds.get('Modality')!r}, expected 'SEG'"
            )
        try:
            seg = hd.seg.Segmentation.from_dataset(ds)
        except (AttributeError, ValueError, KeyError, TypeError) as exc:
            raise InputFileError(p, f"not a valid Segmentation: {exc}") from None
        series = _reference_series(reference)
        grid, headers = _series_grid(series)
        uids = [str(h.SOPInstanceUID) for h in headers]
        referenced = {str(t[2]) for t in seg.get_source_image_uids()}
        unknown = referenced - set(uids)
        if unknown:
            raise InputFileError(
                p,
                f"ReferencedSOPInstanceUID (0008,1155) {sorted(unknown)[0]} is not in the "
                f"reference "
                f"series {series.series_instance_uid}",
            )
        numbers = [int(n) for n in seg.get_segment_numbers()]
        values = _label_values(seg, numbers)
        try:
            pix = seg.get_pixels_by_source_instance(
                source_sop_instance_uids=uids,
                segment_numbers=numbers,
                assert_missing_frames_are_empty=True,
                combine_segments=False,
            )
        except (ValueError, KeyError, RuntimeError) as exc:
            raise InputFileError(p, f"PixelData (7FE0,0010) cannot be mapped: {exc}") from None
        out = np.zeros(grid.shape, dtype=np.int32)
        for i in np.argsort(values, kind="stable"):  # overlaps: the highest label wins
            out[np.asarray(pix[..., i]) > 0] = values[i]
        names = {
            v: str(seg.get_segment_description(n).segment_label)
            for n, v in zip(numbers, values, strict=True)
        }
        return grid.with_array(out, units="label"), names

    # ---- RTSTRUCT --------------------------------------------------------------------------------


def _contours_2d(mask: npt.NDArray[np.bool_]) -> list[npt.NDArray[np.float64]]:
    """Closed iso-0.5 contours of a binary slice, in (col, row) pixel units (marching squares)."""
    import contourpy

    padded = np.pad(mask.astype(np.float64), 1)
    gen = contourpy.contour_generator(z=padded, line_type=contourpy.LineType.Separate)
    lines = gen.lines(0.5)
    out = []
    for line in lines:
        pts = np.asarray(line, dtype=np.float64) - 1.0  # undo the padding
        if len(pts) >= 4 and np.allclose(pts[0], pts[-1]):
            pts = pts[:-1]  # DICOM closes CLOSED_PLANAR contours implicitly
        pts = _drop_collinear(pts)
        if len(pts) >= 3:
            out.append(pts)
    return out


def _drop_collinear(pts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Remove vertices in the middle of straight runs (the polygon is unchanged).

    Marching squares on voxel masks puts a vertex at every voxel edge; along straight
    boundaries most are collinear, and dropping them keeps large contours (body outline)
    within one DS element (≤ 64 kB in explicit VR).
    """
    prev = pts - np.roll(pts, 1, axis=0)
    nxt = np.roll(pts, -1, axis=0) - pts
    cross = prev[:, 0] * nxt[:, 1] - prev[:, 1] * nxt[:, 0]
    same_way = np.einsum("ij,ij->i", prev, nxt) > 0
    keep = ~((np.abs(cross) < 1e-9) & same_way)
    return pts[keep] if keep.sum() >= 3 else pts


#: A DS element's value length is a 16-bit field in explicit VR (PS3.5 7.1.2).
_MAX_DS_BYTES: Final = 0xFFFE


def _contour_data(xyz: npt.NDArray[np.float64]) -> bytes:
    """ContourData (3006,0050) as encoded DS text (fast path; pydicom validates per value)."""
    flat = np.ravel(xyz)
    if np.max(np.abs(flat)) < 1e9:  # "%.4f" then fits the 16-character DS limit
        text = "\\".join(f"{v:.4f}" for v in flat)
    else:  # pragma: no cover - coordinates beyond 1000 km
        text = "\\".join(ds_str(flat))
    raw = text.encode("ascii")
    return raw + b" " if len(raw) % 2 else raw


def _read_contour_data(p: str, item: Dataset) -> npt.NDArray[np.float64]:
    """ContourData values, parsed from the raw bytes when pydicom has not converted them."""
    elem = item.get_item(0x30060050)
    if elem is None or elem.value is None or len(elem.value) == 0:
        raise InputFileError(p, "missing or empty ContourData (3006,0050)")
    try:
        if isinstance(elem.value, bytes):
            values = np.array(elem.value.split(b"\\"), dtype=np.float64)
        else:
            seq = elem.value if isinstance(elem.value, list | tuple) else list(elem.value)
            values = np.asarray([float(v) for v in seq], dtype=np.float64)
    except (TypeError, ValueError):
        raise InputFileError(p, "ContourData (3006,0050) holds non-numeric values") from None
    if not np.all(np.isfinite(values)):
        raise InputFileError(p, "ContourData (3006,0050) holds non-finite values")
    if values.size % 3 or values.size < 9:
        raise InputFileError(
            p, f"ContourData (3006,0050) has {values.size} values: expected ≥ 3 points × 3"
        )
    return values.reshape(-1, 3)


def write_rtstruct(
    labels: Volume,
    names: Mapping[int, str],
    path: Path | str,
    *,
    reference: Path | str | DicomSeries,
    study: DicomStudy,
    series_number: int = 11,
    label: str = "Regions",
    overwrite: bool = False,
) -> Path:
    """Write a label volume as an RT Structure Set of closed planar contours per slice.

    Contours are traced with marching squares at the 0.5 level of each region's mask on
    every slice of ``reference`` (which must share the labels' grid) and written in patient
    coordinates (mm). Holes are separate contours (even-odd rule on reading).

    Parameters
    ----------
    labels : Volume
        ``units == "label"`` on the reference grid.
    names : mapping int → str
    path : path
    reference : path or DicomSeries
        Single-frame image series (CT) the contours refer to.
    study : DicomStudy
        Must carry the reference's StudyInstanceUID.
    series_number : int, default 11
    label : str
        StructureSetLabel (3006,0002).
    overwrite : bool, default False
    """
    if labels.units != "label":
        raise ValidationError("labels.units", labels.units, "expected 'label'")
    numbers = _check_labels(labels, names)
    series = _reference_series(reference)
    grid, headers = _series_grid(series)
    if not grid.same_grid(labels):
        raise ValidationError(
            "labels", labels.geometry(), f"grid differs from the reference series {grid.geometry()}"
        )
    if str(headers[0].StudyInstanceUID) != study.study_instance_uid:
        raise ValidationError(
            "study.study_instance_uid",
            study.study_instance_uid,
            f"reference series belongs to study {headers[0].StudyInstanceUID}",
        )
    for_uid = series.frame_of_reference_uid
    if for_uid is None:
        raise InputFileError(str(series.files[0]), "missing FrameOfReferenceUID (0020,0052)")
    when = labels.acquisition_time or grid.acquisition_time or study.study_datetime
    if when is None:
        when = datetime.now().astimezone()
    ds = base_dataset(
        study=study,
        sop_class_uid=RTStructureSetStorage,
        modality="RTSTRUCT",
        series_instance_uid=new_uid(),
        series_number=series_number,
        series_description=label,
        frame_of_reference_uid=for_uid,
        content_time=when,
        instance_number=1,
    )
    del ds.ContentDate, ds.ContentTime  # not in the RT Structure Set IOD
    ds.OperatorsName = ""
    ds.StructureSetLabel = label[:16]
    ds.StructureSetDate = ds.SeriesDate
    ds.StructureSetTime = ds.SeriesTime
    contour_images = []
    for h in headers:
        ci = Dataset()
        ci.ReferencedSOPClassUID = h.SOPClassUID
        ci.ReferencedSOPInstanceUID = h.SOPInstanceUID
        contour_images.append(ci)
    rseries = Dataset()
    rseries.SeriesInstanceUID = series.series_instance_uid
    rseries.ContourImageSequence = Sequence(contour_images)
    rstudy = Dataset()
    rstudy.ReferencedSOPClassUID = (
        "1.2.840.10008.3.1.2.3.1"  # Detached Study Management (retired, per IOD)
    )
    rstudy.ReferencedSOPInstanceUID = study.study_instance_uid
    rstudy.RTReferencedSeriesSequence = Sequence([rseries])
    rfor = Dataset()
    rfor.FrameOfReferenceUID = for_uid
    rfor.RTReferencedStudySequence = Sequence([rstudy])
    ds.ReferencedFrameOfReferenceSequence = Sequence([rfor])
    roi_items, contour_items, obs_items = [], [], []
    aff = grid.affine
    for idx, n in enumerate(numbers):
        roi = Dataset()
        roi.ROINumber = n
        roi.ReferencedFrameOfReferenceUID = for_uid
        roi.ROIName = str(names[n])[:64]
        roi.ROIGenerationAlgorithm = "AUTOMATIC"
        roi_items.append(roi)
        contours = []
        mask3 = labels.array == n
        for k in np.flatnonzero(mask3.any(axis=(1, 2))):
            for pts in _contours_2d(mask3[k]):
                ijk = np.column_stack([pts[:, 0], pts[:, 1], np.full(len(pts), float(k))])
                xyz = ijk @ aff[:3, :3].T + aff[:3, 3]
                c = Dataset()
                ref = Dataset()
                ref.ReferencedSOPClassUID = headers[k].SOPClassUID
                ref.ReferencedSOPInstanceUID = headers[k].SOPInstanceUID
                c.ContourImageSequence = Sequence([ref])
                c.ContourGeometricType = "CLOSED_PLANAR"
                c.NumberOfContourPoints = len(xyz)
                data = _contour_data(xyz)
                if len(data) > _MAX_DS_BYTES:
                    raise ValidationError(
                        "labels",
                        names[n],
                        f"a contour on slice {k} has {len(xyz)} vertices, more than one "
                        "ContourData (3006,0050) element can hold (64 kB); use write_seg",
                    )
                c[0x30060050] = RawDataElement(
                    Tag(0x30060050), "DS", len(data), data, 0, False, True
                )
                contours.append(c)
        rc = Dataset()
        rc.ROIDisplayColor = list(_COLOURS[idx % len(_COLOURS)])
        rc.ReferencedROINumber = n
        rc.ContourSequence = Sequence(contours)
        contour_items.append(rc)
        obs = Dataset()
        obs.ObservationNumber = n
        obs.ReferencedROINumber = n
        obs.RTROIInterpretedType = "GTV" if _TUMOUR.search(names[n]) else "ORGAN"
        obs.ROIInterpreter = ""
        obs_items.append(obs)
    ds.StructureSetROISequence = Sequence(roi_items)
    ds.ROIContourSequence = Sequence(contour_items)
    ds.RTROIObservationsSequence = Sequence(obs_items)
    ds.ApprovalStatus = "UNAPPROVED"
    with atomic_output_file(Path(path), overwrite=overwrite) as tmp:
        save(ds, tmp)
    return Path(path)


def _even_odd_fill(poly: npt.NDArray[np.float64], ny: int, nx: int) -> npt.NDArray[np.bool_]:
    """Pixel centres ``(i, j)`` inside a closed polygon (columns, rows), even-odd rule.

    Scanline form of the crossing-number test: an edge crosses row ``j`` when
    ``min(y0, y1) ≤ j < max(y0, y1)`` (half-open, so a vertex on the row counts once); a
    centre is inside when an odd number of crossings lie strictly to its left. Each crossing
    toggles the columns right of it, and a cumulative sum along the row gives the parity.
    """
    out = np.zeros((ny, nx), dtype=bool)
    p0 = poly
    p1 = np.roll(poly, -1, axis=0)
    y_lo, y_hi = np.minimum(p0[:, 1], p1[:, 1]), np.maximum(p0[:, 1], p1[:, 1])
    j0 = max(int(np.ceil(y_lo.min())), 0)
    j1 = min(int(np.ceil(y_hi.max())), ny)  # rows j with j < max y
    if j1 <= j0:
        return out
    rows = np.arange(j0, j1, dtype=np.float64)[:, None]
    crosses = (y_lo[None, :] <= rows) & (rows < y_hi[None, :])
    r, e = np.nonzero(crosses)
    if r.size == 0:
        return out
    x0, y0, x1, y1 = p0[e, 0], p0[e, 1], p1[e, 0], p1[e, 1]
    xc = x0 + (rows[r, 0] - y0) * (x1 - x0) / (y1 - y0)
    col = np.clip(np.floor(xc).astype(np.int64) + 1, 0, nx)  # first centre right of xc
    toggles = np.zeros((j1 - j0, nx + 1), dtype=np.int32)
    np.add.at(toggles, (r, col), 1)
    out[j0:j1] = (np.cumsum(toggles, axis=1)[:, :nx] & 1).astype(bool)
    return out


def read_rtstruct(
    path: Path | str, *, reference: Path | str | DicomSeries
) -> tuple[Volume, dict[int, str]]:
    """Rasterise an RT Structure Set onto the grid of its reference image series.

    A voxel belongs to a ROI when its centre lies inside an odd number of that ROI's contours
    on its slice (even-odd rule, so holes drawn as inner contours are respected). Where ROIs
    overlap the one listed later wins.

    Returns
    -------
    labels : Volume
        ``units == "label"`` int32 volume on the reference grid; values are ROI Numbers.
    names : dict int → str

    Raises
    ------
    InputFileError
        Not an RTSTRUCT, contours off the slice planes, other frame of reference, or
        malformed ContourData — naming the file and tag.
    """
    with reading(path):
        p = str(path)
        ds = read_dataset(Path(path))
        if str(ds.get("Modality", "")) != "RTSTRUCT":
            raise InputFileError(
                p, f"Modality (0008,0060) = {ds.get('Modality')!r}, expected 'RTSTRUCT'"
            )
        series = _reference_series(reference)
        grid, _ = _series_grid(series)
        rois = {int(r.ROINumber): r for r in require(p, ds, "StructureSetROISequence")}
        for r in rois.values():
            ref_for = str(r.get("ReferencedFrameOfReferenceUID", ""))
            if (
                series.frame_of_reference_uid
                and ref_for
                and ref_for != series.frame_of_reference_uid
            ):
                raise InputFileError(
                    p,
                    f"ReferencedFrameOfReferenceUID (3006,0024) = {ref_for} differs from the "
                    f"reference series' {series.frame_of_reference_uid}",
                )
        nz, ny, nx = grid.shape
        to_index = np.linalg.inv(grid.affine)
        out = np.zeros(grid.shape, dtype=np.int32)
        names: dict[int, str] = {}
        for rc in ds.get("ROIContourSequence") or []:
            n = int(require(p, rc, "ReferencedROINumber"))
            if n not in rois:
                raise InputFileError(
                    p, f"ReferencedROINumber (3006,0084) = {n} is not in StructureSetROISequence"
                )
            names[n] = str(rois[n].get("ROIName", f"ROI {n}"))
            inside = np.zeros(grid.shape, dtype=bool)
            for c in rc.get("ContourSequence") or []:
                xyz = _read_contour_data(p, c)
                ijk = xyz @ to_index[:3, :3].T + to_index[:3, 3]
                k = float(np.mean(ijk[:, 2]))
                ks = round(k)
                if np.ptp(ijk[:, 2]) > 0.05 or abs(k - ks) > 0.05 or not 0 <= ks < nz:
                    raise InputFileError(
                        p,
                        f"ContourData (3006,0050) of ROI {n} is not on a slice of the reference "
                        f"series (slice index {k:.2f})",
                    )
                inside[ks] ^= _even_odd_fill(ijk[:, :2], ny, nx)
            out[inside] = n
        return grid.with_array(out, units="label"), names


def find_reference(folder: Path | str, modality: str = "CT") -> DicomSeries:
    """The single series of ``modality`` in a folder holding several series."""
    series, _ = find_series(folder)
    matches = [s for s in series if s.modality == modality]
    if len(matches) != 1:
        raise InputFileError(
            str(folder),
            f"expected one {modality} series, found {len(matches)} (Modality (0008,0060))",
        )
    return matches[0]
