"""The pages in a real browser: one Palier gateway (real Mosquitto, SQLite) serving the API
and the pages on one port, and one headless Chromium (Debian's ``chromium``, driven by
Playwright) for the whole session — never a downloaded browser.

The installation is ``tests/integration/installation`` plus a few members and a door
station (a parcel for flat 31 is a private notice), copied to a temporary folder. Every
test opens its own browser context (fresh cookies), so tests do not see each other's
sessions; they share the database, so each one makes its own posts and alarms.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright import sync_api as playwright_api

from tests.conftest import ROOT, MosquittoServer
from tests.integration.harness import INSTALLATION, ApiUser, GatewayThread, settings_for

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "test-artifacts" / "screenshots"
PASSWORD = "test-pass"

EXTRA_MEMBERS = """
  - username: bruno
    display_name: Bruno L.
    password: test-pass
    memberships: [{place: lilas/b/2/21, role: resident}]
  - username: emma
    display_name: Emma W.
    password: test-pass
    language: en
    memberships: [{place: lilas/a/1/11, role: resident}]
  - username: chloe
    display_name: Chloé M.
    password: test-pass
    memberships: [{place: lilas/b/1/12, role: resident}]
"""

INTERCOM_BRIDGE = """
bridge:
  id: portier-lilas
  format: intercom
  topic: "portier/{source}/event"
  availability_topic: "portier/{source}/status"
  events:
    - match: {event: parcel}
      event: parcel_delivered
      data: {locker: locker}
devices:
  - id: intercom-lilas-b
    source: station-b
    name: "Portier entrée B"
    kind: intercom
    place: lilas/b/0
"""

PARCEL_RULE = """
rules:
  - id: parcel-for-31
    when: {device: intercom-lilas-b, event: parcel_delivered}
    severity: info
    raise:
      notify: none
      notice:
        unit: "lilas/b/3/31"
        title: {fr: "Un colis vous attend à la consigne", en: "A parcel is waiting in the locker"}
    clear: {after: 5m}
"""


@dataclass
class Site:
    """The running gateway, as the tests reach it."""

    url: str
    mosquitto: MosquittoServer
    users: list[ApiUser] = field(default_factory=list)

    def api(self, username: str) -> ApiUser:
        """An API client logged in with a bearer token (as the manager's app would be)."""
        user = ApiUser(self.url, username, PASSWORD)
        self.users.append(user)
        return user


def _installation(folder: Path) -> Path:
    shutil.copytree(INSTALLATION, folder, dirs_exist_ok=True)
    members = folder / "members.yaml"
    members.write_text(members.read_text() + EXTRA_MEMBERS)
    (folder / "bridges" / "intercom.yaml").write_text(INTERCOM_BRIDGE)
    (folder / "rules" / "intercom.yaml").write_text(PARCEL_RULE)
    return folder


@pytest.fixture(scope="session")
def site(mosquitto: MosquittoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    config = _installation(tmp_path_factory.mktemp("web-installation"))
    var = tmp_path_factory.mktemp("web-var")
    settings = dataclasses.replace(
        settings_for(mosquitto.url, f"sqlite:///{var / 'palier.db'}", var,
                     client_id=f"palier-web-{uuid.uuid4().hex[:8]}", config_dir=config),
        watch_config=False)
    thread = GatewayThread(settings)
    running = thread.start()
    served = Site(running.api_url, mosquitto)
    yield served
    for user in served.users:
        user.close()
    thread.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[playwright_api.Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ./dev test, which installs Debian's chromium")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@dataclass
class Visit:
    """One browser context (a person's browser) and what went wrong in it."""

    context: playwright_api.BrowserContext
    page: playwright_api.Page
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


class OpenPage:
    """``open_page(username=None, *, locale="fr-FR", width=1024)``: a fresh browser,
    logged in through the login form when ``username`` is given.

    After the test, no page may have thrown a script error, logged a console error
    (but those the test expects: ``open_page.expect_console("status of 401")``), or
    requested anything outside Palier (the pages load no external asset).
    """

    def __init__(self, browser: playwright_api.Browser, site: Site) -> None:
        self.browser, self.site = browser, site
        self.visits: list[Visit] = []
        self.expected: list[str] = []

    def __call__(self, username: str | None = None, *, locale: str = "fr-FR", width: int = 1024,
                 height: int = 800) -> playwright_api.Page:
        origin = urlsplit(self.site.url).netloc
        context = self.browser.new_context(locale=locale,
                                           viewport={"width": width, "height": height},
                                           base_url=self.site.url)
        context.set_default_timeout(10_000)
        page = context.new_page()
        visit = Visit(context, page)
        page.on("pageerror", lambda exc: visit.errors.append(f"page error: {exc}"))
        page.on("console", lambda msg: visit.errors.append(f"console: {msg.text}")
                if msg.type == "error" else None)
        page.on("request", lambda request: visit.foreign.append(request.url)
                if urlsplit(request.url).netloc != origin
                and not request.url.startswith(("data:", "about:")) else None)
        self.visits.append(visit)
        if username is not None:
            log_in(page, username)
        return page

    def expect_console(self, text: str) -> None:
        self.expected.append(text)

    def close(self) -> None:
        problems = [(visit.errors, visit.foreign) for visit in self.visits]
        for visit in self.visits:
            visit.context.close()
        for errors, foreign in problems:
            assert not foreign, f"requests outside Palier: {foreign}"
            unexpected = [e for e in errors if not any(text in e for text in self.expected)]
            assert not unexpected, f"errors in the page: {unexpected}"


@pytest.fixture
def open_page(browser: playwright_api.Browser, site: Site) -> Iterator[OpenPage]:
    opener = OpenPage(browser, site)
    yield opener
    opener.close()


def log_in(page: playwright_api.Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Identifiant").or_(page.get_by_label("Username")).fill(username)
    page.locator("#password").fill(password)
    page.locator("form.form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page: playwright_api.Page, name: str, *, full_page: bool = True) -> Path:
    """Save the page (or what the screen shows) under var/test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
