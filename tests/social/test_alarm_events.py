"""The managers' live alarm board: escalations and residents' "still happening" presses reach
the streams of the building's managers, and nobody else's (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rules.actions import EscalationStep, PostDraft, RaiseAlarm
from social.alarms import AlarmBook, AlarmChange, escalate_due
from social.db import Database
from social.events import Audience, Event, EventHub, install_event_hub
from social.interactions import react, unreact
from social.models import Member, utcnow
from social.stream import CLIENT_EVENTS, load_viewer
from tests.social.conftest import World

pytestmark = pytest.mark.timeout(60)


def published(hub: EventHub, since: str) -> list[Event]:
    envelopes = hub.since(since)
    assert envelopes is not None
    return [envelope.event for envelope in envelopes]


def raise_lift_down(database: Database, *, post_place: str = "lilas/b",
                    escalation: tuple[EscalationStep, ...] = ()) -> AlarmChange:
    at = utcnow() - timedelta(minutes=10)
    with database.session() as session:
        [change] = AlarmBook().apply(session, [RaiseAlarm(
            rule_id="lift-down", device_id="lift-b", place_id="lilas/b", building_id="lilas",
            severity="major", title={"fr": "Ascenseur B en panne", "en": "Lift B out of order"},
            at=at.timestamp(), escalation=escalation,
            post=PostDraft(post_place, "alert", {"fr": "Ascenseur B en panne"}),
        )], now=at)
        session.commit()
    return change


def who_receives(database: Database, world: World, event: Event) -> set[str]:
    names = {world.manager: "syndic", world.resident: "alice", world.other_resident: "tom",
             world.merchant: "boulanger"}
    with database.session() as session:
        viewers = {name: load_viewer(session, member_id) for member_id, name in names.items()}
    return {name for name, viewer in viewers.items() if viewer is not None and viewer.sees(event)}


def test_an_escalation_reaches_the_buildings_managers_live(
    database: Database, world: World
) -> None:
    hub = install_event_hub(database)
    change = raise_lift_down(database, escalation=(EscalationStep(after=60, notify="managers"),
                                                  EscalationStep(after=3600)))

    mark = hub.last_id
    with database.session() as session:
        escalate_due(session, utcnow())
        session.commit()
    [escalated] = [e for e in published(hub, mark) if e.type.startswith("alarm.")]

    assert escalated.type == "alarm.escalated" and escalated.type in CLIENT_EVENTS
    assert escalated.audience == Audience.managers("lilas")
    alarm = escalated.data["alarm"]
    assert (alarm["id"], alarm["state"], alarm["escalated_steps"]) == (change.alarm_id,
                                                                        "active", 1)
    assert who_receives(database, world, escalated) == {"syndic"}

    mark = hub.last_id
    with database.session() as session:  # nothing more is due: nothing is announced
        escalate_due(session, utcnow())
        session.commit()
    assert [e for e in published(hub, mark) if e.type.startswith("alarm.")] == []


def test_still_happening_presses_reach_the_managers_even_on_a_post_they_cannot_read(
    database: Database, world: World
) -> None:
    hub = install_event_hub(database)
    change = raise_lift_down(database)  # the alert is scoped to entrance B: residents' circle
    assert change.post_id is not None

    mark = hub.last_id
    with database.session() as session:
        alice = session.get(Member, world.resident)
        emma = session.get(Member, world.english_resident)
        assert alice is not None and emma is not None
        react(session, alice, change.post_id, "still_happening")
        react(session, emma, change.post_id, "still_happening")
        session.commit()
    [pressed] = [e for e in published(hub, mark) if e.type.startswith("alarm.")]

    assert pressed.type == "alarm.still_happening" and pressed.type in CLIENT_EVENTS
    alarm = pressed.data["alarm"]
    assert (alarm["id"], alarm["still_happening"]) == (change.alarm_id, 2)
    assert alarm["still_happening_last_at"] is not None
    assert who_receives(database, world, pressed) == {"syndic"}

    mark = hub.last_id
    with database.session() as session:  # another kind of reaction changes no count
        alice = session.get(Member, world.resident)
        assert alice is not None
        react(session, alice, change.post_id, "thanks")
        session.commit()
    assert [e.type for e in published(hub, mark)] == ["reaction.changed"]

    mark = hub.last_id
    with database.session() as session:
        alice = session.get(Member, world.resident)
        assert alice is not None
        unreact(session, alice, change.post_id, "still_happening")
        session.commit()
    [withdrawn] = [e for e in published(hub, mark) if e.type.startswith("alarm.")]
    assert (withdrawn.type, withdrawn.data["alarm"]["still_happening"]) == (
        "alarm.still_happening", 1)
