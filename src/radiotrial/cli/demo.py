"""``radiotrial demo``: the end-to-end demonstration on embedded defaults.

Validates the bundled protocol, plays a small synthetic trial on an embedded SQLite registry
(virtual candidates screened, eligibility signed, cohorts enrolled at the level the escalation
design recommends, administrations from dose-calibrator readings, SPECT/CT sessions, dosimetry,
adverse events and signed DLT adjudications; :func:`radiotrial.services.seed_demo_trial`), shows
each cohort's DLTs and the design's decision with its reason, and runs one virtual patient's
dosimetry end to end (calibration, partial-volume correction, TIA, dose, BED, red marrow,
next-cycle plan).
"""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.panel import Panel
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from radiotrial.cli._output import console, err_console, json_option, print_json
from radiotrial.cli.nuclide import nuclide_summary
from radiotrial.cli.protocol import protocol_summary, target_text
from radiotrial.errors import ValidationError
from radiotrial.protocol import Protocol, bundled_protocol, load_protocol

if TYPE_CHECKING:
    from radiotrial.services import DemoTrialSummary

__all__ = ["demo"]


def _population_gy_per_gbq() -> dict[str, tuple[float, float]]:
    """NeoRay mean ± SD absorbed-dose coefficients after cycle 1 (data/demo_trial.yaml)."""
    from radiotrial.services import demo_scenario

    pop = demo_scenario()["dosimetry"]["population_gy_per_gbq"]
    out = {k: (float(v[0]), float(v[1])) for k, v in pop["organs"].items()}
    m = pop["red_marrow"]["value"]
    out["red_marrow"] = (float(m[0]), float(m[1]))
    return out


def _database(db: str | None, tmp: str) -> str:
    if db is None:
        return f"sqlite:///{Path(tmp) / 'demo.db'}"
    return db if "://" in db else f"sqlite:///{Path(db).expanduser().resolve()}"


def _vault() -> tuple[Any, str | None]:
    """The vault from the environment's key, else from a fresh key for this run.

    Returns the vault and the generated key text (``None`` when it came from the environment);
    the key is never written anywhere.
    """
    from radiotrial.registry import Vault, generate_key

    if os.environ.get("RADIOTRIAL_VAULT_KEY") or os.environ.get("RADIOTRIAL_VAULT_KEY_FILE"):
        return Vault.from_environment(), None
    key = generate_key()
    return Vault(base64.urlsafe_b64decode(key)), key


def _floats(name: str, text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ValidationError(name, text, "comma-separated numbers, e.g. 0.05,0.1,0.2") from None


def _trial(
    p: Protocol,
    *,
    db: str | None,
    seed: int,
    cohorts: int,
    image_dosimetry: bool,
    dlt_probability: list[float] | None,
) -> tuple[DemoTrialSummary, dict[str, Any]]:
    from radiotrial.registry import Registry, upgrade
    from radiotrial.services import ServiceContext, seed_demo_trial

    with tempfile.TemporaryDirectory(prefix="radiotrial-demo-") as tmp:
        url = _database(db, tmp)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        upgrade(url)
        vault, key = _vault()
        registry = Registry(url)
        try:
            ctx = ServiceContext(registry, protocol=p, vault=vault)
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            ) as bar:
                task = bar.add_task("synthetic trial: creating accounts", total=None)
                summary = seed_demo_trial(
                    ctx,
                    seed=seed,
                    n_cohorts=cohorts,
                    dosimetry="image" if image_dosimetry else "population",
                    dlt_probability=dlt_probability,
                    progress=lambda m: bar.update(task, description=f"synthetic trial: {m}"),
                )
        finally:
            registry.dispose()
        where: dict[str, Any] = {
            "database": registry.url if db is not None else "temporary (deleted after the run)",
            "vault_key": "environment" if key is None else "generated for this run",
        }
        if db is not None:
            # a kept database is only usable with its key: show it once, like the passwords
            where["generated_vault_key"] = key
    return summary, where


def _escalation(p: Protocol, summary: DemoTrialSummary) -> dict[str, Any]:
    rec = summary.recommendation
    level = rec.get("next_level")
    return {
        "design": p.escalation.design,
        "history": summary.outcomes,
        "action": rec.get("action"),
        "next_level": level,
        "next_activity_gbq": None if level is None else p.dose_levels.activity_gbq[level - 1],
        "reason": rec.get("reason"),
        "cohorts": [
            {
                "cohort": c.number,
                "dose_level": c.dose_level,
                "activity_gbq": c.activity_gbq,
                "n_subjects": len(c.subjects),
                "n_dlt": c.n_dlt,
                "action": None if c.decision is None else c.decision.get("action"),
                "next_level": None if c.decision is None else c.decision.get("next_level"),
                "reason": None if c.decision is None else c.decision.get("reason"),
            }
            for c in summary.cohorts
        ],
    }


def _dosimetry(p: Protocol, out: Path, seed: int, voxel_mm: float) -> dict[str, Any]:
    from radiotrial.dosimetry import run_dosimetry, study_from_virtual_patient, write_report
    from radiotrial.phantom import make_patient

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(
            f"making a virtual patient ({len(p.imaging_schedule.timepoints_h)} SPECT/CT sessions, "
            f"{voxel_mm:g} mm)",
            total=None,
        )
        patient = make_patient(
            seed=seed, time_points_h=p.imaging_schedule.timepoints_h, spacing_mm=voxel_mm
        )

        def step(name: str) -> None:
            bar.update(task, description=f"dosimetry: {name} done")

        result = run_dosimetry(study_from_virtual_patient(patient), protocol=p, progress=step)
        bar.update(task, description="writing tables, dose maps and plots")
        write_report(result, out, overwrite=True)
    doc = result.as_dict()
    doc["out"] = str(out)
    return doc


def _print_trial(trial: DemoTrialSummary, esc: dict[str, Any], where: dict[str, Any]) -> None:
    doc = trial.to_dict()
    scr = doc["screening"]
    failed: dict[str, int] = {}
    for c in trial.candidates:
        if c.path == "ineligible":
            for cid in c.criteria:
                failed[cid] = failed.get(cid, 0) + 1
    console.print(
        f"[bold]Synthetic trial[/] (seed {trial.seed}; {trial.started_at:%Y-%m-%d} to data "
        f"cut-off {trial.ended_at:%Y-%m-%d}): {scr['total']} pre-screening requests "
        f"({scr['expatriates']} from expatriates) → {scr.get('eligible', 0)} eligible, "
        f"{scr.get('ineligible', 0)} ineligible"
        + (f" ({', '.join(f'{k} ×{v}' for k, v in sorted(failed.items()))})" if failed else "")
        + f", {scr.get('pending', 0)} pending, {scr.get('not-taken-forward', 0)} not taken "
        "forward.",
        highlight=False,
    )
    table = Table(
        title=f"Cohorts and {esc['design'].upper()} decisions (outcomes {esc['history']})"
    )
    for col, just in (("cohort", "right"), ("level", "right"), ("GBq", "right"),
                      ("subjects", "right"), ("DLTs", "right"), ("decision", "left"),
                      ("reason", "left")):  # fmt: skip
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for c in esc["cohorts"]:
        decision = "in DLT window" if c["action"] is None else c["action"]
        if c["next_level"] is not None:
            decision += f" → level {c['next_level']}"
        table.add_row(
            str(c["cohort"]), str(c["dose_level"]), f"{c['activity_gbq']:g}",
            str(c["n_subjects"]), str(c["n_dlt"]), decision, c["reason"] or "",
        )  # fmt: skip
    console.print(table)
    n = trial.counts
    console.print(
        f"Recommendation now: [bold]{esc['action']}[/] — {esc['reason']}\n"
        f"Recorded: {n['administrations']} administrations, {n['imaging_sessions']} SPECT/CT "
        f"sessions, {n['dosimetry_results']} dosimetry results ({trial.dosimetry_method}), "
        f"{n['adverse_events']} adverse events, {n['dlt_adjudications']} signed DLT "
        f"adjudications. Audit chain: {trial.audit_entries} entries, "
        + ("verified." if trial.audit_ok else "[red]BROKEN[/]."),
        highlight=False,
    )
    if "generated_vault_key" in where:
        lines = [f"Demo study kept in {where['database']}."]
        if trial.admin_password:
            lines.append(f"admin one-time password: {trial.admin_password}")
        if trial.staff_password:
            staff = ", ".join(trial.staff.values())
            lines.append(f"demo staff ({staff}) password: {trial.staff_password}")
        if where["generated_vault_key"]:
            lines.append(
                f"vault key (keep it; identities are unreadable without it): "
                f"RADIOTRIAL_VAULT_KEY={where['generated_vault_key']}"
            )
        console.print(Panel.fit("\n".join(lines), title="shown once"), highlight=False)


def demo(
    protocol: Path | None = typer.Option(
        None, "--protocol", help="Protocol YAML (default: the bundled [177Lu]Lu-NeoB protocol)."
    ),
    out: Path = typer.Option(
        Path("out/demo"), "--out", help="Folder for the demo's dosimetry outputs."
    ),
    seed: int = typer.Option(1, help="Seed of the synthetic trial and the virtual patient."),
    cohorts: int = typer.Option(
        5,
        "--cohorts",
        min=1,
        help="Cohorts played to the end of their DLT window (one more is left open).",
    ),
    dlt_probability: str | None = typer.Option(
        None,
        "--dlt-probability",
        help="True cycle-1 DLT probability per dose level, comma-separated, lowest first "
        "(default: the scenario in data/demo_trial.yaml).",
    ),
    db: str | None = typer.Option(
        None,
        "--db",
        help="Keep the synthetic trial in this empty database (SQLite path or URL) instead of a "
        "temporary one; prints the one-time passwords and the generated vault key.",
    ),
    dosimetry: bool = typer.Option(
        True,
        "--dosimetry/--no-dosimetry",
        help="Run image-based dosimetry (virtual patients) in the trial and the full "
        "virtual-patient dosimetry panel; without it, the trial uses NeoRay's population "
        "Gy/GBq and the panel is skipped.",
    ),
    voxel_mm: float = typer.Option(
        4.8,
        "--voxel-mm",
        min=2.0,
        max=20.0,
        help="Voxel size of the virtual patient's SPECT/CT in the dosimetry panel (9.6 for a "
        "quick run).",
    ),
    as_json: bool = json_option,
) -> None:
    """Validate the protocol, play a synthetic trial, show the escalation decisions and
    run a virtual patient's dosimetry.

    The synthetic trial screens virtual candidates (residents and expatriates), signs their
    eligibility, enrols cohorts at the level the design recommends, records administrations,
    SPECT/CT sessions, dosimetry and adverse events (toxicity model: data/demo_trial.yaml),
    adjudicates DLTs with e-signatures, and reads the design's decision after each cohort.
    The vault key comes from RADIOTRIAL_VAULT_KEY(_FILE) or is generated for the run.
    """
    p = bundled_protocol() if protocol is None else load_protocol(protocol)
    summary = protocol_summary(p)
    nuc = nuclide_summary(p.radiopharmaceutical.nuclide)
    curve = None if dlt_probability is None else _floats("--dlt-probability", dlt_probability)
    trial, where = _trial(
        p, db=db, seed=seed, cohorts=cohorts, image_dosimetry=dosimetry, dlt_probability=curve
    )
    esc = _escalation(p, trial)
    dos = _dosimetry(p, out, seed, voxel_mm) if dosimetry else None
    if as_json:
        print_json(
            {
                "protocol": summary,
                "nuclide": nuc,
                "escalation": esc,
                "trial": {**trial.to_dict(include_secrets=db is not None), **where},
                "dosimetry": dos,
            }
        )
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
            f"{summary['design'].upper()} with target DLT rate "
            f"{target_text(summary['target_dlt_rate'])}\n"
            f"Protocol valid; {summary['assumptions']} values flagged as assumptions.",
            title="radiotrial demo",
        )
    )
    _print_trial(trial, esc, where)
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
    neoray = _population_gy_per_gbq()
    rows = {r["region"]: r for r in dos["regions"]}
    marrow = next(
        (m for m in dos["red_marrow"] if m["method"] == dos.get("red_marrow_for_planning")), None
    )
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
        ref = neoray.get(name)
        ratio = (validation.get(name) or {}).get("dose_ratio")
        table.add_row(
            name,
            f"{r['dose_gy']:.3g} ± {r['dose_sd_gy']:.2g}",
            f"{r['dose_per_gbq_gy']:.3g}",
            "" if ref is None else f"{ref[0]:g} ± {ref[1]:g}",
            "" if ratio is None else f"{ratio:.3f}",
        )
    if marrow is not None:
        ref = neoray["red_marrow"]
        table.add_row(
            f"red marrow ({marrow['method']})",
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
