"""``POST /api/admin/reload``: apply a changed configuration without a restart."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.api.access import require_installer
from social.api.deps import CurrentMember, SessionDep

router = APIRouter(tags=["gateway"])


@router.post("/api/admin/reload", responses={422: {"description": "the new configuration is "
                                                   "invalid; the running one stays"}})
async def reload_config(request: Request, member: CurrentMember,
                        session: SessionDep) -> JSONResponse:
    runtime = request.app.state.gateway
    require_installer(session, member, runtime.installation, "reloading")
    trigger = f"API by {member.username}"
    # End this request's transaction (and touch no ORM object after): on SQLite it
    # holds the lock that the reload's own transaction must take.
    session.rollback()
    result = await runtime.reload(trigger)
    body: dict[str, Any] = result.as_dict()
    if not result.ok:
        body["detail"] = "the new configuration is invalid; the running one stays"
    return JSONResponse(body, status_code=200 if result.ok else 422)
