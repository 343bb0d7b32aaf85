"""Alarms, for the managers of the buildings they happened in.

An alarm of a building the caller does not manage answers 404, exactly like an id
that does not exist: probing ids tells nobody what happens in other buildings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from social.alarms import AlarmBook, AlarmRow, AlarmStateFilter, manager_alarm, manager_alarms
from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import (
    AcknowledgeRequest,
    AlarmExplanationPublic,
    AlarmPublic,
    AlarmsPublic,
    AlarmTimesPublic,
    ErrorPublic,
    EscalationPublic,
    EvidencePublic,
    MemberRefPublic,
    PlacePublic,
)
from social.interactions import StillHappening, still_happening
from social.posts import localize
from social.visibility import manages_any_building

router = APIRouter(prefix="/api", tags=["alarms"])

NOT_A_MANAGER = (
    "alarms are for building managers: you hold no verified manager, syndic or landlord "
    "membership of a building"
)
_ONE_ALARM = {401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}}


def alarm_public(row: AlarmRow, language: str,
                 still: StillHappening | None = None) -> AlarmPublic:
    """``still``: residents' "still happening" on its alert post, the manager's live check."""
    alarm = row.alarm
    acknowledged_by = None
    if alarm.acknowledged_by is not None and row.acknowledged_by_name is not None:
        acknowledged_by = MemberRefPublic(id=alarm.acknowledged_by,
                                          display_name=row.acknowledged_by_name)
    return AlarmPublic(
        id=alarm.id, rule_id=alarm.rule_id, device_id=alarm.device_id,
        episode=alarm.episode, place=PlacePublic.model_validate(row.place),
        building_id=alarm.building_id, severity=alarm.severity,
        state=alarm.state,  # type: ignore[arg-type]  # the CHECK constraint keeps it valid
        title=str(localize(alarm.title, language) or ""),
        raised_at=alarm.raised_at, acknowledged_at=alarm.acknowledged_at,
        acknowledged_by=acknowledged_by, ack_note=alarm.ack_note,
        escalated_steps=alarm.escalated_steps, cleared_at=alarm.cleared_at,
        still_happening=still.count if still else 0,
        still_happening_last_at=still.last_at if still else None,
    )


@router.get(
    "/alarms", responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}}
)
def read_alarms(
    member: CurrentMember,
    session: SessionDep,
    state: Annotated[AlarmStateFilter, Query(
        description="open = active or acknowledged (not cleared yet)")] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> AlarmsPublic:
    """The alarms of the buildings the caller manages, newest first."""
    if not manages_any_building(session, member.id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=NOT_A_MANAGER)
    rows = manager_alarms(session, member.id, state=state, limit=limit)
    still = still_happening(session, [row.alarm.id for row in rows])
    return AlarmsPublic(items=[alarm_public(row, member.language, still.get(row.alarm.id))
                               for row in rows])


@router.post(
    "/alarms/{alarm_id}/acknowledge",
    responses={**_ONE_ALARM, 409: {"model": ErrorPublic}},
)
def acknowledge_alarm(
    alarm_id: int, body: AcknowledgeRequest, member: CurrentMember, session: SessionDep
) -> AlarmPublic:
    """Take charge of an active alarm; its alert post tells residents (updated, not reposted).

    409 when it is already acknowledged or cleared.
    """
    AlarmBook().acknowledge(session, alarm_id, member, body.note)
    session.commit()
    still = still_happening(session, [alarm_id]).get(alarm_id)
    return alarm_public(manager_alarm(session, alarm_id, member.id), member.language, still)


@router.get("/alarms/{alarm_id}/explain", responses=_ONE_ALARM)
def explain_alarm(
    alarm_id: int, member: CurrentMember, session: SessionDep
) -> AlarmExplanationPublic:
    """The readings and conditions that raised the alarm, and what happened to it since."""
    row = manager_alarm(session, alarm_id, member.id)
    alarm = row.alarm
    escalations = [
        EscalationPublic(
            step=index, after_seconds=float(step["after"]), notify=str(step["notify"]),
            due_at=alarm.raised_at + timedelta(seconds=float(step["after"])),
            escalated_at=(datetime.fromisoformat(step["escalated_at"])
                          if step.get("escalated_at") else None),
            help_request=bool(step.get("help_request")),
        )
        for index, step in enumerate(alarm.escalation)
    ]
    return AlarmExplanationPublic(
        alarm=alarm_public(row, member.language,
                           still_happening(session, [alarm.id]).get(alarm.id)),
        rule_id=alarm.rule_id,
        severity=alarm.severity,
        evidence=[
            EvidencePublic(device_id=e["device_id"], what=e["what"],
                           at=datetime.fromtimestamp(float(e["at"]), UTC),
                           condition=e["condition"])
            for e in alarm.evidence
        ],
        times=AlarmTimesPublic(raised_at=alarm.raised_at, acknowledged_at=alarm.acknowledged_at,
                               escalations=escalations, cleared_at=alarm.cleared_at),
    )
