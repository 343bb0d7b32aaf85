"""Error answers for pages: a login redirect, or an error page in the reader's language.

The API's handlers answer JSON; a page route raises :class:`~social.web.pages.LoginRequired`
or :class:`~social.web.pages.PageError` instead, so a browser gets a page it can act on.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from social.db import Database
from social.web.pages import (
    LoginRequired,
    PageError,
    current_user,
    login_url,
    redirect,
    render_error,
)


async def _login_required(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return redirect(login_url(exc.next_url))


def _page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    database: Database = request.app.state.database
    with database.session(read_only=True) as session:
        user = current_user(request, session)
        return render_error(request, user, exc.status_code, exc.message)


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(PageError, _page_error)
