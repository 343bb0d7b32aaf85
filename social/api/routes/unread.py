"""Unread counts per circle, and marking posts read."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import ErrorPublic, Public
from social.stream import CIRCLES, MAX_READS, mark_read, unread_counts

router = APIRouter(prefix="/api", tags=["feed"])


class UnreadPublic(Public):
    """Unread posts per circle (``unit`` … ``city``, every circle present) and in total."""

    circles: dict[str, int] = Field(examples=[dict.fromkeys(CIRCLES, 0)])
    total: int


class ReadsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_ids: list[int] = Field(min_length=1, max_length=MAX_READS,
                                description="posts the caller has read")


class ReadsPublic(Public):
    #: Posts newly marked; already read or not readable by the caller: not counted.
    marked: int
    unread: UnreadPublic


@router.get("/unread", responses={401: {"model": ErrorPublic}})
def read_unread(member: CurrentMember, session: SessionDep) -> UnreadPublic:
    """Posts the caller may read, published since they joined, that they have not read."""
    counts = unread_counts(session, member.id)
    return UnreadPublic(circles=dict(counts.circles), total=counts.total)


@router.post("/reads", responses={401: {"model": ErrorPublic}, 422: {"model": ErrorPublic}})
def mark_posts_read(body: ReadsRequest, member: CurrentMember, session: SessionDep) -> ReadsPublic:
    """Mark posts read; ids the caller may not read are ignored without saying so."""
    marked = mark_read(session, member.id, body.post_ids)
    session.commit()
    counts = unread_counts(session, member.id)
    return ReadsPublic(marked=marked,
                       unread=UnreadPublic(circles=dict(counts.circles), total=counts.total))
