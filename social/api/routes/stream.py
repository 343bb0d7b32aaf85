"""``GET /api/stream``: the caller's live events, as Server-Sent Events.

Authentication takes the usual bearer header, the web pages' session cookie, or
``?access_token=`` because the browser's ``EventSource`` cannot set headers. The
query form has a cost: the token then sits in URLs, which servers and proxies may
log, browsers keep in their history and a careless page could leak in a ``Referer``.
Palier's own server keeps no access log and this response says ``Referrer-Policy:
no-referrer``; clients that can set headers (native apps, a fetch-based EventSource)
should, and tokens expire anyway (12 h by default). The token is checked again every
minute: an expired or revoked one ends the stream with a ``stream.closed`` event.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from fastapi.security import OAuth2PasswordBearer

from social.api.deps import TOKEN_URL, DatabaseDep
from social.api.schemas import ErrorPublic
from social.events import EventHub, install_event_hub
from social.stream import StreamSettings, member_stream, viewer_for_token
from social.web.session import session_token

router = APIRouter(prefix="/api", tags=["stream"])

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)

_EVENTS_DOC = """\
Events (``event:`` field; ``data:`` is JSON, in the caller's language):

* ``post.created`` ``{post, notify}`` — ``notify`` is true when the caller wants this kind
  of post at once and is not in quiet hours (critical alerts: always);
* ``post.updated`` ``{post}`` — status, acknowledgement or resolution, text; a hidden
  post comes as ``{post: {id, place, moderation: "hidden"}}``;
* ``comment.created``, ``comment.updated`` ``{comment}``; ``reaction.changed``
  ``{post_id, counts}``;
* ``alarm.raised``, ``alarm.acknowledged``, ``alarm.cleared`` ``{alarm}`` — managers of
  the alarm's building only;
* ``unread.changed`` ``{circles, total}`` — at connection, then when it changes;
* ``stream.resync`` — events were missed (unknown ``Last-Event-ID``, client too slow):
  reload the feed; ``stream.closed`` ``{reason}`` — the server ends the stream.

Comment lines (``: ping``) are heartbeats. Send ``Last-Event-ID`` (EventSource does it
when it reconnects) to receive what was missed, within a bounded buffer.
"""


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail,
                         headers={"WWW-Authenticate": "Bearer"})


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "an endless stream of events"},
               401: {"model": ErrorPublic}},
    description=_EVENTS_DOC,
)
async def stream(
    request: Request,
    database: DatabaseDep,
    header_token: Annotated[str | None, Depends(_bearer)],
    access_token: Annotated[str | None, Query(
        description="the bearer token, for EventSource (it cannot send headers); "
                    "prefer the Authorization header when you can")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    last_event_id_query: Annotated[str | None, Query(
        alias="last_event_id", description="as the Last-Event-ID header")] = None,
) -> StreamingResponse:
    """What the caller may see, the moment it happens."""
    token = header_token or access_token or session_token(request)
    if not token:
        raise _unauthorized(
            f"not authenticated: send 'Authorization: Bearer <token>' or ?access_token= "
            f"(get one at {TOKEN_URL})")
    viewer = await asyncio.to_thread(viewer_for_token, database, token)
    if viewer is None:
        raise _unauthorized("invalid or expired token: log in again")
    hub: EventHub = getattr(request.app.state, "event_hub", None) or install_event_hub(database)
    settings: StreamSettings = getattr(request.app.state, "stream_settings", StreamSettings())
    return StreamingResponse(
        member_stream(hub, database, token, viewer,
                      last_event_id=last_event_id or last_event_id_query, settings=settings),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no",
                 "Referrer-Policy": "no-referrer"},
    )
