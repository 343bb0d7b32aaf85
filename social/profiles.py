"""Profiles: how a member appears to the others, and what they change about themselves.

Neighbours know each other by first name. A member appears as "Amélie R." — first
name and the initial of the last name — unless they choose to show their full name;
their username and email are never shown to anyone else. ``members.display_name``
is kept equal to that public form, so every piece of code that prints a name (an
alarm's "acknowledged by", a post's author) prints the discreet one without having
to know this rule. A deleted account appears as "Compte supprimé" / "Deleted account".

Who may see whom is :func:`social.visibility.visible_member_ids`, and nothing else:
a profile outside it answers "not found", exactly like an id that does not exist.
What a profile says about *where* someone belongs is coarse on purpose — the
building, never the flat — and limited to places the viewer may read anyway.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session, aliased

from social.errors import MemberNotFound, PlaceNotVisible
from social.models import Member, Membership, Place, PlaceAncestor, utcnow
from social.paging import DEFAULT_PAGE, Page, paginate
from social.visibility import (
    LOCAL_ACTOR_ROLES,
    PUBLIC_KINDS,
    can_see_place,
    current_membership,
    visible_member_ids,
    visible_place_ids,
)

#: The author shown on the posts and comments of a deleted account.
DELETED_NAME = {"fr": "Compte supprimé", "en": "Deleted account"}


def short_name(first_name: str, last_name: str | None, *, full: bool = False) -> str:
    """``"Amélie R."``, or ``"Amélie Rousseau"`` when ``full``; the first name alone if
    there is no last name."""
    first = first_name.strip()
    last = (last_name or "").strip()
    if not last:
        return first
    return f"{first} {last}" if full else f"{first} {last[0].upper()}."


def public_name(member: Member, language: str = "fr") -> str:
    """The name others see, in ``language`` for a deleted account."""
    if member.deleted_at is not None:
        return DELETED_NAME.get(language, DELETED_NAME["fr"])
    if member.first_name:
        return short_name(member.first_name, member.last_name, full=member.show_full_name)
    return member.display_name


def author_name(member: Member | None, language: str = "fr") -> str | None:
    """The author line of a post or comment: None when the rules engine wrote it."""
    return None if member is None else public_name(member, language)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


class NameChanges(TypedDict, total=False):
    first_name: str | None
    last_name: str | None
    show_full_name: bool


class ProfileChanges(NameChanges, total=False):
    """What ``PATCH /api/me`` may change; absent keys are left alone."""

    language: str
    email: str | None
    quiet_start: str
    quiet_end: str


def apply_names(member: Member, changes: NameChanges) -> None:
    """Change the given name fields and keep ``display_name`` the public form of them.

    A member without a first name keeps the display name they chose (or the one the
    installation gave them): it is already what others see.
    """
    if "first_name" in changes:
        member.first_name = _clean(changes["first_name"])
    if "last_name" in changes:
        member.last_name = _clean(changes["last_name"])
    if "show_full_name" in changes:
        member.show_full_name = changes["show_full_name"]
    if member.first_name:
        member.display_name = short_name(member.first_name, member.last_name,
                                         full=member.show_full_name)


def update_profile(member: Member, changes: ProfileChanges) -> Member:
    """Apply already validated ``changes`` to the member; the caller commits."""
    apply_names(member, changes)
    if "language" in changes:
        member.language = changes["language"]
    if "email" in changes:
        member.email = _clean(changes["email"])
    if "quiet_start" in changes:
        member.quiet_start = changes["quiet_start"]
    if "quiet_end" in changes:
        member.quiet_end = changes["quiet_end"]
    return member


@dataclass(frozen=True, slots=True)
class ProfilePlace:
    """A role somewhere, as others see it: at a building, a neighbourhood or the city."""

    role: str
    place: Place


@dataclass(frozen=True, slots=True)
class Profile:
    member: Member
    places: list[ProfilePlace]


def _places_shown(
    session: Session, viewer_id: int, member_ids: Iterable[int], now: datetime
) -> dict[int, list[ProfilePlace]]:
    """Where each member belongs, coarsened to the building and cut to what the viewer reads.

    A resident of ``lilas/b/3/31`` is shown as a resident of Résidence Les Lilas — the
    flat is their business — and only to someone who reads Les Lilas anyway. A local
    actor is shown in the neighbourhood or city circles only.
    """
    ids = list(member_ids)
    if not ids:
        return {}
    shown = aliased(Place)
    rows = session.execute(
        select(Membership.member_id, Membership.role, shown)
        .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
        .join(shown, shown.id == PlaceAncestor.ancestor_id)
        .where(
            Membership.member_id.in_(ids),
            current_membership(now),
            or_(
                (shown.kind == "building") & Membership.role.not_in(LOCAL_ACTOR_ROLES),
                (PlaceAncestor.depth == 0) & shown.kind.in_(PUBLIC_KINDS),
            ),
            shown.id.in_(visible_place_ids(viewer_id, now=now).correlate(None)),
        )
        .distinct()
        .order_by(Membership.member_id, shown.id, Membership.role)
    )
    places: dict[int, list[ProfilePlace]] = defaultdict(list)
    for member_id, role, place in rows:
        places[member_id].append(ProfilePlace(role, place))
    return places


def _visible_members(viewer_id: int, now: datetime) -> Select[Member]:
    return select(Member).where(
        Member.id.in_(visible_member_ids(viewer_id, now=now)),
        Member.deleted_at.is_(None),
    )


def member_profile(
    session: Session, viewer_id: int, member_id: int, *, now: datetime | None = None
) -> Profile:
    """The profile of a member the viewer may see; :class:`MemberNotFound` otherwise."""
    now = now or utcnow()
    member = session.scalar(_visible_members(viewer_id, now).where(Member.id == member_id))
    if member is None:
        raise MemberNotFound(member_id)
    return Profile(member, _places_shown(session, viewer_id, [member.id], now)[member.id])


def list_members(
    session: Session,
    viewer_id: int,
    *,
    place_id: str | None = None,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    now: datetime | None = None,
) -> Page[Profile]:
    """The members the viewer may see, by id; with ``place_id``, those at or below it.

    ``place_id`` must be a place the viewer reads (:class:`PlaceNotVisible` otherwise),
    and narrowing never widens: the result is still cut by the member-visibility rule.
    """
    now = now or utcnow()
    stmt = _visible_members(viewer_id, now)
    if place_id is not None:
        if not can_see_place(session, viewer_id, place_id, now=now):
            raise PlaceNotVisible(place_id)
        stmt = stmt.where(Member.id.in_(
            select(Membership.member_id)
            .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
            .where(PlaceAncestor.ancestor_id == place_id, current_membership(now))
        ))
    page = paginate(session, stmt, Member.id, limit=limit, cursor=cursor)
    members = [member for (member,) in page.items]
    places = _places_shown(session, viewer_id, [m.id for m in members], now)
    return Page([Profile(m, places.get(m.id, [])) for m in members], page.next_cursor)
