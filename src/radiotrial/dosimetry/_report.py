"""Writing a dosimetry result: tables (CSV, JSON), dose maps (NIfTI, DICOM RT Dose), DVHs, plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from radiotrial.atomic import atomic_output_dir
from radiotrial.dosimetry._absorbed import dvh
from radiotrial.dosimetry._workflow import DosimetryResult
from radiotrial.imaging import Volume

__all__ = ["write_report"]

_COLUMNS = (
    "region",
    "kind",
    "mass_g",
    "volume_ml",
    "tia_mbq_h",
    "tia_sd_mbq_h",
    "dose_gy",
    "dose_sd_gy",
    "dose_per_gbq_gy",
    "dose_organ_level_gy",
    "dose_organ_level_sd_gy",
    "bed_gy",
    "bed_sd_gy",
    "eqd2_gy",
    "eqd2_sd_gy",
    "eud_gy",
    "eubed_gy",
    "tac_model",
    "effective_half_life_h",
    "tia_before_first_scan_fraction",
    "warnings",
)


def _plots(result: DosimetryResult, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from radiotrial.kinetics._plot import plot_tac_fit

    folder.mkdir()
    written: list[str] = []
    for name, kin in result.kinetics.items():
        if kin.region.kind == "remainder":
            continue
        path = folder / f"tac_{name}.png"
        plot_tac_fit(
            kin.fit, path, title=f"{name}: {kin.fit.model}, TIA {kin.fit.tia_mbq_h:.4g} MBq·h"
        )
        written.append(path.name)
    # dose map over CT: the coronal slice through the kidneys (or the image centre)
    dose = np.asarray(result.dose_map.array)
    ct = np.asarray(result.study.sessions[0].ct.array)
    lab = np.asarray(result.study.labels.array)
    kidney = next((r for r in result.study.regions if r.name == "kidneys"), None)
    y = int(np.median(np.nonzero(np.isin(lab, kidney.labels))[1])) if kidney else dose.shape[1] // 2
    sz, _, sx = result.dose_map.spacing_mm
    fig, ax = plt.subplots(figsize=(6, 7))
    ax.imshow(ct[::-1, y, :], cmap="gray", vmin=-300, vmax=400, aspect=sz / sx)
    masked = np.ma.masked_less(dose[::-1, y, :], 0.02 * float(dose.max()))
    im = ax.imshow(masked, cmap="inferno", alpha=0.6, aspect=sz / sx)
    fig.colorbar(im, ax=ax, label="absorbed dose (Gy)")
    ax.set_title(f"Dose ({result.engine}) over CT, coronal slice {y}")
    ax.set_axis_off()
    fig.savefig(folder / "dose_overlay.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append("dose_overlay.png")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for region in result.study.regions:
        if region.kind in ("remainder", "bone"):
            continue
        levels, frac = dvh(dose, np.isin(lab, region.labels))
        ax.plot(levels, frac * 100, label=region.name)
    ax.set_xlabel("absorbed dose (Gy)")
    ax.set_ylabel("volume (%)")
    ax.set_title("Cumulative dose-volume histograms")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.savefig(folder / "dvh.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    written.append("dvh.png")
    return written


def _dvh_csv(result: DosimetryResult, path: Path) -> None:
    dose = np.asarray(result.dose_map.array)
    lab = np.asarray(result.study.labels.array)
    top = float(dose.max())
    columns: dict[str, np.ndarray[Any, Any]] = {}
    levels = np.linspace(0.0, top if top > 0 else 1.0, 200)
    for region in result.study.regions:
        _, frac = dvh(dose, np.isin(lab, region.labels), max_gy=top)
        columns[region.name] = frac
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["dose_gy", *(f"{n}_volume_fraction" for n in columns)])
        for i, level in enumerate(levels):
            writer.writerow([f"{level:.6g}", *(f"{c[i]:.6g}" for c in columns.values())])


def _ct_on_dose_grid(result: DosimetryResult) -> Volume:
    """The reference session's CT on the dose grid (for dose-over-CT views)."""
    from radiotrial.imaging import resample

    ct = result.study.sessions[0].ct
    return ct if ct.same_grid(result.dose_map) else resample(ct, result.dose_map, method="linear")


def write_report(
    result: DosimetryResult, out: str | Path, *, overwrite: bool = False, plots: bool = True
) -> Path:
    """Write every output of a dosimetry run into a new folder, atomically.

    Layout: ``regions.csv``, ``results.json``, ``dvh.csv``, ``dose.nii.gz``, ``tia.nii.gz``,
    ``bed.nii.gz`` (voxel BED, regions with radiobiology parameters), ``ct.nii.gz`` (the
    reference CT on the dose grid),
    ``rtdose.dcm`` (when the DICOM RT Dose writer is available) and ``plots/*.png``. The folder
    appears only when complete.
    """
    from radiotrial.imaging import DicomStudy, write_nifti, write_rtdose

    target = Path(out)
    with atomic_output_dir(target, overwrite=overwrite) as tmp:
        rows = [
            r.as_dict()
            | {
                "dose_organ_level_gy": result.organ_level.get(r.name, {}).get("dose_gy"),
                "dose_organ_level_sd_gy": result.organ_level.get(r.name, {}).get("dose_sd_gy"),
                "warnings": " | ".join(r.warnings),
            }
            for r in result.regions
        ]
        with (tmp / "regions.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        doc = result.as_dict()
        write_nifti(result.dose_map, tmp / "dose.nii.gz")
        write_nifti(result.voxels.tia, tmp / "tia.nii.gz")
        write_nifti(result.bed_map, tmp / "bed.nii.gz")
        write_nifti(_ct_on_dose_grid(result), tmp / "ct.nii.gz")
        doc["files"] = [
            "regions.csv",
            "results.json",
            "dvh.csv",
            "dose.nii.gz",
            "tia.nii.gz",
            "bed.nii.gz",
            "ct.nii.gz",
        ]
        write_rtdose(
            result.dose_map.with_time(result.study.injection_time),
            tmp / "rtdose.dcm",
            study=DicomStudy(
                patient_id=result.study.patient_id, study_description="radiotrial dosimetry"
            ),
            administration_id=f"{result.study.patient_id}-C{result.study.cycle}",
            comment=f"cycle {result.study.cycle}, {result.engine} engine, radiotrial",
        )
        doc["files"].append("rtdose.dcm")
        _dvh_csv(result, tmp / "dvh.csv")
        if plots:
            doc["files"] += [f"plots/{p}" for p in _plots(result, tmp / "plots")]
        (tmp / "results.json").write_text(
            json.dumps(doc, indent=2, ensure_ascii=False, default=float), encoding="utf-8"
        )
    return target
