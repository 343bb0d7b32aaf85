"""Full-text search over the posts and comments a member may see.

The index is the database's own: an FTS5 table per searched table on SQLite, a GIN
index over ``to_tsvector('simple', …)`` on PostgreSQL, both created by migration 0005
and kept in sync by the database itself (SQLite triggers; PostgreSQL indexes the
expression), so no code path that writes a post can forget to index it. Titles and
bodies of every language a post is written in are indexed together: a neighbour finds
"fuite" in a post written in French even when reading in English.

What is found is then narrowed exactly like the feed: the visibility rule of
:mod:`social.visibility`, hidden posts and comments left out (their authors see them
marked hidden in their feed, not in search), and nothing from members the caller
blocked. A post in another building with the same words never appears.

The user's text is never handed to a query parser: it is cut into words (letters and
digits only) that become quoted prefix terms joined by AND, so ``"unclosed`` or
``OR AND *`` are words like any other and cannot break the query.

The backends differ in one visible way: SQLite folds accents (``electricite`` finds
"électricité"), PostgreSQL's ``simple`` configuration does not (``unaccent`` is an
extension that is not immutable, so it cannot sit in an index expression).

Snippets are cut in Python from the post's text in the reader's language (falling
back to any language that matched), with the matched words given as character ranges:
the same on both backends, and safe for any client (no markup inside user text).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from social.community_models import Comment
from social.errors import InvalidCursor
from social.models import Place, Post
from social.moderation import SECRETS_TABLE, not_blocked
from social.posts import localize
from social.visibility import visible

MAX_PAGE = 50
#: More words than this narrow nothing further and only make the query slower.
MAX_TERMS = 8
#: Longer "words" are pasted tokens or hashes; their prefix finds them just as well.
MAX_TERM_LENGTH = 40
#: Words of context around the first match in a snippet.
SNIPPET_WORDS = 24

_WORD = re.compile(r"[^\W_]+")

# -- schema objects kept out of the ORM metadata -----------------------------------------

POSTS_FTS = "posts_fts"
COMMENTS_FTS = "comments_fts"
POSTS_INDEX = "ix_posts_search"
COMMENTS_INDEX = "ix_comments_search"
#: FTS5 creates these shadow tables beside each virtual table.
_FTS5_SHADOWS = ("data", "idx", "content", "docsize", "config")
UNMAPPED_TABLES = frozenset(
    {POSTS_FTS, COMMENTS_FTS, SECRETS_TABLE}
    | {f"{fts}_{shadow}" for fts in (POSTS_FTS, COMMENTS_FTS) for shadow in _FTS5_SHADOWS}
)
UNMAPPED_INDEXES = frozenset({POSTS_INDEX, COMMENTS_INDEX})


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's ``include_name`` hook: skip the schema objects that migration 0005
    creates outside the ORM metadata (FTS5 tables, search indexes, the server secret).

    ``social/migrations/env.py`` and the model/migration comparison test both use it,
    so autogenerate neither drops them nor reports them as drift.
    """
    if type_ == "table":
        return name not in UNMAPPED_TABLES
    if type_ == "index":
        return name not in UNMAPPED_INDEXES
    return True


#: The PostgreSQL expressions the GIN indexes of migration 0005 are built on. A query
#: uses an index only when it repeats its expression exactly, hence one definition
#: here (and a test that checks the plan uses them).
PG_POST_VECTOR = (
    "(setweight(jsonb_to_tsvector('simple', "
    "jsonb_path_query_array(posts.content::jsonb, '$.*.title'), '[\"string\"]'), 'A') || "
    "setweight(jsonb_to_tsvector('simple', "
    "jsonb_path_query_array(posts.content::jsonb, '$.*.body'), '[\"string\"]'), 'B'))"
)
PG_COMMENT_VECTOR = "to_tsvector('simple', comments.body)"


# -- the user's words --------------------------------------------------------------------

def search_terms(query: str) -> list[str]:
    """The words of ``query``, lower-cased, deduplicated, at most :data:`MAX_TERMS`.

    Only letters and digits survive, so nothing in the result means anything to a
    full-text query parser.
    """
    words: list[str] = []
    for match in _WORD.finditer(unicodedata.normalize("NFC", query).casefold()):
        word = match.group()[:MAX_TERM_LENGTH]
        if word not in words:
            words.append(word)
        if len(words) == MAX_TERMS:
            break
    return words


def fts5_query(terms: Sequence[str]) -> str:
    """Every term as a quoted FTS5 prefix query, all required: ``"lift"* AND "b"*``."""
    return " AND ".join('"' + term.replace('"', '""') + '"*' for term in terms)


def tsquery(terms: Sequence[str]) -> str:
    """The PostgreSQL ``to_tsquery`` text for the terms: ``lift:* & b:*``.

    The terms hold letters and digits only, so they cannot carry tsquery operators.
    """
    return " & ".join(f"{term}:*" for term in terms)


# -- snippets ----------------------------------------------------------------------------

def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Snippet:
    """Text around the first match; ``highlights`` are ``(start, end)`` offsets into it."""

    text: str
    highlights: list[tuple[int, int]]


def make_snippet(texts: Iterable[str], terms: Sequence[str],
                 words: int = SNIPPET_WORDS) -> Snippet:
    """The first of ``texts`` with a word starting like a term, cut around that word."""
    folded_terms = [_fold(term) for term in terms]
    candidates = [t for t in texts if t]
    for candidate in candidates:
        tokens = list(_WORD.finditer(candidate))
        hits = [i for i, token in enumerate(tokens)
                if any(_fold(token.group()).startswith(term) for term in folded_terms)]
        if not hits:
            continue
        first = max(0, hits[0] - words // 3)
        last = min(len(tokens), first + words)
        begin = tokens[first].start() if first > 0 else 0
        end = tokens[last - 1].end() if last < len(tokens) else len(candidate)
        prefix = "…" if first > 0 else ""
        shift = len(prefix) - begin
        highlights = [(tokens[i].start() + shift, tokens[i].end() + shift)
                      for i in hits if first <= i < last]
        return Snippet(prefix + candidate[begin:end] + ("…" if end < len(candidate) else ""),
                       highlights)
    fallback = candidates[0] if candidates else ""
    tokens = list(_WORD.finditer(fallback))
    if len(tokens) > words:
        return Snippet(fallback[: tokens[words - 1].end()] + "…", [])
    return Snippet(fallback, [])


# -- searching ---------------------------------------------------------------------------

HitKind = Literal["post", "comment"]
_KIND_ORDER: dict[HitKind, int] = {"post": 0, "comment": 1}


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: HitKind
    post: Post
    place: Place
    comment: Comment | None
    score: float
    snippet: Snippet
    #: The post's title in the reader's language (for a comment: the title of its post).
    title: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None


def encode_cursor(score: float, kind_order: int, item_id: int) -> str:
    """An opaque keyset cursor on ``(score, kind, id)``; floats survive JSON exactly."""
    raw = json.dumps([score, kind_order, item_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        score, kind_order, item_id = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    if (not isinstance(score, int | float) or isinstance(score, bool)
            or not all(isinstance(v, int) and not isinstance(v, bool)
                       for v in (kind_order, item_id))):
        raise InvalidCursor()
    return float(score), kind_order, item_id


def _readable(stmt: Select[Any], member_id: int, now: datetime | None) -> Select[Any]:
    """What a search may return of a post: visible to the reader, not hidden, not blocked."""
    return visible(stmt, Post.place_id, member_id, now=now).where(
        Post.moderation == "visible", not_blocked(Post.author_id, member_id))


def _sqlite_hits(terms: Sequence[str], member_id: int,
                 now: datetime | None) -> tuple[Select[Any], Select[Any]]:
    match = fts5_query(terms)
    posts_fts = table(POSTS_FTS, column("rowid", Integer))
    comments_fts = table(COMMENTS_FTS, column("rowid", Integer))
    # bm25() is lower for better matches; titles weigh twice as much as bodies.
    posts = _readable(
        select(literal(_KIND_ORDER["post"]).label("kind_order"), Post.id.label("item_id"),
               Post.id.label("post_id"),
               cast(literal_column(f"-bm25({POSTS_FTS}, 2.0, 1.0)"), Float).label("score"))
        .select_from(posts_fts).join(Post, Post.id == posts_fts.c.rowid)
        .where(text(f"{POSTS_FTS} MATCH :posts_match").bindparams(posts_match=match)),
        member_id, now)
    comments = _readable(
        select(literal(_KIND_ORDER["comment"]).label("kind_order"),
               Comment.id.label("item_id"), Comment.post_id.label("post_id"),
               cast(literal_column(f"-bm25({COMMENTS_FTS})"), Float).label("score"))
        .select_from(comments_fts).join(Comment, Comment.id == comments_fts.c.rowid)
        .join(Post, Post.id == Comment.post_id)
        .where(text(f"{COMMENTS_FTS} MATCH :comments_match")
               .bindparams(comments_match=match),
               Comment.moderation == "visible", not_blocked(Comment.author_id, member_id)),
        member_id, now)
    return posts, comments


def _postgresql_hits(terms: Sequence[str], member_id: int,
                     now: datetime | None) -> tuple[Select[Any], Select[Any]]:
    query = func.to_tsquery(literal_column("'simple'"), bindparam("tsquery", tsquery(terms)))
    post_vector, comment_vector = literal_column(PG_POST_VECTOR), literal_column(PG_COMMENT_VECTOR)
    posts = _readable(
        select(literal(_KIND_ORDER["post"]).label("kind_order"), Post.id.label("item_id"),
               Post.id.label("post_id"),
               cast(func.ts_rank(post_vector, query), Float).label("score"))
        .where(post_vector.op("@@")(query)),
        member_id, now)
    comments = _readable(
        select(literal(_KIND_ORDER["comment"]).label("kind_order"),
               Comment.id.label("item_id"), Comment.post_id.label("post_id"),
               cast(func.ts_rank(comment_vector, query), Float).label("score"))
        .select_from(Comment).join(Post, Post.id == Comment.post_id)
        .where(comment_vector.op("@@")(query),
               Comment.moderation == "visible", not_blocked(Comment.author_id, member_id)),
        member_id, now)
    return posts, comments


def search(
    session: Session,
    member_id: int,
    query: str,
    *,
    language: str = "fr",
    limit: int = 20,
    cursor: str | None = None,
    now: datetime | None = None,
) -> SearchPage:
    """One page of the posts and comments matching ``query`` that the member may see,
    best match first. A query without any word finds nothing (it is not an error).

    Raises :class:`InvalidCursor` for a cursor this function did not hand out.
    """
    limit = max(1, min(limit, MAX_PAGE))
    after = decode_cursor(cursor) if cursor is not None else None
    terms = search_terms(query)
    if not terms:
        return SearchPage([], None)
    if session.get_bind().dialect.name == "postgresql":
        posts, comments = _postgresql_hits(terms, member_id, now)
    else:
        posts, comments = _sqlite_hits(terms, member_id, now)
    hits = union_all(posts, comments).subquery("hits")
    stmt = select(hits.c.kind_order, hits.c.item_id, hits.c.post_id, hits.c.score)
    if after is not None:
        score, kind_order, item_id = after
        stmt = stmt.where(_after(hits.c.score, hits.c.kind_order, hits.c.item_id,
                                 score, kind_order, item_id))
    stmt = stmt.order_by(hits.c.score.desc(), hits.c.kind_order, hits.c.item_id)
    rows = session.execute(stmt.limit(limit + 1)).all()
    page = rows[:limit]
    found = _load(session, [(row.kind_order, row.item_id, row.post_id) for row in page])
    result = []
    for row in page:
        post, place, comment = found[(row.kind_order, row.item_id)]
        title, body = _texts(post, language)
        if comment is None:
            snippet = make_snippet([body, title, *_other_texts(post, language)], terms)
        else:
            snippet = make_snippet([comment.body], terms)
        result.append(SearchHit("post" if comment is None else "comment", post, place,
                                comment, float(row.score), snippet, title))
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = encode_cursor(float(last.score), last.kind_order, last.item_id)
    return SearchPage(result, next_cursor)


def _after(score: ColumnElement[float], kind_order: ColumnElement[int],
           item_id: ColumnElement[int], s: float, k: int, i: int) -> ColumnElement[bool]:
    return or_(score < s,
               and_(score == s, or_(kind_order > k, and_(kind_order == k, item_id > i))))


def _load(session: Session, keys: Sequence[tuple[int, int, int]]
          ) -> dict[tuple[int, int], tuple[Post, Place, Comment | None]]:
    post_ids = {post_id for _k, _i, post_id in keys}
    comment_ids = {item_id for kind, item_id, _p in keys if kind == _KIND_ORDER["comment"]}
    posts = {post.id: (post, place) for post, place in session.execute(
        select(Post, Place).join(Place, Place.id == Post.place_id)
        .where(Post.id.in_(post_ids)))} if post_ids else {}
    comments = {c.id: c for c in session.scalars(
        select(Comment).where(Comment.id.in_(comment_ids)))} if comment_ids else {}
    found: dict[tuple[int, int], tuple[Post, Place, Comment | None]] = {}
    for kind, item_id, post_id in keys:
        post, place = posts[post_id]
        comment = comments[item_id] if kind == _KIND_ORDER["comment"] else None
        found[(kind, item_id)] = (post, place, comment)
    return found


def _texts(post: Post, language: str) -> tuple[str, str]:
    entry = localize(post.content, language)
    if not isinstance(entry, dict):
        return "", ""
    return str(entry.get("title", "")), str(entry.get("body", ""))


def _other_texts(post: Post, language: str) -> list[str]:
    """Every text of the post, for a snippet when the reader's language did not match."""
    out: list[str] = []
    for entry in post.content.values():
        if isinstance(entry, dict):
            out += [str(entry.get("body", "")), str(entry.get("title", ""))]
    return out
