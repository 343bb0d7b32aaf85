"""Posts: publishing one (of any kind a member may post), reading, editing and widening it,
and asking what one may post where.

What may be posted where is :mod:`social.rights`' call, the kind's fields are
:mod:`social.post_kinds`' — these routes only translate HTTP to them and back. A post
the caller may not read answers 404 whether it exists or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import (
    ErrorPublic,
    MemberRefPublic,
    PlacePublic,
    PostCountsPublic,
    PostPublic,
    Public,
    ValidationErrorPublic,
)
from social.errors import PlaceNotVisible
from social.feed import PINNABLE_KINDS
from social.interactions import PostCounts, post_counts
from social.models import Alarm, Member, Place, Post, utcnow
from social.post_kinds import PROMOTION_LABEL, PostKind
from social.posts import (
    Draft,
    content_language,
    edit_post,
    find_post,
    localize_content,
    publish,
    widen_post,
)
from social.rights import postable_kinds

router = APIRouter(prefix="/api", tags=["posts"])

_READ = {401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}}
_WRITE = {**_READ, 403: {"model": ErrorPublic}, 409: {"model": ErrorPublic},
          422: {"model": ValidationErrorPublic}}


class PostCreate(BaseModel):
    """A new post. ``data`` holds the kind's own fields (see docs/rights-matrix.md)."""

    model_config = ConfigDict(extra="forbid")

    place: str = Field(min_length=1, max_length=120, examples=["lilas/b"])
    kind: PostKind
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)
    residents_only: bool = Field(
        default=False, description="inside a building: hidden from its managers")
    data: dict[str, Any] = Field(default_factory=dict)


class PostUpdate(BaseModel):
    """The author's changes: text, and the kind's editable fields (``null`` clears one)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=10_000)
    data: dict[str, Any] | None = None


class WidenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    place: str = Field(min_length=1, max_length=120, examples=["pyramides"])


class RightPublic(Public):
    kind: str
    allowed: bool
    #: The matrix's stable reason code (``allowed``, ``role_may_not_post``...).
    reason: str
    message: str


class RightsPublic(Public):
    place: str
    kinds: list[RightPublic]


def _public_data(post: Post) -> dict[str, Any]:
    """``data`` as readers see it: who on the management team moved a ticket stays
    internal."""
    data = dict(post.data)
    if post.kind == "problem_report" and isinstance(data.get("history"), list):
        data["history"] = [{k: v for k, v in step.items() if k != "by"}
                           for step in data["history"] if isinstance(step, dict)]
    return data


def post_public(post: Post, place: Place, language: str, *, author: str | None,
                counts: PostCounts, now: datetime, alarm_state: str | None = None
                ) -> PostPublic:
    """One post as ``language``'s reader sees it."""
    title, body = localize_content(post.content, language)
    return PostPublic(
        id=post.id, place=PlacePublic.model_validate(place), kind=post.kind, title=title,
        body=body, status=post.status, created_at=post.created_at,
        resolved_at=post.resolved_at, alarm_id=post.alarm_id,
        language=content_language(post.content, language), updated_at=post.updated_at,
        author=(MemberRefPublic(id=post.author_id, display_name=author)
                if post.author_id is not None and author is not None else None),
        residents_only=post.residents_only, data=_public_data(post),
        label=(PROMOTION_LABEL.get(language) or PROMOTION_LABEL["en"]
               if post.kind == "promotion" else None),
        pinned=(post.kind in PINNABLE_KINDS and post.pinned_until is not None
                and post.pinned_until > now),
        pinned_until=post.pinned_until, expires_at=post.expires_at,
        moderation=post.moderation,  # type: ignore[arg-type]  # CHECK constraint
        counts=PostCountsPublic(comments=counts.comments, reactions=dict(counts.reactions),
                                attending=counts.attending, votes=counts.votes),
        my_reactions=list(counts.mine), vouched_by=counts.vouched_by,
        alarm_state=alarm_state,  # type: ignore[arg-type]  # CHECK constraint
    )


def posts_public(session: Session, member: Member, entries: Sequence[tuple[Post, Place]], *,
                 now: datetime | None = None) -> list[PostPublic]:
    """Posts with their authors and counts, in a fixed number of queries for any page."""
    now = now or utcnow()
    posts = [post for post, _place in entries]
    counts = post_counts(session, posts, member.id, now=now)
    author_ids = sorted({post.author_id for post in posts if post.author_id is not None})
    authors: dict[int, str] = {member_id: name for member_id, name in session.execute(
        select(Member.id, Member.display_name).where(Member.id.in_(author_ids)))
    } if author_ids else {}
    alarm_ids = sorted({post.alarm_id for post in posts if post.alarm_id is not None})
    alarm_states: dict[int, str] = {alarm_id: state for alarm_id, state in session.execute(
        select(Alarm.id, Alarm.state).where(Alarm.id.in_(alarm_ids)))
    } if alarm_ids else {}
    return [
        post_public(post, place, member.language,
                    author=authors.get(post.author_id) if post.author_id is not None else None,
                    counts=counts[post.id], now=now,
                    alarm_state=(alarm_states.get(post.alarm_id)
                                 if post.alarm_id is not None else None))
        for post, place in entries
    ]


def one_post_public(session: Session, member: Member, post_id: int) -> PostPublic:
    """A post the member may read, rendered; 404 otherwise."""
    post, place = find_post(session, member.id, post_id)
    return posts_public(session, member, [(post, place)])[0]


def _rendered(session: Session, member: Member, post: Post) -> PostPublic:
    """A post the member just wrote: rendered even where their own membership does not
    read it (a manager's notice at an entrance of their building)."""
    place = session.get(Place, post.place_id)
    assert place is not None  # a foreign key
    return posts_public(session, member, [(post, place)])[0]


@router.get("/rights", responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}})
def read_rights(
    member: CurrentMember,
    session: SessionDep,
    place: Annotated[str, Query(description="a place id, e.g. lilas/b")],
) -> RightsPublic:
    """What the caller may post at ``place``, kind by kind, with the reason when not."""
    decisions = postable_kinds(session, member, place)
    if all(decision.hides for decision in decisions.values()):
        raise PlaceNotVisible(place)
    return RightsPublic(place=place, kinds=[
        RightPublic(kind=kind, allowed=decision.allowed, reason=decision.reason,
                    message=decision.message(member.language))
        for kind, decision in decisions.items()
    ])


@router.post("/posts", status_code=status.HTTP_201_CREATED,
             responses={**_WRITE, 429: {"model": ErrorPublic}})
def create_post(body: PostCreate, member: CurrentMember, session: SessionDep) -> PostPublic:
    """Publish a post in the caller's language.

    422 names the field that is wrong (``body.data.capacity``); 404 when the place is
    not one the caller may read; 403 with the reason when their role may not post this
    kind there; 429 past the posting rate.
    """
    post = publish(session, member, Draft(
        place_id=body.place, kind=body.kind, title=body.title, body=body.body,
        residents_only=body.residents_only, data=body.data))
    session.commit()
    return _rendered(session, member, post)


@router.get("/posts/{post_id}", responses=_READ)
def read_post(post_id: int, member: CurrentMember, session: SessionDep) -> PostPublic:
    """One post the caller may read (a hidden one only by its author)."""
    return one_post_public(session, member, post_id)


@router.patch("/posts/{post_id}", responses=_WRITE)
def update_post(post_id: int, body: PostUpdate, member: CurrentMember,
                session: SessionDep) -> PostPublic:
    """The author edits the text or the kind's editable fields (a lending returned, an
    event's room)."""
    post = edit_post(session, member, post_id, title=body.title, body=body.body,
                     data=body.data)
    session.commit()
    return _rendered(session, member, post)


@router.post("/posts/{post_id}/widen", responses=_WRITE)
def widen(post_id: int, body: WidenRequest, member: CurrentMember,
          session: SessionDep) -> PostPublic:
    """The author moves the post to a wider circle above it (building → neighbourhood);
    the move is recorded. Refused for residents-only posts."""
    post = widen_post(session, member, post_id, body.place)
    session.commit()
    return _rendered(session, member, post)
