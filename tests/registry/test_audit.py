"""Audit trail: append-only triggers and hash-chain verification, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from radiotrial.registry import (
    GENESIS_HASH,
    Actor,
    AuditEntry,
    Registry,
    append_audit,
    canonical_json,
    verify_chain,
)

ACTOR = Actor("coord", "coordinator")


def _fill(registry: Registry, n: int = 6) -> None:
    for i in range(n):
        with registry.write() as s:
            append_audit(
                s,
                ACTOR,
                action="update",
                table_name="subjects",
                record_id=i,
                subject_code=f"RT-{i:08d}",
                old={"status": "candidate"},
                new={"status": "screening", "note": "天气 ünïcode"},
                reason="test",
            )


def _tamper(registry: Registry, *statements: str) -> None:
    """Run SQL with the append-only triggers switched off, as an attacker with DB access would."""
    with registry.engine.begin() as conn:
        if registry.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")
        for stmt in statements:
            conn.exec_driver_sql(stmt)


def test_fresh_chain_verifies(registry: Registry) -> None:
    _fill(registry)
    with registry.read() as s:
        report = verify_chain(s)
    assert report.ok, report.problems
    assert (report.n_entries, report.last_seq) == (6, 6)


def test_entry_hash_is_sha256_of_canonical_json(registry: Registry) -> None:
    # independent recomputation with hashlib + json (the documented formula), not the module
    _fill(registry, 2)
    with registry.read() as s:
        entries = s.execute(sa.select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
        prev = GENESIS_HASH
        for e in entries:
            payload = {
                k: getattr(e, k)
                for k in (
                    "seq",
                    "at",
                    "actor",
                    "role",
                    "action",
                    "table_name",
                    "record_id",
                    "subject_code",
                    "old",
                    "new",
                    "reason",
                )
            }
            payload["prev_hash"] = prev
            text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            assert e.hash == hashlib.sha256(text.encode()).hexdigest()
            assert e.prev_hash == prev
            prev = e.hash


@pytest.mark.parametrize("verb", ["UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"])
def test_triggers_refuse_update_and_delete(registry: Registry, verb: str) -> None:
    _fill(registry, 2)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), registry.engine.begin() as c:
        c.exec_driver_sql(verb)
    with registry.read() as s:
        assert verify_chain(s).ok


def test_truncate_refused_on_postgresql(registry: Registry) -> None:
    if registry.dialect != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL")
    _fill(registry, 1)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), registry.engine.begin() as c:
        c.exec_driver_sql("TRUNCATE audit_log")


def test_signatures_table_is_append_only(registry: Registry) -> None:
    with registry.engine.begin() as c:
        c.exec_driver_sql(
            "INSERT INTO signatures (table_name, record_id, record_version, record_hash, signer, "
            "signer_name, meaning, signed_at) VALUES ('subjects', 1, 1, 'h', 'u', 'U', 'review', "
            "'2025-01-01 00:00:00')"
        )
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), registry.engine.begin() as c:
        c.exec_driver_sql("UPDATE signatures SET record_hash = 'forged'")


def _kinds(registry: Registry) -> set[str]:
    with registry.read() as s:
        report = verify_chain(s)
    assert not report.ok
    return {p.kind for p in report.problems}


def test_detects_altered_entry(registry: Registry) -> None:
    _fill(registry)
    _tamper(registry, 'UPDATE audit_log SET new = \'{"status":"eligible"}\' WHERE seq = 3')
    with registry.read() as s:
        report = verify_chain(s)
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "altered")]


def test_detects_altered_entry_with_recomputed_hash(registry: Registry) -> None:
    # a forger who recomputes the hash of the altered entry breaks the next entry's link
    _fill(registry)
    with registry.read() as s:
        e = s.get(AuditEntry, 3)
        assert e is not None
        e.reason = "forged"
        from radiotrial.registry import entry_hash

        forged = entry_hash(e)
        s.rollback()
    _tamper(registry, f"UPDATE audit_log SET reason = 'forged', hash = '{forged}' WHERE seq = 3")
    with registry.read() as s:
        report = verify_chain(s)
    assert {(p.seq, p.kind) for p in report.problems} == {(3, "altered")}


def test_detects_removed_middle_entry(registry: Registry) -> None:
    _fill(registry)
    _tamper(registry, "DELETE FROM audit_log WHERE seq = 4")
    assert "removed" in _kinds(registry)


def test_detects_removed_tail(registry: Registry) -> None:
    _fill(registry)
    _tamper(registry, "DELETE FROM audit_log WHERE seq = 6")
    assert _kinds(registry) == {"truncated"}


def test_detects_reordered_entries(registry: Registry) -> None:
    _fill(registry)
    _tamper(
        registry,
        "UPDATE audit_log SET seq = 1000 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 1000",
    )
    kinds = _kinds(registry)
    assert "reordered" in kinds


@given(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=6),
)
def test_canonical_json_independent_of_key_order(d: dict[str, object]) -> None:
    reversed_d = dict(reversed(list(d.items())))
    assert canonical_json(d) == canonical_json(reversed_d)
    assert json.loads(canonical_json(d)) == d


def test_canonical_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        canonical_json({"x": float("nan")})
