"""The caller's own notifications: alarms for managers, private notices and help requests
for residents. One held back by quiet hours does not exist for the API until it is due."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import ErrorPublic, NotificationPublic, NotificationsPublic
from social.models import Notification
from social.notifications import delivered_notifications, mark_read
from social.posts import localize_content

router = APIRouter(prefix="/api", tags=["notifications"])


def notification_public(notification: Notification, language: str) -> NotificationPublic:
    title, body = localize_content(notification.content, language)
    return NotificationPublic(
        id=notification.id, kind=notification.kind, alarm_id=notification.alarm_id,
        title=title, body=body, created_at=notification.created_at,
        delivered_at=notification.deliver_after, read_at=notification.read_at,
    )


@router.get("/notifications", responses={401: {"model": ErrorPublic}})
def read_notifications(
    member: CurrentMember,
    session: SessionDep,
    unread: Annotated[bool, Query(description="only those not read yet")] = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NotificationsPublic:
    """The caller's delivered notifications, newest first."""
    rows = delivered_notifications(session, member.id, unread_only=unread, limit=limit)
    return NotificationsPublic(items=[notification_public(n, member.language) for n in rows])


@router.post(
    "/notifications/{notification_id}/read",
    responses={401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}},
)
def read_notification(
    notification_id: int, member: CurrentMember, session: SessionDep
) -> NotificationPublic:
    """Mark one of the caller's notifications read (again: no change)."""
    notification = mark_read(session, member.id, notification_id)
    session.commit()
    return notification_public(notification, member.language)
