"""The caller's feed: every post they may read, in their language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import ErrorPublic, FeedPublic, PlacePublic, PostPublic
from social.feed import MAX_PAGE, feed_page
from social.posts import localize_content

router = APIRouter(prefix="/api", tags=["feed"])


@router.get(
    "/feed",
    responses={400: {"model": ErrorPublic}, 401: {"model": ErrorPublic},
               404: {"model": ErrorPublic}},
)
def read_feed(
    member: CurrentMember,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="posts per page")] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    place: Annotated[str | None, Query(description="only the posts of this place")] = None,
) -> FeedPublic:
    """Posts newest first; follow ``next_cursor`` until it is null."""
    page = feed_page(session, member.id, limit=limit, cursor=cursor, place_id=place)
    items = []
    for post, post_place in page.entries:
        title, body = localize_content(post.content, member.language)
        items.append(PostPublic(
            id=post.id, place=PlacePublic.model_validate(post_place), kind=post.kind,
            title=title, body=body, status=post.status, created_at=post.created_at,
            resolved_at=post.resolved_at, alarm_id=post.alarm_id,
        ))
    return FeedPublic(items=items, next_cursor=page.next_cursor)
