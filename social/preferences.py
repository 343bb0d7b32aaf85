"""How each member wants to hear about each kind of post: at once, in the daily digest, or not.

A post is always in the feed; preferences only decide whether it also *interrupts*
the member (``instant``: the live stream flags it ``notify``), waits for the morning
email (``digest``), or neither (``off``). Alerts and official notices interrupt by
default because they are about the building itself; everything else waits for the
digest, which is how a busy neighbourhood stays readable.

Quiet hours hold instant notifications back at night. A **critical** alert (an alert
post of an alarm whose severity is ``critical``: a leak, a fire) overrides both the
quiet hours and "off": nobody opts out of being told their building is flooding.

Only the kinds a member changed are stored (``notification_prefs``); the others
follow :data:`DEFAULT_MODES`, so a better default later reaches everyone who never
chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from social.community_models import NotificationPref
from social.models import POST_KINDS
from social.notifications import SITE_ZONE, quiet_hours_end

Mode = Literal["instant", "digest", "off"]
MODES: tuple[Mode, ...] = ("instant", "digest", "off")

#: Alerts and official notices at once; everything else in the daily digest.
DEFAULT_MODES: Mapping[str, Mode] = {
    kind: "instant" if kind in ("alert", "notice") else "digest" for kind in POST_KINDS
}


def load_modes(session: Session, member_id: int) -> dict[str, Mode]:
    """Every post kind's mode for ``member_id``: their choice, else the default."""
    modes: dict[str, Mode] = dict(DEFAULT_MODES)
    for kind, mode in session.execute(
        select(NotificationPref.kind, NotificationPref.mode)
        .where(NotificationPref.member_id == member_id)
    ):
        if kind in modes and mode in MODES:
            modes[kind] = mode
    return modes


def save_modes(session: Session, member_id: int, chosen: Mapping[str, Mode]) -> None:
    """Make the member's stored choices exactly ``chosen``; kinds left out follow the default.

    Rows are updated in place rather than deleted and re-inserted: the unit of work
    inserts before it deletes, which would trip the (member, kind) UNIQUE constraint.
    The caller validates the kinds and modes, and commits.
    """
    for kind, mode in chosen.items():
        if kind not in DEFAULT_MODES or mode not in MODES:
            raise ValueError(f"invalid preference {kind!r}: {mode!r}")
    existing = {pref.kind: pref for pref in session.scalars(
        select(NotificationPref).where(NotificationPref.member_id == member_id)
    )}
    for kind, pref in existing.items():
        if kind not in chosen:
            session.delete(pref)
        elif pref.mode != chosen[kind]:
            pref.mode = chosen[kind]
    session.add_all(NotificationPref(member_id=member_id, kind=kind, mode=mode)
                    for kind, mode in chosen.items() if kind not in existing)
    session.flush()



def is_critical(kind: str, critical: bool) -> bool:
    """Only an alert can be critical (the severity of the alarm it speaks for)."""
    return kind == "alert" and critical


def wants_instant(
    modes: Mapping[str, str],
    quiet: tuple[str, str],
    kind: str,
    *,
    critical: bool,
    at: datetime,
    zone: ZoneInfo = SITE_ZONE,
) -> bool:
    """Should a post of ``kind`` interrupt the member at ``at``?

    ``quiet`` is the member's ``(quiet_start, quiet_end)``; invalid quiet hours count
    as none rather than silencing the member for good.
    """
    if is_critical(kind, critical):
        return True
    if modes.get(kind, DEFAULT_MODES.get(kind)) != "instant":
        return False
    try:
        return quiet_hours_end(at, quiet[0], quiet[1], zone) is None
    except ValueError:
        return True


def wants_digest(modes: Mapping[str, str], kind: str) -> bool:
    return modes.get(kind, DEFAULT_MODES.get(kind)) == "digest"
