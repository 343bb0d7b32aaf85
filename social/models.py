"""The social layer's tables, as SQLAlchemy 2 typed ORM classes.

The schema is created by the Alembic migrations in ``social/migrations``, never by
``metadata.create_all``: a test compares both so they cannot drift apart.

Every timestamp is a timezone-aware UTC ``datetime`` in Python, whatever the backend
(SQLite has no time zones, so :class:`UTCDateTime` stores naive UTC there and puts the
zone back on the way out).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names that Alembic can find again on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PLACE_KINDS = ("city", "neighbourhood", "building", "entrance", "floor", "unit")
LANGUAGES = ("fr", "en")
POST_KINDS = (
    "message", "alert", "notice", "help_request", "service_offer", "service_request",
    "lending", "event", "promotion", "lost_found", "poll", "problem_report",
)
MODERATION_STATES = ("visible", "hidden")
POST_STATUSES = ("active", "resolved")
#: ``active`` → ``acknowledged`` (by a manager, with a note) → ``cleared``; an alarm may
#: also clear straight from ``active``.
ALARM_STATES = ("active", "acknowledged", "cleared")
#: The states in which an alarm is still open (its ``open_key`` is set).
OPEN_ALARM_STATES = ("active", "acknowledged")
NOTIFICATION_KINDS = ("alarm", "notice", "escalation", "help_request")
OUTBOX_KINDS = ("webhook", "command")
OUTBOX_STATUSES = ("pending", "sent", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; a naive datetime is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


PlaceKey = Annotated[str, mapped_column(String(120))]
Name = Annotated[str, mapped_column(String(200))]
Key = Annotated[str, mapped_column(String(120))]
Timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
#: Text per language: ``{"fr": "Fuite d'eau", "en": "Water leak"}``.
LocalText = Annotated[dict[str, str], mapped_column(JSON)]
#: A post's text per language: ``{"fr": {"title": ..., "body": ...}, "en": {...}}``.
LocalContent = Annotated[dict[str, dict[str, str]], mapped_column(JSON)]
#: A local time of day, ``"HH:MM"``, in the site's time zone.
TimeOfDay = Annotated[str, mapped_column(String(5))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime()}  # noqa: RUF012


class Place(Base):
    """A node of the site tree; its id is its path (``lilas/b/3/31``)."""

    __tablename__ = "places"
    __table_args__ = (
        CheckConstraint(_in("kind", PLACE_KINDS), name="kind"),
        CheckConstraint(_in("language", LANGUAGES), name="language"),
    )

    id: Mapped[PlaceKey] = mapped_column(primary_key=True)
    parent_id: Mapped[PlaceKey | None] = mapped_column(ForeignKey("places.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[Name]
    language: Mapped[str] = mapped_column(String(2))


class PlaceAncestor(Base):
    """Closure table: one row per (place, ancestor), the place itself at depth 0.

    It turns "is P above one of my places?" into one indexed join instead of a
    recursive query, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "place_ancestors"
    __table_args__ = (Index("ix_place_ancestors_ancestor_id_depth", "ancestor_id", "depth"),)

    place_id: Mapped[PlaceKey] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True
    )
    ancestor_id: Mapped[PlaceKey] = mapped_column(
        ForeignKey("places.id", ondelete="CASCADE"), primary_key=True
    )
    depth: Mapped[int] = mapped_column(Integer)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (CheckConstraint(_in("language", LANGUAGES), name="language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[Name]
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[Timestamp]
    #: Resident notifications created between these local times wait until ``quiet_end``
    #: (equal times: no quiet hours). Critical alarms ignore them.
    quiet_start: Mapped[TimeOfDay] = mapped_column(default="22:00", server_default="22:00")
    quiet_end: Mapped[TimeOfDay] = mapped_column(default="07:00", server_default="07:00")
    #: Profiles show "Amélie R." unless the member chooses to show the full name.
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    show_full_name: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    email: Mapped[str | None] = mapped_column(String(254))
    #: Set when the member deleted their account: the row stays, anonymised, for their posts.
    deleted_at: Mapped[Timestamp | None]


class Membership(Base):
    """A member's tie to a place. Only a verified membership that has not ended gives access."""

    __tablename__ = "memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    place_id: Mapped[PlaceKey] = mapped_column(ForeignKey("places.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[Timestamp]
    ended_at: Mapped[Timestamp | None]
    #: The on-call contact of the place's building: rules and escalations may page them.
    on_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class AuthToken(Base):
    """An issued bearer token, kept only as its SHA-256 so a database leak leaks no login."""

    __tablename__ = "auth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[Timestamp]
    expires_at: Mapped[Timestamp] = mapped_column(index=True)


class Alarm(Base):
    """One episode of a rule firing for a device (or an incident grouping several).

    ``open_key`` is ``"rule_id|device_id"`` while the alarm is open (active or
    acknowledged) and NULL once cleared; its UNIQUE constraint is what keeps two workers
    (or one message delivered twice) from opening the same alarm twice.

    The texts to show when a manager acknowledges it and when it clears, the escalation
    plan and the evidence are stored with it: the rule that raised it may have changed
    (or gone) by then, and what happens to an alarm must follow the rule it was raised by.
    ``next_escalation_at`` is when the next unacknowledged step is due (NULL when none is
    left), so finding due escalations is one indexed query.
    """

    __tablename__ = "alarms"
    __table_args__ = (
        UniqueConstraint("rule_id", "device_id", "episode"),
        CheckConstraint(_in("state", ALARM_STATES), name="state"),
        Index("ix_alarms_building_state_raised", "building_id", "state", "raised_at"),
        Index("ix_alarms_state_next_escalation_at", "state", "next_escalation_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[Key]
    device_id: Mapped[Key]
    episode: Mapped[int] = mapped_column(Integer)
    place_id: Mapped[PlaceKey] = mapped_column(ForeignKey("places.id"))
    building_id: Mapped[PlaceKey | None] = mapped_column(ForeignKey("places.id"))
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(12))
    title: Mapped[LocalText]
    raised_at: Mapped[Timestamp]
    cleared_at: Mapped[Timestamp | None]
    open_key: Mapped[str | None] = mapped_column(String(250), unique=True)
    acknowledged_at: Mapped[Timestamp | None]
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL")
    )
    ack_note: Mapped[str | None] = mapped_column(Text)
    #: The rule's escalation steps as rendered by the engine: ``[{"after": seconds,
    #: "notify": "on_call"|"managers", "help_request": {place_id, kind, title, body}|None,
    #: "escalated_at": iso|None}]``.
    escalation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    escalated_steps: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    next_escalation_at: Mapped[Timestamp | None]
    #: ``[{"device_id", "what", "at" (epoch seconds), "condition"}]``: why it was raised.
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    acknowledge_text: Mapped[LocalText] = mapped_column(default=dict)
    clear_text: Mapped[LocalText] = mapped_column(default=dict)
    notify_on_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Post(Base):
    """Something said in a place's feed; ``author_id`` is NULL when the rules engine said it."""

    __tablename__ = "posts"
    __table_args__ = (
        CheckConstraint(_in("kind", POST_KINDS), name="kind"),
        CheckConstraint(_in("status", POST_STATUSES), name="status"),
        CheckConstraint(_in("moderation", MODERATION_STATES), name="moderation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[PlaceKey] = mapped_column(ForeignKey("places.id"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[LocalContent]
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
    resolved_at: Mapped[Timestamp | None]
    #: The alarm this post speaks for: its alert or notice (at most one, of kind alert or
    #: notice) and the help requests it opened (kind help_request).
    alarm_id: Mapped[int | None] = mapped_column(
        ForeignKey("alarms.id", ondelete="SET NULL"), index=True
    )
    #: In a building's space: hidden from its managers, seen by residents only.
    residents_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Kind-specific fields: a lending's object and due date, an event's start and capacity,
    #: a poll's options, a problem report's status, a promotion's expiry...
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pinned_until: Mapped[Timestamp | None]
    expires_at: Mapped[Timestamp | None]
    moderation: Mapped[str] = mapped_column(String(8), default="visible",
                                            server_default="visible")


#: The feed reads one place's posts newest first, ties broken by id.
Index("ix_posts_feed", Post.place_id, Post.created_at.desc(), Post.id)
#: The feed's default page: every readable post newest first, stopping after a page.
Index("ix_posts_newest", Post.created_at.desc(), Post.id.desc())
#: The feed's pinned notices: the few posts with a pin.
Index("ix_posts_pinned", Post.pinned_until, sqlite_where=Post.pinned_until.is_not(None),
      postgresql_where=Post.pinned_until.is_not(None))


COMMAND_STATUSES = ("published", "failed")


class CommandLog(Base):
    """The audit log of device commands: who asked what of which device, and what happened."""

    __tablename__ = "command_log"
    __table_args__ = (CheckConstraint(_in("status", COMMAND_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    device_id: Mapped[Key] = mapped_column(index=True)
    point: Mapped[Key]
    value: Mapped[Any] = mapped_column(JSON)
    topic: Mapped[str] = mapped_column(String(250))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[Timestamp]


class RuleState(Base):
    """A rule's state for one subject (timers, pending ``for:``, episode), saved with the
    actions it led to so that a restart or a reload resumes exactly where it stopped."""

    __tablename__ = "rule_states"

    rule_id: Mapped[Key] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(250), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[Timestamp]


class Notification(Base):
    """Something one member is told privately: an alarm, a notice, an escalation, a help request.

    ``deliver_after`` is when the member may see it (the end of their quiet hours for a
    resident told at night); the API never shows it before.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTIFICATION_KINDS), name="kind"),
        Index("ix_notifications_member_id_deliver_after", "member_id", "deliver_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    alarm_id: Mapped[int | None] = mapped_column(
        ForeignKey("alarms.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[LocalContent]
    created_at: Mapped[Timestamp]
    deliver_after: Mapped[Timestamp]
    read_at: Mapped[Timestamp | None]


class OutboxEntry(Base):
    """A webhook call or device command an alarm asked for, sent after the transaction
    that raised it commits (the transactional outbox): the alarm and its side effects
    are stored together, and a crash between them loses nothing.

    ``next_attempt_at`` doubles as a lease: a dispatcher claims a row by moving it past
    the attempt's deadline, so a second dispatcher does not send it at the same time,
    and a dispatcher that dies mid-send lets the row come due again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("alarm_id", "kind", "position"),
        CheckConstraint(_in("kind", OUTBOX_KINDS), name="kind"),
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_id: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer)
    #: webhook: ``{url, method, body, timeout, retries}``; command:
    #: ``{device_id, point, value, retries}``.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The HTTP status of the last webhook answer, when there was one.
    http_status: Mapped[int | None] = mapped_column(Integer)
    next_attempt_at: Mapped[Timestamp]
    created_at: Mapped[Timestamp]
    finished_at: Mapped[Timestamp | None]


# The community tables live in their own module; importing it registers them on Base.
from social import community_models  # noqa: E402, F401
