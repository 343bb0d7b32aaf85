"""The audit log of device commands.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "command_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.String(length=120), nullable=False),
        sa.Column("point", sa.String(length=120), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("topic", sa.String(length=250), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('published', 'failed')", name=op.f("ck_command_log_status")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="SET NULL",
                                name=op.f("fk_command_log_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_log")),
    )
    op.create_index(op.f("ix_command_log_member_id"), "command_log", ["member_id"])
    op.create_index(op.f("ix_command_log_device_id"), "command_log", ["device_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_command_log_device_id"), table_name="command_log")
    op.drop_index(op.f("ix_command_log_member_id"), table_name="command_log")
    op.drop_table("command_log")
