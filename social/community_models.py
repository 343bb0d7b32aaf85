"""Tables of the neighbours' side: joining, conversations, trust, moderation, staying informed.

Kept apart from ``social.models`` (places, members, alarms, posts) so each stays
readable; both register on the same ``Base``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from social.models import Base, Key, PlaceKey, Timestamp, _in

MemberRef = int


def _member(*, nullable: bool = False, index: bool = True) -> Any:
    return mapped_column(ForeignKey("members.id", ondelete="CASCADE"), nullable=nullable,
                         index=index)


def _post() -> Any:
    return mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)


# -- joining -----------------------------------------------------------------------------

class InviteCode(Base):
    """A code a manager issues for one unit; redeeming it gives a verified membership."""

    __tablename__ = "invite_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    place_id: Mapped[PlaceKey] = mapped_column(ForeignKey("places.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[Timestamp]
    expires_at: Mapped[Timestamp]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    used_at: Mapped[Timestamp | None]
    revoked_at: Mapped[Timestamp | None]


JOIN_STATES = ("pending", "approved", "rejected")


class JoinRequest(Base):
    """A member asks to join a unit; a manager of that building approves or rejects it."""

    __tablename__ = "join_requests"
    __table_args__ = (CheckConstraint(_in("status", JOIN_STATES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[MemberRef] = _member()
    place_id: Mapped[PlaceKey] = mapped_column(ForeignKey("places.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    decided_at: Mapped[Timestamp | None]
    created_at: Mapped[Timestamp]


class LoginAttempt(Base):
    """Failed logins by username, for rate limiting across API replicas."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[Timestamp]


# -- conversations -----------------------------------------------------------------------

class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (CheckConstraint(_in("moderation", ("visible", "hidden")),
                                      name="moderation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    author_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"),
                                                  index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[Timestamp]
    moderation: Mapped[str] = mapped_column(String(8), default="visible",
                                            server_default="visible")


class Reaction(Base):
    """A reaction to a post: ``like``, ``thanks``, ``still_happening`` (alerts), ``me_too``
    (problem reports)."""

    __tablename__ = "reactions"
    __table_args__ = (UniqueConstraint("post_id", "member_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    member_id: Mapped[MemberRef] = _member()
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[Timestamp]


class PostRead(Base):
    """A member read a post: unread counts, and read receipts per household for notices."""

    __tablename__ = "post_reads"
    __table_args__ = (UniqueConstraint("post_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    member_id: Mapped[MemberRef] = _member()
    read_at: Mapped[Timestamp]


HELP_OFFER_STATES = ("offered", "accepted", "declined", "withdrawn")


class HelpOffer(Base):
    """"I can help": seen by the requester and the helper only; the requester accepts one."""

    __tablename__ = "help_offers"
    __table_args__ = (UniqueConstraint("post_id", "member_id"),
                      CheckConstraint(_in("status", HELP_OFFER_STATES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    member_id: Mapped[MemberRef] = _member()
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="offered")
    created_at: Mapped[Timestamp]


class Rsvp(Base):
    __tablename__ = "rsvps"
    __table_args__ = (UniqueConstraint("post_id", "member_id"),
                      CheckConstraint(_in("answer", ("yes", "no", "maybe")), name="answer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    member_id: Mapped[MemberRef] = _member()
    answer: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[Timestamp]


class PollVote(Base):
    """One vote per member and poll, guaranteed by the database."""

    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("post_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    member_id: Mapped[MemberRef] = _member()
    option: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[Timestamp]


class Vouch(Base):
    """A verified neighbour vouches for another for a service (babysitting, pet-sitting...)."""

    __tablename__ = "vouches"
    __table_args__ = (UniqueConstraint("voucher_id", "vouchee_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[MemberRef] = _member()
    vouchee_id: Mapped[MemberRef] = _member()
    service: Mapped[Key]
    created_at: Mapped[Timestamp]


class ScopeChange(Base):
    """A post widened by its author (building → neighbourhood), kept as a record."""

    __tablename__ = "post_scope_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    from_place: Mapped[PlaceKey]
    to_place: Mapped[PlaceKey]
    by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    at: Mapped[Timestamp]


# -- moderation --------------------------------------------------------------------------

REPORT_CATEGORIES = ("spam", "abuse", "harassment", "personal_data", "illegal", "advertising",
                     "other")
REPORT_STATES = ("open", "upheld", "dismissed")


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (CheckConstraint(_in("category", REPORT_CATEGORIES), name="category"),
                      CheckConstraint(_in("status", REPORT_STATES), name="status"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"),
                                                index=True)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"),
                                                  index=True)  # a reported member
    reporter_id: Mapped[MemberRef] = _member()
    category: Mapped[str] = mapped_column(String(16))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[Timestamp]


class ModerationEntry(Base):
    """The public moderation log: what was hidden or restored, why, by a pseudonym."""

    __tablename__ = "moderation_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[PlaceKey] = mapped_column(ForeignKey("places.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # hide | restore | appeal_upheld ...
    reason: Mapped[str] = mapped_column(Text)
    moderator_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"))
    moderator_pseudonym: Mapped[str] = mapped_column(String(40))
    at: Mapped[Timestamp]


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("blocker_id", "blocked_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    blocker_id: Mapped[MemberRef] = _member()
    blocked_id: Mapped[MemberRef] = _member()
    created_at: Mapped[Timestamp]


class Appeal(Base):
    __tablename__ = "appeals"
    __table_args__ = (CheckConstraint(_in("status", ("open", "upheld", "rejected")),
                                      name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post()
    author_id: Mapped[MemberRef] = _member()
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[Timestamp]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    decided_at: Mapped[Timestamp | None]


# -- staying informed --------------------------------------------------------------------

class NotificationPref(Base):
    """Per post kind: ``instant``, ``digest`` (daily email) or ``off``."""

    __tablename__ = "notification_prefs"
    __table_args__ = (UniqueConstraint("member_id", "kind"),
                      CheckConstraint(_in("mode", ("instant", "digest", "off")), name="mode"))

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[MemberRef] = _member()
    kind: Mapped[str] = mapped_column(String(20))
    mode: Mapped[str] = mapped_column(String(8))


class DigestRun(Base):
    """One daily digest per member and day, whatever the number of workers."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("member_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[MemberRef] = _member()
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD in the site's time zone
    sent_at: Mapped[Timestamp | None]
    posts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


# -- hall displays ----------------------------------------------------------------------

class DisplayLink(Base):
    """The link a building's hall screen opens, without a login, to show public notices.

    Only the SHA-256 of its token is kept (the link is shown once, when made), so a
    database leak opens no screen; ``hint`` (the token's first characters) lets a
    manager tell their links apart.
    """

    __tablename__ = "display_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[PlaceKey] = mapped_column(ForeignKey("places.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(8))
    label: Mapped[str] = mapped_column(String(80))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[Timestamp]
    revoked_at: Mapped[Timestamp | None]
    #: When a screen last read the board through it (updated at most every few minutes).
    last_used_at: Mapped[Timestamp | None]


__all__ = [
    "Appeal", "Block", "Comment", "DigestRun", "DisplayLink", "HelpOffer", "InviteCode",
    "JoinRequest", "LoginAttempt", "ModerationEntry", "NotificationPref", "PollVote", "PostRead",
    "Reaction", "Report", "Rsvp", "ScopeChange", "Vouch",
]
