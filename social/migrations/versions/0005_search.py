"""Full-text search indexes, and the server secret behind moderator pseudonyms.

SQLite: one FTS5 table per searched table (``posts_fts``: the titles and bodies of every
language of a post; ``comments_fts``: comment bodies), filled from the existing rows and
kept in sync by triggers. PostgreSQL: GIN indexes on the ``to_tsvector('simple', …)``
expressions that ``social.search`` queries. None of these objects is in the ORM
metadata (``social.search.include_name`` keeps the comparison from reporting them).

The expressions are written out here rather than imported, so this revision keeps
creating what it created on the day it was written; ``tests/social/test_search.py``
checks that PostgreSQL plans still use these indexes.

A migration that rebuilds ``posts`` or ``comments`` on SQLite (batch mode "move and
copy") drops their triggers and must create them again.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The text of one language's field of a post, all languages joined: ``content`` is
#: ``{"fr": {"title": ..., "body": ...}, "en": {...}}`` stored as JSON text.
_SQLITE_FIELD = (
    "(SELECT coalesce(group_concat(json_extract(value, '$.{field}'), ' '), '') "
    "FROM json_each(CASE WHEN json_valid({row}.content) THEN {row}.content ELSE '{{}}' END) "
    "WHERE type = 'object')"
)
_TOKENIZER = "unicode61 remove_diacritics 2"

_PG_POST_VECTOR = (
    "(setweight(jsonb_to_tsvector('simple', "
    "jsonb_path_query_array(content::jsonb, '$.*.title'), '[\"string\"]'), 'A') || "
    "setweight(jsonb_to_tsvector('simple', "
    "jsonb_path_query_array(content::jsonb, '$.*.body'), '[\"string\"]'), 'B'))"
)


def _post_values(row: str) -> str:
    title = _SQLITE_FIELD.format(field="title", row=row)
    body = _SQLITE_FIELD.format(field="body", row=row)
    return f"{row}.id, {title}, {body}"


def upgrade() -> None:
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_upgrade()
    elif dialect == "postgresql":
        op.execute(f"CREATE INDEX ix_posts_search ON posts USING gin ({_PG_POST_VECTOR})")
        op.execute("CREATE INDEX ix_comments_search ON comments "
                   "USING gin (to_tsvector('simple', body))")


def _sqlite_upgrade() -> None:
    op.execute(f"CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, tokenize='{_TOKENIZER}')")
    op.execute(f"CREATE VIRTUAL TABLE comments_fts USING fts5(body, tokenize='{_TOKENIZER}')")
    op.execute(f"INSERT INTO posts_fts (rowid, title, body) SELECT {_post_values('posts')} "
               "FROM posts")
    op.execute("INSERT INTO comments_fts (rowid, body) SELECT id, body FROM comments")
    op.execute(f"""
        CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN
            INSERT INTO posts_fts (rowid, title, body) VALUES ({_post_values('new')});
        END""")
    op.execute(f"""
        CREATE TRIGGER posts_fts_update AFTER UPDATE OF content ON posts BEGIN
            DELETE FROM posts_fts WHERE rowid = old.id;
            INSERT INTO posts_fts (rowid, title, body) VALUES ({_post_values('new')});
        END""")
    op.execute("""
        CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN
            DELETE FROM posts_fts WHERE rowid = old.id;
        END""")
    op.execute("""
        CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments BEGIN
            INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
        END""")
    op.execute("""
        CREATE TRIGGER comments_fts_update AFTER UPDATE OF body ON comments BEGIN
            DELETE FROM comments_fts WHERE rowid = old.id;
            INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
        END""")
    op.execute("""
        CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments BEGIN
            DELETE FROM comments_fts WHERE rowid = old.id;
        END""")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("posts_fts_insert", "posts_fts_update", "posts_fts_delete",
                        "comments_fts_insert", "comments_fts_update", "comments_fts_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
        op.execute("DROP TABLE IF EXISTS comments_fts")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
        op.execute("DROP INDEX IF EXISTS ix_comments_search")
    op.drop_table("server_secrets")
