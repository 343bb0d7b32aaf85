"""Invite codes: issued by a building's managers for one flat, redeemed once to join.

Reading a code (``GET /api/invites/{code}``) and joining with it (``POST /api/join``)
need no login — that is the point of a code on a letter — so they say nothing a
passer-by should not learn: the building and the flat's label, and why a code does
not work (unknown, used, expired, revoked).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from social.accounts import issue_token
from social.api.deps import CurrentMember, SessionDep, TokenTtlDep
from social.api.member_schemas import (
    InviteCreate,
    InvitePublic,
    InvitesPublic,
    InviteTargetPublic,
    JoinCreate,
    JoinedPublic,
)
from social.api.routes.me import me_public
from social.api.schemas import ErrorPublic, MemberRefPublic, PlacePublic, TokenPublic
from social.community_models import InviteCode
from social.membership import (
    describe_invite,
    invite_status,
    issue_invite,
    join_link,
    join_with_invite,
    list_invites,
    revoke_invite,
)
from social.models import Member, Place
from social.paging import DEFAULT_PAGE, MAX_PAGE
from social.profiles import public_name

router = APIRouter(prefix="/api", tags=["joining"])

_MANAGERS = {401: {"model": ErrorPublic}, 403: {"model": ErrorPublic},
             404: {"model": ErrorPublic}}
_REDEEM = {400: {"model": ErrorPublic}, 404: {"model": ErrorPublic},
           409: {"model": ErrorPublic}, 410: {"model": ErrorPublic}}


def invite_public(invite: InviteCode, unit: Place, used_by: Member | None,
                  language: str) -> InvitePublic:
    return InvitePublic(
        code=invite.code, link=join_link(invite.code), place=PlacePublic.model_validate(unit),
        role=invite.role, status=invite_status(invite), created_at=invite.created_at,
        expires_at=invite.expires_at, used_at=invite.used_at,
        used_by=(MemberRefPublic(id=used_by.id, display_name=public_name(used_by, language))
                 if used_by is not None else None),
        revoked_at=invite.revoked_at,
    )


@router.post("/places/{unit_id:path}/invites", status_code=status.HTTP_201_CREATED,
             responses={**_MANAGERS, 400: {"model": ErrorPublic}})
def create_invite(
    unit_id: str, body: InviteCreate, member: CurrentMember, session: SessionDep
) -> InvitePublic:
    """Issue a single-use code for a flat of a building you manage (30 days by default).

    Print the code on a letter, or send the link: whoever redeems it first becomes a
    verified ``role`` of the flat.
    """
    invite, unit = issue_invite(session, member, unit_id, body.role,
                                ttl=timedelta(days=body.expires_in_days))
    session.commit()
    return invite_public(invite, unit, None, member.language)


@router.get("/places/{unit_id:path}/invites",
            responses={**_MANAGERS, 400: {"model": ErrorPublic}})
def read_invites(
    unit_id: str,
    member: CurrentMember,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> InvitesPublic:
    """The codes issued for a flat, newest first, and what became of each."""
    unit, page = list_invites(session, member.id, unit_id, limit=limit, cursor=cursor)
    return InvitesPublic(
        items=[invite_public(invite, unit, used_by, member.language)
               for invite, used_by in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/invites/{code}", responses=_REDEEM)
def read_invite(code: str, session: SessionDep) -> InviteTargetPublic:
    """Where a code leads, for the join page; no login. 410 once expired or revoked."""
    target = describe_invite(session, code)
    return InviteTargetPublic(building=target.building, unit=target.unit, name=target.name)


@router.delete("/invites/{code}", responses={**_MANAGERS, 409: {"model": ErrorPublic}})
def delete_invite(code: str, member: CurrentMember, session: SessionDep) -> InvitePublic:
    """Revoke a code that was not used yet (a lost letter); revoking twice is harmless."""
    invite, unit = revoke_invite(session, member.id, code)
    session.commit()
    return invite_public(invite, unit, None, member.language)


@router.post("/join", status_code=status.HTTP_201_CREATED, responses=_REDEEM)
def join(body: JoinCreate, session: SessionDep, ttl: TokenTtlDep) -> JoinedPublic:
    """Create your account with the code of your letter; no login needed, you get one.

    The account starts with a verified membership of the code's flat, and the code
    stops working. 409 when the username is taken or the code was used.
    """
    member, _membership = join_with_invite(
        session, body.code, username=body.username, password=body.password,
        language=body.language, display_name=body.display_name,
        first_name=body.first_name, last_name=body.last_name,
    )
    issued = issue_token(session, member, ttl=ttl)
    session.commit()
    return JoinedPublic(
        member=me_public(session, member),
        token=TokenPublic(access_token=issued.token, expires_in=int(ttl.total_seconds())),
    )
