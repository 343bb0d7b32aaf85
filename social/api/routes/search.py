"""Full-text search over the posts and comments the caller may see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import ErrorPublic, PlacePublic, Public
from social.search import MAX_PAGE, search

router = APIRouter(prefix="/api", tags=["search"])


class SearchHitPublic(Public):
    type: Literal["post", "comment"]
    post_id: int
    comment_id: int | None
    place: PlacePublic
    kind: str
    #: The post's title in the caller's language (for a comment, its post's title).
    title: str
    #: Plain text around the first match; no markup.
    snippet: str
    #: ``[start, end)`` character offsets of the matched words inside ``snippet``.
    highlights: list[tuple[int, int]]
    created_at: datetime


class SearchPublic(Public):
    items: list[SearchHitPublic]
    next_cursor: str | None


@router.get("/search", responses={400: {"model": ErrorPublic}, 401: {"model": ErrorPublic}})
def search_posts(
    member: CurrentMember,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=500,
                            description="words to find; each matches as a prefix")],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> SearchPublic:
    """Best matches first, among what the caller may see. Operators and quotes in ``q``
    have no special meaning: every word must appear (as a word or a word's start)."""
    page = search(session, member.id, q, language=member.language, limit=limit,
                  cursor=cursor)
    return SearchPublic(items=[
        SearchHitPublic(
            type=hit.kind, post_id=hit.post.id,
            comment_id=hit.comment.id if hit.comment else None,
            place=PlacePublic.model_validate(hit.place), kind=hit.post.kind, title=hit.title,
            snippet=hit.snippet.text, highlights=hit.snippet.highlights,
            created_at=hit.comment.created_at if hit.comment else hit.post.created_at,
        )
        for hit in page.hits
    ], next_cursor=page.next_cursor)
