"""Private notifications: who is told about what, and when they may see it.

The audiences are computed in SQL from current, verified memberships, the same way
the visibility rule is, so a member who moved out or was never verified is told
nothing. A private notice reaches the residents of one unit and nobody else: that
is the whole point of it being private.

Residents are not woken at night: a resident notification created inside the
member's quiet hours (local time of the site, ``22:00``–``07:00`` by default) is
stored with ``deliver_after`` at the end of them, and the API hides it until then.
Managers and on-call contacts are told at once; a critical alarm tells everyone at
once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from social.errors import NotificationNotFound
from social.models import Member, Membership, Notification, Place, PlaceAncestor, utcnow
from social.posts import Content
from social.visibility import MANAGER_ROLES, RESIDENT_ROLES, current_membership

log = logging.getLogger(__name__)

#: The site's time zone: quiet hours and schedules are local times there.
SITE_ZONE = ZoneInfo("Europe/Paris")


def residents_of_unit(session: Session, unit_id: str, *, now: datetime | None = None) -> set[int]:
    """Members with a current resident, owner or tenant membership *at* ``unit_id``."""
    return set(session.scalars(
        select(Membership.member_id).where(
            Membership.place_id == unit_id,
            Membership.role.in_(RESIDENT_ROLES),
            current_membership(now),
        )
    ))


def residents_under(session: Session, place_id: str, *, now: datetime | None = None) -> set[int]:
    """Residents whose home lies at or below ``place_id``: the neighbours a help request asks."""
    return set(session.scalars(
        select(Membership.member_id)
        .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
        .where(
            PlaceAncestor.ancestor_id == place_id,
            Membership.role.in_(RESIDENT_ROLES),
            current_membership(now),
        )
    ))


def managers_of_building(
    session: Session, building_id: str, *, now: datetime | None = None
) -> set[int]:
    """Managers, syndics and landlords of ``building_id`` (a membership below it counts)."""
    return set(session.scalars(
        select(Membership.member_id)
        .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
        .join(Place, Place.id == PlaceAncestor.ancestor_id)
        .where(
            PlaceAncestor.ancestor_id == building_id,
            Place.kind == "building",
            Membership.role.in_(MANAGER_ROLES),
            current_membership(now),
        )
    ))


def on_call_of_building(
    session: Session, building_id: str, *, now: datetime | None = None
) -> set[int]:
    """Members on call for ``building_id``, whatever their role."""
    return set(session.scalars(
        select(Membership.member_id)
        .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
        .where(
            PlaceAncestor.ancestor_id == building_id,
            Membership.on_call.is_(True),
            current_membership(now),
        )
    ))


def parse_time_of_day(text: str) -> time:
    """``"22:00"`` as a time; ValueError for anything else (``"24:00"`` included)."""
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2
            and int(hours) < 24 and int(minutes) < 60):
        raise ValueError(f"{text!r} is not a time of day; write it like 22:00")
    return time(int(hours), int(minutes))


def quiet_hours_end(
    at: datetime, start: str, end: str, zone: ZoneInfo = SITE_ZONE
) -> datetime | None:
    """When the quiet hours around ``at`` end (UTC), or None if ``at`` is not inside them.

    ``start`` and ``end`` are local times in ``zone``; a window may span midnight
    (``22:00``–``07:00``). Equal times mean no quiet hours.
    """
    begin, finish = parse_time_of_day(start), parse_time_of_day(end)
    if begin == finish:
        return None
    local = at.astimezone(zone)
    clock = local.time()
    if begin < finish:
        inside = begin <= clock < finish
        end_day = local.date()
    else:
        inside = clock >= begin or clock < finish
        end_day = local.date() + timedelta(days=1) if clock >= begin else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, finish, tzinfo=zone).astimezone(UTC)


def notify(
    session: Session,
    member_ids: Iterable[int],
    kind: str,
    content: Content,
    *,
    now: datetime,
    alarm_id: int | None = None,
    quiet_hours: bool = False,
    zone: ZoneInfo = SITE_ZONE,
) -> list[Notification]:
    """One notification per member; with ``quiet_hours``, each member's quiet hours defer it.

    The caller owns the transaction, so notifications appear together with the alarm
    or post they are about, or not at all.
    """
    ids = sorted(set(member_ids))
    if not ids:
        return []
    quiet: Mapping[int, tuple[str, str]] = {}
    if quiet_hours:
        quiet = {member_id: (start, end) for member_id, start, end in session.execute(
            select(Member.id, Member.quiet_start, Member.quiet_end).where(Member.id.in_(ids))
        )}
    rows = []
    for member_id in ids:
        deliver_after = now
        if member_id in quiet:
            start, end = quiet[member_id]
            try:
                deliver_after = quiet_hours_end(now, start, end, zone) or now
            except ValueError:
                log.warning("member %d has invalid quiet hours %r-%r; told at once",
                            member_id, start, end)
        rows.append(Notification(member_id=member_id, alarm_id=alarm_id, kind=kind,
                                 content=content, created_at=now, deliver_after=deliver_after))
    session.add_all(rows)
    return rows


def delivered_notifications(
    session: Session,
    member_id: int,
    *,
    now: datetime | None = None,
    unread_only: bool = False,
    limit: int = 50,
) -> list[Notification]:
    """The member's own notifications that are due (``deliver_after <= now``), newest first.

    "Newest" is by delivery: a notice held back overnight comes first in the morning.
    """
    stmt = select(Notification).where(
        Notification.member_id == member_id, Notification.deliver_after <= (now or utcnow())
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.deliver_after.desc(), Notification.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def mark_read(
    session: Session, member_id: int, notification_id: int, *, now: datetime | None = None
) -> Notification:
    """Mark one of the member's delivered notifications read; reading it again changes nothing.

    Raises :class:`NotificationNotFound` for someone else's notification or one not yet
    delivered, without telling which.
    """
    now = now or utcnow()
    notification = session.scalar(select(Notification).where(
        Notification.id == notification_id,
        Notification.member_id == member_id,
        Notification.deliver_after <= now,
    ))
    if notification is None:
        raise NotificationNotFound(notification_id)
    if notification.read_at is None:
        session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
        session.refresh(notification)
    return notification

