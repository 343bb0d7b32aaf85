"""Alarms, for the managers of the buildings they happened in."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from social.alarms import manager_alarms
from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import AlarmPublic, AlarmsPublic, ErrorPublic, PlacePublic
from social.posts import localize
from social.visibility import manages_any_building

router = APIRouter(prefix="/api", tags=["alarms"])

NOT_A_MANAGER = (
    "alarms are for building managers: you hold no verified manager, syndic or landlord "
    "membership of a building"
)


@router.get(
    "/alarms", responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}}
)
def read_alarms(
    member: CurrentMember,
    session: SessionDep,
    state: Annotated[Literal["active", "cleared", "all"], Query()] = "active",
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> AlarmsPublic:
    """The alarms of the buildings the caller manages, newest first."""
    if not manages_any_building(session, member.id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=NOT_A_MANAGER)
    items = [
        AlarmPublic(
            id=alarm.id, rule_id=alarm.rule_id, device_id=alarm.device_id,
            episode=alarm.episode, place=PlacePublic.model_validate(place),
            building_id=alarm.building_id, severity=alarm.severity, state=alarm.state,
            title=str(localize(alarm.title, member.language) or ""),
            raised_at=alarm.raised_at, cleared_at=alarm.cleared_at,
        )
        for alarm, place in manager_alarms(session, member.id, state=state, limit=limit)
    ]
    return AlarmsPublic(items=items)
