"""Staff pages: the trial's escalation view.

Patients and DLTs per dose level and the design's recommendation with its reason come from
:func:`radiotrial.services.trial_status`. Dose-transition pathways (Yap et al., Clin Cancer Res
2017;23:7440) and exact operating characteristics come from :mod:`radiotrial.escalation`
(``dose_transition_pathways``, :func:`~radiotrial.escalation.exact_oc`) for the protocol's
design (:func:`radiotrial.services.design_for`), as tables and as PNG plots drawn by the
escalation package's own plotting functions.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from radiotrial.errors import ValidationError
from radiotrial.escalation import OperatingCharacteristics, Patient, TrialState, exact_oc
from radiotrial.registry import Actor, require_permission
from radiotrial.services import ServiceContext, design_for, escalation_state, trial_status
from radiotrial.web._staff import Reader, _page, _state

__all__ = [
    "choose_truth",
    "decided_state",
    "escalation_router",
    "escalation_summary",
    "operating_characteristics",
    "parse_truth",
]

escalation_router = APIRouter(prefix="/staff", include_in_schema=False)
_PNG_HEADERS = {"Cache-Control": "private, no-store"}


def decided_state(ctx: ServiceContext, actor: Actor) -> tuple[TrialState, int]:
    """The trial state without the cohorts whose DLT outcomes are still pending, and how many
    cohorts were left out: the pathways then start from the decision that opened them."""
    require_permission(actor, "trial.read")
    with ctx.registry.read() as session:
        state, _cohorts, _outcomes = escalation_state(session, ctx.protocol, ctx.now())
    # the first pending cohort and every later one are left out (they cannot be decided)
    first_pending = next(
        (k for k, c in enumerate(state.cohorts) if any(state.patients[i].dlt is None for i in c)),
        len(state.cohorts),
    )
    keep = state.cohorts[:first_pending]
    patients: list[Patient] = []
    groups: list[tuple[int, ...]] = []
    for cohort in keep:
        groups.append(tuple(range(len(patients), len(patients) + len(cohort))))
        patients.extend(state.patients[i] for i in cohort)
    reduced = TrialState(state.levels, tuple(patients), tuple(groups))
    return reduced, len(state.cohorts) - len(keep)


def parse_truth(raw: str, n_levels: int) -> list[float]:
    """``"0.05, 0.15, …"`` as one true DLT probability per dose level."""
    try:
        values = [float(x) for x in raw.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise ValidationError("truth", raw, "comma-separated probabilities") from None
    if len(values) != n_levels or not all(0.0 <= v <= 1.0 for v in values):
        raise ValidationError(
            "truth", raw, f"one probability in [0, 1] per dose level ({n_levels} levels)"
        )
    return values


def _scenarios(n_levels: int) -> dict[str, dict[str, Any]]:
    from radiotrial.escalation._data import scenarios

    return {k: v for k, v in scenarios().items() if len(v["truth"]) == n_levels}


_oc_lock = threading.Lock()
_oc_cache: OrderedDict[tuple[str, tuple[float, ...]], OperatingCharacteristics] = OrderedDict()


def operating_characteristics(ctx: ServiceContext, truth: list[float]) -> OperatingCharacteristics:
    """Exact OCs of the protocol's design under ``truth`` (cached: the design is fixed)."""
    key = (ctx.protocol.id, tuple(truth))
    with _oc_lock:
        if key in _oc_cache:
            return _oc_cache[key]
    oc = exact_oc(design_for(ctx.protocol), np.asarray(truth))
    with _oc_lock:
        _oc_cache[key] = oc
        while len(_oc_cache) > 32:
            _oc_cache.popitem(last=False)
    return oc


def choose_truth(
    ctx: ServiceContext, raw: str | None, scenario: str | None
) -> tuple[list[float], str | None]:
    """True DLT rates typed as ``raw``, else those of the shipped ``scenario`` (default: the
    first with the protocol's number of levels); and the scenario's name."""
    n = len(ctx.protocol.dose_levels.activity_gbq)
    raw = (raw or "").strip()
    if raw:
        return parse_truth(raw, n), None
    named = _scenarios(n)
    name = scenario or next(iter(named), None)
    if name is None:
        raise ValidationError("truth", "", f"no shipped scenario has {n} levels; give truth=")
    if name not in named:
        raise ValidationError("scenario", name, f"choose from {', '.join(named)}")
    return [float(x) for x in named[name]["truth"]], name


def _truth(request: Request, ctx: ServiceContext) -> tuple[list[float], str | None]:
    q = request.query_params
    return choose_truth(ctx, q.get("truth"), q.get("scenario"))


def _cohorts(request: Request) -> int:
    raw = request.query_params.get("cohorts", "2")
    if raw not in ("1", "2", "3"):
        raise ValidationError("cohorts", raw, "1, 2 or 3 cohorts ahead")
    return int(raw)


def escalation_summary(
    ctx: ServiceContext, actor: Actor, n_ahead: int, truth: list[float]
) -> dict[str, Any]:
    """What the escalation view shows (the page and the API): the trial status with the
    design's recommendation, dose-transition pathways ``n_ahead`` cohorts from the decided
    cohorts, and the exact operating characteristics under ``truth``."""
    from radiotrial.escalation._pathways import dose_transition_pathways

    status = trial_status(ctx, actor)
    state, left_out = decided_state(ctx, actor)
    nodes = dose_transition_pathways(design_for(ctx.protocol), state, n_ahead)
    return {
        "trial": status,
        "pathways": [nd.to_dict() for nd in nodes],
        "pathway_root": state.outcome_string(),
        "pending_cohorts_left_out": left_out,
        "cohorts_ahead": n_ahead,
        "truth": truth,
        "oc": operating_characteristics(ctx, truth).to_dict(),
    }


@escalation_router.get("/escalation")
def escalation(request: Request, session: Reader) -> Response:
    ctx = _state(request).services
    n_ahead = _cohorts(request)
    truth, scenario = _truth(request, ctx)
    view = escalation_summary(ctx, session.actor, n_ahead, truth)
    n_levels = len(ctx.protocol.dose_levels.activity_gbq)
    query = f"cohorts={n_ahead}&truth={','.join(f'{t:g}' for t in truth)}"
    return _page(
        request,
        session,
        "staff/escalation.html",
        trial=view["trial"],
        trial_json=json.dumps(view["trial"], indent=2, ensure_ascii=False, default=str),
        pathways=view["pathways"],
        pathway_root=view["pathway_root"],
        left_out=view["pending_cohorts_left_out"],
        n_ahead=n_ahead,
        oc=view["oc"],
        truth=truth,
        scenario=scenario,
        scenarios=_scenarios(n_levels),
        query=query,
        design=design_for(ctx.protocol),
    )


_plot_lock = threading.Lock()  # the escalation plots use pyplot, whose state is global


def _png(draw: Any) -> bytes:
    with _plot_lock, tempfile.TemporaryDirectory(prefix="radiotrial-plot-") as tmp:
        path = Path(tmp) / "plot.png"
        draw(path)
        return path.read_bytes()


@escalation_router.get("/escalation/path.png")
async def escalation_path_png(request: Request, session: Reader) -> Response:
    from radiotrial.escalation._plots import plot_escalation_path

    ctx = _state(request).services

    def draw() -> bytes:
        with ctx.registry.read() as db:
            state, _, _ = escalation_state(db, ctx.protocol, ctx.now())
        return _png(lambda p: plot_escalation_path(state, p))

    require_permission(session.actor, "trial.read")
    return Response(await run_in_threadpool(draw), media_type="image/png", headers=_PNG_HEADERS)


@escalation_router.get("/escalation/pathways.png")
async def pathways_png(request: Request, session: Reader) -> Response:
    from radiotrial.escalation._pathways import dose_transition_pathways
    from radiotrial.escalation._plots import plot_pathways

    ctx = _state(request).services
    n_ahead = _cohorts(request)

    def draw() -> bytes:
        state, _ = decided_state(ctx, session.actor)
        nodes = dose_transition_pathways(design_for(ctx.protocol), state, n_ahead)
        return _png(lambda p: plot_pathways(nodes, p, n_levels=state.n_levels))

    return Response(await run_in_threadpool(draw), media_type="image/png", headers=_PNG_HEADERS)


@escalation_router.get("/escalation/oc.png")
async def oc_png(request: Request, session: Reader) -> Response:
    from radiotrial.escalation._plots import plot_oc_bars

    ctx = _state(request).services
    truth, _ = _truth(request, ctx)

    def draw() -> bytes:
        oc = operating_characteristics(ctx, truth)
        return _png(lambda p: plot_oc_bars([oc], p))

    return Response(await run_in_threadpool(draw), media_type="image/png", headers=_PNG_HEADERS)
