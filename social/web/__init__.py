"""The web pages: served by the same process as the API, with no build step.

Pages are Jinja2 templates (autoescaped) rendered by small FastAPI routes, plus
vanilla-JS ES modules under ``static/js/`` that call the JSON API with the member's
session cookie — so a page shows and does exactly what the API lets its user see and
do, and the live stream (``GET /api/stream``) reaches ``EventSource`` with the same
cookie. Nothing is loaded from another origin (the CSP forbids it: ``headers.py``).

Parts: ``session.py`` (the HttpOnly session cookie), ``csrf.py`` (the CSRF token every
unsafe cookie-authenticated request echoes), ``i18n.py`` (the FR/EN catalogue and the
language negotiation), ``headers.py`` (security headers), ``pages.py`` (the helpers
below), ``auth.py`` (login, logout, the language switch), ``resident.py`` (the feed,
notification settings, joining with an invite code).

Adding a page (a manager's, an installer's, the hall display):

1. Write ``social/web/<area>.py`` exposing three names:

   * ``router = APIRouter(include_in_schema=False)`` with its routes;
   * ``STRINGS`` — its catalogue section ``{"<area>.key": {"fr": …, "en": …}}``; keys
     under ``<area>.js.`` (or any prefix passed as ``js_prefixes``) reach its script;
   * ``NAV`` — its ``NavItem("/manager", "<area>.nav", lambda user: user.is_manager)``
     links (empty for a page outside the navigation, like the hall display).

2. A route::

       @router.get("/manager")
       def board(request: Request, user: PageUserDep) -> Response:
           if not user.is_manager:
               raise PageError(403, "error.forbidden")
           return render(request, "manager/board.html", user=user,
                         title="manager.board.title", script="manager-board.js",
                         js_prefixes=("manager.js.",), buildings=...)

   ``PageUserDep`` sends visitors without a session to ``/login?next=…``;
   ``OptionalPageUserDep`` lets them in (``user`` is None). A page that must work
   without login (the hall display) takes neither and renders with ``user=None``.
   A form post of the page's own checks ``check_form(request, csrf_token)`` first
   (the hidden field ``{{ csrf_field() }}`` of ``base.html`` puts it in the form).

3. The template ``templates/<area>/<page>.html``::

       {% extends "base.html" %}
       {% block main %} … {% endblock %}

   ``base.html`` brings the header, navigation, FR/EN switch, live-status line and
   the page's ``script``. Blocks: ``main`` (inside ``<main id="main">``), ``head``
   (extra ``<link>``), ``header`` (replace the whole header: the hall display),
   ``body_class``. No inline script or ``style=""`` attribute: the CSP blocks both;
   style with the classes of ``static/palier.css`` or a ``<link>`` to your own file.

4. Add the module to the tuple of :func:`page_modules` below (one line).

The script: ``static/js/<page>.js``, an ES module importing the helpers (each file's
header comment documents them) —

* ``api.js``: ``api(path, {method, body, query})``, ``get``, ``post``, ``put``,
  ``patch``, ``del``; errors as ``ApiError`` (``status``, ``message``, ``errors``,
  ``code``); the CSRF header is added on unsafe methods, a 401 goes to the login page;
* ``live.js``: ``live({"post.created": fn, ...}, {onResync})`` over ``/api/stream``,
  showing its state in the header's ``#live-status``;
* ``dom.js``: ``t(key, values)``, ``el(tag, attrs, ...children)`` (text is always
  text), ``clear``, ``formatDateTime``, ``formatDate``, ``announce(message,
  {assertive})`` for screen readers, ``showError``/``hideError``, ``showFieldErrors``
  (a 422's errors beside the inputs named ``data.field``), ``lang``.

CSS: ``static/palier.css`` (conventions in its header): BEM blocks (``.post``,
``.post__title``, ``.post--alert``), state from ARIA attributes, the shared
``.card``, ``.button``, ``.badge``, ``.field``, ``.alert-box``, ``.stack``, ``.cluster``.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from fastapi import FastAPI

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def page_modules() -> tuple[ModuleType, ...]:
    """Every module that brings pages; add yours here (see the module docstring)."""
    from social.web import auth, display, installer, manager, resident

    return (auth, resident, installer, manager, display)



def install_web(app: FastAPI) -> None:
    """Mount the pages, their static files and the security headers on ``app``.

    Imports happen here, not at module level: ``social.api.deps`` imports the session
    and CSRF helpers of this package, and the pages import ``social.api.deps``.
    """
    import jinja2
    from fastapi.staticfiles import StaticFiles

    from social.web.errors import install_error_pages
    from social.web.headers import SecurityHeaders
    from social.web.i18n import COMMON, Catalogue
    from social.web.pages import Web

    modules = page_modules()
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.state.web = Web(
        templates=templates,
        catalogue=Catalogue(COMMON, *(module.STRINGS for module in modules)),
        nav=tuple(item for module in modules for item in module.NAV),
    )
    for module in modules:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_error_pages(app)
    app.add_middleware(SecurityHeaders)
