"""``radiotrial dose``: patient dosimetry commands.

This module holds the Typer sub-app ``dose_app``; each command is a plain function registered on
it, so that further commands (``run``, ``plan``) can be added next to ``bed`` and ``release``.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.errors import ValidationError

__all__ = ["bed_command", "dose_app", "release_command"]

dose_app = typer.Typer(
    help="Patient dosimetry: biologically effective dose, release and radiation protection.",
    no_args_is_help=True,
)


@dose_app.command(name="bed")
def bed_command(
    dose_gy: float = typer.Option(..., "--dose-gy", help="Absorbed dose of the cycle, Gy."),
    alpha_beta: float = typer.Option(..., "--alpha-beta", help="α/β of the tissue, Gy."),
    t_repair_h: float = typer.Option(..., "--t-repair-h", help="Repair half-time T_rep, h."),
    t_eff_h: float = typer.Option(
        ..., "--t-eff-h", help="Effective half-life of the dose rate, h."
    ),
    t_uptake_h: float | None = typer.Option(
        None,
        "--t-uptake-h",
        help="Uptake half-time: dose rate ∝ (1 − e^(−ln2 t/TU)) e^(−ln2 t/TE).",
    ),
    as_json: bool = json_option,
) -> None:
    """Biologically effective dose (BED) and EQD2 of one cycle (linear-quadratic model).

    Mono-exponential: BED = D [1 + D·T_rep / ((α/β)(T_rep + T_eff))]; with an uptake phase the
    Lea–Catcheside factor of the two-exponential dose rate is used. EQD2 = BED / (1 + 2/(α/β)).
    """
    from radiotrial.radiobiology import bed_mono, bed_uptake, eqd2

    if t_uptake_h is None:
        bed = float(
            bed_mono(dose_gy, alpha_beta_gy=alpha_beta, t_repair_h=t_repair_h, t_eff_h=t_eff_h)
        )
    else:
        bed = float(
            bed_uptake(
                dose_gy,
                alpha_beta_gy=alpha_beta,
                t_repair_h=t_repair_h,
                t_eff_h=t_eff_h,
                t_uptake_h=t_uptake_h,
            )
        )
    result: dict[str, Any] = {
        "dose_gy": dose_gy,
        "alpha_beta_gy": alpha_beta,
        "t_repair_h": t_repair_h,
        "t_eff_h": t_eff_h,
        "t_uptake_h": t_uptake_h,
        "bed_gy": bed,
        "eqd2_gy": float(eqd2(bed, alpha_beta_gy=alpha_beta)),
    }
    if as_json:
        print_json(result)
        return
    console.print(
        f"BED = [bold]{result['bed_gy']:.4g} Gy[/]   EQD2 = [bold]{result['eqd2_gy']:.4g} Gy[/]   "
        f"(D = {dose_gy:g} Gy, α/β = {alpha_beta:g} Gy, T_rep = {t_repair_h:g} h, "
        f"T_eff = {t_eff_h:g} h" + (f", T_uptake = {t_uptake_h:g} h)" if t_uptake_h else ")")
    )


@dose_app.command(name="release")
def release_command(
    activity_gbq: float = typer.Option(..., "--activity-gbq", help="Administered activity, GBq."),
    rule_set: str = typer.Option(
        "china_gbz120_2020",
        "--rule-set",
        help="Discharge rule set: china_gbz120_2020, us_10cfr35_75.",
    ),
    nuclide: str = typer.Option("Lu-177", "--nuclide", help="Nuclide."),
    t_eff_h: list[float] = typer.Option(
        [],
        "--t-eff-h",
        help="Whole-body effective half-life(s), h; repeat for a multi-exponential retention.",
    ),
    fraction: list[float] = typer.Option(
        [],
        "--fraction",
        help="Fraction of the activity in each component (one per --t-eff-h; default 1).",
    ),
    method: str = typer.Option(
        "measured", "--method", help="Dose-rate coefficient: measured (patients) or computed."
    ),
    as_json: bool = json_option,
) -> None:
    """Dose rate at 1 m, discharge time under a rule set, and close-contact restriction days.

    Without --t-eff-h a planning default whole-body retention (flagged as an assumption) is used.
    """
    from radiotrial.radioprotection import BodyRetention, discharge, restriction_days

    if method not in ("measured", "computed"):
        raise ValidationError("--method", method, "use 'measured' or 'computed'")
    retention = None
    if t_eff_h:
        fr = fraction or ([1.0] if len(t_eff_h) == 1 else [])
        if len(fr) != len(t_eff_h):
            raise ValidationError("--fraction", fraction, "give one --fraction per --t-eff-h")
        retention = BodyRetention(tuple(fr), tuple(t_eff_h))
    elif fraction:
        raise ValidationError("--fraction", fraction, "needs --t-eff-h")
    decision = discharge(
        activity_gbq,
        rule_set=rule_set,
        nuclide=nuclide,
        retention=retention,
        method=method,  # type: ignore[arg-type]
    )
    contacts = restriction_days(
        activity_gbq,
        discharge_h=decision.discharge_h,
        nuclide=nuclide,
        retention=retention,
        method=method,  # type: ignore[arg-type]
    )
    from dataclasses import asdict

    result = {
        "activity_gbq": activity_gbq,
        "nuclide": nuclide,
        "method": method,
        "discharge": asdict(decision),
        "restrictions": [asdict(c) for c in contacts],
    }
    if as_json:
        print_json(result)
        return
    console.print(f"[bold]{decision.title}[/]")
    console.print(
        f"discharge at {decision.discharge_h:.1f} h after administration: "
        f"{decision.dose_rate_at_discharge_usv_h:.3g} µSv/h at 1 m, "
        f"{decision.activity_at_discharge_gbq:.3g} GBq retained; dose to others "
        f"{decision.dose_to_others_msv:.3g} mSv"
    )
    for note in decision.notes:
        console.print(f"[yellow]note:[/] {note}")
    table = Table(title="Close-contact restrictions after discharge")
    for col in ("scenario", "days", "constraint (mSv)", "dose if unrestricted (mSv)"):
        table.add_column(col)
    for c in contacts:
        table.add_row(
            c.label,
            str(c.restriction_days),
            f"{c.constraint_msv:.3g}",
            f"{c.dose_without_restriction_msv:.3g}",
        )
    console.print(table)
