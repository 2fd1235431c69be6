"""Dosimetry review per subject and cycle, read from the outputs of ``radiotrial dose run``.

A medical physicist runs ``radiotrial dose run … --out <root>/<folder>`` for a cycle and links
the folder to the cycle's administration here: :func:`link_run` reads its ``results.json`` and
records every organ, tumour and red-marrow dose through
:func:`radiotrial.services.record_dosimetry`, with the folder as ``analysis_ref``. The review
(:func:`review_cycle`) reads the linked folders back: region table (dose ± SD, BED, EQD2, TAC
model, cumulative dose and BED against the protocol's organ limits), the run's plots (TAC fits
with residuals, dose over CT, DVHs), dose-map slices from ``dose.nii.gz``, and the next cycle's
maximum activity from :func:`radiotrial.dosimetry.plan_next_cycle` over every linked cycle so
far. Nothing here computes dose; it reads and arranges what the dosimetry package wrote.

Analysis folders are named relative to one root (``RADIOTRIAL_DOSIMETRY_DIR``) and must stay
inside it, so a stored reference can never make the server read an arbitrary file.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import sqlalchemy as sa

from radiotrial.dosimetry import CycleDose, Plan, plan_next_cycle, planning_marrow_row
from radiotrial.errors import InputFileError, ValidationError
from radiotrial.registry import (
    Actor,
    Administration,
    DosimetryResult,
    RecordNotFoundError,
    Subject,
    require_permission,
)
from radiotrial.services import ServiceContext, record_dosimetry

__all__ = [
    "CycleReview",
    "LinkedRun",
    "Recorded",
    "RegionRow",
    "link_run",
    "linked_runs",
    "read_results",
    "recorded_doses",
    "render_slice",
    "resolve_run",
    "review_cycle",
    "slice_position",
]

METHOD_PREFIX = "radiotrial dose run"
_REQUIRED = ("cycle", "administered_activity_gbq", "engine", "regions", "files")


def resolve_run(root: Path, ref: str) -> Path:
    """The analysis folder ``ref`` (relative to ``root``), checked to lie inside ``root``.

    Raises
    ------
    ValidationError
        ``ref`` is absolute, climbs out of ``root``, or names no folder with ``results.json``.
    """
    text = ref.strip()
    pure = PurePosixPath(text.replace("\\", "/"))
    if not text or pure.is_absolute() or ".." in pure.parts or any(":" in p for p in pure.parts):
        raise ValidationError(
            "analysis_ref", ref, "a folder name relative to the dosimetry root, without '..'"
        )
    base = root.resolve()
    folder = (base / Path(*pure.parts)).resolve()
    if not folder.is_relative_to(base):  # a symbolic link out of the root
        raise ValidationError("analysis_ref", ref, "lies outside the dosimetry root")
    if not (folder / "results.json").is_file():
        raise ValidationError(
            "analysis_ref", ref, f"no results.json of `radiotrial dose run` in {folder}"
        )
    return folder


_cache_lock = threading.Lock()
_results_cache: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
_volume_cache: OrderedDict[tuple[str, int], Any] = OrderedDict()


def _cached(cache: OrderedDict[tuple[str, int], Any], key: tuple[str, int], make: Any) -> Any:
    with _cache_lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    value = make()
    with _cache_lock:
        cache[key] = value
        while len(cache) > 16:
            cache.popitem(last=False)
    return value


def read_results(folder: Path) -> dict[str, Any]:
    """``results.json`` of a dosimetry run (cached by modification time), checked for the keys
    the review needs.

    Raises
    ------
    InputFileError
        Unreadable, not JSON, or not a result of ``radiotrial dose run``.
    """
    path = folder / "results.json"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read ({exc.strerror})") from None

    def load() -> dict[str, Any]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputFileError(str(path), f"not a readable JSON file ({exc})") from None
        if not isinstance(doc, dict) or any(k not in doc for k in _REQUIRED):
            raise InputFileError(str(path), f"not a dosimetry result (needs keys {_REQUIRED})")
        for i, r in enumerate(doc["regions"]):
            if not isinstance(r, dict) or not isinstance(r.get("region"), str):
                raise InputFileError(str(path), f"regions[{i}] has no region name")
        return doc

    return dict(_cached(_results_cache, (str(path), stamp), load))


@dataclass(frozen=True)
class LinkedRun:
    """The dosimetry run linked to one cycle (the most recent link wins)."""

    cycle: int
    ref: str
    folder: Path
    doc: dict[str, Any]
    net_activity_gbq: float
    recorded_by: str


def linked_runs(
    ctx: ServiceContext, actor: Actor, code: str, root: Path
) -> tuple[dict[int, LinkedRun], list[int]]:
    """Each cycle's linked run, and the subject's cycles (administrations) in order.

    A cycle whose stored reference no longer resolves (folder moved or deleted) raises: the
    review must not silently plan from fewer cycles than were given.
    """
    require_permission(actor, "trial.read")
    with ctx.registry.read() as session:
        subject = session.execute(
            sa.select(Subject).where(Subject.code == code)
        ).scalar_one_or_none()
        if subject is None:
            raise RecordNotFoundError("subject", code)
        admins = list(
            session.execute(
                sa.select(Administration)
                .where(Administration.subject_id == subject.id)
                .order_by(Administration.cycle)
            ).scalars()
        )
        refs: dict[int, tuple[str, str, float]] = {}
        for adm in admins:
            row = (
                session.execute(
                    sa.select(DosimetryResult)
                    .where(DosimetryResult.administration_id == adm.id)
                    .where(DosimetryResult.analysis_ref.is_not(None))
                    .where(DosimetryResult.method.startswith(METHOD_PREFIX))
                    .order_by(DosimetryResult.id.desc())
                )
                .scalars()
                .first()
            )
            if row is not None and row.analysis_ref:
                refs[adm.cycle] = (row.analysis_ref, row.recorded_by, adm.net_activity_mbq / 1e3)
        cycles = [a.cycle for a in admins]
    runs = {}
    for cycle, (ref, by, gbq) in refs.items():
        folder = resolve_run(root, ref)
        runs[cycle] = LinkedRun(cycle, ref, folder, read_results(folder), gbq, by)
    return runs, cycles


def _finite_dose(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(name, value, "not a number")
    if not math.isfinite(value) or value < 0:
        raise ValidationError(name, value, "must be a finite dose ≥ 0 Gy")
    return float(value)


def link_run(
    ctx: ServiceContext, actor: Actor, code: str, cycle: int, root: Path, ref: str
) -> list[int]:
    """Record a run's organ, tumour and red-marrow doses for ``cycle``; return the row ids.

    Raises
    ------
    ValidationError
        The folder is not a run of this cycle, or a dose is not a finite number ≥ 0.
    """
    require_permission(actor, "dosimetry.record")
    folder = resolve_run(root, ref)
    doc = read_results(folder)
    if doc.get("cycle") != cycle:
        raise ValidationError(
            "analysis_ref", ref, f"the run is of cycle {doc.get('cycle')}, not cycle {cycle}"
        )
    method = f"{METHOD_PREFIX}, {doc['engine']} engine"
    rows: list[tuple[str, float, float | None, str]] = []
    for r in doc["regions"]:
        if r.get("kind") == "remainder":
            continue
        name = _region_name(r, doc)
        dose = _finite_dose(f"{name}.dose_gy", r.get("dose_gy"))
        if dose is None:
            raise ValidationError(f"{name}.dose_gy", None, "missing in results.json")
        rows.append((name, dose, _finite_dose(f"{name}.bed_gy", r.get("bed_gy")), method))
    marrow = planning_marrow_row(doc)
    if marrow is not None:
        dose = _finite_dose("red_marrow.dose_gy", marrow.get("dose_gy"))
        if dose is not None:
            rows.append(("red_marrow", dose, None, f"{method}, {marrow.get('method')}-based"))
    # every value is checked before the first write, so a bad file records nothing
    clean_ref = PurePosixPath(ref.strip().replace("\\", "/")).as_posix()
    return [
        record_dosimetry(
            ctx,
            actor,
            code,
            cycle=cycle,
            target=target,
            absorbed_dose_gy=dose,
            bed_gy=bed,
            method=m,
            analysis_ref=clean_ref,
        )
        for target, dose, bed, m in rows
    ]


def _region_name(r: dict[str, Any], doc: dict[str, Any]) -> str:
    """The region's name, told apart from the red-marrow estimate where both exist: the
    imaged bone region called ``red_marrow`` is not the marrow dose the limit applies to."""
    name = str(r["region"])
    if name == "red_marrow" and r.get("kind") != "marrow" and planning_marrow_row(doc) is not None:
        return "red_marrow (image region)"
    return name


def cycle_doses(run: LinkedRun) -> list[CycleDose]:
    """The run's results in the form :func:`plan_next_cycle` takes (every region; the plan
    picks the organs the protocol limits). Red marrow: the image-based estimate if present."""
    doc = run.doc
    gbq = float(doc["administered_activity_gbq"])
    out = [
        CycleDose(
            _region_name(r, doc),
            run.cycle,
            gbq,
            float(r["dose_gy"]),
            r.get("bed_gy"),
            r.get("bed_g_factor"),
            r.get("alpha_beta_gy"),
        )
        for r in doc["regions"]
        if r.get("kind") != "remainder" and r.get("dose_gy") is not None
    ]
    marrow = planning_marrow_row(doc)
    if marrow is not None and marrow.get("dose_gy") is not None:
        out.append(CycleDose("red_marrow", run.cycle, gbq, float(marrow["dose_gy"])))
    return out


@dataclass(frozen=True)
class LimitCheck:
    quantity: str
    limit_gy: float
    condition: str | None
    cumulative_gy: float | None
    fraction: float | None  # cumulative / limit
    source: str


@dataclass(frozen=True)
class RegionRow:
    name: str
    kind: str
    mass_g: float | None
    dose_gy: float
    dose_sd_gy: float | None
    dose_per_gbq_gy: float | None
    bed_gy: float | None
    eqd2_gy: float | None
    tac_model: str | None
    effective_half_life_h: float | None
    cumulative_dose_gy: float
    cumulative_bed_gy: float | None
    limits: list[LimitCheck] = field(default_factory=list)
    plot: str | None = None


@dataclass(frozen=True)
class Recorded:
    """A dosimetry result as the registry holds it (no run folder behind it)."""

    target: str
    dose_gy: float
    bed_gy: float | None
    method: str
    analysis_ref: str | None
    recorded_by: str


def recorded_doses(
    ctx: ServiceContext, actor: Actor, code: str
) -> dict[int, tuple[float, list[Recorded]]]:
    """Per cycle: net administered activity (GBq) and the latest result per target."""
    require_permission(actor, "trial.read")
    out: dict[int, tuple[float, list[Recorded]]] = {}
    with ctx.registry.read() as session:
        rows = session.execute(
            sa.select(Administration, DosimetryResult)
            .join(Subject, Subject.id == Administration.subject_id)
            .join(DosimetryResult, DosimetryResult.administration_id == Administration.id)
            .where(Subject.code == code)
            .order_by(Administration.cycle, DosimetryResult.id)
        ).all()
        for adm, d in rows:
            _gbq, latest = out.setdefault(adm.cycle, (adm.net_activity_mbq / 1e3, []))
            latest[:] = [r for r in latest if r.target != d.target]  # a later result replaces
            latest.append(
                Recorded(
                    d.target, d.absorbed_dose_gy, d.bed_gy, d.method, d.analysis_ref, d.recorded_by
                )
            )
    return out


@dataclass(frozen=True)
class CycleReview:
    code: str
    cycle: int
    run: LinkedRun | None  # None: results recorded in the registry without a run folder
    recorded: list[Recorded]
    cycles_with_dosimetry: list[int]
    regions: list[RegionRow]
    plan: Plan | None
    plan_error: str | None
    kidney_risk_factors: bool
    plots: list[str]
    notes: list[str]
    dose_shape: tuple[int, int, int] | None


def _history(
    runs: dict[int, LinkedRun], recorded: dict[int, tuple[float, list[Recorded]]], upto: int
) -> dict[str, list[CycleDose]]:
    """Every cycle's results up to ``upto``: from the run folder where one is linked (with the
    BED factors a BED limit needs), else from the registry's recorded doses."""
    by_region: dict[str, list[CycleDose]] = {}
    for c in sorted(set(runs) | set(recorded)):
        if c > upto:
            continue
        if c in runs:
            doses = cycle_doses(runs[c])
        else:
            gbq, rows = recorded[c]
            doses = [CycleDose(r.target, c, gbq, r.dose_gy, r.bed_gy) for r in rows]
        for d in doses:
            by_region.setdefault(d.organ, []).append(d)
    return by_region


def review_cycle(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    cycle: int,
    root: Path,
    *,
    kidney_risk_factors: bool = True,
) -> CycleReview | None:
    """The review of ``cycle`` (``None`` when it has no dosimetry yet).

    Cumulative doses add every cycle with dosimetry up to this one; the plan is
    :func:`plan_next_cycle` over the same history, so reviewing cycle 1 after cycle 2 was
    given shows what was planned for cycle 2. A cycle whose doses were recorded without a run
    folder is shown from the registry (dose and BED only; a BED limit then cannot be checked,
    which the plan's notes say).
    """
    runs, cycles = linked_runs(ctx, actor, code, root)
    if cycle not in cycles:
        raise ValidationError("cycle", cycle, f"subject {code} has no administration in it")
    recorded = recorded_doses(ctx, actor, code)
    run = runs.get(cycle)
    if run is None and cycle not in recorded:
        return None
    history = _history(runs, recorded, cycle)
    with_dosimetry = sorted(set(runs) | set(recorded))
    notes = []
    missing = [c for c in cycles if c < cycle and c not in with_dosimetry]
    if missing:
        notes.append(
            f"cycles {missing} have no dosimetry: cumulative doses and the plan leave them out "
            "and understate the dose so far"
        )
    wanted = "with_risk_factors" if kidney_risk_factors else "without_risk_factors"
    files = [] if run is None else [str(f) for f in run.doc.get("files", [])]
    plots = [
        f.removeprefix("plots/") for f in files if f.startswith("plots/") and f.endswith(".png")
    ]

    def cumulative(name: str) -> tuple[float, float | None]:
        hist = history.get(name, [])
        bed = None if any(h.bed_gy is None for h in hist) else sum(h.bed_gy or 0.0 for h in hist)
        return sum(h.dose_gy for h in hist), bed

    rows = []
    if run is not None:
        rel = abs(float(run.doc["administered_activity_gbq"]) - run.net_activity_gbq)
        if run.net_activity_gbq > 0 and rel / run.net_activity_gbq > 0.02:
            notes.append(
                f"the run assumed {run.doc['administered_activity_gbq']:.4g} GBq, the "
                f"registry's net administered activity is {run.net_activity_gbq:.4g} GBq"
            )
        for r in run.doc["regions"]:
            if r.get("kind") != "remainder":
                name = _region_name(r, run.doc)
                row = _region_row(ctx, r, name, *cumulative(name), wanted, plots)
                if name != r["region"]:  # its TAC plot keeps the run's file name
                    tac = f"tac_{r['region']}.png"
                    row = replace(row, plot=tac if tac in plots else None)
                rows.append(row)
        marrow = planning_marrow_row(run.doc)
        if marrow is not None and marrow.get("dose_gy") is not None:
            entry = {
                "kind": "marrow",
                "mass_g": marrow.get("mass_g"),
                "dose_gy": marrow["dose_gy"],
                "dose_sd_gy": marrow.get("dose_sd_gy"),
                "tac_model": f"{marrow.get('method')}-based",
            }
            cum_dose, _ = cumulative("red_marrow")
            rows.append(_region_row(ctx, entry, "red_marrow", cum_dose, None, wanted, plots))
    else:
        gbq, recs = recorded[cycle]
        for rec in recs:
            entry = {
                "kind": "recorded",
                "dose_gy": rec.dose_gy,
                "dose_per_gbq_gy": rec.dose_gy / gbq if gbq > 0 else None,
                "bed_gy": rec.bed_gy,
                "tac_model": rec.method,
            }
            rows.append(_region_row(ctx, entry, rec.target, *cumulative(rec.target), wanted, plots))
    plan = None
    plan_error = None
    try:
        plan = plan_next_cycle(
            [d for ds in history.values() for d in ds],
            ctx.protocol,
            kidney_risk_factors=kidney_risk_factors,
        )
    except (ValueError, ValidationError) as exc:
        plan_error = str(exc)
    shape = None
    if run is not None and "dose.nii.gz" in files and (run.folder / "dose.nii.gz").is_file():
        shape = _dose_volume(run.folder).array.shape
    return CycleReview(
        code, cycle, run, recorded.get(cycle, (0.0, []))[1], with_dosimetry, rows, plan,
        plan_error, kidney_risk_factors, plots, notes, shape,
    )  # fmt: skip


def _region_row(
    ctx: ServiceContext,
    r: dict[str, Any],
    name: str,
    cum_dose: float,
    cum_bed: float | None,
    wanted: str,
    plots: list[str],
) -> RegionRow:
    limits = []
    for lim in ctx.protocol.organ_limits:
        if lim.organ != name or lim.limit_gy is None:
            continue
        if lim.condition is not None and lim.condition != wanted:
            continue
        cum = cum_dose if lim.quantity == "absorbed_dose" else cum_bed
        limits.append(
            LimitCheck(
                lim.quantity,
                lim.limit_gy,
                lim.condition,
                cum,
                None if cum is None else cum / lim.limit_gy,
                lim.source,
            )
        )
    plot = f"tac_{name}.png"
    return RegionRow(
        name=name,
        kind=str(r.get("kind", "")),
        mass_g=r.get("mass_g"),
        dose_gy=float(r["dose_gy"]),
        dose_sd_gy=r.get("dose_sd_gy"),
        dose_per_gbq_gy=r.get("dose_per_gbq_gy"),
        bed_gy=r.get("bed_gy"),
        eqd2_gy=r.get("eqd2_gy"),
        tac_model=r.get("tac_model"),
        effective_half_life_h=r.get("effective_half_life_h"),
        cumulative_dose_gy=cum_dose,
        cumulative_bed_gy=cum_bed,
        limits=limits,
        plot=plot if plot in plots else None,
    )


def _dose_volume(folder: Path) -> Any:
    from radiotrial.imaging import read_nifti

    path = folder / "dose.nii.gz"
    stamp = path.stat().st_mtime_ns
    return _cached(_volume_cache, (str(path), stamp), lambda: read_nifti(path, units="Gy")[0])


def _ct_volume(folder: Path) -> Any:
    """The run's CT on the dose grid (``ct.nii.gz``), or None for runs written without it."""
    from radiotrial.imaging import read_nifti

    path = folder / "ct.nii.gz"
    if not path.is_file():
        return None
    stamp = path.stat().st_mtime_ns
    return _cached(_volume_cache, (str(path), stamp), lambda: read_nifti(path, units="HU")[0])


_AXES: dict[str, int] = {"axial": 0, "coronal": 1, "sagittal": 2}


def slice_position(folder: Path, axis: str, index: int | None) -> tuple[int, int]:
    """The slice to show on ``axis`` (default: through the dose maximum) and the slice count.

    Raises
    ------
    ValidationError
        Unknown axis or an index outside the volume.
    """
    if axis not in _AXES:
        raise ValidationError("axis", axis, "axial, coronal or sagittal")
    dose = np.asarray(_dose_volume(folder).array)
    n = dose.shape[_AXES[axis]]
    if index is None:
        index = int(np.unravel_index(int(np.argmax(dose)), dose.shape)[_AXES[axis]])
    if not 0 <= index < n:
        raise ValidationError("index", index, f"0 to {n - 1} for the {axis} axis")
    return index, n


def render_slice(folder: Path, axis: str, index: int | None) -> bytes:
    """PNG of one slice of the run's ``dose.nii.gz``.

    The colour scale is fixed to the whole volume's maximum so that slices compare; the slice
    is drawn with the voxel aspect ratio, head up in coronal and sagittal views (as the run's
    own dose-over-CT plot).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    index, n = slice_position(folder, axis, index)
    vol = _dose_volume(folder)
    dose = np.asarray(vol.array, dtype=np.float64)
    dz, dy, dx = vol.spacing_mm
    ct = _ct_volume(folder)

    def cut(arr: Any) -> tuple[Any, float]:
        if axis == "axial":
            return arr[index], dy / dx
        if axis == "coronal":
            return arr[::-1, index, :], dz / dx
        return arr[::-1, :, index], dz / dy

    img, aspect = cut(dose)
    top = float(dose.max()) or 1.0
    fig = Figure(figsize=(5, 5))
    FigureCanvasAgg(fig)  # the object API: no pyplot state shared between request threads
    ax = fig.add_subplot()
    if ct is not None:  # dose over CT, low doses transparent (as the run's own overlay plot)
        ax.imshow(cut(np.asarray(ct.array))[0], cmap="gray", vmin=-300, vmax=400, aspect=aspect)
        img = np.ma.masked_less(img, 0.02 * top)
    im = ax.imshow(
        img, cmap="inferno", vmin=0.0, vmax=top, aspect=aspect, alpha=0.6 if ct is not None else 1.0
    )
    fig.colorbar(im, ax=ax, label="absorbed dose (Gy)", shrink=0.8)
    ax.set_title(f"{axis} slice {index} ({index + 1} of {n})")
    ax.set_axis_off()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()
