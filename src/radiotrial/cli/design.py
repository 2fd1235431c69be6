"""``radiotrial design``: dose-escalation boundaries, decisions, MTD, operating characteristics."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from radiotrial.cli._output import console, json_option, print_json
from radiotrial.errors import InputFileError, ValidationError

__all__ = ["design_app"]

design_app = typer.Typer(
    help="Dose-escalation designs (BOIN, 3+3, CRM, TITE-CRM, TITE-BOIN, dosimetry-guided): "
    "boundaries, next-cohort decisions, MTD selection, operating characteristics.",
    no_args_is_help=True,
)

DESIGNS = ("boin", "3+3", "3+3-deesc", "crm", "crm-logistic", "tite-boin", "tite-crm", "dosimetry")


_PROTOCOL_DESIGNS = {"3+3-deescalation": "3+3-deesc", "dosimetry-guided": "dosimetry"}


def _protocol_settings(path: Path) -> tuple[Any, Any]:
    """The protocol in ``path`` and its design settings (:func:`escalation.design_settings`)."""
    from radiotrial.escalation import design_settings
    from radiotrial.protocol import load_protocol

    proto = load_protocol(path)
    return proto, design_settings(proto)


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError as exc:
        raise ValidationError(name, text, "must be comma-separated numbers") from exc


def _ints(text: str, name: str) -> list[int]:
    vals = _floats(text, name)
    if any(v != int(v) for v in vals):
        raise ValidationError(name, text, "must be comma-separated integers")
    return [int(v) for v in vals]


def _levels(levels: int | None, doses_gbq: str | None, truth: list[float] | None = None) -> Any:
    from radiotrial.escalation import DoseLevels

    if doses_gbq:
        return DoseLevels.from_activities_gbq(_floats(doses_gbq, "doses_gbq"))
    if levels:
        return DoseLevels.numbered(levels)
    if truth:
        return DoseLevels.numbered(len(truth))
    raise ValidationError("levels", None, "give --levels N or --doses-gbq a,b,c (or --protocol)")


@dataclass(frozen=True)
class TiteOptions:
    """Options of the time-to-event designs (CLI ``--window``, ``--scheme``, ...)."""

    window: float = 42.0
    scheme: str = "linear"
    max_pending: float | None = None  # None: the design's default
    min_complete: int = 0


@dataclass(frozen=True)
class DosimetryOptions:
    """Options of the dosimetry-guided design (CLI ``--dose-levels-gy``, ...)."""

    dose_levels_gy: str | None = None
    dose_event_gy: float | None = None
    cumulative_limit_gy: float | None = None
    cycles: int = 1
    max_activity_gbq: float | None = None


def _build(
    design: str,
    *,
    target: float,
    n_levels: int,
    cohort_size: int,
    cohorts: int,
    skeleton: str | None,
    start_level: int = 1,
    tite: TiteOptions | None = None,
    dosimetry: DosimetryOptions | None = None,
    extrasafe: bool = False,
    n_earlystop: int = 100,
) -> Any:
    from radiotrial.escalation import BoinDesign, CrmDesign, ThreePlusThree, getprior
    from radiotrial.escalation._dosimetry import DosimetryGuidedDesign
    from radiotrial.escalation._tite import TiteBoinDesign, TiteCrmDesign
    from radiotrial.escalation._validation import check_target

    d = design.lower()
    if d not in DESIGNS:
        raise ValidationError("design", design, f"choose from {', '.join(DESIGNS)}")
    check_target(target)  # every design is run for a target: a wrong one is refused, not ignored
    tite = tite or TiteOptions()
    dosimetry = dosimetry or DosimetryOptions()
    if d in ("crm", "crm-logistic", "tite-crm"):
        if skeleton:
            skel = _floats(skeleton, "skeleton")
        else:
            skel = getprior(0.05, target, max(1, math.ceil(n_levels / 2)), n_levels).tolist()
        if len(skel) != n_levels:
            raise ValidationError("skeleton", skeleton, f"needs {n_levels} values, one per level")
    if d == "boin":
        return BoinDesign(
            target,
            n_levels,
            cohort_size=cohort_size,
            max_cohorts=cohorts,
            start_level=start_level,
            extrasafe=extrasafe,
            n_earlystop=n_earlystop,
        )
    if d == "3+3":
        return ThreePlusThree(n_levels, variant="escalation-only", start_level=start_level)
    if d == "3+3-deesc":
        return ThreePlusThree(n_levels, variant="de-escalation", start_level=start_level)
    if d in ("crm", "crm-logistic"):
        return CrmDesign(
            skel,
            target,
            model="logistic" if d == "crm-logistic" else "empiric",
            cohort_size=cohort_size,
            max_cohorts=cohorts,
            start_level=start_level,
        )
    if d == "tite-boin":
        return TiteBoinDesign(
            target,
            n_levels,
            cohort_size=cohort_size,
            max_cohorts=cohorts,
            start_level=start_level,
            window=tite.window,
            **({} if tite.max_pending is None else {"max_pending": tite.max_pending}),
        )
    if d == "tite-crm":
        if tite.scheme not in ("linear", "adaptive"):
            raise ValidationError("scheme", tite.scheme, "use linear or adaptive")
        return TiteCrmDesign(
            skel,
            target,
            cohort_size=cohort_size,
            max_cohorts=cohorts,
            start_level=start_level,
            window=tite.window,
            scheme=tite.scheme,  # type: ignore[arg-type]
            max_pending=tite.max_pending,
            min_complete=tite.min_complete,
        )
    if not dosimetry.dose_levels_gy:
        raise ValidationError(
            "dose_levels_gy", None, "the dosimetry design needs --dose-levels-gy (Gy per level)"
        )
    gy = _floats(dosimetry.dose_levels_gy, "dose_levels_gy")
    if len(gy) != n_levels:
        raise ValidationError(
            "dose_levels_gy", dosimetry.dose_levels_gy, f"needs {n_levels} values, one per level"
        )
    return DosimetryGuidedDesign(
        target,
        gy,
        dose_event_gy=dosimetry.dose_event_gy,
        cumulative_limit_gy=dosimetry.cumulative_limit_gy,
        n_cycles=dosimetry.cycles,
        max_activity_gbq=dosimetry.max_activity_gbq,
        cohort_size=cohort_size,
        max_cohorts=cohorts,
        start_level=start_level,
    )


WindowOpt = typer.Option(42.0, help="DLT window in days (TITE designs).")
SchemeOpt = typer.Option("linear", help="TITE-CRM weights: linear or adaptive (dfcrm scheme).")
MaxPendingOpt = typer.Option(
    None,
    help="TITE designs: suspend accrual while more than this fraction of the patients at the "
    "current level are pending (TITE-BOIN default 0.5; TITE-CRM default: never, as dfcrm).",
)
MinCompleteOpt = typer.Option(
    0, help="TITE-CRM: escalate only with this many complete patients at the current level."
)
DoseLevelsGyOpt = typer.Option(None, help="Dosimetry design: target organ dose per level, Gy.")
DoseEventOpt = typer.Option(
    None, help="Dosimetry design: a realised organ dose above this (Gy) counts as a DLT."
)
CumLimitOpt = typer.Option(
    None, help="Dosimetry design: cumulative organ limit over the cycles, Gy."
)
CyclesOpt = typer.Option(1, help="Dosimetry design: planned cycles per patient.")
MaxActivityOpt = typer.Option(None, help="Dosimetry design: activity ceiling, GBq.")


def _read_patients(path: Path, levels: Any) -> Any:
    """CSV with columns level, dlt (1/0/empty = pending), followup[, organ_dose_gy]."""
    from radiotrial.escalation import Patient, TrialState

    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read: {exc}") from exc
    pts = []
    for i, r in enumerate(rows, start=2):
        try:
            dlt_txt = (r.get("dlt") or "").strip().lower()
            dlt = None if dlt_txt in ("", "pending", "p") else dlt_txt in ("1", "true", "yes", "t")
            od = r.get("organ_dose_gy")
            pts.append(
                Patient(
                    int(r["level"]), dlt, float(r.get("followup") or 0.0), float(od) if od else None
                )
            )
        except (KeyError, ValueError) as exc:
            raise InputFileError(str(path), f"line {i}: need level, dlt, followup ({exc})") from exc
    cohorts = tuple((i,) for i in range(len(pts)))
    return TrialState(levels, tuple(pts), cohorts)


@design_app.command("boundaries")
def boundaries(
    target: float = typer.Option(..., help="Target DLT rate, e.g. 0.3."),
    cohort_size: int = typer.Option(3, help="Patients per cohort."),
    max_n: int = typer.Option(30, "--max-n", help="Maximum sample size."),
    n_earlystop: int = typer.Option(100, help="BOIN n.earlystop (table is cut there)."),
    cutoff_eli: float = typer.Option(0.95, help="Elimination cut-off on Pr(p > target)."),
    extrasafe: bool = typer.Option(False, help="Also show the stricter stopping rule at level 1."),
    offset: float = typer.Option(0.05, help="Extra-safe offset."),
    as_json: bool = json_option,
) -> None:
    """BOIN λe, λd and the decision table (escalate if DLT ≤, de-escalate if ≥, eliminate if ≥)."""
    from radiotrial.escalation import boin_boundaries

    b = boin_boundaries(target, max_n, cutoff_eli=cutoff_eli, extrasafe=extrasafe, offset=offset)
    rows = b.table(cohort_size, n_earlystop)
    data = {"target": b.target, "lambda_e": b.lambda_e, "lambda_d": b.lambda_d, "table": rows}
    if as_json:
        print_json(data)
        return
    console.print(f"BOIN target {b.target:g}: λe = {b.lambda_e:.4f}, λd = {b.lambda_d:.4f}")
    t = Table(title="Decision table")
    t.add_column("rule")
    for r in rows:
        t.add_column(str(r["n"]), justify="right")
    t.add_row("escalate if DLT ≤", *[str(r["escalate_if_dlt_le"]) for r in rows])
    t.add_row("de-escalate if DLT ≥", *[str(r["deescalate_if_dlt_ge"]) for r in rows])
    t.add_row(
        "eliminate if DLT ≥",
        *[
            "NA" if r["eliminate_if_dlt_ge"] is None else str(r["eliminate_if_dlt_ge"])
            for r in rows
        ],
    )
    if extrasafe:
        t.add_row(
            "stop (level 1) if DLT ≥",
            *[
                "NA"
                if r["stop_if_dlt_ge_at_lowest"] is None
                else str(r["stop_if_dlt_ge_at_lowest"])
                for r in rows
            ],
        )
    console.print(t)


@design_app.command("next")
def next_cohort(
    design: str | None = typer.Option(None, help=f"One of {', '.join(DESIGNS)} (default boin)."),
    target: float = typer.Option(0.3, help="Target DLT rate."),
    levels: int | None = typer.Option(None, help="Number of dose levels."),
    doses_gbq: str | None = typer.Option(
        None, help="Activities of the levels, GBq, e.g. 1.85,5.55,9.25,11.1."
    ),
    history: str = typer.Option(
        "", help='Outcomes so far, e.g. "1NNN 2NTT" (N no DLT, T DLT, P pending).'
    ),
    patients: Path | None = typer.Option(
        None, help="CSV of patients (level,dlt,followup[,organ_dose_gy])."
    ),
    cohort_size: int = typer.Option(3, help="Patients per cohort."),
    cohorts: int = typer.Option(10, help="Number of cohorts (maximum sample size / cohort size)."),
    skeleton: str | None = typer.Option(None, help="CRM skeleton (default: getprior δ=0.05)."),
    window: float = WindowOpt,
    scheme: str = SchemeOpt,
    max_pending: float | None = MaxPendingOpt,
    min_complete: int = MinCompleteOpt,
    dose_levels_gy: str | None = DoseLevelsGyOpt,
    dose_event_gy: float | None = DoseEventOpt,
    cumulative_limit_gy: float | None = CumLimitOpt,
    cycles: int = CyclesOpt,
    max_activity_gbq: float | None = MaxActivityOpt,
    plot: Path | None = typer.Option(None, help="Write the escalation path as PNG."),
    protocol: Path | None = typer.Option(
        None, help="Protocol YAML: dose levels (GBq), design, target, cohort size, sample size."
    ),
    as_json: bool = json_option,
) -> None:
    """The design's decision for the next cohort, and why."""
    from radiotrial.escalation import DoseLevels, design_from_protocol, parse_outcomes

    start_level = 1
    from_protocol = None
    if protocol is not None:
        proto, ps = _protocol_settings(protocol)
        if design is None and ps.design in ("boin", "3+3", "3+3-deescalation"):
            # the protocol's own cohort design: exactly what the registry's enrolment runs
            from_protocol = design_from_protocol(proto)
        design = design or _PROTOCOL_DESIGNS.get(ps.design, ps.design)
        doses_gbq = ",".join(f"{a:g}" for a in ps.activity_gbq)
        target, cohort_size, cohorts = ps.target, ps.cohort_size, ps.max_cohorts
        start_level = ps.start_level
    design = design or "boin"

    lv = _levels(
        levels, doses_gbq, _floats(dose_levels_gy, "dose_levels_gy") if dose_levels_gy else None
    )
    if design.lower() == "dosimetry" and dose_levels_gy:
        lv = DoseLevels.from_doses_gy(_floats(dose_levels_gy, "dose_levels_gy"))
    state = _read_patients(patients, lv) if patients else parse_outcomes(history, lv)
    d = from_protocol or _build(
        design,
        target=target,
        n_levels=lv.n_levels,
        cohort_size=cohort_size,
        cohorts=cohorts,
        skeleton=skeleton,
        tite=TiteOptions(window, scheme, max_pending, min_complete),
        dosimetry=DosimetryOptions(
            dose_levels_gy, dose_event_gy, cumulative_limit_gy, cycles, max_activity_gbq
        ),
        start_level=start_level,
    )
    dec = d.decide(state)
    data = dec.to_dict()
    if lv.activity_gbq and dec.next_level:
        data["next_activity_gbq"] = lv.activity_gbq[dec.next_level - 1]
    if plot:
        from radiotrial.escalation._plots import plot_escalation_path

        plot_escalation_path(state, plot, title=f"{d.name}: {state.outcome_string()}")
    if as_json:
        print_json(data)
        return
    nxt = (
        "stop"
        if dec.next_level is None
        else ("accrual suspended, resume at " if dec.accrual_suspended else "")
        + f"level {dec.next_level}"
        + (f" ({lv.labels[dec.next_level - 1]})" if lv.labels else "")
    )
    console.print(f"[bold]{d.name}[/]: {dec.action} → {nxt}")
    console.print(dec.reason, markup=False)


@design_app.command("mtd")
def mtd(
    design: str = typer.Option("boin", help="boin or crm."),
    target: float = typer.Option(0.3, help="Target DLT rate."),
    n: str = typer.Option(..., help="Patients per level, e.g. 3,3,15,9,0."),
    y: str = typer.Option(..., help="DLTs per level, e.g. 0,0,4,4,0."),
    skeleton: str | None = typer.Option(None, help="CRM skeleton."),
    extrasafe: bool = typer.Option(False, help="BOIN extra-safe rule."),
    as_json: bool = json_option,
) -> None:
    """Select the MTD at the end of a trial (BOIN isotonic rule, or CRM estimate)."""
    from radiotrial.escalation import CrmModel, boin_select_mtd, getprior

    nn, yy = _ints(n, "n"), _ints(y, "y")
    if len(nn) != len(yy):
        raise ValidationError("y", y, f"needs {len(nn)} values like --n")
    if design.lower() == "boin":
        data = boin_select_mtd(target, nn, yy, extrasafe=extrasafe)
    elif design.lower() in ("crm", "crm-logistic"):
        skel = (
            _floats(skeleton, "skeleton")
            if skeleton
            else getprior(0.05, target, math.ceil(len(nn) / 2), len(nn)).tolist()
        )
        model = CrmModel(
            skel, target, model="logistic" if design.lower() == "crm-logistic" else "empiric"
        )
        lv = [i + 1 for i, k in enumerate(nn) for _ in range(k)]
        tx = [int(j < yi) for i, (k, yi) in enumerate(zip(nn, yy, strict=True)) for j in range(k)]
        fit = model.fit(lv, tx)
        data = {
            "target": target,
            "mtd": fit.mtd,
            "a_hat": fit.a_hat,
            "p_hat": fit.p_hat.tolist(),
            "skeleton": skel,
        }
    else:
        raise ValidationError(
            "design", design, "MTD selection is available for boin, crm, crm-logistic"
        )
    if as_json:
        print_json(data)
        return
    console.print(f"MTD: {'none' if data['mtd'] is None else 'level ' + str(data['mtd'])}")
    console.print({k: v for k, v in data.items() if k != "mtd"})


@design_app.command("oc")
def oc(
    design: str = typer.Option(
        "boin",
        help=f"Design(s), comma-separated for a comparison: {', '.join(DESIGNS)} "
        "(dosimetry needs --dose-levels-gy).",
    ),
    target: float | None = typer.Option(
        None, help="Target DLT rate (default: the scenario's own target, else 0.3)."
    ),
    truth: str | None = typer.Option(
        None, help="True DLT rate per level, e.g. 0.05,0.15,0.30,0.45,0.60."
    ),
    scenario: str | None = typer.Option(
        None, help="Named scenario from the scenario file instead of --truth."
    ),
    cohort_size: int = typer.Option(3, help="Patients per cohort."),
    cohorts: int = typer.Option(10, help="Number of cohorts."),
    exact: bool = typer.Option(
        False, "--exact", help="Exact OCs by dynamic programming (BOIN, 3+3, CRM)."
    ),
    trials: int = typer.Option(10_000, help="Simulated trials."),
    seed: int = typer.Option(1, help="Random seed (common random numbers across designs)."),
    skeleton: str | None = typer.Option(None, help="CRM skeleton."),
    window: float = WindowOpt,
    accrual: float = typer.Option(3.0, help="Patients per DLT window (TITE designs)."),
    scheme: str = SchemeOpt,
    max_pending: float | None = MaxPendingOpt,
    min_complete: int = MinCompleteOpt,
    dose_levels_gy: str | None = DoseLevelsGyOpt,
    cumulative_limit_gy: float | None = CumLimitOpt,
    cycles: int = CyclesOpt,
    plot: Path | None = typer.Option(None, help="Write OC bars as PNG."),
    protocol: Path | None = typer.Option(
        None, help="Protocol YAML: take target, cohort size and sample size from it."
    ),
    as_json: bool = json_option,
) -> None:
    """Operating characteristics: selection %, stopping %, patients and DLTs per level."""
    start_level = 1
    if protocol is not None:
        _proto, ps = _protocol_settings(protocol)
        target, cohort_size, cohorts = ps.target, ps.cohort_size, ps.max_cohorts
        start_level = ps.start_level
    from radiotrial.escalation import exact_oc, simulate_oc
    from radiotrial.escalation._data import get_scenario
    from radiotrial.escalation._engine import CohortDesign, tolerances
    from radiotrial.escalation._tite import TiteSettings
    from radiotrial.escalation._validation import check_truth

    if scenario:
        sc = get_scenario(scenario)
        p = check_truth(sc["truth"])
        if target is None:
            target = float(sc["target"])
    elif truth:
        p = check_truth(_floats(truth, "truth"))
    else:
        raise ValidationError("truth", None, "give --truth or --scenario")
    if target is None:
        target = 0.3
    results = []
    names = [s.strip() for s in design.split(",") if s.strip()]
    built = [
        _build(
            nm,
            target=target,
            n_levels=p.size,
            cohort_size=cohort_size,
            cohorts=cohorts,
            skeleton=skeleton,
            tite=TiteOptions(window, scheme, max_pending, min_complete),
            # OCs run on per-level DLT rates (--truth), so the design's cumulative limit acts
            # and dose events (realised doses) do not: `design dosimetry` simulates those
            dosimetry=DosimetryOptions(dose_levels_gy, None, cumulative_limit_gy, cycles, None),
            start_level=start_level,
        )
        for nm in names
    ]
    u = None if exact else tolerances(trials, max(b.max_patients for b in built), seed)
    from rich.progress import Progress

    with Progress(console=console, transient=True, disable=as_json) as prog:
        task = prog.add_task("operating characteristics", total=len(built))
        for b in built:
            if exact:
                if not isinstance(b, CohortDesign):
                    raise ValidationError(
                        "design", b.name, "exact OCs exist for cohort designs (boin, 3+3, crm)"
                    )
                results.append(exact_oc(b, p))
            elif isinstance(b, CohortDesign):
                results.append(simulate_oc(b, p, seed=seed, u=u))
            else:
                assert u is not None
                results.append(
                    b.simulate(p, settings=TiteSettings(window, accrual), seed=seed, u=u)
                )
            prog.advance(task)
    if plot:
        from radiotrial.escalation._plots import plot_oc_bars

        plot_oc_bars(results, plot)
    dicts = [{"target": target, "scenario": scenario} | r.to_dict() for r in results]
    if as_json:
        print_json(dicts[0] if len(dicts) == 1 else {"designs": dicts})
        return
    for r in dicts:
        t = Table(
            title=f"{r['design']} ({r['method']}"
            + (f", {r.get('n_trials')} trials)" if r["method"] == "simulated" else ")")
        )
        t.add_column("")
        for i in range(p.size):
            t.add_column(f"L{i + 1}", justify="right")
        t.add_row("true DLT rate", *[f"{v:.2f}" for v in r["truth"]])
        t.add_row("selected %", *[f"{v:.1f}" for v in r["selection_pct"]])
        t.add_row("mean n", *[f"{v:.2f}" for v in r["mean_n"]])
        t.add_row("mean DLT", *[f"{v:.2f}" for v in r["mean_dlt"]])
        console.print(t)
        console.print(
            f"stop without MTD {r['stop_pct']:.2f}%, mean patients {r['mean_total_n']:.2f}, "
            f"mean DLTs {r['mean_total_dlt']:.2f}"
        )


@design_app.command("pathways")
def pathways(
    design: str = typer.Option("boin", help=f"One of {', '.join(DESIGNS[:5])}."),
    target: float = typer.Option(0.3, help="Target DLT rate."),
    levels: int = typer.Option(5, help="Number of dose levels."),
    history: str = typer.Option("", help='Outcomes so far, e.g. "1NNN".'),
    next_cohorts: int = typer.Option(
        2, "--next-cohorts", help="How many future cohorts to enumerate (1-4)."
    ),
    cohort_size: int = typer.Option(3, help="Patients per cohort."),
    cohorts: int = typer.Option(10, help="Number of cohorts."),
    skeleton: str | None = typer.Option(None, help="CRM skeleton."),
    plot: Path | None = typer.Option(None, help="Write the pathway tree as PNG."),
    as_json: bool = json_option,
) -> None:
    """Dose-transition pathways: the decision after every outcome of the next cohorts."""
    from radiotrial.escalation import parse_outcomes
    from radiotrial.escalation._pathways import dose_transition_pathways

    state = parse_outcomes(history, levels)
    d = _build(
        design,
        target=target,
        n_levels=levels,
        cohort_size=cohort_size,
        cohorts=cohorts,
        skeleton=skeleton,
    )
    nodes = dose_transition_pathways(d, state, next_cohorts)
    if plot:
        from radiotrial.escalation._plots import plot_pathways

        plot_pathways(nodes, plot, n_levels=levels)
    if as_json:
        print_json({"design": d.name, "pathways": [nd.to_dict() for nd in nodes]})
        return
    t = Table(title=f"{d.name}: dose-transition pathways")
    for col in ("history", "next"):
        t.add_column(col)
    for nd in nodes:
        t.add_row(nd.history or "(start)", "stop" if nd.next_level is None else str(nd.next_level))
    console.print(t)


@design_app.command("getprior")
def getprior_cmd(
    halfwidth: float = typer.Option(0.05, help="Half-width of the indifference intervals."),
    target: float = typer.Option(0.3, help="Target DLT rate."),
    nu: int = typer.Option(..., help="Prior guess of the MTD level (1-based)."),
    levels: int = typer.Option(..., help="Number of dose levels."),
    model: str = typer.Option("empiric", help="empiric or logistic."),
    intercept: float = typer.Option(3.0, help="Logistic intercept."),
    as_json: bool = json_option,
) -> None:
    """CRM skeleton calibrated to indifference intervals (dfcrm getprior)."""
    from radiotrial.escalation import getprior

    skel = getprior(halfwidth, target, nu, levels, model=model, intercept=intercept)  # type: ignore[arg-type]
    if as_json:
        print_json({"skeleton": skel.tolist()})
        return
    console.print("skeleton: " + ", ".join(f"{v:.4f}" for v in skel))


@design_app.command("scenarios")
def scenarios_cmd(as_json: bool = json_option) -> None:
    """List the scenario sets (true DLT curves) shipped with radiotrial, with their sources."""
    from radiotrial.escalation._data import scenarios

    sc = scenarios()
    if as_json:
        print_json(sc)
        return
    t = Table(title="Scenario sets")
    for col in ("name", "truth", "source"):
        t.add_column(col)
    for k, v in sc.items():
        t.add_row(k, ", ".join(f"{x:g}" for x in v["truth"]), v["source"])
    console.print(t)


@design_app.command("dosimetry")
def dosimetry_cmd(
    target: float = typer.Option(0.3, help="Target DLT rate."),
    activity_levels_gbq: str = typer.Option(
        "6,9,12,15,18", help="Activity levels of the conventional design, GBq."
    ),
    dose_levels_gy: str = typer.Option(
        "0.6,0.9,1.2,1.5,1.8", help="Organ-dose levels of the dosimetry design, Gy."
    ),
    organ: str = typer.Option(
        "kidneys", help="Organ whose coefficients are used (from the data file)."
    ),
    max_activity_gbq: float = typer.Option(25.0, help="Protocol activity ceiling, GBq."),
    dose_event_gy: float | None = typer.Option(
        None, help="A realised organ dose above this (Gy) counts as a DLT in the design."
    ),
    cumulative_limit_gy: float | None = typer.Option(
        None, help="Cumulative organ limit over the cycles, Gy (default: the organ's limit)."
    ),
    cycles: int = typer.Option(1, help="Planned cycles per patient (for the cumulative limit)."),
    prediction_cv: float = typer.Option(
        0.0, help="Relative error (CV) of the coefficient the activity is planned from."
    ),
    cohort_size: int = typer.Option(3, help="Patients per cohort."),
    cohorts: int = typer.Option(10, help="Number of cohorts."),
    trials: int = typer.Option(4000, help="Simulated trials."),
    seed: int = typer.Option(1, help="Random seed."),
    as_json: bool = json_option,
) -> None:
    """Compare BOIN on activity levels with the dosimetry-guided design (common random numbers).

    The dosimetry design runs with its own rules: the cumulative organ limit over the planned
    cycles bars the levels above it, and with --dose-event-gy a realised organ dose above the
    threshold counts as a DLT-equivalent event.
    """
    from radiotrial.escalation._data import dosimetry_defaults, value
    from radiotrial.escalation._dosimetry import (
        DoseResponse,
        compare_activity_and_dosimetry_designs,
    )

    defaults = dosimetry_defaults()["organs"]
    if organ not in defaults:
        raise ValidationError("organ", organ, f"choose from {', '.join(defaults)}")
    co = defaults[organ]["coefficient_gy_per_gbq"]
    if cumulative_limit_gy is None:
        cumulative_limit_gy = float(value(defaults[organ]["limit_cumulative_gy"]))
    settings = {
        "organ": organ,
        "cumulative_limit_gy": cumulative_limit_gy,
        "cycles": cycles,
        "dose_event_gy": dose_event_gy,
        "max_activity_gbq": max_activity_gbq,
        "prediction_cv": prediction_cv,
    }
    res = compare_activity_and_dosimetry_designs(
        target=target,
        activity_levels_gbq=_floats(activity_levels_gbq, "activity_levels_gbq"),
        dose_levels_gy=_floats(dose_levels_gy, "dose_levels_gy"),
        coefficient_mean=float(value(co["mean"])),
        coefficient_sd=float(value(co["sd"])),
        dose_response=DoseResponse.default(),
        max_activity_gbq=max_activity_gbq,
        dose_event_gy=dose_event_gy,
        cumulative_limit_gy=cumulative_limit_gy,
        n_cycles=cycles,
        prediction_cv=prediction_cv,
        cohort_size=cohort_size,
        max_cohorts=cohorts,
        n_trials=trials,
        seed=seed,
    )
    if as_json:
        print_json({"settings": settings} | res)
        return
    console.print(
        f"{organ}: cumulative limit {cumulative_limit_gy:g} Gy over {cycles} cycle(s); "
        + (f"dose event above {dose_event_gy:g} Gy" if dose_event_gy else "no dose-event rule")
    )
    for key, r in res.items():
        console.print(
            f"[bold]{key}[/]: selected % {[round(v, 1) for v in r['selection_pct']]}, "
            "mean organ dose "
            f"{r['mean_organ_dose_gy']:.2f} Gy, patients above the 30%-DLT dose "
            f"{r['pct_patients_above_d30']:.1f}%"
        )
