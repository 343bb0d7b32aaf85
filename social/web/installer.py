"""The installers' pages: the running configuration (with reload) and the live traffic.

Both pages only lay out their sections; their scripts (``static/js/installer-config.js``,
``static/js/installer-traffic.js``) fill them from the gateway's JSON API —
``GET /api/admin/config``, ``POST /api/admin/reload``, ``GET /api/admin/traffic``,
``GET /api/gateway/unclaimed`` and ``GET /api/gateway/dead-letters`` — so they show
what the API lets their reader see. Who may open them is decided by the API's own
check (:func:`gateway.api.access.require_installer`): installers and admins; anyone
else gets a 403 page, as they would get a 403 answer from the API.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from social.api.deps import SessionDep
from social.web.pages import NavItem, PageError, PageUser, PageUserDep, render

router = APIRouter(include_in_schema=False)

NAV: tuple[NavItem, ...] = (
    NavItem("/installer", "installer.nav", lambda user: user.is_installer),
)

#: What the pages' scripts look up (besides ``js.``).
JS_PREFIXES = ("installer.js.",)

#: The installer pages, as the tabs under each page's title name them.
TABS: tuple[tuple[str, str], ...] = (
    ("/installer", "installer.tab.config"),
    ("/installer/traffic", "installer.tab.traffic"),
)


def require_installer_page(request: Request, user: PageUser, session: SessionDep) -> None:
    """The API's check for its installer routes, answered as an error page."""
    from gateway.api.access import require_installer  # the gateway imports social

    runtime = getattr(request.app.state, "gateway", None)
    if runtime is None:  # the social API alone, without a gateway to install
        raise PageError(404, "installer.no_gateway")
    try:
        require_installer(session, user.member, runtime.installation, "the installer pages")
    except HTTPException as exc:
        raise PageError(exc.status_code, "installer.forbidden") from exc


def _tabs(request: Request) -> list[dict[str, object]]:
    return [{"path": path, "label": label, "current": request.url.path == path}
            for path, label in TABS]


@router.get("/installer")
def config_page(request: Request, user: PageUserDep, session: SessionDep) -> Response:
    require_installer_page(request, user, session)
    return render(request, "installer/config.html", user=user, title="installer.config.title",
                  script="installer-config.js", js_prefixes=JS_PREFIXES, tabs=_tabs(request))


@router.get("/installer/traffic")
def traffic_page(request: Request, user: PageUserDep, session: SessionDep) -> Response:
    require_installer_page(request, user, session)
    return render(request, "installer/traffic.html", user=user,
                  title="installer.traffic.title", script="installer-traffic.js",
                  js_prefixes=JS_PREFIXES, tabs=_tabs(request),
                  orders=("recent", "rate", "topic"))


STRINGS = {
    "installer.nav": {"fr": "Installation", "en": "Installation"},
    "installer.tabs": {"fr": "Pages de l'installateur", "en": "Installer pages"},
    "installer.tab.config": {"fr": "Configuration", "en": "Configuration"},
    "installer.tab.traffic": {"fr": "Trafic en direct", "en": "Live traffic"},
    "installer.forbidden": {
        "fr": "Ces pages sont réservées aux installateurs et aux administrateurs.",
        "en": "These pages are for installers and administrators only."},
    "installer.no_gateway": {
        "fr": "Aucune passerelle ne tourne dans ce processus : rien à installer ici.",
        "en": "No gateway runs in this process: nothing to install here."},
    # the configuration page
    "installer.config.title": {"fr": "Configuration", "en": "Configuration"},
    "installer.config.intro": {
        "fr": "La configuration en service, et ce qu'un rechargement a refusé. Modifiez les "
              "fichiers YAML, puis rechargez : une configuration avec des erreurs est refusée "
              "et celle en service reste.",
        "en": "The running configuration, and what a reload refused. Edit the YAML files, "
              "then reload: a configuration with errors is refused and the running one "
              "stays."},
    "installer.config.state": {"fr": "En service", "en": "Running"},
    "installer.config.root": {"fr": "Dossier", "en": "Folder"},
    "installer.config.loaded_at": {"fr": "Chargée le", "en": "Loaded"},
    "installer.config.last_reload": {"fr": "Dernier rechargement", "en": "Last reload"},
    "installer.config.files": {"fr": "Fichiers", "en": "Files"},
    "installer.config.counts": {"fr": "Contenu", "en": "Contents"},
    "installer.config.reload": {"fr": "Recharger la configuration",
                                "en": "Reload the configuration"},
    "installer.config.reload.hint": {
        "fr": "Relit tous les fichiers du dossier et les applique sans redémarrer.",
        "en": "Reads every file of the folder again and applies them without a restart."},
    "installer.config.failure": {"fr": "Dernier rechargement refusé",
                                 "en": "Last refused reload"},
    "installer.config.warnings": {"fr": "Avertissements", "en": "Warnings"},
    "installer.config.warnings.intro": {
        "fr": "La configuration en service fonctionne, mais ceci ne fait probablement pas ce "
              "que vous pensez.",
        "en": "The running configuration works, but these probably do not do what you "
              "think."},
    "installer.js.count.bridges": {"fr": "Ponts", "en": "Bridges"},
    "installer.js.count.devices": {"fr": "Appareils", "en": "Devices"},
    "installer.js.count.rules": {"fr": "Règles", "en": "Rules"},
    "installer.js.count.places": {"fr": "Lieux", "en": "Places"},
    "installer.js.count.members": {"fr": "Comptes", "en": "Accounts"},
    "installer.js.reload.running": {"fr": "Rechargement…", "en": "Reloading…"},
    "installer.js.reload.ok": {
        "fr": "Configuration rechargée : {bridges} ponts, {devices} appareils, {rules} règles.",
        "en": "Configuration reloaded: {bridges} bridges, {devices} devices, {rules} rules."},
    "installer.js.reload.refused.one": {
        "fr": "Rechargement refusé : 1 erreur. La configuration en service reste.",
        "en": "Reload refused: 1 error. The running configuration stays."},
    "installer.js.reload.refused.many": {
        "fr": "Rechargement refusé : {count} erreurs. La configuration en service reste.",
        "en": "Reload refused: {count} errors. The running configuration stays."},
    "installer.js.last.ok": {"fr": "réussi le {at} ({trigger})",
                             "en": "succeeded {at} ({trigger})"},
    "installer.js.last.refused": {"fr": "refusé le {at} ({trigger})",
                                  "en": "refused {at} ({trigger})"},
    "installer.js.last.none": {"fr": "aucun depuis le démarrage", "en": "none since the start"},
    "installer.js.failure.none": {"fr": "Aucun rechargement refusé depuis le démarrage.",
                                  "en": "No reload refused since the start."},
    "installer.js.failure.current": {
        "fr": "Refusé le {at} ({trigger}). Corrigez ces erreurs puis rechargez :",
        "en": "Refused {at} ({trigger}). Fix these errors, then reload:"},
    "installer.js.failure.stale": {
        "fr": "Refusé le {at} ({trigger}), corrigé depuis : la configuration en service est "
              "plus récente.",
        "en": "Refused {at} ({trigger}), fixed since: the running configuration is newer."},
    "installer.js.warnings.none": {"fr": "Aucun avertissement.", "en": "No warnings."},
    # the traffic page
    "installer.traffic.title": {"fr": "Trafic en direct", "en": "Live traffic"},
    "installer.traffic.intro": {
        "fr": "Ce qui arrive sur les sujets MQTT des ponts, et qui le prend en charge. "
              "Mis à jour toutes les 2 secondes.",
        "en": "What arrives on the bridges' MQTT topics, and who takes it. Updated every "
              "2 seconds."},
    "installer.traffic.filter": {"fr": "Filtrer les sujets", "en": "Filter topics"},
    "installer.traffic.filter.hint": {"fr": "Les sujets qui contiennent ce texte.",
                                      "en": "The topics containing this text."},
    "installer.traffic.order": {"fr": "Trier par", "en": "Order by"},
    "installer.traffic.order.recent": {"fr": "Entendu récemment", "en": "Heard recently"},
    "installer.traffic.order.rate": {"fr": "Débit", "en": "Rate"},
    "installer.traffic.order.topic": {"fr": "Sujet", "en": "Topic"},
    "installer.traffic.pause": {"fr": "Pause", "en": "Pause"},
    "installer.traffic.topics": {"fr": "Sujets", "en": "Topics"},
    "installer.traffic.col.topic": {"fr": "Sujet", "en": "Topic"},
    "installer.traffic.col.rate": {"fr": "Dernière minute", "en": "Last minute"},
    "installer.traffic.col.total": {"fr": "Total", "en": "Total"},
    "installer.traffic.col.size": {"fr": "Dernière taille", "en": "Last size"},
    "installer.traffic.col.last_seen": {"fr": "Dernier message", "en": "Last message"},
    "installer.traffic.col.claim": {"fr": "Pris en charge par", "en": "Claimed by"},
    "installer.traffic.unclaimed": {"fr": "Appareils non réclamés", "en": "Unclaimed devices"},
    "installer.traffic.unclaimed.intro": {
        "fr": "Des sources qu'aucun appareil de la configuration ne réclame : un nouvel "
              "appareil, ou une source mal orthographiée dans le YAML.",
        "en": "Sources no device of the configuration claims: a new device, or a source "
              "misspelt in the YAML."},
    "installer.traffic.dead": {"fr": "Messages rejetés", "en": "Dead letters"},
    "installer.traffic.dead.intro": {
        "fr": "Des messages que Palier n'a pas pu utiliser, avec la raison.",
        "en": "Messages Palier could not use, with the reason."},
    "installer.js.summary": {
        "fr": "{shown} sujet(s) affiché(s) sur {matching} · {messages} messages depuis le "
              "démarrage · mis à jour à {at}",
        "en": "{shown} of {matching} topic(s) shown · {messages} messages since the start · "
              "updated at {at}"},
    "installer.js.paused": {"fr": "En pause", "en": "Paused"},
    "installer.js.no_topics": {"fr": "Aucun message reçu sur ces sujets.",
                               "en": "No message received on these topics."},
    "installer.js.no_unclaimed": {"fr": "Aucune source non réclamée.",
                                  "en": "No unclaimed source."},
    "installer.js.no_dead": {"fr": "Aucun message rejeté.", "en": "No dead letters."},
    "installer.js.per_minute": {"fr": "{count}/min", "en": "{count}/min"},
    "installer.js.outcome.device": {"fr": "Appareil", "en": "Device"},
    "installer.js.outcome.bridge": {"fr": "Pont (son statut)", "en": "Bridge (its status)"},
    "installer.js.outcome.unclaimed": {"fr": "Non réclamé", "en": "Unclaimed"},
    "installer.js.outcome.foreign": {"fr": "Autre worker", "en": "Another worker"},
    "installer.js.outcome.dead_letter": {"fr": "Rejeté", "en": "Dead letter"},
    "installer.js.outcome.unrouted": {"fr": "Aucun pont", "en": "No bridge"},
    "installer.js.outcome.unknown": {"fr": "Inconnu", "en": "Unknown"},
    "installer.js.claim.device": {"fr": "{device} via {bridge}", "en": "{device} via {bridge}"},
    "installer.js.claim.source": {"fr": "source {source} sur {bridge}",
                                  "en": "source {source} on {bridge}"},
    "installer.js.field.source": {"fr": "Source", "en": "Source"},
    "installer.js.field.bridge": {"fr": "Pont", "en": "Bridge"},
    "installer.js.field.topic": {"fr": "Sujet", "en": "Topic"},
    "installer.js.field.first_seen": {"fr": "Vu la première fois", "en": "First seen"},
    "installer.js.field.last_seen": {"fr": "Vu la dernière fois", "en": "Last seen"},
    "installer.js.field.count": {"fr": "Messages", "en": "Messages"},
    "installer.js.field.payload": {"fr": "Dernier contenu", "en": "Last payload"},
    "installer.js.field.reason": {"fr": "Raison", "en": "Reason"},
    "installer.js.field.at": {"fr": "Reçu", "en": "Received"},
    "installer.js.field.dead_payload": {"fr": "Contenu", "en": "Payload"},
}
