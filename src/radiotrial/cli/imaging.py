"""``radiotrial imaging``: look inside image folders (DICOM series, NIfTI volumes)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json

__all__ = ["imaging_app"]

imaging_app = typer.Typer(
    help="Quantitative imaging: inspect DICOM and NIfTI data.", no_args_is_help=True
)


@imaging_app.command("inspect")
def inspect(
    path: Path = typer.Argument(..., help="A folder (searched recursively) or one file."),
    as_json: bool = json_option,
) -> None:
    """List the series found with geometry, times, units and any problems.

    Every DICOM series is grouped by SeriesInstanceUID and checked as a reader would check it
    (missing or duplicated slices, inconsistent geometry, missing injection data, unknown
    units); problems are reported per series instead of stopping at the first.
    """
    from radiotrial.imaging import inspect_path

    report = inspect_path(path)
    if as_json:
        print_json(report)
        return
    table = Table(title=f"Series in {report['path']}")
    for col in ("modality", "files", "shape (Z,Y,X)", "spacing mm (z,y,x)", "units", "time"):
        table.add_column(col)
    for s in report["series"]:
        g = s.get("geometry") or {}
        table.add_row(
            s["modality"],
            str(s["files"]),
            str(g.get("shape_zyx", "")),
            ", ".join(f"{v:.3g}" for v in g.get("spacing_mm_zyx", [])),
            str(s.get("units") or ""),
            str(s.get("acquisition_time") or ""),
        )
    for n in report["nifti"]:
        g = n.get("geometry") or {}
        table.add_row(
            "NIfTI",
            "1",
            str(g.get("shape_zyx", "")),
            ", ".join(f"{v:.3g}" for v in g.get("spacing_mm_zyx", [])),
            str(n.get("units") or ""),
            str(g.get("acquisition_time") or ""),
        )
    console.print(table)
    for s in report["series"]:
        if "radiopharmaceutical" in s:
            rp = s["radiopharmaceutical"]
            console.print(
                f"NM {s['series_instance_uid']}: {rp['name']} ({rp['nuclide']}), "
                f"{rp['injected_activity_mbq']:.1f} MBq at {rp['injection_time']}, "
                f"imaged {rp['time_since_injection_h']:.1f} h after injection"
            )
        if "dose" in s:
            d = s["dose"]
            console.print(
                f"RTDOSE {s['series_instance_uid']}: {d['dose_type']} dose "
                f"({d['dose_summation_type']}), max {d['max_gy']:.3g} Gy, "
                f"mean {d['mean_gy']:.3g} Gy"
            )
    problems = report["problems"] + [
        p for s in report["series"] + report["nifti"] for p in s["problems"]
    ]
    for p in problems:
        console.print(f"[red]problem:[/] {p}", highlight=False)
    if not problems:
        console.print("[green]no problems found[/]")
