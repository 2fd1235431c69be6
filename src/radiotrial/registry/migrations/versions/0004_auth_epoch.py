"""users.auth_epoch: what a signed-in session or API token stands for

Revision ID: 0004_auth_epoch
Revises: 0003_requests
Create Date: 2026-12-02

A session or bearer token carries the account's ``auth_epoch`` from the moment it was issued;
every change of what it stands for (password, role, deactivation) increments the column, and
every request compares the two, so credentials issued before the change are refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_auth_epoch"
down_revision = "0003_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("auth_epoch", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("auth_epoch")
