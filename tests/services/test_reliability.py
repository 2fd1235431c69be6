"""Concurrency and crash safety with real processes, on SQLite (WAL) and PostgreSQL.

* Six processes try to enrol six eligible subjects at the same instant into a cohort of three:
  exactly three succeed, in distinct slots 1-3, the others are told the cohort is full; the
  audit chain stays valid.
* A process is SIGKILLed in the middle of a use case (after some rows and audit entries were
  written, before commit): nothing of it remains, the audit chain verifies, and the next use case
  runs normally (locks released, SQLite WAL recovered).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from typing import Any

import pytest
import sqlalchemy as sa

from radiotrial.registry import Actor, AuditEntry, Registry, Subject, Vault, verify_chain
from radiotrial.services import ServiceContext, enrol, record_administration
from tests.registry._fixtures import Clock, Staff
from tests.services._helpers import make_eligible

# fork keeps the children cheap (no re-import of numba/scipy); each child opens its own engine
_FORK = mp.get_context("fork")


def _child_context(url: str, key: bytes, clock: Clock) -> ServiceContext:
    return ServiceContext(Registry(url), vault=Vault(key), clock=clock)


def _enrol_worker(url: str, key: bytes, clock: Clock, code: str, barrier: Any, out: Any) -> None:
    ctx = _child_context(url, key, clock)
    barrier.wait(timeout=60)
    try:
        res = enrol(ctx, Actor("coord", "coordinator"), code)
        out.put((code, "ok", res.cohort, res.slot))
    except Exception as exc:  # report every outcome to the parent
        out.put((code, type(exc).__name__, str(exc), None))
    finally:
        ctx.registry.dispose()


def test_parallel_enrolment_never_overfills(
    ctx: ServiceContext, staff: Staff, clock: Clock, vault_key: bytes
) -> None:
    codes = [make_eligible(ctx, staff.coordinator, staff.investigator, 100 + i) for i in range(6)]
    url = ctx.registry.engine.url.render_as_string(hide_password=False)
    ctx.registry.dispose()
    barrier = _FORK.Barrier(len(codes))
    out = _FORK.Queue()
    procs = [
        _FORK.Process(target=_enrol_worker, args=(url, vault_key, clock, c, barrier, out))
        for c in codes
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    ok = [r for r in results if r[1] == "ok"]
    refused = [r for r in results if r[1] != "ok"]
    assert sorted(r[3] for r in ok) == [1, 2, 3], results
    assert {r[2] for r in ok} == {1}
    assert {r[1] for r in refused} == {"ConflictError"}, refused
    with ctx.registry.read() as s:
        slots = s.execute(
            sa.select(Subject.cohort_id, Subject.slot).where(Subject.cohort_id.is_not(None))
        ).all()
        assert len(slots) == 3 and len(set(slots)) == 3
        assert verify_chain(s).ok


def _crash_worker(url: str, key: bytes, clock: Clock, code: str, kill_after: int) -> None:
    """Run enrol() but SIGKILL this process after ``kill_after`` audit entries were written."""
    import radiotrial.registry._audit as audit

    original = audit.append_audit
    calls = {"n": 0}

    def append_then_die(*args: Any, **kwargs: Any) -> Any:
        entry = original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return entry

    audit.append_audit = append_then_die  # type: ignore[assignment]
    ctx = _child_context(url, key, clock)
    enrol(ctx, Actor("coord", "coordinator"), code)


@pytest.mark.parametrize("kill_after", [1, 3])
def test_killed_process_leaves_database_consistent(
    ctx: ServiceContext, staff: Staff, clock: Clock, vault_key: bytes, kill_after: int
) -> None:
    code = make_eligible(ctx, staff.coordinator, staff.investigator, 200)
    with ctx.registry.read() as s:
        n_before = s.execute(sa.select(sa.func.count(AuditEntry.seq))).scalar_one()
    url = ctx.registry.engine.url.render_as_string(hide_password=False)
    ctx.registry.dispose()
    proc = _FORK.Process(target=_crash_worker, args=(url, vault_key, clock, code, kill_after))
    proc.start()
    proc.join(timeout=120)
    assert proc.exitcode == -signal.SIGKILL
    fresh = Registry(url)
    try:
        with fresh.read() as s:
            subject = s.execute(sa.select(Subject).where(Subject.code == code)).scalar_one()
            assert (subject.status, subject.cohort_id, subject.slot) == ("eligible", None, None)
            assert s.execute(sa.select(sa.func.count(AuditEntry.seq))).scalar_one() == n_before
            assert verify_chain(s).ok
        # the next use case runs: no stale lock, no half-written row
        ctx2 = ServiceContext(fresh, vault=Vault(vault_key), clock=clock)
        res = enrol(ctx2, staff.coordinator, code)
        assert (res.cohort, res.slot) == (1, 1)
        clock.advance(minutes=5)
        t = clock.now
        from datetime import timedelta

        record_administration(
            ctx2,
            staff.physicist,
            code,
            pre_activity_mbq=1900.0,
            pre_measured_at=t - timedelta(minutes=10),
            residual_activity_mbq=20.0,
            residual_measured_at=t,
            administered_at=t - timedelta(minutes=1),
        )
        with fresh.read() as s:
            assert verify_chain(s).ok
    finally:
        fresh.dispose()


def _register_worker(url: str, key: bytes, clock: Clock, barrier: Any, out: Any) -> None:
    from tests.services._helpers import identity

    ctx = _child_context(url, key, clock)
    barrier.wait(timeout=60)
    try:
        from radiotrial.services import register_prescreen

        ref = register_prescreen(ctx, identity(500), consents={"contact": True}).reference
        out.put(("ok", ref))
    except Exception as exc:
        out.put((type(exc).__name__, str(exc)))
    finally:
        ctx.registry.dispose()


def test_parallel_duplicate_registration_keeps_one(
    ctx: ServiceContext, staff: Staff, clock: Clock, vault_key: bytes
) -> None:
    """Four processes submit the same person at once: one record, three duplicates refused."""
    url = ctx.registry.engine.url.render_as_string(hide_password=False)
    ctx.registry.dispose()
    barrier = _FORK.Barrier(4)
    out = _FORK.Queue()
    procs = [
        _FORK.Process(target=_register_worker, args=(url, vault_key, clock, barrier, out))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    kinds = sorted(r[0] for r in results)
    assert kinds == ["DuplicateSubjectError"] * 3 + ["ok"], results
    with ctx.registry.read() as s:
        assert s.execute(sa.select(sa.func.count(Subject.id))).scalar_one() == 1
        assert verify_chain(s).ok
