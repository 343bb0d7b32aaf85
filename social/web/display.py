"""The hall display page: ``/display/{token}``, for the screen in a building's entrance hall.

No login and nothing private: the page is rendered for nobody (``user=None``, whoever
is logged in on that browser) in the building's language, and its script reads the same
public board as ``GET /api/display/{token}`` (:mod:`social.display` decides what it may
hold), again every ``refresh_seconds``. An unknown or revoked token answers a 404 page
saying so, in large type; a screen already showing the board turns to that message at
its next refresh.

The token is in the address, so the page is never cached and never sent as a referrer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from social.api.deps import SessionDep
from social.display import DisplayUnavailable, board_for_token
from social.web.pages import NavItem, render

router = APIRouter(include_in_schema=False)

NAV: tuple[NavItem, ...] = ()

_PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex"}


@router.get("/display/{token}")
def hall_display(request: Request, token: Annotated[str, Path(max_length=128)],
                 session: SessionDep) -> Response:
    try:
        board = board_for_token(session, token)
    except DisplayUnavailable:
        response = render(request, "display/gone.html", user=None, title="display.gone.title",
                          status_code=404)
    else:
        response = render(request, "display/board.html", user=None, title="display.title",
                          lang=board.language, script="display.js",
                          js_prefixes=("display.js.",), token=token,
                          building_name=board.building.name)
    response.headers.update(_PRIVATE)
    return response


STRINGS: dict[str, dict[str, str]] = {
    "display.title": {"fr": "Écran du hall", "en": "Hall screen"},
    "display.incidents": {"fr": "Incidents en cours", "en": "Ongoing incidents"},
    "display.notices": {"fr": "Avis de la gestion", "en": "Notices from the management"},
    "display.gone.title": {"fr": "Écran non disponible", "en": "Screen not available"},
    "display.gone.text": {
        "fr": "Ce lien d'affichage ne fonctionne pas ou plus. Demandez un nouveau lien au "
              "gestionnaire de l'immeuble.",
        "en": "This display link does not work, or no longer does. Ask the building's "
              "manager for a new link."},
    "display.js.no_incident": {"fr": "Aucun incident en cours.", "en": "No ongoing incident."},
    "display.js.no_notice": {"fr": "Aucun avis pour le moment.", "en": "No notice for now."},
    "display.js.since": {"fr": "Depuis {time}", "en": "Since {time}"},
    "display.js.handled": {"fr": "Pris en charge", "en": "Being handled"},
    "display.js.ongoing": {"fr": "En cours", "en": "Ongoing"},
    "display.js.pinned": {"fr": "Important", "en": "Important"},
    "display.js.until": {"fr": "Jusqu'au {date}", "en": "Until {date}"},
    "display.js.updated": {"fr": "Mis à jour à {time}", "en": "Updated at {time}"},
    "display.js.stale": {
        "fr": "Connexion perdue : informations de {time}. Nouvel essai bientôt.",
        "en": "Connection lost: information from {time}. Trying again soon."},
    "display.js.gone": {
        "fr": "Ce lien d'affichage ne fonctionne plus. Demandez un nouveau lien au "
              "gestionnaire de l'immeuble.",
        "en": "This display link no longer works. Ask the building's manager for a new "
              "link."},
    "display.js.severity.critical": {"fr": "Urgent", "en": "Urgent"},
    "display.js.severity.major": {"fr": "Important", "en": "Major"},
    "display.js.severity.minor": {"fr": "Mineur", "en": "Minor"},
    "display.js.severity.warning": {"fr": "À surveiller", "en": "Warning"},
    "display.js.severity.info": {"fr": "Information", "en": "Information"},
}
