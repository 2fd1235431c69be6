"""Find DICOM files in a folder and group them by SeriesInstanceUID, with strict checks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydicom.dataset import Dataset

from radiotrial.errors import InputFileError
from radiotrial.imaging._dicom_common import read_dataset, reading

__all__ = ["DicomSeries", "find_series", "single_series"]

#: Non-DICOM files a scanner folder commonly holds (skipped, not reported).
_SKIP_NAMES: Final = frozenset({"DICOMDIR", ".DS_Store", "README", "README.md"})
_SKIP_SUFFIXES: Final = frozenset({".json", ".nii", ".gz", ".txt", ".md", ".png", ".csv", ".npz"})


@dataclass(frozen=True)
class DicomSeries:
    """One series found on disk: its identity and its files (headers only were read).

    Attributes
    ----------
    series_instance_uid, modality, sop_class_uid : str
    series_description : str
    study_instance_uid, patient_id : str
    frame_of_reference_uid : str or None
    files : tuple of Path
        Sorted by file name; ordering by position is the reader's job.
    headers : tuple of pydicom Dataset
        The headers of ``files`` (same order), read without pixel data.
    """

    series_instance_uid: str
    modality: str
    sop_class_uid: str
    series_description: str
    study_instance_uid: str
    patient_id: str
    frame_of_reference_uid: str | None
    files: tuple[Path, ...]
    headers: tuple[Dataset, ...]


def _candidate_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise InputFileError(str(folder), "no such file or folder")
    out = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name in _SKIP_NAMES or p.name.startswith("."):
            continue
        if p.suffix.lower() in _SKIP_SUFFIXES:
            continue
        out.append(p)
    return out


def find_series(
    folder: Path | str, *, strict: bool = True
) -> tuple[list[DicomSeries], list[InputFileError]]:
    """Group every DICOM file under ``folder`` (recursively) by SeriesInstanceUID.

    Parameters
    ----------
    folder : path
        A folder (searched recursively) or a single file.
    strict : bool, default True
        Raise on the first unreadable file; with ``False`` the problems are returned instead.

    Returns
    -------
    series : list of DicomSeries
        Ordered by modality then series description.
    problems : list of InputFileError
        Files that could not be read (only when ``strict`` is false).

    Raises
    ------
    InputFileError
        A file is not DICOM or lacks SeriesInstanceUID (0020,000E) / Modality (0008,0060),
        or nothing was found.
    """
    root = Path(folder)
    groups: dict[str, list[tuple[Path, Dataset]]] = defaultdict(list)
    problems: list[InputFileError] = []
    for path in _candidate_files(root):
        try:
            with reading(path):
                ds = read_dataset(path, stop_before_pixels=True)
                str(ds.get("SeriesInstanceUID", "")), str(ds.get("Modality", ""))
            for kw, tag in (("SeriesInstanceUID", "(0020,000E)"), ("Modality", "(0008,0060)")):
                if not ds.get(kw):
                    raise InputFileError(str(path), f"missing {kw} {tag}")
        except InputFileError as exc:
            if strict:
                raise
            problems.append(exc)
            continue
        groups[str(ds.SeriesInstanceUID)].append((path, ds))
    if not groups and strict:
        raise InputFileError(str(root), "no DICOM files found")
    series = []
    for uid, members in groups.items():
        members.sort(key=lambda m: str(m[0]))
        first = members[0][1]
        series.append(
            DicomSeries(
                series_instance_uid=uid,
                modality=str(first.Modality),
                sop_class_uid=str(first.get("SOPClassUID", "")),
                series_description=str(first.get("SeriesDescription", "")),
                study_instance_uid=str(first.get("StudyInstanceUID", "")),
                patient_id=str(first.get("PatientID", "")),
                frame_of_reference_uid=(
                    str(first.FrameOfReferenceUID) if first.get("FrameOfReferenceUID") else None
                ),
                files=tuple(m[0] for m in members),
                headers=tuple(m[1] for m in members),
            )
        )
    series.sort(key=lambda s: (s.modality, s.series_description, s.series_instance_uid))
    return series, problems


def single_series(folder: Path | str, *, modality: str | None = None) -> DicomSeries:
    """The one series in ``folder``; refuse mixed folders naming SeriesInstanceUID (0020,000E).

    Raises
    ------
    InputFileError
        No series, more than one series, or a modality other than ``modality``.
    """
    series, _ = find_series(folder)
    if len(series) > 1:
        detail = "; ".join(
            f"{s.series_instance_uid} ({s.modality}, {len(s.files)} files, e.g. {s.files[0].name})"
            for s in series
        )
        raise InputFileError(
            str(folder),
            f"mixed series: SeriesInstanceUID (0020,000E) takes {len(series)} values: {detail}",
        )
    s = series[0]
    if modality is not None and s.modality != modality:
        raise InputFileError(
            str(s.files[0]), f"Modality (0008,0060) = {s.modality!r}, expected {modality!r}"
        )
    return s
