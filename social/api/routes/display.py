"""Hall display links (managers) and the public board a hall screen reads (no login).

``POST /api/buildings/{id}/display-links`` makes a link and shows its token once;
``GET`` lists them; ``DELETE /api/display-links/{id}`` revokes one.
``GET /api/display/{token}`` is the board: see :mod:`social.display` for what it
holds and, above all, what it never does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from social.api.deps import CurrentMember, DatabaseDep, SessionDep
from social.api.schemas import ErrorPublic, MemberRefPublic, PlacePublic, Public
from social.community_models import DisplayLink
from social.display import (
    REFRESH_SECONDS,
    DisplayLinkNotFound,
    DisplayUnavailable,
    board_for_token,
    issue_display_link,
    list_display_links,
    revoke_display_link,
    stamp_use,
)
from social.models import Member, Place
from social.profiles import public_name

router = APIRouter(prefix="/api", tags=["hall display"])

_MANAGERS = {401: {"model": ErrorPublic}, 403: {"model": ErrorPublic},
             404: {"model": ErrorPublic}}
#: The board's path carries its token: keep it out of caches and other sites' logs.
_PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class DisplayLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Which screen it is for, so the manager can tell links apart ("Hall entrée B").
    label: str = Field(default="", max_length=80)


class DisplayLinkPublic(Public):
    id: int
    building: PlacePublic
    label: str
    #: The token's first characters: enough to tell links apart, never to open one.
    hint: str
    status: Literal["active", "revoked"]
    created_at: datetime
    created_by: MemberRefPublic | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class DisplayLinkCreated(DisplayLinkPublic):
    """Only when made: the token and the API path of the board. Not stored, not shown again."""

    token: str
    board_path: str


class DisplayLinksPublic(Public):
    items: list[DisplayLinkPublic]


class BoardNoticePublic(Public):
    id: int
    place: PlacePublic
    title: str
    body: str
    pinned: bool
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None


class BoardIncidentPublic(Public):
    id: int
    place: PlacePublic
    title: str
    severity: str
    #: Someone took charge (the alarm was acknowledged); who is not said.
    acknowledged: bool
    since: datetime


class BoardPublic(Public):
    building: PlacePublic
    language: str
    generated_at: datetime
    refresh_seconds: int
    notices: list[BoardNoticePublic]
    incidents: list[BoardIncidentPublic]


def _link_public(session: SessionDep, link: DisplayLink, building: Place,
                 language: str) -> DisplayLinkPublic:
    author = session.get(Member, link.created_by) if link.created_by is not None else None
    return DisplayLinkPublic(
        id=link.id, building=PlacePublic.model_validate(building), label=link.label,
        hint=link.hint, status="revoked" if link.revoked_at is not None else "active",
        created_at=link.created_at,
        created_by=(MemberRefPublic(id=author.id, display_name=public_name(author, language))
                    if author is not None else None),
        revoked_at=link.revoked_at, last_used_at=link.last_used_at,
    )


@router.post("/buildings/{building_id}/display-links", status_code=status.HTTP_201_CREATED,
             responses={**_MANAGERS, 400: {"model": ErrorPublic}})
def create_display_link(building_id: str, body: DisplayLinkCreate, member: CurrentMember,
                        session: SessionDep) -> DisplayLinkCreated:
    """Make a link for a hall screen of a building you manage; its token is shown only now.

    Open ``board_path`` (or the hall page built on it) on the screen. Lost it? Make
    another and revoke this one.
    """
    link, token, building = issue_display_link(session, member, building_id, body.label)
    session.commit()
    shown = _link_public(session, link, building, member.language)
    return DisplayLinkCreated(**shown.model_dump(), token=token,
                              board_path=f"/api/display/{token}")


@router.get("/buildings/{building_id}/display-links",
            responses={**_MANAGERS, 400: {"model": ErrorPublic}})
def read_display_links(building_id: str, member: CurrentMember,
                       session: SessionDep) -> DisplayLinksPublic:
    """The display links of a building you manage, newest first, revoked ones included."""
    building, links = list_display_links(session, member.id, building_id)
    return DisplayLinksPublic(items=[_link_public(session, link, building, member.language)
                                     for link in links])


@router.delete("/display-links/{link_id}", responses=_MANAGERS)
def delete_display_link(link_id: int, member: CurrentMember,
                        session: SessionDep) -> DisplayLinkPublic:
    """Revoke a link: its screen shows nothing from its next refresh. Twice is harmless."""
    try:
        link, building = revoke_display_link(session, member.id, link_id)
    except DisplayLinkNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    session.commit()
    return _link_public(session, link, building, member.language)


@router.get("/display/{token}", responses={404: {"model": ErrorPublic}})
def read_board(
    token: Annotated[str, Path(max_length=128)], response: Response, session: SessionDep,
    database: DatabaseDep,
) -> BoardPublic:
    """The public board of the link's building, in its language; no login.

    Current official notices of the building and its entrances, and ongoing incidents
    as residents were told of them. Nothing of a flat, a floor or a member.
    """
    try:
        board = board_for_token(session, token)
    except DisplayUnavailable as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc),
                            headers=_PRIVATE_HEADERS) from None
    if board.stamp_due:  # a GET's session only reads: the manager's "last used" needs a writer
        with database.session() as writer:
            stamp_use(writer, board.link_id, board.generated_at)
            writer.commit()
    response.headers.update(_PRIVATE_HEADERS)
    return BoardPublic(
        building=PlacePublic.model_validate(board.building), language=board.language,
        generated_at=board.generated_at, refresh_seconds=REFRESH_SECONDS,
        notices=[BoardNoticePublic(id=n.id, place=PlacePublic.model_validate(n.place),
                                   title=n.title, body=n.body, pinned=n.pinned,
                                   created_at=n.created_at, updated_at=n.updated_at,
                                   expires_at=n.expires_at) for n in board.notices],
        incidents=[BoardIncidentPublic(id=i.id, place=PlacePublic.model_validate(i.place),
                                       title=i.title, severity=i.severity,
                                       acknowledged=i.acknowledged, since=i.since)
                   for i in board.incidents],
    )

