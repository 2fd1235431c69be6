"""End-to-end use cases on SQLite and PostgreSQL: workflow, escalation, safety, retention."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from radiotrial.errors import UnitError, ValidationError
from radiotrial.nuclides import get_nuclide
from radiotrial.registry import (
    AuditEntry,
    ConflictError,
    DuplicateSubjectError,
    Identity,
    IdentityKey,
    IdentityRecord,
    PermissionDeniedError,
    Subject,
    WorkflowError,
    verify_chain,
)
from radiotrial.services import (
    EvidenceItem,
    ServiceContext,
    adjudicate_dlt,
    change_status,
    correct_identity,
    enrol,
    purge_prescreen,
    record_administration,
    record_dosimetry,
    record_evidence,
    record_imaging,
    register_prescreen,
    report_adverse_event,
    reveal_identity,
    subject_status,
    trial_status,
    update_adverse_event,
)
from tests.registry._fixtures import PASSWORD, SQLITE_ONLY, Clock, Staff
from tests.services._helpers import identity, make_eligible


def _audit_count(ctx: ServiceContext) -> int:
    with ctx.registry.read() as s:
        return int(s.execute(sa.select(sa.func.count(AuditEntry.seq))).scalar_one())


def _administer(ctx: ServiceContext, staff: Staff, code: str) -> float:
    """Inject 30 min from now (the clock moves there), readings 30 min before and at injection."""
    clock = ctx.clock
    assert isinstance(clock, Clock)
    t = clock.advance(minutes=30)
    return record_administration(
        ctx,
        staff.physicist,
        code,
        pre_activity_mbq=2000.0,
        pre_measured_at=t - timedelta(minutes=30),
        residual_activity_mbq=100.0,
        residual_measured_at=t,
        administered_at=t,
    ).net_activity_mbq


def test_full_path_and_net_activity(ctx: ServiceContext, staff: Staff, clock: Clock) -> None:
    code = make_eligible(ctx, staff.coordinator, staff.investigator, 1)
    res = enrol(ctx, staff.coordinator, code)
    assert (res.cohort, res.slot, res.dose_level, res.activity_gbq) == (1, 1, 1, 1.85)
    t = clock.advance(hours=1)
    clock.advance(minutes=30)  # the residual is measured 30 min after the injection
    out = record_administration(
        ctx,
        staff.physicist,
        code,
        pre_activity_mbq=1900.0,
        pre_measured_at=t - timedelta(hours=2),
        residual_activity_mbq=50.0,
        residual_measured_at=t + timedelta(minutes=30),
        administered_at=t,
    )
    # analytic decay correction with T1/2 = 6.647 d (ICRP-107 Lu-177): A·2^(-Δt/T)
    half_life_h = 6.647 * 24
    expected = 1900.0 * 2 ** (-2 / half_life_h) - 50.0 * 2 ** (0.5 / half_life_h)
    assert get_nuclide("Lu-177").half_life_s == pytest.approx(6.647 * 86400, rel=1e-4)
    # 1e-4 relative: ICRP-107 gives T1/2 to 4 significant figures
    assert out.net_activity_mbq == pytest.approx(expected, rel=1e-4)
    assert out.cycle == 1
    assert out.prescribed_activity_mbq == pytest.approx(1850.0)
    assert out.deviation_percent == pytest.approx(100 * (expected - 1850) / 1850, rel=1e-3)
    clock.advance(hours=24)
    record_imaging(ctx, staff.physicist, code, cycle=1, acquired_at=t + timedelta(hours=24))
    record_dosimetry(
        ctx,
        staff.physicist,
        code,
        cycle=1,
        target="kidneys",
        absorbed_dose_gy=0.19,
        method="MIRD organ S, multi-time-point",
    )
    st = subject_status(ctx, staff.monitor, code)
    assert st["status"] == "on-study-intervention"
    assert [m["to"] for m in st["milestones"] if m["to"]] == [
        "potential-candidate",
        "candidate",
        "screening",
        "eligible",
        "on-study",
        "on-study-intervention",
    ]
    assert st["cycles"][0]["imaging_h"] == [24.0]
    assert st["eligibility"][0]["signatures"][0]["status"] == "valid"
    with ctx.registry.read() as s:
        assert verify_chain(s).ok


@SQLITE_ONLY
def test_illegal_steps_are_refused(ctx: ServiceContext, staff: Staff) -> None:
    code = register_prescreen(ctx, identity(2), consents={"contact": True}).reference
    with pytest.raises(WorkflowError, match="only an eligible subject"):
        enrol(ctx, staff.coordinator, code)
    with pytest.raises(WorkflowError, match="administration needs an enrolled subject"):
        _administer(ctx, staff, code)
    with pytest.raises(WorkflowError, match="evidence is recorded during screening"):
        record_evidence(ctx, staff.coordinator, code, [])
    with pytest.raises(WorkflowError, match="transition not allowed"):
        change_status(ctx, staff.coordinator, code, "off-study", reason="test")


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("item", "error", "field"),
    [
        (EvidenceItem("anc", 1.8, None, "lab", unit="g/dL"), UnitError, "unit"),  # type: ignore[arg-type]
        (EvidenceItem("platelets", -5.0, None, "lab", unit="10^9/L"), ValidationError, "value"),  # type: ignore[arg-type]
        (EvidenceItem("er_percent", 150.0, None, "lab", unit="%"), ValidationError, "100%"),  # type: ignore[arg-type]
        (EvidenceItem("no_such_variable", 1.0, None, "lab"), ValidationError, "catalogue"),  # type: ignore[arg-type]
        (
            EvidenceItem("platelets", 200.0, "future", "lab", unit="10^9/L"),
            ValidationError,
            "future",
        ),  # type: ignore[arg-type]
    ],
)
def test_bad_evidence_writes_nothing(
    ctx: ServiceContext, staff: Staff, item: EvidenceItem, error: type[Exception], field: str
) -> None:
    from dataclasses import replace

    from radiotrial.services import open_screening

    code = register_prescreen(ctx, identity(3), consents={"contact": True}).reference
    open_screening(ctx, staff.coordinator, code)
    when = ctx.now() + timedelta(days=1) if item.observed_at == "future" else ctx.now()
    item = replace(item, observed_at=when)
    ok = EvidenceItem("platelets", 200.0, ctx.now(), "lab", unit="10^9/L")
    before = _audit_count(ctx)
    with pytest.raises(error, match=field):
        record_evidence(ctx, staff.coordinator, code, [ok, item])
    assert _audit_count(ctx) == before  # all or nothing


@SQLITE_ONLY
def test_roles_are_enforced_by_services(ctx: ServiceContext, staff: Staff) -> None:
    code = register_prescreen(ctx, identity(4), consents={"contact": True}).reference
    with pytest.raises(PermissionDeniedError):
        reveal_identity(ctx, staff.monitor, code, reason="curious")
    with pytest.raises(PermissionDeniedError):
        reveal_identity(ctx, staff.statistician, code, reason="curious")
    with pytest.raises(PermissionDeniedError):
        enrol(ctx, staff.physicist, code)


@SQLITE_ONLY
def test_identity_read_is_audited_and_duplicates_found(ctx: ServiceContext, staff: Staff) -> None:
    code = register_prescreen(ctx, identity(5), consents={"contact": True}).reference
    with pytest.raises(ValidationError, match="reason"):
        reveal_identity(ctx, staff.coordinator, code, reason="  ")
    rec = reveal_identity(ctx, staff.coordinator, code, reason="call back the patient")
    assert rec.name_native == "张伟"
    with ctx.registry.read() as s:
        last = s.execute(sa.select(AuditEntry).order_by(AuditEntry.seq.desc())).scalars().first()
        assert last is not None
        assert (last.action, last.actor, last.subject_code) == ("read", "coord", code)
        assert last.reason == "call back the patient"
        # the audit trail never holds identity values
        texts = " ".join(
            str(e.new) + str(e.old) for e in s.execute(sa.select(AuditEntry)).scalars()
        )
        assert "Zhang5" not in texts and "E00000005" not in texts
    same_person = identity(5, family_name=" zhang5 ", document_number="X0000001", email=None)
    with pytest.raises(DuplicateSubjectError, match="name and birth date"):
        register_prescreen(ctx, same_person, consents={"contact": True})
    same_passport = identity(99, document_number="E00000005")
    with pytest.raises(DuplicateSubjectError, match="identity document"):
        register_prescreen(ctx, same_passport, consents={"contact": True})


def test_escalation_follows_boin(ctx: ServiceContext, staff: Staff, clock: Clock) -> None:
    """Cohort 1: 0/3 DLT → escalate to level 2; cohort 2: 1/3 DLT → stay at level 2.

    BOIN with φ = 0.3 (protocol): λe = 0.2365, λd = 0.3585 (Liu & Yuan 2015; REFERENCE.md);
    0/3 = 0 ≤ λe escalates, 1/3 = 0.333 lies between λe and λd and stays.
    """
    codes = [make_eligible(ctx, staff.coordinator, staff.investigator, 10 + i) for i in range(4)]
    for c in codes[:3]:
        assert enrol(ctx, staff.coordinator, c).cohort == 1
        _administer(ctx, staff, c)
    # cohort full, outcomes pending: the design cannot decide yet
    with pytest.raises(ConflictError, match="DLT window"):
        enrol(ctx, staff.coordinator, codes[3])
    clock.advance(days=43)  # past the 42-day DLT window
    # the 4th subject's screening tests are now outside their windows: re-screening needed
    with pytest.raises(WorkflowError, match="outside their windows"):
        enrol(ctx, staff.coordinator, codes[3])
    fresh = [make_eligible(ctx, staff.coordinator, staff.investigator, 20 + i) for i in range(3)]
    res = enrol(ctx, staff.coordinator, fresh[0])
    assert (res.cohort, res.dose_level) == (2, 2)
    assert res.decision["action"] == "escalate"
    for c in fresh[1:]:
        assert enrol(ctx, staff.coordinator, c).cohort == 2
    for c in fresh:
        _administer(ctx, staff, c)
    clock.advance(days=3)
    aespid = report_adverse_event(
        ctx,
        staff.investigator,
        fresh[0],
        aeterm="Platelet count decreased",
        aetoxgr=4,
        aestdtc=clock.now - timedelta(days=1),
        aerel="possible",
        haematologic=True,
    )
    with pytest.raises(ValidationError, match="haematologic event, rule is non_haematologic"):
        adjudicate_dlt(
            ctx,
            staff.investigator,
            fresh[0],
            aespid,
            is_dlt=True,
            rule_id="DLT-NH",
            rationale="x",
            password=PASSWORD,
        )
    adjudicate_dlt(
        ctx,
        staff.investigator,
        fresh[0],
        aespid,
        is_dlt=True,
        rule_id="DLT-H",
        rationale="grade 4 thrombocytopenia",
        password=PASSWORD,
    )
    clock.advance(days=43)
    status = trial_status(ctx, staff.statistician)
    assert status["outcomes"] == "1NNN 2TNN"
    assert status["recommendation"]["action"] == "stay"
    assert status["recommendation"]["next_level"] == 2
    # changing the AE voids the adjudication: outcome pending until re-adjudicated
    update_adverse_event(
        ctx,
        staff.investigator,
        fresh[0],
        aespid,
        {"aetoxgr": 3},
        reason="grade corrected after lab review",
    )
    st = subject_status(ctx, staff.monitor, fresh[0])
    assert st["adverse_events"][0]["dlt"]["current"] is False
    # the signature bound the event it adjudicated: void as soon as the event changed
    assert [s["status"] for s in st["adverse_events"][0]["dlt"]["signatures"]] == ["void"]
    assert trial_status(ctx, staff.statistician)["recommendation"]["action"] == "wait"
    adjudicate_dlt(
        ctx,
        staff.investigator,
        fresh[0],
        aespid,
        is_dlt=False,
        rationale="grade 3 haematologic is not a DLT",
        password=PASSWORD,
    )
    sigs = subject_status(ctx, staff.monitor, fresh[0])["adverse_events"][0]["dlt"]["signatures"]
    assert [s["status"] for s in sigs] == ["void", "valid"]
    assert trial_status(ctx, staff.statistician)["outcomes"] == "1NNN 2NNN"
    with ctx.registry.read() as s:
        assert verify_chain(s).ok


@SQLITE_ONLY
def test_withdrawn_before_window_end_is_replaced(
    ctx: ServiceContext, staff: Staff, clock: Clock
) -> None:
    codes = [make_eligible(ctx, staff.coordinator, staff.investigator, 30 + i) for i in range(4)]
    for c in codes[:3]:
        enrol(ctx, staff.coordinator, c)
    change_status(ctx, staff.coordinator, codes[0], "withdrawn", reason="consent withdrawn")
    res = enrol(ctx, staff.coordinator, codes[3])
    assert (res.cohort, res.slot) == (1, 4)  # replacement slot, cohort still holds 3 evaluable


@SQLITE_ONLY
def test_retention_purge(ctx: ServiceContext, staff: Staff, clock: Clock) -> None:
    old = register_prescreen(ctx, identity(40), consents={"contact": True}).reference
    with ctx.registry.read() as s:
        ciphertext = s.execute(
            sa.select(Identity.ciphertext).join(Subject).where(Subject.code == old)
        ).scalar_one()
    kept = make_eligible(ctx, staff.coordinator, staff.investigator, 41)
    clock.advance(days=181)  # protocol retention: 180 days
    recent = register_prescreen(ctx, identity(42), consents={"contact": True}).reference
    dry = purge_prescreen(ctx, staff.admin, dry_run=True)
    assert dry.purged == [old]
    res = purge_prescreen(ctx, staff.coordinator)
    assert res.purged == [old]
    with pytest.raises(ValidationError, match="purged"):
        reveal_identity(ctx, staff.coordinator, old, reason="check")
    for code in (kept, recent):
        assert reveal_identity(ctx, staff.coordinator, code, reason="check").family_name
    assert subject_status(ctx, staff.monitor, old)["status"] == "not-registered"
    with ctx.registry.read() as s:
        purges = s.execute(sa.select(AuditEntry).where(AuditEntry.action == "purge")).scalars()
        purges = list(purges)
        assert {p.table_name for p in purges} == {"identities", "identity_keys"}
        assert all(p.subject_code == old and "Zhang40" not in (p.old or "") for p in purges)
        assert verify_chain(s).ok
    assert math.isclose(res.retention_days, 180.0)
    if ctx.registry.dialect == "sqlite":
        # the ciphertext is gone from the database file and its WAL (secure_delete + checkpoint)
        db = Path(str(ctx.registry.engine.url.database))
        raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        assert ciphertext not in raw


def _audit_entries_matching(ctx: ServiceContext, person: dict[str, object]) -> set[int]:
    """Audit entries that the vault key and the database link to ``person``: the best an
    attacker holding both can do, i.e. compute the person's keyed hashes and look for them in
    the trail as such or blinded under any audit key the database still holds."""
    digests = ctx.get_vault().identity_keys(IdentityRecord.parse(person)).all
    with ctx.registry.read() as s:
        keys = s.execute(sa.select(IdentityKey.audit_key)).scalars().all()
        entries = s.execute(sa.select(AuditEntry.seq, AuditEntry.old, AuditEntry.new)).all()
    needles = [*digests] + [
        "hmac:" + hmac.new(key, d.encode(), hashlib.sha256).hexdigest()
        for key in keys
        for d in digests
    ]
    return {seq for seq, old, new in entries if any(n in f"{old} {new}" for n in needles)}


@SQLITE_ONLY
def test_purge_shreds_the_audit_link_and_keeps_the_chain(
    ctx: ServiceContext, staff: Staff, clock: Clock
) -> None:
    person = identity(43)
    code = register_prescreen(ctx, person, consents={"contact": True}).reference
    # a correction of the birth date replaces the name + birth date key; the others stay
    corrected = {**person, "date_of_birth": person["date_of_birth"] + timedelta(days=1)}
    correct_identity(ctx, staff.coordinator, code, {"date_of_birth": corrected["date_of_birth"]},
                     reason="birth date mistyped")  # fmt: skip
    bystander = identity(44)
    register_prescreen(ctx, bystander, consents={"contact": True})
    vault = ctx.get_vault()
    old_keys = set(vault.identity_keys(IdentityRecord.parse(person)).all)
    new_keys = set(vault.identity_keys(IdentityRecord.parse(corrected)).all)
    assert len(old_keys - new_keys) == len(new_keys - old_keys) == 1
    with ctx.registry.read() as s:
        audit_keys = (
            s.execute(sa.select(IdentityKey.audit_key).join(Subject).where(Subject.code == code))
            .scalars()
            .all()
        )
        entries = s.execute(
            sa.select(AuditEntry.seq, AuditEntry.action, AuditEntry.old, AuditEntry.new)
            .where(AuditEntry.subject_code == code, AuditEntry.table_name == "identity_keys")
            .order_by(AuditEntry.seq)
        ).all()
    n = len(old_keys)
    assert [e.action for e in entries] == ["create"] * n + ["delete", "create"]
    rows = [json.loads(e.new or e.old or "") for e in entries]
    assert all(r["audit_key"] == "***" and r["key_hash"].startswith("hmac:") for r in rows)
    text = " ".join(f"{e.old} {e.new}" for e in entries)
    assert not any(k in text for k in old_keys | new_keys)  # never a keyed hash as such
    # while a key row lives, its audit key links its entries to the person (only to them); the
    # replaced key's row went with its audit key, so the mistyped value's entries match no one
    replaced = {e.seq for e, r in zip(entries, rows, strict=True) if e.action == "delete"}
    replaced |= {e.seq for e, r in zip(entries[:n], rows[:n], strict=True)
                 if r["id"] == rows[n]["id"]}  # fmt: skip
    kept = {e.seq for e in entries[:n]} - replaced
    assert len(kept) == n - 1
    assert _audit_entries_matching(ctx, person) == kept
    assert _audit_entries_matching(ctx, corrected) == kept | {entries[-1].seq}
    assert not _audit_entries_matching(ctx, identity(45))

    clock.advance(days=181)  # protocol retention: 180 days
    assert code in purge_prescreen(ctx, staff.coordinator).purged
    # the keys went with the rows: neither identity finds its entries any more, the bystander
    # (also purged, by the same rule) neither; the trail itself is untouched and verifies
    assert not _audit_entries_matching(ctx, person)
    assert not _audit_entries_matching(ctx, corrected)
    assert not _audit_entries_matching(ctx, bystander)
    with ctx.registry.read() as s:
        assert verify_chain(s).ok
        first = s.execute(sa.select(AuditEntry.new).where(AuditEntry.seq == entries[0].seq))
        assert json.loads(first.scalar_one() or "") == rows[0]
    db = Path(str(ctx.registry.engine.url.database))
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert not any(k in raw for k in audit_keys)  # secure_delete + checkpoint: not even in
    # free pages or the WAL


@SQLITE_ONLY
def test_safety_engine_categorises_and_proposes(
    ctx: ServiceContext, staff: Staff, clock: Clock
) -> None:
    from radiotrial.services import propose_dlt

    code = make_eligible(ctx, staff.coordinator, staff.investigator, 60)
    enrol(ctx, staff.coordinator, code)
    assert propose_dlt(ctx, staff.monitor, code)["status"] == "pending"
    _administer(ctx, staff, code)
    clock.advance(days=10)
    aespid = report_adverse_event(
        ctx,
        staff.coordinator,
        code,
        aeterm="Platelet count decreased",
        aetoxgr=4,
        aestdtc=clock.now - timedelta(days=2),
        aerel="probable",
    )
    st = subject_status(ctx, staff.monitor, code)
    assert st["adverse_events"][0]["AESPID"] == aespid
    proposal = propose_dlt(ctx, staff.monitor, code)
    # CTCAE v5.0: platelet count decreased is haematologic; grade 4, probable → rule DLT-H
    assert proposal["status"] == "dlt"
    assert proposal["events"][0]["rule_id"] == "DLT-H"
    out = adjudicate_dlt(
        ctx,
        staff.investigator,
        code,
        aespid,
        is_dlt=True,
        rule_id="DLT-H",
        rationale="as proposed",
        password=PASSWORD,
    )
    assert out["in_window"] is True
