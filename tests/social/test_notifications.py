"""Quiet hours as local times of the site, and reading one's own notifications."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from social.db import Database
from social.errors import NotificationNotFound
from social.models import Notification, utcnow
from social.notifications import (
    delivered_notifications,
    mark_read,
    parse_time_of_day,
    quiet_hours_end,
)

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(("at", "start", "end", "expected"), [
    (paris(2026, 3, 14, 11, 42), "22:00", "07:00", None),  # daytime
    (paris(2026, 3, 14, 21, 59), "22:00", "07:00", None),
    (paris(2026, 3, 14, 22, 0), "22:00", "07:00", paris(2026, 3, 15, 7, 0)),  # starts at once
    (paris(2026, 3, 14, 23, 30), "22:00", "07:00", paris(2026, 3, 15, 7, 0)),
    (paris(2026, 3, 15, 3, 10), "22:00", "07:00", paris(2026, 3, 15, 7, 0)),  # after midnight
    (paris(2026, 3, 15, 7, 0), "22:00", "07:00", None),  # the end is not inside
    (paris(2026, 12, 31, 23, 0), "22:00", "07:00", paris(2027, 1, 1, 7, 0)),  # new year
    (paris(2026, 3, 14, 13, 30), "13:00", "15:00", paris(2026, 3, 14, 15, 0)),  # a nap
    (paris(2026, 3, 14, 16, 0), "13:00", "15:00", None),
    (paris(2026, 3, 14, 23, 0), "00:00", "00:00", None),  # equal: no quiet hours
])
def test_quiet_hours_end(at: datetime, start: str, end: str, expected: datetime | None) -> None:
    result = quiet_hours_end(at.astimezone(UTC), start, end, PARIS)

    assert result == (expected.astimezone(UTC) if expected else None)
    assert result is None or result.tzinfo == UTC


def test_quiet_hours_follow_the_clock_change() -> None:
    """The night the clocks go forward, 07:00 in Paris is 05:00 UTC, not 06:00."""
    night = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 CET

    assert quiet_hours_end(night, "22:00", "07:00", PARIS) == datetime(
        2026, 3, 29, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["7h", "24:00", "07:0", "", "ab:cd"])
def test_a_bad_time_of_day_is_refused(text: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_time_of_day(text)
    assert str(error.value) == f"{text!r} is not a time of day; write it like 22:00"


def test_a_member_reads_only_their_own_delivered_notifications(
    sqlite_database: Database, make_member: Callable[..., int]
) -> None:
    now = utcnow()
    with sqlite_database.session() as session:
        me = make_member(session, "alice")
        other = make_member(session, "bob")
        ids = {
            name: add(session, member, name, created=now - age, deliver=now - age + delay)
            for name, member, age, delay in [
                ("old", me, timedelta(hours=5), timedelta(0)),
                ("deferred", me, timedelta(hours=6), timedelta(hours=4)),  # came out 2 h ago
                ("recent", me, timedelta(minutes=1), timedelta(0)),
                ("tomorrow", me, timedelta(minutes=1), timedelta(hours=8)),  # not yet
                ("not mine", other, timedelta(minutes=1), timedelta(0)),
            ]
        }
        session.commit()

    with sqlite_database.session() as session:
        seen = [n.content["fr"]["title"] for n in delivered_notifications(session, me)]
        assert seen == ["recent", "deferred", "old"]
        for hidden in ("tomorrow", "not mine"):
            with pytest.raises(NotificationNotFound):
                mark_read(session, me, ids[hidden])
        first = mark_read(session, me, ids["old"], now=now).read_at
        again = mark_read(session, me, ids["old"], now=now + timedelta(hours=1)).read_at
        session.commit()
        unread = [n.content["fr"]["title"]
                  for n in delivered_notifications(session, me, unread_only=True)]
    assert first == again == now
    assert unread == ["recent", "deferred"]


def add(session: Session, member_id: int, title: str, *, created: datetime,
        deliver: datetime) -> int:
    row = Notification(member_id=member_id, kind="notice",
                       content={"fr": {"title": title, "body": ""}},
                       created_at=created, deliver_after=deliver)
    session.add(row)
    session.flush()
    return row.id
