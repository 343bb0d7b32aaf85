"""Who the caller is, and where they belong."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import or_, select

from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import ErrorPublic, MemberPublic, MembershipPublic, PlacePublic
from social.models import Membership, Place, utcnow

router = APIRouter(prefix="/api", tags=["members"])


@router.get("/me", responses={401: {"model": ErrorPublic}})
def read_me(member: CurrentMember, session: SessionDep) -> MemberPublic:
    """The caller and their memberships that have not ended (unverified ones included)."""
    now = utcnow()
    rows = session.execute(
        select(Membership, Place)
        .join(Place, Place.id == Membership.place_id)
        .where(
            Membership.member_id == member.id,
            or_(Membership.ended_at.is_(None), Membership.ended_at > now),
        )
        .order_by(Membership.started_at, Membership.id)
    )
    return MemberPublic(
        id=member.id,
        username=member.username,
        display_name=member.display_name,
        language=member.language,
        memberships=[
            MembershipPublic(
                id=m.id, place=PlacePublic.model_validate(place), role=m.role,
                verified=m.verified, started_at=m.started_at, ended_at=m.ended_at,
            )
            for m, place in rows
        ],
    )
