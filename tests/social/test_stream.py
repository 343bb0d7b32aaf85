"""The event hub, change capture on real databases, who receives what, and unread counts.

The HTTP stream itself is exercised end to end in ``tests/integration/test_stream_live.py``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import delete, select, update

from rules.actions import ClearAlarm, PostDraft, RaiseAlarm
from social.alarms import AlarmBook
from social.community_models import (
    Block,
    Comment,
    NotificationPref,
    PostRead,
    Reaction,
)
from social.db import Database
from social.events import (
    Audience,
    Envelope,
    Event,
    EventHub,
    Gap,
    event_hub_of,
    install_event_hub,
)
from social.interactions import offer_help
from social.models import Member, Membership, Place, Post, utcnow
from social.posts import content_from, create_post
from social.stream import (
    CIRCLES,
    StreamSettings,
    Viewer,
    load_viewer,
    mark_read,
    member_stream,
    sse_comment,
    sse_event,
    unread_counts,
)
from social.visibility import can_see_place

if TYPE_CHECKING:
    from tests.social.conftest import World

pytestmark = pytest.mark.timeout(60)


def event(type_: str = "post.created", audience: Audience | None = None, **data: object) -> Event:
    return Event(type_, audience or Audience.place("lilas"), data, 0.0, "test")


# -- the hub ------------------------------------------------------------------------------------


def test_publishers_in_many_threads_reach_every_subscriber_in_one_order() -> None:
    hub = EventHub()

    async def main() -> tuple[list[int], list[int]]:
        first, second = hub.subscribe(), hub.subscribe()
        threads = [threading.Thread(target=lambda: [hub.publish(event()) for _ in range(50)])
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        received = []
        for subscription in (first, second):
            seqs = []
            for _ in range(200):
                item = await asyncio.wait_for(subscription.get(), 2)
                assert isinstance(item, Envelope)
                seqs.append(item.seq)
            received.append(seqs)
        return received[0], received[1]

    first, second = asyncio.run(main())
    assert first == second == list(range(1, 201))


def test_since_resumes_inside_the_buffer_and_refuses_what_it_cannot_know() -> None:
    hub = EventHub(buffer=3)
    for _ in range(5):
        hub.publish(event())
    epoch = hub.epoch

    assert [e.seq for e in hub.since(f"{epoch}-3") or []] == [4, 5]
    assert [e.seq for e in hub.since(f"{epoch}-2") or []] == [3, 4, 5]
    assert hub.since(f"{epoch}-5") == []
    assert hub.since(f"{epoch}-1") is None  # event 2 already left the buffer
    assert hub.since(f"{epoch}-9") is None  # not handed out yet: another life of the hub
    assert hub.since("0badcafe-4") is None  # another hub (a restart, another replica)
    assert hub.since("nonsense") is None
    assert hub.last_id == f"{epoch}-5"


def test_a_subscriber_that_falls_behind_gets_a_gap_not_unbounded_memory() -> None:
    hub = EventHub()

    async def main() -> list[object]:
        subscription = hub.subscribe(maxsize=2)
        for _ in range(5):
            hub.publish(event())
        await asyncio.sleep(0)  # let the loop run the deliveries
        return [await asyncio.wait_for(subscription.get(), 1) for _ in range(3)]

    gap, fourth, fifth = asyncio.run(main())
    assert gap == Gap(missed=3)
    assert isinstance(fourth, Envelope) and fourth.seq == 4
    assert isinstance(fifth, Envelope) and fifth.seq == 5


def test_closing_the_hub_ends_every_subscription() -> None:
    hub = EventHub()

    async def main() -> tuple[object, object, int]:
        subscription = hub.subscribe()
        waiting = asyncio.create_task(subscription.get())
        await asyncio.sleep(0)
        hub.close()
        ended = await asyncio.wait_for(waiting, 1)
        late = hub.subscribe()
        return ended, await asyncio.wait_for(late.get(), 1), hub.subscriber_count

    ended, late, count = asyncio.run(main())
    assert ended is None and late is None and count == 0
    assert hub.publish(event()) is None


def test_events_cross_a_process_boundary_unchanged() -> None:
    original = Event("alarm.raised", Audience.managers("lilas"), {"alarm": {"id": 3}}, 12.5,
                     "hub-a")
    assert Event.from_json(original.to_json()) == original
    with pytest.raises(ValueError, match="not an event"):
        Event.from_json(b'{"type": "x"}')
    with pytest.raises(ValueError, match="unknown audience kind"):
        Event.from_json(b'{"type": "x", "audience": {"kind": "all", "target": ""},'
                        b' "data": {}, "at": 0}')


# -- capturing commits --------------------------------------------------------------------------


def published(hub: EventHub, since: str) -> list[Event]:
    envelopes = hub.since(since)
    assert envelopes is not None
    return [envelope.event for envelope in envelopes]


def test_installing_twice_gives_the_one_hub(sqlite_database: Database) -> None:
    hub = install_event_hub(sqlite_database)
    assert install_event_hub(sqlite_database) is hub
    assert event_hub_of(sqlite_database) is hub
    with pytest.raises(ValueError, match="already has an event hub"):
        install_event_hub(sqlite_database, hub=EventHub())


def test_a_committed_post_is_announced_to_its_place(database: Database, world: World) -> None:
    hub = install_event_hub(database)
    mark = hub.last_id
    with database.session() as session:
        post = create_post(session, "lilas", content_from({"fr": "Bonjour", "en": "Hello"}),
                           author_id=world.resident)
        post.residents_only = True
        session.commit()

    [created] = published(hub, mark)
    assert created.type == "post.created"
    assert created.audience == Audience.place("lilas", residents_only=True,
                                               post_kind="message", post_author=world.resident)
    data = created.data["post"]
    assert data["id"] == post.id and data["author_id"] == world.resident
    assert data["place"] == {"id": "lilas", "kind": "building", "name": "Résidence Les Lilas"}
    assert data["content"]["en"]["title"] == "Hello"
    assert data["critical"] is False


def test_nothing_is_announced_for_a_rollback_or_a_savepoint_that_rolled_back(
    database: Database, world: World
) -> None:
    hub = install_event_hub(database)
    mark = hub.last_id
    with database.session() as session:
        create_post(session, "lilas", content_from({"fr": "Jamais"}))
        session.rollback()
    with database.session() as session:
        kept = create_post(session, "lilas", content_from({"fr": "Gardé"}))
        with pytest.raises(RuntimeError), session.begin_nested():
            create_post(session, "lilas", content_from({"fr": "Annulé"}))
            raise RuntimeError("undo the savepoint")
        session.commit()
    with database.session() as session:
        create_post(session, "lilas", content_from({"fr": "Jamais commité"}))
        # closed without commit

    events = published(hub, mark)
    assert [(e.type, e.data["post"]["id"]) for e in events] == [("post.created", kept.id)]


def test_an_alarm_is_announced_to_managers_and_its_post_to_residents(
    database: Database, world: World
) -> None:
    hub = install_event_hub(database)
    at = utcnow() - timedelta(minutes=5)
    raise_leak = RaiseAlarm(
        rule_id="water-leak", device_id="cave-b", place_id="lilas/b/basement",
        building_id="lilas", severity="critical", title={"fr": "Fuite d'eau", "en": "Leak"},
        at=at.timestamp(),
        post=PostDraft("lilas", "alert", {"fr": "Fuite d'eau", "en": "Water leak"}),
    )
    mark = hub.last_id
    with database.session() as session:
        AlarmBook().apply(session, [raise_leak])
        session.commit()
    raised = published(hub, mark)
    assert [(e.type, e.audience) for e in raised] == [
        ("alarm.raised", Audience.managers("lilas")),
        ("post.created", Audience.place("lilas", post_kind="alert")),
    ]
    alarm_id = raised[0].data["alarm"]["id"]
    assert raised[0].data["alarm"]["title"] == {"fr": "Fuite d'eau", "en": "Leak"}
    assert raised[1].data["post"]["critical"] is True

    mark = hub.last_id
    with database.session() as session:  # a conditional UPDATE, not the unit of work
        manager = session.get(Member, world.manager)
        assert manager is not None
        AlarmBook().acknowledge(session, alarm_id, manager, "plombier appelé")
        session.commit()
    acknowledged = published(hub, mark)
    assert [e.type for e in acknowledged] == ["alarm.acknowledged", "post.updated"]
    assert acknowledged[0].data["alarm"]["ack_note"] == "plombier appelé"
    assert "plombier appelé" in acknowledged[1].data["post"]["content"]["fr"]["body"]

    mark = hub.last_id
    with database.session() as session:
        AlarmBook().apply(session, [ClearAlarm("water-leak", "cave-b", utcnow().timestamp())])
        session.commit()
    cleared = published(hub, mark)
    assert [e.type for e in cleared] == ["alarm.cleared", "post.updated"]
    assert cleared[1].data["post"]["status"] == "resolved"


def test_comments_reactions_and_reads_are_announced(database: Database, world: World) -> None:
    hub = install_event_hub(database)
    with database.session() as session:
        post = create_post(session, "lilas/b", content_from({"fr": "Ascenseur"}))
        session.commit()
    mark = hub.last_id
    with database.session() as session:
        now = utcnow()
        session.add(Comment(post_id=post.id, author_id=world.resident, body="Encore ?",
                            created_at=now))
        session.add(Reaction(post_id=post.id, member_id=world.resident, kind="like",
                             created_at=now))
        session.add(Reaction(post_id=post.id, member_id=world.english_resident, kind="like",
                             created_at=now))
        session.add(PostRead(post_id=post.id, member_id=world.resident, read_at=now))
        session.commit()
    events = published(hub, mark)
    assert [e.type for e in events] == ["comment.created", "reaction.changed", "post.read"]
    assert events[0].audience == Audience.place("lilas/b", post_kind="message")
    assert events[0].data["comment"]["body"] == "Encore ?"
    assert events[1].data == {"post_id": post.id, "counts": {"like": 2}}
    assert events[2].audience == Audience.member(world.resident)

    mark = hub.last_id
    with database.session() as session:  # ORM DELETE ... WHERE: read before it runs
        session.execute(delete(Reaction).where(Reaction.member_id == world.resident))
        session.commit()
    assert [e.data for e in published(hub, mark)] == [{"post_id": post.id,
                                                       "counts": {"like": 1}}]

    mark = hub.last_id
    with database.session() as session:
        session.execute(update(Post).where(Post.id == post.id).values(moderation="hidden"))
        session.commit()
    [hidden] = published(hub, mark)
    assert hidden.type == "post.updated"
    assert hidden.data == {"post": {"id": post.id, "moderation": "hidden",
                                    "place": {"id": "lilas/b", "kind": "entrance",
                                              "name": hidden.data["post"]["place"]["name"]}}}


def test_changes_to_rights_and_preferences_reach_the_members_own_stream(
    database: Database, world: World
) -> None:
    hub = install_event_hub(database)
    mark = hub.last_id
    with database.session() as session:
        membership = session.scalars(
            select(Membership).where(Membership.member_id == world.resident)).one()
        membership.ended_at = utcnow()
        session.add(NotificationPref(member_id=world.english_resident, kind="message",
                                     mode="off"))
        session.add(Block(blocker_id=world.other_resident, blocked_id=world.resident,
                          created_at=utcnow()))
        session.commit()
    assert sorted((e.type, e.audience.target) for e in published(hub, mark)) == sorted([
        ("membership.changed", str(world.resident)),
        ("viewer.changed", str(world.english_resident)),
        ("viewer.changed", str(world.other_resident)),
    ])


def test_a_failure_to_build_events_never_fails_the_commit(
    sqlite_database: Database, sqlite_world: World, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hub = install_event_hub(sqlite_database)

    def broken(*_args: object) -> list[Event]:
        raise RuntimeError("bug in the event builder")

    monkeypatch.setattr("social.events._events", broken)
    mark = hub.last_id
    with caplog.at_level(logging.ERROR, logger="social.events"), \
            sqlite_database.session() as session:
        post = create_post(session, "lilas", content_from({"fr": "Quand même"}))
        session.commit()
    with sqlite_database.session() as session:
        assert session.get(Post, post.id) is not None
    assert published(hub, mark) == []
    assert "cannot build the live events" in caplog.text


# -- who receives what --------------------------------------------------------------------------


def viewer(database: Database, member_id: int) -> Viewer:
    with database.session() as session:
        loaded = load_viewer(session, member_id)
    assert loaded is not None
    return loaded


def test_the_stream_delivers_exactly_what_the_visibility_rule_allows(
    database: Database, world: World
) -> None:
    with database.session() as session:
        places = list(session.scalars(select(Place.id)))
    members = {"resident": world.resident, "merchant": world.merchant, "manager": world.manager,
               "ended": world.ended, "unverified": world.unverified,
               "other_resident": world.other_resident}
    for name, member_id in members.items():
        seen = viewer(database, member_id)
        with database.session() as session:
            for place_id in places:
                expected = can_see_place(session, member_id, place_id)
                assert seen.sees(event(audience=Audience.place(place_id))) == expected, (
                    name, place_id)

    def audience_of(member_id: int) -> set[str]:
        seen = viewer(database, member_id)
        cases = {
            "lilas": Audience.place("lilas"),
            "lilas residents only": Audience.place("lilas", residents_only=True),
            "tilleuls": Audience.place("tilleuls"),
            "pyramides": Audience.place("pyramides"),
            "lilas alarm": Audience.managers("lilas"),
            "tilleuls alarm": Audience.managers("tilleuls"),
            "to alice": Audience.member(world.resident),
        }
        return {label for label, audience in cases.items() if seen.sees(event(audience=audience))}

    assert audience_of(world.resident) == {"lilas", "lilas residents only", "pyramides",
                                           "to alice"}
    assert audience_of(world.manager) == {"lilas", "pyramides", "lilas alarm"}
    assert audience_of(world.merchant) == {"pyramides"}
    assert audience_of(world.other_resident) == {"tilleuls", "pyramides"}
    assert audience_of(world.ended) == set()
    assert audience_of(world.unverified) == set()


def test_posts_of_a_blocked_member_are_not_delivered(database: Database, world: World) -> None:
    with database.session() as session:
        session.add(Block(blocker_id=world.resident, blocked_id=world.english_resident,
                          created_at=utcnow()))
        session.commit()
    alice = viewer(database, world.resident)
    by_emma = event(post={"id": 1, "author_id": world.english_resident})
    by_rules = event(post={"id": 2, "author_id": None})
    comment_by_emma = event("comment.created", comment={"id": 1, "author_id":
                                                        world.english_resident})
    assert not alice.sees(by_emma)
    assert not alice.sees(comment_by_emma)
    assert alice.sees(by_rules)


def post_event(kind: str, *, critical: bool = False, author_id: int | None = None) -> Event:
    return event(post={
        "id": 7, "kind": kind, "author_id": author_id, "critical": critical,
        "content": {"fr": {"title": "Fuite", "body": "Cave B"},
                    "en": {"title": "Leak", "body": "Cellar B"}},
    })


NOON = datetime(2026, 3, 14, 11, 0, tzinfo=UTC)  # 12:00 in Paris
NIGHT = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)  # 00:30 in Paris


def test_rendering_speaks_the_members_language_and_says_whether_to_interrupt(
    database: Database, world: World
) -> None:
    emma = viewer(database, world.english_resident)
    rendered = emma.render(post_event("alert"), NOON)
    assert rendered["post"]["title"] == "Leak" and rendered["post"]["body"] == "Cellar B"
    assert "content" not in rendered["post"]
    assert rendered["notify"] is True  # alerts are instant by default
    assert emma.render(post_event("message"), NOON)["notify"] is False  # digest by default
    assert emma.render(post_event("alert"), NIGHT)["notify"] is False  # quiet hours
    assert emma.render(post_event("alert", critical=True), NIGHT)["notify"] is True
    assert emma.render(post_event("alert", author_id=world.english_resident),
                       NOON)["notify"] is False  # one's own post

    with database.session() as session:
        session.add(NotificationPref(member_id=world.english_resident, kind="alert",
                                     mode="off"))
        session.commit()
    emma = viewer(database, world.english_resident)
    assert emma.render(post_event("alert"), NOON)["notify"] is False
    assert emma.render(post_event("alert", critical=True), NOON)["notify"] is True

    alarm = Event("alarm.raised", Audience.managers("lilas"),
                  {"alarm": {"id": 1, "title": {"fr": "Fuite d'eau", "en": "Leak"}}}, 0.0)
    assert viewer(database, world.manager).render(alarm, NOON)["alarm"]["title"] == "Fuite d'eau"


# -- unread counts ------------------------------------------------------------------------------


def test_unread_counts_per_circle_follow_the_rule_and_reading(
    database: Database, world: World, post_at: Callable[..., int]
) -> None:
    with database.session() as session:
        unit = post_at(session, "lilas/b/3/31")
        building = post_at(session, "lilas")
        post_at(session, "lilas")
        neighbourhood = post_at(session, "pyramides")
        elsewhere = post_at(session, "tilleuls")
        post_at(session, "lilas", at=utcnow() - timedelta(days=60))  # before alice moved in
        create_post(session, "lilas", content_from({"fr": "Moi"}), author_id=world.resident)
        private = create_post(session, "lilas", content_from({"fr": "Entre nous"}))
        private.residents_only = True
        hidden = create_post(session, "lilas", content_from({"fr": "Masqué"}))
        hidden.moderation = "hidden"
        session.commit()

    with database.session() as session:
        alice = unread_counts(session, world.resident)
        manager = unread_counts(session, world.manager)
        merchant = unread_counts(session, world.merchant)
    assert list(alice.circles) == list(CIRCLES)
    assert alice.circles == {"unit": 1, "floor": 0, "entrance": 0, "building": 3,
                             "neighbourhood": 1, "city": 0}
    assert alice.total == 5
    # two messages and alice's; not the residents-only post, not the hidden one
    assert manager.circles["building"] == 3
    assert merchant.total == 1

    with database.session() as session:
        assert mark_read(session, world.resident, [unit, building, elsewhere]) == 2
        assert mark_read(session, world.resident, [unit]) == 0
        session.commit()
    with database.session() as session:
        after = unread_counts(session, world.resident)
        assert after.circles["unit"] == 0 and after.circles["building"] == 2
        assert after.total == 3
        reads = set(session.scalars(select(PostRead.post_id)
                                    .where(PostRead.member_id == world.resident)))
    assert reads == {unit, building}
    assert neighbourhood not in reads and elsewhere not in reads


def test_an_event_racing_the_resume_is_delivered_once(
    sqlite_database: Database, sqlite_world: World
) -> None:
    """An event published after the stream subscribed but before it read the backlog is
    both in the backlog and in the queue: it must reach the client once."""
    hub = EventHub()
    alice = viewer(sqlite_database, sqlite_world.resident)

    def post(post_id: int) -> Event:
        return event(post={"id": post_id, "kind": "message", "author_id": None,
                           "content": {"fr": {"title": f"n°{post_id}", "body": ""}}})

    async def main() -> list[bytes]:
        seen = hub.publish(post(1))
        assert seen is not None
        stream = member_stream(hub, sqlite_database, "unused", alice, last_event_id=seen.id,
                               settings=StreamSettings(heartbeat=30, refresh=30))
        chunks = [await anext(stream)]  # the stream has subscribed
        hub.publish(post(2))
        for _ in range(2):  # the backlog (post 2), then the unread counts
            chunks.append(await asyncio.wait_for(anext(stream), 2))
        hub.publish(post(3))
        chunks.append(await asyncio.wait_for(anext(stream), 2))
        await stream.aclose()
        return chunks

    connected, replayed, unread, live = asyncio.run(main())
    assert connected.startswith(b"retry: 3000\n: connected")
    assert b'"id":2' in replayed and f"id: {hub.epoch}-2".encode() in replayed
    assert unread.startswith(b"event: unread.changed")
    assert b'"id":3' in live  # not post 2 a second time


def test_sse_framing() -> None:
    assert sse_event("post.created", {"a": "é\nb"}, "e-1") == (
        b'id: e-1\nevent: post.created\ndata: {"a":"\xc3\xa9\\nb"}\n\n')
    assert sse_event("unread.changed", {"total": 0}) == (
        b'event: unread.changed\ndata: {"total":0}\n\n')
    assert sse_comment("ping") == b": ping\n\n"


def test_an_offer_of_help_is_announced_to_the_requester_and_the_helper_only(
    database: Database, world: World
) -> None:
    hub = install_event_hub(database)
    with database.session() as session:
        post = create_post(session, "lilas/b", content_from({"fr": "Mes courses"}),
                           kind="help_request", author_id=world.resident)
        session.commit()
    mark = hub.last_id
    with database.session() as session:  # as the API offers: inside a SAVEPOINT
        helper = session.get(Member, world.english_resident)
        assert helper is not None
        offer_help(session, helper, post.id, "18 h")
        session.commit()
    events = published(hub, mark)
    assert [(e.type, e.audience) for e in events] == [
        ("offer.changed", Audience.member(world.resident)),
        ("offer.changed", Audience.member(world.english_resident)),
    ]
    assert events[0].data["post_id"] == post.id and events[0].data["status"] == "offered"
