"""The caller: who they are, where they belong, their settings, their data and its erasure."""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from social.accounts import delete_account, export_account
from social.api.deps import CurrentMember, SessionDep
from social.api.member_schemas import (
    AccountDelete,
    JoinRequestsPublic,
    MePublic,
    ProfileUpdate,
    RedeemRequest,
)
from social.api.routes.members import join_request_public, membership_public
from social.api.schemas import ErrorPublic, MembershipPublic
from social.errors import WrongPassword
from social.membership import current_memberships, own_join_requests, redeem_invite
from social.models import Member
from social.paging import DEFAULT_PAGE, MAX_PAGE
from social.profiles import ProfileChanges, public_name, update_profile

router = APIRouter(prefix="/api", tags=["members"])

_AUTH = {401: {"model": ErrorPublic}}


def me_public(session: Session, member: Member) -> MePublic:
    return MePublic(
        id=member.id,
        username=member.username,
        display_name=member.display_name,
        name=public_name(member, member.language),
        language=member.language,
        first_name=member.first_name,
        last_name=member.last_name,
        show_full_name=member.show_full_name,
        email=member.email,
        quiet_start=member.quiet_start,
        quiet_end=member.quiet_end,
        memberships=[membership_public(m, place)
                     for m, place in current_memberships(session, member.id)],
    )


@router.get("/me", responses=_AUTH)
def read_me(member: CurrentMember, session: SessionDep) -> MePublic:
    """The caller and their memberships that have not ended (unverified ones included)."""
    return me_public(session, member)


@router.patch("/me", responses=_AUTH)
def update_me(body: ProfileUpdate, member: CurrentMember, session: SessionDep) -> MePublic:
    """Change your names, how they show, your language, email or quiet hours.

    Only the fields sent change. Neighbours see "Amélie R." unless ``show_full_name``.
    """
    changes = cast(ProfileChanges, body.model_dump(include=body.model_fields_set))
    update_profile(member, changes)
    session.commit()
    return me_public(session, member)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT,
               responses={**_AUTH, 403: {"model": ErrorPublic}, 429: {"model": ErrorPublic}})
def delete_me(body: AccountDelete, member: CurrentMember, session: SessionDep) -> Response:
    """Delete your account, confirmed by your password. There is no undo.

    You are logged out everywhere and your memberships end; your name, email and
    username are erased. What you wrote stays, signed "Compte supprimé" / "Deleted
    account". Download your data first with ``GET /api/me/export``.
    """
    try:
        delete_account(session, member, body.password)
    except WrongPassword:
        session.commit()  # the failed confirmation counts towards the login limit
        raise
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/export", responses={**_AUTH, 200: {
    "description": "your data as a JSON file",
    "content": {"application/json": {}},
}})
def export_me(member: CurrentMember, session: SessionDep) -> JSONResponse:
    """Everything Palier stores that is yours, as one JSON file; nothing of anyone else."""
    data: dict[str, Any] = export_account(session, member)
    return JSONResponse(data, headers={
        "Content-Disposition": f'attachment; filename="palier-{member.username}.json"',
    })


@router.post("/me/join", status_code=status.HTTP_201_CREATED,
             responses={**_AUTH, 400: {"model": ErrorPublic}, 404: {"model": ErrorPublic},
                        409: {"model": ErrorPublic}, 410: {"model": ErrorPublic}})
def join_with_code(body: RedeemRequest, member: CurrentMember, session: SessionDep
                   ) -> MembershipPublic:
    """Redeem an invite code for yourself: a verified membership of its unit starts now."""
    membership, unit = redeem_invite(session, member, body.code)
    session.commit()
    return membership_public(membership, unit)


@router.get("/me/join-requests", responses=_AUTH)
def read_my_join_requests(
    member: CurrentMember,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> JoinRequestsPublic:
    """Your join requests, newest first, and where each stands."""
    page = own_join_requests(session, member.id, limit=limit, cursor=cursor)
    return JoinRequestsPublic(
        items=[join_request_public(row, member.language) for row in page.items],
        next_cursor=page.next_cursor,
    )
