"""The one visibility rule, on a realistic site, against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from rules.actions import RaiseAlarm
from social.alarms import AlarmBook, manager_alarms
from social.db import Database
from social.feed import feed_page
from social.models import Post, utcnow
from social.posts import content_from, create_post
from social.visibility import (
    can_read_posts_at,
    can_see_place,
    manageable_building_ids,
    manages_any_building,
    visible,
    visible_place_ids,
)

if TYPE_CHECKING:
    from tests.social.conftest import World

#: One post in each of these places.
POSTED = (
    "evry", "pyramides",
    "lilas", "lilas/a", "lilas/a/2", "lilas/a/2/21",
    "lilas/b", "lilas/b/basement", "lilas/b/2", "lilas/b/2/21",
    "lilas/b/3", "lilas/b/3/31", "lilas/b/3/32",
    "tilleuls", "tilleuls/a", "tilleuls/a/1/11",
)
RESIDENT_BRANCH = {"evry", "pyramides", "lilas", "lilas/b", "lilas/b/3", "lilas/b/3/31"}


@pytest.fixture
def posted(database: Database, world: World, post_at: Callable[..., int]) -> World:
    with database.session() as session:
        for place_id in POSTED:
            post_at(session, place_id)
        session.commit()
    return world


def readable_places(session: Session, member_id: int) -> set[str]:
    """The places of the posts ``member_id`` can read, through the shared helper."""
    stmt = visible(select(Post.place_id), Post.place_id, member_id)
    return set(session.scalars(stmt))


def test_resident_reads_their_own_branch_only(database: Database, posted: World) -> None:
    with database.session() as session:
        assert readable_places(session, posted.resident) == RESIDENT_BRANCH


def test_the_feed_applies_the_same_rule(database: Database, posted: World) -> None:
    with database.session() as session:
        page = feed_page(session, posted.resident, limit=100)
    assert {post.place_id for post, _place in page.entries} == RESIDENT_BRANCH


def test_merchant_reads_only_neighbourhood_and_city(database: Database, posted: World) -> None:
    with database.session() as session:
        assert readable_places(session, posted.merchant) == {"evry", "pyramides"}


def test_merchant_membership_inside_a_building_does_not_open_it(
    database: Database, posted: World, make_member: Callable[..., int]
) -> None:
    with database.session() as session:
        shop = make_member(session, "epicerie", ("lilas/b", "merchant"))
        session.commit()
        assert readable_places(session, shop) == {"evry", "pyramides"}


#: The shared parts of Les Lilas among POSTED: where its managers read what the rules
#: engine posts (POSTED's posts have no author), never in a unit.
LILAS_SHARED = {"lilas/a", "lilas/a/2", "lilas/b", "lilas/b/basement", "lilas/b/2", "lilas/b/3"}


def test_manager_reads_building_posts_of_their_building(
    database: Database, posted: World
) -> None:
    with database.session() as session:
        assert readable_places(session, posted.manager) == {
            "evry", "pyramides", "lilas", *LILAS_SHARED}


def test_managers_read_notices_rules_posts_and_their_own_in_shared_parts_only(
    database: Database, world: World
) -> None:
    """An entrance's notices and alerts are the managers' too; its residents' messages,
    a flat's private notice and residents-only posts are not."""
    rows = [("lilas/b", "notice", world.manager, False), ("lilas/b/3", "alert", None, False),
            ("lilas/b", "message", world.manager, False),
            ("lilas/b", "message", world.resident, False),
            ("lilas/b/3/31", "notice", None, False),
            ("lilas", "message", world.resident, True),
            ("tilleuls/a", "notice", None, False)]
    with database.session() as session:
        ids = []
        for place, kind, author, residents_only in rows:
            post = create_post(session, place, content_from({"fr": "Avis"}), kind=kind,
                               author_id=author, residents_only=residents_only)
            ids.append(post.id)
        session.commit()
        manager = set(session.scalars(visible(select(Post.id), Post.place_id, world.manager)))
        resident = set(session.scalars(visible(select(Post.id), Post.place_id,
                                               world.resident)))
        assert can_read_posts_at(session, world.manager, "lilas/b")
        assert not can_read_posts_at(session, world.manager, "lilas/b/3/31")
        assert not can_read_posts_at(session, world.resident, "lilas/a")
    assert manager == set(ids[:3])
    assert resident == set(ids[:6])


def test_manager_sees_alarms_of_their_building_only(database: Database, posted: World) -> None:
    def leak(device: str, place: str, building: str) -> RaiseAlarm:
        return RaiseAlarm(rule_id="water-leak", device_id=device, place_id=place,
                          building_id=building, severity="critical",
                          title={"fr": "Fuite d'eau"}, at=utcnow().timestamp())

    with database.session() as session:
        AlarmBook().apply(session, [
            leak("leak-lilas", "lilas/b/basement", "lilas"),
            leak("leak-tilleuls", "tilleuls/a", "tilleuls"),
        ])
        session.commit()

        seen = manager_alarms(session, posted.manager, state="all")
        assert [row.alarm.device_id for row in seen] == ["leak-lilas"]
        assert set(session.scalars(manageable_building_ids(posted.manager))) == {"lilas"}
        for member in (posted.resident, posted.merchant, posted.ended, posted.unverified):
            assert manager_alarms(session, member, state="all") == []
            assert not manages_any_building(session, member)
        assert manages_any_building(session, posted.manager)


def test_ended_membership_gives_nothing(database: Database, posted: World) -> None:
    with database.session() as session:
        assert readable_places(session, posted.ended) == set()
        assert feed_page(session, posted.ended).entries == []


def test_unverified_membership_gives_nothing(database: Database, posted: World) -> None:
    with database.session() as session:
        assert readable_places(session, posted.unverified) == set()


def test_membership_ending_later_still_counts_until_then(
    database: Database, posted: World
) -> None:
    now = utcnow()
    with database.session() as session:
        assert can_see_place(session, posted.resident, "lilas/b/3/31", now=now)
        ids = visible_place_ids(posted.resident, now=now - timedelta(days=365))
        assert set(session.scalars(ids)) == set(), "the membership had not started a year ago"


def test_other_building_resident_does_not_read_lilas(database: Database, posted: World) -> None:
    with database.session() as session:
        assert readable_places(session, posted.other_resident) == {
            "evry", "pyramides", "tilleuls", "tilleuls/a", "tilleuls/a/1/11"
        }


def test_manager_of_a_building_and_resident_of_a_unit_elsewhere_gets_both(
    database: Database, posted: World, make_member: Callable[..., int]
) -> None:
    with database.session() as session:
        both = make_member(session, "double", ("tilleuls", "landlord"), ("lilas/b/3/31", "owner"))
        session.commit()
        # tilleuls/a is a shared part of the building they manage (a rules post there).
        assert readable_places(session, both) == RESIDENT_BRANCH | {"tilleuls", "tilleuls/a"}
        assert set(session.scalars(manageable_building_ids(both))) == {"tilleuls"}
