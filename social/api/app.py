"""The app factory and the error handlers that make every error a JSON ``{"detail": ...}``.

No app, engine or settings exist at import: the gateway calls :func:`create_app` with
the :class:`~social.db.Database` it owns, and owns its lifecycle too (no lifespan).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from social.accounts import DEFAULT_TOKEN_TTL
from social.api.routes import (
    alarms,
    auth,
    display,
    feed,
    health,
    interactions,
    invites,
    me,
    members,
    moderation,
    notifications,
    posts,
    prefs,
    search,
    stream,
    unread,
)
from social.db import Database
from social.errors import (
    AlarmConflict,
    AlarmNotFound,
    InvalidCursor,
    InvalidInviteCode,
    InvalidPostData,
    InviteGone,
    InviteNotFound,
    InviteUsed,
    JoinRequestNotFound,
    MemberNotFound,
    MembershipConflict,
    MembershipNotFound,
    NotAllowed,
    NotAManager,
    NotificationNotFound,
    OfferNotFound,
    PlaceNotFound,
    PlaceNotVisible,
    PostConflict,
    PostNotFound,
    TooManyLoginAttempts,
    UsernameTaken,
    WrongPassword,
    WrongPlaceKind,
)
from social.events import install_event_hub
from social.moderation import (
    ModerationConflict,
    ModerationForbidden,
    NotAModerator,
    RateLimited,
    TargetNotFound,
)
from social.web import install_web

log = logging.getLogger(__name__)


def create_app(database: Database, *, token_ttl: timedelta = DEFAULT_TOKEN_TTL) -> FastAPI:
    """The social HTTP API on ``database``; tokens it issues last ``token_ttl``."""
    app = FastAPI(
        title="Palier",
        summary="The resident social layer of a smart building: feed, alarms, accounts.",
        version="0.1.0",
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.database = database
    app.state.token_ttl = token_ttl
    app.state.event_hub = install_event_hub(database)  # shared with the gateway's threads
    for module in (
        auth, members, invites, me, feed, alarms, notifications, health, prefs, unread, stream,
        moderation, search, posts, interactions, display,
    ):
        app.include_router(module.router)
    _install_error_handlers(app)
    _declare_validation_errors(app)
    install_web(app)
    return app


#: What a 422 answer is (``_validation_error``, ``_invalid_post_data``).
INVALID_REQUEST_SCHEMA: dict[str, Any] = {
    "title": "InvalidRequest",
    "type": "object",
    "required": ["detail", "errors"],
    "properties": {
        "detail": {"type": "string", "description": "every error, on one line"},
        "errors": {"type": "array", "items": {
            "type": "object",
            "required": ["loc", "msg", "type"],
            "properties": {
                "loc": {"type": "array", "items": {"anyOf": [{"type": "string"},
                                                             {"type": "integer"}]}},
                "msg": {"type": "string"},
                "type": {"type": "string"},
            },
        }},
    },
}


def _declare_validation_errors(app: FastAPI) -> None:
    """Say in the OpenAPI schema what a 422 really is: our ``{"detail", "errors"}``,
    not FastAPI's default ``{"detail": [...]}`` (clients and the schema fuzzer read it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = generate()
        schemas = schema.get("components", {}).get("schemas", {})
        if fresh and "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = INVALID_REQUEST_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(InvalidCursor, _bad_request)
    app.add_exception_handler(PlaceNotVisible, _not_found)
    app.add_exception_handler(AlarmNotFound, _not_found)
    app.add_exception_handler(NotificationNotFound, _not_found)
    app.add_exception_handler(AlarmConflict, _conflict)
    # Members and trust: joining, profiles, accounts.
    for error in (InvalidInviteCode, WrongPlaceKind):
        app.add_exception_handler(error, _bad_request)
    for error in (PlaceNotFound, InviteNotFound, JoinRequestNotFound, MembershipNotFound,
                  MemberNotFound):
        app.add_exception_handler(error, _not_found)
    for error in (UsernameTaken, InviteUsed, MembershipConflict):
        app.add_exception_handler(error, _conflict)
    app.add_exception_handler(NotAManager, _forbidden)
    app.add_exception_handler(WrongPassword, _forbidden)
    app.add_exception_handler(InviteGone, _gone)
    app.add_exception_handler(TooManyLoginAttempts, _too_many)  # type: ignore[arg-type]
    # Moderation: reports, hide and restore, appeals, blocks, posting rate limits.
    app.add_exception_handler(TargetNotFound, _not_found)
    app.add_exception_handler(ModerationConflict, _conflict)
    for error in (NotAModerator, ModerationForbidden):
        app.add_exception_handler(error, _forbidden)
    app.add_exception_handler(RateLimited, _too_many)  # type: ignore[arg-type]
    # Posts and interactions: the rights matrix and the kinds' fields.
    for error in (PostNotFound, OfferNotFound):
        app.add_exception_handler(error, _not_found)
    app.add_exception_handler(NotAllowed, _coded(status.HTTP_403_FORBIDDEN))
    app.add_exception_handler(PostConflict, _coded(status.HTTP_409_CONFLICT))
    app.add_exception_handler(InvalidPostData, _invalid_post_data)  # type: ignore[arg-type]
    # A number no database column can hold (an id of 2**70): no such thing, said clearly.
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(Exception, _unexpected)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail
    if exc.status_code == status.HTTP_404_NOT_FOUND and detail == "Not Found":
        detail = f"no such route: {request.method} {request.url.path}"
    elif exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""),
         "type": error.get("type", "")}
        for error in exc.errors()
    ]
    summary = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in errors
    )
    return JSONResponse(
        jsonable_encoder({"detail": f"invalid request: {summary}", "errors": errors}),
        status_code=422,
    )


def _coded(status_code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """A handler answering ``{"detail", "code"}``: the matrix's reason, for clients to act on."""

    async def handler(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "code": getattr(exc, "code", None)},
                            status_code=status_code)

    return handler


async def _invalid_post_data(_request: Request, exc: InvalidPostData) -> JSONResponse:
    """The same shape as a request validation error: the client reads one format."""
    return JSONResponse(jsonable_encoder({"detail": str(exc), "errors": exc.errors}),
                        status_code=422)


async def _bad_request(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_400_BAD_REQUEST)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)


async def _forbidden(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_403_FORBIDDEN)


async def _gone(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_410_GONE)


async def _too_many(
    _request: Request, exc: TooManyLoginAttempts | RateLimited
) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                        headers={"Retry-After": str(exc.retry_after)})


#: The largest integer SQLite and PostgreSQL (BIGINT) store.
_LARGEST = 2**63 - 1


async def _out_of_range(request: Request, exc: Exception) -> JSONResponse:
    """A driver refusing a value (SQLite: int too large; PostgreSQL: numeric out of range).

    Anything else the database calls bad data is a bug of ours: a 500, logged."""
    cause = getattr(exc, "orig", exc)
    text = str(cause)
    if not (isinstance(exc, OverflowError) or "out of range" in text):
        return await _unexpected(request, exc)
    msg = f"a number is out of range (ids and counts are at most {_LARGEST})"
    return JSONResponse({"detail": f"invalid request: {msg}",
                         "errors": [{"loc": ["request"], "msg": msg, "type": "out_of_range"}]},
                        status_code=422)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "internal error: the gateway log has the details"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
