"""Alarms and alert posts from rule actions: idempotent, resolvable, race-proof."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from rules.actions import ClearAlarm, PostDraft, RaiseAlarm
from social.alarms import AlarmBook, AlarmChange, open_alarm_keys
from social.db import Database
from social.errors import UnknownPlace
from social.models import Alarm, Post
from social.places import sync_places
from social.site import PlaceNode
from tests.social.helpers import wait_until_blocked

T0 = datetime(2026, 3, 14, 10, 42, tzinfo=UTC).timestamp()


@pytest.fixture
def db(database: Database, site: list[PlaceNode]) -> Database:
    with database.session() as session:
        sync_places(session, site)
        session.commit()
    return database


def leak(at: float = T0, device: str = "leak-lilas-b-cave") -> RaiseAlarm:
    return RaiseAlarm(
        rule_id="water-leak", device_id=device, place_id="lilas/b/basement",
        building_id="lilas", severity="critical",
        title={"fr": "Fuite d'eau", "en": "Water leak"}, at=at,
        post=PostDraft(place_id="lilas", kind="alert",
                       title={"fr": "Fuite d'eau — sous-sol B", "en": "Water leak — basement B"},
                       body={"fr": "Les gardiens sont prévenus.", "en": "Caretakers know."}),
    )


def dry(at: float, device: str = "leak-lilas-b-cave") -> ClearAlarm:
    return ClearAlarm(rule_id="water-leak", device_id=device, at=at)


def apply(db: Database, *actions: RaiseAlarm | ClearAlarm) -> list[AlarmChange]:
    with db.session() as session:
        changes = AlarmBook().apply(session, actions)
        session.commit()
    return changes


def count(db: Database, model: type[Alarm] | type[Post]) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_raise_opens_an_alarm_and_its_alert_post(db: Database) -> None:
    [change] = apply(db, leak())

    with db.session() as session:
        alarm = session.get_one(Alarm, change.alarm_id)
        post = session.get_one(Post, change.post_id)
    assert (change.change, change.episode, change.notify_managers) == ("raised", 1, True)
    assert (alarm.state, alarm.open_key, alarm.episode) == (
        "active", "water-leak|leak-lilas-b-cave", 1
    )
    assert alarm.raised_at == datetime.fromtimestamp(T0, UTC)
    assert (post.kind, post.status, post.author_id, post.alarm_id) == (
        "alert", "active", None, alarm.id
    )
    assert post.content == {
        "en": {"title": "Water leak — basement B", "body": "Caretakers know."},
        "fr": {"title": "Fuite d'eau — sous-sol B", "body": "Les gardiens sont prévenus."},
    }


def test_raise_twice_gives_one_alarm_and_one_post(db: Database) -> None:
    first = apply(db, leak())
    again = apply(db, leak(T0 + 5))
    in_one_batch = apply(db, leak(T0 + 6), leak(T0 + 7))

    assert len(first) == 1 and again == [] and in_one_batch == []
    assert count(db, Alarm) == 1
    assert count(db, Post) == 1


def test_clear_resolves_the_post_with_its_duration(db: Database) -> None:
    [raised] = apply(db, leak())
    [cleared] = apply(db, dry(T0 + 180))

    with db.session() as session:
        alarm = session.get_one(Alarm, raised.alarm_id)
        post = session.get_one(Post, raised.post_id)
    assert cleared.change == "cleared" and cleared.post_id == post.id
    assert (alarm.state, alarm.open_key) == ("cleared", None)
    assert alarm.cleared_at == datetime.fromtimestamp(T0 + 180, UTC)
    assert post.status == "resolved"
    assert post.resolved_at == alarm.cleared_at
    assert post.content["fr"]["body"] == "Les gardiens sont prévenus.\n\nRésolu après 3 min"
    assert post.content["en"]["body"] == "Caretakers know.\n\nResolved after 3 min"


def test_clear_with_nothing_open_is_a_no_op(db: Database) -> None:
    assert apply(db, dry(T0)) == []
    apply(db, leak(), dry(T0 + 60))
    assert apply(db, dry(T0 + 120)) == []

    with db.session() as session:
        post = session.scalars(select(Post)).one()
    assert post.content["fr"]["body"].count("Résolu") == 1


def test_raise_after_clear_opens_episode_two(db: Database) -> None:
    apply(db, leak(), dry(T0 + 180))
    [second] = apply(db, leak(T0 + 3600))

    assert second.episode == 2
    assert count(db, Alarm) == 2
    assert count(db, Post) == 2
    with db.session() as session:
        assert open_alarm_keys(session) == {("water-leak", "leak-lilas-b-cave")}


def test_open_alarm_keys_lists_only_active_alarms(db: Database) -> None:
    apply(db, leak(device="a"), leak(device="b"), dry(T0 + 1, device="a"))

    with db.session() as session:
        assert open_alarm_keys(session) == {("water-leak", "b")}


def test_an_alarm_without_post_draft_posts_nothing(db: Database) -> None:
    quiet = RaiseAlarm(rule_id="offline", device_id="lift-b", place_id="lilas/b",
                       building_id="lilas", severity="minor", title={"fr": "Hors ligne"},
                       at=T0)
    [change] = apply(db, quiet)
    [cleared] = apply(db, ClearAlarm(rule_id="offline", device_id="lift-b", at=T0 + 10))

    assert change.post_id is None and cleared.post_id is None
    assert count(db, Post) == 0


def test_unknown_place_is_refused_with_context(db: Database) -> None:
    bad = RaiseAlarm(rule_id="water-leak", device_id="x", place_id="nowhere",
                     building_id=None, severity="critical", title={"fr": "?"}, at=T0)
    with db.session() as session, pytest.raises(UnknownPlace) as error:
        AlarmBook().apply(session, [bad])
    assert str(error.value) == (
        "unknown place 'nowhere' (alarm water-leak on x): it is not in the site"
    )


def test_concurrent_raises_open_one_alarm(db: Database) -> None:
    """Two workers raise at once: the loser's SAVEPOINT is rolled back, its batch goes on."""
    other = leak(device="leak-lilas-a-cave")
    result: dict[str, list[AlarmChange]] = {}
    errors: list[BaseException] = []

    def second_worker() -> None:
        try:
            with db.session() as session:
                result["changes"] = AlarmBook().apply(session, [leak(T0 + 1), other])
                session.commit()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    with db.session() as first:
        assert len(AlarmBook().apply(first, [leak()])) == 1
        worker = threading.Thread(target=second_worker)
        worker.start()
        wait_until_blocked(db, worker)
        first.commit()
    worker.join(10)

    assert errors == []
    assert [c.device_id for c in result["changes"]] == ["leak-lilas-a-cave"]
    with db.session() as session:
        rows = session.execute(select(Alarm.device_id, Alarm.episode).order_by(Alarm.id)).all()
    assert [tuple(r) for r in rows] == [("leak-lilas-b-cave", 1), ("leak-lilas-a-cave", 1)]
    assert count(db, Post) == 2
