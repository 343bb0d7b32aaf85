"""The app factory and the error handlers that make every error a JSON ``{"detail": ...}``.

No app, engine or settings exist at import: the gateway calls :func:`create_app` with
the :class:`~social.db.Database` it owns, and owns its lifecycle too (no lifespan).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from social.accounts import DEFAULT_TOKEN_TTL
from social.api.routes import alarms, auth, feed, health, me, notifications
from social.db import Database
from social.errors import (
    AlarmConflict,
    AlarmNotFound,
    InvalidCursor,
    NotificationNotFound,
    PlaceNotVisible,
)

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
    for module in (auth, me, feed, alarms, notifications, health):
        app.include_router(module.router)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(InvalidCursor, _bad_request)
    app.add_exception_handler(PlaceNotVisible, _not_found)
    app.add_exception_handler(AlarmNotFound, _not_found)
    app.add_exception_handler(NotificationNotFound, _not_found)
    app.add_exception_handler(AlarmConflict, _conflict)
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


async def _bad_request(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_400_BAD_REQUEST)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_404_NOT_FOUND)


async def _conflict(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "internal error: the gateway log has the details"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
