"""Dependencies shared by the routes, as ``Annotated`` aliases (``SessionDep``, ...).

Everything comes from ``request.app.state``, filled by ``create_app``: nothing is
built at import, so two apps on two databases can live in one process (tests do).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from social.accounts import member_for_token
from social.db import Database
from social.models import Member

TOKEN_URL = "/api/auth/token"

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


def get_token_ttl(request: Request) -> timedelta:
    ttl: timedelta = request.app.state.token_ttl
    return ttl


TokenTtlDep = Annotated[timedelta, Depends(get_token_ttl)]


def get_session(database: DatabaseDep) -> Iterator[Session]:
    """One session per request; a route that writes commits it itself."""
    with database.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def get_current_member(
    session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> Member:
    if not token:
        raise _unauthorized(
            f"not authenticated: send 'Authorization: Bearer <token>' (get one at {TOKEN_URL})"
        )
    member = member_for_token(session, token)
    if member is None:
        raise _unauthorized("invalid or expired token: log in again")
    return member


CurrentMember = Annotated[Member, Depends(get_current_member)]
