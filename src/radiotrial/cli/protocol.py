"""``radiotrial protocol``: validate and show protocol files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.protocol import Protocol, load_protocol

__all__ = ["protocol_app", "protocol_summary", "target_text"]

protocol_app = typer.Typer(
    help="Validate and show trial protocol files (YAML).", no_args_is_help=True
)

FileArg = typer.Argument(..., help="Protocol YAML file.", exists=False, dir_okay=False)


def target_text(fraction: float) -> str:
    """A target DLT rate for reading, with its unit: 0.3 → "0.3 (30 %)"."""
    return f"{fraction:g} ({100 * fraction:g} %)"


def protocol_summary(p: Protocol) -> dict[str, Any]:
    """The protocol's key facts as plain data (``target_dlt_rate`` as a fraction)."""
    rp = p.radiopharmaceutical
    return {
        "id": p.id,
        "title": p.title,
        "phase": p.phase,
        "site": p.site.model_dump(),
        "radiopharmaceutical": {
            "name": rp.name,
            "nuclide": rp.nuclide,
            "ligand": rp.ligand,
            "target_receptor": rp.target_receptor,
            "companion_imaging": rp.companion_imaging,
        },
        "dose_levels_gbq": p.dose_levels.activity_gbq,
        "starting_level": p.dose_levels.starting_level,
        "max_cycles": int(p.treatment.max_cycles.value),
        "cycle_interval_d": p.treatment.cycle_interval.to("d"),
        "dlt_window_d": p.dlt.window.to("d"),
        "design": p.escalation.design,
        "target_dlt_rate": p.escalation.target_fraction,
        "cohort_size": p.escalation.cohort_size,
        "organ_limits": [
            {
                "organ": lim.organ,
                "quantity": lim.quantity,
                "limit_gy": lim.limit_gy,
                "condition": lim.condition,
                "assumption": lim.assumption,
            }
            for lim in p.organ_limits
        ],
        "n_inclusion": len(p.eligibility.inclusion),
        "n_exclusion": len(p.eligibility.exclusion),
        "imaging_timepoints_h": p.imaging_schedule.timepoints_h,
        "assumptions": _count_assumptions(p.model_dump()),
    }


def _count_assumptions(node: Any) -> int:
    if isinstance(node, dict):
        return int(node.get("assumption") is True) + sum(
            _count_assumptions(v) for v in node.values()
        )
    if isinstance(node, list):
        return sum(_count_assumptions(v) for v in node)
    return 0


@protocol_app.command("validate")
def validate(file: Path = FileArg, as_json: bool = json_option) -> None:
    """Check a protocol file against the schema and the consistency rules."""
    p = load_protocol(file)
    n_assumptions = _count_assumptions(p.model_dump())
    if as_json:
        print_json({"file": str(file), "valid": True, "id": p.id, "assumptions": n_assumptions})
    else:
        console.print(
            f"[green]valid[/]: {file} ({p.id}); {n_assumptions} values flagged as assumptions"
        )


@protocol_app.command("show")
def show(file: Path = FileArg, as_json: bool = json_option) -> None:
    """Print a summary of a protocol: product, dose levels, DLT rules, limits, criteria."""
    p = load_protocol(file)
    if as_json:
        print_json(p.model_dump(mode="json"))
        return
    s = protocol_summary(p)
    console.print(f"[bold]{p.title}[/]  ({p.id}, phase {p.phase})")
    console.print(f"{p.site.name}, {p.site.department}, {p.site.city}")
    rp = p.radiopharmaceutical
    console.print(f"{rp.name}: {rp.nuclide} + {rp.ligand}, target {rp.target_receptor}")
    levels = ", ".join(f"{a:g}" for a in s["dose_levels_gbq"])
    console.print(f"Dose levels (GBq): {levels}; start at level {s['starting_level']}")
    console.print(
        f"Up to {s['max_cycles']} cycles every {s['cycle_interval_d']:g} d; "
        f"DLT window {s['dlt_window_d']:g} d; design {s['design']} "
        f"(target DLT rate {target_text(s['target_dlt_rate'])}, cohorts of {s['cohort_size']})"
    )
    limits = Table(title="Organ limits")
    for col in ("organ", "quantity", "limit (Gy)", "condition", "source"):
        limits.add_column(col)
    for lim in p.organ_limits:
        limit = "monitor only" if lim.limit_gy is None else f"{lim.limit_gy:g}"
        flag = " [yellow](assumption)[/]" if lim.assumption else ""
        limits.add_row(lim.organ, lim.quantity, limit, lim.condition or "", lim.source + flag)
    console.print(limits)
    crit = Table(title="Eligibility criteria")
    for col in ("id", "type", "criterion"):
        crit.add_column(col)
    for kind, items in (
        ("inclusion", p.eligibility.inclusion),
        ("exclusion", p.eligibility.exclusion),
    ):
        for c in items:
            crit.add_row(c.id, kind, c.text)
    console.print(crit)
    console.print(f"{s['assumptions']} values are flagged as assumptions to confirm.")
