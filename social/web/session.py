"""Cookie sessions for the pages: the same opaque token ``/api/auth/token`` hands out.

The token sits in an HttpOnly cookie (scripts cannot read it, so an injected script
cannot steal it), ``SameSite=Lax`` (other sites' forms and scripts do not send it),
``Secure`` when the page came over HTTPS. The database keeps only the token's hash,
its expiry and its revocation, exactly as for bearer tokens: logging out revokes it.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from starlette.responses import Response

from social.web.csrf import CSRF_COOKIE, session_csrf_token, set_csrf_cookie

SESSION_COOKIE = "palier_session"


def request_is_https(request: Request) -> bool:
    """True behind HTTPS (uvicorn honours X-Forwarded-Proto from a trusted proxy)."""
    return request.url.scheme == "https"


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def set_session(response: Response, request: Request, token: str, ttl: timedelta) -> None:
    """Store ``token`` in the session cookie, with the CSRF cookie that goes with it."""
    secure = request_is_https(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(ttl.total_seconds()), path="/",
                        secure=secure, httponly=True, samesite="lax")
    set_csrf_cookie(response, session_csrf_token(token), secure=secure)


def clear_session(response: Response, request: Request) -> None:
    secure = request_is_https(request)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=secure, httponly=name == SESSION_COOKIE,
                               samesite="lax")
