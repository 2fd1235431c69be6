"""``radiotrial ctcae``: CTCAE v5.0 grading of laboratory values."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.safety import ctcae_terms, grade_lab

__all__ = ["ctcae_app"]

ctcae_app = typer.Typer(
    help="CTCAE v5.0 grading of laboratory adverse events.", no_args_is_help=True
)


@ctcae_app.command("grade")
def grade(
    term: str = typer.Option(
        ..., "--term", help='CTCAE v5.0 term, e.g. "Platelet count decreased".'
    ),
    value: float = typer.Option(..., "--value", help="Laboratory value, in --unit."),
    unit: str = typer.Option(
        ..., "--unit", help="Unit of the value and limits (10^9/L, g/dL, U/L, ...)."
    ),
    lln: float | None = typer.Option(None, "--lln", help="Lower limit of normal, in --unit."),
    uln: float | None = typer.Option(None, "--uln", help="Upper limit of normal, in --unit."),
    baseline: float | None = typer.Option(None, "--baseline", help="Baseline value, in --unit."),
    as_json: bool = json_option,
) -> None:
    """Grade a laboratory value (grade 0-4 and the CTCAE rule applied).

    Boundaries are strict as CTCAE writes them: platelets of exactly 50 x10^9/L are grade 2.
    Grades that need clinical information (life-threatening, death) are never assigned here.
    """
    g = grade_lab(term, value, unit, lln=lln, uln=uln, baseline=baseline)
    if as_json:
        print_json(g.to_dict())
        return
    console.print(f"[bold]{g.term}[/]: {g.value:g} {g.unit} → [bold]grade {g.grade}[/]")
    console.print(g.rule, markup=False)
    if g.note:
        console.print(g.note, style="dim", markup=False)


@ctcae_app.command("terms")
def terms(as_json: bool = json_option) -> None:
    """List the CTCAE v5.0 terms radiotrial grades, with their grade criteria."""
    data: list[dict[str, Any]] = [
        {
            "term": t.term,
            "aliases": list(t.aliases),
            "soc": t.soc,
            "category": t.category,
            "unit": t.unit,
            "grades": {str(k): v for k, v in sorted(t.grade_text.items())},
        }
        for t in ctcae_terms().values()
    ]
    if as_json:
        print_json(data)
        return
    table = Table(title="CTCAE v5.0 terms")
    for col in ("term", "category", "unit", "grade 1", "grade 2", "grade 3", "grade 4"):
        table.add_column(col, overflow="fold")
    for d in data:
        g: dict[str, str] = d["grades"]
        table.add_row(
            d["term"], d["category"], d["unit"] or "", *(g.get(str(k), "-") for k in range(1, 5))
        )
    console.print(table)
