"""What is in a folder of images: series, geometry, times, units and problems, as plain data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radiotrial.errors import InputFileError, RadiotrialError
from radiotrial.imaging._series import DicomSeries, find_series

__all__ = ["inspect_path"]


def _describe_series(series: DicomSeries) -> dict[str, Any]:
    from radiotrial.imaging._ct import stack_geometry
    from radiotrial.imaging._nm import read_nm_image

    info: dict[str, Any] = {
        "series_instance_uid": series.series_instance_uid,
        "modality": series.modality,
        "description": series.series_description,
        "patient_id": series.patient_id,
        "study_instance_uid": series.study_instance_uid,
        "frame_of_reference_uid": series.frame_of_reference_uid,
        "files": len(series.files),
        "first_file": str(series.files[0]),
        "problems": [],
    }
    try:
        if series.modality == "NM":
            nm = read_nm_image(series)
            rp = nm.radiopharmaceutical
            info["geometry"] = nm.volume.geometry()
            info["units"] = nm.volume.units
            info["acquisition_time"] = info["geometry"]["acquisition_time"]
            info["radiopharmaceutical"] = {
                "nuclide": rp.nuclide,
                "name": rp.name,
                "injected_activity_mbq": rp.injected_activity_bq / 1e6,
                "injection_time": rp.injection_time.isoformat(),
                "time_since_injection_h": nm.time_since_injection_h,
            }
            info["total_activity_mbq"] = (
                nm.volume.total() / 1e6 if nm.volume.units == "Bq/mL" else None
            )
        elif series.modality == "RTDOSE":
            from radiotrial.imaging._rtdose import read_rtdose, read_rtdose_info

            if len(series.files) != 1:
                info["problems"].append(
                    f"RTDOSE series has {len(series.files)} files; each is read on its own"
                )
            dose = read_rtdose(series.files[0])
            dinfo = read_rtdose_info(series.files[0])
            info["geometry"] = dose.geometry()
            info["units"] = "Gy"
            info["acquisition_time"] = info["geometry"]["acquisition_time"]
            info["dose"] = {
                "dose_type": dinfo.dose_type,
                "dose_summation_type": dinfo.dose_summation_type,
                "comment": dinfo.comment,
                "max_gy": float(dose.array.max()),
                "mean_gy": float(dose.array.mean()),
            }
        elif series.modality in ("SEG", "RTSTRUCT"):
            info["units"] = "label"
        else:
            grid, _ = stack_geometry(series)
            info["geometry"] = grid.geometry()
            info["units"] = "HU" if series.modality == "CT" else None
            info["acquisition_time"] = info["geometry"]["acquisition_time"]
    except RadiotrialError as exc:
        info["problems"].append(str(exc))
    return info


def inspect_path(path: Path | str) -> dict[str, Any]:
    """Summarise DICOM series and NIfTI volumes under ``path`` without raising on bad files.

    Returns
    -------
    dict
        ``{"path", "series": [...], "nifti": [...], "problems": [...]}``; each series has its
        modality, UIDs, file count, geometry, units, times and its own problems.
    """
    root = Path(path)
    if not root.exists():
        raise InputFileError(str(root), "no such file or folder")
    out: dict[str, Any] = {"path": str(root), "series": [], "nifti": [], "problems": []}
    try:
        series, problems = find_series(root, strict=False)
    except InputFileError as exc:
        series, problems = [], [exc]
    out["problems"] = [str(p) for p in problems]
    out["series"] = [_describe_series(s) for s in series]
    candidates = [root] if root.is_file() else sorted(root.rglob("*.nii*"))
    for p in candidates:
        if not p.name.endswith((".nii", ".nii.gz")):
            continue
        from radiotrial.imaging._nifti import read_nifti

        entry: dict[str, Any] = {"file": str(p), "problems": []}
        try:
            vol, meta = read_nifti(p)
            entry["geometry"] = vol.geometry()
            entry["units"] = vol.units
            entry["metadata"] = meta
        except RadiotrialError as exc:
            entry["problems"].append(str(exc))
        out["nifti"].append(entry)
    if not out["series"] and not out["nifti"] and not out["problems"]:
        out["problems"].append(f"{root}: no DICOM series or NIfTI volumes found")
    return out
