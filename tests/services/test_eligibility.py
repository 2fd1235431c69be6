"""The eligibility decision rests on the engine's evaluation of the registry's evidence: each
criterion confirmed or overridden (with a reason, audited), windows counted to the decision day."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

import pytest
import sqlalchemy as sa

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    AuditEntry,
    EligibilityDecision,
    Subject,
    verify_chain,
)
from radiotrial.services import (
    CriterionDecision,
    ServiceContext,
    decide_eligibility,
    evaluate_record,
    evaluate_subject,
    open_screening,
    record_evidence,
    record_patient_record,
    register_prescreen,
    screening_checklist,
    subject_status,
)
from tests.registry._fixtures import PASSWORD, SQLITE_ONLY, Clock, Staff
from tests.services._helpers import confirm_all, identity, screening_evidence


def _screening(ctx: ServiceContext, staff: Staff, i: int, **values: object) -> str:
    code = register_prescreen(ctx, identity(i), consents={"contact": True}).reference
    open_screening(ctx, staff.coordinator, code)
    if values.pop("_no_evidence", False):
        return code
    record_evidence(ctx, staff.coordinator, code, screening_evidence(ctx, **values))
    return code


def _decide(ctx: ServiceContext, staff: Staff, code: str, overall: str, **kw: Any) -> int:
    kw.setdefault("decisions", confirm_all(ctx, staff.investigator, code))
    kw.setdefault("reason", "criteria reviewed against the source documents")
    return decide_eligibility(
        ctx, staff.investigator, code, overall=overall, password=PASSWORD, **kw
    )  # type: ignore[arg-type]


def _decision_row(ctx: ServiceContext, code: str) -> tuple[int, str, dict[str, Any]]:
    with ctx.registry.read() as s:
        row = s.execute(
            sa.select(EligibilityDecision)
            .join(Subject, Subject.id == EligibilityDecision.subject_id)
            .where(Subject.code == code)
        ).scalar_one()
        return row.id, row.overall, row.criteria


def test_override_needs_a_reason_and_is_recorded_and_audited(
    ctx: ServiceContext, staff: Staff
) -> None:
    # platelets 80 x10^9/L: I-PLT (>= 100) is not met on the engine's reading
    code = _screening(ctx, staff, 1, platelets=80.0)
    result = evaluate_subject(ctx, staff.investigator, code)
    plt = result.criterion("I-PLT")
    assert (result.overall, plt.status, plt.value) == ("ineligible", "not_met", 80.0)
    confirms = confirm_all(ctx, staff.investigator, code)
    # the caller cannot relabel the engine's result: 'eligible' is refused on confirmations
    with pytest.raises(ValidationError, match="failing: I-PLT"):
        _decide(ctx, staff, code, "eligible", decisions=confirms)
    override = [
        d if d.criterion_id != "I-PLT" else CriterionDecision(
            "I-PLT", "override", status="met", content_sha256=plt.content_sha256
        )
        for d in confirms
    ]  # fmt: skip
    with pytest.raises(ValidationError, match=r"I-PLT\.reason.*needs a reason"):
        _decide(ctx, staff, code, "eligible", decisions=override)
    why = "repeat count 112 x10^9/L on 2025-05-05 (lab report L-7), not yet filed"
    override = [
        d if d.criterion_id != "I-PLT" else CriterionDecision(
            "I-PLT", "override", status="met", reason=why, content_sha256=plt.content_sha256
        )
        for d in confirms
    ]  # fmt: skip
    decision_id = _decide(ctx, staff, code, "eligible", decisions=override)
    row_id, overall, criteria = _decision_row(ctx, code)
    assert row_id == decision_id and overall == "eligible"
    assert criteria["engine_overall"] == "ineligible"
    rec = next(r for r in criteria["results"] if r["id"] == "I-PLT")
    assert (rec["engine_status"], rec["status"], rec["outcome"]) == ("not_met", "met", "pass")
    d = rec["decision"]
    assert d["action"] == "override" and d["reason"] == why
    assert d["content_sha256"] == plt.content_sha256 and d["signer_name"] == "Dr investigator"
    assert "override criterion I-PLT from not_met to met" in d["meaning"]
    # the other criteria carry their own confirmation, each bound to its judgement
    others = [r for r in criteria["results"] if r["id"] != "I-PLT"]
    assert all(r["decision"]["action"] == "confirm" for r in others)
    assert {r["decision"]["content_sha256"] for r in others} == {
        c.content_sha256 for c in result.criteria if c.id != "I-PLT"
    }
    with ctx.registry.read() as s:
        audit = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "override")).scalar_one()
        assert audit.subject_code == code and audit.reason == why
        assert json.loads(audit.old) == {"criterion": "I-PLT", "status": "not_met"}
        assert verify_chain(s).ok
    st = subject_status(ctx, staff.monitor, code)
    (elig,) = st["eligibility"]
    assert elig["overrides"] == [
        {"criterion": "I-PLT", "engine_status": "not_met", "status": "met", "reason": why,
         "signer_name": "Dr investigator"}
    ]  # fmt: skip
    assert elig["confirmed"] == len(result.criteria) - 1
    assert elig["signatures"][0]["status"] == "valid" and st["status"] == "eligible"


@SQLITE_ONLY
def test_every_criterion_decided_once_on_the_judgement_reviewed(
    ctx: ServiceContext, staff: Staff
) -> None:
    code = _screening(ctx, staff, 2)
    confirms = confirm_all(ctx, staff.investigator, code)
    with pytest.raises(ValidationError, match="confirm or override every criterion"):
        _decide(ctx, staff, code, "eligible", decisions=confirms[1:])
    with pytest.raises(ValidationError, match="decided twice"):
        _decide(ctx, staff, code, "eligible", decisions=[*confirms, confirms[0]])
    with pytest.raises(ValidationError, match="not criteria of this evaluation"):
        _decide(ctx, staff, code, "eligible",
                decisions=[*confirms, CriterionDecision("I-XYZ", "confirm")])  # fmt: skip
    # new evidence after the review changes the judgement: the old review is refused
    record_evidence(ctx, staff.coordinator, code, [
        e for e in screening_evidence(ctx, platelets=190.0) if e.variable == "platelets"
    ])  # fmt: skip
    with pytest.raises(ValidationError, match=r"decisions\[I-PLT\].*changed since"):
        _decide(ctx, staff, code, "eligible", decisions=confirms)
    assert subject_status(ctx, staff.monitor, code)["status"] == "screening"
    _decide(ctx, staff, code, "eligible")
    assert subject_status(ctx, staff.monitor, code)["status"] == "eligible"


@SQLITE_ONLY
def test_pending_criterion_blocks_eligible_and_cannot_be_overridden(
    ctx: ServiceContext, staff: Staff
) -> None:
    # the PET read is missing: everything else is recorded
    code = _screening(ctx, staff, 4, _no_evidence=True)
    record_evidence(ctx, staff.coordinator, code, [
        e for e in screening_evidence(ctx) if e.variable != "neob_pet_positive"
    ])  # fmt: skip
    result = evaluate_subject(ctx, staff.investigator, code)
    assert result.overall == "pending" and result.pending == ["I-PET"]
    with pytest.raises(ValidationError, match="pending: I-PET"):
        _decide(ctx, staff, code, "eligible")
    with pytest.raises(ValidationError, match="'ineligible'|give 'pending'"):
        _decide(ctx, staff, code, "ineligible")
    pet = result.criterion("I-PET")
    decisions = [
        d if d.criterion_id != "I-PET" else CriterionDecision(
            "I-PET", "override", status="met", reason="PET looked positive",
            content_sha256=pet.content_sha256,
        )
        for d in confirm_all(ctx, staff.investigator, code)
    ]  # fmt: skip
    with pytest.raises(ValidationError, match="record the evidence"):
        _decide(ctx, staff, code, "eligible", decisions=decisions)
    assert subject_status(ctx, staff.monitor, code)["eligibility"] == []


@SQLITE_ONLY
def test_windows_are_judged_on_the_decision_day(
    ctx: ServiceContext, staff: Staff, clock: Clock
) -> None:
    code = _screening(ctx, staff, 5)  # everything observed 2 days before now
    assert evaluate_subject(ctx, staff.investigator, code).overall == "eligible"
    decisions = confirm_all(ctx, staff.investigator, code)
    # 13 days later the labs (14-day window) are 15 days old: pending, and the review is stale
    clock.advance(days=13)
    result = evaluate_subject(ctx, staff.investigator, code)
    hb = result.criterion("I-HB")
    assert hb.status == "pending" and "outside the 14 d screening window" in hb.reason
    assert hb.window == {"test": "labs", "window_d": 14.0, "measured": hb.window["measured"],
                         "age_d": 15}  # fmt: skip
    assert result.criterion("I-PET").status == "met"  # 28-day window: still in
    with pytest.raises(ValidationError, match="changed since"):
        _decide(ctx, staff, code, "eligible", decisions=decisions)
    with pytest.raises(ValidationError, match="pending: I-ECOG, I-HB"):
        _decide(ctx, staff, code, "eligible")
    labs = next(t for t in screening_checklist(ctx, staff.monitor, code) if t["test"] == "labs")
    assert labs["status"] == "expired" and "haemoglobin" in labs["expired"]


@SQLITE_ONLY
def test_year_old_record_is_pending_today(ctx: ServiceContext, staff: Staff, clock: Clock) -> None:
    ref = resources.files("radiotrial.eligibility").joinpath("examples/patient-eligible.json")
    code = _screening(ctx, staff, 6, _no_evidence=True)
    record = {**json.loads(ref.read_text("utf-8")), "subject_id": code}
    assessed = datetime.fromisoformat(record["assessment_date"]).replace(tzinfo=UTC)
    clock.now = assessed + timedelta(days=366)
    preview = evaluate_record(ctx, staff.investigator, code, record)
    assert preview["as_of"] == (assessed + timedelta(days=366)).date().isoformat()
    hb = next(c for c in preview["criteria"] if c["id"] == "I-HB")
    assert preview["overall"] == "pending" and "screening window" in hb["reason"]
    clock.now = assessed + timedelta(hours=12)
    assert evaluate_record(ctx, staff.investigator, code, record)["overall"] == "eligible"


@SQLITE_ONLY
@pytest.mark.parametrize("name", ["eligible", "ineligible", "expatriate"])
def test_record_filed_as_evidence_decides_through_the_engine(
    ctx: ServiceContext, staff: Staff, clock: Clock, name: str
) -> None:
    ref = resources.files("radiotrial.eligibility").joinpath(f"examples/patient-{name}.json")
    raw = json.loads(ref.read_text("utf-8"))
    clock.now = datetime.fromisoformat(raw["assessment_date"]).replace(tzinfo=UTC) + timedelta(
        days=1, hours=2
    )
    code = _screening(ctx, staff, 7, _no_evidence=True)
    ids = record_patient_record(ctx, staff.coordinator, code, {**raw, "subject_id": code})
    from_record = evaluate_record(ctx, staff.investigator, code, {**raw, "subject_id": code})
    from_registry = evaluate_subject(ctx, staff.investigator, code)
    # the registry's evidence gives the engine's own result on the record, criterion by criterion
    assert len(ids) == len(from_registry.derived)
    assert from_registry.overall == from_record["overall"]
    assert {c.id: c.status for c in from_registry.criteria} == {
        c["id"]: c["status"] for c in from_record["criteria"]
    }
    if name != "ineligible":
        # no bone-seeking radionuclide ever: a documented absence, not missing data
        bone = from_registry.criterion("E-BONE")
        assert bone.status == "not_met" and "none in the reviewed history" in bone.reason
    _decide(ctx, staff, code, from_registry.overall)
    assert subject_status(ctx, staff.monitor, code)["status"] == from_registry.overall


@SQLITE_ONLY
def test_checklist_needs_every_required_variable(ctx: ServiceContext, staff: Staff) -> None:
    code = _screening(ctx, staff, 8, _no_evidence=True)
    record_evidence(ctx, staff.coordinator, code, [
        e for e in screening_evidence(ctx) if e.variable in ("platelets", "ecog")
    ])  # fmt: skip
    tests = {t["test"]: t for t in screening_checklist(ctx, staff.monitor, code)}
    labs = tests["labs"]
    # platelets alone do not complete the labs; CrCl is listed but no criterion tests it
    assert labs["status"] == "missing" and "crcl" not in labs["required"]
    assert labs["missing"] == [
        "haemoglobin", "wbc", "anc", "egfr", "albumin", "bilirubin", "alt", "ast"
    ]  # fmt: skip
    assert tests["performance-status"]["status"] == "complete"
    record_evidence(ctx, staff.coordinator, code, [
        e for e in screening_evidence(ctx) if e.variable not in ("platelets", "ecog")
    ])  # fmt: skip
    checklist = screening_checklist(ctx, staff.monitor, code)
    assert {t["status"] for t in checklist} == {"complete"}


@SQLITE_ONLY
def test_ecog_has_the_screening_window(ctx: ServiceContext, staff: Staff, clock: Clock) -> None:
    code = _screening(ctx, staff, 9, _no_evidence=True)
    old = clock.now - timedelta(days=20)
    record_evidence(ctx, staff.coordinator, code, [
        *[e for e in screening_evidence(ctx) if e.variable != "ecog"],
        *[e for e in screening_evidence(ctx, at=old) if e.variable == "ecog"],
    ])  # fmt: skip
    ecog = evaluate_subject(ctx, staff.investigator, code).criterion("I-ECOG")
    assert ecog.status == "pending" and ecog.window is not None
    assert ecog.window["test"] == "performance-status" and ecog.window["age_d"] == 20
    ps = next(t for t in screening_checklist(ctx, staff.monitor, code)
              if t["test"] == "performance-status")  # fmt: skip
    assert ps["status"] == "expired" and ps["window_days"] == 14


@SQLITE_ONLY
def test_cli_asks_for_each_criterion(
    ctx: ServiceContext,
    staff: Staff,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import io

    from radiotrial.cli import main

    clock.now = datetime.now(UTC)  # the CLI runs on the real clock
    code = _screening(ctx, staff, 10, platelets=80.0)
    answers = []
    for c in (*ctx.protocol.eligibility.inclusion, *ctx.protocol.eligibility.exclusion):
        answers.append(
            "o\nmet\nrepeat count 120 x10^9/L, lab report L-9" if c.id == "I-PLT" else "c"
        )

    class Console(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Console("\n".join(answers) + "\n"))
    monkeypatch.setenv("RADIOTRIAL_PASSWORD", PASSWORD)
    url = str(ctx.registry.engine.url)
    with pytest.raises(SystemExit) as info:
        main(["subject", "decide", code, "--reason", "reviewed at the console",
              "--user", staff.investigator.username, "--url", url, "--json"])  # fmt: skip
    out = capsys.readouterr()
    assert info.value.code in (0, None), out.err
    status = json.loads(out.out)  # prompts and the review table went to stderr
    assert "confirm or override?" in out.err and "I-PLT not_met" in out.err
    assert status["status"] == "eligible"
    assert [o["criterion"] for o in status["eligibility"][0]["overrides"]] == ["I-PLT"]
