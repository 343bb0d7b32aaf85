"""Neighbours and trust: who you may see, join requests, and the end of a membership.

A member outside :func:`social.visibility.visible_member_ids` answers 404, like an id
that does not exist; a join request of a building the caller does not manage too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from social.api.deps import CurrentMember, SessionDep
from social.api.member_schemas import (
    JoinDecisionPublic,
    JoinRequestCreate,
    JoinRequestPublic,
    JoinRequestsPublic,
    MemberProfilePublic,
    MembersPublic,
    ProfilePlacePublic,
)
from social.api.schemas import ErrorPublic, MemberRefPublic, MembershipPublic, PlacePublic
from social.membership import (
    JoinRequestRow,
    JoinStatusFilter,
    building_join_requests,
    decide_join_request,
    end_membership,
    request_to_join,
)
from social.models import Membership, Place
from social.paging import DEFAULT_PAGE, MAX_PAGE
from social.profiles import Profile, list_members, member_profile, public_name

router = APIRouter(prefix="/api", tags=["members"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]

_ERRORS = {401: {"model": ErrorPublic}, 403: {"model": ErrorPublic},
           404: {"model": ErrorPublic}, 409: {"model": ErrorPublic}}


def membership_public(membership: Membership, place: Place) -> MembershipPublic:
    return MembershipPublic(
        id=membership.id, place=PlacePublic.model_validate(place), role=membership.role,
        verified=membership.verified, started_at=membership.started_at,
        ended_at=membership.ended_at,
    )


def profile_public(profile: Profile, language: str) -> MemberProfilePublic:
    return MemberProfilePublic(
        id=profile.member.id,
        name=public_name(profile.member, language),
        places=[ProfilePlacePublic(role=p.role, place=PlacePublic.model_validate(p.place))
                for p in profile.places],
    )


def join_request_public(row: JoinRequestRow, language: str) -> JoinRequestPublic:
    request = row.request
    return JoinRequestPublic(
        id=request.id,
        member=MemberRefPublic(id=row.member.id,
                               display_name=public_name(row.member, language)),
        place=PlacePublic.model_validate(row.place), role=request.role,
        message=request.message,
        status=request.status,  # type: ignore[arg-type]  # the CHECK constraint keeps it valid
        created_at=request.created_at, decided_at=request.decided_at,
    )


@router.get("/members", responses=_ERRORS)
def read_members(
    member: CurrentMember,
    session: SessionDep,
    place: Annotated[str | None, Query(
        description="only the members at or below this place (one you may read)")] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> MembersPublic:
    """The members you may see: your buildings' people, and the local actors of your
    neighbourhood and city. Never a username or an email."""
    page = list_members(session, member.id, place_id=place, limit=limit, cursor=cursor)
    return MembersPublic(items=[profile_public(p, member.language) for p in page.items],
                         next_cursor=page.next_cursor)


@router.get("/members/{member_id}", responses=_ERRORS)
def read_member(member_id: int, member: CurrentMember, session: SessionDep) -> MemberProfilePublic:
    """One member's profile; 404 for a member you may not see."""
    return profile_public(member_profile(session, member.id, member_id), member.language)


@router.post("/join-requests", status_code=status.HTTP_201_CREATED,
             responses={**_ERRORS, 400: {"model": ErrorPublic}})
def create_join_request(
    body: JoinRequestCreate, member: CurrentMember, session: SessionDep
) -> JoinRequestPublic:
    """Ask the managers of a unit's building to let you in (without an invite code)."""
    request, unit = request_to_join(session, member, body.place, body.role, body.message)
    session.commit()
    return join_request_public(JoinRequestRow(request, unit, member), member.language)


@router.get("/buildings/{building_id}/join-requests", responses=_ERRORS)
def read_join_requests(
    building_id: str,
    member: CurrentMember,
    session: SessionDep,
    status_: Annotated[JoinStatusFilter, Query(alias="status")] = "pending",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> JoinRequestsPublic:
    """The join requests for a building you manage, oldest first."""
    page = building_join_requests(session, member.id, building_id, status=status_,
                                  limit=limit, cursor=cursor)
    return JoinRequestsPublic(
        items=[join_request_public(row, member.language) for row in page.items],
        next_cursor=page.next_cursor,
    )


def _decide(request_id: int, member: CurrentMember, session: SessionDep,
            *, approve: bool) -> JoinDecisionPublic:
    row, membership = decide_join_request(session, member.id, request_id, approve=approve)
    session.commit()
    return JoinDecisionPublic(
        request=join_request_public(row, member.language),
        membership=membership_public(membership, row.place) if membership else None,
    )


@router.post("/join-requests/{request_id}/approve", responses=_ERRORS)
def approve_join_request(
    request_id: int, member: CurrentMember, session: SessionDep
) -> JoinDecisionPublic:
    """Let the requester in: a verified membership of the unit starts now."""
    return _decide(request_id, member, session, approve=True)


@router.post("/join-requests/{request_id}/reject", responses=_ERRORS)
def reject_join_request(
    request_id: int, member: CurrentMember, session: SessionDep
) -> JoinDecisionPublic:
    """Turn the request down; the requester sees it as rejected."""
    return _decide(request_id, member, session, approve=False)


@router.post("/memberships/{membership_id}/end", responses=_ERRORS)
def end_a_membership(
    membership_id: int, member: CurrentMember, session: SessionDep
) -> MembershipPublic:
    """End a membership now: your own (moving out), or a resident's of a building you
    manage. Access to that space ends; the account stays."""
    membership, place = end_membership(session, member.id, membership_id)
    session.commit()
    return membership_public(membership, place)
