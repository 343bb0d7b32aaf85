"""What the API returns: one ``...Public`` model per resource, never an ORM object."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorPublic(Public):
    detail: str


class ValidationErrorPublic(ErrorPublic):
    errors: list[dict[str, object]]


class TokenPublic(Public):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class PlacePublic(Public):
    id: str
    kind: str
    name: str


class MembershipPublic(Public):
    id: int
    place: PlacePublic
    role: str
    verified: bool
    started_at: datetime
    ended_at: datetime | None


class MemberPublic(Public):
    id: int
    username: str
    display_name: str
    language: str
    memberships: list[MembershipPublic]


class MemberRefPublic(Public):
    id: int
    display_name: str


class PostCountsPublic(Public):
    """What is shown under a post; ``attending`` for events, ``votes`` for polls."""

    comments: int = 0
    #: Per reaction kind: ``like``, ``thanks``, ``still_happening``, ``me_too``.
    reactions: dict[str, int] = Field(default_factory=dict)
    attending: int | None = None
    votes: int | None = None


class PostPublic(Public):
    """A post in the reader's language; the fields after ``alarm_id`` have defaults so
    that every producer of posts (feed, search, stream) may fill what it knows."""

    id: int
    place: PlacePublic
    kind: str
    title: str
    body: str
    status: str
    created_at: datetime
    resolved_at: datetime | None
    alarm_id: int | None
    #: The language ``title`` and ``body`` are in (the author's, for a member's post).
    language: str | None = None
    updated_at: datetime | None = None
    #: None for the rules engine's posts (alerts, their help requests).
    author: MemberRefPublic | None = None
    residents_only: bool = False
    #: The kind's own fields (``social.post_kinds``): a lending's object and due date, an
    #: event's start and capacity, a poll's options, a problem report's status...
    data: dict[str, Any] = Field(default_factory=dict)
    #: "Shop promotion" on every promotion, in the reader's language.
    label: str | None = None
    #: An official notice pinned at the top of the feed right now.
    pinned: bool = False
    pinned_until: datetime | None = None
    expires_at: datetime | None = None
    moderation: Literal["visible", "hidden"] = "visible"
    counts: PostCountsPublic = Field(default_factory=PostCountsPublic)
    my_reactions: list[str] = Field(default_factory=list)
    #: Service offers: how many verified neighbours vouch for the author for its category.
    vouched_by: int | None = None
    #: An alert's alarm: active, acknowledged (a manager took charge) or cleared.
    alarm_state: Literal["active", "acknowledged", "cleared"] | None = None


class FeedPublic(Public):
    items: list[PostPublic]
    next_cursor: str | None


class AlarmPublic(Public):
    id: int
    rule_id: str
    device_id: str
    episode: int
    place: PlacePublic
    building_id: str | None
    severity: str
    state: Literal["active", "acknowledged", "cleared"]
    title: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: MemberRefPublic | None
    ack_note: str | None
    escalated_steps: int
    cleared_at: datetime | None
    #: Residents who pressed "still happening" on the alarm's alert post, and when last.
    still_happening: int = 0
    still_happening_last_at: datetime | None = None


class AlarmsPublic(Public):
    items: list[AlarmPublic]


class AcknowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=2000,
                      description="what is being done, shown to residents on the alert post")


class EvidencePublic(Public):
    device_id: str
    what: str
    at: datetime
    condition: str


class EscalationPublic(Public):
    step: int
    after_seconds: float
    notify: str
    due_at: datetime
    escalated_at: datetime | None
    help_request: bool


class AlarmTimesPublic(Public):
    raised_at: datetime
    acknowledged_at: datetime | None
    escalations: list[EscalationPublic]
    cleared_at: datetime | None


class AlarmExplanationPublic(Public):
    """Why an alarm was raised and what happened to it since."""

    alarm: AlarmPublic
    rule_id: str
    severity: str
    evidence: list[EvidencePublic]
    times: AlarmTimesPublic


class NotificationPublic(Public):
    id: int
    kind: str
    alarm_id: int | None
    title: str
    body: str
    created_at: datetime
    delivered_at: datetime
    read_at: datetime | None


class NotificationsPublic(Public):
    items: list[NotificationPublic]


class HealthPublic(Public):
    status: Literal["ok", "error"]
    database: str
