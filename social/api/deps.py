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
from social.web.csrf import check_api_csrf
from social.web.session import session_token

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


#: Requests that never write: their sessions do not queue behind SQLite's write lock.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request, database: DatabaseDep) -> Iterator[Session]:
    """One session per request; a route that writes commits it itself.

    GET requests read only (HTTP says they are safe), so their sessions are read-only.
    """
    with database.session(read_only=request.method in READ_ONLY_METHODS) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def get_current_member(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> Member:
    """The bearer token's member, else the session cookie's (the web pages' scripts); a
    cookie-authenticated unsafe request must also carry its CSRF token (``social.web.csrf``).
    """
    from_cookie = False
    if not token:
        token = session_token(request)
        from_cookie = token is not None
    if not token:
        raise _unauthorized(
            f"not authenticated: send 'Authorization: Bearer <token>' (get one at {TOKEN_URL})"
        )
    member = member_for_token(session, token)
    if member is None:
        raise _unauthorized("invalid or expired token: log in again")
    if from_cookie:
        check_api_csrf(request, token)
    return member


CurrentMember = Annotated[Member, Depends(get_current_member)]
