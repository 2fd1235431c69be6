"""The services judge the DLT window with radiotrial.safety: day 0 to day 41 of a 42-day window,
closed on day 42 (the day the next 6-week cycle is given)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from radiotrial.errors import ValidationError
from radiotrial.services import (
    ServiceContext,
    adjudicate_dlt,
    enrol,
    propose_dlt,
    record_administration,
    report_adverse_event,
    subject_status,
)
from tests.registry._fixtures import PASSWORD, SQLITE_ONLY, Clock, Staff
from tests.services._helpers import make_eligible


def _treated(ctx: ServiceContext, staff: Staff, clock: Clock, i: int) -> tuple[str, datetime]:
    code = make_eligible(ctx, staff.coordinator, staff.investigator, i)
    enrol(ctx, staff.coordinator, code)
    t = clock.advance(minutes=30)
    record_administration(
        ctx, staff.physicist, code, pre_activity_mbq=1900.0,
        pre_measured_at=t - timedelta(minutes=20), residual_activity_mbq=40.0,
        residual_measured_at=t, administered_at=t,
    )  # fmt: skip
    return code, t


@SQLITE_ONLY
def test_boundary_day_of_the_dlt_window(ctx: ServiceContext, staff: Staff, clock: Clock) -> None:
    code, t0 = _treated(ctx, staff, clock, 70)
    day0 = datetime.combine(t0.date(), datetime.min.time(), UTC)  # day 0: the dose's UTC date
    # the protocol's window is one cycle: day 42 is the day cycle 2 is given
    assert ctx.protocol.dlt.window.to("d") == 42 == ctx.protocol.treatment.cycle_interval.to("d")
    clock.now = day0 + timedelta(days=41, hours=23)
    assert subject_status(ctx, staff.monitor, code)["dlt_outcome"] is None  # day 41: open
    clock.now = day0 + timedelta(days=42)
    assert subject_status(ctx, staff.monitor, code)["dlt_outcome"] is False  # day 42: closed
    clock.advance(days=1)
    # grade 4 thrombocytopenia on day 41 (in) and on day 42 (out): rule-based proposal and
    # the investigator's adjudication agree, both from radiotrial.safety
    seq = {}
    for day in (41, 42):
        seq[day] = report_adverse_event(
            ctx, staff.coordinator, code, aeterm="Platelet count decreased", aetoxgr=4,
            aestdtc=day0 + timedelta(days=day, hours=9), aerel="possible",
        )  # fmt: skip
    proposal = {e["AESEQ"]: e for e in propose_dlt(ctx, staff.monitor, code)["events"]}
    assert proposal[seq[41]]["status"] == "dlt"
    assert proposal[seq[42]]["status"] == "not_dlt"
    assert "outside the DLT window" in proposal[seq[42]]["reason"]
    # an unadjudicated event after the window keeps nothing pending; one inside does
    assert subject_status(ctx, staff.monitor, code)["dlt_outcome"] is None
    out = {
        day: adjudicate_dlt(ctx, staff.investigator, code, seq[day], is_dlt=True,
                            rule_id="DLT-H", rationale="grade 4", password=PASSWORD)
        for day in (41, 42)
    }  # fmt: skip
    assert (out[41]["in_window"], out[42]["in_window"]) == (True, False)
    assert subject_status(ctx, staff.monitor, code)["dlt_outcome"] is True


@SQLITE_ONLY
def test_ae_codelists_are_checked(ctx: ServiceContext, staff: Staff, clock: Clock) -> None:
    from radiotrial.services import update_adverse_event

    code = make_eligible(ctx, staff.coordinator, staff.investigator, 80)
    enrol(ctx, staff.coordinator, code)
    kw = {"aeterm": "Nausea", "aetoxgr": 2, "aestdtc": clock.now, "aerel": "possible"}
    with pytest.raises(ValidationError, match=r"AEACN.*codelist ACN \(C66767\)"):
        report_adverse_event(ctx, staff.coordinator, code, aeacn="stopped", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"AEOUT.*codelist OUT \(C66768\)"):
        report_adverse_event(ctx, staff.coordinator, code, aeout="better", **kw)  # type: ignore[arg-type]
    aespid = report_adverse_event(
        ctx, staff.coordinator, code, aeacn="DOSE NOT CHANGED", aeout="RECOVERING/RESOLVING",
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    # grade 5 is death: its outcome must be FATAL (SDTM), checked by radiotrial.safety
    with pytest.raises(ValidationError, match="FATAL"):
        update_adverse_event(ctx, staff.coordinator, code, aespid, {"aetoxgr": 5},
                             reason="patient died")  # fmt: skip
    update_adverse_event(ctx, staff.coordinator, code, aespid, {"aeout": "RECOVERED/RESOLVED"},
                         reason="resolved at follow-up")  # fmt: skip
