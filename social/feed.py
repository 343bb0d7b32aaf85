"""A member's feed: the posts they may read, newest first, one page at a time.

Pages are cut by an opaque keyset cursor on ``(created_at, id)`` rather than an
offset, so a post published while someone scrolls neither repeats nor hides an item.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from social.errors import InvalidCursor, PlaceNotVisible
from social.models import Place, Post
from social.visibility import can_see_place, visible

MAX_PAGE = 100


@dataclass(frozen=True, slots=True)
class FeedPage:
    entries: list[tuple[Post, Place]]
    next_cursor: str | None


def encode_cursor(created_at: datetime, post_id: int) -> str:
    raw = json.dumps([created_at.astimezone(UTC).isoformat(), post_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, post_id = json.loads(raw)
        created_at = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InvalidCursor() from exc
    if created_at.tzinfo is None or not isinstance(post_id, int) or isinstance(post_id, bool):
        raise InvalidCursor()
    return created_at, post_id


def feed_page(
    session: Session,
    member_id: int,
    *,
    limit: int = 20,
    cursor: str | None = None,
    place_id: str | None = None,
    now: datetime | None = None,
) -> FeedPage:
    """One page of the posts ``member_id`` may read, optionally of one place only.

    Raises :class:`PlaceNotVisible` for a place the member may not read, and
    :class:`InvalidCursor` for a cursor that was not handed out by this function.
    """
    limit = max(1, min(limit, MAX_PAGE))
    stmt = visible(
        select(Post, Place).join(Place, Place.id == Post.place_id), Post.place_id, member_id,
        now=now,
    )
    if place_id is not None:
        if not can_see_place(session, member_id, place_id, now=now):
            raise PlaceNotVisible(place_id)
        stmt = stmt.where(Post.place_id == place_id)
    if cursor is not None:
        created_at, post_id = decode_cursor(cursor)
        stmt = stmt.where(or_(
            Post.created_at < created_at,
            and_(Post.created_at == created_at, Post.id < post_id),
        ))
    stmt = stmt.order_by(Post.created_at.desc(), Post.id.desc()).limit(limit + 1)
    rows = [(post, place) for post, place in session.execute(stmt)]
    if len(rows) <= limit:
        return FeedPage(rows, None)
    rows = rows[:limit]
    last = rows[-1][0]
    return FeedPage(rows, encode_cursor(last.created_at, last.id))
