"""Alarms and their alert posts, from the rules engine's ``RaiseAlarm`` / ``ClearAlarm``.

Delivery is at-least-once (a QoS 1 message can arrive twice, two workers can race),
so applying an action is idempotent by key: at most one alarm is open per
(rule, device). The database enforces it with the UNIQUE ``open_key``; this module
checks first to stay quiet in the common case and, when a concurrent writer wins the
race anyway, rolls its SAVEPOINT back and treats the alarm as already open.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from devices.durations import format_duration
from rules.actions import ClearAlarm, RaiseAlarm
from social.errors import DatabaseError, UnknownPlace
from social.models import Alarm, Place, Post
from social.posts import Content, content_from, create_post
from social.visibility import manageable

log = logging.getLogger(__name__)

#: The line appended to an alert post's body when its alarm clears, per language.
RESOLVED_LINE = {"fr": "Résolu après {duration}", "en": "Resolved after {duration}"}

#: Attempts at inserting an alarm when concurrent writers keep taking the episode number.
_ATTEMPTS = 3


def open_key(rule_id: str, device_id: str) -> str:
    return f"{rule_id}|{device_id}"


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """What an action changed, for live updates and manager notifications."""

    change: Literal["raised", "cleared"]
    alarm_id: int
    rule_id: str
    device_id: str
    episode: int
    place_id: str
    building_id: str | None
    severity: str
    at: datetime
    post_id: int | None
    notify_managers: bool = False


class AlarmBook:
    """Applies the rules engine's alarm actions to the social database.

    The caller owns the transaction: it commits after :meth:`apply` (and only then
    acknowledges the messages that caused the actions).
    """

    def apply(
        self, session: Session, actions: Sequence[RaiseAlarm | ClearAlarm]
    ) -> list[AlarmChange]:
        changes = []
        for action in actions:
            if isinstance(action, RaiseAlarm):
                change = self.raise_alarm(session, action)
            elif isinstance(action, ClearAlarm):
                change = self.clear_alarm(session, action)
            else:
                raise TypeError(f"not an alarm action: {action!r}")
            if change is not None:
                changes.append(change)
        return changes

    def raise_alarm(self, session: Session, action: RaiseAlarm) -> AlarmChange | None:
        """Open an alarm and its alert post, or None when one is already open."""
        key = open_key(action.rule_id, action.device_id)
        self._check_places(session, action)
        for attempt in range(1, _ATTEMPTS + 1):
            if self._is_open(session, key):
                return None
            episode = self._last_episode(session, action) + 1
            try:
                with session.begin_nested():
                    return self._insert(session, action, key, episode)
            except IntegrityError as exc:
                if self._is_open(session, key):
                    log.info("alarm %s already opened by a concurrent writer", key)
                    return None
                if self._last_episode(session, action) < episode or attempt == _ATTEMPTS:
                    raise DatabaseError(f"could not open alarm {key}: {exc.orig}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def clear_alarm(self, session: Session, action: ClearAlarm) -> AlarmChange | None:
        """Close the open alarm and resolve its post, or None when nothing is open."""
        key = open_key(action.rule_id, action.device_id)
        alarm = session.scalar(select(Alarm).where(Alarm.open_key == key).with_for_update())
        if alarm is None:
            return None
        cleared_at = _at(action.at)
        alarm.state = "cleared"
        alarm.cleared_at = cleared_at
        alarm.open_key = None
        post = session.scalar(select(Post).where(Post.alarm_id == alarm.id).with_for_update())
        if post is not None:
            seconds = (cleared_at - alarm.raised_at).total_seconds()
            post.content = _with_resolution(post.content, seconds)
            post.status = "resolved"
            post.resolved_at = cleared_at
            post.updated_at = cleared_at
        session.flush()
        return AlarmChange(
            "cleared", alarm.id, alarm.rule_id, alarm.device_id, alarm.episode, alarm.place_id,
            alarm.building_id, alarm.severity, cleared_at, post.id if post else None,
        )

    @staticmethod
    def _is_open(session: Session, key: str) -> bool:
        return session.scalar(select(Alarm.id).where(Alarm.open_key == key)) is not None

    @staticmethod
    def _last_episode(session: Session, action: RaiseAlarm) -> int:
        return session.scalar(select(func.coalesce(func.max(Alarm.episode), 0)).where(
            Alarm.rule_id == action.rule_id, Alarm.device_id == action.device_id
        )) or 0

    @staticmethod
    def _check_places(session: Session, action: RaiseAlarm) -> None:
        wanted = {action.place_id, action.building_id}
        if action.post is not None:
            wanted.add(action.post.place_id)
        wanted.discard(None)
        found = set(session.scalars(select(Place.id).where(Place.id.in_(wanted))))
        missing = sorted(p for p in wanted - found if p is not None)
        if missing:
            raise UnknownPlace(missing[0], f"alarm {action.rule_id} on {action.device_id}")

    @staticmethod
    def _insert(session: Session, action: RaiseAlarm, key: str, episode: int) -> AlarmChange:
        raised_at = _at(action.at)
        alarm = Alarm(
            rule_id=action.rule_id, device_id=action.device_id, episode=episode,
            place_id=action.place_id, building_id=action.building_id,
            severity=action.severity, state="active", title=dict(action.title),
            raised_at=raised_at, open_key=key,
        )
        session.add(alarm)
        session.flush()
        post = None
        if action.post is not None:
            draft = action.post
            post = create_post(session, draft.place_id, content_from(draft.title, draft.body),
                               kind=draft.kind, alarm_id=alarm.id, at=raised_at)
        return AlarmChange(
            "raised", alarm.id, alarm.rule_id, alarm.device_id, episode, alarm.place_id,
            alarm.building_id, alarm.severity, raised_at, post.id if post else None,
            action.notify_managers,
        )


def _with_resolution(content: Content, seconds: float) -> Content:
    """A copy of ``content`` whose body ends with the resolution line in each language."""
    resolved = {}
    for lang, text in content.items():
        line = RESOLVED_LINE.get(lang, RESOLVED_LINE["en"]).format(
            duration=format_duration(seconds, lang)
        )
        body = text.get("body", "")
        resolved[lang] = {**text, "body": f"{body}\n\n{line}" if body else line}
    return resolved


def open_alarm_keys(session: Session) -> set[tuple[str, str]]:
    """``(rule_id, device_id)`` of every open alarm, for the rules engine to resume from."""
    rows = session.execute(select(Alarm.rule_id, Alarm.device_id).where(Alarm.state == "active"))
    return {(rule_id, device_id) for rule_id, device_id in rows}


def apply_alarm_actions(
    session: Session, actions: Sequence[RaiseAlarm | ClearAlarm]
) -> list[AlarmChange]:
    """Shorthand for ``AlarmBook().apply(session, actions)``."""
    return AlarmBook().apply(session, actions)


def manager_alarms(
    session: Session,
    member_id: int,
    *,
    state: Literal["active", "cleared", "all"] = "active",
    limit: int = 200,
    now: datetime | None = None,
) -> list[tuple[Alarm, Place]]:
    """The alarms of the buildings ``member_id`` manages, newest first, with their place."""
    stmt = manageable(
        select(Alarm, Place).join(Place, Place.id == Alarm.place_id), Alarm.building_id,
        member_id, now=now,
    )
    if state != "all":
        stmt = stmt.where(Alarm.state == state)
    stmt = stmt.order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit)
    return [(alarm, place) for alarm, place in session.execute(stmt)]
