"""The caller's feed: every post they may read, in their language, pinned notices first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from social.api.deps import CurrentMember, SessionDep
from social.api.routes.posts import posts_public
from social.api.schemas import ErrorPublic, FeedPublic
from social.feed import MAX_PAGE, feed_page
from social.post_kinds import PostKind

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
    kind: Annotated[list[PostKind] | None, Query(
        description="only these kinds (repeat the parameter for several)")] = None,
) -> FeedPublic:
    """Pinned official notices first, then newest first; follow ``next_cursor`` until it
    is null. Expired promotions and notices are left out."""
    page = feed_page(session, member.id, limit=limit, cursor=cursor, place_id=place,
                     kinds=kind)
    return FeedPublic(items=posts_public(session, member, page.entries, now=page.as_of),
                      next_cursor=page.next_cursor)
