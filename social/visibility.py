"""THE visibility rule. Every query that returns posts or alarms goes through this module.

A member may read an object scoped to place P when P is the place of one of their
verified, current memberships, or an ancestor of it: a resident of ``lilas/b/3/31``
reads that unit, floor 3, entrance B, the building, its neighbourhood and its city,
and nothing of another unit, entrance or building.

Two refinements keep private spaces private:

* a local actor (merchant, association, municipality) only ever reaches the city and
  neighbourhood circles, even if a membership was mistakenly given inside a building;
* alarms are not posts: they are read by the managers (manager, syndic, landlord) of
  the building they happened in, see :func:`manageable_building_ids`.

The functions return SQL (``Select`` subqueries), not Python sets, so that the rule
runs inside the database next to the query it filters, with paging and ordering.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, exists, or_, select
from sqlalchemy.orm import Session, aliased

from social.models import Membership, Place, PlaceAncestor, utcnow

MANAGER_ROLES = frozenset({"manager", "syndic", "landlord"})
#: The people who live in a unit: private notices and help requests are for them.
RESIDENT_ROLES = frozenset({"resident", "owner", "tenant"})
LOCAL_ACTOR_ROLES = frozenset({"merchant", "association", "municipality"})
#: The circles a local actor may reach.
PUBLIC_KINDS = ("city", "neighbourhood")

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
) -> Select[*Ts]:
    """``stmt`` narrowed to rows whose place ``column`` the member may read."""
    return stmt.where(column.in_(visible_place_ids(member_id, now=now)))


def can_see_place(
    session: Session, member_id: int, place_id: str, *, now: datetime | None = None
) -> bool:
    ids = visible_place_ids(member_id, now=now).where(PlaceAncestor.ancestor_id == place_id)
    return bool(session.scalar(select(exists(ids))))


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
