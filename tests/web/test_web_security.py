"""Cookie sessions, CSRF and security headers, over plain HTTP against the live gateway.

A browser is not needed to show that the server refuses what it must: these requests
are what another site's page could make a member's browser send.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.web.conftest import PASSWORD, Site

pytestmark = pytest.mark.integration

MESSAGE = {"place": "lilas/b", "kind": "message", "title": "Vélo trouvé", "body": "",
           "data": {}}


def _csrf_from_form(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@contextmanager
def browser_login(site: Site, username: str) -> Iterator[httpx.Client]:
    """An HTTP client that logged in through the login form, cookies and all."""
    with httpx.Client(base_url=site.url, timeout=10) as client:
        form = client.get("/login")
        assert form.status_code == 200
        reply = client.post("/login", data={"username": username, "password": PASSWORD,
                                            "csrf_token": _csrf_from_form(form.text),
                                            "next": "/"})
        assert reply.status_code == 303, reply.text
        assert reply.headers["location"] == "/"
        yield client


def test_a_cookie_authenticated_post_needs_the_csrf_token(site: Site) -> None:
    with browser_login(site, "chloe") as client:
        assert client.get("/api/me").json()["username"] == "chloe", "safe methods need no token"

        refused = client.post("/api/posts", json=MESSAGE)
        assert refused.status_code == 403
        assert refused.json()["detail"].startswith("CSRF check failed: a request authenticated "
                                                   "by the session cookie must send the "
                                                   "X-CSRF-Token header")
        forged = client.post("/api/posts", json=MESSAGE, headers={"X-CSRF-Token": "guess"})
        assert forged.status_code == 403
        assert "does not belong to this session" in forged.json()["detail"]

        token = client.cookies["palier_csrf"]
        created = client.post("/api/posts", json=MESSAGE, headers={"X-CSRF-Token": token})
        assert created.status_code == 201, created.text
        assert created.json()["author"]["display_name"] == "Chloé M."

    bearer = site.api("chloe")  # an API client: no cookie, no CSRF token to send
    assert bearer.http.post("/api/posts", json=MESSAGE).status_code == 201


def test_the_csrf_token_of_one_session_does_not_open_another(site: Site) -> None:
    with browser_login(site, "chloe") as chloe, browser_login(site, "bruno") as bruno:
        stolen = chloe.cookies["palier_csrf"]
        reply = bruno.post("/api/posts", json=MESSAGE, headers={"X-CSRF-Token": stolen})
        assert reply.status_code == 403


def test_form_posts_need_the_hidden_token(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        client.get("/login")  # the anonymous CSRF cookie
        refused = client.post("/login", data={"username": "chloe", "password": PASSWORD})
        assert refused.status_code == 403
        assert "text/html" in refused.headers["content-type"]
        assert "Ce formulaire a expiré" in refused.text
        assert "palier_session" not in client.cookies

    with browser_login(site, "chloe") as client:
        assert client.post("/logout").status_code == 403, "logging out needs the token too"
        assert client.get("/api/me").status_code == 200
        page = client.get("/")
        out = client.post("/logout", data={"csrf_token": _csrf_from_form(page.text)})
        assert out.status_code == 303
        assert out.headers["location"] == "/login?logged_out=1"
        assert "palier_session" not in client.cookies


def test_logging_out_revokes_the_token(site: Site) -> None:
    with browser_login(site, "chloe") as client:
        token = client.cookies["palier_session"]
        page = client.get("/")
        client.post("/logout", data={"csrf_token": _csrf_from_form(page.text)})
    reused = httpx.get(f"{site.url}/api/me", cookies={"palier_session": token}, timeout=10)
    assert reused.status_code == 401
    assert reused.json()["detail"] == "invalid or expired token: log in again"


def test_pages_send_visitors_to_the_login_form(site: Site) -> None:
    reply = httpx.get(f"{site.url}/settings?x=1", timeout=10)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=/settings%3Fx%3D1"
    home = httpx.get(f"{site.url}/", timeout=10)
    assert home.headers["location"] == "/login"


def test_session_cookie_flags(site: Site) -> None:
    form = httpx.get(f"{site.url}/login", timeout=10)
    reply = httpx.post(f"{site.url}/login", cookies=form.cookies, timeout=10, data={
        "username": "chloe", "password": PASSWORD, "csrf_token": _csrf_from_form(form.text)})
    session = next(c for c in reply.headers.get_list("set-cookie")
                   if c.startswith("palier_session="))
    assert "HttpOnly" in session and "SameSite=lax" in session
    assert "Secure" not in session, "plain http: a Secure cookie would never come back"
    csrf = next(c for c in reply.headers.get_list("set-cookie") if c.startswith("palier_csrf="))
    assert "HttpOnly" not in csrf, "the pages' scripts read it"

    behind_tls = {"X-Forwarded-Proto": "https"}  # a TLS proxy on the same machine
    form = httpx.get(f"{site.url}/login", headers=behind_tls, timeout=10)
    reply = httpx.post(f"{site.url}/login", cookies=form.cookies, headers=behind_tls,
                       timeout=10, data={"username": "chloe", "password": PASSWORD,
                                         "csrf_token": _csrf_from_form(form.text)})
    assert all("Secure" in c for c in reply.headers.get_list("set-cookie"))


def test_security_headers(site: Site) -> None:
    page = httpx.get(f"{site.url}/login", timeout=10)
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    script = httpx.get(f"{site.url}/static/js/api.js", timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache", "revalidated: upgrades reach browsers"
    docs = httpx.get(f"{site.url}/docs", timeout=10)
    assert docs.status_code == 200 and "content-security-policy" not in docs.headers, (
        "the OpenAPI page loads Swagger UI with an inline script")
    assert "<script>" not in page.text and " style=" not in page.text, "the CSP would block it"


def test_login_is_rate_limited_like_the_api(site: Site) -> None:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        csrf = _csrf_from_form(client.get("/login").text)
        for _ in range(5):
            failed = client.post("/login", data={"username": "ghost", "password": "nope",
                                                 "csrf_token": csrf})
            assert failed.status_code == 401
            assert "Identifiant ou mot de passe incorrect." in failed.text
        paused = client.post("/login", data={"username": "ghost", "password": "nope",
                                             "csrf_token": csrf})
        assert paused.status_code == 429
        assert "essais infructueux pour ce compte" in paused.text
    api = httpx.post(f"{site.url}/api/auth/token", data={"username": "ghost", "password": "x"},
                     timeout=10)
    assert api.status_code == 429, "the page and the API count the same failures"
