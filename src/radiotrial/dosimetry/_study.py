"""A patient's imaging study for dosimetry: sessions, regions, calibration, injection."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from radiotrial.errors import InputFileError, ValidationError
from radiotrial.imaging import Volume
from radiotrial.units import Activity

if TYPE_CHECKING:
    from radiotrial.phantom import VirtualPatient

__all__ = ["Region", "Session", "Study", "load_study", "study_from_virtual_patient"]

RegionKind = Literal["organ", "tumour", "bone", "remainder"]


@dataclass(frozen=True, slots=True)
class Region:
    """A reporting region: a name, its labels in the label map and its kind."""

    name: str
    labels: tuple[int, ...]
    kind: RegionKind


@dataclass(frozen=True, eq=False)
class Session:
    """One quantitative SPECT/CT session.

    ``spect`` is either calibrated (``Bq/mL`` or ``Bq``) or raw (``counts``); raw images are
    calibrated with the study's sensitivity and acquisition duration.
    """

    time_h: float
    spect: Volume
    ct: Volume


@dataclass(frozen=True, eq=False)
class Study:
    """Everything the dosimetry workflow needs about one patient and cycle.

    Attributes
    ----------
    administered : Activity
        Injected activity at the injection time (the reference of ``Session.time_h``).
    sessions : tuple of Session
        In increasing time order.
    labels : Volume
        Label map on the first session's SPECT grid (the reference frame).
    regions : tuple of Region
    sensitivity_cps_per_mbq, acquisition_s : float
        Camera calibration and acquisition duration (for ``counts`` images).
    fwhm_mm : float
        System spatial resolution used for partial-volume correction.
    density : Volume, optional
        Mass density (g/cm³) on the reference grid; derived from the CT when absent.
    truth : dict, optional
        Ground truth of a virtual patient (for validation).
    """

    patient_id: str
    administered: Activity
    sessions: tuple[Session, ...]
    labels: Volume
    regions: tuple[Region, ...]
    sensitivity_cps_per_mbq: float
    acquisition_s: float
    fwhm_mm: float
    cycle: int = 1
    density: Volume | None = None
    truth: dict[str, Any] | None = None
    truth_tia: Volume | None = field(default=None, repr=False)
    label_names: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        times = [s.time_h for s in self.sessions]
        if not times:
            raise ValidationError("sessions", times, "a study needs at least one imaging session")
        if any(t <= 0 for t in times) or any(b <= a for a, b in itertools.pairwise(times)):
            raise ValidationError(
                "sessions.time_h", times, "times must be after injection and strictly increasing"
            )
        ref = self.sessions[0].spect
        if not self.labels.same_grid(ref):
            raise ValidationError("labels", self.labels.shape, "label map is not on the SPECT grid")
        if self.sensitivity_cps_per_mbq <= 0 or self.acquisition_s <= 0 or self.fwhm_mm < 0:
            raise ValidationError(
                "calibration",
                (self.sensitivity_cps_per_mbq, self.acquisition_s, self.fwhm_mm),
                "sensitivity and acquisition time must be > 0, FWHM ≥ 0",
            )
        present = set(np.unique(np.asarray(self.labels.array)).tolist())
        for region in self.regions:
            if not set(region.labels) & present:
                raise ValidationError(
                    "regions", region.name, "none of its labels is in the label map"
                )

    @property
    def nuclide(self) -> str:
        return self.administered.nuclide

    @property
    def injection_time(self) -> datetime:
        return self.administered.reference_time

    @property
    def times_h(self) -> npt.NDArray[np.float64]:
        return np.array([s.time_h for s in self.sessions])


def _regions_from_truth(truth: Mapping[str, Any]) -> tuple[Region, ...]:
    """Reporting regions of a virtual patient: kinetic regions grouped over their labels."""
    labels = truth["labels"]
    regions: list[Region] = []
    for name, spec in truth["regions"].items():
        lbs = tuple(int(lb) for lb in spec["labels"])
        if not lbs:
            continue
        kinds = {labels[str(lb)]["kind"] for lb in lbs}
        kind: RegionKind = (
            "tumour"
            if "tumour" in kinds
            else "bone"
            if kinds == {"bone"}
            else "remainder"
            if "remainder" in kinds
            else "organ"
        )
        regions.append(Region(name, lbs, kind))
    return tuple(regions)


def study_from_virtual_patient(patient: VirtualPatient, *, use_counts: bool = True) -> Study:
    """Build a :class:`Study` from a :class:`radiotrial.phantom.VirtualPatient` in memory.

    With ``use_counts`` the raw count images are used, so the camera calibration step is
    exercised as in the clinic.
    """
    sessions = tuple(
        Session(tp.time_h, tp.counts if use_counts else tp.spect, tp.ct)
        for tp in patient.time_points
    )
    truth = patient.truth()
    return Study(
        patient_id=f"VP-{patient.seed}",
        administered=patient.administered,
        sessions=sessions,
        labels=patient.anatomy.labels,
        regions=_regions_from_truth(truth),
        sensitivity_cps_per_mbq=patient.settings.sensitivity_cps_per_mbq,
        acquisition_s=patient.settings.acquisition_s,
        fwhm_mm=patient.settings.fwhm_mm,
        density=patient.anatomy.density,
        truth=truth,
        truth_tia=patient.tia_voxel,
        label_names={int(k): v["name"] for k, v in truth["labels"].items()},
    )


def load_study(folder: str | Path) -> Study:
    """Read a patient folder written by ``radiotrial phantom make`` (NIfTI or DICOM images).

    Layout: ``truth.json`` (or ``study.json`` with the same ``nuclide``, ``injected_activity``,
    ``acquisition`` and ``regions`` keys), ``truth/labels.nii.gz`` (or a DICOM SEG per session)
    and per session ``nifti/tXXXh_{ct,spect}.nii.gz`` or ``dicom/tXXXh/{CT/,NM.dcm}``.

    Raises
    ------
    InputFileError
        Missing or inconsistent files, naming the file.
    """
    from radiotrial.imaging import read_ct_series, read_nifti, read_nm_image

    root = Path(folder)
    meta_path = next((p for p in (root / "study.json", root / "truth.json") if p.is_file()), None)
    if meta_path is None:
        raise InputFileError(str(root), "no study.json or truth.json describing the study")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        nuclide = meta["nuclide"]
        injected = Activity.from_value(
            float(meta["administered_activity_mbq"]),
            "MBq",
            datetime.fromisoformat(meta["injection_time"]),
            nuclide,
        )
        acq = meta["acquisition"]
        sessions_meta: Sequence[dict[str, Any]] = meta["time_points"]
    except (KeyError, ValueError, TypeError, json.JSONDecodeError) as exc:
        raise InputFileError(str(meta_path), f"missing or invalid field: {exc}") from None
    sessions: list[Session] = []
    for tp in sessions_meta:
        t = float(tp["time_h"])
        stem = f"t{int(t):03d}h" if t.is_integer() else f"t{t:05.1f}h"
        nii = root / "nifti"
        if (nii / f"{stem}_spect.nii.gz").is_file():
            spect, _ = read_nifti(nii / f"{stem}_spect.nii.gz")
            ct, _ = read_nifti(nii / f"{stem}_ct.nii.gz")
        elif (root / "dicom" / stem / "NM.dcm").is_file():
            nm = read_nm_image(root / "dicom" / stem / "NM.dcm")
            spect = nm.volume
            ct = read_ct_series(root / "dicom" / stem / "CT")
        else:
            raise InputFileError(str(root), f"no SPECT image for session {stem} (nifti/ or dicom/)")
        sessions.append(Session(t, spect, ct))
    labels_path = root / "truth" / "labels.nii.gz"
    if not labels_path.is_file():
        raise InputFileError(str(labels_path), "label map not found")
    labels, _ = read_nifti(labels_path)
    density_path = root / "truth" / "density.nii.gz"
    tia_path = root / "truth" / "tia_voxel.nii.gz"
    return Study(
        patient_id=str(meta.get("seed", root.name)),
        administered=injected,
        sessions=tuple(sessions),
        labels=labels,
        regions=_regions_from_truth(meta),
        sensitivity_cps_per_mbq=float(acq["sensitivity_cps_per_mbq"]),
        acquisition_s=float(acq["acquisition_s"]),
        fwhm_mm=float(acq["fwhm_mm"]),
        density=read_nifti(density_path)[0] if density_path.is_file() else None,
        truth=meta if meta_path.name == "truth.json" else None,
        truth_tia=read_nifti(tia_path)[0] if tia_path.is_file() else None,
        label_names={int(k): v["name"] for k, v in meta.get("labels", {}).items()},
    )
