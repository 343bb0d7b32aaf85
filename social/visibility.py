"""THE visibility rule. Every query that returns posts or alarms goes through this module.

A member may read an object scoped to place P when P is the place of one of their
verified, current memberships, or an ancestor of it: a resident of ``lilas/b/3/31``
reads that unit, floor 3, entrance B, the building, its neighbourhood and its city,
and nothing of another unit, entrance or building.

Two refinements keep private spaces private:

* a local actor (merchant, association, municipality) only ever reaches the city and
  neighbourhood circles, even if a membership was mistakenly given inside a building;
* alarms are not posts: they are read by the managers (manager, syndic, landlord) of
  the building they happened in, see :func:`manageable_building_ids`;
* a post a resident restricted to *residents only* is not read through a manager,
  syndic or landlord membership: the building's own people talk among themselves
  (:func:`visible` adds this clause by itself for any column of the ``posts`` table).

One widening, so that managers read what they are responsible for: the managers of a
building also read, in its *shared parts* (the building, its entrances and floors —
never a unit, which is someone's home), what the building's management and its
sensors say there: official notices (theirs and their colleagues'), the posts of the
rules engine (alerts, and the help requests an alarm opens) and whatever they posted
there themselves (:func:`managed_part_ids`, :func:`managed_post`). Residents' own
posts below the building level stay among the residents of that entrance or floor,
and residents-only posts stay hidden from managers everywhere. Installers get no such
reach: they do not see alarms either.

The functions return SQL (``Select`` subqueries), not Python sets, so that the rule
runs inside the database next to the query it filters, with paging and ordering.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    SQLColumnExpression,
    and_,
    exists,
    literal,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session, aliased

from social.models import Membership, Place, PlaceAncestor, utcnow

MANAGER_ROLES = frozenset({"manager", "syndic", "landlord"})
#: The people who live in a unit: private notices and help requests are for them.
RESIDENT_ROLES = frozenset({"resident", "owner", "tenant"})
#: Who reads a residents-only post: the residents of its place, and the moderators who
#: answer for that space (managers, installers and admins do not).
RESIDENTS_ONLY_READERS = RESIDENT_ROLES | {"moderator"}
LOCAL_ACTOR_ROLES = frozenset({"merchant", "association", "municipality"})
#: The circles a local actor may reach.
PUBLIC_KINDS = ("city", "neighbourhood")
#: The parts of a building its managers are present in: a unit is someone's home.
SHARED_PART_KINDS = ("building", "entrance", "floor")
#: Post kinds that speak for a building's management, whoever of its managers wrote them.
OFFICIAL_KINDS = ("notice",)

Ts = TypeVarTuple("Ts")


def current_membership(now: datetime | None = None) -> ColumnElement[bool]:
    """True for a membership that gives access now: verified, started and not ended."""
    now = now or utcnow()
    return (
        Membership.verified.is_(True)
        & (Membership.started_at <= now)
        & or_(Membership.ended_at.is_(None), Membership.ended_at > now)
    )


def visible_place_ids(member_id: int, *, now: datetime | None = None) -> Select[str]:
    """The ids of every place whose objects ``member_id`` may read."""
    reached = aliased(Place)
    return (
        select(PlaceAncestor.ancestor_id)
        .join(Membership, Membership.place_id == PlaceAncestor.place_id)
        .join(reached, reached.id == PlaceAncestor.ancestor_id)
        .where(
            Membership.member_id == member_id,
            current_membership(now),
            or_(Membership.role.not_in(LOCAL_ACTOR_ROLES), reached.kind.in_(PUBLIC_KINDS)),
        )
    )


def visible(
    stmt: Select[*Ts],
    column: SQLColumnExpression[str],
    member_id: int,
    *,
    now: datetime | None = None,
    residents_only: SQLColumnExpression[bool] | None = None,
    kind: SQLColumnExpression[str] | None = None,
    author: SQLColumnExpression[int | None] | None = None,
) -> Select[*Ts]:
    """``stmt`` narrowed to rows whose place ``column`` the member may read.

    When ``column`` belongs to the ``posts`` table (or an alias of it), posts marked
    ``residents_only`` are further narrowed to the places the member reaches through a
    resident's or a moderator's membership, and the managers' reach into the shared parts
    of their buildings (:func:`managed_post`) is added: callers cannot forget either.
    A query that reads posts through another selectable (a subquery, a log joined to
    its post) passes that selectable's ``residents_only``, ``kind`` and ``author``
    columns explicitly.

    The subqueries are not correlated: ``stmt`` may read ``memberships`` or
    ``place_ancestors`` itself without capturing the rule's own tables.
    """
    places = visible_place_ids(member_id, now=now).correlate(None)
    restricted = residents_only if residents_only is not None else _sibling(
        column, "residents_only")
    readable: ColumnElement[bool] = column.in_(places)
    if restricted is not None:
        readable = and_(readable, or_(restricted.is_(False), column.in_(
            places.where(Membership.role.in_(RESIDENTS_ONLY_READERS))
        )))
    kind = kind if kind is not None else _sibling(column, "kind")
    author = author if author is not None else _sibling(column, "author_id")
    if kind is not None and author is not None:
        managed = and_(column.in_(managed_part_ids(member_id, now=now)),
                       managed_post(kind, author, member_id))
        if restricted is not None:
            managed = and_(managed, restricted.is_(False))
        readable = or_(readable, managed)
    return stmt.where(readable)


def managed_part_ids(member_id: int, *, now: datetime | None = None) -> Select[str]:
    """The shared parts (building, entrances, floors) of the buildings ``member_id``
    manages, where :func:`managed_post` posts reach them. Not correlated: a caller that
    wants it correlated (``Membership.started_at <= Post.created_at``) says so."""
    part, building = aliased(Place), aliased(Place)
    part_up, membership_up = aliased(PlaceAncestor), aliased(PlaceAncestor)
    return (
        select(part_up.place_id)
        .join(part, part.id == part_up.place_id)
        .join(building, building.id == part_up.ancestor_id)
        .join(membership_up, membership_up.ancestor_id == part_up.ancestor_id)
        .join(Membership, Membership.place_id == membership_up.place_id)
        .where(
            Membership.member_id == member_id,
            current_membership(now),
            Membership.role.in_(MANAGER_ROLES),
            building.kind == "building",
            part.kind.in_(SHARED_PART_KINDS),
        )
        .correlate(None)
    )


def managed_post(
    kind: SQLColumnExpression[str], author: SQLColumnExpression[int | None], member_id: int
) -> ColumnElement[bool]:
    """True for a post that reaches the managers of its building in its shared parts:
    an official notice, a post of the rules engine (no author), or the member's own."""
    return or_(kind.in_(OFFICIAL_KINDS), author.is_(None), author == member_id)


def is_managed_post(kind: str | None, author_id: int | None, member_id: int) -> bool:
    """:func:`managed_post` for one post in hand (the live stream's events)."""
    if kind is None:
        return False
    return kind in OFFICIAL_KINDS or author_id is None or author_id == member_id


def _sibling(column: SQLColumnExpression[str], name: str) -> ColumnElement[Any] | None:
    """The column ``name`` beside ``column`` in its table (or alias), when it has one."""
    expression = getattr(column, "expression", column)
    table = getattr(expression, "table", None)
    columns = getattr(table, "c", None)
    if columns is None or name not in columns:
        return None
    sibling: ColumnElement[Any] = columns[name]
    return sibling


def place_ids_through(
    member_id: int, roles: Collection[str], *, now: datetime | None = None
) -> Select[str]:
    """The places ``member_id`` may read through a membership of one of ``roles`` only.

    What a member may *do* somewhere often depends on the role that lets them read
    it (a resident presses "still happening", a merchant does not): this is the same
    rule as :func:`visible_place_ids`, narrowed, never a second one.
    """
    return (visible_place_ids(member_id, now=now)
            .where(Membership.role.in_(sorted(roles))).correlate(None))


def can_see_place(
    session: Session, member_id: int, place_id: str, *, now: datetime | None = None
) -> bool:
    """True when ``place_id`` is one of the member's circles (their places and above)."""
    ids = visible_place_ids(member_id, now=now).where(PlaceAncestor.ancestor_id == place_id)
    return bool(session.scalar(select(exists(ids))))


def can_read_posts_at(
    session: Session, member_id: int, place_id: str, *, now: datetime | None = None
) -> bool:
    """True when some posts of ``place_id`` may be the member's to read: one of their
    circles, or a shared part of a building they manage (its notices and alerts)."""
    if can_see_place(session, member_id, place_id, now=now):
        return True
    parts = managed_part_ids(member_id, now=now).subquery()
    return bool(session.scalar(select(exists().where(parts.c.place_id == place_id))))


def manageable_building_ids(
    member_id: int, *, now: datetime | None = None
) -> Select[str]:
    """The buildings where ``member_id`` holds a current manager, syndic or landlord role.

    A manager membership given at an entrance or below still manages its building.
    """
    building = aliased(Place)
    return (
        select(PlaceAncestor.ancestor_id)
        .join(Membership, Membership.place_id == PlaceAncestor.place_id)
        .join(building, building.id == PlaceAncestor.ancestor_id)
        .where(
            Membership.member_id == member_id,
            current_membership(now),
            Membership.role.in_(MANAGER_ROLES),
            building.kind == "building",
        )
    )


def manageable(
    stmt: Select[*Ts],
    column: SQLColumnExpression[str | None],
    member_id: int,
    *,
    now: datetime | None = None,
) -> Select[*Ts]:
    """``stmt`` narrowed to rows whose building ``column`` the member manages."""
    return stmt.where(column.in_(manageable_building_ids(member_id, now=now)))


def manages_any_building(
    session: Session, member_id: int, *, now: datetime | None = None
) -> bool:
    return bool(session.scalar(select(exists(manageable_building_ids(member_id, now=now)))))


def visible_member_ids(member_id: int, *, now: datetime | None = None) -> Select[int]:
    """The ids of the members ``member_id`` may see: list, look up, read the name of.

    Members are people, not posts, so the rule is narrower than for places: seeing a
    building's feed does not make its residents public to the whole city.

    * Neighbours: members with a current membership at or below a building where the
      caller holds one too (residents, its managers, its installer).
    * Local actors and public figures: members whose membership is *at* a
      neighbourhood or city the caller may read (:func:`visible_place_ids`) —
      merchants, associations, the municipality. Their presence there is public by
      nature; a resident's home never is.
    * Oneself.

    Local-actor memberships never count inside a building, in either direction,
    exactly as for posts: a merchant given a membership in a building by mistake
    neither lists its residents nor appears among them.
    """
    now = now or utcnow()
    building = aliased(Place)
    my_buildings = (
        select(PlaceAncestor.ancestor_id)
        .join(Membership, Membership.place_id == PlaceAncestor.place_id)
        .join(building, building.id == PlaceAncestor.ancestor_id)
        .where(
            Membership.member_id == member_id,
            current_membership(now),
            Membership.role.not_in(LOCAL_ACTOR_ROLES),
            building.kind == "building",
        )
        # The outer queries read the same tables: keep this one self-contained.
        .correlate(None)
    )
    neighbours = (
        select(Membership.member_id)
        .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
        .where(
            current_membership(now),
            Membership.role.not_in(LOCAL_ACTOR_ROLES),
            PlaceAncestor.ancestor_id.in_(my_buildings),
        )
    )
    circle = aliased(Place)
    public = (
        select(Membership.member_id)
        .join(circle, circle.id == Membership.place_id)
        .where(
            current_membership(now),
            circle.kind.in_(PUBLIC_KINDS),
            Membership.place_id.in_(visible_place_ids(member_id, now=now).correlate(None)),
        )
    )
    myself = select(literal(member_id, Integer).label("member_id"))
    ids = union(neighbours, public, myself).subquery()
    return select(ids.c.member_id)
