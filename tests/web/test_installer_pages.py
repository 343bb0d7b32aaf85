"""The installers' pages in headless Chromium, against a live gateway and a real broker.

The configuration test edits the running gateway's configuration folder (the one
``GET /api/admin/config`` names) and puts it back, reloading, before it ends: the
other tests share the gateway. Topics of the traffic test carry a random suffix, so
each run sees its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.integration.harness import ApiUser, publish
from tests.web.conftest import OpenPage, Site, screenshot

pytestmark = pytest.mark.integration

#: A second zigbee2mqtt bridge whose device has a misspelt kind on line 5, column 11.
BROKEN_BRIDGE = """\
bridge: {id: xtest, format: zigbee2mqtt, base_topic: xtest}
devices:
  - id: x-sensor
    source: x_sensor
    kind: leak_sensr
    place: lilas/a/0
"""
FIXED_BRIDGE = BROKEN_BRIDGE.replace("leak_sensr", "water_leak_sensor")
#: A reload re-checks every account's password (argon2) while it holds SQLite's write
#: lock: seconds on a busy 2-core machine, so its outcome gets more than the default 10 s.
RELOAD_MS = 30_000


@pytest.fixture
def installer_api(site: Site) -> ApiUser:
    return site.api("installateur")


@pytest.fixture
def bridge_file(installer_api: ApiUser) -> Iterator[Path]:
    """``bridges/x.yaml`` in the running configuration; removed and reloaded afterwards."""
    root = Path(installer_api.get("/api/admin/config")["root"])
    path = root / "bridges" / "x.yaml"
    yield path
    path.unlink(missing_ok=True)
    reply = installer_api.http.post("/api/admin/reload", timeout=RELOAD_MS / 1000)
    assert reply.status_code == 200, reply.text


def reload_with_keyboard(page: Page) -> None:
    page.locator("#reload").focus()
    page.keyboard.press("Enter")


def test_config_state_then_a_refused_reload_then_a_fixed_one(
    open_page: OpenPage, installer_api: ApiUser, bridge_file: Path
) -> None:
    open_page.expect_console("status of 422")  # the refused reload's answer
    before = installer_api.get("/api/admin/config")["counts"]
    page = open_page("installateur")
    page.goto("/installer")
    expect(page.locator(".site-nav__link[aria-current=page]")).to_have_text("Installation")
    expect(page.locator(".installer-tabs__link[aria-current=page]")).to_have_text("Configuration")
    expect(page.locator("#config-state")).to_have_attribute("aria-busy", "false")
    expect(page.locator("dd[data-count=bridges]")).to_have_text(str(before["bridges"]))
    expect(page.locator("dd[data-count=devices]")).to_have_text(str(before["devices"]))
    expect(page.locator("#config-files")).to_contain_text("bridges/zigbee.yaml")
    expect(page.locator("#config-root")).to_have_text(str(bridge_file.parent.parent))
    screenshot(page, "installer-config-fr")

    bridge_file.write_text(BROKEN_BRIDGE)
    reload_with_keyboard(page)
    result = page.locator("#reload-result")
    expect(result).to_have_attribute("data-outcome", "error", timeout=RELOAD_MS)
    expect(result).to_have_text(
        "Rechargement refusé : 1 erreur. La configuration en service reste.")
    expect(result).to_be_focused()
    errors = page.locator("#failure-errors li")
    expect(errors).to_have_count(1)
    expect(errors.first).to_have_text(re.compile(
        r"^bridges/x\.yaml:5:11: devices\[0\]\.kind: unknown device kind 'leak_sensr'; "
        r"known kinds: .*water_leak_sensor"))
    expect(page.locator("#failure")).to_have_attribute("data-state", "current")
    # The running configuration stayed.
    expect(page.locator("dd[data-count=bridges]")).to_have_text(str(before["bridges"]))
    expect(page.locator("#config-last-reload")).to_contain_text("refusé le")
    screenshot(page, "installer-reload-refused-fr")

    bridge_file.write_text(FIXED_BRIDGE)
    page.locator("#reload").click()
    expect(result).to_have_attribute("data-outcome", "ok", timeout=RELOAD_MS)
    expect(result).to_have_text(
        f"Configuration rechargée : {before['bridges'] + 1} ponts, "
        f"{before['devices'] + 1} appareils, {before['rules']} règles.")
    expect(page.locator("dd[data-count=bridges]")).to_have_text(str(before["bridges"] + 1))
    expect(page.locator("#config-files")).to_contain_text("bridges/x.yaml")
    expect(page.locator("#failure")).to_have_attribute("data-state", "stale")
    expect(page.locator("#failure-note")).to_contain_text("corrigé depuis")
    screenshot(page, "installer-reload-ok-fr")


def switch_language(page: Page, code: str) -> None:
    page.locator(f".lang-switch__button[value={code}]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)


def test_live_traffic_claims_unclaimed_devices_and_dead_letters_in_english_at_360px(
    open_page: OpenPage, site: Site
) -> None:
    run = uuid.uuid4().hex[:8]
    known = "zigbee2mqtt/temp_hall_a"
    unknown = f"zigbee2mqtt/newsensor_{run}"
    malformed = f"zigbee2mqtt/junk_{run}"
    unknown_payload = '{"temperature":19.5,"note":"<b>bold</b>"}'

    page = open_page("installateur", locale="en-GB", width=360, height=740)
    page.goto("/installer/traffic")
    switch_language(page, "en")
    try:
        expect(page.locator("h1")).to_have_text("Live traffic")
        expect(page.locator("#traffic-table")).to_have_attribute("aria-busy", "false")
        page.evaluate("window.palierTestMarker = 'still here'")

        publish(site.mosquitto.port, [
            (known, '{"temperature":21.5,"humidity":40,"battery":90}'),
            (unknown, unknown_payload),
            (malformed, "not json{"),
        ])
        # The poll brings them in, without reloading the page.
        row = page.locator("#traffic-rows tr")
        expect(page.locator(f'#traffic-rows tr[data-topic="{unknown}"]')).to_have_count(1)
        assert page.evaluate("window.palierTestMarker") == "still here", "the page was reloaded"

        page.get_by_label("Filter topics").fill(run)
        expect(row).to_have_count(2)
        expect(page).to_have_url(re.compile(rf"\?contains={run}$"))
        page.get_by_label("Order by").select_option("topic")
        expect(row.nth(0)).to_have_attribute("data-topic", malformed)
        expect(row.nth(1)).to_have_attribute("data-topic", unknown)
        dead_row, unknown_row = row.nth(0), row.nth(1)
        expect(unknown_row).to_have_attribute("data-outcome", "unclaimed")
        expect(unknown_row.locator("[data-role=outcome]")).to_have_text("Unclaimed")
        expect(unknown_row.locator("[data-role=claim-detail]")).to_have_text(
            f"source newsensor_{run} on z2m")
        expect(dead_row).to_have_attribute("data-outcome", "dead_letter")
        expect(dead_row.locator("[data-role=outcome]")).to_have_text("Dead letter")
        expect(dead_row.locator("[data-role=claim-detail]")).to_contain_text("not JSON")
        expect(unknown_row).to_contain_text("1/min")

        page.get_by_label("Filter topics").fill("temp_hall_a")
        expect(row).to_have_count(1)
        expect(row.first).to_have_attribute("data-outcome", "device")
        expect(row.first.locator("[data-role=outcome]")).to_have_text("Device")
        expect(row.first.locator("[data-role=claim-detail]")).to_have_text(
            "temp-lilas-a-hall via z2m")

        unclaimed = page.locator(f'#unclaimed-list li[data-source="newsensor_{run}"]')
        expect(unclaimed).to_contain_text("First seen")
        expect(unclaimed).to_contain_text("Last seen")
        expect(unclaimed.locator("dd").nth(4)).to_have_text("1")
        # The payload is shown as text: its markup is not markup on the page.
        expect(unclaimed.locator("pre code")).to_have_text(unknown_payload)
        expect(unclaimed.locator("b")).to_have_count(0)

        dead = page.locator(f'#dead-list li[data-topic="{malformed}"]')
        expect(dead.locator("[data-role=reason]")).to_contain_text("not JSON")
        expect(dead.locator("pre code")).to_have_text("not json{")

        assert page.evaluate("document.documentElement.scrollWidth") <= 360, \
            "the page is wider than a 360 px screen"
        page.get_by_label("Filter topics").fill(run)
        expect(row).to_have_count(2)
        screenshot(page, "installer-traffic-en-360")
    finally:
        switch_language(page, "fr")  # the profile's language: other tests expect French


def test_traffic_page_at_desktop_width_in_french(open_page: OpenPage, site: Site) -> None:
    page = open_page("installateur")
    page.goto("/installer/traffic?order=rate")
    expect(page.locator("h1")).to_have_text("Trafic en direct")
    expect(page.get_by_label("Trier par")).to_have_value("rate")
    expect(page.locator("#traffic-table")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#traffic-table thead th").first).to_be_visible()
    expect(page.locator("#traffic-summary")).to_contain_text("messages depuis le démarrage")
    # Keyboard: the tabs, then the filter, are reachable in order.
    page.locator(".installer-tabs__link").first.focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Filtrer les sujets")).to_be_focused()
    screenshot(page, "installer-traffic-fr")


def test_residents_and_managers_get_a_403_page(open_page: OpenPage, site: Site) -> None:
    open_page.expect_console("status of 403")
    visitor = open_page()
    visitor.goto("/installer/traffic")
    expect(visitor).to_have_url(re.compile(r"/login\?next=/installer/traffic$"))

    for username in ("amelie", "syndic"):
        page = open_page(username)
        expect(page.locator(".site-nav")).not_to_contain_text("Installation")
        for path in ("/installer", "/installer/traffic"):
            response = page.goto(path)
            assert response is not None and response.status == 403, (username, path)
            expect(page.get_by_role("alert")).to_have_text(
                "Ces pages sont réservées aux installateurs et aux administrateurs.")
        # The API answers them the same.
        api = site.api(username)
        for path in ("/api/admin/config", "/api/admin/traffic"):
            assert api.http.get(path).status_code == 403, (username, path)
        if username == "amelie":
            screenshot(page, "installer-forbidden-fr")
