"""initial registry schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-25 15:19:06.330744

Hand-checked autogenerate output plus what autogenerate cannot see: the append-only triggers
on ``audit_log`` and ``signatures`` (both dialects) and the genesis row of ``audit_head``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import radiotrial.registry._types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
_APPEND_ONLY = ("audit_log", "signatures")


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on the append-only tables."""
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
            )
        else:  # pragma: no cover - database_url() admits only these two
            raise RuntimeError(f"no append-only trigger for dialect {dialect}")


def _drop_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("subject_code", sa.String(length=32), nullable=True),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_subject_code"), ["subject_code"], unique=False
        )

    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("dose_level", sa.Integer(), nullable=False),
        sa.Column("activity_gbq", sa.Float(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("opened_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.CheckConstraint("capacity >= 1", name=op.f("ck_cohorts_capacity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cohorts")),
        sa.UniqueConstraint("number", name=op.f("uq_cohorts_number")),
    )
    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("signer", sa.String(length=64), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("meaning", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("signed_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("protocol_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("consents", sa.JSON(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=True),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("dose_level", sa.Integer(), nullable=True),
        sa.Column("enrolled_at", radiotrial.registry._types.UTCDateTime(), nullable=True),
        sa.Column("dlt_evaluable", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name=op.f("fk_subjects_cohort_id_cohorts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("code", name=op.f("uq_subjects_code")),
        sa.UniqueConstraint("cohort_id", "slot", name=op.f("uq_subjects_cohort_id_slot")),
    )
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subjects_status"), ["status"], unique=False)

    op.create_table(
        "administrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("nuclide", sa.String(length=16), nullable=False),
        sa.Column("pre_activity_mbq", sa.Float(), nullable=False),
        sa.Column("pre_measured_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("residual_activity_mbq", sa.Float(), nullable=False),
        sa.Column("residual_measured_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("administered_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("net_activity_mbq", sa.Float(), nullable=False),
        sa.Column("prescribed_activity_mbq", sa.Float(), nullable=True),
        sa.Column("calibrator", sa.String(length=100), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("cycle >= 1", name=op.f("ck_administrations_cycle")),
        sa.CheckConstraint("net_activity_mbq >= 0", name=op.f("ck_administrations_net_activity")),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_administrations_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_administrations")),
        sa.UniqueConstraint(
            "subject_id", "cycle", name=op.f("uq_administrations_subject_id_cycle")
        ),
    )
    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("aespid", sa.Integer(), nullable=False),
        sa.Column("aeterm", sa.String(length=200), nullable=False),
        sa.Column("aedecod", sa.String(length=200), nullable=False),
        sa.Column("aebodsys", sa.String(length=200), nullable=True),
        sa.Column("aetoxgr", sa.Integer(), nullable=False),
        sa.Column("aeser", sa.String(length=1), nullable=False),
        sa.Column("aerel", sa.String(length=16), nullable=False),
        sa.Column("aeacn", sa.String(length=64), nullable=True),
        sa.Column("aeout", sa.String(length=64), nullable=True),
        sa.Column("aestdtc", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("aeendtc", radiotrial.registry._types.UTCDateTime(), nullable=True),
        sa.Column("haematologic", sa.Boolean(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=True),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("aetoxgr BETWEEN 1 AND 5", name=op.f("ck_adverse_events_aetoxgr")),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_adverse_events_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
        sa.UniqueConstraint(
            "subject_id", "aespid", name=op.f("uq_adverse_events_subject_id_aespid")
        ),
    )
    op.create_table(
        "eligibility_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("overall", sa.String(length=16), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "overall IN ('eligible', 'ineligible')", name=op.f("ck_eligibility_decisions_overall")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_eligibility_decisions_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_decisions")),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("test_id", sa.String(length=64), nullable=True),
        sa.Column("variable", sa.String(length=64), nullable=False),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("observed_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("source_document", sa.String(length=200), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_evidence_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("person_hash", sa.String(length=64), nullable=False),
        sa.Column("document_hash", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_identities_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_identities_subject_id")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identities_document_hash"), ["document_hash"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_identities_person_hash"), ["person_hash"], unique=False
        )

    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_milestones_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    op.create_table(
        "dlt_adjudications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adverse_event_id", sa.Integer(), nullable=False),
        sa.Column("adverse_event_version", sa.Integer(), nullable=False),
        sa.Column("is_dlt", sa.Boolean(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("in_window", sa.Boolean(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("adjudicated_by", sa.String(length=64), nullable=False),
        sa.Column("adjudicated_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adverse_event_id"],
            ["adverse_events.id"],
            name=op.f("fk_dlt_adjudications_adverse_event_id_adverse_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dlt_adjudications")),
        sa.UniqueConstraint("adverse_event_id", name=op.f("uq_dlt_adjudications_adverse_event_id")),
    )
    op.create_table(
        "dosimetry_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("absorbed_dose_gy", sa.Float(), nullable=False),
        sa.Column("bed_gy", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=200), nullable=False),
        sa.Column("analysis_ref", sa.String(length=300), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administrations.id"],
            name=op.f("fk_dosimetry_results_administration_id_administrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dosimetry_results")),
    )
    op.create_table(
        "imaging_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("administration_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.Column("hours_post_injection", sa.Float(), nullable=False),
        sa.Column("modality", sa.String(length=32), nullable=False),
        sa.Column("series_uid", sa.String(length=128), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", radiotrial.registry._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["administration_id"],
            ["administrations.id"],
            name=op.f("fk_imaging_sessions_administration_id_administrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_sessions")),
    )

    _append_only_triggers()
    op.execute(
        sa.text(
            "INSERT INTO audit_head (id, last_seq, last_hash) VALUES (1, 0, :genesis)"
        ).bindparams(genesis=GENESIS_HASH)
    )


def downgrade() -> None:
    _drop_triggers()
    op.drop_table("imaging_sessions")
    op.drop_table("dosimetry_results")
    op.drop_table("dlt_adjudications")
    op.drop_table("milestones")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_person_hash"))
        batch_op.drop_index(batch_op.f("ix_identities_document_hash"))

    op.drop_table("identities")
    op.drop_table("evidence")
    op.drop_table("eligibility_decisions")
    op.drop_table("adverse_events")
    op.drop_table("administrations")
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subjects_status"))

    op.drop_table("subjects")
    op.drop_table("users")
    op.drop_table("signatures")
    op.drop_table("cohorts")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_subject_code"))

    op.drop_table("audit_log")
    op.drop_table("audit_head")
