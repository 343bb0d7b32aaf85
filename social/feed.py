"""A member's feed: the posts they may read, official notices pinned first, then newest first.

Pages are cut by an opaque keyset cursor on ``(pinned, created_at, id)`` rather than an
offset, so a post published while someone scrolls neither repeats nor hides an item.

"Pinned" and "expired" depend on the time, and a time that moved between two pages
would move a notice from the pinned block into the dated list (shown twice) or drop
a promotion between pages. So the first page fixes the feed's time, ``as_of``, and the
cursor carries it: every page of one scroll is cut from the same snapshot of what is
pinned and what has expired. A new scroll (no cursor) sees the present.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    and_,
    case,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from social.errors import InvalidCursor, PlaceNotVisible
from social.models import Place, Post, utcnow
from social.posts import readable_posts
from social.visibility import can_read_posts_at

MAX_PAGE = 100
#: Only official notices are pinned: nobody else can push a post above the others.
PINNABLE_KINDS = ("notice",)


@dataclass(frozen=True, slots=True)
class FeedPage:
    entries: list[tuple[Post, Place]]
    next_cursor: str | None
    #: The time the page was cut at: what "pinned" and "expired" were judged against.
    as_of: datetime | None = None


def encode_cursor(created_at: datetime, post_id: int) -> str:
    """A keyset cursor on ``(created_at, id)``, for lists ordered newest first."""
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), post_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The ``(created_at, id)`` of :func:`encode_cursor`; :class:`InvalidCursor` otherwise."""
    created_at, post_id = _decode(cursor, 2)[:2]
    return _stamp(created_at), _id(post_id)


def _decode(cursor: str, length: int) -> list[object]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(values, list) or len(values) != length:
        raise InvalidCursor()
    return values


def _stamp(value: object) -> datetime:
    try:
        stamp = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    if stamp.tzinfo is None:
        raise InvalidCursor()
    return stamp


def _id(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidCursor()
    return value


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """Where the previous page stopped, and the time the scroll is judged at."""

    pinned: int
    created_at: datetime
    post_id: int
    as_of: datetime

    def encode(self) -> str:
        raw = json.dumps([self.pinned, self.created_at.astimezone(UTC).isoformat(),
                          self.post_id, self.as_of.astimezone(UTC).isoformat()],
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> FeedCursor:
        pinned, created_at, post_id, as_of = _decode(cursor, 4)
        if pinned not in (0, 1) or isinstance(pinned, bool):
            raise InvalidCursor()
        return cls(int(pinned), _stamp(created_at), _id(post_id), _stamp(as_of))  # type: ignore[arg-type]


def pinned_rank(as_of: datetime) -> ColumnElement[int]:
    """1 for an official notice pinned at ``as_of``, else 0."""
    return case(
        (and_(Post.kind.in_(PINNABLE_KINDS), Post.pinned_until > as_of), 1),
        else_=0,
    ).cast(Integer)


def live(as_of: datetime) -> ColumnElement[bool]:
    """True for a post that has not expired at ``as_of`` (promotions, notices)."""
    return or_(Post.expires_at.is_(None), Post.expires_at > as_of)


def feed_page(
    session: Session,
    member_id: int,
    *,
    limit: int = 20,
    cursor: str | None = None,
    place_id: str | None = None,
    kinds: Collection[str] | None = None,
    now: datetime | None = None,
) -> FeedPage:
    """One page of the posts ``member_id`` may read, optionally of one place or some kinds.

    Pinned notices come first, then the rest newest first; expired posts, hidden ones
    (but to their author) and those of authors the member blocked are left out.
    Raises :class:`PlaceNotVisible` for a place the member may not read, and
    :class:`InvalidCursor` for a cursor that was not handed out by this function.

    Why two queries: ordering by "pinned first" is computed, so one query over every
    visible post must sort them all to return twenty — a resident reads the whole city's
    posts. Instead the pinned notices come from their own partial index (a few rows),
    and the rest are read newest first along the ``(created_at, id)`` index, keeping
    those the rule lets through, and stop after a page. Both go through
    :func:`~social.posts.readable_posts`: one rule.
    """
    limit = max(1, min(limit, MAX_PAGE))
    after = FeedCursor.decode(cursor) if cursor is not None else None
    as_of = after.as_of if after is not None else (now or utcnow())
    if place_id is not None and not can_read_posts_at(session, member_id, place_id, now=now):
        raise PlaceNotVisible(place_id)
    pinned = and_(Post.kind.in_(PINNABLE_KINDS), Post.pinned_until > as_of)

    def readable(place_column: SQLColumnExpression[str] | None = None
                 ) -> Select[tuple[int, datetime]]:
        stmt = readable_posts(select(Post.id, Post.created_at), member_id, now=now,
                              place_column=place_column).where(live(as_of))
        if place_id is not None:
            stmt = stmt.where(Post.place_id == place_id)
        if kinds:
            stmt = stmt.where(Post.kind.in_(sorted(kinds)))
        if after is not None:
            # A post published after the scroll began belongs to the next scroll, at the top.
            stmt = stmt.where(Post.created_at <= as_of)
        return stmt

    def older_than(rank: int) -> ColumnElement[bool] | None:
        if after is None or after.pinned != rank:
            return None
        return or_(Post.created_at < after.created_at,
                   and_(Post.created_at == after.created_at, Post.id < after.post_id))

    newest = (Post.created_at.desc(), Post.id.desc())
    found: list[tuple[int, datetime, int]] = []  # (pinned, created_at, id), in page order
    # SQLite would read every visible post through the place index and sort them; its
    # unary "+" keeps the place test off an index, so the pinned notices come from
    # ix_posts_pinned and the rest from walking ix_posts_newest until a page is full.
    # (PostgreSQL's planner weighs the LIMIT by itself.)
    unindexed = (type_coerce(literal_column("+posts.place_id"), String)
                 if place_id is None and session.get_bind().dialect.name == "sqlite"
                 else None)
    if after is None or after.pinned == 1:
        stmt = readable(unindexed).where(pinned, Post.pinned_until.is_not(None))
        if (keyset := older_than(1)) is not None:
            stmt = stmt.where(keyset)
        # No ORDER BY: it would tempt SQLite to walk every post by date. The pinned
        # notices a member can read are few; they are sorted here.
        notices = sorted(session.execute(stmt), key=lambda row: (row[1], row[0]),
                         reverse=True)
        found += [(1, at, post_id) for post_id, at in notices[:limit + 1]]
    wanted = limit + 1 - len(found)
    if wanted > 0:
        stmt = readable(unindexed).where(~pinned | Post.pinned_until.is_(None))
        if (keyset := older_than(0)) is not None:
            stmt = stmt.where(keyset)
        found += [(0, at, post_id) for post_id, at in
                  session.execute(stmt.order_by(*newest).limit(wanted))]

    page = found[:limit]
    rows = {post.id: (post, place) for post, place in session.execute(
        select(Post, Place).join(Place, Place.id == Post.place_id)
        .where(Post.id.in_([post_id for _rank, _at, post_id in page])))}
    entries = [rows[post_id] for _rank, _at, post_id in page if post_id in rows]
    if len(found) <= limit:
        return FeedPage(entries, None, as_of)
    rank, at, post_id = page[-1]
    return FeedPage(entries, FeedCursor(rank, at, post_id, as_of).encode(), as_of)
