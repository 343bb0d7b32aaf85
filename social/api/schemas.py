"""What the API returns: one ``...Public`` model per resource, never an ORM object."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


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


class AlarmPublic(Public):
    id: int
    rule_id: str
    device_id: str
    episode: int
    place: PlacePublic
    building_id: str | None
    severity: str
    state: str
    title: str
    raised_at: datetime
    cleared_at: datetime | None


class AlarmsPublic(Public):
    items: list[AlarmPublic]


class HealthPublic(Public):
    status: Literal["ok", "error"]
    database: str
