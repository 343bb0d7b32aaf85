"""The hall display page in headless Chromium: no login, the building's language, current
notices and ongoing incidents, refreshing itself, and a clear 404 once its link is revoked.

A gateway of its own, on the managers' pages' installation (Les Lilas in French, The Oaks
in English). The screen's clock is Playwright's: a minute passes at once, so the page's
own refresh timer is what brings the new board, not a reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import MosquittoServer
from tests.integration.harness import ApiUser, eventually, publish
from tests.web.conftest import OpenPage, Site, screenshot
from tests.web.test_manager_pages import LEAK_TITLE, WET, no_horizontal_scroll, serve
from tests.web.test_resident_pages import LOW_CONTRAST

pytestmark = pytest.mark.integration

MINUTE_AND_A_BIT = 61_000


@pytest.fixture(scope="module")
def site(mosquitto: MosquittoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(mosquitto, tmp_path_factory, "display-page") as served:
        yield served


def notice(manager: ApiUser, place: str, title: str, body: str = "", **data: str) -> int:
    made = manager.http.post("/api/posts", json={"place": place, "kind": "notice",
                                                 "title": title, "body": body, "data": data})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def display_link(manager: ApiUser, building: str, label: str) -> tuple[int, str]:
    made = manager.http.post(f"/api/buildings/{building}/display-links", json={"label": label})
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["token"]


def board_shown(screen: Page) -> None:
    expect(screen.locator("#display-board")).to_have_attribute("aria-busy", "false")


def test_the_hall_screen_shows_notices_and_incidents_and_refreshes_itself(
    open_page: OpenPage, site: Site
) -> None:
    open_page.expect_console("status of 404")  # the revoked link, at the screen's refresh
    syndic = site.api("syndic")
    pinned = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    notice(syndic, "lilas", "Assemblée générale le 12 mars", "Salle commune, 18 h.",
           pinned_until=pinned)
    notice(syndic, "lilas/b/2", "Travaux au 2e étage")  # a floor's: never in the hall
    publish(site.mosquitto.port, [("zigbee2mqtt/leak_cave_b", WET)])
    alarm = eventually(lambda: syndic.get("/api/alarms")["items"])[0]
    link_id, token = display_link(syndic, "lilas", "Hall entrée B")

    screen = open_page(locale="en-GB")  # the building's language wins over the browser's
    screen.clock.install()
    answer = screen.goto(f"/display/{token}")
    assert answer is not None and answer.status == 200
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in answer.headers["cache-control"]
    expect(screen.locator("html")).to_have_attribute("lang", "fr")
    expect(screen.get_by_role("heading", level=1)).to_have_text("Résidence Les Lilas")
    board_shown(screen)
    incident = screen.locator(".display-incident")
    expect(incident).to_have_count(1)
    expect(incident.locator(".display-item__title")).to_have_text(LEAK_TITLE)
    expect(incident).to_have_attribute("data-state", "ongoing")
    expect(incident).to_contain_text("Urgent")
    expect(incident).to_contain_text("En cours")
    notices = screen.locator(".display-notice")
    expect(notices).to_have_count(1)
    expect(notices.first).to_contain_text("Assemblée générale le 12 mars")
    expect(notices.first).to_contain_text("Salle commune, 18 h.")
    expect(notices.first).to_have_class("display-item display-notice display-notice--pinned")
    expect(screen.locator("#display-updated")).to_contain_text("Mis à jour à")
    # Nothing to log in with, nobody's name, no way into the site.
    expect(screen.locator("nav, form, .site-nav, .lang-switch")).to_have_count(0)
    assert screen.evaluate(LOW_CONTRAST) == []
    screenshot(screen, "display-board-fr")

    acknowledged = syndic.http.post(f"/api/alarms/{alarm['id']}/acknowledge",
                                    json={"note": "Plombier appelé par Sophie"})
    assert acknowledged.status_code == 200, acknowledged.text
    notice(syndic, "lilas/b", "Ascenseur B arrêté demain matin")
    screen.clock.fast_forward(MINUTE_AND_A_BIT)  # the page's own refresh, without a reload
    expect(notices).to_have_count(2)
    expect(notices.nth(1)).to_contain_text("Ascenseur B arrêté demain matin")
    expect(incident).to_have_attribute("data-state", "handled")
    expect(incident).to_contain_text("Pris en charge")
    page_text = screen.locator("body").inner_text()
    assert "Sophie" not in page_text and "Plombier" not in page_text, "private details shown"
    assert "Travaux au 2e étage" not in page_text
    screenshot(screen, "display-board-handled-fr")

    revoked = syndic.http.delete(f"/api/display-links/{link_id}")
    assert revoked.status_code == 200, revoked.text
    screen.clock.fast_forward(MINUTE_AND_A_BIT)
    expect(screen.locator("#display-gone")).to_have_text(
        "Ce lien d'affichage ne fonctionne plus. Demandez un nouveau lien au gestionnaire de "
        "l'immeuble.")
    expect(screen.locator("#display-board")).to_be_hidden()
    expect(incident).to_have_count(0)
    screenshot(screen, "display-revoked-fr")
    gone = screen.reload()
    assert gone is not None and gone.status == 404
    expect(screen.get_by_role("heading", level=1)).to_have_text("Screen not available")


def test_an_english_building_on_a_360_pixel_phone(open_page: OpenPage, site: Site) -> None:
    gerant = site.api("gerant")
    notice(gerant, "oaks", "Bin collection moves to Tuesday", "From next week on.")
    _link_id, token = display_link(gerant, "oaks", "Lobby")
    screen = open_page(locale="fr-FR", width=360, height=740)
    screen.goto(f"/display/{token}")
    expect(screen.locator("html")).to_have_attribute("lang", "en")
    board_shown(screen)
    expect(screen.get_by_role("heading", level=2)).to_have_text(
        ["Ongoing incidents", "Notices from the management"])
    expect(screen.locator("#incident-list")).to_have_text("No ongoing incident.")
    expect(screen.locator(".display-notice")).to_contain_text("Bin collection moves to Tuesday")
    expect(screen.locator("#display-updated")).to_contain_text("Updated at")
    assert no_horizontal_scroll(screen)
    assert screen.evaluate(LOW_CONTRAST) == []
    screenshot(screen, "display-board-360-en", full_page=False)


def test_an_unknown_link_answers_a_clear_404_page(open_page: OpenPage) -> None:
    open_page.expect_console("status of 404")
    screen = open_page(locale="fr-FR")
    answer = screen.goto("/display/not-a-display-token")
    assert answer is not None and answer.status == 404
    expect(screen.get_by_role("heading", level=1)).to_have_text("Écran non disponible")
    expect(screen.get_by_role("alert")).to_have_text(
        "Ce lien d'affichage ne fonctionne pas ou plus. Demandez un nouveau lien au "
        "gestionnaire de l'immeuble.")
    screenshot(screen, "display-unknown-fr")
