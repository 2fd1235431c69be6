"""``radiotrial nuclide``: ICRP-107 decay data of one nuclide."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.nuclides import (
    ELECTRONS,
    PHOTONS,
    RadiationClass,
    RadiationGroup,
    get_nuclide,
)

__all__ = ["nuclide", "nuclide_summary"]


def nuclide_summary(name: str, *, min_yield: float = 0.01) -> dict[str, Any]:
    """Half-life, energy per decay by class and main lines, as plain data."""
    nuc = get_nuclide(name)
    classes: list[RadiationClass | RadiationGroup] = [*ELECTRONS, *PHOTONS, "alpha"]
    classes += ["electrons", "photons", "total"]
    energies: dict[str, float] = {c: nuc.energy_per_decay_mev(c) for c in classes}
    return {
        "nuclide": nuc.name,
        "half_life_s": nuc.half_life_s,
        "half_life_d": nuc.half_life("d"),
        "decay_constant_per_s": nuc.decay_constant_per_s,
        "energy_per_decay_mev": energies,
        "progeny": [{"nuclide": p, "branching_fraction": b, "mode": m} for p, b, m in nuc.progeny],
        "lines": [
            {
                "radiation": line.radiation,
                "energy_mev": line.energy_mev,
                "yield": line.yield_per_decay,
            }
            for line in nuc.lines(min_yield=min_yield, min_energy_mev=0.001)
        ],
        "source": "ICRP Publication 107 (icrp107-database; radioactivedecay)",
    }


def nuclide(
    name: str = typer.Argument(..., help="Nuclide, e.g. Lu-177, 177Lu, Y-90, I-131."),
    min_yield: float = typer.Option(
        0.01, help="Only list lines with at least this yield per decay."
    ),
    as_json: bool = json_option,
) -> None:
    """Show half-life, energy per decay by radiation class and the main emission lines."""
    data = nuclide_summary(name, min_yield=min_yield)
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]{data['nuclide']}[/]  T½ = {data['half_life_d']:.4g} d  "
        f"(λ = {data['decay_constant_per_s']:.4e} s⁻¹)"
    )
    energies = Table(title="Mean energy per decay (MeV)")
    energies.add_column("radiation")
    energies.add_column("MeV/decay", justify="right")
    for key, value in data["energy_per_decay_mev"].items():
        if value > 0:
            energies.add_row(key, f"{value:.5g}")
    console.print(energies)
    lines = Table(title=f"Lines with yield ≥ {min_yield:g} per decay")
    for col in ("radiation", "energy (keV)", "yield (%)"):
        lines.add_column(col, justify="right")
    for line in data["lines"]:
        lines.add_row(
            line["radiation"], f"{line['energy_mev'] * 1e3:.2f}", f"{line['yield'] * 100:.3g}"
        )
    console.print(lines)
