"""``radiotrial demo``: the end-to-end demonstration on embedded defaults.

Validates the bundled protocol, makes a virtual patient with known ground truth, runs its
dosimetry end to end (calibration, partial-volume correction, TIA, dose, BED, red marrow,
next-cycle plan) and shows the escalation design's decision for an example trial history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from radiotrial.cli._output import console, err_console, json_option, print_json
from radiotrial.cli.nuclide import nuclide_summary
from radiotrial.cli.protocol import protocol_summary
from radiotrial.protocol import Protocol, bundled_protocol, load_protocol

__all__ = ["demo"]

#: NeoRay mean absorbed-dose coefficients after cycle 1 (Gy/GBq; REFERENCE.md, PMID 41344852)
_NEORAY_GY_PER_GBQ = {
    "kidneys": (0.10, 0.056),
    "pancreas": (0.055, 0.039),
    "red_marrow": (0.018, 0.0076),
}
_EXAMPLE_HISTORY = "1NNN 2NNN 3NTN"


def _escalation(p: Protocol) -> dict[str, Any]:
    from radiotrial.escalation import DoseLevels, parse_outcomes
    from radiotrial.services import design_for

    design = design_for(p)
    levels = DoseLevels.from_activities_gbq(p.dose_levels.activity_gbq)
    decision = design.decide(parse_outcomes(_EXAMPLE_HISTORY, levels))
    level = decision.next_level
    return {
        "design": p.escalation.design,
        "history": _EXAMPLE_HISTORY,
        "next_level": level,
        "next_activity_gbq": None if level is None else p.dose_levels.activity_gbq[level - 1],
        "reason": decision.reason,
    }


def _dosimetry(p: Protocol, out: Path, seed: int) -> dict[str, Any]:
    from radiotrial.dosimetry import run_dosimetry, study_from_virtual_patient, write_report
    from radiotrial.phantom import make_patient

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("making a virtual patient (4 SPECT/CT sessions)", total=None)
        patient = make_patient(seed=seed, time_points_h=p.imaging_schedule.timepoints_h)

        def step(name: str) -> None:
            bar.update(task, description=f"dosimetry: {name} done")

        result = run_dosimetry(study_from_virtual_patient(patient), protocol=p, progress=step)
        bar.update(task, description="writing tables, dose maps and plots")
        write_report(result, out, overwrite=True)
    doc = result.as_dict()
    doc["out"] = str(out)
    return doc


def demo(
    protocol: Path | None = typer.Option(
        None, "--protocol", help="Protocol YAML (default: the bundled [177Lu]Lu-NeoB protocol)."
    ),
    out: Path = typer.Option(
        Path("out/demo"), "--out", help="Folder for the demo's dosimetry outputs."
    ),
    seed: int = typer.Option(1, help="Seed of the virtual patient."),
    dosimetry: bool = typer.Option(
        True, "--dosimetry/--no-dosimetry", help="Run the virtual-patient dosimetry."
    ),
    as_json: bool = json_option,
) -> None:
    """Validate the protocol, run a virtual patient's dosimetry and an escalation decision."""
    p = bundled_protocol() if protocol is None else load_protocol(protocol)
    summary = protocol_summary(p)
    nuc = nuclide_summary(p.radiopharmaceutical.nuclide)
    esc = _escalation(p)
    dos = _dosimetry(p, out, seed) if dosimetry else None
    if as_json:
        print_json({"protocol": summary, "nuclide": nuc, "escalation": esc, "dosimetry": dos})
        return
    e = nuc["energy_per_decay_mev"]
    rp = summary["radiopharmaceutical"]
    gammas = [ln for ln in nuc["lines"] if ln["radiation"] == "gamma"]
    gamma_text = ", ".join(
        f"{g['energy_mev'] * 1e3:.1f} keV ({g['yield'] * 100:.1f}%)" for g in gammas
    )
    console.print(
        Panel.fit(
            f"[bold]{p.title}[/]\n"
            f"{p.site.name} — {p.site.department}\n\n"
            f"Product: {rp['name']} — {rp['ligand']}, targeting {rp['target_receptor']}\n"
            f"Nuclide: {nuc['nuclide']}, T½ {nuc['half_life_d']:.4g} d; per decay: "
            f"β {e['beta-'] * 1e3:.1f} keV, all electrons {e['electrons'] * 1e3:.1f} keV, "
            f"photons {e['photons'] * 1e3:.1f} keV\n"
            f"Imaging photons: {gamma_text}\n"
            f"Dose levels: {', '.join(f'{a:g}' for a in summary['dose_levels_gbq'])} GBq; "
            f"{summary['design'].upper()} with target DLT rate {summary['target_dlt_rate']:g}\n"
            f"Protocol valid; {summary['assumptions']} values flagged as assumptions.",
            title="radiotrial demo",
        )
    )
    nxt = (
        "stop"
        if esc["next_level"] is None
        else f"level {esc['next_level']} ({esc['next_activity_gbq']:g} GBq)"
    )
    console.print(f"[bold]Escalation[/] after cohorts {esc['history']}: {nxt} — {esc['reason']}")
    if dos is None:
        return
    table = Table(
        title=(
            f"Virtual patient {dos['patient_id']}: "
            f"{dos['administered_activity_gbq']:.3g} GBq, cycle 1"
        )
    )
    for col in ("region", "dose (Gy)", "Gy/GBq", "NeoRay Gy/GBq", "truth ratio"):
        table.add_column(col, justify="right")
    validation = dos.get("validation") or {}
    rows = {r["region"]: r for r in dos["regions"]}
    marrow = next((m for m in dos["red_marrow"] if m["method"] == "image"), None)
    for name in (
        "kidneys",
        "pancreas",
        "liver",
        "spleen",
        "salivary_glands",
        *(n for n in rows if n.startswith("tumour")),
    ):
        r = rows.get(name)
        if r is None:
            continue
        ref = _NEORAY_GY_PER_GBQ.get(name)
        ratio = (validation.get(name) or {}).get("dose_ratio")
        table.add_row(
            name,
            f"{r['dose_gy']:.3g} ± {r['dose_sd_gy']:.2g}",
            f"{r['dose_per_gbq_gy']:.3g}",
            "" if ref is None else f"{ref[0]:g} ± {ref[1]:g}",
            "" if ratio is None else f"{ratio:.3f}",
        )
    if marrow is not None:
        ref = _NEORAY_GY_PER_GBQ["red_marrow"]
        table.add_row(
            "red marrow (image)",
            f"{marrow['dose_gy']:.3g} ± {marrow['dose_sd_gy']:.2g}",
            f"{marrow['dose_gy'] / dos['administered_activity_gbq']:.3g}",
            f"{ref[0]:g} ± {ref[1]:g}",
            "",
        )
    console.print(table)
    plan = dos.get("plan")
    if plan and plan["max_activity_gbq"] is not None:
        console.print(
            f"Next cycle: at most {plan['max_activity_gbq']:.3g} GBq in one cycle "
            f"(limited by {plan['limiting_organ']}, {plan['limiting_quantity']})."
        )
    console.print(f"Tables, dose maps (NIfTI, DICOM RT Dose), DVHs and plots in {dos['out']}/")
