"""CSRF protection for cookie sessions: a signed double-submit token.

A request authenticated by the session cookie could have been sent by another site
the member visits (the browser attaches cookies by itself), so an unsafe one must also
prove it came from a Palier page: it echoes a token that only a Palier page can read.

* Logged in, the token is derived from the session token (:func:`session_csrf_token`),
  so a token planted in the ``palier_csrf`` cookie by a sibling site does not match
  the session. Pages' JavaScript reads the cookie and sends ``X-CSRF-Token``; plain
  HTML forms carry it in a hidden ``csrf_token`` field.
* Before logging in (the login and join forms), it is a random value kept in the
  ``palier_csrf`` cookie and echoed by the form.

Bearer-token clients never carry the cookie and are never asked for the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import HTTPException, Request, status
from starlette.responses import Response

CSRF_COOKIE = "palier_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_csrf_token(session_token: str) -> str:
    """The CSRF token of a session; reading it tells nothing about the session token."""
    return hashlib.sha256(b"palier-csrf:" + session_token.encode()).hexdigest()


def new_anonymous_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def expected_token(request: Request, session_token: str | None) -> str | None:
    """What a form or header must echo: the session's token, else the anonymous cookie."""
    if session_token:
        return session_csrf_token(session_token)
    return request.cookies.get(CSRF_COOKIE)


def csrf_refused(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=detail)


def check_api_csrf(request: Request, session_token: str) -> None:
    """Refuse (403) an unsafe API request authenticated by the session cookie without the
    ``X-CSRF-Token`` header of that session."""
    if request.method not in UNSAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER)
    if not given:
        raise csrf_refused(
            f"CSRF check failed: a request authenticated by the session cookie must send "
            f"the {CSRF_HEADER} header (the value of the {CSRF_COOKIE} cookie); API "
            f"clients should send 'Authorization: Bearer <token>' instead")
    if not tokens_match(session_csrf_token(session_token), given):
        raise csrf_refused(
            f"CSRF check failed: the {CSRF_HEADER} header does not belong to this session; "
            f"reload the page")


def check_form_csrf(request: Request, given: str | None, session_token: str | None) -> None:
    """Refuse (403) a page form post whose hidden ``csrf_token`` field does not match."""
    if not tokens_match(expected_token(request, session_token), given):
        raise csrf_refused(
            "CSRF check failed: this form is out of date or was not sent by a Palier page; "
            "reload the page and try again")


def set_csrf_cookie(response: Response, value: str, *, secure: bool) -> None:
    """Readable by the pages' scripts (not HttpOnly): they echo it in a header."""
    response.set_cookie(CSRF_COOKIE, value, path="/", secure=secure, httponly=False,
                        samesite="lax")
