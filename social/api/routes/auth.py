"""Logging in: the OAuth2 password flow, answered with an opaque bearer token.

After 5 failed logins for a username within 15 minutes, logins for it answer 429
with ``Retry-After`` — even with the right password — until the oldest of those
failures is 15 minutes old. The count lives in the database, so every API replica
enforces the same limit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm

from social.accounts import issue_token, login, purge_expired_tokens
from social.api.deps import SessionDep, TokenTtlDep
from social.api.schemas import ErrorPublic, TokenPublic

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token", responses={401: {"model": ErrorPublic}, 429: {"model": ErrorPublic}})
def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    ttl: TokenTtlDep,
) -> TokenPublic:
    """Exchange a username and password (form fields) for a bearer token."""
    member = login(session, form.username, form.password)
    if member is None:
        session.commit()  # the failure counts towards the limit
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    purge_expired_tokens(session)
    issued = issue_token(session, member, ttl=ttl)
    session.commit()
    return TokenPublic(access_token=issued.token, expires_in=int(ttl.total_seconds()))
