"""The alarm lifecycle: who is told what and when, acknowledgement, escalation, clearing,
the outbox rows and rule states — each written once, in the caller's transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rules.actions import (
    ClearAlarm,
    CommandDraft,
    EscalationStep,
    Evidence,
    NoticeDraft,
    PostDraft,
    RaiseAlarm,
    StateChange,
    WebhookDraft,
)
from social.alarms import AlarmBook, AlarmChange, acknowledge, escalate_due, open_alarm_keys
from social.db import Database
from social.errors import AlarmConflict, AlarmNotFound, UnknownPlace
from social.models import Alarm, Member, Membership, Notification, OutboxEntry, Post, RuleState
from social.rule_states import load_rule_states, save_rule_states
from tests.social.helpers import wait_until_blocked

if TYPE_CHECKING:
    from tests.social.conftest import World

PARIS = "Europe/Paris"
#: Saturday 14 March 2026, 11:42 in Paris (UTC+1): daytime, outside quiet hours.
T0 = datetime(2026, 3, 14, 10, 42, tzinfo=UTC)
#: The same day at 23:30 in Paris: inside the default quiet hours (22:00-07:00).
NIGHT = datetime(2026, 3, 14, 22, 30, tzinfo=UTC)
#: When those quiet hours end: Sunday 07:00 in Paris.
MORNING = datetime(2026, 3, 15, 6, 0, tzinfo=UTC)


@dataclass
class People:
    """The world's members, and a few more around flat lilas/b/3/32."""

    world: World
    landlord: int  # landlord of flat 32: manages the building, does not live in the flat
    moved_out: int  # a tenant of flat 32 whose membership ended
    upstairs: int  # a resident of lilas/b/4/41: a neighbour for help requests
    on_call: int  # the plumber on call for Les Lilas
    tilleuls_manager: int


@pytest.fixture
def people(database: Database, world: World, make_member: Callable[..., int]) -> People:
    with database.session() as session:
        found = People(
            world=world,
            landlord=make_member(session, "proprio", ("lilas/b/3/32", "landlord")),
            moved_out=make_member(session, "ancien", ("lilas/b/3/32", "tenant"), ended=True),
            upstairs=make_member(session, "voisin", ("lilas/b/4/41", "resident")),
            on_call=make_member(session, "plombier", ("lilas", "installer")),
            tilleuls_manager=make_member(session, "syndic2", ("tilleuls", "syndic")),
        )
        session.execute(update(Membership).where(Membership.member_id == found.on_call)
                        .values(on_call=True))
        move_memberships_before(session, T0)
        session.commit()
    return found


def move_memberships_before(session: Session, at: datetime) -> None:
    """Memberships are checked at the time of the alarm: make them current (or ended) then."""
    session.execute(update(Membership).values(started_at=at - timedelta(days=365)))
    session.execute(update(Membership).where(Membership.ended_at.is_not(None))
                    .values(ended_at=at - timedelta(days=1)))


def lift_down(at: datetime = T0, **changes: object) -> RaiseAlarm:
    """Lift B out of order: an alert post for the building, acknowledge and clear texts."""
    fields: dict[str, object] = dict(
        rule_id="lift-b", device_id="lift-lilas-b", place_id="lilas/b", building_id="lilas",
        severity="major", title={"fr": "Ascenseur B en panne", "en": "Lift B out of order"},
        at=at.timestamp(),
        post=PostDraft(place_id="lilas", kind="alert",
                       title={"fr": "Ascenseur B en panne", "en": "Lift B out of order"},
                       body={"fr": "Depuis 11 h 42.", "en": "Since 11:42."}),
        acknowledge_text={"fr": "Pris en charge : {{ note }} ({{ by }})",
                          "en": "Taken care of: {{ note }} ({{ by }})"},
        evidence=(Evidence("lift-lilas-b", "status = fault", at.timestamp(),
                           "status is fault"),),
    )
    fields.update(changes)
    return RaiseAlarm(**fields)  # type: ignore[arg-type]


def parcel(at: datetime = T0, severity: str = "info", rule: str = "parcel") -> RaiseAlarm:
    """A parcel waits at the desk for flat lilas/b/3/32: a private notice, no post."""
    return RaiseAlarm(
        rule_id=rule, device_id="intercom-lilas-b", place_id="lilas/b", building_id="lilas",
        severity=severity, title={"fr": "Colis", "en": "Parcel"}, at=at.timestamp(),
        notify_managers=False,
        notice=NoticeDraft(unit_id="lilas/b/3/32", title={"fr": "Un colis vous attend",
                                                           "en": "A parcel is waiting"}),
        quiet_hours_apply=severity != "critical",
    )


def apply(db: Database, *actions: RaiseAlarm | ClearAlarm,
          now: datetime = T0) -> list[AlarmChange]:
    with db.session() as session:
        changes = AlarmBook().apply(session, actions, now=now)
        session.commit()
    return changes


def notified(db: Database, kind: str) -> dict[int, list[Notification]]:
    with db.session() as session:
        rows = session.scalars(select(Notification).where(Notification.kind == kind)
                               .order_by(Notification.id)).all()
    grouped: dict[int, list[Notification]] = {}
    for row in rows:
        grouped.setdefault(row.member_id, []).append(row)
    return grouped


def count(db: Database, model: type[object]) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def member(db: Database, member_id: int) -> Member:
    with db.session() as session:
        return session.get_one(Member, member_id)


def alert_post(db: Database, alarm_id: int) -> Post:
    with db.session() as session:
        return session.scalars(select(Post).where(Post.alarm_id == alarm_id,
                                                  Post.kind == "alert")).one()


# -- who is told ------------------------------------------------------------------------


def test_a_private_notice_reaches_only_the_residents_of_its_unit(
    database: Database, people: People
) -> None:
    apply(database, parcel())

    notices = notified(database, "notice")
    assert set(notices) == {people.world.english_resident}
    [notice] = notices[people.world.english_resident]
    assert notice.content == {"en": {"title": "A parcel is waiting", "body": ""},
                              "fr": {"title": "Un colis vous attend", "body": ""}}
    assert notice.deliver_after == T0
    with database.session() as session:  # nobody else heard of it, not even as an alarm
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
    assert count(database, Post) == 0


def test_managers_and_the_on_call_contact_are_told_once_each(
    database: Database, people: People
) -> None:
    with database.session() as session:  # the syndic is on call as well: still one notification
        session.execute(update(Membership).where(Membership.member_id == people.world.manager)
                        .values(on_call=True))
        session.commit()

    apply(database, lift_down(notify_on_call=True))

    alarms = notified(database, "alarm")
    assert set(alarms) == {people.world.manager, people.landlord, people.on_call}
    assert all(len(rows) == 1 for rows in alarms.values())
    first = alarms[people.world.manager][0]
    assert first.content["fr"] == {"title": "Ascenseur B en panne", "body": "Depuis 11 h 42."}


def test_on_call_is_only_paged_when_the_rule_says_so(database: Database, people: People) -> None:
    apply(database, lift_down())

    assert set(notified(database, "alarm")) == {people.world.manager, people.landlord}


def test_a_help_request_is_posted_and_its_neighbours_told(
    database: Database, people: People
) -> None:
    help_request = PostDraft(place_id="lilas/b", kind="help_request",
                             title={"fr": "Qui peut aider pour les courses ?"})
    [raised] = apply(database, lift_down(help_request=help_request))

    with database.session() as session:
        posts = session.scalars(select(Post).where(Post.alarm_id == raised.alarm_id)
                                .order_by(Post.id)).all()
    assert [(p.kind, p.place_id) for p in posts] == [("alert", "lilas"),
                                                     ("help_request", "lilas/b")]
    assert raised.post_id == posts[0].id
    assert set(notified(database, "help_request")) == {
        people.world.resident, people.world.english_resident, people.upstairs,
    }


def test_nothing_happens_twice_when_the_alarm_is_already_open(
    database: Database, people: People
) -> None:
    full = lift_down(
        notify_on_call=True,
        notice=NoticeDraft(unit_id="lilas/b/3/31", title={"fr": "Votre ascenseur"}),
        help_request=PostDraft(place_id="lilas/b", kind="help_request", title={"fr": "Aide"}),
        webhooks=(WebhookDraft("http://127.0.0.1:9/hook", body='{"lift": "B"}'),),
        commands=(CommandDraft("siren-lilas-b", "alarm", True),),
    )

    first = apply(database, full)
    before = (count(database, Post), count(database, Notification), count(database, OutboxEntry))
    again = apply(database, full, full, now=T0 + timedelta(minutes=1))

    assert len(first) == 1 and again == []
    assert before == (2, 7, 2)
    assert (count(database, Alarm), count(database, Post), count(database, Notification),
            count(database, OutboxEntry)) == (1, *before)


def test_webhooks_and_commands_become_outbox_rows(database: Database, people: People) -> None:
    hooks = (WebhookDraft("https://example.org/a", body='{"x": 1}', timeout=2.5, retries=1),
             WebhookDraft("https://example.org/b", method="PUT"))
    [raised] = apply(database, lift_down(
        webhooks=hooks, commands=(CommandDraft("siren-lilas-b", "alarm", True),)))

    with database.session() as session:
        rows = session.scalars(select(OutboxEntry).order_by(OutboxEntry.kind,
                                                            OutboxEntry.position)).all()
    assert [(r.alarm_id, r.kind, r.position, r.status, r.attempts) for r in rows] == [
        (raised.alarm_id, "command", 0, "pending", 0),
        (raised.alarm_id, "webhook", 0, "pending", 0),
        (raised.alarm_id, "webhook", 1, "pending", 0),
    ]
    assert rows[0].payload == {"device_id": "siren-lilas-b", "point": "alarm", "value": True}
    assert rows[1].payload == {"url": "https://example.org/a", "method": "POST",
                               "body": '{"x": 1}', "timeout": 2.5, "retries": 1}
    assert all(r.next_attempt_at == T0 for r in rows)


def test_an_unknown_notice_unit_is_refused_before_anything_is_written(
    database: Database, people: People
) -> None:
    bad = lift_down(notice=NoticeDraft(unit_id="lilas/b/9/99", title={"fr": "?"}))
    with database.session() as session, pytest.raises(UnknownPlace, match="lilas/b/9/99"):
        AlarmBook().apply(session, [bad])
    assert count(database, Alarm) == 0


# -- quiet hours ------------------------------------------------------------------------


def test_quiet_hours_defer_a_resident_notice_but_not_a_critical_one(
    database: Database, people: People
) -> None:
    apply(database, parcel(NIGHT), parcel(NIGHT, severity="critical", rule="gas"), now=NIGHT)

    [deferred, at_once] = notified(database, "notice")[people.world.english_resident]
    assert deferred.deliver_after == MORNING
    assert deferred.created_at == NIGHT
    assert at_once.deliver_after == NIGHT


def test_quiet_hours_never_delay_managers(database: Database, people: People) -> None:
    apply(database, lift_down(NIGHT), now=NIGHT)

    rows = [row for rows in notified(database, "alarm").values() for row in rows]
    assert rows and all(row.deliver_after == NIGHT for row in rows)


def test_a_member_without_quiet_hours_is_told_at_once(database: Database, people: People) -> None:
    with database.session() as session:
        session.execute(update(Member).where(Member.id == people.world.english_resident)
                        .values(quiet_start="00:00", quiet_end="00:00"))
        session.commit()

    apply(database, parcel(NIGHT), now=NIGHT)

    [notice] = notified(database, "notice")[people.world.english_resident]
    assert notice.deliver_after == NIGHT


# -- acknowledging ----------------------------------------------------------------------


def test_acknowledging_updates_the_alert_post_in_place(database: Database, people: People) -> None:
    [raised] = apply(database, lift_down())
    later = T0 + timedelta(minutes=7)

    with database.session() as session:
        syndic = session.get_one(Member, people.world.manager)
        alarm = acknowledge(session, raised.alarm_id, syndic, "un technicien arrive {{ 7*7 }}",
                            now=later)
        session.commit()

    assert (alarm.state, alarm.acknowledged_by, alarm.acknowledged_at, alarm.ack_note) == (
        "acknowledged", people.world.manager, later, "un technicien arrive {{ 7*7 }}")
    assert count(database, Post) == 1
    post = alert_post(database, raised.alarm_id)
    # The note is a value, never a template: "{{ 7*7 }}" stays as typed.
    assert post.content["fr"]["body"] == (
        "Depuis 11 h 42.\n\nPris en charge : un technicien arrive {{ 7*7 }} (Syndic)")
    assert post.content["en"]["body"] == (
        "Since 11:42.\n\nTaken care of: un technicien arrive {{ 7*7 }} (Syndic)")
    assert post.updated_at == later and post.status == "active"
    with database.session() as session:
        assert open_alarm_keys(session) == {("lift-b", "lift-lilas-b")}


def test_acknowledging_twice_is_a_conflict(database: Database, people: People) -> None:
    [raised] = apply(database, lift_down())
    with database.session() as session:
        syndic = session.get_one(Member, people.world.manager)
        acknowledge(session, raised.alarm_id, syndic, "en route", now=T0)
        session.commit()

    with database.session() as session, pytest.raises(AlarmConflict) as error:
        acknowledge(session, raised.alarm_id, session.get_one(Member, people.landlord), "moi")
    assert str(error.value) == (
        f"alarm {raised.alarm_id} is already acknowledged by Syndic at 2026-03-14T10:42:00+00:00")
    post = alert_post(database, raised.alarm_id)
    assert post.content["fr"]["body"].count("Pris en charge") == 1


@pytest.mark.parametrize("who", ["resident", "tilleuls_manager", "on_call"])
def test_only_managers_of_its_building_may_acknowledge(
    database: Database, people: People, who: str
) -> None:
    [raised] = apply(database, lift_down())
    member_id = getattr(people.world, who, None) or getattr(people, who)

    with database.session() as session, pytest.raises(AlarmNotFound) as error:
        acknowledge(session, raised.alarm_id, session.get_one(Member, member_id), "?")
    assert str(error.value) == (
        f"no alarm {raised.alarm_id} among the alarms of the buildings you manage")


def test_a_broken_acknowledge_text_falls_back_to_the_default_line(
    database: Database, people: People
) -> None:
    [raised] = apply(database, lift_down(acknowledge_text={"fr": "{{ nope.deeper }}"}))
    with database.session() as session:
        acknowledge(session, raised.alarm_id, session.get_one(Member, people.world.manager),
                    "en route", now=T0)
        session.commit()

    post = alert_post(database, raised.alarm_id)
    assert post.content["fr"]["body"].endswith("\n\nPris en charge par Syndic : en route")
    assert post.content["en"]["body"].endswith("\n\nAcknowledged by Syndic: en route")


# -- clearing ---------------------------------------------------------------------------


def test_clear_after_acknowledge_resolves_the_post_with_its_duration(
    database: Database, people: People
) -> None:
    help_request = PostDraft(place_id="lilas/b", kind="help_request", title={"fr": "Aide"})
    [raised] = apply(database, lift_down(help_request=help_request))
    with database.session() as session:
        acknowledge(session, raised.alarm_id, session.get_one(Member, people.world.manager),
                    "réparateur appelé", now=T0 + timedelta(minutes=5))
        session.commit()
    end = T0 + timedelta(hours=3, minutes=23)

    [cleared] = apply(database, ClearAlarm("lift-b", "lift-lilas-b", end.timestamp()))

    assert cleared.change == "cleared" and cleared.post_id == raised.post_id
    post = alert_post(database, raised.alarm_id)
    assert post.content["fr"]["body"] == (
        "Depuis 11 h 42.\n\nPris en charge : réparateur appelé (Syndic)"
        "\n\nRésolu après 3 h 23 min")
    assert post.content["en"]["body"].endswith("\n\nResolved after 3 h 23 min")
    assert (post.status, post.resolved_at) == ("resolved", end)
    with database.session() as session:
        alarm = session.get_one(Alarm, raised.alarm_id)
        statuses = session.scalars(select(Post.status).where(Post.alarm_id == alarm.id)).all()
        assert open_alarm_keys(session) == set()
    assert (alarm.state, alarm.open_key, alarm.cleared_at) == ("cleared", None, end)
    assert alarm.acknowledged_by == people.world.manager  # the history stays
    assert statuses == ["resolved", "resolved"]  # the help request is closed too
    assert count(database, Post) == 2


def test_clear_uses_the_rules_text_with_the_duration(database: Database, people: People) -> None:
    clear_text = {"fr": "Ascenseur B remis en service après {{ duration }}",
                  "en": "Lift B back in service after {{ duration }}"}
    [raised] = apply(database, lift_down(clear_text=clear_text))

    apply(database, ClearAlarm("lift-b", "lift-lilas-b",
                               (T0 + timedelta(hours=3, minutes=23)).timestamp()))

    post = alert_post(database, raised.alarm_id)
    assert post.content["fr"]["body"] == (
        "Depuis 11 h 42.\n\nAscenseur B remis en service après 3 h 23 min")
    assert post.content["en"]["body"] == "Since 11:42.\n\nLift B back in service after 3 h 23 min"


# -- escalating -------------------------------------------------------------------------


def escalating(**changes: object) -> RaiseAlarm:
    steps = (
        EscalationStep(after=3600, notify="managers",
                       help_request=PostDraft(place_id="lilas/b", kind="help_request",
                                              title={"fr": "Courses pour les étages ?"})),
        EscalationStep(after=1800, notify="on_call"),  # listed out of order on purpose
    )
    return lift_down(escalation=steps, **changes)


def escalate(db: Database, at: datetime) -> list[AlarmChange]:
    with db.session() as session:
        changes = escalate_due(session, at)
        session.commit()
    return changes


def test_escalation_happens_after_n_minutes_exactly_once(
    database: Database, people: People
) -> None:
    [raised] = apply(database, escalating())
    minutes = lambda n: T0 + timedelta(minutes=n)  # noqa: E731

    assert escalate(database, minutes(30) - timedelta(seconds=1)) == []
    [first] = escalate(database, minutes(30))
    assert escalate(database, minutes(30)) == []
    assert escalate(database, minutes(59)) == []
    [second] = escalate(database, minutes(60))
    assert escalate(database, minutes(600)) == []

    assert (first.change, first.step, first.post_id) == ("escalated", 0, None)
    assert (second.step, second.notify_managers) == (1, True)
    escalations = notified(database, "escalation")
    assert {m: len(rows) for m, rows in escalations.items()} == {
        people.on_call: 1, people.world.manager: 1, people.landlord: 1,
    }
    assert escalations[people.on_call][0].content["fr"]["title"] == (
        "Non acquittée depuis 30 min : Ascenseur B en panne")
    with database.session() as session:
        alarm = session.get_one(Alarm, raised.alarm_id)
        help_posts = session.scalars(select(Post).where(Post.kind == "help_request")).all()
    assert (alarm.escalated_steps, alarm.next_escalation_at) == (2, None)
    assert [step["escalated_at"] for step in alarm.escalation] == [
        minutes(30).isoformat(), minutes(60).isoformat()]
    assert [(p.id, p.place_id, p.created_at) for p in help_posts] == [
        (second.post_id, "lilas/b", minutes(60))]


def test_an_acknowledged_alarm_does_not_escalate(database: Database, people: People) -> None:
    [raised] = apply(database, escalating())
    with database.session() as session:
        acknowledge(session, raised.alarm_id, session.get_one(Member, people.world.manager),
                    "vu", now=T0 + timedelta(minutes=10))
        session.commit()

    assert escalate(database, T0 + timedelta(hours=5)) == []
    assert notified(database, "escalation") == {}


def test_overdue_steps_are_taken_together_after_a_pause(
    database: Database, people: People
) -> None:
    apply(database, escalating())

    changes = escalate(database, T0 + timedelta(hours=2))

    assert [c.step for c in changes] == [0, 1]
    assert escalate(database, T0 + timedelta(hours=3)) == []


def test_escalation_to_on_call_falls_back_to_managers_when_nobody_is_on_call(
    database: Database, people: People
) -> None:
    with database.session() as session:
        session.execute(update(Membership).values(on_call=False))
        session.commit()
    apply(database, escalating())

    escalate(database, T0 + timedelta(minutes=30))

    assert set(notified(database, "escalation")) == {people.world.manager, people.landlord}


def test_concurrent_escalations_take_each_step_once(database: Database, people: People) -> None:
    """Two workers find the same step due; the second's conditional UPDATE matches nothing."""
    apply(database, escalating())
    due = T0 + timedelta(minutes=30)
    result: dict[str, list[AlarmChange]] = {}
    errors: list[BaseException] = []

    def second_worker() -> None:
        try:
            with database.session() as session:
                result["second"] = escalate_due(session, due)
                session.commit()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    with database.session() as first:
        result["first"] = escalate_due(first, due)
        worker = threading.Thread(target=second_worker)
        worker.start()
        wait_until_blocked(database, worker)
        first.commit()
    worker.join(10)

    assert not worker.is_alive() and errors == []
    assert [c.step for c in result["first"]] == [0]
    assert result["second"] == []
    assert {m: len(rows) for m, rows in notified(database, "escalation").items()} == {
        people.on_call: 1}
    with database.session() as session:
        assert session.scalars(select(Alarm.escalated_steps)).one() == 1


# -- rule states and the store ----------------------------------------------------------


def test_rule_states_roundtrip(database: Database) -> None:
    pending = {"active": False, "pending_since": T0.timestamp(), "devices": {"a": [1, 2.5]}}
    with database.session() as session:
        save_rule_states(session, [
            StateChange("lift-b", "lift-lilas-b", pending),
            StateChange("leak", "place:lilas/b", {"active": True}),
            StateChange("leak", "place:lilas/b", {"active": True, "episode": 2}),  # last wins
            StateChange("gone", "x", None),  # deleting what is not there is fine
        ], now=T0)
        session.commit()
    with database.session() as session:
        assert load_rule_states(session) == {
            ("lift-b", "lift-lilas-b"): pending,
            ("leak", "place:lilas/b"): {"active": True, "episode": 2},
        }
        save_rule_states(session, [StateChange("lift-b", "lift-lilas-b", None),
                                   StateChange("leak", "place:lilas/b", {"active": False})])
        session.commit()
    with database.session() as session:
        assert load_rule_states(session) == {("leak", "place:lilas/b"): {"active": False}}
        assert session.scalar(select(func.count()).select_from(RuleState)) == 1


def test_the_store_commits_actions_and_states_together_or_not_at_all(
    database: Database, people: People
) -> None:
    from gateway.store import AlarmStore

    store = AlarmStore(database, clock=lambda: NIGHT.timestamp())
    state = [StateChange("parcel", "intercom-lilas-b", {"active": True})]
    bad = lift_down(place_id="nowhere")

    with pytest.raises(UnknownPlace):
        store.apply([parcel(), bad], state)
    assert store.load_rule_states() == {}
    assert count(database, Alarm) == 0

    [change] = store.apply([parcel()], state)
    assert store.load_rule_states() == {("parcel", "intercom-lilas-b"): {"active": True}}
    assert store.open_alarm_keys() == {("parcel", "intercom-lilas-b")}
    [notice] = notified(database, "notice")[people.world.english_resident]
    assert (notice.created_at, notice.deliver_after) == (NIGHT, MORNING)  # the store's clock
    assert change.change == "raised"
