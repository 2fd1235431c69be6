"""Migrations, connection settings and the FHIR workflow table."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from radiotrial.errors import ValidationError
from radiotrial.registry import (
    FHIR_STATUSES,
    TERMINAL,
    Base,
    Registry,
    WorkflowError,
    check_transition,
    current_revision,
    database_url,
    head_revision,
    make_engine,
    upgrade,
)


def test_migration_creates_exactly_the_models(empty_db_url: str) -> None:
    assert current_revision(empty_db_url) is None
    assert upgrade(empty_db_url) == head_revision()
    assert upgrade(empty_db_url) == head_revision()  # idempotent
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
            head = conn.execute(sa.text("SELECT last_seq, last_hash FROM audit_head")).one()
    finally:
        engine.dispose()
    assert diff == []
    assert tuple(head) == (0, "0" * 64)


def test_identity_audit_key_migration_keys_existing_rows(empty_db_url: str) -> None:
    """0002 gives every identity already on file its own random 32-byte audit key; 0003 hands
    it on to the identity's key rows."""
    from radiotrial.registry import utcnow

    assert upgrade(empty_db_url, "0001") == "0001"
    engine = make_engine(empty_db_url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine, only=["subjects", "identities"])
        subjects, identities = meta.tables["subjects"], meta.tables["identities"]
        now = utcnow()
        with engine.begin() as conn:
            for i in (1, 2):
                conn.execute(
                    subjects.insert().values(
                        id=i,
                        code=f"RT-MIGR000{i}",
                        protocol_id="p",
                        status="candidate",
                        status_at=now,
                        source="clinic",
                        consents={},
                        version=1,
                        created_at=now,
                    )
                )
                conn.execute(
                    identities.insert().values(
                        id=i,
                        subject_id=i,
                        key_id="k" * 16,
                        nonce=b"n" * 12,
                        ciphertext=b"c",
                        person_hash=f"{i}" * 64,
                        version=1,
                        created_at=now,
                    )
                )
        assert upgrade(empty_db_url, "0002") == "0002"
        with engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT audit_key FROM identities ORDER BY id")).scalars()
            keys = [bytes(k) for k in keys]
        # 0003 moves the keyed hashes to identity_keys, each with its identity's audit key
        assert upgrade(empty_db_url) == head_revision()
        with engine.connect() as conn:
            moved = conn.execute(
                sa.text("SELECT subject_id, audit_key FROM identity_keys ORDER BY subject_id")
            ).all()
    finally:
        engine.dispose()
    assert [len(k) for k in keys] == [32, 32] and keys[0] != keys[1]
    assert [(i, bytes(k)) for i, k in moved] == [(1, keys[0]), (2, keys[1])]


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    reg = Registry(url)
    try:
        with reg.read() as s:
            assert s.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert s.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
            with pytest.raises(sa.exc.IntegrityError):
                s.execute(
                    sa.text(
                        "INSERT INTO milestones (subject_id, kind, at, recorded_by) "
                        "VALUES (999, 'x', '2025-01-01', 'u')"
                    )
                )
    finally:
        reg.dispose()


def test_new_sqlite_database_is_private(tmp_path: Path) -> None:
    """A new registry file (and the WAL files SQLite adds) is readable by its owner only, in a
    folder only the owner can list, whatever the umask lets other files be."""
    import os
    import stat

    old = os.umask(0o022)  # the common default: files 0644, folders 0755
    try:
        folder = tmp_path / "var"
        url = f"sqlite:///{folder / 'radiotrial.db'}"
        upgrade(url)
        reg = Registry(url)
        try:
            with reg.write() as s:  # WAL mode: -wal and -shm exist while a connection is open
                s.execute(sa.text("SELECT 1"))
            modes = {
                p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir() if p.is_file()
            }
        finally:
            reg.dispose()
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert modes["radiotrial.db"] == 0o600
        assert set(modes) >= {"radiotrial.db", "radiotrial.db-wal", "radiotrial.db-shm"}
        assert set(modes.values()) == {0o600}, modes
        # an existing file keeps the mode its owner gave it
        shared = tmp_path / "shared.db"
        shared.touch(mode=0o640)
        upgrade(f"sqlite:///{shared}")
        assert stat.S_IMODE(shared.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_database_url_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RADIOTRIAL_DB_URL", raising=False)
    assert database_url() == "sqlite:///var/radiotrial.db"
    monkeypatch.setenv("RADIOTRIAL_DB_URL", "postgresql://u@h/db")
    assert database_url() == "postgresql+psycopg://u@h/db"
    with pytest.raises(ValidationError, match="url"):
        database_url("mysql://u@h/db")
    with pytest.raises(ValidationError, match="url"):
        database_url("not a url")


# The path the platform implements, written out edge by edge from the FHIR R4
# research-subject-status definitions (independent of the module's table).
EXPECTED_EDGES = {
    ("potential-candidate", "candidate"),
    ("potential-candidate", "not-registered"),
    ("potential-candidate", "withdrawn"),
    ("candidate", "screening"),
    ("candidate", "not-registered"),
    ("candidate", "withdrawn"),
    ("screening", "eligible"),
    ("screening", "ineligible"),
    ("screening", "not-registered"),
    ("screening", "withdrawn"),
    ("eligible", "on-study"),
    ("eligible", "screening"),
    ("eligible", "not-registered"),
    ("eligible", "withdrawn"),
    ("ineligible", "screening"),
    ("ineligible", "not-registered"),
    ("on-study", "on-study-intervention"),
    ("on-study", "off-study"),
    ("on-study", "withdrawn"),
    ("on-study-intervention", "follow-up"),
    ("on-study-intervention", "off-study"),
    ("on-study-intervention", "withdrawn"),
    ("follow-up", "off-study"),
    ("follow-up", "withdrawn"),
}


def test_fhir_codes_are_the_r4_value_set() -> None:
    # http://hl7.org/fhir/R4/valueset-research-subject-status.html: 13 codes
    assert len(FHIR_STATUSES) == 13 and len(set(FHIR_STATUSES)) == 13


@pytest.mark.parametrize(("old", "new"), list(itertools.product(FHIR_STATUSES, repeat=2)))
def test_every_transition(old: str, new: str) -> None:
    if (old, new) in EXPECTED_EDGES:
        check_transition("RT-TEST", old, new)
    else:
        with pytest.raises(WorkflowError, match="RT-TEST"):
            check_transition("RT-TEST", old, new)


def test_terminal_statuses_have_no_exit() -> None:
    assert {"off-study", "withdrawn", "not-registered"} <= TERMINAL
    assert not any(old in TERMINAL for old, _ in EXPECTED_EDGES)
    with pytest.raises(WorkflowError, match="not a FHIR"):
        check_transition("RT-TEST", "candidate", "enrolled")


def test_database_guards_surface_as_conflicts(registry: Registry) -> None:
    from radiotrial.registry import ConflictError, Subject, utcnow

    def subject(code: str) -> Subject:
        return Subject(code=code, protocol_id="p", status="candidate", status_at=utcnow(),
                       source="clinic", consents={})  # fmt: skip

    with registry.write() as s:
        s.add(subject("RT-00000001"))
    with pytest.raises(ConflictError, match="conflicting change"), registry.write() as s:
        s.add(subject("RT-00000001"))  # UNIQUE(code)

    def stale_update() -> None:
        with registry.write() as s:
            row = s.execute(sa.select(Subject)).scalar_one()
            # another writer bumped the version behind this session's back
            s.execute(sa.text("UPDATE subjects SET version = version + 1"))
            row.status = "screening"
            s.flush()

    with pytest.raises(ConflictError, match="conflicting change"):
        stale_update()
    with registry.read() as s:
        assert s.execute(sa.select(Subject.status)).scalar_one() == "candidate"
