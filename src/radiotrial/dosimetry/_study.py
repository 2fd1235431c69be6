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
    delineation_spacing_mm : float, optional
        Mean voxel size of the grid the regions were delineated on (the CT of a SEG/RTSTRUCT);
        the label grid's when absent. Sets the boundary uncertainty of the volume term.
    blood_samples : tuple of (time_h, Bq/mL)
        Measured blood activity concentrations for the blood-based red-marrow method (EANM
        2010); without them the image-derived blood pool is used.
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
    delineation_spacing_mm: float | None = None
    blood_samples: tuple[tuple[float, float], ...] = ()

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
        samples = np.asarray(self.blood_samples, dtype=np.float64).reshape(-1, 2)
        if samples.size and (
            not np.all(np.isfinite(samples))
            or np.any(samples[:, 0] <= 0)
            or np.any(np.diff(samples[:, 0]) <= 0)
            or np.any(samples[:, 1] <= 0)
        ):
            raise ValidationError(
                "blood_samples",
                self.blood_samples,
                "(time_h, Bq/mL) pairs with times after injection, increasing, and values > 0",
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

    @property
    def delineation_mm(self) -> float:
        """Voxel size (mm) of the grid the regions were delineated on."""
        if self.delineation_spacing_mm is not None:
            return self.delineation_spacing_mm
        return float(np.mean(self.labels.spacing_mm))


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


def study_from_virtual_patient(
    patient: VirtualPatient,
    *,
    use_counts: bool = True,
    blood_sample_times_h: Sequence[float] = (),
) -> Study:
    """Build a :class:`Study` from a :class:`radiotrial.phantom.VirtualPatient` in memory.

    With ``use_counts`` the raw count images are used, so the camera calibration step is
    exercised as in the clinic. ``blood_sample_times_h`` adds blood samples (the patient's
    true blood concentration at those times) for the blood-based red-marrow method.
    """
    times = np.asarray(blood_sample_times_h, dtype=np.float64)
    blood = patient.blood_bq_per_ml(times) if times.size else np.zeros(0)
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
        blood_samples=tuple(zip(times.tolist(), blood.tolist(), strict=True)),
    )


def _regions_from_names(names: Mapping[int, str]) -> tuple[Region, ...]:
    """One reporting region per label of a SEG/RTSTRUCT; lesions by their name."""
    out = []
    for label, name in sorted(names.items()):
        low = name.lower()
        kind: RegionKind = (
            "tumour" if any(w in low for w in ("tumour", "tumor", "lesion", "metast")) else "organ"
        )
        out.append(Region(name, (label,), kind))
    return tuple(out)


def _dicom_session(folder: Path) -> tuple[Any, Volume]:
    """The NM image (first NM file) and the CT series (``CT/``) of one session folder."""
    from radiotrial.imaging import read_ct_series, read_nm_image

    nm_files = sorted(folder.glob("NM*.dcm")) or sorted(folder.glob("*.dcm"))
    if not nm_files:
        raise InputFileError(str(folder), "no NM image (NM*.dcm) in this session folder")
    if not (folder / "CT").is_dir():
        raise InputFileError(str(folder), "no CT/ series folder in this session folder")
    return read_nm_image(nm_files[0]), read_ct_series(folder / "CT")


def _dicom_regions(folder: Path, spect: Volume) -> tuple[Volume, dict[int, str]]:
    """Label map from the first session's SEG.dcm or RTSTRUCT.dcm, on the SPECT grid."""
    from radiotrial.imaging import read_rtstruct, read_seg, resample

    seg, rts = folder / "SEG.dcm", folder / "RTSTRUCT.dcm"
    if seg.is_file():
        labels, names = read_seg(seg, reference=folder / "CT")
    elif rts.is_file():
        labels, names = read_rtstruct(rts, reference=folder / "CT")
    else:
        raise InputFileError(str(folder), "no regions: expected SEG.dcm or RTSTRUCT.dcm beside CT/")
    if not labels.same_grid(spect):
        labels = resample(labels, spect, method="nearest")
    return labels, dict(names)


def load_study(folder: str | Path) -> Study:
    """Read a patient's study folder.

    Two layouts are read:

    - a virtual patient from ``radiotrial phantom make`` (``truth.json``, ``truth/labels.nii.gz``
      and ``nifti/tXXXh_{ct,spect}.nii.gz`` or ``dicom/tXXXh/{CT/,NM.dcm}``);
    - a clinic's DICOM study: one folder per session under ``dicom/`` (or directly under
      ``folder``), each holding the reconstructed NM image (``NM*.dcm``) and its ``CT/``
      series; the regions as ``SEG.dcm`` or ``RTSTRUCT.dcm`` in the first session's folder.
      Injection time and activity come from the NM Radiopharmaceutical Information; an optional
      ``study.json`` gives ``patient_id``, ``cycle``, ``fwhm_mm`` (for partial-volume
      correction), ``blood_samples`` (``[{"time_h": 0.5, "bq_per_ml": 4.1e4}, ...]``, for the
      blood-based red marrow) and, for images in counts, ``sensitivity_cps_per_mbq`` and
      ``acquisition_s``.

    Raises
    ------
    InputFileError
        Missing or inconsistent files, naming the file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(str(root), "not a folder")
    truth_path = root / "truth.json"
    if truth_path.is_file() and (root / "truth" / "labels.nii.gz").is_file():
        return _load_virtual(root, truth_path)
    return _load_dicom(root)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(str(path), f"not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputFileError(str(path), "must hold a JSON object")
    return data


def _load_dicom(root: Path) -> Study:
    base = root / "dicom" if (root / "dicom").is_dir() else root
    folders = sorted(p for p in base.iterdir() if p.is_dir() and (p / "CT").is_dir())
    if not folders:
        raise InputFileError(
            str(root), "no session folders (each with an NM image and a CT/ series)"
        )
    meta = _read_json(root / "study.json") if (root / "study.json").is_file() else {}
    found: list[tuple[Session, Path]] = []
    rp = None
    for f in folders:
        nm, ct = _dicom_session(f)
        rp = rp or nm.radiopharmaceutical
        when = nm.volume.acquisition_time
        if when is None:
            raise InputFileError(str(f), "NM image without acquisition date/time (0008,002A)")
        time_h = (when - rp.injection_time).total_seconds() / 3600.0
        found.append((Session(time_h, nm.volume, ct), f))
    found.sort(key=lambda item: item[0].time_h)
    assert rp is not None
    sessions = [session for session, _ in found]
    labels, names = _dicom_regions(found[0][1], sessions[0].spect)
    counts = any(s.spect.units == "counts" for s in sessions)
    try:
        sensitivity = float(meta.get("sensitivity_cps_per_mbq", 1.0 if not counts else "nan"))
        duration = float(meta.get("acquisition_s", 1.0 if not counts else "nan"))
        fwhm = float(meta.get("fwhm_mm", 0.0))
    except (TypeError, ValueError):
        raise InputFileError(
            str(root / "study.json"), "calibration values must be numbers"
        ) from None
    try:
        blood = tuple(
            (float(b["time_h"]), float(b["bq_per_ml"])) for b in meta.get("blood_samples", [])
        )
    except (KeyError, TypeError, ValueError):
        raise InputFileError(
            str(root / "study.json"),
            'blood_samples must be a list of {"time_h": number, "bq_per_ml": number}',
        ) from None
    if counts and not (sensitivity > 0 and duration > 0):
        raise InputFileError(
            str(root / "study.json"),
            "images are in counts: give sensitivity_cps_per_mbq and acquisition_s",
        )
    return Study(
        patient_id=str(meta.get("patient_id", root.name)),
        administered=Activity(rp.injected_activity_bq, rp.injection_time, rp.nuclide),
        sessions=tuple(sessions),
        labels=labels,
        regions=_regions_from_names(names),
        sensitivity_cps_per_mbq=sensitivity,
        acquisition_s=duration,
        fwhm_mm=fwhm,
        cycle=int(meta.get("cycle", 1)),
        label_names=names,
        # SEG/RTSTRUCT are delineated on the CT: its voxel sets the boundary uncertainty
        delineation_spacing_mm=float(np.mean(sessions[0].ct.spacing_mm)),
        blood_samples=blood,
    )


def _load_virtual(root: Path, meta_path: Path) -> Study:
    from radiotrial.imaging import read_ct_series, read_nifti, read_nm_image

    meta = _read_json(meta_path)
    try:
        nuclide = meta["nuclide"]
        injected = Activity.from_value(
            float(meta["administered_activity_mbq"]),
            "MBq",
            datetime.fromisoformat(meta["injection_time"]),
            nuclide,
        )
        acq = meta["acquisition"]
        sessions_meta: Sequence[dict[str, Any]] = meta["time_points"]
    except (KeyError, ValueError, TypeError) as exc:
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
            spect = read_nm_image(root / "dicom" / stem / "NM.dcm").volume
            ct = read_ct_series(root / "dicom" / stem / "CT")
        else:
            raise InputFileError(str(root), f"no SPECT image for session {stem} (nifti/ or dicom/)")
        sessions.append(Session(t, spect, ct))
    labels, _ = read_nifti(root / "truth" / "labels.nii.gz")
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
        truth=meta,
        truth_tia=read_nifti(tia_path)[0] if tia_path.is_file() else None,
        label_names={int(k): v["name"] for k, v in meta.get("labels", {}).items()},
    )
