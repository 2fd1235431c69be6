"""Adverse events (CDISC SDTM AE names) and DLT adjudication against the protocol's rules."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    Actor,
    Administration,
    AdverseEvent,
    DltAdjudication,
    require_permission,
    require_reason,
    sign_record,
)
from radiotrial.registry._audit import audited_create, audited_update
from radiotrial.services._context import ServiceContext, get_subject
from radiotrial.units import check_aware

__all__ = [
    "ATTRIBUTIONS",
    "adjudicate_dlt",
    "propose_dlt",
    "report_adverse_event",
    "update_adverse_event",
]

ATTRIBUTIONS = ("unrelated", "unlikely", "possible", "probable", "definite")
_AE_FIELDS = {"aeterm", "aedecod", "aebodsys", "aetoxgr", "aeser", "aerel", "aeacn", "aeout",
              "aestdtc", "aeendtc", "haematologic"}  # fmt: skip


def _default_category(aedecod: str, aebodsys: str | None) -> str:
    from radiotrial.safety import event_category, parse_adverse_event

    ae = parse_adverse_event(
        {"USUBJID": "x", "AESEQ": 1, "AETERM": aedecod, "AEDECOD": aedecod, "AEBODSYS": aebodsys,
         "AETOXGR": 1, "AESER": "N", "AEREL": "unrelated", "AESTDTC": "2000-01-01"}
    )  # fmt: skip
    return event_category(ae)


def _sdtm(ae: AdverseEvent | dict[str, Any], code: str) -> dict[str, Any]:
    """A registry adverse event (or its column values) as an SDTM AE record for
    :mod:`radiotrial.safety`; dates by calendar day, the resolution of SDTM dates."""
    f = ae if isinstance(ae, dict) else {k: getattr(ae, k) for k in (*_AE_FIELDS, "aespid")}
    end = f.get("aeendtc")
    return {
        "USUBJID": code, "AESEQ": f.get("aespid") or 1, "AETERM": f["aeterm"],
        "AEDECOD": f["aedecod"], "AEBODSYS": f.get("aebodsys"), "AETOXGR": f["aetoxgr"],
        "AESER": f["aeser"], "AEREL": f["aerel"], "AEACN": f.get("aeacn"),
        "AEOUT": f.get("aeout"), "AESTDTC": f["aestdtc"].date().isoformat(),
        "AEENDTC": None if end is None else end.date().isoformat(),
    }  # fmt: skip


def _administration_dates(session: Any, subject_id: int) -> dict[int, date]:
    admins = session.execute(
        sa.select(Administration).where(Administration.subject_id == subject_id)
    ).scalars()
    return {a.cycle: a.administered_at.date() for a in admins}


def _category(ae: AdverseEvent) -> Literal["haematologic", "non_haematologic"]:
    return "haematologic" if ae.haematologic else "non_haematologic"


def propose_dlt(ctx: ServiceContext, actor: Actor, code: str) -> dict[str, Any]:
    """The rule-based DLT verdicts of :func:`radiotrial.safety.adjudicate_dlt` for a subject.

    A proposal for the investigator, who records the adjudication (e-signed) with
    :func:`adjudicate_dlt`; nothing is written here. Dates are compared by calendar day (the
    resolution of SDTM dates).
    """
    from radiotrial.safety import adjudicate_dlt as rule_based

    require_permission(actor, "trial.read")
    now = ctx.now()
    with ctx.registry.read() as session:
        subject = get_subject(session, code)
        administrations = _administration_dates(session, subject.id)
        if min(ctx.protocol.dlt.evaluated_cycles) not in administrations:
            return {"subject": code, "status": "pending", "reason": "no evaluated cycle given yet",
                    "events": []}  # fmt: skip
        events = list(
            session.execute(
                sa.select(AdverseEvent).where(AdverseEvent.subject_id == subject.id)
            ).scalars()
        )
        off = subject.status_at.date() if subject.status in ("off-study", "withdrawn") else None
        outcome = rule_based(
            [_sdtm(ae, code) for ae in events], definition=ctx.protocol.dlt,
            administrations=administrations, as_of=now.date(), subject_id=code,
            dose_level=subject.dose_level, off_study=off,
            categories={ae.aespid: _category(ae) for ae in events},
        )  # fmt: skip
    return {
        "subject": code,
        "status": outcome.status,
        "reason": outcome.reason,
        "events": [e.to_dict() for e in outcome.events],
    }


def _check_ae(fields: dict[str, Any], now: datetime) -> None:
    """Refuse a bad adverse event, naming the SDTM variable: grade, AESER, AEREL, AEACN and
    AEOUT against the CDISC codelists (:data:`radiotrial.safety.ACTION_TAKEN`, ``OUTCOMES``),
    grade 5 ⇔ FATAL, dates in the future or an end before the start."""
    from radiotrial.safety import ACTION_TAKEN, OUTCOMES, parse_adverse_event

    grade = fields.get("aetoxgr")
    if grade is not None and (isinstance(grade, bool) or grade not in (1, 2, 3, 4, 5)):
        raise ValidationError("AETOXGR", grade, "CTCAE v5.0 grade is an integer 1-5")
    if "aeser" in fields and fields["aeser"] not in ("Y", "N"):
        raise ValidationError("AESER", fields["aeser"], "Y or N")
    if "aerel" in fields and fields["aerel"] not in ATTRIBUTIONS:
        raise ValidationError("AEREL", fields["aerel"], f"one of {ATTRIBUTIONS}")
    for key, codelist, name in (("aeacn", ACTION_TAKEN, "ACN (C66767)"),
                                ("aeout", OUTCOMES, "OUT (C66768)")):  # fmt: skip
        value = fields.get(key)
        if value is not None and value not in codelist:
            raise ValidationError(
                key.upper(), value, f"not in the CDISC codelist {name}: {', '.join(codelist)}"
            )
    for key in ("aeterm", "aedecod"):
        if key in fields and not str(fields[key]).strip():
            raise ValidationError(key.upper(), fields[key], "required")
    start, end = fields.get("aestdtc"), fields.get("aeendtc")
    if start is not None:
        check_aware("AESTDTC", start)
        if start > now:
            raise ValidationError("AESTDTC", start.isoformat(), "in the future")
    if end is not None:
        check_aware("AEENDTC", end)
        if end > now:
            raise ValidationError("AEENDTC", end.isoformat(), "in the future")
        if start is not None and end < start:
            raise ValidationError("AEENDTC", end.isoformat(), "before AESTDTC")
    parse_adverse_event(_sdtm(fields, "check"))  # cross-field SDTM rules (grade 5 ⇔ FATAL)


def report_adverse_event(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    *,
    aeterm: str,
    aetoxgr: int,
    aestdtc: datetime,
    aerel: Literal["unrelated", "unlikely", "possible", "probable", "definite"],
    haematologic: bool | None = None,
    aedecod: str | None = None,
    aebodsys: str | None = None,
    aeser: Literal["Y", "N"] = "N",
    aeacn: str | None = None,
    aeout: str | None = None,
    aeendtc: datetime | None = None,
) -> int:
    """Report an adverse event; returns its sponsor-defined identifier AESPID.

    ``haematologic`` defaults to the CTCAE v5.0 category of AEDECOD (or the system organ class
    "Blood and lymphatic system disorders") as :func:`radiotrial.safety.event_category` gives it.
    """
    require_permission(actor, "ae.report")
    if haematologic is None:
        haematologic = _default_category(aedecod or aeterm, aebodsys) == "haematologic"
    fields: dict[str, Any] = {
        "aeterm": aeterm.strip(),
        "aedecod": (aedecod or aeterm).strip(),
        "aebodsys": aebodsys,
        "aetoxgr": aetoxgr,
        "aeser": aeser,
        "aerel": aerel,
        "aeacn": aeacn,
        "aeout": aeout,
        "aestdtc": aestdtc,
        "aeendtc": aeendtc,
        "haematologic": bool(haematologic),
    }
    _check_ae(fields, ctx.now())
    with ctx.registry.write() as session:
        subject = get_subject(session, code, lock=True)
        if subject.enrolled_at is None:
            raise ValidationError(
                "subject", code, "adverse events are reported for enrolled subjects"
            )
        last_adm = (
            session.execute(
                sa.select(Administration)
                .where(Administration.subject_id == subject.id)
                .where(Administration.administered_at <= aestdtc)
                .order_by(Administration.cycle.desc())
            )
            .scalars()
            .first()
        )
        n = session.execute(
            sa.select(sa.func.max(AdverseEvent.aespid)).where(AdverseEvent.subject_id == subject.id)
        ).scalar_one()
        ae = AdverseEvent(
            subject_id=subject.id,
            aespid=(n or 0) + 1,
            cycle=None if last_adm is None else last_adm.cycle,
            reported_by=actor.username,
            **fields,
        )
        audited_create(session, actor, ae, subject_code=code)
        return ae.aespid


def _get_ae(session: Any, code: str, aespid: int) -> tuple[Any, AdverseEvent]:
    subject = get_subject(session, code)
    ae = session.execute(
        sa.select(AdverseEvent).where(
            AdverseEvent.subject_id == subject.id, AdverseEvent.aespid == aespid
        )
    ).scalar_one_or_none()
    if ae is None:
        raise ValidationError("AESPID", aespid, f"subject {code} has no such adverse event")
    return subject, ae


def update_adverse_event(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    aespid: int,
    changes: dict[str, Any],
    *,
    reason: str,
) -> None:
    """Change an adverse event (grade, outcome, end date, …) with a reason; any DLT
    adjudication of the earlier version must be redone (its signature becomes void)."""
    require_permission(actor, "ae.report")
    reason = require_reason(reason, "change an adverse event")
    unknown = sorted(set(changes) - _AE_FIELDS)
    if unknown:
        raise ValidationError("changes", unknown, f"editable fields: {sorted(_AE_FIELDS)}")
    with ctx.registry.write() as session:
        _subject, ae = _get_ae(session, code, aespid)
        _check_ae({**{k: getattr(ae, k) for k in _AE_FIELDS}, **changes}, ctx.now())
        audited_update(session, actor, ae, changes, reason=reason, subject_code=code)


def adjudicate_dlt(
    ctx: ServiceContext,
    actor: Actor,
    code: str,
    aespid: int,
    *,
    is_dlt: bool,
    rationale: str,
    password: str,
    rule_id: str | None = None,
) -> dict[str, Any]:
    """The investigator's DLT adjudication of one adverse event, e-signed.

    A DLT must name the protocol rule it meets: :func:`radiotrial.safety.rule_fit` checks
    category, terms, grade, attribution and duration. ``in_window`` records whether the event
    began inside the DLT window of an evaluated cycle (:func:`radiotrial.safety.onset_in_window`:
    day 0 to day ``window − 1``); only such DLTs count for escalation. A second adjudication
    (after the event changed) updates the record with the rationale as reason; the earlier
    signature reads void from the moment the event changed (it binds the event too).
    """
    from radiotrial.safety import dlt_windows, onset_in_window, parse_adverse_event, rule_fit

    require_permission(actor, "dlt.adjudicate")
    rationale = require_reason(rationale, "adjudicate a DLT")
    now = ctx.now()
    rules = {r.id: r for r in ctx.protocol.dlt.rules}
    with ctx.registry.write() as session:
        subject, ae = _get_ae(session, code, aespid)
        event = parse_adverse_event(_sdtm(ae, code))
        if is_dlt:
            if rule_id not in rules:
                raise ValidationError("rule_id", rule_id, f"a DLT must name one of {list(rules)}")
            fits, why = rule_fit(rules[rule_id], event, as_of=now.date(), category=_category(ae))
            if fits is not True:
                raise ValidationError(
                    "rule_id", rule_id, why if fits is False else f"not yet decidable: {why}"
                )
        elif rule_id is not None:
            raise ValidationError("rule_id", rule_id, "only a DLT names a rule")
        windows = dlt_windows(ctx.protocol.dlt, _administration_dates(session, subject.id))
        in_window = onset_in_window(event, windows) is True
        values = {
            "adverse_event_version": ae.version,
            "is_dlt": is_dlt,
            "rule_id": rule_id,
            "in_window": in_window,
            "rationale": rationale,
            "adjudicated_by": actor.username,
            "adjudicated_at": now,
        }
        adj = session.execute(
            sa.select(DltAdjudication).where(DltAdjudication.adverse_event_id == ae.id)
        ).scalar_one_or_none()
        if adj is None:
            adj = DltAdjudication(adverse_event_id=ae.id, **values)
            audited_create(session, actor, adj, subject_code=code)
        else:
            audited_update(session, actor, adj, values, reason=rationale, subject_code=code)
        sign_record(
            session, actor, password, adj, meaning="responsibility", reason=rationale,
            subject_code=code,
        )  # fmt: skip
        return {"subject": code, "aespid": aespid, **values}
