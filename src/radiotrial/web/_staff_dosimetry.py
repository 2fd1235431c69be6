"""Staff pages: dosimetry review per subject and cycle (:mod:`radiotrial.web._dosimetry`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

from radiotrial.errors import ValidationError
from radiotrial.services import subject_status
from radiotrial.web._auth import StaffSession
from radiotrial.web._context import context_of
from radiotrial.web._dosimetry import (
    link_run,
    linked_runs,
    render_slice,
    review_cycle,
    slice_position,
)
from radiotrial.web._staff import Reader, _checked_form, _page, _state, require

__all__ = ["dosimetry_router"]

dosimetry_router = APIRouter(prefix="/staff", include_in_schema=False)
_PLOT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,120}\.png$")
_IMAGE_HEADERS = {"Cache-Control": "private, no-store"}


def _root(request: Request) -> Path:
    return context_of(request).settings.dosimetry_dir


def _available_runs(root: Path) -> list[str]:
    """Folders under the root holding a ``results.json`` (two levels deep), for the form."""
    if not root.is_dir():
        return []
    found = {*root.glob("*/results.json"), *root.glob("*/*/results.json")}
    return sorted(p.parent.relative_to(root).as_posix() for p in found)[:500]


def _index(request: Request) -> int | None:
    raw = request.query_params.get("index")
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError("index", raw, "a slice number") from None


@dosimetry_router.get("/subjects/{code}/cycles/{cycle}/dosimetry")
def dosimetry_page(request: Request, code: str, cycle: int, session: Reader) -> Response:
    ctx = _state(request).services
    risk = request.query_params.get("kidney_risk_factors", "yes") != "no"
    review = review_cycle(ctx, session.actor, code, cycle, _root(request), kidney_risk_factors=risk)
    status = subject_status(ctx, session.actor, code)
    view = None
    if review is not None and review.run is not None and review.dose_shape is not None:
        axis = request.query_params.get("axis", "coronal")
        index, n = slice_position(review.run.folder, axis, _index(request))
        view = {"axis": axis, "index": index, "n": n}
    return _page(
        request,
        session,
        "staff/dosimetry.html",
        s=status,
        cycle=cycle,
        review=review,
        view=view,
        risk=risk,
        runs=_available_runs(_root(request)),
        root=str(_root(request)),
    )


@dosimetry_router.post("/subjects/{code}/cycles/{cycle}/dosimetry")
async def link_dosimetry(
    request: Request,
    code: str,
    cycle: int,
    session: Annotated[StaffSession, require("dosimetry.record")],
) -> Response:
    data = await _checked_form(request, session)
    ctx = _state(request).services
    await run_in_threadpool(
        link_run, ctx, session.actor, code, cycle, _root(request), data.get("analysis_ref", "")
    )
    return RedirectResponse(f"/staff/subjects/{code}/cycles/{cycle}/dosimetry", status_code=303)


def _run_folder(request: Request, session: StaffSession, code: str, cycle: int) -> Path:
    runs, _ = linked_runs(_state(request).services, session.actor, code, _root(request))
    if cycle not in runs:
        raise HTTPException(404)
    return runs[cycle].folder


@dosimetry_router.get("/subjects/{code}/cycles/{cycle}/dosimetry/plots/{name}")
def dosimetry_plot(request: Request, code: str, cycle: int, name: str, session: Reader) -> Response:
    """A PNG the run listed in its ``files`` (never any other path)."""
    runs, _ = linked_runs(_state(request).services, session.actor, code, _root(request))
    run = runs.get(cycle)
    if run is None or not _PLOT_NAME.match(name) or f"plots/{name}" not in run.doc["files"]:
        raise HTTPException(404)
    path = run.folder / "plots" / name
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, media_type="image/png", headers=_IMAGE_HEADERS)


@dosimetry_router.get("/subjects/{code}/cycles/{cycle}/dosimetry/slice.png")
async def dosimetry_slice(request: Request, code: str, cycle: int, session: Reader) -> Response:
    axis = request.query_params.get("axis", "coronal")
    index = _index(request)
    folder = _run_folder(request, session, code, cycle)
    png = await run_in_threadpool(render_slice, folder, axis, index)
    return Response(png, media_type="image/png", headers=_IMAGE_HEADERS)
