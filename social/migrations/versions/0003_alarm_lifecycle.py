"""The alarm lifecycle: acknowledgement, escalation, evidence, notifications, the outbox,
rule states, on-call memberships and quiet hours.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Columns added to existing tables are NOT NULL with a server default, so the rows
already there get a sensible value (no quiet-hours override, nobody on call, no
escalation) and writers that do not know the column keep working.

SQLite cannot alter a column or a constraint in place: the batch operations rebuild
``alarms`` and ``posts`` there (``render_as_batch`` in ``env.py``); PostgreSQL alters
them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ALARM_STATES_BEFORE = "state IN ('active', 'cleared')"
ALARM_STATES = "state IN ('active', 'acknowledged', 'cleared')"
POST_KINDS_BEFORE = "kind IN ('message', 'alert', 'notice')"
POST_KINDS = "kind IN ('message', 'alert', 'notice', 'help_request')"
JSON_COLUMNS = ("escalation", "evidence", "acknowledge_text", "clear_text")


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str, default: str) -> sa.Column[Any]:
    return sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text(f"'{default}'"))


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("quiet_start", sa.String(length=5), nullable=False,
                                   server_default="22:00"))
        batch.add_column(sa.Column("quiet_end", sa.String(length=5), nullable=False,
                                   server_default="07:00"))
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("on_call", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))

    with op.batch_alter_table("alarms") as batch:
        batch.drop_constraint(op.f("ck_alarms_state"), type_="check")
        batch.alter_column("state", existing_type=sa.String(length=8),
                           type_=sa.String(length=12), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_alarms_state"), ALARM_STATES)
        batch.add_column(_at("acknowledged_at", nullable=True))
        batch.add_column(sa.Column("acknowledged_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ack_note", sa.Text(), nullable=True))
        batch.add_column(_json("escalation", "[]"))
        batch.add_column(sa.Column("escalated_steps", sa.Integer(), nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(_at("next_escalation_at", nullable=True))
        batch.add_column(_json("evidence", "[]"))
        batch.add_column(_json("acknowledge_text", "{}"))
        batch.add_column(_json("clear_text", "{}"))
        batch.add_column(sa.Column("notify_on_call", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_foreign_key(op.f("fk_alarms_acknowledged_by_members"), "members",
                                 ["acknowledged_by"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_alarms_state_next_escalation_at",
                           ["state", "next_escalation_at"])
    # The JSON defaults only filled the rows already there: PostgreSQL cannot compare a
    # json default with anything, and the application always writes these columns.
    with op.batch_alter_table("alarms") as batch:
        for column in JSON_COLUMNS:
            batch.alter_column(column, existing_type=sa.JSON(), existing_nullable=False,
                               server_default=None)

    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint(op.f("ck_posts_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_posts_kind"), POST_KINDS)
        # An alarm now has its alert post and the help requests it opened.
        batch.drop_constraint(op.f("uq_posts_alarm_id"), type_="unique")
        batch.create_index(op.f("ix_posts_alarm_id"), ["alarm_id"])

    op.create_table(
        "rule_states",
        sa.Column("rule_id", sa.String(length=120), nullable=False),
        sa.Column("subject", sa.String(length=250), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("rule_id", "subject", name=op.f("pk_rule_states")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        _at("created_at"),
        _at("deliver_after"),
        _at("read_at", nullable=True),
        sa.CheckConstraint("kind IN ('alarm', 'notice', 'escalation', 'help_request')",
                           name=op.f("ck_notifications_kind")),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], ondelete="SET NULL",
                                name=op.f("fk_notifications_alarm_id_alarms")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE",
                                name=op.f("fk_notifications_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_member_id_deliver_after", "notifications",
                    ["member_id", "deliver_after"])
    op.create_index(op.f("ix_notifications_alarm_id"), "notifications", ["alarm_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        _at("next_attempt_at"),
        _at("created_at"),
        _at("finished_at", nullable=True),
        sa.CheckConstraint("kind IN ('webhook', 'command')", name=op.f("ck_outbox_kind")),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')",
                           name=op.f("ck_outbox_status")),
        sa.ForeignKeyConstraint(["alarm_id"], ["alarms.id"], ondelete="CASCADE",
                                name=op.f("fk_outbox_alarm_id_alarms")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("alarm_id", "kind", "position",
                            name=op.f("uq_outbox_alarm_id_kind_position")),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox",
                    ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_status_next_attempt_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_notifications_alarm_id"), table_name="notifications")
    op.drop_index("ix_notifications_member_id_deliver_after", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("rule_states")

    # Rows that only the new schema allows cannot go back: help requests lose their
    # alarm (a post keeps its text), acknowledged alarms become active again.
    op.execute("DELETE FROM posts WHERE kind = 'help_request'")
    op.execute("UPDATE alarms SET state = 'active' WHERE state = 'acknowledged'")
    with op.batch_alter_table("posts") as batch:
        batch.drop_index(op.f("ix_posts_alarm_id"))
        batch.create_unique_constraint(op.f("uq_posts_alarm_id"), ["alarm_id"])
        batch.drop_constraint(op.f("ck_posts_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_posts_kind"), POST_KINDS_BEFORE)

    with op.batch_alter_table("alarms") as batch:
        batch.drop_index("ix_alarms_state_next_escalation_at")
        batch.drop_constraint(op.f("fk_alarms_acknowledged_by_members"), type_="foreignkey")
        for column in ("notify_on_call", "clear_text", "acknowledge_text", "evidence",
                       "next_escalation_at", "escalated_steps", "escalation", "ack_note",
                       "acknowledged_by", "acknowledged_at"):
            batch.drop_column(column)
        batch.drop_constraint(op.f("ck_alarms_state"), type_="check")
        batch.alter_column("state", existing_type=sa.String(length=12),
                           type_=sa.String(length=8), existing_nullable=False)
        batch.create_check_constraint(op.f("ck_alarms_state"), ALARM_STATES_BEFORE)

    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("on_call")
    with op.batch_alter_table("members") as batch:
        batch.drop_column("quiet_end")
        batch.drop_column("quiet_start")
