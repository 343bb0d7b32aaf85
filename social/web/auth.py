"""Logging in and out of the pages, and the FR/EN switch.

``POST /login`` is ``POST /api/auth/token`` for a browser: the same rate limit and
argon2 check (``social.accounts.login``), the same token, but kept in the HttpOnly
session cookie instead of being handed to a script.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from social.accounts import issue_token, login, purge_expired_tokens, revoke_token
from social.api.deps import SessionDep, TokenTtlDep
from social.errors import TooManyLoginAttempts
from social.web.i18n import supported
from social.web.pages import (
    NavItem,
    OptionalPageUserDep,
    check_form,
    redirect,
    render,
    safe_next,
)
from social.web.session import clear_session, session_token, set_session

router = APIRouter(include_in_schema=False)

STRINGS: dict[str, dict[str, str]] = {}
NAV: tuple[NavItem, ...] = ()

FormText = Annotated[str, Form()]


def _login_page(request: Request, next_url: str, *, username: str = "", error: str | None = None,
                status_code: int = 200, notice: str | None = None, **values: object) -> Response:
    return render(request, "login.html", user=None, title="login.title", status_code=status_code,
                  next_url=next_url, username=username, error=error, error_values=values,
                  notice=notice)


@router.get("/login")
def login_form(
    request: Request,
    user: OptionalPageUserDep,
    next_url: Annotated[str | None, Query(alias="next")] = None,
    logged_out: Annotated[bool, Query(alias="logged_out")] = False,
) -> Response:
    target = safe_next(next_url)
    if user is not None:
        return redirect(target)
    return _login_page(request, target, notice="login.logged_out" if logged_out else None)


@router.post("/login")
def log_in(
    request: Request,
    session: SessionDep,
    ttl: TokenTtlDep,
    username: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
    next_url: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    check_form(request, csrf_token)
    target = safe_next(next_url)
    username = username.strip()
    if not username or not password:
        return _login_page(request, target, username=username, error="login.missing",
                           status_code=400)
    try:
        member = login(session, username, password)
    except TooManyLoginAttempts as exc:
        return _login_page(request, target, username=username, error="login.too_many",
                           status_code=429, minutes=max(1, math.ceil(exc.retry_after / 60)))
    if member is None:
        session.commit()  # the failure counts towards the limit, as on the API
        return _login_page(request, target, username=username, error="login.failed",
                           status_code=401)
    purge_expired_tokens(session)
    issued = issue_token(session, member, ttl=ttl)
    session.commit()
    response = redirect(target)
    set_session(response, request, issued.token, ttl)
    return response


@router.post("/logout")
def log_out(request: Request, session: SessionDep, csrf_token: FormText = "") -> Response:
    check_form(request, csrf_token)
    token = session_token(request)
    if token is not None:
        revoke_token(session, token)
        session.commit()
    response = redirect("/login?logged_out=1")
    clear_session(response, request)
    return response


@router.post("/lang")
def switch_language(
    request: Request,
    session: SessionDep,
    user: OptionalPageUserDep,
    lang: FormText = "",
    csrf_token: FormText = "",
    next_url: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Logged in, the choice is the profile's language (``PATCH /api/me`` does the same);
    before logging in, it travels as ``?lang=``."""
    check_form(request, csrf_token)
    chosen = supported(lang)
    target = safe_next(next_url)
    if chosen is None:
        return redirect(target)
    if user is not None:
        user.member.language = chosen  # the session the page user was loaded in
        session.commit()
        return redirect(target)
    separator = "&" if "?" in target else "?"
    return redirect(f"{target}{separator}lang={chosen}")
