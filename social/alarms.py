"""Alarms and everything they set in motion, from the rules engine's ``RaiseAlarm`` /
``ClearAlarm`` and from the managers who acknowledge them.

Delivery is at-least-once (a QoS 1 message can arrive twice, two workers can race),
so applying an action is idempotent by key: at most one alarm is open per
(rule, subject). The database enforces it with the UNIQUE ``open_key``; this module
checks first to stay quiet in the common case and, when a concurrent writer wins the
race anyway, rolls its SAVEPOINT back and treats the alarm as already open. Every
side effect of a raise (posts, notifications, outbox rows for webhooks and commands)
is written inside that same SAVEPOINT, so a raise that loses the race leaves nothing
behind and a raise that wins leaves everything: nothing happens twice.

An alarm's life::

    active ──acknowledge──▶ acknowledged ──clear──▶ cleared
      │                                               ▲
      └──────────────────────clear────────────────────┘

While it stays ``active`` (nobody acknowledged it), :func:`escalate_due` walks its
escalation steps. Acknowledging and clearing *update* its alert post (the texts the
rule gave, rendered in a Jinja2 sandbox) rather than posting again, so the feed tells
one story per incident.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from devices.durations import format_duration
from rules.actions import ClearAlarm, EscalationStep, Evidence, PostDraft, RaiseAlarm
from social.errors import AlarmConflict, AlarmNotFound, DatabaseError, UnknownPlace
from social.models import (
    OPEN_ALARM_STATES,
    Alarm,
    Member,
    OutboxEntry,
    Place,
    Post,
    utcnow,
)
from social.notifications import (
    SITE_ZONE,
    managers_of_building,
    notify,
    on_call_of_building,
    residents_of_unit,
    residents_under,
)
from social.posts import Content, content_from, create_post, localize
from social.visibility import manageable

log = logging.getLogger(__name__)

#: The line added to an alert post's body when its alarm clears and the rule gave no text.
RESOLVED_LINE = {"fr": "Résolu après {duration}", "en": "Resolved after {duration}"}
#: The line added when a manager acknowledges the alarm and the rule gave no text.
ACKNOWLEDGED_LINE = {"fr": "Pris en charge par {by} : {note}", "en": "Acknowledged by {by}: {note}"}
ACKNOWLEDGED_LINE_NO_NOTE = {"fr": "Pris en charge par {by}", "en": "Acknowledged by {by}"}
#: The title of an escalation notification, before the alarm's own title.
ESCALATION_TITLE = {"fr": "Non acquittée depuis {duration} : {title}",
                    "en": "Unacknowledged for {duration}: {title}"}

AlarmStateFilter = Literal["active", "acknowledged", "open", "cleared", "all"]

#: Attempts at inserting an alarm when concurrent writers keep taking the episode number.
_ATTEMPTS = 3
#: Alarms examined per :func:`escalate_due` call; the next call takes the rest.
_ESCALATION_BATCH = 200


def open_key(rule_id: str, device_id: str) -> str:
    return f"{rule_id}|{device_id}"


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """What an action changed, for live updates and the replay timeline."""

    change: Literal["raised", "acknowledged", "escalated", "cleared"]
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
    #: For ``escalated``: the index of the escalation step that was taken.
    step: int | None = None


def _change(kind: Literal["raised", "acknowledged", "escalated", "cleared"], alarm: Alarm,
            at: datetime, post_id: int | None, *, notify_managers: bool = False,
            step: int | None = None) -> AlarmChange:
    return AlarmChange(kind, alarm.id, alarm.rule_id, alarm.device_id, alarm.episode,
                       alarm.place_id, alarm.building_id, alarm.severity, at, post_id,
                       notify_managers, step)


# -- texts ------------------------------------------------------------------------------


@cache
def _sandbox() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def render_update(template: str, context: Mapping[str, str]) -> str | None:
    """``template`` rendered in the sandbox, or None if it does not render.

    The values (a manager's note, a name, a duration) are passed as variables, never
    compiled, so whatever a manager types cannot run as a template. A broken rule text
    must not stop the alarm from being acknowledged or cleared: the caller falls back
    to a default line.
    """
    try:
        return _sandbox().from_string(template).render(context)
    except Exception as exc:  # any template failure: TemplateError, SecurityError, 1/0...
        log.warning("alarm text %r does not render (%s); the default line is used",
                    template, exc)
        return None


def _line(templates: Mapping[str, str], defaults: Mapping[str, str], lang: str,
          context: Mapping[str, str]) -> str:
    """The line to add in ``lang``: the rule's text if it renders, else the default one."""
    template = templates.get(lang)
    rendered = render_update(template, context) if template else None
    if rendered is None:
        rendered = defaults.get(lang, defaults["en"]).format(**context)
    return rendered


def _with_lines(content: Content, lines: Mapping[str, str]) -> Content:
    """A copy of ``content`` whose body ends with ``lines[lang]`` as a new paragraph."""
    updated = {}
    for lang, text in content.items():
        line = lines.get(lang, "")
        body = text.get("body", "")
        updated[lang] = {**text, "body": f"{body}\n\n{line}" if body and line else body or line}
    return updated


def _with_resolution(content: Content, seconds: float,
                     templates: Mapping[str, str] | None = None) -> Content:
    """``content`` with the rule's clear text (or "Résolu après …") rendered with ``duration``."""
    return _with_lines(content, {
        lang: _line(templates or {}, RESOLVED_LINE, lang,
                    {"duration": format_duration(seconds, lang)})
        for lang in content
    })


def _with_acknowledgement(content: Content, templates: Mapping[str, str], note: str,
                          by: str) -> Content:
    defaults = ACKNOWLEDGED_LINE if note.strip() else ACKNOWLEDGED_LINE_NO_NOTE
    return _with_lines(content, {
        lang: _line(templates, defaults, lang, {"note": note, "by": by}) for lang in content
    })


# -- stored shapes ----------------------------------------------------------------------


def _draft_dict(draft: PostDraft | None) -> dict[str, Any] | None:
    if draft is None:
        return None
    return {"place_id": draft.place_id, "kind": draft.kind, "title": dict(draft.title),
            "body": dict(draft.body)}


def _draft_from(stored: Mapping[str, Any] | None) -> PostDraft | None:
    if not stored:
        return None
    return PostDraft(place_id=stored["place_id"], kind=stored.get("kind", "help_request"),
                     title=stored.get("title", {}), body=stored.get("body", {}))


def _escalation_dicts(steps: Sequence[EscalationStep]) -> list[dict[str, Any]]:
    """The steps in the order they fire (a rule may list them in any order)."""
    return [{"after": step.after, "notify": step.notify,
             "help_request": _draft_dict(step.help_request), "escalated_at": None}
            for step in sorted(steps, key=lambda s: s.after)]


def _evidence_dict(evidence: Evidence) -> dict[str, Any]:
    return {"device_id": evidence.device_id, "what": evidence.what, "at": evidence.at,
            "condition": evidence.condition}


def _next_escalation(raised_at: datetime, steps: Sequence[Mapping[str, Any]],
                     done: int) -> datetime | None:
    if done >= len(steps):
        return None
    return raised_at + timedelta(seconds=float(steps[done]["after"]))


# -- the book ---------------------------------------------------------------------------


class AlarmBook:
    """Applies the rules engine's alarm actions and the managers' acknowledgements.

    The caller owns the transaction: it commits after :meth:`apply` (and only then
    acknowledges the messages that caused the actions). ``zone`` is the site's time
    zone, in which residents' quiet hours are local times.
    """

    def __init__(self, *, zone: ZoneInfo = SITE_ZONE) -> None:
        self._zone = zone

    def apply(
        self,
        session: Session,
        actions: Sequence[RaiseAlarm | ClearAlarm],
        *,
        now: datetime | None = None,
    ) -> list[AlarmChange]:
        """Apply ``actions`` in order; ``now`` stamps notifications and outbox rows.

        Alarms and posts carry the time of the condition (``action.at``); notifications
        carry the time they are sent, which is what quiet hours are about.
        """
        now = now or utcnow()
        changes = []
        for action in actions:
            if isinstance(action, RaiseAlarm):
                change = self.raise_alarm(session, action, now=now)
            elif isinstance(action, ClearAlarm):
                change = self.clear_alarm(session, action)
            else:
                raise TypeError(f"not an alarm action: {action!r}")
            if change is not None:
                changes.append(change)
        return changes

    def raise_alarm(
        self, session: Session, action: RaiseAlarm, *, now: datetime | None = None
    ) -> AlarmChange | None:
        """Open an alarm with all its side effects, or None when one is already open."""
        now = now or utcnow()
        key = open_key(action.rule_id, action.device_id)
        self._check_places(session, action)
        for attempt in range(1, _ATTEMPTS + 1):
            if self._is_open(session, key):
                return None
            episode = self._last_episode(session, action) + 1
            try:
                with session.begin_nested():
                    return self._insert(session, action, key, episode, now)
            except IntegrityError as exc:
                if self._is_open(session, key):
                    log.info("alarm %s already opened by a concurrent writer", key)
                    return None
                if self._last_episode(session, action) < episode or attempt == _ATTEMPTS:
                    raise DatabaseError(f"could not open alarm {key}: {exc.orig}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def clear_alarm(self, session: Session, action: ClearAlarm) -> AlarmChange | None:
        """Close the open (active or acknowledged) alarm and resolve its posts.

        The alert post's body gains the rule's clear text ("lift B back in service after
        3 h 23"); the help requests the alarm opened are resolved too. None when nothing
        is open.
        """
        key = open_key(action.rule_id, action.device_id)
        alarm = session.scalar(select(Alarm).where(Alarm.open_key == key).with_for_update())
        if alarm is None:
            return None
        cleared_at = _at(action.at)
        alarm.state = "cleared"
        alarm.cleared_at = cleared_at
        alarm.open_key = None
        alarm.next_escalation_at = None
        posts = session.scalars(
            select(Post).where(Post.alarm_id == alarm.id, Post.status == "active")
            .order_by(Post.id).with_for_update()
        ).all()
        alert = None
        for post in posts:
            if post.kind != "help_request":
                alert = post
                seconds = (cleared_at - alarm.raised_at).total_seconds()
                post.content = _with_resolution(post.content, seconds, alarm.clear_text)
            post.status = "resolved"
            post.resolved_at = cleared_at
            post.updated_at = cleared_at
        session.flush()
        return _change("cleared", alarm, cleared_at, alert.id if alert else None)

    def acknowledge(
        self,
        session: Session,
        alarm_id: int,
        member: Member,
        note: str,
        *,
        now: datetime | None = None,
    ) -> Alarm:
        """``member`` takes charge of an active alarm of a building they manage.

        Raises :class:`AlarmNotFound` when the member does not manage the alarm's
        building (whether or not it exists), :class:`AlarmConflict` when it is already
        acknowledged or cleared. The conditional UPDATE makes two managers acknowledging
        at once end with one acknowledgement and one conflict, on any backend.
        """
        now = now or utcnow()
        alarm = session.scalar(manageable(
            select(Alarm).where(Alarm.id == alarm_id), Alarm.building_id, member.id, now=now
        ))
        if alarm is None:
            raise AlarmNotFound(alarm_id)
        result = cast(CursorResult[Any], session.execute(
            update(Alarm)
            .where(Alarm.id == alarm_id, Alarm.state == "active")
            .values(state="acknowledged", acknowledged_at=now, acknowledged_by=member.id,
                    ack_note=note, next_escalation_at=None)
            .execution_options(synchronize_session=False)
        ))
        session.refresh(alarm)
        if result.rowcount != 1:
            raise AlarmConflict(alarm_id, self._why_not_active(session, alarm))
        post = self._alert_post(session, alarm.id)
        if post is not None:
            post.content = _with_acknowledgement(post.content, alarm.acknowledge_text, note,
                                                 member.display_name)
            post.updated_at = now
        session.flush()
        return alarm

    def escalate_due(self, session: Session, now: datetime) -> list[AlarmChange]:
        """Take every escalation step due at ``now`` of the alarms nobody acknowledged.

        Each alarm's steps are claimed by ``UPDATE ... WHERE escalated_steps = n``: of
        two workers (or two ticks) racing for the same step, only the one whose update
        matched notifies and posts; the other finds the counter moved and does nothing.
        Several overdue steps (the gateway was down) are taken together. The caller
        commits.
        """
        due = session.scalars(
            select(Alarm)
            .where(Alarm.state == "active", Alarm.next_escalation_at <= now)
            .order_by(Alarm.next_escalation_at, Alarm.id)
            .limit(_ESCALATION_BATCH)
        ).all()
        changes = []
        for alarm in due:
            changes += self._escalate(session, alarm, now)
        return changes

    # -- raising ------------------------------------------------------------------------

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
        wanted: set[str | None] = {action.place_id, action.building_id}
        drafts = [action.post, action.help_request,
                  *(step.help_request for step in action.escalation)]
        wanted.update(draft.place_id for draft in drafts if draft is not None)
        if action.notice is not None:
            wanted.add(action.notice.unit_id)
        wanted.discard(None)
        found = set(session.scalars(select(Place.id).where(Place.id.in_(wanted))))
        missing = sorted(p for p in wanted - found if p is not None)
        if missing:
            raise UnknownPlace(missing[0], f"alarm {action.rule_id} on {action.device_id}")

    def _insert(self, session: Session, action: RaiseAlarm, key: str, episode: int,
                now: datetime) -> AlarmChange:
        raised_at = _at(action.at)
        escalation = _escalation_dicts(action.escalation)
        alarm = Alarm(
            rule_id=action.rule_id, device_id=action.device_id, episode=episode,
            place_id=action.place_id, building_id=action.building_id,
            severity=action.severity, state="active", title=dict(action.title),
            raised_at=raised_at, open_key=key, escalation=escalation, escalated_steps=0,
            next_escalation_at=_next_escalation(raised_at, escalation, 0),
            evidence=[_evidence_dict(e) for e in action.evidence],
            acknowledge_text=dict(action.acknowledge_text), clear_text=dict(action.clear_text),
            notify_on_call=action.notify_on_call,
        )
        session.add(alarm)
        session.flush()
        post = None
        if action.post is not None:
            draft = action.post
            # The alarm's own post is the one acknowledging and clearing update; a help
            # request comes through ``action.help_request``, never here.
            kind = "alert" if draft.kind == "help_request" else draft.kind
            post = create_post(session, draft.place_id, content_from(draft.title, draft.body),
                               kind=kind, alarm_id=alarm.id, at=raised_at)
        if action.help_request is not None:
            self._help_request(session, alarm, action.help_request, at=raised_at, now=now,
                               quiet_hours=action.quiet_hours_apply)
        self._notify_staff(session, alarm, action, post, now)
        if action.notice is not None:
            notice = action.notice
            notify(session, residents_of_unit(session, notice.unit_id, now=now), "notice",
                   content_from(notice.title, notice.body), now=now, alarm_id=alarm.id,
                   quiet_hours=action.quiet_hours_apply, zone=self._zone)
        self._outbox(session, alarm, action, now)
        session.flush()
        return _change("raised", alarm, raised_at, post.id if post else None,
                       notify_managers=action.notify_managers)

    def _notify_staff(self, session: Session, alarm: Alarm, action: RaiseAlarm,
                      post: Post | None, now: datetime) -> None:
        """Managers and on-call contacts, each told once even when they are both."""
        if alarm.building_id is None:
            return
        staff: set[int] = set()
        if action.notify_managers:
            staff |= managers_of_building(session, alarm.building_id, now=now)
        if action.notify_on_call:
            staff |= on_call_of_building(session, alarm.building_id, now=now)
        body = {lang: text.get("body", "") for lang, text in post.content.items()} if post else {}
        notify(session, staff, "alarm", content_from(action.title, body), now=now,
               alarm_id=alarm.id)

    def _help_request(self, session: Session, alarm: Alarm, draft: PostDraft, *,
                      at: datetime, now: datetime, quiet_hours: bool) -> Post:
        """A help request in the feed, and its neighbours told about it."""
        content = content_from(draft.title, draft.body)
        post = create_post(session, draft.place_id, content, kind="help_request",
                           alarm_id=alarm.id, at=at)
        notify(session, residents_under(session, draft.place_id, now=now), "help_request",
               content, now=now, alarm_id=alarm.id, quiet_hours=quiet_hours, zone=self._zone)
        return post

    @staticmethod
    def _outbox(session: Session, alarm: Alarm, action: RaiseAlarm, now: datetime) -> None:
        """Webhooks and commands, sent by the outbox dispatcher once this commits."""
        rows = [
            OutboxEntry(alarm_id=alarm.id, kind="webhook", position=i, payload={
                "url": hook.url, "method": hook.method, "body": hook.body,
                "timeout": hook.timeout, "retries": hook.retries,
            }, status="pending", attempts=0, next_attempt_at=now, created_at=now)
            for i, hook in enumerate(action.webhooks)
        ] + [
            OutboxEntry(alarm_id=alarm.id, kind="command", position=i, payload={
                "device_id": command.device_id, "point": command.point, "value": command.value,
            }, status="pending", attempts=0, next_attempt_at=now, created_at=now)
            for i, command in enumerate(action.commands)
        ]
        session.add_all(rows)

    # -- acknowledging ------------------------------------------------------------------

    @staticmethod
    def _alert_post(session: Session, alarm_id: int) -> Post | None:
        """The alarm's own post (alert or notice), not the help requests it opened."""
        return session.scalar(
            select(Post).where(Post.alarm_id == alarm_id, Post.kind != "help_request")
            .order_by(Post.id).limit(1).with_for_update()
        )

    @staticmethod
    def _why_not_active(session: Session, alarm: Alarm) -> str:
        if alarm.state == "acknowledged":
            by = session.get(Member, alarm.acknowledged_by) if alarm.acknowledged_by else None
            who = f" by {by.display_name}" if by else ""
            when = alarm.acknowledged_at.isoformat() if alarm.acknowledged_at else "?"
            return f"alarm {alarm.id} is already acknowledged{who} at {when}"
        return f"alarm {alarm.id} is {alarm.state}: there is nothing left to acknowledge"

    # -- escalating ---------------------------------------------------------------------

    def _escalate(self, session: Session, alarm: Alarm, now: datetime) -> list[AlarmChange]:
        steps = list(alarm.escalation)
        done = first = alarm.escalated_steps
        while done < len(steps) and alarm.raised_at + timedelta(
                seconds=float(steps[done]["after"])) <= now:
            done += 1
        taken = [{**step, "escalated_at": now.isoformat()} if first <= i < done else step
                 for i, step in enumerate(steps)]
        claimed = cast(CursorResult[Any], session.execute(
            update(Alarm)
            .where(Alarm.id == alarm.id, Alarm.state == "active",
                   Alarm.escalated_steps == first)
            .values(escalated_steps=done, escalation=taken,
                    next_escalation_at=_next_escalation(alarm.raised_at, steps, done))
            .execution_options(synchronize_session=False)
        ))
        session.expire(alarm, ["escalated_steps", "escalation", "next_escalation_at"])
        if claimed.rowcount != 1:
            log.info("alarm %d: escalation step %d already taken or acknowledged", alarm.id,
                     first)
            return []
        changes = []
        for index in range(first, done):
            step = steps[index]
            self._notify_escalation(session, alarm, step, now)
            draft = _draft_from(step.get("help_request"))
            post = None
            if draft is not None:
                post = self._help_request(session, alarm, draft, at=now, now=now,
                                          quiet_hours=alarm.severity != "critical")
            changes.append(_change("escalated", alarm, now, post.id if post else None,
                                   notify_managers=step.get("notify") == "managers",
                                   step=index))
        session.flush()
        return changes

    def _notify_escalation(self, session: Session, alarm: Alarm, step: Mapping[str, Any],
                           now: datetime) -> None:
        """The step's audience; with nobody on call, the managers (someone must know)."""
        if alarm.building_id is None:
            return
        audience: set[int] = set()
        if step.get("notify") == "on_call":
            audience = on_call_of_building(session, alarm.building_id, now=now)
            if not audience:
                log.warning("alarm %d: nobody is on call for %s; escalating to its managers",
                            alarm.id, alarm.building_id)
        if not audience:
            audience = managers_of_building(session, alarm.building_id, now=now)
        waited = (now - alarm.raised_at).total_seconds()
        title = {
            lang: ESCALATION_TITLE.get(lang, ESCALATION_TITLE["en"]).format(
                duration=format_duration(waited, lang), title=text)
            for lang, text in alarm.title.items()
        }
        notify(session, audience, "escalation", content_from(title), now=now,
               alarm_id=alarm.id)


# -- module-level shorthands and queries ------------------------------------------------


def apply_alarm_actions(
    session: Session, actions: Sequence[RaiseAlarm | ClearAlarm], *, now: datetime | None = None
) -> list[AlarmChange]:
    """Shorthand for ``AlarmBook().apply(session, actions)``."""
    return AlarmBook().apply(session, actions, now=now)


def acknowledge(
    session: Session, alarm_id: int, member: Member, note: str, *, now: datetime | None = None
) -> Alarm:
    """Shorthand for ``AlarmBook().acknowledge(...)``."""
    return AlarmBook().acknowledge(session, alarm_id, member, note, now=now)


def escalate_due(session: Session, now: datetime) -> list[AlarmChange]:
    """Shorthand for ``AlarmBook().escalate_due(session, now)``."""
    return AlarmBook().escalate_due(session, now)


def open_alarm_keys(session: Session) -> set[tuple[str, str]]:
    """``(rule_id, device_id)`` of every open alarm (active or acknowledged), for the
    rules engine to resume from."""
    rows = session.execute(
        select(Alarm.rule_id, Alarm.device_id).where(Alarm.state.in_(OPEN_ALARM_STATES))
    )
    return {(rule_id, device_id) for rule_id, device_id in rows}


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """An alarm as the managers' board shows it."""

    alarm: Alarm
    place: Place
    acknowledged_by_name: str | None


def manager_alarms(
    session: Session,
    member_id: int,
    *,
    state: AlarmStateFilter = "open",
    limit: int = 200,
    now: datetime | None = None,
) -> list[AlarmRow]:
    """The alarms of the buildings ``member_id`` manages, newest first.

    ``open`` is active and acknowledged ones: the board's default, since an acknowledged
    alarm is still a problem until it clears.
    """
    acker = aliased(Member)
    stmt = manageable(
        select(Alarm, Place, acker.display_name)
        .join(Place, Place.id == Alarm.place_id)
        .outerjoin(acker, acker.id == Alarm.acknowledged_by),
        Alarm.building_id, member_id, now=now,
    )
    if state == "open":
        stmt = stmt.where(Alarm.state.in_(OPEN_ALARM_STATES))
    elif state != "all":
        stmt = stmt.where(Alarm.state == state)
    stmt = stmt.order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit)
    return [AlarmRow(alarm, place, name) for alarm, place, name in session.execute(stmt)]


def manager_alarm(
    session: Session, alarm_id: int, member_id: int, *, now: datetime | None = None
) -> AlarmRow:
    """One alarm of a building ``member_id`` manages; :class:`AlarmNotFound` otherwise."""
    acker = aliased(Member)
    stmt = manageable(
        select(Alarm, Place, acker.display_name)
        .join(Place, Place.id == Alarm.place_id)
        .outerjoin(acker, acker.id == Alarm.acknowledged_by)
        .where(Alarm.id == alarm_id),
        Alarm.building_id, member_id, now=now,
    )
    row = session.execute(stmt).first()
    if row is None:
        raise AlarmNotFound(alarm_id)
    alarm, place, name = row
    return AlarmRow(alarm, place, name)


def localized_title(alarm: Alarm, lang: str) -> str:
    return str(localize(alarm.title, lang) or "")
