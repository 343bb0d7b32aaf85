"""The initial social schema: places and their closure table, members, memberships,
tokens, alarms and posts.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

The migration does not import ``social.models``: a migration must keep creating the
schema it was written for even after the models move on. ``test_migrations`` checks
that head and the models agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LANGUAGES = "language IN ('fr', 'en')"
PLACE_KINDS = "kind IN ('city', 'neighbourhood', 'building', 'entrance', 'floor', 'unit')"


def _place(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length=120), nullable=nullable)


def _at(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        _at("created_at"),
        sa.CheckConstraint(LANGUAGES, name=op.f("ck_members_language")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("username", name=op.f("uq_members_username")),
    )
    op.create_table(
        "places",
        _place("id"),
        _place("parent_id", nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.CheckConstraint(PLACE_KINDS, name=op.f("ck_places_kind")),
        sa.CheckConstraint(LANGUAGES, name=op.f("ck_places_language")),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["places.id"], name=op.f("fk_places_parent_id_places")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
    )
    op.create_index(op.f("ix_places_parent_id"), "places", ["parent_id"])
    op.create_table(
        "place_ancestors",
        _place("place_id"),
        _place("ancestor_id"),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ancestor_id"], ["places.id"],
            name=op.f("fk_place_ancestors_ancestor_id_places"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"],
            name=op.f("fk_place_ancestors_place_id_places"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("place_id", "ancestor_id", name=op.f("pk_place_ancestors")),
    )
    op.create_index(
        "ix_place_ancestors_ancestor_id_depth", "place_ancestors", ["ancestor_id", "depth"]
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        _place("place_id"),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        _at("started_at"),
        _at("ended_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"],
            name=op.f("fk_memberships_member_id_members"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_memberships_place_id_places")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_member_id"), "memberships", ["member_id"])
    op.create_index(op.f("ix_memberships_place_id"), "memberships", ["place_id"])
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        _at("created_at"),
        _at("expires_at"),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"],
            name=op.f("fk_auth_tokens_member_id_members"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_tokens_token_hash")),
    )
    op.create_index(op.f("ix_auth_tokens_expires_at"), "auth_tokens", ["expires_at"])
    op.create_index(op.f("ix_auth_tokens_member_id"), "auth_tokens", ["member_id"])
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=120), nullable=False),
        sa.Column("device_id", sa.String(length=120), nullable=False),
        sa.Column("episode", sa.Integer(), nullable=False),
        _place("place_id"),
        _place("building_id", nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        _at("raised_at"),
        _at("cleared_at", nullable=True),
        sa.Column("open_key", sa.String(length=250), nullable=True),
        sa.CheckConstraint("state IN ('active', 'cleared')", name=op.f("ck_alarms_state")),
        sa.ForeignKeyConstraint(
            ["building_id"], ["places.id"], name=op.f("fk_alarms_building_id_places")
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_alarms_place_id_places")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("open_key", name=op.f("uq_alarms_open_key")),
        sa.UniqueConstraint(
            "rule_id", "device_id", "episode", name=op.f("uq_alarms_rule_id_device_id_episode")
        ),
    )
    op.create_index(
        "ix_alarms_building_state_raised", "alarms", ["building_id", "state", "raised_at"]
    )
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), nullable=False),
        _place("place_id"),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        _at("resolved_at", nullable=True),
        sa.Column("alarm_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('message', 'alert', 'notice')", name=op.f("ck_posts_kind")),
        sa.CheckConstraint("status IN ('active', 'resolved')", name=op.f("ck_posts_status")),
        sa.ForeignKeyConstraint(
            ["alarm_id"], ["alarms.id"],
            name=op.f("fk_posts_alarm_id_alarms"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["members.id"],
            name=op.f("fk_posts_author_id_members"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_posts_place_id_places")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("alarm_id", name=op.f("uq_posts_alarm_id")),
    )
    op.create_index(op.f("ix_posts_author_id"), "posts", ["author_id"])
    op.create_index(
        "ix_posts_feed", "posts", ["place_id", sa.literal_column("created_at DESC"), "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_posts_feed", table_name="posts")
    op.drop_index(op.f("ix_posts_author_id"), table_name="posts")
    op.drop_table("posts")
    op.drop_index("ix_alarms_building_state_raised", table_name="alarms")
    op.drop_table("alarms")
    op.drop_index(op.f("ix_auth_tokens_member_id"), table_name="auth_tokens")
    op.drop_index(op.f("ix_auth_tokens_expires_at"), table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_index(op.f("ix_memberships_place_id"), table_name="memberships")
    op.drop_index(op.f("ix_memberships_member_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_index("ix_place_ancestors_ancestor_id_depth", table_name="place_ancestors")
    op.drop_table("place_ancestors")
    op.drop_index(op.f("ix_places_parent_id"), table_name="places")
    op.drop_table("places")
    op.drop_table("members")
