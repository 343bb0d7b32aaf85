"""Request and response models of joining, profiles and accounts (``Create``/``Update``/
``Public`` per resource), kept beside ``schemas.py`` so each stays readable.

Requests forbid unknown fields: a typo (``"frist_name"``) is an error, not a no-op.
Nothing here ever carries another member's username or email: a member seen by
someone else is a :class:`MemberRefPublic` or a :class:`MemberProfilePublic`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from social.accounts import DELETED_PREFIX
from social.api.schemas import (
    MemberPublic,
    MemberRefPublic,
    MembershipPublic,
    PlacePublic,
    Public,
    TokenPublic,
)

JoinRole = Literal["resident", "owner", "tenant"]
Language = Literal["fr", "en"]

#: Lower-case letters, digits, ``.``, ``_`` and ``-``; 3 to 64 characters.
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{2,63}$"
TIME_OF_DAY_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
#: Deliberately loose: the one real check of an address is a mail reaching it.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- invite codes ------------------------------------------------------------------------

class InviteCreate(Request):
    role: JoinRole = "resident"
    expires_in_days: int = Field(default=30, ge=1, le=365,
                                 description="the code stops working after this many days")


class InvitePublic(Public):
    code: str = Field(description="10 characters, to type with or without the dashes")
    link: str = Field(description="relative link to the join page with the code filled in")
    place: PlacePublic
    role: str
    status: Literal["active", "used", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: MemberRefPublic | None
    revoked_at: datetime | None


class InvitesPublic(Public):
    items: list[InvitePublic]
    next_cursor: str | None


class InviteTargetPublic(Public):
    """What the join page may show before login: where the code leads, nothing private."""

    building: str
    unit: str
    name: str = Field(description="building and unit together, as printed on the letter")


class RedeemRequest(Request):
    code: str = Field(max_length=40)


class _Names(Request):
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)


class JoinCreate(_Names):
    """A new account from an invite code: ``display_name``, or a first and a last name."""

    code: str = Field(max_length=40)
    username: str = Field(pattern=USERNAME_PATTERN, description=(
        "3 to 64 lower-case letters, digits, '.', '_' or '-'; never shown to neighbours"))
    password: str = Field(min_length=8, max_length=200)
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    language: Language = "fr"

    @field_validator("username")
    @classmethod
    def _not_reserved(cls, username: str) -> str:
        if username.startswith(DELETED_PREFIX):
            raise ValueError(f"usernames starting with {DELETED_PREFIX!r} are reserved")
        return username

    @model_validator(mode="after")
    def _a_name(self) -> JoinCreate:
        if self.display_name is None and not (self.first_name and self.last_name):
            raise ValueError("give a display_name, or a first_name and a last_name")
        return self


class MePublic(MemberPublic):
    """The caller, as only they see themselves: username and email included."""

    name: str = Field(description="what the neighbours see: 'Amélie R.' unless full name")
    first_name: str | None
    last_name: str | None
    show_full_name: bool
    email: str | None
    quiet_start: str
    quiet_end: str


class JoinedPublic(Public):
    member: MePublic
    token: TokenPublic


class ProfileUpdate(_Names):
    """``PATCH /api/me``: only the fields sent change; ``null`` clears a name or the email."""

    show_full_name: bool | None = None
    language: Language | None = None
    email: str | None = Field(default=None, max_length=254, pattern=EMAIL_PATTERN)
    quiet_start: str | None = Field(default=None, pattern=TIME_OF_DAY_PATTERN)
    quiet_end: str | None = Field(default=None, pattern=TIME_OF_DAY_PATTERN)

    @model_validator(mode="after")
    def _no_null_settings(self) -> ProfileUpdate:
        for field in ("show_full_name", "language", "quiet_start", "quiet_end"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null")
        return self


class AccountDelete(Request):
    password: str = Field(description="your current password, to confirm")


# -- join requests and memberships -------------------------------------------------------

class JoinRequestCreate(Request):
    place: str = Field(max_length=120, description="the unit (flat) id, like lilas/b/3/31")
    role: JoinRole = "resident"
    message: str = Field(default="", max_length=2000,
                         description="for the managers: who you are, since when you live there")


class JoinRequestPublic(Public):
    id: int
    member: MemberRefPublic
    place: PlacePublic
    role: str
    message: str
    status: Literal["pending", "approved", "rejected"]
    created_at: datetime
    decided_at: datetime | None


class JoinRequestsPublic(Public):
    items: list[JoinRequestPublic]
    next_cursor: str | None


class JoinDecisionPublic(Public):
    request: JoinRequestPublic
    membership: MembershipPublic | None = Field(
        description="the membership an approval started (null after a rejection)")


# -- profiles ----------------------------------------------------------------------------

class ProfilePlacePublic(Public):
    role: str
    place: PlacePublic


class MemberProfilePublic(Public):
    id: int
    name: str = Field(description="'Amélie R.', or the full name if the member chose it")
    places: list[ProfilePlacePublic] = Field(
        description="where they belong, as far as you may see: a building, never a flat")


class MembersPublic(Public):
    items: list[MemberProfilePublic]
    next_cursor: str | None
