"""Hall displays: a building's public board, for the screen in its entrance hall.

Residents who are not online still read the hall. A manager makes a *display link*
for their building (:func:`issue_display_link`); the screen opens it without a login
and shows :func:`board_for_token`: the building's current official notices and its
ongoing incidents, in the building's language. The manager revokes the link when a
screen is lost or replaced.

The link's token is random (192 bits) and only its SHA-256 is stored, as login
tokens are: a leaked database opens no screen. The look-up goes by hash, and the
stored hash is compared again with :func:`hmac.compare_digest`.

Anyone who reads the hall may read the board, so it holds only what every resident
of the building may read, and less:

* notices scoped to the building or one of its entrances, not expired, not hidden,
  never one restricted to residents and never one of a floor or a flat;
* incidents: open alarms (active or acknowledged) *through the post residents were
  shown* — its title, already written with no more precision than the rule's
  ``reveal`` allows — with the severity and whether someone took charge. Not the
  post's body: acknowledging appends the manager's name and note to it. No device,
  no flat, no member name; an alarm without such a post is not shown at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from social.community_models import DisplayLink
from social.errors import NotAManager, SocialError
from social.feed import live, pinned_rank
from social.membership import manages_building, place_of_kind
from social.models import OPEN_ALARM_STATES, Alarm, Member, Place, Post, utcnow
from social.posts import localize_content
from social.visibility import manageable_building_ids

#: What a screen should wait between two reads of the board.
REFRESH_SECONDS = 60
#: ``last_used_at`` is written at most this often per link (a screen reads every minute).
USE_STAMP_EVERY = timedelta(minutes=5)
#: Items of each list on a board: a hall screen has room for a few, in large type.
MAX_ITEMS = 20
TOKEN_BYTES = 24
HINT_LENGTH = 4
#: Incidents in this order on the board: the most serious first.
SEVERITY_ORDER = ("critical", "major", "minor", "warning", "info")


class DisplayLinkNotFound(SocialError):
    """No link with this id among those of the buildings the caller manages (HTTP 404)."""

    def __init__(self, link_id: int) -> None:
        super().__init__(f"no display link {link_id} among those of the buildings you manage")
        self.link_id = link_id


class DisplayUnavailable(SocialError):
    """A token that opens no board: unknown, or revoked (HTTP 404)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_manager(session: Session, member_id: int, building: Place, what: str,
                     now: datetime) -> None:
    if not manages_building(session, member_id, building.id, now=now):
        raise NotAManager(
            f"only the managers of {building.name} may {what}: you hold no verified manager, "
            "syndic or landlord membership there")


def _building(session: Session, building_id: str) -> Place:
    return place_of_kind(session, building_id, "building",
                         "a display link shows the board of one building")


def issue_display_link(session: Session, manager: Member, building_id: str, label: str = "",
                       *, now: datetime | None = None) -> tuple[DisplayLink, str, Place]:
    """A new link for ``building_id``: the row, the token (shown once) and the building."""
    now = now or utcnow()
    building = _building(session, building_id)
    _require_manager(session, manager.id, building, "make display links for its hall", now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = DisplayLink(building_id=building.id, token_hash=token_hash(token),
                       hint=token[:HINT_LENGTH], label=label.strip(), created_by=manager.id,
                       created_at=now)
    session.add(link)
    session.flush()
    return link, token, building


def list_display_links(session: Session, manager_id: int, building_id: str, *,
                       now: datetime | None = None) -> tuple[Place, list[DisplayLink]]:
    """The building and its links, newest first, revoked ones included (marked so)."""
    now = now or utcnow()
    building = _building(session, building_id)
    _require_manager(session, manager_id, building, "see the display links of its hall", now)
    links = session.scalars(select(DisplayLink).where(DisplayLink.building_id == building.id)
                            .order_by(DisplayLink.created_at.desc(), DisplayLink.id.desc()))
    return building, list(links)


def revoke_display_link(session: Session, manager_id: int, link_id: int, *,
                        now: datetime | None = None) -> tuple[DisplayLink, Place]:
    """Revoke a link of a building the caller manages; revoking twice changes nothing.

    A link of another building answers like one that does not exist.
    """
    now = now or utcnow()
    row = session.execute(
        select(DisplayLink, Place).join(Place, Place.id == DisplayLink.building_id)
        .where(DisplayLink.id == link_id,
               DisplayLink.building_id.in_(manageable_building_ids(manager_id, now=now)))
    ).first()
    if row is None:
        raise DisplayLinkNotFound(link_id)
    link, building = row
    if link.revoked_at is None:
        link.revoked_at = now
        session.flush()
    return link, building


# -- the board ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardNotice:
    id: int
    place: Place
    title: str
    body: str
    created_at: datetime
    updated_at: datetime
    pinned: bool
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class BoardIncident:
    id: int  # the resident post's id, as residents know it from their feed
    place: Place
    title: str
    severity: str
    acknowledged: bool
    since: datetime


@dataclass(frozen=True, slots=True)
class Board:
    building: Place
    language: str
    notices: list[BoardNotice]
    incidents: list[BoardIncident]
    generated_at: datetime
    link_id: int
    #: The link's ``last_used_at`` is old enough to be written again (:func:`stamp_use`).
    stamp_due: bool


def find_link(session: Session, token: str) -> DisplayLink:
    """The link ``token`` opens, or :class:`DisplayUnavailable` saying why not."""
    digest = token_hash(token)
    link = session.scalar(select(DisplayLink).where(DisplayLink.token_hash == digest))
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        raise DisplayUnavailable(
            "no such display link: check the address on the screen, or ask the building's "
            "manager for a new link")
    if link.revoked_at is not None:
        raise DisplayUnavailable(
            f"this display link was revoked on {link.revoked_at:%Y-%m-%d}: ask the building's "
            "manager for a new link")
    return link


def _public_scope(building_id: str) -> ColumnElement[bool]:
    """Posts of the building itself or of one of its entrances, for everyone in them."""
    return and_(
        or_(Post.place_id == building_id,
            and_(Place.parent_id == building_id, Place.kind == "entrance")),
        Post.residents_only.is_(False),
        Post.moderation == "visible",
        Post.status == "active",
    )


def board_for_token(session: Session, token: str, *, now: datetime | None = None) -> Board:
    """The public board a display link opens. It only reads (a read-only session will
    do); when ``stamp_due``, record the read with :func:`stamp_use` in a writing one."""
    now = now or utcnow()
    link = find_link(session, token)
    building = session.get(Place, link.building_id)
    if building is None:  # pragma: no cover - places are never deleted
        raise DisplayUnavailable("this display link's building is no longer in the site")
    language = building.language or "fr"
    due = link.last_used_at is None or now - link.last_used_at >= USE_STAMP_EVERY
    return Board(building, language, _notices(session, building.id, language, now),
                 _incidents(session, building.id, language), now, link.id, due)


def stamp_use(session: Session, link_id: int, now: datetime) -> None:
    """Record that a screen read the board, unless that was done recently (one UPDATE that
    checks it, so two screens on one link write once). The caller commits."""
    session.execute(
        update(DisplayLink)
        .where(DisplayLink.id == link_id,
               or_(DisplayLink.last_used_at.is_(None),
                   DisplayLink.last_used_at <= now - USE_STAMP_EVERY))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False))


def _notices(session: Session, building_id: str, language: str,
             now: datetime) -> list[BoardNotice]:
    rank = pinned_rank(now)
    rows = session.execute(
        select(Post, Place, rank).join(Place, Place.id == Post.place_id)
        .where(Post.kind == "notice", Post.alarm_id.is_(None), _public_scope(building_id),
               live(now))
        .order_by(rank.desc(), Post.created_at.desc(), Post.id.desc())
        .limit(MAX_ITEMS)
    )
    notices = []
    for post, place, pinned in rows:
        title, body = localize_content(post.content, language)
        notices.append(BoardNotice(post.id, place, title, body, post.created_at,
                                   post.updated_at, bool(pinned), post.expires_at))
    return notices


def _incidents(session: Session, building_id: str, language: str) -> list[BoardIncident]:
    rows = session.execute(
        select(Alarm, Post, Place).join(Post, Post.alarm_id == Alarm.id)
        .join(Place, Place.id == Post.place_id)
        .where(Alarm.building_id == building_id, Alarm.state.in_(OPEN_ALARM_STATES),
               Post.kind.in_(("alert", "notice")), _public_scope(building_id))
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc(), Post.id)
    )
    seen: set[int] = set()
    incidents = []
    for alarm, post, place in rows:
        if alarm.id in seen:  # the alarm's own post is its first one
            continue
        seen.add(alarm.id)
        title, _body = localize_content(post.content, language)
        incidents.append(BoardIncident(post.id, place, title, alarm.severity,
                                       alarm.state == "acknowledged", alarm.raised_at))
    incidents.sort(key=lambda i: _severity_rank(i.severity))  # stable: newest first within
    return incidents[:MAX_ITEMS]


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
