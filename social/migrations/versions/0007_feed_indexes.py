"""Feed indexes: posts newest first, and the pinned notices.

The feed reads pinned notices first (a handful, from a partial index) and then the
other posts newest first along ``(created_at, id)``, stopping after a page, instead of
sorting every post a member may read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_posts_newest", "posts",
                    [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")])
    op.create_index("ix_posts_pinned", "posts", ["pinned_until"],
                    sqlite_where=sa.text("pinned_until IS NOT NULL"),
                    postgresql_where=sa.text("pinned_until IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_posts_pinned", table_name="posts")
    op.drop_index("ix_posts_newest", table_name="posts")
