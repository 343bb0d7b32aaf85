"""``/api/me/notification-preferences``: per post kind instant, digest or off; quiet hours.

A ``PUT`` replaces the preferences: kinds it leaves out go back to their default
(alerts and notices instant, the rest in the daily digest). Critical alerts are
always instant, whatever is chosen here — see ``social.preferences``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from social.api.deps import CurrentMember, SessionDep
from social.api.schemas import ErrorPublic
from social.models import Member
from social.notifications import parse_time_of_day
from social.preferences import DEFAULT_MODES, Mode, load_modes, save_modes

router = APIRouter(prefix="/api/me", tags=["members"])


class QuietHours(BaseModel):
    """Local times (the site's time zone); equal times mean no quiet hours."""

    model_config = ConfigDict(extra="forbid")
    start: str = Field(examples=["22:00"])
    end: str = Field(examples=["07:00"])

    @field_validator("start", "end")
    @classmethod
    def _time_of_day(cls, value: str) -> str:
        parse_time_of_day(value)
        return value


class NotificationPreferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: dict[str, Mode] = Field(
        description="post kind → instant | digest | off; on PUT, kinds left out go back "
                    "to their default",
        examples=[dict(DEFAULT_MODES)])
    quiet_hours: QuietHours

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: dict[str, Mode]) -> dict[str, Mode]:
        unknown = sorted(set(value) - set(DEFAULT_MODES))
        if unknown:
            raise ValueError(f"unknown post kind {unknown[0]!r}; expected one of "
                             f"{', '.join(DEFAULT_MODES)}")
        return value


def _public(session: SessionDep, member: Member) -> NotificationPreferences:
    return NotificationPreferences(
        kinds=load_modes(session, member.id),
        quiet_hours=QuietHours(start=member.quiet_start, end=member.quiet_end),
    )


@router.get("/notification-preferences", responses={401: {"model": ErrorPublic}})
def read_preferences(member: CurrentMember, session: SessionDep) -> NotificationPreferences:
    """Every post kind's mode (the defaults included) and the quiet hours."""
    return _public(session, member)


@router.put("/notification-preferences",
            responses={401: {"model": ErrorPublic}, 422: {"model": ErrorPublic}})
def replace_preferences(
    body: NotificationPreferences, member: CurrentMember, session: SessionDep
) -> NotificationPreferences:
    """Replace the caller's preferences; answers them as now stored."""
    chosen = {kind: mode for kind, mode in body.kinds.items()}
    save_modes(session, member.id, chosen)
    member.quiet_start = body.quiet_hours.start
    member.quiet_end = body.quiet_hours.end
    session.commit()
    return _public(session, member)
