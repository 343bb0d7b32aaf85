"""Reports, moderation (hide, restore, appeals), the public moderation log, and blocks.

The rules live in :mod:`social.moderation`; these routes only translate. Its errors
become JSON errors in ``social.api.app`` (403, 404, 409, 429 with ``Retry-After``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from social import moderation
from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import ErrorPublic, PlacePublic, Public
from social.community_models import ModerationEntry
from social.models import Place, Post
from social.paging import MAX_PAGE
from social.posts import localize_content
from social.profiles import public_name

router = APIRouter(prefix="/api", tags=["moderation"])

#: The categories of ``social.community_models.REPORT_CATEGORIES`` (a test keeps them equal).
ReportCategory = Literal[
    "spam", "abuse", "harassment", "personal_data", "illegal", "advertising", "other"
]
#: Text a moderator or an author must give; blanks alone are refused with a 422.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic}, 404: {"model": ErrorPublic},
}
_MODERATOR_ERRORS: dict[int | str, dict[str, object]] = {
    **_ERRORS, 403: {"model": ErrorPublic}, 409: {"model": ErrorPublic},
}


# -- schemas -----------------------------------------------------------------------------

class ReportCreate(BaseModel):
    """Exactly one of ``post_id``, ``comment_id`` or ``member_id``."""

    model_config = ConfigDict(extra="forbid")
    post_id: int | None = None
    comment_id: int | None = None
    member_id: int | None = None
    category: ReportCategory
    details: str = Field(default="", max_length=4000)

    @model_validator(mode="after")
    def _one_target(self) -> ReportCreate:
        if sum(t is not None for t in (self.post_id, self.comment_id, self.member_id)) != 1:
            raise ValueError("give exactly one of post_id, comment_id or member_id")
        return self


class ReportPublic(Public):
    """A report as its author sees it."""

    id: int
    post_id: int | None
    comment_id: int | None
    member_id: int | None
    category: str
    details: str
    status: str
    created_at: datetime


class ReportTargetPublic(Public):
    type: Literal["post", "comment", "member"]
    post_id: int | None
    comment_id: int | None
    member_id: int | None
    place_id: str | None
    residents_only: bool
    #: The reported text, so the moderator can judge it (title and body, or the comment).
    excerpt: str
    moderation: str | None


class QueuedReportPublic(Public):
    """A report as a moderator sees it: never who reported."""

    id: int
    category: str
    details: str
    created_at: datetime
    target: ReportTargetPublic


class ReportQueuePublic(Public):
    items: list[QueuedReportPublic]
    next_cursor: str | None


class ReasonRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(description="shown in the public moderation log")


class LogEntryPublic(Public):
    id: int
    place: PlacePublic
    action: str
    post_id: int | None
    comment_id: int | None
    reason: str
    #: A stable pseudonym, never the moderator's name.
    moderator: str
    at: datetime


class LogPublic(Public):
    items: list[LogEntryPublic]
    next_cursor: str | None


class AppealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=4000)]


class AppealPublic(Public):
    id: int
    post_id: int
    text: str
    status: str
    created_at: datetime
    decided_at: datetime | None


class PostModerationPublic(Public):
    """What the author of a post is told about its moderation."""

    post_id: int
    moderation: Literal["visible", "hidden"]
    hidden_at: datetime | None
    reason: str | None
    can_appeal: bool
    appeal: AppealPublic | None
    decision_reason: str | None


class QueuedAppealPublic(Public):
    id: int
    post_id: int
    place_id: str
    text: str
    created_at: datetime
    hide_reason: str | None
    #: False when the caller hid the post: another moderator must decide.
    can_decide: bool
    excerpt: str


class AppealQueuePublic(Public):
    items: list[QueuedAppealPublic]
    next_cursor: str | None


class AppealDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["uphold", "reject"] = Field(
        description="uphold restores the post; reject keeps it hidden")
    reason: Reason = Field(description="shown in the public moderation log and to the author")


class BlockedMemberPublic(Public):
    id: int
    display_name: str
    blocked_at: datetime


class BlocksPublic(Public):
    items: list[BlockedMemberPublic]


def _excerpt(post: Post | None, language: str) -> str:
    if post is None:
        return ""
    title, body = localize_content(post.content, language)
    return f"{title}\n{body}".strip()


def _entry_public(entry: ModerationEntry, place: Place) -> LogEntryPublic:
    return LogEntryPublic(id=entry.id, place=PlacePublic.model_validate(place),
                          action=entry.action, post_id=entry.post_id,
                          comment_id=entry.comment_id, reason=entry.reason,
                          moderator=entry.moderator_pseudonym, at=entry.at)


# -- reports -----------------------------------------------------------------------------

@router.post("/reports", status_code=status.HTTP_201_CREATED,
             responses={**_ERRORS, 200: {"model": ReportPublic}})
def create_report(body: ReportCreate, member: CurrentMember, session: SessionDep,
                  response: Response) -> ReportPublic:
    """Report a post, a comment or a member you can see (blocked members included).

    201 for a new report; 200 with the same report when yours on it is still open.
    """
    report, created = moderation.create_report(
        session, member.id, category=body.category, details=body.details,
        post_id=body.post_id, comment_id=body.comment_id, member_id=body.member_id)
    session.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReportPublic.model_validate(report)


@router.get("/moderation/reports", responses=_MODERATOR_ERRORS)
def read_reports(
    member: CurrentMember, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> ReportQueuePublic:
    """Open reports about what the caller moderates, oldest first."""
    page = moderation.open_reports(session, member.id, limit=limit, cursor=cursor)
    items = []
    for row in page.items:
        report = row.report
        kind: Literal["post", "comment", "member"]
        if row.comment is not None:
            kind, excerpt, state = "comment", row.comment.body, row.comment.moderation
        elif row.post is not None:
            kind, excerpt, state = "post", _excerpt(row.post, member.language), row.post.moderation
        else:
            kind, state = "member", None
            excerpt = public_name(row.member, member.language) if row.member else ""
        items.append(QueuedReportPublic(
            id=report.id, category=report.category, details=report.details,
            created_at=report.created_at,
            target=ReportTargetPublic(
                type=kind, post_id=row.post.id if row.post else None,
                comment_id=report.comment_id, member_id=report.member_id,
                place_id=row.post.place_id if row.post else None,
                residents_only=bool(row.post and row.post.residents_only),
                excerpt=excerpt, moderation=state),
        ))
    return ReportQueuePublic(items=items, next_cursor=page.next_cursor)


@router.post("/moderation/reports/{report_id}/dismiss", responses=_MODERATOR_ERRORS)
def dismiss_report(report_id: int, member: CurrentMember, session: SessionDep) -> ReportPublic:
    """Close a report without acting on what it reports."""
    report = moderation.dismiss_report(session, report_id, member.id)
    session.commit()
    return ReportPublic.model_validate(report)


# -- hide and restore --------------------------------------------------------------------

def _logged(session: SessionDep, entry: ModerationEntry) -> LogEntryPublic:
    session.commit()
    return _entry_public(entry, session.get_one(Place, entry.place_id))


@router.post("/moderation/posts/{post_id}/hide", responses=_MODERATOR_ERRORS)
def hide_post(post_id: int, body: ReasonRequest, member: CurrentMember,
              session: SessionDep) -> LogEntryPublic:
    """Hide a post from everyone but its author; answers with the public log entry."""
    return _logged(session, moderation.hide_post(session, post_id, member.id, body.reason))


@router.post("/moderation/posts/{post_id}/restore", responses=_MODERATOR_ERRORS)
def restore_post(post_id: int, body: ReasonRequest, member: CurrentMember,
                 session: SessionDep) -> LogEntryPublic:
    return _logged(session, moderation.restore_post(session, post_id, member.id, body.reason))


@router.post("/moderation/comments/{comment_id}/hide", responses=_MODERATOR_ERRORS)
def hide_comment(comment_id: int, body: ReasonRequest, member: CurrentMember,
                 session: SessionDep) -> LogEntryPublic:
    return _logged(session, moderation.hide_comment(session, comment_id, member.id, body.reason))


@router.post("/moderation/comments/{comment_id}/restore", responses=_MODERATOR_ERRORS)
def restore_comment(comment_id: int, body: ReasonRequest, member: CurrentMember,
                    session: SessionDep) -> LogEntryPublic:
    return _logged(session,
                   moderation.restore_comment(session, comment_id, member.id, body.reason))


@router.get("/moderation/log", responses=_ERRORS)
def read_log(
    member: CurrentMember, session: SessionDep,
    place: Annotated[str | None, Query(description="only the entries of this place")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> LogPublic:
    """The public moderation log of the places the caller may read, newest first."""
    page = moderation.moderation_log(session, member.id, place_id=place, limit=limit,
                                     cursor=cursor)
    return LogPublic(items=[_entry_public(e, p) for e, p in page.items],
                     next_cursor=page.next_cursor)


# -- appeals -----------------------------------------------------------------------------

@router.post("/posts/{post_id}/appeal", status_code=status.HTTP_201_CREATED,
             responses={**_ERRORS, 409: {"model": ErrorPublic}})
def appeal_post(post_id: int, body: AppealCreate, member: CurrentMember,
                session: SessionDep) -> AppealPublic:
    """Appeal, once, against the hiding of your post; another moderator decides."""
    appeal = moderation.appeal_post(session, post_id, member.id, body.text)
    session.commit()
    return AppealPublic.model_validate(appeal)


@router.get("/posts/{post_id}/moderation", responses=_ERRORS)
def read_post_moderation(post_id: int, member: CurrentMember,
                         session: SessionDep) -> PostModerationPublic:
    """For the author: whether the post is hidden, why, and what became of the appeal."""
    state = moderation.post_moderation(session, post_id, member.id)
    return PostModerationPublic(
        post_id=state.post.id,
        moderation=state.post.moderation,  # type: ignore[arg-type]  # CHECK constraint
        hidden_at=state.hidden_at, reason=state.reason, can_appeal=state.can_appeal,
        appeal=AppealPublic.model_validate(state.appeal) if state.appeal else None,
        decision_reason=state.decision_reason,
    )


@router.get("/moderation/appeals", responses=_MODERATOR_ERRORS)
def read_appeals(
    member: CurrentMember, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> AppealQueuePublic:
    """Open appeals on posts the caller moderates, oldest first."""
    page = moderation.open_appeals(session, member.id, limit=limit, cursor=cursor)
    return AppealQueuePublic(items=[
        QueuedAppealPublic(id=row.appeal.id, post_id=row.post.id, place_id=row.post.place_id,
                           text=row.appeal.text, created_at=row.appeal.created_at,
                           hide_reason=row.hide_reason, can_decide=not row.hidden_by_caller,
                           excerpt=_excerpt(row.post, member.language))
        for row in page.items
    ], next_cursor=page.next_cursor)


@router.post("/moderation/appeals/{appeal_id}/decide", responses=_MODERATOR_ERRORS)
def decide_appeal(appeal_id: int, body: AppealDecision, member: CurrentMember,
                  session: SessionDep) -> AppealPublic:
    """Uphold (the post is restored) or reject an appeal; both are logged publicly."""
    appeal = moderation.decide_appeal(session, appeal_id, member.id,
                                      uphold=body.decision == "uphold", reason=body.reason)
    session.commit()
    return AppealPublic.model_validate(appeal)


# -- blocks ------------------------------------------------------------------------------

@router.post("/members/{member_id}/block", status_code=status.HTTP_204_NO_CONTENT,
             responses={**_ERRORS, 400: {"model": ErrorPublic}})
def block(member_id: int, member: CurrentMember, session: SessionDep) -> Response:
    """Stop seeing a member's posts and comments; they can no longer comment yours.

    Private: nobody, the blocked member included, is told. Blocking twice is harmless.
    """
    if member_id == member.id:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="you cannot block yourself")
    moderation.block_member(session, member.id, member_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/members/{member_id}/block", status_code=status.HTTP_204_NO_CONTENT,
               responses={401: {"model": ErrorPublic}})
def unblock(member_id: int, member: CurrentMember, session: SessionDep) -> Response:
    """Lift a block (harmless when there is none)."""
    moderation.unblock_member(session, member.id, member_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/blocks", responses={401: {"model": ErrorPublic}})
def read_blocks(member: CurrentMember, session: SessionDep) -> BlocksPublic:
    """The members the caller blocked; only the caller sees this list."""
    return BlocksPublic(items=[
        BlockedMemberPublic(id=blocked.id, display_name=public_name(blocked, member.language),
                            blocked_at=block_.created_at)
        for block_, blocked in moderation.my_blocks(session, member.id)
    ])
