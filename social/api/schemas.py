"""What the API returns: one ``...Public`` model per resource, never an ORM object."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

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


class PostPublic(Public):
    id: int
    place: PlacePublic
    kind: str
    title: str
    body: str
    status: str
    created_at: datetime
    resolved_at: datetime | None
    alarm_id: int | None


class FeedPublic(Public):
    items: list[PostPublic]
    next_cursor: str | None


class MemberRefPublic(Public):
    id: int
    display_name: str


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
