"""``radiotrial phantom``: generate virtual patients with known ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.errors import ValidationError

__all__ = ["kinetics_check", "phantom_app"]

phantom_app = typer.Typer(
    help="Virtual patients (anatomy, 177Lu-NeoB kinetics, serial SPECT/CT) with ground truth.",
    no_args_is_help=True,
)


def _times(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValidationError(
            "--times", text, "expected hours separated by commas, e.g. 4,24,48,168"
        ) from None


@phantom_app.command("make")
def make(
    out: Path = typer.Option(
        ..., "--out", help="Folder to create (must not exist unless --overwrite)."
    ),
    seed: int = typer.Option(0, "--seed", help="One seed, one patient: reproduces it exactly."),
    sex: str = typer.Option(
        "female", "--sex", help="female (default, the trial's population) or male."
    ),
    tumours: str = typer.Option(
        "liver:20,bone:5,breast:10",
        "--tumours",
        help="Lesions SITE:mL[,...]; sites liver, bone, lymph_node (node), breast, lung; "
        "SITE:NxmL for N lesions; '' for none.",
    ),
    image_format: str = typer.Option("nifti", "--format", help="Image format: nifti or dicom."),
    activity_gbq: float = typer.Option(7.4, "--activity-gbq", help="Injected activity, GBq."),
    times: str | None = typer.Option(
        None, "--times", help="Imaging times, h (default 4,24,48,168)."
    ),
    voxel_mm: float = typer.Option(4.8, "--voxel-mm", help="Isotropic voxel size, mm."),
    ct_voxel_mm: float | None = typer.Option(
        None,
        "--ct-voxel-mm",
        help="A finer CT grid, mm (the SPECT voxel divided by a whole number, e.g. 2.4 or "
        "1.2 for 4.8); same physical extent as the SPECT. Default: the SPECT grid.",
    ),
    motion: str = typer.Option(
        "none", "--motion", help="Motion between sessions: none, rigid, nonrigid."
    ),
    height_cm: float | None = typer.Option(
        None, "--height-cm", help="Height (default ICRP reference)."
    ),
    weight_kg: float | None = typer.Option(
        None, "--weight-kg", help="Weight (default ICRP reference)."
    ),
    organ_size_cv: float = typer.Option(
        0.0, "--organ-size-cv", help="CV of organ masses (0: ICRP)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
    seg: bool = typer.Option(
        True, "--seg/--no-seg", help="With --format dicom, also write true regions as DICOM SEG."
    ),
    as_json: bool = json_option,
) -> None:
    """Generate one virtual patient and write its images and complete ground truth.

    Images (CT in HU, SPECT in Bq/mL per session) go to OUT/nifti or OUT/dicom; ground truth
    (labels, density, true activity per session, TIA per voxel, truth.json with TIA per region,
    kinetics and motion) to OUT/truth. The folder appears only once complete.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from radiotrial.phantom import make_patient, write_patient

    if sex not in ("female", "male"):
        raise ValidationError("--sex", sex, "use female or male")
    if image_format not in ("nifti", "dicom"):
        raise ValidationError("--format", image_format, "use nifti or dicom")
    time_list = _times(times)
    n_times = len(time_list) if time_list is not None else 4
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("virtual patient", total=2 + 2 * n_times + 1)

        def step(msg: str) -> None:
            bar.update(task, advance=1, description=msg)

        patient = make_patient(
            seed,
            sex=sex,  # type: ignore[arg-type]
            height_cm=height_cm,
            weight_kg=weight_kg,
            tumours=tumours,
            activity_gbq=activity_gbq,
            time_points_h=time_list,
            spacing_mm=voxel_mm,
            ct_spacing_mm=ct_voxel_mm,
            motion=motion,
            organ_size_cv=organ_size_cv,
            progress=step,
        )
        fmt: Any = image_format  # checked above: "nifti" or "dicom"
        write_patient(
            patient, out, image_format=fmt, overwrite=overwrite, segmentation=seg, progress=step
        )
    summary = _summary(patient, out)
    if as_json:
        print_json(summary)
        return
    console.print(
        f"[bold]virtual patient[/] seed {seed}, {patient.anatomy.size.sex}, "
        f"{patient.administered.gbq:g} GBq {patient.administered.nuclide} → {out}"
    )
    table = Table(title="Ground truth per region (in the imaged field)")
    for col in (
        "region",
        "TIA (MBq·h)",
        *[f"A({t['time_h']:g} h) MBq" for t in summary["time_points"]],
    ):
        table.add_column(col, justify="right")
    for name, reg in summary["regions"].items():
        table.add_row(
            name,
            f"{reg['tia_in_field_mbq_h']:.4g}",
            *[f"{a:.4g}" for a in reg["activity_in_field_mbq"]],
        )
    console.print(table)


def _summary(patient: Any, out: Path) -> dict[str, Any]:
    truth = patient.truth()
    return {
        "out": str(out),
        "seed": patient.seed,
        "sex": patient.anatomy.size.sex,
        "administered_activity_mbq": patient.administered.mbq,
        "injection_time": patient.injection_time.isoformat(),
        "grid_shape_zyx": list(patient.anatomy.labels.shape),
        "spacing_mm_zyx": list(patient.anatomy.labels.spacing_mm),
        "ct_grid_shape_zyx": list(patient.time_points[0].ct.shape),
        "ct_spacing_mm_zyx": list(patient.time_points[0].ct.spacing_mm),
        "time_points": truth["time_points"],
        "regions": {
            name: {
                "tia_in_field_mbq_h": reg["tia_in_field_bq_s"] / 3.6e9,
                "activity_in_field_mbq": [a / 1e6 for a in reg["activity_in_field_bq"].values()],
            }
            for name, reg in truth["regions"].items()
        },
    }


def kinetics_check() -> list[dict[str, Any]]:
    """Nominal TIAs and self-dose estimates of the default kinetics against NeoRay."""
    from radiotrial.phantom import default_kinetics, organ_self_dose_gy
    from radiotrial.phantom._data import load_data

    masses = load_data("anatomy.yaml")["masses_g"]
    targets = load_data("kinetics_lu177_neob.yaml")["neoray_dose_coefficients_gy_per_gbq"]
    from radiotrial.nuclides import get_nuclide

    lam_h = get_nuclide("Lu-177").decay_constant_per_s * 3600.0
    rows = []
    for name, k in default_kinetics().items():
        tia_h = k.tia_h(lam_h)
        row: dict[str, Any] = {"region": name, "tia_h": tia_h}
        if name in masses:
            for sex in ("female", "male"):
                row[f"self_dose_gy_per_gbq_{sex}"] = organ_self_dose_gy(
                    tia_h * 3600.0 * 1e9, float(masses[name][sex])
                )
        if name in targets:
            row["neoray_gy_per_gbq"] = float(targets[name]["value"])
        rows.append(row)
    return rows


@phantom_app.command("kinetics")
def kinetics(as_json: bool = json_option) -> None:
    """Show the default 177Lu-NeoB kinetics: TIA per region and a self-dose check vs NeoRay.

    Self-dose: electrons deposited locally plus a spherical self-absorbed photon fraction,
    ICRP-89 reference masses; NeoRay cycle-1 means for comparison (PMID 41344852).
    """
    rows = kinetics_check()
    if as_json:
        print_json(rows)
        return
    table = Table(title="Default 177Lu-NeoB kinetics (assumptions; see kinetics_lu177_neob.yaml)")
    for col in (
        "region",
        "TIA (h)",
        "self-dose F (Gy/GBq)",
        "self-dose M (Gy/GBq)",
        "NeoRay (Gy/GBq)",
    ):
        table.add_column(col, justify="right")

    def fmt(v: Any) -> str:
        return "" if v is None else f"{v:.3g}"

    for r in rows:
        table.add_row(
            r["region"],
            fmt(r["tia_h"]),
            fmt(r.get("self_dose_gy_per_gbq_female")),
            fmt(r.get("self_dose_gy_per_gbq_male")),
            fmt(r.get("neoray_gy_per_gbq")),
        )
    console.print(table)
