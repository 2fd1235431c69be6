"""``radiotrial dose run`` and ``radiotrial dose plan``: patient dosimetry and cycle planning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from radiotrial.cli._output import console, err_console, json_option, print_json
from radiotrial.dosimetry._workflow import Engine
from radiotrial.errors import InputFileError, ValidationError

__all__ = ["dose_plan", "dose_run", "load_history"]

_STAGES = ("quantify", "region fits", "voxel TIA", "dose")
ENGINES: dict[str, Engine] = {"led": "led", "kernel": "kernel", "mc": "mc"}


def dose_run(
    patient_dir: Path | None = typer.Argument(
        None,
        help="Patient folder (`radiotrial phantom make`, NIfTI or DICOM); omit with --virtual.",
    ),
    out: Path = typer.Option(
        ..., "--out", help="New folder for tables, dose maps, DVHs and plots."
    ),
    engine: str = typer.Option("kernel", help="Dose engine: led, kernel or mc."),
    protocol: Path | None = typer.Option(
        None, help="Protocol YAML for limits and the next-cycle plan (default: bundled)."
    ),
    virtual: bool = typer.Option(
        False, "--virtual", help="Generate a virtual patient in memory instead."
    ),
    seed: int = typer.Option(1, help="Seed of the virtual patient (with --virtual)."),
    s_values: Path | None = typer.Option(
        None,
        "--s-values",
        help="Your own S-value table (CSV: target, source, s_value, unit[, target_mass_g]) for "
        "the organ-level MIRD doses (default: radiotrial's mass-scaled reference phantom).",
    ),
    pvc: bool = typer.Option(True, "--pvc/--no-pvc", help="Partial-volume correction (GTM)."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG plots."),
    overwrite: bool = typer.Option(False, help="Replace an existing output folder."),
    as_json: bool = json_option,
) -> None:
    """Run one cycle's dosimetry: calibration, registration, TIA, dose, BED, uncertainty, plan."""
    from radiotrial.dosimetry import (
        load_s_table_csv,
        load_study,
        run_dosimetry,
        study_from_virtual_patient,
        write_report,
    )
    from radiotrial.protocol import bundled_protocol, load_protocol

    if engine not in ENGINES:
        raise ValidationError("--engine", engine, "use one of led, kernel, mc")
    chosen: Engine = ENGINES[engine]
    if (patient_dir is None) == (not virtual):
        raise ValidationError(
            "PATIENT_DIR", patient_dir, "give a patient folder or --virtual (not both)"
        )
    proto = bundled_protocol() if protocol is None else load_protocol(protocol)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as bar:
        task = bar.add_task("reading the study", total=len(_STAGES) + 2)
        if virtual:
            from radiotrial.phantom import make_patient

            study = study_from_virtual_patient(make_patient(seed=seed))
        else:
            assert patient_dir is not None
            study = load_study(patient_dir)
        bar.update(task, advance=1, description="quantifying")

        def step(name: str) -> None:
            bar.update(task, advance=1, description=f"{name} done")

        table_s = None if s_values is None else load_s_table_csv(s_values, nuclide=study.nuclide)
        result = run_dosimetry(
            study, engine=chosen, pvc=pvc, protocol=proto, s_table=table_s, progress=step
        )
        bar.update(task, description="writing outputs")
        write_report(result, out, overwrite=overwrite, plots=plots)
        bar.update(task, advance=1)
    doc = result.as_dict() | {"out": str(out)}
    if as_json:
        print_json(doc)
        return
    table = Table(
        title=(
            f"Patient {study.patient_id}, cycle {study.cycle}: "
            f"{study.administered.gbq:.3g} GBq {study.nuclide}, {engine} engine"
        )
    )
    for col in ("region", "mass (g)", "TIA (MBq·h)", "dose (Gy)", "Gy/GBq", "BED (Gy)"):
        table.add_column(col, justify="right")
    for r in result.regions:
        table.add_row(
            r.name,
            f"{r.mass_g:.4g}",
            f"{r.tia_bq_s / 3.6e9:.4g} ± {r.tia_sd_bq_s / 3.6e9:.2g}",
            f"{r.dose_gy:.3g} ± {r.dose_sd_gy:.2g}",
            f"{r.dose_per_gbq_gy:.3g}",
            "" if r.bed_gy is None else f"{r.bed_gy:.3g} ± {r.bed_sd_gy or 0.0:.2g}",
        )
    console.print(table)
    for m in result.marrow:
        console.print(
            f"red marrow ({m.method}, {m.source}): {m.dose_gy:.3g} ± {m.dose_sd_gy:.2g} Gy"
        )
    for r in result.regions:
        if r.eud_gy is not None:
            console.print(
                f"{r.name}: EUD {r.eud_gy:.3g} Gy, EUBED {r.eubed_gy:.3g} Gy "
                f"(mean dose {r.dose_gy:.3g} Gy)"
            )
    for w in result.warnings:
        err_console.print(f"warning: {w}")
    if result.plan is not None and result.plan.max_activity_gbq is not None:
        console.print(
            f"next cycle: at most {result.plan.max_activity_gbq:.3g} GBq, limited by "
            f"{result.plan.limiting_organ} ({result.plan.limiting_quantity})"
        )
    console.print(f"outputs in {out}")


def load_history(folder: Path) -> list[Any]:
    """Organ results of every cycle found under ``folder`` (``results.json`` files)."""
    from radiotrial.dosimetry import CycleDose, planning_marrow_row

    files = sorted({*folder.glob("results.json"), *folder.glob("*/results.json")})
    if not files:
        raise InputFileError(str(folder), "no results.json of `radiotrial dose run` found")
    history: list[CycleDose] = []
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
            gbq = float(doc["administered_activity_gbq"])
            cycle = int(doc["cycle"])
            for r in doc["regions"]:
                if r["region"] in ("kidneys", "pancreas", "salivary_glands", "liver"):
                    history.append(
                        CycleDose(
                            r["region"],
                            cycle,
                            gbq,
                            float(r["dose_gy"]),
                            r.get("bed_gy"),
                            r.get("bed_g_factor"),
                            r.get("alpha_beta_gy"),
                        )
                    )
            marrow = planning_marrow_row(doc)
            if marrow is not None:
                history.append(CycleDose("red_marrow", cycle, gbq, float(marrow["dose_gy"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(str(f), f"not a dosimetry result ({exc})") from None
    cycles = [h.cycle for h in history]
    if len({(h.organ, h.cycle) for h in history}) != len(history):
        raise InputFileError(str(folder), f"the same cycle appears twice in {cycles}")
    return history


def dose_plan(
    patient_dir: Path = typer.Argument(
        ..., help="Folder with one or more `dose run` outputs (results.json)."
    ),
    protocol: Path | None = typer.Option(None, help="Protocol YAML (default: bundled)."),
    kidney_risk_factors: bool = typer.Option(
        True,
        "--kidney-risk-factors/--no-kidney-risk-factors",
        help="Use the kidney BED limit for patients with risk factors (stricter).",
    ),
    as_json: bool = json_option,
) -> None:
    """Maximum next-cycle activity under the protocol's organ limits, and the limiting organ."""
    from radiotrial.dosimetry import plan_next_cycle
    from radiotrial.protocol import bundled_protocol, load_protocol

    proto = bundled_protocol() if protocol is None else load_protocol(protocol)
    plan = plan_next_cycle(
        load_history(patient_dir), proto, kidney_risk_factors=kidney_risk_factors
    )
    if as_json:
        print_json(plan.as_dict())
        return
    table = Table(title=f"Plan for cycle {plan.next_cycle} ({plan.cycles_remaining} cycles left)")
    for col in ("organ", "limit", "so far (Gy)", "Gy/GBq", "max GBq", "even split GBq"):
        table.add_column(col, justify="right")
    for o in plan.organs:
        table.add_row(
            o.organ,
            f"{o.quantity} {o.limit_gy:g} Gy",
            f"{o.cumulative_gy:.3g}",
            f"{o.dose_per_gbq_gy:.3g}",
            f"{o.max_activity_gbq:.3g}",
            f"{o.even_split_activity_gbq:.3g}",
        )
    console.print(table)
    if plan.max_activity_gbq is not None:
        console.print(
            f"maximum activity: {plan.max_activity_gbq:.3g} GBq, limited by {plan.limiting_organ}"
        )
    for note in plan.notes:
        console.print(f"note: {note}")
