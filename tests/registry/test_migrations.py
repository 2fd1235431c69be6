"""The migration chain: one line of revisions, and data carried through upgrade and downgrade."""

from __future__ import annotations

import json
from importlib import resources

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from radiotrial.registry import Registry, current_revision, head_revision, make_engine, upgrade
from radiotrial.registry._audit import verify_chain
from radiotrial.registry._engine import _alembic_config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(resources.files("radiotrial.registry").joinpath("migrations")))


def test_revisions_form_one_line() -> None:
    """One base, one head, no branch or merge point: every database has one upgrade path, and
    two branches merged into main without a merge revision fail here."""
    scripts = _scripts()
    revisions = list(scripts.walk_revisions())  # head first
    assert scripts.get_heads() == [head_revision()]
    assert len(scripts.get_bases()) == 1
    for rev in revisions:
        assert not rev.is_branch_point and not rev.is_merge_point, rev.revision
    # walking down_revision from the head visits every revision exactly once
    chain, rev = [], scripts.get_revision(head_revision())
    while rev is not None:
        chain.append(rev.revision)
        assert isinstance(rev.down_revision, str | None), rev.revision
        rev = scripts.get_revision(rev.down_revision) if rev.down_revision else None
    assert sorted(chain) == sorted(r.revision for r in revisions)
    assert chain[-1] == "0001"


def _downgrade(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            command.downgrade(_alembic_config(conn), revision)
    finally:
        engine.dispose()


def test_identity_hashes_survive_upgrade_and_downgrade(empty_db_url: str) -> None:
    """A registry written under 0001 keeps finding its people after 0002 moved the keyed
    hashes to ``identity_keys`` (and after a downgrade moved them back); the audit chain
    records the move and stays valid."""
    url = empty_db_url
    assert upgrade(url, "0001") == "0001"
    person, document = "a" * 64, "b" * 64
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO subjects (id, code, protocol_id, status, status_at, source, "
                    "consents, version, created_at) VALUES (1, 'RT-00000001', 'p', "
                    "'potential-candidate', '2026-01-01T00:00:00+00:00', 'portal', '{}', 1, "
                    "'2026-01-01T00:00:00+00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO identities (subject_id, key_id, nonce, ciphertext, person_hash, "
                    "document_hash, version, created_at) VALUES (1, 'k', :n, :c, :p, :d, 1, "
                    "'2026-01-01T00:00:00+00:00')"
                ),
                {"n": b"\0" * 12, "c": b"sealed", "p": person, "d": document},
            )
    finally:
        engine.dispose()
    assert upgrade(url) == head_revision()
    registry = Registry(url)
    try:
        with registry.read() as s:
            keys = set(s.execute(sa.text("SELECT subject_id, key_hash FROM identity_keys")).all())
            moved = s.execute(
                sa.text("SELECT new FROM audit_log WHERE action = 'migrate'")
            ).scalar_one()
            assert verify_chain(s).ok
            epoch = s.execute(sa.text("SELECT auth_epoch FROM users")).all()
    finally:
        registry.dispose()
    assert keys == {(1, person), (1, document)}
    assert json.loads(moved)["identity_keys_moved"] == 2
    assert epoch == []  # the column exists (no accounts yet)
    _downgrade(url, "0001")
    assert current_revision(url) == "0001"
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            back = conn.execute(sa.text("SELECT person_hash FROM identities")).scalar_one()
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert back == person  # the oldest key of the subject: its name key
    assert not {"identity_keys", "requests", "request_contacts", "outbox"} & tables
    assert upgrade(url) == head_revision()  # and up again


@pytest.mark.parametrize("revision", ["0003_requests", "0002", "0001"])
def test_each_downgrade_leaves_a_schema_that_upgrades(empty_db_url: str, revision: str) -> None:
    upgrade(empty_db_url)
    _downgrade(empty_db_url, revision)
    assert current_revision(empty_db_url) == revision
    assert upgrade(empty_db_url) == head_revision()
