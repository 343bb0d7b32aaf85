"""Joining a building and leaving it: invite codes, join requests, the end of a membership.

Trust starts at the door. A membership gives access only once it is verified, and
there are exactly two ways to get one:

* an **invite code** a manager issued for one unit — printed on a letter, or sent as a
  link — redeemed once, before it expires, by a new account or a logged-in member;
* a **join request** a member files for a unit, approved by a manager of its building.

A membership has a start and an end: moving out ends it, and with it access to the
building's space, but not the account, which keeps its other memberships, its
history and its login.

Who manages what comes from :mod:`social.visibility` (``manageable_building_ids``);
this module never decides it on its own. Functions take an injectable ``now`` so the
rules about time (expiry, single use) are tested without waiting; the caller commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Row, Select, SQLColumnExpression, exists, or_, select, update
from sqlalchemy.orm import Session

from social.accounts import create_member
from social.community_models import InviteCode, JoinRequest
from social.errors import (
    InvalidInviteCode,
    InviteGone,
    InviteNotFound,
    InviteUsed,
    JoinRequestNotFound,
    MembershipConflict,
    MembershipNotFound,
    NotAManager,
    PlaceNotFound,
    WrongPlaceKind,
)
from social.models import Member, Membership, Place, PlaceAncestor, utcnow
from social.paging import DEFAULT_PAGE, Page, paginate
from social.profiles import apply_names
from social.visibility import (
    RESIDENT_ROLES,
    current_membership,
    manageable_building_ids,
    manages_any_building,
)

#: What an invite or a join request may make someone: the people who live in a unit.
JoinRole = Literal["resident", "owner", "tenant"]
JoinStatusFilter = Literal["pending", "approved", "rejected", "all"]
InviteStatus = Literal["active", "used", "revoked", "expired"]

DEFAULT_INVITE_TTL = timedelta(days=30)
#: No 0/O, 1/I/L or U (read as V): a code is read off paper and typed on a phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
_CODE_GROUPS = (4, 4, 2)
_SEPARATORS = re.compile(r"[\s\-_.]+")


# -- places and managers -----------------------------------------------------------------

def place_of_kind(session: Session, place_id: str, kind: str, why: str) -> Place:
    """The place ``place_id``, which must be a ``kind``; ``why`` explains the requirement."""
    place = session.get(Place, place_id)
    if place is None:
        raise PlaceNotFound(place_id, kind)
    if place.kind != kind:
        raise WrongPlaceKind(place_id, place.kind, kind, why)
    return place


def building_of(session: Session, place_id: str) -> Place | None:
    """The building ``place_id`` is in (itself when it is one); None above buildings."""
    return session.scalar(
        select(Place)
        .join(PlaceAncestor, PlaceAncestor.ancestor_id == Place.id)
        .where(PlaceAncestor.place_id == place_id, Place.kind == "building")
    )


def manages_building(
    session: Session, member_id: int, building_id: str, *, now: datetime | None = None
) -> bool:
    managed = manageable_building_ids(member_id, now=now).where(
        PlaceAncestor.ancestor_id == building_id
    )
    return bool(session.scalar(select(exists(managed))))


def _require_manager(
    session: Session, member_id: int, place: Place, what: str, now: datetime
) -> Place:
    """The building of ``place``, when ``member_id`` manages it; else :class:`NotAManager`."""
    building = building_of(session, place.id)
    if building is None or not manages_building(session, member_id, building.id, now=now):
        where = building.name if building is not None else place.name
        raise NotAManager(
            f"only the managers of {where} may {what}: you hold no verified manager, "
            "syndic or landlord membership there"
        )
    return building


def _under_managed_buildings(
    place_column: SQLColumnExpression[str], member_id: int, now: datetime
) -> SQLColumnExpression[bool]:
    """True for a place at or below a building ``member_id`` manages."""
    managed = manageable_building_ids(member_id, now=now).correlate(None)
    return place_column.in_(
        select(PlaceAncestor.place_id).where(PlaceAncestor.ancestor_id.in_(managed))
    )


def _unit(session: Session, place_id: str) -> Place:
    return place_of_kind(session, place_id, "unit",
                         "invites and join requests are for one unit (a flat)")


def _new_membership(session: Session, member_id: int, place_id: str, role: str,
                    now: datetime) -> Membership:
    membership = Membership(member_id=member_id, place_id=place_id, role=role,
                            verified=True, started_at=now)
    session.add(membership)
    session.flush()
    return membership


def _lives_there(session: Session, member_id: int, place_id: str, now: datetime) -> bool:
    """Whether ``member_id`` already holds a current resident membership of ``place_id``."""
    return bool(session.scalar(select(exists(
        select(Membership.id).where(
            Membership.member_id == member_id,
            Membership.place_id == place_id,
            Membership.role.in_(RESIDENT_ROLES),
            current_membership(now),
        )
    ))))


# -- invite codes ------------------------------------------------------------------------

def new_code() -> str:
    """A fresh random code, grouped for reading aloud: ``ABCD-EFGH-JK`` (about 49 bits)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return _grouped(raw)


def _grouped(raw: str) -> str:
    parts, start = [], 0
    for size in _CODE_GROUPS:
        parts.append(raw[start:start + size])
        start += size
    return "-".join(parts)


def normalise_code(typed: str) -> str:
    """The stored form of a code as someone typed it: any case, dashes and spaces optional."""
    raw = _SEPARATORS.sub("", typed).upper()
    if len(raw) != CODE_LENGTH or any(char not in CODE_ALPHABET for char in raw):
        raise InvalidInviteCode(typed[:40])
    return _grouped(raw)


def join_link(code: str) -> str:
    """The link printed beside the code; relative, so it works behind any host name."""
    return f"/join?code={code}"


def invite_status(invite: InviteCode, now: datetime | None = None) -> InviteStatus:
    now = now or utcnow()
    if invite.used_at is not None:
        return "used"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= now:
        return "expired"
    return "active"


@dataclass(frozen=True, slots=True)
class InviteTarget:
    """What an anonymous visitor holding a code may learn: where it leads, nothing more."""

    building: str
    unit: str
    name: str


def issue_invite(
    session: Session,
    manager: Member,
    unit_id: str,
    role: JoinRole = "resident",
    *,
    ttl: timedelta = DEFAULT_INVITE_TTL,
    now: datetime | None = None,
) -> tuple[InviteCode, Place]:
    """A new single-use code for ``unit_id``, issued by one of its building's managers."""
    now = now or utcnow()
    unit = _unit(session, unit_id)
    _require_manager(session, manager.id, unit, "issue invite codes for its flats", now)
    code = new_code()
    while session.scalar(select(exists().where(InviteCode.code == code))):
        code = new_code()  # about one chance in 10^14 per code already issued
    invite = InviteCode(code=code, place_id=unit.id, role=role, created_by=manager.id,
                        created_at=now, expires_at=now + ttl)
    session.add(invite)
    session.flush()
    return invite, unit


def list_invites(
    session: Session,
    manager_id: int,
    unit_id: str,
    *,
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    now: datetime | None = None,
) -> tuple[Place, Page[Row[InviteCode, Member | None]]]:
    """The unit, and the codes issued for it, newest first, with the member who used each."""
    now = now or utcnow()
    unit = _unit(session, unit_id)
    _require_manager(session, manager_id, unit, "see the invite codes of its flats", now)
    stmt = (
        select(InviteCode, Member)
        .outerjoin(Member, Member.id == InviteCode.used_by)
        .where(InviteCode.place_id == unit.id)
    )
    return unit, paginate(session, stmt, InviteCode.id, limit=limit, cursor=cursor,
                          descending=True)


def _invite(session: Session, code: str) -> tuple[InviteCode, Place]:
    normalised = normalise_code(code)
    row = session.execute(
        select(InviteCode, Place)
        .join(Place, Place.id == InviteCode.place_id)
        .where(InviteCode.code == normalised)
    ).first()
    if row is None:
        raise InviteNotFound(normalised)
    invite, unit = row
    return invite, unit


def _check_usable(invite: InviteCode, now: datetime) -> None:
    status = invite_status(invite, now)
    if status == "used":
        raise InviteUsed(invite.code)
    if status == "revoked":
        raise InviteGone(invite.code, "was revoked by the building's manager")
    if status == "expired":
        raise InviteGone(invite.code, f"expired on {invite.expires_at:%Y-%m-%d}")


def revoke_invite(
    session: Session, manager_id: int, code: str, *, now: datetime | None = None
) -> tuple[InviteCode, Place]:
    """Revoke a code that has not been used; revoking it again changes nothing."""
    now = now or utcnow()
    invite, unit = _invite(session, code)
    _require_manager(session, manager_id, unit, "revoke the invite codes of its flats", now)
    if invite.used_at is not None:
        raise MembershipConflict(
            f"the invite code {invite.code} was already used on {invite.used_at:%Y-%m-%d}: "
            "end the membership it gave instead"
        )
    if invite.revoked_at is None:
        invite.revoked_at = now
        session.flush()
    return invite, unit


def describe_invite(session: Session, code: str, *, now: datetime | None = None) -> InviteTarget:
    """Where a usable code leads, for the join page: the building and the unit, by name.

    Anyone may ask, without logging in, so this says nothing else: not the place id,
    not who issued the code, not who lives there.
    """
    invite, unit = _invite(session, code)
    _check_usable(invite, now or utcnow())
    building = building_of(session, unit.id)
    building_name = building.name if building is not None else ""
    prefix = f"{building_name}, "
    unit_label = unit.name[len(prefix):] if unit.name.startswith(prefix) else unit.name
    return InviteTarget(building=building_name, unit=unit_label, name=unit.name)


def _claim(session: Session, invite: InviteCode, member_id: int, now: datetime) -> None:
    """Mark the code used by ``member_id``, unless someone else was quicker.

    The check and the write are one conditional UPDATE, so two people redeeming the
    same code at once (on two API replicas) cannot both succeed: the second one's
    UPDATE waits for the first to commit, then matches no row.
    """
    claimed = session.execute(
        update(InviteCode)
        .where(
            InviteCode.id == invite.id,
            InviteCode.used_at.is_(None),
            InviteCode.revoked_at.is_(None),
            InviteCode.expires_at > now,
        )
        .values(used_by=member_id, used_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(invite)
    if getattr(claimed, "rowcount", 0) != 1:
        _check_usable(invite, now)
        raise InviteUsed(invite.code)  # unreachable unless the row changed under us


def join_with_invite(
    session: Session,
    code: str,
    *,
    username: str,
    password: str,
    language: str = "fr",
    display_name: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    now: datetime | None = None,
) -> tuple[Member, Membership]:
    """A new account with a verified membership of the code's unit: joining by letter.

    The code is checked before the account is created, and claimed in the same
    transaction: if anything fails, there is neither an account nor a used code.
    """
    now = now or utcnow()
    invite, unit = _invite(session, code)
    _check_usable(invite, now)
    member = create_member(session, username, password,
                           display_name=display_name or first_name, language=language)
    if first_name is not None:
        apply_names(member, {"first_name": first_name, "last_name": last_name})
    _claim(session, invite, member.id, now)
    return member, _new_membership(session, member.id, unit.id, invite.role, now)


def redeem_invite(
    session: Session, member: Member, code: str, *, now: datetime | None = None
) -> tuple[Membership, Place]:
    """A verified membership of the code's unit for a member who already has an account."""
    now = now or utcnow()
    invite, unit = _invite(session, code)
    _check_usable(invite, now)
    if _lives_there(session, member.id, unit.id, now):
        raise MembershipConflict(
            f"you already live at {unit.name}: keep the code {invite.code} for someone else"
        )
    _claim(session, invite, member.id, now)
    return _new_membership(session, member.id, unit.id, invite.role, now), unit


# -- join requests -----------------------------------------------------------------------

def request_to_join(
    session: Session,
    member: Member,
    unit_id: str,
    role: JoinRole,
    message: str = "",
    *,
    now: datetime | None = None,
) -> tuple[JoinRequest, Place]:
    """Ask the managers of a unit's building for a membership; one open request per unit."""
    now = now or utcnow()
    unit = _unit(session, unit_id)
    if _lives_there(session, member.id, unit.id, now):
        raise MembershipConflict(f"you already live at {unit.name}")
    pending = session.scalar(select(JoinRequest.id).where(
        JoinRequest.member_id == member.id, JoinRequest.place_id == unit.id,
        JoinRequest.status == "pending",
    ))
    if pending is not None:
        raise MembershipConflict(
            f"you already asked to join {unit.name} (request {pending}): "
            "its managers have not answered yet"
        )
    request = JoinRequest(member_id=member.id, place_id=unit.id, role=role, message=message,
                          status="pending", created_at=now)
    session.add(request)
    session.flush()
    return request, unit


@dataclass(frozen=True, slots=True)
class JoinRequestRow:
    request: JoinRequest
    place: Place
    member: Member


def _request_rows() -> Select[JoinRequest, Place, Member]:
    return (
        select(JoinRequest, Place, Member)
        .join(Place, Place.id == JoinRequest.place_id)
        .join(Member, Member.id == JoinRequest.member_id)
    )


def building_join_requests(
    session: Session,
    manager_id: int,
    building_id: str,
    *,
    status: JoinStatusFilter = "pending",
    limit: int = DEFAULT_PAGE,
    cursor: str | None = None,
    now: datetime | None = None,
) -> Page[JoinRequestRow]:
    """The join requests for the units of a building, oldest first (answer them in order)."""
    now = now or utcnow()
    building = place_of_kind(session, building_id, "building",
                             "join requests are listed per building")
    _require_manager(session, manager_id, building, "see its join requests", now)
    stmt = _request_rows().where(JoinRequest.place_id.in_(
        select(PlaceAncestor.place_id).where(PlaceAncestor.ancestor_id == building.id)
    ))
    if status != "all":
        stmt = stmt.where(JoinRequest.status == status)
    page = paginate(session, stmt, JoinRequest.id, limit=limit, cursor=cursor)
    return Page([JoinRequestRow(*row) for row in page.items], page.next_cursor)


def own_join_requests(
    session: Session, member_id: int, *, limit: int = DEFAULT_PAGE, cursor: str | None = None
) -> Page[JoinRequestRow]:
    """The caller's own requests, newest first, so they know where they stand."""
    stmt = _request_rows().where(JoinRequest.member_id == member_id)
    page = paginate(session, stmt, JoinRequest.id, limit=limit, cursor=cursor, descending=True)
    return Page([JoinRequestRow(*row) for row in page.items], page.next_cursor)


def decide_join_request(
    session: Session,
    manager_id: int,
    request_id: int,
    *,
    approve: bool,
    now: datetime | None = None,
) -> tuple[JoinRequestRow, Membership | None]:
    """Approve (a verified membership starts now) or reject a pending request.

    A request of a building the caller does not manage answers "not found", as if it
    did not exist. The status moves by a conditional UPDATE so two managers deciding
    at once cannot both succeed (nor create two memberships).
    """
    now = now or utcnow()
    if not manages_any_building(session, manager_id, now=now):
        raise NotAManager(
            "join requests are decided by the managers of the building: you hold no verified "
            "manager, syndic or landlord membership of a building"
        )
    row = session.execute(_request_rows().where(
        JoinRequest.id == request_id,
        _under_managed_buildings(JoinRequest.place_id, manager_id, now),
    )).first()
    if row is None:
        raise JoinRequestNotFound(request_id)
    request, place, member = row
    decided = session.execute(
        update(JoinRequest)
        .where(JoinRequest.id == request.id, JoinRequest.status == "pending")
        .values(status="approved" if approve else "rejected", decided_by=manager_id,
                decided_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(request)
    if getattr(decided, "rowcount", 0) != 1:
        when = f" on {request.decided_at:%Y-%m-%d}" if request.decided_at else ""
        raise MembershipConflict(f"join request {request.id} was already {request.status}{when}")
    membership = None
    if approve and not _lives_there(session, member.id, place.id, now):
        membership = _new_membership(session, member.id, place.id, request.role, now)
    return JoinRequestRow(request, place, member), membership


# -- the end of a membership -------------------------------------------------------------

def end_membership(
    session: Session, actor_id: int, membership_id: int, *, now: datetime | None = None
) -> tuple[Membership, Place]:
    """End a membership now: by its member (moving out), or by a manager of its building.

    A manager ends residents' memberships only — the people they let in — not a
    fellow manager's or the installer's, which the installation's configuration owns.
    The account is untouched: its other memberships and its login remain.
    """
    now = now or utcnow()
    row = session.execute(
        select(Membership, Place).join(Place, Place.id == Membership.place_id)
        .where(Membership.id == membership_id)
    ).first()
    if row is None:
        raise MembershipNotFound(membership_id)
    membership, place = row
    if membership.member_id != actor_id:
        building = building_of(session, place.id)
        if building is None or not manages_building(session, actor_id, building.id, now=now):
            raise MembershipNotFound(membership_id)
        if membership.role not in RESIDENT_ROLES:
            raise NotAManager(
                f"a manager ends residents' memberships only; membership {membership_id} is "
                f"a {membership.role}'s, set by the installation's configuration"
            )
    if membership.ended_at is not None and membership.ended_at <= now:
        raise MembershipConflict(
            f"membership {membership_id} already ended on {membership.ended_at:%Y-%m-%d}"
        )
    membership.ended_at = now
    session.flush()
    return membership, place


def current_memberships(
    session: Session, member_id: int, *, now: datetime | None = None
) -> list[tuple[Membership, Place]]:
    """The member's memberships that have not ended (unverified ones included), oldest first."""
    now = now or utcnow()
    rows = session.execute(
        select(Membership, Place)
        .join(Place, Place.id == Membership.place_id)
        .where(
            Membership.member_id == member_id,
            or_(Membership.ended_at.is_(None), Membership.ended_at > now),
        )
        .order_by(Membership.started_at, Membership.id)
    )
    return [(membership, place) for membership, place in rows]
