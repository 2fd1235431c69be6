"""Writing a virtual patient to disk: images (NIfTI or DICOM) and ground truth, atomically."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from radiotrial.atomic import atomic_output_dir
from radiotrial.errors import ValidationError
from radiotrial.imaging import Volume

if TYPE_CHECKING:
    from radiotrial.phantom._patient import VirtualPatient

__all__ = ["ImageFormat", "labels_on_ct_grid", "session_name", "write_patient"]

ImageFormat = Literal["nifti", "dicom"]


def session_name(time_h: float) -> str:
    """Folder/file stem of a session, e.g. ``t024h`` for 24 h (``t004.5h`` for 4.5 h)."""
    whole = float(time_h).is_integer()
    return f"t{int(time_h):03d}h" if whole else f"t{time_h:05.1f}h"


def labels_on_ct_grid(labels: Volume, ct: Volume) -> Volume:
    """The label map on the CT grid: itself, or on a nested finer CT grid each SPECT voxel's
    label repeated over its k³ CT voxels (exact: the truth is constant within a SPECT voxel)."""
    if labels.same_grid(ct):
        return labels
    k = [round(a / b) for a, b in zip(labels.spacing_mm, ct.spacing_mm, strict=True)]
    arr = np.asarray(labels.array)
    up = arr.repeat(k[0], axis=0).repeat(k[1], axis=1).repeat(k[2], axis=2)
    # nested grids share the extent: the outer corners of voxel [0, 0, 0] coincide
    corner = np.asarray(labels.origin_mm) - 0.5 * np.asarray(labels.spacing_xyz_mm)
    ct_corner = np.asarray(ct.origin_mm) - 0.5 * np.asarray(ct.spacing_xyz_mm)
    if up.shape != ct.shape or not np.allclose(corner, ct_corner, atol=1e-3):
        raise ValidationError("ct", ct.shape, "the CT grid does not nest in the label grid")
    return ct.with_array(up, units="label")


def _meta(patient: VirtualPatient) -> dict[str, Any]:
    return {
        "nuclide": patient.administered.nuclide,
        "injected_activity_bq": patient.administered.bq,
        "injection_time": patient.injection_time.isoformat(),
        "seed": patient.seed,
        "generator": "radiotrial.phantom",
    }


def _nifti(vol: Volume, path: Path, meta: dict[str, Any]) -> None:
    from radiotrial.imaging import write_nifti

    write_nifti(vol, path, metadata=meta)


def write_patient(
    patient: VirtualPatient,
    out: Path | str,
    *,
    image_format: ImageFormat = "nifti",
    overwrite: bool = False,
    segmentation: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a virtual patient's images and complete ground truth into a new folder.

    Layout::

        OUT/truth.json                      regions, masses, kinetics, TIAs, sessions, motion
        OUT/preview.png                     coronal CT, SPECT MIPs, true TACs
        OUT/truth/labels.nii.gz             reference label map (+ density, tia_voxel in Bq·s)
        OUT/truth/<tXXXh>_activity.nii.gz   true activity per voxel (Bq) of each session
        OUT/truth/<tXXXh>_labels.nii.gz     true labels in each session's frame
        OUT/truth/<tXXXh>_displacement.npy  non-rigid field (Z, Y, X, 3) LPS mm, when present
        OUT/nifti/<tXXXh>_{ct,spect}.nii.gz          (image_format="nifti")
        OUT/dicom/<tXXXh>/{CT/, NM.dcm, SEG.dcm, RTSTRUCT.dcm}  (image_format="dicom")

    Every NIfTI has a JSON sidecar (units, acquisition time, injection). The folder appears
    only when complete (written to a temporary sibling, then renamed).

    Parameters
    ----------
    patient : VirtualPatient
    out : path
        Folder to create.
    image_format : {"nifti", "dicom"}, default "nifti"
        Format of the CT and SPECT images (ground truth is always NIfTI + JSON).
    overwrite : bool, default False
        Replace an existing folder (atomically).
    segmentation : bool, default True
        With ``image_format="dicom"``, also write each session's true labels as DICOM SEG and
        as an RT Structure Set on the session's CT (the slowest part of a DICOM export). On a
        finer CT grid each SPECT voxel's label fills its CT voxels.
    progress : callable, optional
        Called with a short description after each file group.

    Returns
    -------
    Path
        ``out``.
    """
    if image_format not in ("nifti", "dicom"):
        raise ValidationError("format", image_format, "use 'nifti' or 'dicom'")
    say = progress or (lambda _msg: None)
    target = Path(out)
    meta = _meta(patient)
    with atomic_output_dir(target, overwrite=overwrite) as tmp:
        truth_dir = tmp / "truth"
        truth_dir.mkdir()
        anat = patient.anatomy
        _nifti(anat.labels, truth_dir / "labels.nii.gz", meta)
        _nifti(anat.density, truth_dir / "density.nii.gz", meta)
        _nifti(patient.tia_voxel, truth_dir / "tia_voxel.nii.gz", meta)
        for tp in patient.time_points:
            stem = session_name(tp.time_h)
            _nifti(
                tp.true_activity,
                truth_dir / f"{stem}_activity.nii.gz",
                meta | {"time_h": tp.time_h},
            )
            _nifti(tp.labels, truth_dir / f"{stem}_labels.nii.gz", meta | {"time_h": tp.time_h})
            if tp.motion is not None and tp.motion.displacement_mm is not None:
                np.save(
                    truth_dir / f"{stem}_displacement.npy",
                    tp.motion.displacement_mm.astype(np.float32),
                )
        say("ground truth")
        if image_format == "nifti":
            img_dir = tmp / "nifti"
            img_dir.mkdir()
            for tp in patient.time_points:
                stem = session_name(tp.time_h)
                m = meta | {"time_h": tp.time_h}
                _nifti(tp.ct, img_dir / f"{stem}_ct.nii.gz", m)
                _nifti(tp.spect, img_dir / f"{stem}_spect.nii.gz", m)
                say(f"images {tp.time_h:g} h")
        else:
            _write_dicom(patient, tmp / "dicom", say, segmentation=segmentation)
        from radiotrial.phantom._preview import plot_patient

        plot_patient(patient, tmp / "preview.png")
        doc = patient.truth() | {"image_format": image_format}
        (tmp / "truth.json").write_text(
            json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8"
        )
    return target


def _write_dicom(
    patient: VirtualPatient, root: Path, say: Callable[[str], None], *, segmentation: bool
) -> None:
    from radiotrial.imaging import (
        DicomStudy,
        EnergyWindow,
        NMImage,
        Radiopharmaceutical,
        TomoRotation,
        new_uid,
        write_ct_series,
        write_nm_image,
        write_rtstruct,
        write_seg,
    )
    from radiotrial.phantom._data import load_data, value_of

    spect_cfg = load_data("spect.yaml")
    peak = float(value_of(spect_cfg["photopeak_kev"]))
    seed = patient.seed
    study = DicomStudy(
        patient_id=f"VP-{seed if seed is not None else 'random'}",
        patient_sex="F" if patient.anatomy.size.sex == "female" else "M",
        study_datetime=patient.injection_time,
        study_description="radiotrial virtual patient: serial 177Lu SPECT/CT",
    )
    rp = Radiopharmaceutical(
        patient.administered.nuclide, patient.administered.bq, patient.injection_time
    )
    names = {r.label: r.name for r in patient.anatomy.regions}
    root.mkdir()
    for i, tp in enumerate(patient.time_points):
        folder = root / session_name(tp.time_h)
        folder.mkdir()
        frame = new_uid()
        ct_dir = write_ct_series(
            tp.ct,
            folder / "CT",
            study=study,
            frame_of_reference_uid=frame,
            series_number=100 * (i + 1) + 1,
            series_description=f"CT {tp.time_h:g} h p.i.",
        )
        image = NMImage(
            tp.spect,
            rp,
            energy_windows=(EnergyWindow(peak * 0.9, peak * 1.1),),
            rotation=TomoRotation(
                projections=int(value_of(spect_cfg["projections"])),
                frame_duration_s=float(value_of(spect_cfg["seconds_per_projection"])),
            ),
            collimator_type="PARA",
        )
        write_nm_image(
            image,
            folder / "NM.dcm",
            study=study,
            frame_of_reference_uid=frame,
            series_number=100 * (i + 1) + 2,
            series_description=f"SPECT {tp.time_h:g} h p.i. (Bq/mL)",
        )
        present = {int(v) for v in np.unique(tp.labels.array)} - {0}
        if segmentation:
            on_ct = labels_on_ct_grid(tp.labels, tp.ct)
            named = {k: names[k] for k in present}
            write_seg(
                on_ct,
                named,
                folder / "SEG.dcm",
                reference=ct_dir,
                series_number=100 * (i + 1) + 3,
                series_description=f"true regions {tp.time_h:g} h",
            )
            write_rtstruct(
                on_ct,
                named,
                folder / "RTSTRUCT.dcm",
                reference=ct_dir,
                study=study,
                series_number=100 * (i + 1) + 4,
                label=f"true regions {tp.time_h:g} h",
            )
        say(f"images {tp.time_h:g} h")
