"""The managers' pages in headless Chromium, against a live gateway and a real broker.

This module runs its own gateway (``site`` below overrides the session's): its alarms,
notices and new members would otherwise show in the residents' pages that other modules
check. Two buildings: Les Lilas (French) managed by ``syndic``, The Oaks (English) managed
by ``gerant``, and ``hugh`` (who reads English) manages both.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import MosquittoServer
from tests.integration.harness import (
    INSTALLATION,
    GatewayThread,
    eventually,
    publish,
    settings_for,
)
from tests.web.conftest import OpenPage, Site, screenshot
from tests.web.test_resident_pages import LOW_CONTRAST

pytestmark = pytest.mark.integration

SITE = """\
city: {id: evry, name: Évry-Courcouronnes}
neighbourhoods:
  - id: pyramides
    name: Les Pyramides
    buildings:
      - id: lilas
        name: Résidence Les Lilas
        entrances:
          a: {floors: 3, units_per_floor: 2, basement: true}
          b: {floors: 4, units_per_floor: 2, basement: true}
      - id: oaks
        name: The Oaks
        language: en
        entrances:
          a: {floors: 2, units_per_floor: 2, basement: true}
"""

MEMBERS = """\
members:
  - username: syndic
    display_name: Sophie G.
    password: test-pass
    memberships: [{place: lilas, role: manager}]
  - username: hugh
    display_name: Hugh B.
    password: test-pass
    language: en
    memberships: [{place: lilas, role: syndic}, {place: oaks, role: landlord}]
  - username: gerant
    display_name: Gérard T.
    password: test-pass
    memberships: [{place: oaks, role: manager}]
  - username: amelie
    display_name: Amélie R.
    password: test-pass
    memberships: [{place: lilas/b/3/31, role: resident}]
  - username: bruno
    display_name: Bruno L.
    password: test-pass
    memberships: [{place: lilas/b/2/21, role: resident}]
  - username: david
    display_name: David K.
    password: test-pass
    memberships: [{place: oaks/a/1/11, role: resident}]
"""

BRIDGE = """\
bridge: {id: z2m, format: zigbee2mqtt, base_topic: zigbee2mqtt}
devices:
  - id: leak-lilas-b-cave
    source: leak_cave_b
    kind: water_leak_sensor
    place: lilas/b/basement
  - id: temp-lilas-a-hall
    source: temp_hall_a
    name: Sonde hall A
    kind: temperature_sensor
    place: lilas/a/0
  - id: leak-oaks-cave
    source: leak_cave_oaks
    kind: water_leak_sensor
    place: oaks/a/basement
"""

WET = '{"battery":100,"battery_low":false,"linkquality":83,"tamper":false,"water_leak":true}'
LEAK_TITLE = "Fuite d'eau — Résidence Les Lilas, Entrée B, sous-sol"


def write_installation(folder: Path) -> Path:
    """The integration installation's rules, with this module's site, members and devices."""
    shutil.copytree(INSTALLATION / "rules", folder / "rules")
    (folder / "bridges").mkdir()
    (folder / "site.yaml").write_text(SITE)
    (folder / "members.yaml").write_text(MEMBERS)
    (folder / "bridges" / "zigbee.yaml").write_text(BRIDGE)
    return folder


@contextmanager
def serve(mosquitto: MosquittoServer, tmp_path_factory: pytest.TempPathFactory,
          name: str) -> Iterator[Site]:
    """A gateway of its own (SQLite, the session's Mosquitto) for one test module."""
    config = write_installation(tmp_path_factory.mktemp(f"{name}-installation"))
    var = tmp_path_factory.mktemp(f"{name}-var")
    settings = dataclasses.replace(
        settings_for(mosquitto.url, f"sqlite:///{var / 'palier.db'}", var,
                     client_id=f"palier-{name}-{uuid.uuid4().hex[:8]}", config_dir=config),
        watch_config=False)
    thread = GatewayThread(settings)
    running = thread.start()
    served = Site(running.api_url, mosquitto)
    try:
        yield served
    finally:
        for user in served.users:
            user.close()
        thread.stop()


@pytest.fixture(scope="module")
def site(mosquitto: MosquittoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(mosquitto, tmp_path_factory, "manager-pages") as served:
        yield served


# -- helpers ------------------------------------------------------------------------------


def loaded(page: Page, selector: str) -> None:
    """The page's script has filled ``selector`` (it sets aria-busy="false" when done)."""
    expect(page.locator(selector)).to_have_attribute("aria-busy", "false")


def streaming(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


def mark_window(page: Page) -> None:
    page.evaluate("window.palierTestMarker = 'still here'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.palierTestMarker") == "still here", "the page was reloaded"


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def local_input(moment: datetime) -> str:
    """What a datetime-local input holds (the browser's time zone is the machine's)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def leak_alarm(site: Site) -> dict[str, object]:
    syndic = site.api("syndic")
    return eventually(lambda: next((a for a in syndic.get("/api/alarms")["items"]
                                    if a["device_id"] == "leak-lilas-b-cave"), None))


# -- the alarm board ------------------------------------------------------------------------


def test_a_leak_appears_live_on_the_board_and_is_acknowledged_with_a_note(
    open_page: OpenPage, site: Site
) -> None:
    board = open_page("syndic")
    board.goto("/manager")
    expect(board).to_have_url(re.compile(r"/manager/alarms$"))
    expect(board.locator(".site-nav__link[aria-current=page]")).to_have_text("Alarmes")
    loaded(board, "#alarm-list")
    streaming(board)
    expect(board.locator("#alarm-empty")).to_be_visible()
    amelie = open_page("amelie")
    loaded(amelie, "#feed-list")
    streaming(amelie)
    mark_window(board)

    publish(site.mosquitto.port, [("zigbee2mqtt/leak_cave_b", WET)])
    card = board.locator("article.alarm")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-state", "active")
    expect(card.locator(".alarm__title")).to_have_text(LEAK_TITLE)
    expect(card.locator("[data-role=severity]")).to_have_text("Critique")
    expect(card.locator("[data-role=still]")).to_have_attribute("data-count", "0")
    expect(board.locator("#alarm-count")).to_have_text("1 alarme")

    # A resident says it is still happening: the board counts it, live.
    alert = amelie.locator("article.post--alert")
    alert.get_by_role("button", name="Toujours d'actualité").click()
    still = card.locator("[data-role=still]")
    expect(still).to_have_attribute("data-count", "1")
    expect(still).to_contain_text("1 habitant l'a signalé")
    screenshot(board, "manager-alarms-active-fr")

    # Filters: severity and building narrow the list here, the state goes to the API.
    board.select_option("#filter-severity", "info")
    expect(card).to_have_count(0)
    expect(board.locator("#alarm-empty")).to_be_visible()
    expect(board).to_have_url(re.compile(r"severity=info"))
    board.select_option("#filter-severity", "critical")
    board.select_option("#filter-building", "lilas")
    expect(card).to_have_count(1)

    card.get_by_label("Note pour les habitants (facultatif)").fill("Plombier prévenu, vers 14 h")
    card.get_by_role("button", name="Prendre en charge").click()
    expect(card).to_have_attribute("data-state", "acknowledged")
    expect(card.locator("[data-role=state]")).to_have_text("Prise en charge")
    expect(card.locator("[data-role=note]")).to_have_text("Plombier prévenu, vers 14 h")
    expect(card.locator("[data-role=acknowledged]")).to_contain_text("par Sophie G.")
    expect(card.locator("[data-role=ack-form]")).to_have_count(0)
    expect(board.locator("#announcer-polite")).to_contain_text("prise en charge")
    screenshot(board, "manager-alarms-acknowledged-fr")

    # The resident's page shows the new state, and the API agrees.
    expect(alert).to_have_attribute("data-state", "acknowledged")
    expect(alert.locator(".post__body")).to_contain_text("Plombier prévenu, vers 14 h")
    acknowledged = leak_alarm(site)
    assert acknowledged["state"] == "acknowledged"
    assert acknowledged["ack_note"] == "Plombier prévenu, vers 14 h"

    board.select_option("#filter-state", "active")
    expect(card).to_have_count(0)
    board.select_option("#filter-state", "acknowledged")
    expect(card).to_have_count(1)
    assert_not_reloaded(board)


# -- device health and history --------------------------------------------------------------


def test_device_health_by_entrance_and_floor_and_a_chart_of_each_point(
    open_page: OpenPage, site: Site
) -> None:
    publish(site.mosquitto.port, [("zigbee2mqtt/leak_cave_b/availability", "online")])
    temperatures = (19.5, 20.25, 21.0)
    for index, value in enumerate(temperatures):  # 2-second buckets over the last hour
        if index:
            time.sleep(2.2)
        publish(site.mosquitto.port, [("zigbee2mqtt/temp_hall_a", f'{{"temperature": {value}, '
                                       f'"humidity": 41, "battery": 87, "battery_low": false}}')])

    page = open_page("syndic")
    page.goto("/manager/buildings")
    page.get_by_role("link", name="Voir les appareils — Résidence Les Lilas").click()
    expect(page).to_have_url(re.compile(r"/manager/buildings/lilas/devices$"))
    loaded(page, "#device-layout")
    entrances = page.locator("section.entrance")
    expect(entrances.locator(".entrance__title")).to_have_text(["Entrée A", "Entrée B"])
    entrance_b = page.locator("section.entrance[data-entrance='lilas/b']")
    expect(entrance_b.locator(".device-group__title")).to_have_text(["sous-sol"])
    leak = entrance_b.locator(".device[data-device-id=leak-lilas-b-cave]")
    expect(leak).to_have_attribute("data-availability", "online")
    expect(leak.locator("[data-role=availability]")).to_have_text("Joignable")
    expect(leak.locator(".device__kind")).to_have_text("Détecteur de fuite d'eau")
    probe = page.locator("section.entrance[data-entrance='lilas/a'] .device")
    expect(probe).to_have_attribute("data-device-id", "temp-lilas-a-hall")
    expect(probe.locator("[data-role=battery]")).to_have_text("Batterie 87 %")
    expect(probe.locator("[data-role=last-seen]")).to_contain_text("Dernier message")
    expect(page.locator("#device-summary")).to_have_text(
        "Appareils : 2 · joignables : 2 · injoignables : 0 · sans nouvelles : 0 · "
        "batterie faible : 0")
    expect(page.locator(".device[data-device-id=leak-oaks-cave]")).to_have_count(0)
    screenshot(page, "manager-devices-fr")

    probe.get_by_role("link", name="Sonde hall A").click()
    expect(page).to_have_url(re.compile(r"/manager/devices/temp-lilas-a-hall$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sonde hall A")
    loaded(page, "#device-state")
    expect(page.locator("#device-state [data-point=temperature]")).to_contain_text("21 °C")
    page.select_option("#history-range", label="Dernière heure")
    chart = page.locator(".chart[data-point=temperature]")
    svg = chart.locator("svg.chart__svg")
    expect(svg.locator("circle.chart__point")).to_have_count(3)
    expect(svg).to_have_attribute("role", "img")
    expect(svg.locator("desc")).to_contain_text("3 valeurs du ")
    expect(svg.locator("desc")).to_contain_text("minimum 19,5 °C, maximum 21 °C, dernière 21 °C")
    heights = [float(y) for y in svg.locator("circle.chart__point").evaluate_all(
        "dots => dots.map(d => d.getAttribute('cy'))")]
    assert heights[0] > heights[1] > heights[2], "warmer is higher on the chart"
    assert page.evaluate("document.querySelectorAll('svg.chart__svg').length") == 4, \
        "one chart per number or true/false point: temperature, humidity, battery, battery_low"
    chart.locator("details summary").click()
    rows = chart.locator("table.values-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(1).locator("td").first).to_have_text("20,3 °C")
    screenshot(page, "manager-device-chart-fr")


# -- notices and receipts -------------------------------------------------------------------


def test_a_notice_composed_on_the_page_and_its_read_receipts(
    open_page: OpenPage, site: Site
) -> None:
    open_page.expect_console("status of 422")  # the dates in the wrong order
    page = open_page("syndic")
    page.goto("/manager/notices")
    loaded(page, "#notice-list")
    title = "Coupure d'eau jeudi 9 h–12 h"
    now = datetime.now()
    page.select_option("#notice-place", label="Entrée B")
    page.get_by_label("Titre").fill(title)
    page.get_by_label("Texte").fill("Travaux sur la colonne B.")
    page.get_by_label("Épinglé en haut du fil jusqu'au").fill(local_input(now + timedelta(days=5)))
    page.get_by_label("Retiré le").fill(local_input(now + timedelta(days=2)))
    page.get_by_role("button", name="Publier l'avis").click()
    error = page.locator('[data-error-for="data.expires_at"]')
    expect(error).to_contain_text("must not be before pinned_until")
    expect(page.locator("#notice-expires_at")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Épinglé en haut du fil jusqu'au").fill(local_input(now + timedelta(days=2)))
    page.get_by_label("Retiré le").fill(local_input(now + timedelta(days=5)))
    page.get_by_role("button", name="Publier l'avis").click()
    expect(page.locator("#notice-published")).to_have_text("Avis publié.")
    expect(error).to_be_hidden()
    notice = page.locator("article.notice-item").filter(has_text=title)
    expect(notice).to_have_count(1)
    expect(notice).to_contain_text("Entrée B")
    expect(notice).to_contain_text("Épinglé jusqu'au")
    receipts = notice.locator("[data-role=receipts]")
    expect(receipts).to_have_text("Lu par 0 % des foyers (0 sur 2)")  # flats 21 and 31 of B

    amelie = open_page("amelie")  # her feed shows the notice pinned, and counts it read
    expect(amelie.locator("#pinned-section .post__title", has_text=title)).to_be_visible()
    post_id = int(notice.get_attribute("data-post-id") or 0)
    syndic = site.api("syndic")
    eventually(lambda: syndic.get(f"/api/posts/{post_id}/receipts")["read"] == 1)
    page.get_by_role("button", name="Actualiser les lectures").click()
    expect(receipts).to_have_text("Lu par 50 % des foyers (1 sur 2)")
    expect(receipts).to_have_attribute("data-percent", "50")
    expect(notice.locator("meter")).to_have_attribute("value", "50")
    screenshot(page, "manager-notices-fr")


# -- invites and join requests --------------------------------------------------------------


def test_an_invite_issued_on_the_page_is_redeemed_and_a_join_request_approved(
    open_page: OpenPage, site: Site
) -> None:
    page = open_page("syndic")
    page.goto("/manager/invites")
    page.select_option("#invite-unit", "lilas/a/2/21")
    loaded(page, "#invite-list")
    expect(page.locator("#invite-list-unit")).to_have_text(
        "Résidence Les Lilas, Entrée A, appartement 21")
    expect(page.locator("#invite-empty")).to_be_visible()
    page.get_by_role("button", name="Créer le code").click()
    letter = page.locator("#invite-letter")
    expect(letter).to_be_visible()
    code = page.locator("#invite-letter-code").inner_text()
    assert re.fullmatch(r"[A-Z0-9-]{10,12}", code), code
    link = page.locator("#invite-letter-link")
    expect(link).to_have_text(f"{site.url}/join?code={code}")
    printed = link.get_attribute("href") or ""
    expect(letter).to_contain_text("Pour : Résidence Les Lilas, Entrée A, appartement 21")
    issued = page.locator(f".invite[data-code='{code}']")
    expect(issued.locator("[data-role=status]")).to_have_text("Valable")
    screenshot(page, "manager-invites-fr")

    page.get_by_role("button", name="Créer le code").click()  # a second one, lost: revoked
    lost = page.locator("#invite-letter-code")
    expect(lost).not_to_have_text(code)
    lost_code = lost.inner_text()
    page.get_by_role("button", name=f"Révoquer {lost_code}").click()
    expect(page.locator(f".invite[data-code='{lost_code}'] [data-role=status]")).to_have_text(
        "Révoqué")

    visitor = open_page()  # the new resident opens the printed link
    visitor.goto(printed)
    expect(visitor.locator("#join-target")).to_contain_text("appartement 21")
    visitor.get_by_label("Nom affiché aux voisins").fill("Nina P.")
    visitor.get_by_label("Identifiant de connexion").fill("nina")
    visitor.get_by_label("Mot de passe").fill("un-long-secret")
    visitor.get_by_role("button", name="Créer mon compte").click()
    expect(visitor).to_have_url("/?joined=1")
    page.reload()
    page.select_option("#invite-unit", "lilas/a/2/21")
    expect(issued.locator("[data-role=status]")).to_have_text("Utilisé")
    expect(issued).to_contain_text("par Nina P.")

    david = site.api("david")  # a resident of The Oaks moving into Les Lilas
    for unit, message in (("lilas/a/1/12", "J'emménage au 12 le mois prochain."),
                          ("lilas/a/0/01", "")):
        asked = david.http.post("/api/join-requests", json={"place": unit, "message": message})
        assert asked.status_code == 201, asked.text
    page.reload()
    loaded(page, "#request-list")
    requests = page.locator(".join-request")
    expect(requests).to_have_count(2)
    expect(requests.first).to_contain_text(
        "David K. demande à rejoindre Résidence Les Lilas, Entrée A, appartement 12, "
        "en tant que habitant·e")
    expect(requests.first).to_contain_text("J'emménage au 12 le mois prochain.")
    requests.first.get_by_role("button", name="Accepter — David K.").click()
    expect(requests).to_have_count(1)
    requests.first.get_by_role("button", name="Refuser — David K.").click()
    expect(page.locator("#requests-empty")).to_be_visible()
    places = {(m["place"]["id"], m["verified"]) for m in david.get("/api/me")["memberships"]}
    assert ("lilas/a/1/12", True) in places
    assert not any(place == "lilas/a/0/01" for place, _ in places)


# -- hall display links ---------------------------------------------------------------------


def test_a_display_link_made_on_the_page_opens_the_board_until_revoked(
    open_page: OpenPage, site: Site
) -> None:
    open_page.expect_console("status of 404")  # the revoked link's page
    page = open_page("syndic")
    page.goto("/manager/displays")
    loaded(page, "#display-list")
    page.get_by_label("Nom de l'écran").fill("Hall entrée B")
    page.get_by_role("button", name="Créer le lien").click()
    address = page.locator("#display-url")
    expect(address).to_have_value(re.compile(rf"^{re.escape(site.url)}/display/[\w-]{{20,}}$"))
    url = address.input_value()
    item = page.locator(".display-link").filter(has_text="Hall entrée B")
    expect(item.locator("[data-role=status]")).to_have_text("Actif")
    expect(item).to_contain_text("Créé le")
    expect(item).to_contain_text("par Sophie G.")
    screenshot(page, "manager-displays-fr")

    screen = open_page()  # the hall screen: no login
    answer = screen.goto(url)
    assert answer is not None and answer.status == 200
    expect(screen.get_by_role("heading", level=1)).to_have_text("Résidence Les Lilas")
    loaded(screen, "#display-board")

    revoke = item.locator("[data-role=revoke]")
    revoke.click()
    expect(revoke).to_have_text("Confirmer la révocation")  # a second press confirms
    revoke.click()
    expect(item.locator("[data-role=status]")).to_have_text("Révoqué")
    gone = screen.reload()
    assert gone is not None and gone.status == 404
    expect(screen.get_by_role("alert")).to_contain_text("Ce lien d'affichage ne fonctionne pas")


# -- who may open what ----------------------------------------------------------------------


def test_a_manager_of_another_building_and_a_resident_get_403_pages(
    open_page: OpenPage, site: Site
) -> None:
    open_page.expect_console("status of 403")
    open_page.expect_console("status of 404")
    publish(site.mosquitto.port, [("zigbee2mqtt/leak_cave_b", WET)])
    leak_alarm(site)  # an open alarm in Les Lilas, which The Oaks' manager must not see
    gerant = open_page("gerant")
    for path in ("/manager/buildings/lilas/devices", "/manager/notices?building=lilas",
                 "/manager/invites?building=lilas", "/manager/displays?building=lilas",
                 "/manager/alarms?building=lilas"):
        answer = gerant.goto(path)
        assert answer is not None and answer.status == 403, path
        expect(gerant.get_by_role("alert")).to_have_text("Vous ne gérez pas cet immeuble.")
    screenshot(gerant, "manager-forbidden-fr")
    answer = gerant.goto("/manager/devices/leak-lilas-b-cave")  # as the API: not found
    assert answer is not None and answer.status == 404
    answer = gerant.goto("/manager/buildings/nowhere/devices")
    assert answer is not None and answer.status == 404
    assert site.api("gerant").http.get("/api/buildings/lilas/devices").status_code == 404

    gerant.goto("/manager/alarms")  # his own board: nothing of Les Lilas
    loaded(gerant, "#alarm-list")
    expect(gerant.locator("article.alarm")).to_have_count(0)
    gerant.goto("/manager/buildings/oaks/devices")
    loaded(gerant, "#device-layout")
    oaks_leak = gerant.locator(".device")
    expect(oaks_leak).to_have_attribute("data-device-id", "leak-oaks-cave")
    expect(oaks_leak.locator("[data-role=availability]")).to_have_text("Sans nouvelles")
    expect(oaks_leak.locator("[data-role=last-seen]")).to_have_text("Jamais entendu")

    amelie = open_page("amelie")
    expect(amelie.get_by_role("link", name="Alarmes")).to_have_count(0)
    answer = amelie.goto("/manager/alarms")
    assert answer is not None and answer.status == 403
    expect(amelie.get_by_role("alert")).to_have_text(
        "Cette page n'est pas accessible avec votre rôle.")


# -- English, a 360 px phone, contrast ------------------------------------------------------

#: page, its heading in English, what its script fills.
PAGES = (
    ("/manager/alarms", "Alarms", "#alarm-list", "alarms"),
    ("/manager/buildings", "My buildings' devices", None, "buildings"),
    ("/manager/buildings/lilas/devices", "Device health — Résidence Les Lilas", "#device-layout",
     "devices"),
    ("/manager/devices/temp-lilas-a-hall", "Sonde hall A", "#device-state", "device"),
    ("/manager/notices", "Official notices — Résidence Les Lilas", "#notice-list", "notices"),
    ("/manager/invites", "Invites and requests — Résidence Les Lilas", "#request-list",
     "invites"),
    ("/manager/displays", "Hall screens — Résidence Les Lilas", "#display-list", "displays"),
)


def test_every_page_in_english_on_a_360_pixel_phone_with_readable_contrast(
    open_page: OpenPage,
) -> None:
    page = open_page("hugh", width=360, height=740)  # his profile says English
    for path, heading, filled, name in PAGES:
        page.goto(path)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        if filled:
            loaded(page, filled)
        assert no_horizontal_scroll(page), f"{path} overflows at 360 px"
        assert page.evaluate(LOW_CONTRAST) == [], path
        screenshot(page, f"manager-{name}-360-en")
    page.goto("/manager/notices")  # a manager of two buildings picks one
    page.get_by_label("Building", exact=True).select_option(label="The Oaks")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/manager/notices\?building=oaks$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Official notices — The Oaks")
    expect(page.locator("#notice-place option")).to_have_text(["The Oaks", "Entrance A"])

    page.goto("/manager/alarms")
    expect(page.locator(".site-nav__link[aria-current=page]")).to_have_text("Alarms")
    expect(page.get_by_label("Severity")).to_be_visible()

    # The board by keyboard: from the skip link to the filters, and on.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "filter-building":
            break
    else:
        pytest.fail("the filters cannot be reached with the Tab key")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "filter-severity"
