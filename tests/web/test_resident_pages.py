"""The residents' pages in headless Chromium, against a live gateway and a real broker.

"Without reloading" is checked, not assumed: a value set on the page's ``window``
before the event must still be there after it (a reload would have wiped it).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.integration.harness import eventually, publish
from tests.web.conftest import OpenPage, Site, log_in, screenshot

pytestmark = pytest.mark.integration

WET = '{"battery":100,"battery_low":false,"linkquality":83,"tamper":false,"water_leak":true}'
DRY = '{"battery":100,"battery_low":false,"linkquality":83,"tamper":false,"water_leak":false}'


def feed_ready(page: Page) -> None:
    """The first page of the feed is shown and the live stream is connected."""
    expect(page.locator("#feed-list")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")


def mark_window(page: Page) -> None:
    page.evaluate("window.palierTestMarker = 'still here'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.palierTestMarker") == "still here", "the page was reloaded"


def test_login_failure_then_success(open_page: OpenPage) -> None:
    open_page.expect_console("status of 401")  # the failed login's page answers 401
    page = open_page()
    page.goto("/")
    expect(page).to_have_url("/login")
    page.locator("#username").fill("amelie")
    page.locator("#password").fill("not-the-password")
    page.locator("form.form button[type=submit]").click()
    error = page.get_by_role("alert")
    expect(error).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#username")).to_have_value("amelie")
    screenshot(page, "login-error-fr")
    log_in(page, "amelie")
    expect(page).to_have_url("/")
    expect(page.locator(".site-nav__link[aria-current=page]")).to_have_text("Fil")


def test_a_leak_appears_live_changes_state_live_and_stays_in_its_building(
    open_page: OpenPage, site: Site
) -> None:
    amelie = open_page("amelie")
    david = open_page("david")  # Les Tilleuls: another building
    for page in (amelie, david):
        feed_ready(page)
        mark_window(page)

    publish(site.mosquitto.port, [("zigbee2mqtt/leak_cave_b", WET)])
    alert = amelie.locator("article.post--alert")
    expect(alert).to_have_count(1)
    expect(alert.locator(".post__title")).to_have_text(
        "Fuite d'eau — Résidence Les Lilas, Entrée B, sous-sol")
    expect(alert).to_have_attribute("data-state", "active")
    expect(alert.locator("[data-role=alert-state]")).to_have_text("En cours")
    screenshot(amelie, "feed-alert-active-fr")

    syndic = site.api("syndic")
    alarm = eventually(lambda: syndic.get("/api/alarms")["items"])[0]
    acked = syndic.http.post(f"/api/alarms/{alarm['id']}/acknowledge",
                             json={"note": "Plombier en route"})
    assert acked.status_code == 200, acked.text
    expect(alert).to_have_attribute("data-state", "acknowledged")
    expect(alert.locator("[data-role=alert-state]")).to_have_text("Pris en charge")
    expect(alert.locator(".post__body")).to_contain_text("Pris en charge par Sophie G. : "
                                                         "Plombier en route")
    screenshot(amelie, "feed-alert-acknowledged-fr")

    publish(site.mosquitto.port, [("zigbee2mqtt/leak_cave_b", DRY)])
    expect(alert).to_have_attribute("data-state", "resolved", timeout=15_000)
    expect(alert.locator("[data-role=alert-state]")).to_have_text("Résolu")
    assert_not_reloaded(amelie)

    # David's stream is alive and delivers what he may read (a post in the city)...
    marker = site.api("amelie").http.post("/api/posts", json={
        "place": "evry", "kind": "message", "title": "Marché de Noël samedi", "data": {}})
    assert marker.status_code == 201, marker.text
    expect(david.locator(".post__title", has_text="Marché de Noël samedi")).to_be_visible()
    # ...and never showed the leak of Les Lilas, before or after it.
    expect(david.locator("article.post--alert")).to_have_count(0)
    assert_not_reloaded(david)


def test_an_official_notice_arrives_pinned_at_the_top(open_page: OpenPage, site: Site) -> None:
    page = open_page("amelie")
    feed_ready(page)
    mark_window(page)
    until = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
    notice = site.api("syndic").http.post("/api/posts", json={
        "place": "lilas", "kind": "notice", "title": "Coupure d'eau jeudi 9 h–12 h",
        "body": "Travaux sur la colonne B.", "data": {"pinned_until": until}})
    assert notice.status_code == 201, notice.text
    pinned = page.locator("#pinned-section")
    expect(pinned).to_be_visible()
    expect(pinned.locator("article.post--pinned .post__title")).to_have_text(
        "Coupure d'eau jeudi 9 h–12 h")
    expect(pinned.locator(".badge--pinned")).to_contain_text("Épinglé jusqu'au")
    expect(page.locator("#feed-list .post__title", has_text="Coupure d'eau")).to_have_count(0)
    assert_not_reloaded(page)


def card(page: Page, title: str) -> Locator:
    return page.locator("article.post").filter(
        has=page.locator(".post__title", has_text=title))


def compose(page: Page, *, place: str, kind: str, title: str, body: str = "",
            fields: dict[str, str] | None = None) -> None:
    """Fill and send the composer, as a resident would."""
    box = page.locator("#composer-box")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    page.select_option("#compose-place", place)
    page.select_option("#compose-kind", kind)
    page.fill("#compose-title", title)
    page.fill("#compose-body", body)
    for name, value in (fields or {}).items():
        field = page.locator(f"#compose-{kind}-{name}")
        if field.evaluate("node => node.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    page.locator("#composer button[type=submit]").click()


def test_a_neighbour_offers_help_and_the_requester_sees_it(
    open_page: OpenPage, site: Site
) -> None:
    amelie, bruno = open_page("amelie"), open_page("bruno")
    feed_ready(amelie)
    feed_ready(bruno)
    mark_window(bruno)
    mark_window(amelie)
    title = "Porter mes courses au 3e"
    compose(amelie, place="lilas", kind="help_request", title=title,
            body="L'ascenseur est en panne, j'ai deux packs d'eau.")
    expect(card(amelie, title)).to_be_visible()
    expect(card(amelie, title).locator(".offers")).to_contain_text("Pas encore de proposition.")

    request = card(bruno, title)
    expect(request).to_be_visible()  # arrived live
    assert_not_reloaded(bruno)
    request.get_by_role("button", name="Je peux aider").click()
    request.get_by_label("Un mot pour la personne (facultatif)").fill("Je passe à 18 h.")
    request.get_by_role("button", name="Proposer mon aide").click()
    expect(request.locator("[data-role=help-offered]")).to_have_text(
        "Vous avez proposé votre aide.")
    screenshot(bruno, "feed-help-offered-fr")

    # The offer reaches the requester live (an ``offer.changed`` event for her only).
    offers = card(amelie, title).locator(".offer")
    expect(offers).to_have_count(1)
    assert_not_reloaded(amelie)
    expect(offers).to_contain_text("Bruno L.")
    expect(offers).to_contain_text("Je passe à 18 h.")
    offers.get_by_role("button", name="Accepter").click()
    expect(card(amelie, title).locator(".offer")).to_contain_text("acceptée")
    # ...and the acceptance reaches the helper live too.
    expect(card(bruno, title).locator("[data-role=help-offered]")).to_have_text(
        "Votre aide a été acceptée : merci !")
    assert_not_reloaded(bruno)
    screenshot(amelie, "feed-help-offers-fr")


def test_composing_a_message_an_event_and_a_poll_and_answering_them(
    open_page: OpenPage,
) -> None:
    open_page.expect_console("status of 422")  # the event dated in the past
    chloe, bruno = open_page("chloe"), open_page("bruno")
    feed_ready(chloe)
    feed_ready(bruno)
    mark_window(chloe)
    mark_window(bruno)

    message = "Qui a perdu un parapluie bleu ?"
    compose(chloe, place="lilas/b", kind="message", title=message, body="Trouvé dans le hall.")
    expect(card(chloe, message)).to_be_visible()
    expect(chloe.locator("#announcer-polite")).to_have_text("Publié.")  # for screen readers

    compose(chloe, place="lilas/b", kind="event", title="Fête des voisins",
            fields={"starts_at": "2020-06-01T18:30", "location": "Cour intérieure"})
    error = chloe.locator('[data-error-for="data.starts_at"]')
    expect(error).to_contain_text("must not be in the past")
    expect(chloe.locator("#compose-event-starts_at")).to_have_attribute("aria-invalid", "true")
    chloe.fill("#compose-event-starts_at", "2030-06-01T18:30")
    chloe.fill("#compose-event-capacity", "20")
    chloe.locator("#composer button[type=submit]").click()
    event = card(chloe, "Fête des voisins")
    expect(event).to_be_visible()
    expect(event.locator(".post__details")).to_contain_text("Cour intérieure")
    expect(event.locator(".post__details")).to_contain_text("20")
    expect(error).to_be_hidden()

    compose(chloe, place="lilas/b", kind="poll", title="Quel jour pour le vide-grenier ?",
            fields={"options": "Samedi\nDimanche"})
    expect(card(chloe, "Quel jour pour le vide-grenier ?")).to_be_visible()
    screenshot(chloe, "feed-composed-fr")

    # Bruno, in the same entrance, answers all three: they reached his page live.
    invitation = card(bruno, "Fête des voisins")
    invitation.get_by_role("button", name="Oui").click()
    expect(invitation.locator("[data-role=rsvp-summary]")).to_have_text(
        "1 oui · 0 peut-être · 0 non · 19 places restantes")
    expect(invitation.get_by_role("button", name="Oui")).to_have_attribute("aria-pressed", "true")

    poll = card(bruno, "Quel jour pour le vide-grenier ?")
    poll.get_by_label("Dimanche").check()
    poll.get_by_role("button", name="Voter").click()
    expect(poll.locator("[data-role=poll-results]")).to_contain_text("votre choix")
    expect(poll.locator("[data-role=poll-results]")).to_contain_text("1 voix")

    umbrella = card(bruno, message)
    umbrella.get_by_role("button", name="J'aime").click()
    expect(umbrella.get_by_role("button", name="J'aime")).to_have_attribute("aria-pressed", "true")
    umbrella.get_by_role("button", name="Commentaires (0)").click()
    umbrella.get_by_label("Votre commentaire").fill("C'est le mien, merci !")
    umbrella.get_by_role("button", name="Commenter", exact=True).click()
    expect(umbrella.locator(".comment__body")).to_have_text("C'est le mien, merci !")
    screenshot(bruno, "feed-answered-fr")
    assert_not_reloaded(bruno)

    # Chloé sees the like and the comment arrive without reloading.
    mine = card(chloe, message)
    expect(mine.locator("[data-reaction=like] .reaction__count")).to_have_text("1")
    expect(mine.locator("[data-role=comments-toggle]")).to_have_text("Commentaires (1)")
    assert_not_reloaded(chloe)


def test_pages_in_french_and_in_english(open_page: OpenPage, site: Site) -> None:
    emma = open_page("emma")  # her profile says English
    feed_ready(emma)
    expect(emma.locator("html")).to_have_attribute("lang", "en")
    expect(emma.locator(".site-nav__link[aria-current=page]")).to_have_text("Feed")
    expect(emma.locator(".circles__tab[data-circle=all]")).to_have_text("Everything")
    expect(emma.locator("#composer-box summary")).to_have_text("Post something")
    screenshot(emma, "feed-en")
    emma.goto("/settings")
    expect(emma.get_by_role("heading", level=1)).to_have_text("Notification settings")
    screenshot(emma, "settings-en")

    emma.get_by_role("button", name="FR", exact=True).click()  # the switch changes her profile
    expect(emma.locator("html")).to_have_attribute("lang", "fr")
    expect(emma.get_by_role("heading", level=1)).to_have_text("Réglages des notifications")
    screenshot(emma, "settings-fr")
    assert site.api("emma").get("/api/me")["language"] == "fr"
    emma.get_by_role("button", name="EN", exact=True).click()
    expect(emma.get_by_role("heading", level=1)).to_have_text("Notification settings")

    amelie = open_page("amelie")
    feed_ready(amelie)
    expect(amelie.locator("html")).to_have_attribute("lang", "fr")
    expect(amelie.locator(".circles__tab[data-circle=all]")).to_have_text("Tout")
    screenshot(amelie, "feed-fr")

    visitor = open_page(locale="en-GB")  # no profile yet: the browser's language
    visitor.goto("/login")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Log in")
    screenshot(visitor, "login-en")
    visitor.get_by_role("link", name="FR", exact=True).click()
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Connexion")
    screenshot(visitor, "login-fr")
    visitor.goto("/join?lang=en")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Join your building")
    screenshot(visitor, "join-en")
    visitor.goto("/join?lang=fr")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Rejoindre votre immeuble")
    screenshot(visitor, "join-fr")


def test_notification_settings_and_quiet_hours(open_page: OpenPage, site: Site) -> None:
    page = open_page("chloe")
    page.goto("/settings")
    expect(page.locator("#quiet-start")).to_have_value("22:00")  # loaded from the API
    expect(page.locator("#mode-alert")).to_have_value("instant")
    page.get_by_label("Événement", exact=True).select_option("instant")
    page.get_by_label("De", exact=True).fill("21:30")
    page.get_by_label("À", exact=True).fill("06:45")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#preferences-saved")).to_have_text("Enregistré.")
    stored = site.api("chloe").get("/api/me/notification-preferences")
    assert stored["quiet_hours"] == {"start": "21:30", "end": "06:45"}
    assert stored["kinds"]["event"] == "instant"
    assert stored["kinds"]["message"] == "digest"


def test_joining_with_an_invite_code(open_page: OpenPage, site: Site) -> None:
    invite = site.api("syndic").http.post("/api/places/lilas/a/2/21/invites", json={})
    assert invite.status_code == 201, invite.text
    code = invite.json()["code"]

    open_page.expect_console("status of 400")  # the refused codes' pages answer 400
    page = open_page()
    page.goto("/join?code=ZZZZ")
    expect(page.get_by_role("alert")).to_contain_text("Ce n'est pas un code d'invitation")

    page.goto(f"/join?code={code}")
    expect(page.locator("#join-target")).to_contain_text("appartement 21")
    page.get_by_label("Nom affiché aux voisins").fill("Nina P.")
    page.get_by_label("Identifiant de connexion").fill("nina")
    page.get_by_label("Mot de passe").fill("un-long-secret")
    page.get_by_role("button", name="Créer mon compte").click()
    expect(page).to_have_url("/?joined=1")
    expect(page.get_by_role("status").filter(has_text="Bienvenue")).to_be_visible()
    expect(page.locator(".circles__tab[data-circle=unit]")).to_contain_text("appartement 21")
    feed_ready(page)

    again = open_page()
    again.goto(f"/join?code={code}")
    expect(again.get_by_role("alert")).to_have_text(
        "Ce code a déjà servi : un code ne fait entrer qu'une personne.")


def test_a_private_notice_reaches_only_its_household(open_page: OpenPage, site: Site) -> None:
    publish(site.mosquitto.port, [("portier/station-b/event", '{"event": "parcel"}')])
    amelie_api = site.api("amelie")
    eventually(lambda: amelie_api.get("/api/notifications")["items"])
    assert site.api("bruno").get("/api/notifications")["items"] == []

    page = open_page("amelie")
    household = page.locator("#household")
    expect(household).to_be_visible()
    notice = household.locator(".household__item").filter(
        has_text="Un colis vous attend à la consigne")
    expect(notice).to_have_class("household__item card household__item--unread")
    notice.get_by_role("button", name="Marquer comme lu").click()
    expect(notice.get_by_role("button")).to_have_count(0)
    read = amelie_api.get("/api/notifications")["items"]
    assert read[0]["read_at"] is not None

    bruno = open_page("bruno")
    feed_ready(bruno)
    expect(bruno.locator("#household")).to_be_hidden()


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_the_pages_fit_a_360_pixel_phone(open_page: OpenPage) -> None:
    page = open_page("amelie", width=360, height=740)
    feed_ready(page)
    assert no_horizontal_scroll(page)
    screenshot(page, "feed-360-screen-fr", full_page=False)
    page.locator("#composer-box summary").click()
    page.select_option("#compose-kind", "event")
    assert no_horizontal_scroll(page), "the composer overflows at 360 px"
    screenshot(page, "feed-360-fr")
    page.goto("/settings")
    expect(page.locator("#quiet-start")).to_have_value(re.compile(r"\d\d:\d\d"))
    assert no_horizontal_scroll(page)
    screenshot(page, "settings-360-fr")
    visitor = open_page(width=360, height=740)
    visitor.goto("/login")
    assert no_horizontal_scroll(visitor)


#: WCAG contrast of every visible text against the background it is drawn on; returns
#: the texts below 4.5:1 (3:1 for large text).
LOW_CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let n = el; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[hidden], .visually-hidden, script") || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    const a = lum(parse(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) low.push(`${text.slice(0, 40)} (${ratio.toFixed(2)}:1)`);
  }
  return low;
}"""


def test_keyboard_access_and_readable_contrast(open_page: OpenPage) -> None:
    page = open_page("amelie")
    feed_ready(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(40):  # on through the circles to the composer, by keyboard only
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.className") == "composer__summary":
            break
    else:
        pytest.fail("the composer cannot be reached with the Tab key")
    page.keyboard.press("Enter")
    expect(page.locator("#composer-box")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "compose-place"
    assert page.evaluate(LOW_CONTRAST) == []
    page.goto("/settings")
    expect(page.locator("#quiet-start")).to_have_value(re.compile(r"\d\d:\d\d"))
    assert page.evaluate(LOW_CONTRAST) == []
    visitor = open_page()
    visitor.goto("/login")
    assert visitor.evaluate(LOW_CONTRAST) == []
