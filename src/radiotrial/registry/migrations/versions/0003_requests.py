"""portal requests, their vault contacts, identity keys, the outbox, forced password change

Revision ID: 0003_requests
Revises: 0002
Create Date: 2026-12-02

- ``requests``: every pre-screening / consultation request with its public reference, answers,
  logistics and consents (pseudonymous), linked to a subject; ``request_contacts``: who sent it
  (vault, AES-256-GCM).
- ``identity_keys``: the keyed hashes for duplicate detection, several per subject, each with
  its own ``audit_key`` (the trail holds the hash only blinded under it). The two hash columns of
  ``identities`` move here: ``person_hash`` (HMAC of name + birth date, or of the name alone
  when no birth date was given: the same formula with an empty date) and ``document_hash`` keep
  their values, so existing subjects are still found, and take the identity's ``audit_key``
  (revision 0002) with them, so audit entries written before stay checkable against the live
  key rows and become unmatchable when retention deletes them. ``identities.audit_key`` goes
  (nothing in the row is blinded any more). When rows move, one ``migrate`` entry is appended
  to the audit chain (counts only).
- ``outbox``: unsent e-mail (recipients sealed), replacing the JSON files of
  ``RADIOTRIAL_OUTBOX_DIR`` (files already there are not imported).
- ``users.password_change_required``.

Downgrade restores the two ``identities`` hash columns and the audit key from the oldest key of
each subject (the name key for subjects registered after this revision: requests register it
first; a fresh random key where a subject has none) and drops the new tables with their data.
"""

from __future__ import annotations

import secrets
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

import radiotrial.registry._types
from radiotrial.registry._audit import entry_hash
from radiotrial.registry._types import canonical_json, to_jsonable, utcnow

revision = "0003_requests"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_DT = radiotrial.registry._types.UTCDateTime


def _audit_migration(conn: sa.Connection, moved: int) -> None:
    """Append one ``migrate`` entry to the hash chain (same rules as ``append_audit``)."""
    head = conn.execute(sa.text("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")).one()
    entry = SimpleNamespace(
        seq=head.last_seq + 1,
        at=to_jsonable(utcnow()),
        actor="alembic",
        role="admin",
        action="migrate",
        table_name="identity_keys",
        record_id=None,
        subject_code=None,
        old=None,
        new=canonical_json({"revision": revision, "identity_keys_moved": moved}),
        reason="schema upgrade: identity hashes moved from identities to identity_keys",
        prev_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)  # type: ignore[arg-type]
    conn.execute(
        sa.text(
            "INSERT INTO audit_log (seq, at, actor, role, action, table_name, record_id, "
            "subject_code, old, new, reason, prev_hash, hash) VALUES (:seq, :at, :actor, :role, "
            ":action, :table_name, :record_id, :subject_code, :old, :new, :reason, :prev_hash, "
            ":hash)"
        ),
        vars(entry),
    )
    conn.execute(
        sa.text("UPDATE audit_head SET last_seq = :seq, last_hash = :hash WHERE id = 1"),
        {"seq": entry.seq, "hash": entry.hash},
    )


def upgrade() -> None:
    op.create_table(
        "identity_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("audit_key", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_identity_keys_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_keys")),
        sa.UniqueConstraint(
            "subject_id", "key_hash", name=op.f("uq_identity_keys_subject_id_key_hash")
        ),
    )
    with op.batch_alter_table("identity_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_keys_key_hash"), ["key_hash"], unique=False)

    op.create_table(
        "requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("form_key", sa.String(length=64), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("requester_type", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("received_at", UTC_DT(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("travel", sa.String(length=16), nullable=False),
        sa.Column("interpreter", sa.String(length=16), nullable=False),
        sa.Column("preferred_language", sa.String(length=16), nullable=False),
        sa.Column("contact_channel", sa.String(length=16), nullable=False),
        sa.Column("contact_time", sa.String(length=16), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("consents", sa.JSON(), nullable=False),
        sa.Column("match", sa.String(length=16), nullable=False),
        sa.Column("match_codes", sa.JSON(), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", UTC_DT(), nullable=True),
        sa.Column("handled_at", UTC_DT(), nullable=True),
        sa.Column("handled_by", sa.String(length=64), nullable=True),
        sa.Column("handling_note", sa.Text(), nullable=True),
        sa.Column("audit_salt", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('prescreening', 'consultation')", name=op.f("ck_requests_kind")
        ),
        sa.CheckConstraint("match IN ('new', 'known', 'possible')", name=op.f("ck_requests_match")),
        sa.CheckConstraint(
            "requester_type IN ('patient', 'relative', 'physician')",
            name=op.f("ck_requests_requester_type"),
        ),
        sa.CheckConstraint(
            "resolution IN ('same', 'different')", name=op.f("ck_requests_resolution")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_requests_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("form_key", name=op.f("uq_requests_form_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_requests_reference")),
    )
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_requests_received_at"), ["received_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_requests_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mail_uid", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("recipients", sa.LargeBinary(), nullable=False),
        sa.Column("queued_at", UTC_DT(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", UTC_DT(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_outbox_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("mail_uid", name=op.f("uq_outbox_mail_uid")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_request_id"), ["request_id"], unique=False)

    op.create_table(
        "request_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DT(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["requests.id"],
            name=op.f("fk_request_contacts_request_id_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_contacts")),
        sa.UniqueConstraint("request_id", name=op.f("uq_request_contacts_request_id")),
    )

    conn = op.get_bind()
    moved = 0
    for column in ("person_hash", "document_hash"):
        moved += conn.execute(
            sa.text(
                f"INSERT INTO identity_keys (subject_id, key_hash, audit_key) SELECT subject_id, "
                f"{column}, audit_key FROM identities WHERE {column} IS NOT NULL ORDER BY id"
            )
        ).rowcount
    if moved:
        _audit_migration(conn, moved)
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_document_hash"))
        batch_op.drop_index(batch_op.f("ix_identities_person_hash"))
        batch_op.drop_column("document_hash")
        batch_op.drop_column("person_hash")
        batch_op.drop_column("audit_key")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "password_change_required", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("password_change_required")

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("document_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("audit_key", sa.LargeBinary(length=32), nullable=True))
    for column, source in (("person_hash", "key_hash"), ("audit_key", "audit_key")):
        op.execute(
            f"UPDATE identities SET {column} = (SELECT k.{source} FROM identity_keys k "
            "WHERE k.subject_id = identities.subject_id ORDER BY k.id LIMIT 1)"
        )
    op.execute("UPDATE identities SET person_hash = '' WHERE person_hash IS NULL")
    bind = op.get_bind()
    identities = sa.table("identities", sa.column("id"), sa.column("audit_key"))
    for (row_id,) in bind.execute(
        sa.select(identities.c.id).where(identities.c.audit_key.is_(None))
    ).all():
        bind.execute(
            identities.update()
            .where(identities.c.id == row_id)
            .values(audit_key=secrets.token_bytes(32))
        )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.alter_column("person_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("audit_key", existing_type=sa.LargeBinary(length=32), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_identities_person_hash"), ["person_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identities_document_hash"), ["document_hash"], unique=False
        )

    op.drop_table("request_contacts")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_request_id"))
    op.drop_table("outbox")
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_requests_subject_id"))
        batch_op.drop_index(batch_op.f("ix_requests_received_at"))
    op.drop_table("requests")
    with op.batch_alter_table("identity_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_keys_key_hash"))
    op.drop_table("identity_keys")
