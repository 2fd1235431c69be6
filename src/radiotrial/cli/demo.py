"""``radiotrial demo``: the end-to-end demonstration on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.panel import Panel

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.cli.nuclide import nuclide_summary
from radiotrial.cli.protocol import protocol_summary
from radiotrial.protocol import bundled_protocol, load_protocol

__all__ = ["demo"]


def demo(
    protocol: Path | None = typer.Option(
        None, "--protocol", help="Protocol YAML (default: the bundled [177Lu]Lu-NeoB protocol)."
    ),
    as_json: bool = json_option,
) -> None:
    """Validate the protocol and summarise the radiopharmaceutical and its nuclide."""
    p = bundled_protocol() if protocol is None else load_protocol(protocol)
    summary = protocol_summary(p)
    nuc = nuclide_summary(p.radiopharmaceutical.nuclide)
    if as_json:
        print_json({"protocol": summary, "nuclide": nuc})
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
