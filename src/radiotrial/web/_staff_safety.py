"""Staff pages: adverse events with automatic CTCAE v5.0 grading, and signed DLT adjudication.

A laboratory adverse event is graded by :func:`radiotrial.safety.grade_lab` from the value and
the laboratory's limits (the rule that decided is shown); a clinical event takes the grade the
investigator gives. The event goes through :func:`radiotrial.services.report_adverse_event`
(CDISC SDTM AE names; the CTCAE category decides haematologic vs non-haematologic). The
rule-based DLT proposal of :func:`radiotrial.services.propose_dlt` is shown next to each event;
the investigator's adjudication is e-signed with the password
(:func:`radiotrial.services.adjudicate_dlt`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from radiotrial.errors import ValidationError
from radiotrial.registry import Actor
from radiotrial.safety import OUTCOMES, LabGrade, ctcae_terms, get_term, grade_lab
from radiotrial.services import (
    ATTRIBUTIONS,
    ServiceContext,
    adjudicate_dlt,
    propose_dlt,
    report_adverse_event,
    update_adverse_event,
)
from radiotrial.web._auth import StaffSession
from radiotrial.web._staff import _checked_form, _state, require, site_zone

__all__ = ["grade_event", "grade_from_form", "safety_context", "safety_router"]

safety_router = APIRouter(prefix="/staff", include_in_schema=False)


def safety_context(ctx: ServiceContext, actor: Actor, code: str) -> dict[str, Any]:
    """What the subject page shows for safety: CTCAE terms, DLT rules, the rule-based proposal."""
    proposal = propose_dlt(ctx, actor, code)
    return {
        "ctcae_terms": [
            {"term": t.term, "unit": t.unit, "lab": bool(t.lab_grades), "category": t.category}
            for t in ctcae_terms().values()
        ],
        "attributions": ATTRIBUTIONS,
        "ae_outcomes": OUTCOMES,
        "dlt_rules": list(ctx.protocol.dlt.rules),
        "dlt_proposal": proposal,
        "proposal_by_event": {e["AESEQ"]: e for e in proposal.get("events", [])},
    }


def _site_time(name: str, raw: str, zone: ZoneInfo, *, required: bool) -> datetime | None:
    raw = raw.strip()
    if not raw:
        if required:
            raise ValidationError(name, raw, f"required (site time, {zone.key})")
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=zone)
    except ValueError:
        raise ValidationError(name, raw, "a date and time (YYYY-MM-DDTHH:MM)") from None


def _number(name: str, raw: str) -> float | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValidationError(name, raw, "a number") from None


def grade_event(
    *,
    ctcae_term: str | None,
    aeterm: str | None,
    value: float | None,
    unit: str | None = None,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    aetoxgr: int | None = None,
) -> tuple[str, int, LabGrade | None]:
    """The CTCAE term, grade and (for a laboratory value) the grading rule of an event.

    With a laboratory value the grade is :func:`grade_lab`'s, never typed; grade 0 (within the
    normal range by CTCAE) is refused: it is not an adverse event. Without a value the
    investigator's grade is used. The staff form and the API both grade this way.
    """
    term = (ctcae_term or "").strip()
    verbatim = (aeterm or "").strip()
    if value is not None:
        if not term:
            raise ValidationError("ctcae_term", term, "a laboratory value needs its CTCAE term")
        lab = grade_lab(
            term, value, (unit or "").strip() or (get_term(term).unit or ""),
            lln=lln, uln=uln, baseline=baseline,
        )  # fmt: skip
        if lab.grade == 0:
            raise ValidationError(
                "value", value, f"grade 0 by {lab.version} ({lab.rule}): not an adverse event"
            )
        return lab.term, lab.grade, lab
    if aetoxgr not in (1, 2, 3, 4, 5):
        raise ValidationError("AETOXGR", aetoxgr, "give a laboratory value or a CTCAE grade 1-5")
    if term:
        term = get_term(term).term
    if not (term or verbatim):
        raise ValidationError("AETERM", verbatim, "required")
    return term or verbatim, aetoxgr, None


def grade_from_form(data: dict[str, str]) -> tuple[str, int, LabGrade | None]:
    """:func:`grade_event` from the adverse-event form's fields (text as typed)."""
    raw = data.get("aetoxgr", "").strip()
    if raw not in ("", "1", "2", "3", "4", "5"):
        raise ValidationError("AETOXGR", raw, "CTCAE grade 1-5")
    return grade_event(
        ctcae_term=data.get("ctcae_term"),
        aeterm=data.get("aeterm"),
        value=_number("value", data.get("value", "")),
        unit=data.get("unit"),
        lln=_number("lln", data.get("lln", "")),
        uln=_number("uln", data.get("uln", "")),
        baseline=_number("baseline", data.get("baseline", "")),
        aetoxgr=int(raw) if raw else None,
    )


def _back(code: str, note: str) -> Response:
    return RedirectResponse(
        f"/staff/subjects/{code}?note={quote(note)}#adverse-events", status_code=303
    )


@safety_router.post("/subjects/{code}/adverse-events")
async def report_event(
    request: Request, code: str, session: Annotated[StaffSession, require("ae.report")]
) -> Response:
    data = await _checked_form(request, session)
    decod, grade, lab = grade_from_form(data)
    aerel = data.get("aerel", "")
    if aerel not in ATTRIBUTIONS:
        raise ValidationError("AEREL", aerel, f"one of {ATTRIBUTIONS}")
    aeser = data.get("aeser", "N")
    if aeser not in ("Y", "N"):
        raise ValidationError("AESER", aeser, "Y or N")
    start = _site_time("AESTDTC", data.get("aestdtc", ""), site_zone(request), required=True)
    assert start is not None
    end = _site_time("AEENDTC", data.get("aeendtc", ""), site_zone(request), required=False)
    verbatim = data.get("aeterm", "").strip() or decod
    ctx = _state(request).services
    aespid = await run_in_threadpool(
        lambda: report_adverse_event(
            ctx, session.actor, code, aeterm=verbatim, aedecod=decod, aetoxgr=grade,
            aestdtc=start, aeendtc=end, aerel=aerel,  # type: ignore[arg-type]
            aeser=aeser,  # type: ignore[arg-type]
            aeout=data.get("aeout") or None, aeacn=data.get("aeacn") or None,
        )
    )  # fmt: skip
    how = f"graded {grade} from the value ({lab.rule})" if lab else f"grade {grade} as reported"
    return _back(code, f"Adverse event {aespid} recorded: {decod}, {how}.")


@safety_router.post("/subjects/{code}/adverse-events/{aespid}/update")
async def update_event(
    request: Request,
    code: str,
    aespid: int,
    session: Annotated[StaffSession, require("ae.report")],
) -> Response:
    data = await _checked_form(request, session)
    changes: dict[str, Any] = {}
    if data.get("aetoxgr", "").strip():
        grade = data["aetoxgr"].strip()
        if grade not in ("1", "2", "3", "4", "5"):
            raise ValidationError("AETOXGR", grade, "CTCAE grade 1-5")
        changes["aetoxgr"] = int(grade)
    end = _site_time("AEENDTC", data.get("aeendtc", ""), site_zone(request), required=False)
    if end is not None:
        changes["aeendtc"] = end
    if data.get("aeout", "").strip():
        changes["aeout"] = data["aeout"].strip()
    if not changes:
        raise ValidationError("changes", {}, "change the grade, the end date or the outcome")
    ctx = _state(request).services
    await run_in_threadpool(
        lambda: update_adverse_event(
            ctx, session.actor, code, aespid, changes, reason=data.get("reason", "")
        )
    )
    return _back(code, f"Adverse event {aespid} updated; any earlier DLT adjudication is void.")


@safety_router.post("/subjects/{code}/adverse-events/{aespid}/adjudicate")
async def adjudicate_event(
    request: Request,
    code: str,
    aespid: int,
    session: Annotated[StaffSession, require("dlt.adjudicate")],
) -> Response:
    data = await _checked_form(request, session)
    verdict = data.get("is_dlt", "")
    if verdict not in ("yes", "no"):
        raise HTTPException(422)
    ctx = _state(request).services
    out = await run_in_threadpool(
        lambda: adjudicate_dlt(
            ctx, session.actor, code, aespid, is_dlt=verdict == "yes",
            rationale=data.get("rationale", ""), password=data.get("password", ""),
            rule_id=(data.get("rule_id") or None) if verdict == "yes" else None,
        )
    )  # fmt: skip
    what = "a DLT" if out["is_dlt"] else "not a DLT"
    window = "inside" if out["in_window"] else "outside"
    return _back(
        code, f"Adverse event {aespid} adjudicated {what} ({window} the DLT window), signed."
    )
