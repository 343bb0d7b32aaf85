"""What every page module uses: who is asking, rendering a template, redirects, form checks.

A page route takes ``user: PageUserDep`` (logged in, else the visitor is sent to
``/login?next=…``) or ``user: OptionalPageUserDep``, and answers
``render(request, "area/page.html", user=user, title="area.page.title", ...)``.
Pages raise :class:`PageError` for an error page in the reader's language (403, 404),
and check their own form posts with :func:`check_form`. Data comes from the JSON API,
called by the page's script: a page shows exactly what the API lets its user see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import URL

from social.accounts import member_for_token
from social.api.deps import SessionDep
from social.models import Member, Membership
from social.visibility import LOCAL_ACTOR_ROLES, MANAGER_ROLES, RESIDENT_ROLES, current_membership
from social.web.csrf import (
    CSRF_COOKIE,
    check_form_csrf,
    new_anonymous_token,
    session_csrf_token,
    set_csrf_cookie,
)
from social.web.i18n import LANGUAGES, Catalogue, negotiate
from social.web.session import request_is_https, session_token

INSTALLER_ROLES = frozenset({"installer", "admin"})


@dataclass(frozen=True, slots=True)
class PageUser:
    """The logged-in member and the roles of their current, verified memberships."""

    member: Member
    roles: frozenset[str]

    @property
    def language(self) -> str:
        return self.member.language

    @property
    def is_resident(self) -> bool:
        return bool(self.roles & RESIDENT_ROLES)

    @property
    def is_manager(self) -> bool:
        return bool(self.roles & MANAGER_ROLES)

    @property
    def is_installer(self) -> bool:
        return bool(self.roles & INSTALLER_ROLES)

    @property
    def is_local_actor(self) -> bool:
        return bool(self.roles & LOCAL_ACTOR_ROLES)


def _everyone(_user: PageUser) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class NavItem:
    """A link of the top navigation: ``label`` is a catalogue key; ``shows`` decides
    for whom (``lambda user: user.is_manager``). ``path`` is also the prefix that marks
    the link current."""

    path: str
    label: str
    shows: Callable[[PageUser], bool] = _everyone


@dataclass(frozen=True, slots=True)
class Web:
    """The pages' shared parts, kept in ``app.state.web`` by ``install_web``."""

    templates: jinja2.Environment
    catalogue: Catalogue
    nav: tuple[NavItem, ...] = field(default=())


class LoginRequired(Exception):
    """Raised by :data:`PageUserDep` for a visitor without a valid session."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PageError(Exception):
    """An error page: ``message`` is a catalogue key, shown in the reader's language."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def current_user(request: Request, session: Session) -> PageUser | None:
    """The member of the session cookie, or None (no cookie, expired or revoked)."""
    token = session_token(request)
    if token is None:
        return None
    member = member_for_token(session, token)
    if member is None:
        return None
    roles = frozenset(session.scalars(select(Membership.role).where(
        Membership.member_id == member.id, current_membership())))
    return PageUser(member, roles)


def _path_and_query(url: URL) -> str:
    return url.path + (f"?{url.query}" if url.query else "")


def _here(request: Request) -> str:
    return _path_and_query(request.url)


def optional_page_user(request: Request, session: SessionDep) -> PageUser | None:
    return current_user(request, session)


def page_user(request: Request, session: SessionDep) -> PageUser:
    user = current_user(request, session)
    if user is None:
        raise LoginRequired(_here(request) if request.method == "GET" else "/")
    return user


PageUserDep = Annotated[PageUser, Depends(page_user)]
OptionalPageUserDep = Annotated[PageUser | None, Depends(optional_page_user)]


def language_for(request: Request, user: PageUser | None) -> str:
    return negotiate(profile=user.language if user is not None else None,
                     query=request.query_params.get("lang"),
                     accept_language=request.headers.get("accept-language"))


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to after logging in; anything else (another site,
    ``//host``, a scheme) becomes ``default``."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\r\n\\"):
        return default
    return value


def redirect(url: str) -> RedirectResponse:
    """303: after a form post, the browser GETs the next page."""
    return RedirectResponse(url, status_code=303)


def login_url(next_url: str) -> str:
    return "/login" if next_url in ("", "/") else f"/login?next={quote(next_url, safe='/')}"


def check_form(request: Request, csrf_token: str | None) -> None:
    """A page's own form post must echo its CSRF token; an error page otherwise."""
    try:
        check_form_csrf(request, csrf_token, session_token(request))
    except HTTPException as exc:
        raise PageError(403, "error.csrf") from exc


def _csrf_for(request: Request) -> tuple[str, bool]:
    """The token the page's forms and scripts echo, and whether the cookie must be set."""
    token = session_token(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    if token is not None:
        expected = session_csrf_token(token)
        return expected, cookie != expected
    if cookie:
        return cookie, False
    return new_anonymous_token(), True


def render(
    request: Request,
    template: str,
    *,
    user: PageUser | None,
    title: str,
    status_code: int = 200,
    script: str | None = None,
    js_prefixes: Sequence[str] = (),
    lang: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """``template`` (extending ``base.html``) in the reader's language.

    ``title`` is the catalogue key of the page's title; ``script`` a module under
    ``/static/js/`` loaded at the end of the page; ``js_prefixes`` the catalogue keys,
    beside ``js.``, its script may look up with ``t()``.
    """
    web = web_of(request)
    lang = lang or language_for(request, user)
    csrf, set_cookie = _csrf_for(request)

    def t(key: str, **values: object) -> str:
        return web.catalogue.text(key, lang, **values)

    path = request.url.path
    nav = [
        {"path": item.path, "label": t(item.label),
         "current": path == item.path or (item.path != "/" and path.startswith(item.path))}
        for item in web.nav if user is not None and item.shows(user)
    ]
    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="csrf_token" value="{}">').format(csrf)

    lang_links = {code: _path_and_query(request.url.include_query_params(lang=code))
                  for code in LANGUAGES}
    html = web.templates.get_template(template).render(
        request=request, user=user, lang=lang, languages=LANGUAGES, t=t, csrf_token=csrf,
        csrf_field=csrf_field, here=_here(request), lang_links=lang_links,
        nav=nav, title=t(title), script=script,
        js_strings=web.catalogue.for_script(lang, ("js.", *js_prefixes)),
        **context,
    )
    response = HTMLResponse(html, status_code=status_code,
                            headers={"Cache-Control": "no-store", "Content-Language": lang})
    if set_cookie:
        set_csrf_cookie(response, csrf, secure=request_is_https(request))
    return response


def render_error(request: Request, user: PageUser | None, status_code: int,
                 message: str) -> HTMLResponse:
    return render(request, "error.html", user=user, title="error.title",
                  status_code=status_code, message=message)
