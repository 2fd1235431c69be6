"""identities.audit_key: per-person key that blinds the keyed hashes in the audit trail

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 10:00:00

Existing rows get a fresh random key. Audit entries written before this revision hold their
keyed hashes unblinded and cannot be rewritten (append-only); only entries from now on are
unlinkable after purge.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_key", sa.LargeBinary(length=32), nullable=True))
    bind = op.get_bind()
    identities = sa.table("identities", sa.column("id"), sa.column("audit_key"))
    for (row_id,) in bind.execute(sa.select(identities.c.id)).all():
        bind.execute(
            identities.update()
            .where(identities.c.id == row_id)
            .values(audit_key=secrets.token_bytes(32))
        )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.alter_column("audit_key", existing_type=sa.LargeBinary(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("audit_key")
