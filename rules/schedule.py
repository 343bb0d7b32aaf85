"""``during:`` schedules, evaluated in the site's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rules.schema import Schedule

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def in_schedule(schedule: Schedule | None, at: float, zone: ZoneInfo) -> bool:
    if schedule is None:
        return True
    local = datetime.fromtimestamp(at, zone)
    if DAYS[local.weekday()] not in schedule.days:
        return False
    hhmm = f"{local.hour:02d}:{local.minute:02d}"
    return schedule.from_ <= hhmm < schedule.to
