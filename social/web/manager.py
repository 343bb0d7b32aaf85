"""The building managers' pages: the live alarm board, device health and history, official
notices with their read receipts, invite codes and join requests, hall display links.

Each page lays out what it needs to know of the site (the buildings the member manages,
their entrances and flats, a device's points) and its script fills it from the JSON API
with the member's session: the API decides again on every call, so a page never shows or
does more than the API allows its user.

Who may open them: a member with a current manager, syndic or landlord membership of a
building. A page about one building (``?building=`` or ``/manager/buildings/{id}/…``)
answers 403 for a building the member does not manage and 404 for one that does not
exist (every member may know the site's buildings). A device page answers 404 for a
device of another building, exactly like the history API, so probing device ids tells
nobody what another building has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from devices.kinds import KINDS
from rules.schema import Severity
from social.alarms import AlarmStateFilter
from social.api.deps import SessionDep
from social.membership import JoinRole
from social.models import Place
from social.visibility import manageable_building_ids
from social.web.pages import (
    NavItem,
    PageError,
    PageUser,
    PageUserDep,
    language_for,
    redirect,
    render,
    web_of,
)

router = APIRouter(include_in_schema=False)


def _manages(user: PageUser) -> bool:
    return user.is_manager


NAV: tuple[NavItem, ...] = (
    NavItem("/manager/alarms", "manager.nav.alarms", _manages),
    NavItem("/manager/buildings", "manager.nav.devices", _manages),
    NavItem("/manager/notices", "manager.nav.notices", _manages),
    NavItem("/manager/invites", "manager.nav.invites", _manages),
    NavItem("/manager/displays", "manager.nav.displays", _manages),
)

#: What the managers' scripts look up (besides ``js.``).
JS_PREFIXES = ("manager.js.", "place.")

SEVERITIES: tuple[str, ...] = get_args(Severity)
ALARM_STATES: tuple[str, ...] = ("open", "active", "acknowledged", "cleared", "all")
JOIN_ROLES: tuple[str, ...] = get_args(JoinRole)
#: The chart's ranges, in seconds, and the default one.
HISTORY_RANGES: tuple[tuple[str, int], ...] = (
    ("1h", 3600), ("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400))
DEFAULT_RANGE = "24h"

assert set(get_args(AlarmStateFilter)) == set(ALARM_STATES)


# -- what the pages know of the site ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaceRef:
    """A place as a page lists it: ``short`` drops the building's name ("Entrée B")."""

    id: str
    name: str
    kind: str

    @property
    def short(self) -> str:
        return self.name.split(", ", 1)[-1] if ", " in self.name else self.name


@dataclass(frozen=True, slots=True)
class EntranceUnits:
    entrance: PlaceRef
    units: list[PlaceRef]


def _natural(place_id: str) -> tuple[tuple[int, int | str], ...]:
    """``lilas/a/basement`` before ``lilas/a/0`` before ``lilas/a/10``."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in place_id.split("/"))


def managed_buildings(session: Session, member_id: int) -> list[PlaceRef]:
    """The buildings the member manages now, by name."""
    rows = session.execute(
        select(Place.id, Place.name, Place.kind)
        .where(Place.id.in_(manageable_building_ids(member_id)))
        .order_by(Place.name, Place.id))
    return [PlaceRef(row.id, row.name, row.kind) for row in rows]


def entrances_of(session: Session, building_id: str) -> list[PlaceRef]:
    rows = session.execute(
        select(Place.id, Place.name, Place.kind)
        .where(Place.parent_id == building_id, Place.kind == "entrance"))
    return sorted((PlaceRef(row.id, row.name, row.kind) for row in rows),
                  key=lambda place: _natural(place.id))


def units_of(session: Session, building_id: str) -> list[EntranceUnits]:
    """The building's flats, grouped by entrance, in the order of the stairs."""
    floor, entrance = aliased(Place), aliased(Place)
    rows = session.execute(
        select(Place.id, Place.name, entrance.id.label("entrance_id"))
        .join(floor, floor.id == Place.parent_id)
        .join(entrance, entrance.id == floor.parent_id)
        .where(Place.kind == "unit", entrance.parent_id == building_id))
    grouped: dict[str, list[PlaceRef]] = {}
    for row in rows:
        grouped.setdefault(row.entrance_id, []).append(PlaceRef(row.id, row.name, "unit"))
    return [EntranceUnits(e, sorted(grouped.get(e.id, []), key=lambda u: _natural(u.id)))
            for e in entrances_of(session, building_id) if grouped.get(e.id)]


def manager_buildings(user: PageUser, session: Session) -> list[PlaceRef]:
    """The buildings the member manages; a 403 page for anyone who manages none."""
    buildings = managed_buildings(session, user.member.id) if user.is_manager else []
    if not buildings:
        raise PageError(403, "error.forbidden")
    return buildings


def pick_building(session: Session, buildings: list[PlaceRef],
                  building_id: str | None) -> PlaceRef:
    """``building_id`` among the member's buildings (the first one when not given)."""
    if not building_id:
        return buildings[0]
    for building in buildings:
        if building.id == building_id:
            return building
    place = session.get(Place, building_id)
    if place is None or place.kind != "building":
        raise PageError(404, "error.not_found")
    raise PageError(403, "manager.error.not_yours")


BuildingQuery = Annotated[str | None, Query(max_length=120, description="a building's id")]


def _page(request: Request, template: str, user: PageUser, title: str, script: str,
          **context: Any) -> Response:
    return render(request, template, user=user, title=title, script=script,
                  js_prefixes=JS_PREFIXES, **context)


# -- the alarm board --------------------------------------------------------------------


@router.get("/manager")
def manager_home(user: PageUserDep) -> Response:
    """The managers' home is the alarm board."""
    return redirect("/manager/alarms")


@router.get("/manager/alarms")
def alarm_board(
    request: Request,
    user: PageUserDep,
    session: SessionDep,
    building: BuildingQuery = None,
    severity: Annotated[str | None, Query(max_length=20)] = None,
    state: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    buildings = manager_buildings(user, session)
    chosen = pick_building(session, buildings, building).id if building else ""
    return _page(
        request, "manager/alarms.html", user, "manager.alarms.title", "manager-alarms.js",
        buildings=buildings, building=chosen, severities=SEVERITIES, states=ALARM_STATES,
        severity=severity if severity in SEVERITIES else "",
        state=state if state in ALARM_STATES else "open")


# -- device health and history ----------------------------------------------------------


@router.get("/manager/buildings")
def building_list(request: Request, user: PageUserDep, session: SessionDep) -> Response:
    buildings = manager_buildings(user, session)
    return render(request, "manager/buildings.html", user=user,
                  title="manager.buildings.title", buildings=buildings)


@router.get("/manager/buildings/{building_id}/devices")
def device_health(request: Request, building_id: str, user: PageUserDep,
                  session: SessionDep) -> Response:
    building = pick_building(session, manager_buildings(user, session), building_id)
    return _page(request, "manager/devices.html", user, "manager.devices.title",
                 "manager-devices.js", building=building)


def _gateway(request: Request) -> Any:
    """The running gateway (devices, places), or a 404 page on an API-only process."""
    runtime = getattr(request.app.state, "gateway", None)
    if runtime is None:
        raise PageError(404, "manager.error.no_gateway")
    return runtime


def _label(request: Request, lang: str, key: str, fallback: str) -> str:
    catalogue = web_of(request).catalogue
    return catalogue.text(key, lang) if key in catalogue else fallback


@router.get("/manager/devices/{device_id}")
def device_page(request: Request, device_id: str, user: PageUserDep,
                session: SessionDep) -> Response:
    """One device: its state, and a chart of each number or true/false point's history."""
    buildings = manager_buildings(user, session)
    runtime = _gateway(request)
    device = runtime.pipeline.registry.get(device_id)
    building_id = runtime.installation.building_of(device.place_id) if device else None
    building = next((b for b in buildings if b.id == building_id), None)
    if device is None or building is None:
        raise PageError(404, "error.not_found")
    node = runtime.installation.places.get(device.place_id)
    lang = language_for(request, user)
    points = [{"name": point.name, "type": point.type, "unit": point.unit,
               "label": _label(request, lang, f"manager.js.point.{point.name}", point.name)}
              for point in device.points]
    return _page(
        request, "manager/device.html", user, "manager.device.title", "manager-device.js",
        building=building, device=device, place_name=node.name if node else device.place_id,
        kind_label=_label(request, lang, f"manager.js.kind.{device.kind}", device.kind),
        charted=[p for p in points if p["type"] != "text"],
        ranges=HISTORY_RANGES, default_range=DEFAULT_RANGE)


# -- official notices, invites, display links --------------------------------------------


@router.get("/manager/notices")
def notices(request: Request, user: PageUserDep, session: SessionDep,
            building: BuildingQuery = None) -> Response:
    buildings = manager_buildings(user, session)
    chosen = pick_building(session, buildings, building)
    return _page(request, "manager/notices.html", user, "manager.notices.title",
                 "manager-notices.js", buildings=buildings, building=chosen,
                 scopes=[chosen, *entrances_of(session, chosen.id)])


@router.get("/manager/invites")
def invites(request: Request, user: PageUserDep, session: SessionDep,
            building: BuildingQuery = None) -> Response:
    buildings = manager_buildings(user, session)
    chosen = pick_building(session, buildings, building)
    return _page(request, "manager/invites.html", user, "manager.invites.title",
                 "manager-invites.js", buildings=buildings, building=chosen,
                 entrances=units_of(session, chosen.id), roles=JOIN_ROLES)


@router.get("/manager/displays")
def displays(request: Request, user: PageUserDep, session: SessionDep,
             building: BuildingQuery = None) -> Response:
    buildings = manager_buildings(user, session)
    chosen = pick_building(session, buildings, building)
    return _page(request, "manager/displays.html", user, "manager.displays.title",
                 "manager-displays.js", buildings=buildings, building=chosen)


# -- texts ------------------------------------------------------------------------------

_KIND_LABELS: dict[str, tuple[str, str]] = {
    "water_leak_sensor": ("Détecteur de fuite d'eau", "Water leak sensor"),
    "temperature_sensor": ("Sonde de température", "Temperature sensor"),
    "co2_sensor": ("Capteur de CO₂", "CO₂ sensor"),
    "smoke_detector": ("Détecteur de fumée", "Smoke detector"),
    "door_sensor": ("Capteur d'ouverture de porte", "Door sensor"),
    "motion_sensor": ("Détecteur de présence", "Motion sensor"),
    "garage_door": ("Porte de garage", "Garage door"),
    "lift_monitor": ("Surveillance d'ascenseur", "Lift monitor"),
    "boiler": ("Chaudière", "Boiler"),
    "pump": ("Pompe", "Pump"),
    "valve": ("Vanne", "Valve"),
    "switch": ("Interrupteur", "Switch"),
    "energy_meter": ("Compteur d'énergie", "Energy meter"),
    "water_meter": ("Compteur d'eau", "Water meter"),
    "intercom": ("Portier", "Door station"),
    "generic": ("Appareil", "Device"),
}

_POINT_LABELS: dict[str, tuple[str, str]] = {
    "water_leak": ("Fuite d'eau", "Water leak"),
    "battery": ("Batterie", "Battery"),
    "battery_low": ("Batterie faible", "Battery low"),
    "tamper": ("Sabotage", "Tamper"),
    "temperature": ("Température", "Temperature"),
    "humidity": ("Humidité", "Humidity"),
    "co2": ("CO₂", "CO₂"),
    "smoke": ("Fumée", "Smoke"),
    "contact": ("Contact fermé", "Contact closed"),
    "occupancy": ("Présence", "Occupancy"),
    "open": ("Ouvert", "Open"),
    "moving": ("En mouvement", "Moving"),
    "obstruction": ("Obstacle", "Obstruction"),
    "running": ("En marche", "Running"),
    "fault": ("Panne", "Fault"),
    "state": ("État", "State"),
    "door_open": ("Porte ouverte", "Door open"),
    "flow_temperature": ("Température de départ", "Flow temperature"),
    "return_temperature": ("Température de retour", "Return temperature"),
    "pressure": ("Pression", "Pressure"),
    "burner": ("Brûleur", "Burner"),
    "setpoint": ("Consigne", "Setpoint"),
    "power": ("Puissance", "Power"),
    "position": ("Position", "Position"),
    "energy": ("Énergie", "Energy"),
    "voltage": ("Tension", "Voltage"),
    "current": ("Courant", "Current"),
    "volume": ("Volume", "Volume"),
    "flow": ("Débit", "Flow"),
}

_SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "critical": ("Critique", "Critical"),
    "major": ("Majeure", "Major"),
    "minor": ("Mineure", "Minor"),
    "warning": ("Avertissement", "Warning"),
    "info": ("Information", "Information"),
}

_STATE_LABELS: dict[str, tuple[str, str]] = {
    "open": ("En cours ou prises en charge", "Ongoing or being handled"),
    "active": ("En cours", "Ongoing"),
    "acknowledged": ("Prises en charge", "Being handled"),
    "cleared": ("Terminées", "Over"),
    "all": ("Toutes", "All"),
}


def _section(prefix: str, labels: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    return {f"{prefix}{key}": {"fr": fr, "en": en} for key, (fr, en) in labels.items()}


def _known_names() -> set[str]:
    return {point.name for kind in KINDS.values() for point in kind.points}


#: Every device kind and point has a label: a new one must be added above.
assert set(_KIND_LABELS) >= set(KINDS), set(KINDS) - set(_KIND_LABELS)
assert set(_POINT_LABELS) >= _known_names(), _known_names() - set(_POINT_LABELS)
assert set(_SEVERITY_LABELS) == set(SEVERITIES)

STRINGS: dict[str, dict[str, str]] = {
    "manager.nav.alarms": {"fr": "Alarmes", "en": "Alarms"},
    "manager.nav.devices": {"fr": "Appareils", "en": "Devices"},
    "manager.nav.notices": {"fr": "Avis", "en": "Notices"},
    "manager.nav.invites": {"fr": "Invitations", "en": "Invites"},
    "manager.nav.displays": {"fr": "Écrans du hall", "en": "Hall screens"},
    "manager.error.not_yours": {"fr": "Vous ne gérez pas cet immeuble.",
                                "en": "You do not manage this building."},
    "manager.error.no_gateway": {
        "fr": "Les appareils ne sont pas suivis par ce serveur.",
        "en": "This server does not follow the devices."},
    "manager.building": {"fr": "Immeuble", "en": "Building"},
    "manager.building.show": {"fr": "Afficher", "en": "Show"},
    "manager.building.choose": {"fr": "Choisir l'immeuble", "en": "Choose the building"},
    # the alarm board
    "manager.alarms.title": {"fr": "Alarmes", "en": "Alarms"},
    "manager.alarms.intro": {
        "fr": "Les alarmes de vos immeubles, en direct. Prenez en charge une alarme en "
              "laissant une note : les habitants la lisent sur l'alerte.",
        "en": "Your buildings' alarms, live. Take charge of an alarm with a note: "
              "residents read it on the alert."},
    "manager.alarms.filters": {"fr": "Filtrer les alarmes", "en": "Filter the alarms"},
    "manager.alarms.building": {"fr": "Immeuble", "en": "Building"},
    "manager.alarms.building.all": {"fr": "Tous mes immeubles", "en": "All my buildings"},
    "manager.alarms.severity": {"fr": "Gravité", "en": "Severity"},
    "manager.alarms.severity.all": {"fr": "Toutes", "en": "All"},
    "manager.alarms.state": {"fr": "État", "en": "State"},
    "manager.alarms.list": {"fr": "Liste des alarmes", "en": "List of alarms"},
    **_section("manager.state.", _STATE_LABELS),
    # devices
    "manager.buildings.title": {"fr": "Appareils de mes immeubles",
                                "en": "My buildings' devices"},
    "manager.buildings.intro": {"fr": "Choisissez un immeuble pour voir l'état de ses appareils.",
                                "en": "Choose a building to see how its devices are doing."},
    "manager.buildings.open": {"fr": "Voir les appareils", "en": "See the devices"},
    "manager.devices.title": {"fr": "État des appareils", "en": "Device health"},
    "manager.devices.intro": {
        "fr": "Par entrée et par étage : joignable ou non, batterie, dernier message reçu.",
        "en": "By entrance and floor: reachable or not, battery, last message received."},
    "manager.devices.refresh": {"fr": "Actualiser", "en": "Refresh"},
    "manager.device.title": {"fr": "Appareil", "en": "Device"},
    "manager.device.state": {"fr": "État", "en": "State"},
    "manager.device.history": {"fr": "Historique", "en": "History"},
    "manager.device.range": {"fr": "Période", "en": "Period"},
    "manager.device.range.1h": {"fr": "Dernière heure", "en": "Last hour"},
    "manager.device.range.24h": {"fr": "Dernières 24 heures", "en": "Last 24 hours"},
    "manager.device.range.7d": {"fr": "7 derniers jours", "en": "Last 7 days"},
    "manager.device.range.30d": {"fr": "30 derniers jours", "en": "Last 30 days"},
    "manager.device.no_chart": {
        "fr": "Cet appareil n'a pas de mesure chiffrée à tracer.",
        "en": "This device has no numeric reading to chart."},
    "manager.device.back": {"fr": "Tous les appareils de l'immeuble",
                            "en": "All the building's devices"},
    # notices
    "manager.notices.title": {"fr": "Avis officiels", "en": "Official notices"},
    "manager.notices.compose": {"fr": "Publier un avis", "en": "Publish a notice"},
    "manager.notices.scope": {"fr": "Pour", "en": "For"},
    "manager.notices.scope.hint": {
        "fr": "Tout l'immeuble, ou une seule entrée.",
        "en": "The whole building, or one entrance."},
    "manager.notices.notice_title": {"fr": "Titre", "en": "Title"},
    "manager.notices.body": {"fr": "Texte", "en": "Text"},
    "manager.notices.pinned_until": {"fr": "Épinglé en haut du fil jusqu'au",
                                     "en": "Pinned at the top of the feed until"},
    "manager.notices.expires_at": {"fr": "Retiré le", "en": "Taken down on"},
    "manager.notices.dates.hint": {
        "fr": "Facultatif. Un avis retiré disparaît du fil et de l'écran du hall.",
        "en": "Optional. A notice taken down leaves the feed and the hall screen."},
    "manager.notices.submit": {"fr": "Publier l'avis", "en": "Publish the notice"},
    "manager.notices.current": {"fr": "Avis en cours", "en": "Current notices"},
    "manager.notices.refresh": {"fr": "Actualiser les lectures", "en": "Refresh the reads"},
    # invites and join requests
    "manager.invites.title": {"fr": "Invitations et demandes", "en": "Invites and requests"},
    "manager.invites.issue": {"fr": "Créer un code d'invitation", "en": "Issue an invite code"},
    "manager.invites.issue.intro": {
        "fr": "Un code fait entrer une seule personne, comme habitant du logement choisi. "
              "Imprimez-le sur un courrier ou envoyez le lien.",
        "en": "A code lets one person in, as a resident of the flat chosen. Print it on a "
              "letter or send the link."},
    "manager.invites.unit": {"fr": "Logement", "en": "Flat"},
    "manager.invites.role": {"fr": "En tant que", "en": "As"},
    "manager.invites.role.resident": {"fr": "Habitant·e", "en": "Resident"},
    "manager.invites.role.owner": {"fr": "Propriétaire", "en": "Owner"},
    "manager.invites.role.tenant": {"fr": "Locataire", "en": "Tenant"},
    "manager.invites.days": {"fr": "Valable (jours)", "en": "Valid for (days)"},
    "manager.invites.submit": {"fr": "Créer le code", "en": "Issue the code"},
    "manager.invites.letter": {"fr": "Code d'invitation", "en": "Invite code"},
    "manager.invites.print": {"fr": "Imprimer", "en": "Print"},
    "manager.invites.codes": {"fr": "Codes de ce logement", "en": "Codes of this flat"},
    "manager.invites.requests": {"fr": "Demandes d'adhésion", "en": "Requests to join"},
    "manager.invites.requests.intro": {
        "fr": "Des personnes qui disent habiter l'immeuble, sans code d'invitation.",
        "en": "People who say they live in the building, without an invite code."},
    # display links
    "manager.displays.title": {"fr": "Écrans du hall", "en": "Hall screens"},
    "manager.displays.intro": {
        "fr": "Un écran du hall affiche les avis officiels et les incidents en cours de "
              "l'immeuble, sans connexion. Chaque écran ouvre son propre lien, que vous "
              "pouvez révoquer.",
        "en": "A hall screen shows the building's official notices and ongoing incidents, "
              "without logging in. Each screen opens its own link, which you can revoke."},
    "manager.displays.create": {"fr": "Créer un lien d'écran", "en": "Make a screen link"},
    "manager.displays.label": {"fr": "Nom de l'écran", "en": "Screen name"},
    "manager.displays.label.hint": {"fr": "Par exemple : Hall entrée B.",
                                    "en": "For example: Hall, entrance B."},
    "manager.displays.submit": {"fr": "Créer le lien", "en": "Make the link"},
    "manager.displays.links": {"fr": "Liens de l'immeuble", "en": "The building's links"},
    # the scripts: shared
    "manager.js.empty_value": {"fr": "—", "en": "—"},
    "manager.js.refreshed": {"fr": "Mis à jour à {time}", "en": "Updated at {time}"},
    **_section("manager.js.severity.", _SEVERITY_LABELS),
    "manager.js.state.active": {"fr": "En cours", "en": "Ongoing"},
    "manager.js.state.acknowledged": {"fr": "Prise en charge", "en": "Being handled"},
    "manager.js.state.cleared": {"fr": "Terminée", "en": "Over"},
    # the board's script
    "manager.js.alarms.count.one": {"fr": "{count} alarme", "en": "{count} alarm"},
    "manager.js.alarms.count.other": {"fr": "{count} alarmes", "en": "{count} alarms"},
    "manager.js.alarms.none": {"fr": "Aucune alarme ne correspond à ces filtres.",
                               "en": "No alarm matches these filters."},
    "manager.js.alarms.place": {"fr": "Lieu", "en": "Place"},
    "manager.js.alarms.device": {"fr": "Appareil", "en": "Device"},
    "manager.js.alarms.raised": {"fr": "Déclenchée", "en": "Raised"},
    "manager.js.alarms.still": {"fr": "Toujours d'actualité", "en": "Still happening"},
    "manager.js.alarms.still.count.one": {
        "fr": "{count} habitant l'a signalé", "en": "{count} resident said so"},
    "manager.js.alarms.still.count.other": {
        "fr": "{count} habitants l'ont signalé", "en": "{count} residents said so"},
    "manager.js.alarms.still.last": {"fr": "dernier signalement {time}",
                                     "en": "last said {time}"},
    "manager.js.alarms.acknowledged": {"fr": "Prise en charge", "en": "Taken charge of"},
    "manager.js.alarms.acknowledged.by": {"fr": "par {name}, {time}", "en": "by {name}, {time}"},
    "manager.js.alarms.note": {"fr": "Note", "en": "Note"},
    "manager.js.alarms.cleared": {"fr": "Terminée", "en": "Over"},
    "manager.js.alarms.escalated": {"fr": "Relances", "en": "Escalations"},
    "manager.js.alarms.ack.label": {"fr": "Note pour les habitants (facultatif)",
                                    "en": "Note for residents (optional)"},
    "manager.js.alarms.ack.hint": {
        "fr": "Par exemple : plombier prévenu, arrivée vers 14 h.",
        "en": "For example: plumber called, expected around 2 pm."},
    "manager.js.alarms.ack.submit": {"fr": "Prendre en charge", "en": "Take charge"},
    "manager.js.alarms.ack.done": {"fr": "Alarme « {title} » prise en charge.",
                                   "en": "Alarm \"{title}\" taken charge of."},
    "manager.js.alarms.new": {"fr": "Nouvelle alarme : {title}", "en": "New alarm: {title}"},
    "manager.js.alarms.changed": {"fr": "Alarme « {title} » : {state}",
                                  "en": "Alarm \"{title}\": {state}"},
    # the device pages' scripts
    "manager.js.devices.summary": {
        "fr": "Appareils : {devices} · joignables : {online} · injoignables : {offline} · "
              "sans nouvelles : {unknown} · batterie faible : {battery_low}",
        "en": "Devices: {devices} · online: {online} · offline: {offline} · "
              "unknown: {unknown} · battery low: {battery_low}"},
    "manager.js.devices.none": {"fr": "Aucun appareil ici.", "en": "No device here."},
    "manager.js.devices.building": {"fr": "Parties communes de l'immeuble",
                                    "en": "The building's common parts"},
    "manager.js.devices.entrance_wide": {"fr": "Toute l'entrée", "en": "The whole entrance"},
    "manager.js.availability.online": {"fr": "Joignable", "en": "Online"},
    "manager.js.availability.offline": {"fr": "Injoignable", "en": "Offline"},
    "manager.js.availability.unknown": {"fr": "Sans nouvelles", "en": "Unknown"},
    "manager.js.devices.battery": {"fr": "Batterie {percent} %", "en": "Battery {percent}%"},
    "manager.js.devices.battery_low": {"fr": "Batterie faible", "en": "Battery low"},
    "manager.js.devices.last_seen": {"fr": "Dernier message {time}", "en": "Last heard {time}"},
    "manager.js.devices.never_seen": {"fr": "Jamais entendu", "en": "Never heard from"},
    "manager.js.devices.since": {"fr": "depuis {time}", "en": "since {time}"},
    "manager.js.device.availability": {"fr": "Joignable ?", "en": "Reachable?"},
    "manager.js.device.last_seen": {"fr": "Dernier message", "en": "Last heard"},
    "manager.js.device.battery": {"fr": "Batterie", "en": "Battery"},
    "manager.js.device.values": {"fr": "Dernières valeurs", "en": "Last values"},
    "manager.js.chart.loading": {"fr": "Chargement de l'historique…",
                                 "en": "Loading the history…"},
    "manager.js.chart.empty": {"fr": "Aucune mesure sur cette période.",
                               "en": "No reading over this period."},
    "manager.js.chart.title": {"fr": "{point} — {range}", "en": "{point} — {range}"},
    "manager.js.chart.desc": {
        "fr": "{values} du {from} au {to} ; minimum {min}, maximum {max}, dernière {last}.",
        "en": "{values} from {from} to {to}; minimum {min}, maximum {max}, last {last}."},
    "manager.js.chart.values.one": {"fr": "{count} valeur", "en": "{count} value"},
    "manager.js.chart.values.other": {"fr": "{count} valeurs", "en": "{count} values"},
    "manager.js.chart.table": {"fr": "Les valeurs en tableau", "en": "The values as a table"},
    "manager.js.chart.time": {"fr": "Heure", "en": "Time"},
    "manager.js.chart.mean": {"fr": "Moyenne", "en": "Mean"},
    "manager.js.chart.min": {"fr": "Minimum", "en": "Minimum"},
    "manager.js.chart.max": {"fr": "Maximum", "en": "Maximum"},
    "manager.js.chart.value": {"fr": "Valeur", "en": "Value"},
    "manager.js.chart.count": {"fr": "Mesures", "en": "Readings"},
    "manager.js.chart.true": {"fr": "oui", "en": "yes"},
    "manager.js.chart.false": {"fr": "non", "en": "no"},
    "manager.js.chart.share_true": {"fr": "{percent} % du temps", "en": "{percent}% of the time"},
    "manager.js.chart.every": {"fr": "Un point toutes les {every}.",
                               "en": "One point every {every}."},
    **_section("manager.js.kind.", _KIND_LABELS),
    **_section("manager.js.point.", _POINT_LABELS),
    # the notices' script
    "manager.js.notices.none": {"fr": "Aucun avis en cours pour cet immeuble.",
                                "en": "No current notice for this building."},
    "manager.js.notices.published": {"fr": "Avis publié.", "en": "Notice published."},
    "manager.js.notices.fix_fields": {"fr": "Vérifiez les champs signalés.",
                                      "en": "Check the fields marked."},
    "manager.js.notices.pinned_until": {"fr": "Épinglé jusqu'au {date}",
                                        "en": "Pinned until {date}"},
    "manager.js.notices.expires_at": {"fr": "Retiré le {date}", "en": "Taken down on {date}"},
    "manager.js.notices.published_at": {"fr": "Publié le {date}", "en": "Published on {date}"},
    "manager.js.notices.reads": {"fr": "Foyers qui l'ont lu", "en": "Households who read it"},
    # the invites' script
    "manager.js.invites.issued": {"fr": "Code créé : {code}", "en": "Code issued: {code}"},
    "manager.js.invites.for": {"fr": "Pour : {place}", "en": "For: {place}"},
    "manager.js.invites.link": {"fr": "Ou ouvrez ce lien :", "en": "Or open this link:"},
    "manager.js.invites.expires": {"fr": "Valable jusqu'au {date}", "en": "Valid until {date}"},
    "manager.js.invites.none": {"fr": "Aucun code pour ce logement.",
                                "en": "No code for this flat."},
    "manager.js.invites.status.active": {"fr": "Valable", "en": "Valid"},
    "manager.js.invites.status.used": {"fr": "Utilisé", "en": "Used"},
    "manager.js.invites.status.revoked": {"fr": "Révoqué", "en": "Revoked"},
    "manager.js.invites.status.expired": {"fr": "Expiré", "en": "Expired"},
    "manager.js.invites.used_by": {"fr": "par {name}, {date}", "en": "by {name}, {date}"},
    "manager.js.invites.revoke": {"fr": "Révoquer", "en": "Revoke"},
    "manager.js.invites.revoked": {"fr": "Code {code} révoqué.", "en": "Code {code} revoked."},
    "manager.js.requests.none": {"fr": "Aucune demande en attente.",
                                 "en": "No request waiting."},
    "manager.js.requests.approve": {"fr": "Accepter", "en": "Approve"},
    "manager.js.requests.reject": {"fr": "Refuser", "en": "Reject"},
    "manager.js.requests.approved": {"fr": "{name} fait maintenant partie de l'immeuble.",
                                     "en": "{name} is now one of the building's members."},
    "manager.js.requests.rejected": {"fr": "Demande de {name} refusée.",
                                     "en": "{name}'s request rejected."},
    "manager.js.requests.asks": {"fr": "{name} demande à rejoindre {place}, en tant que {role}",
                                 "en": "{name} asks to join {place}, as {role}"},
    **_section("manager.js.role.", {"resident": ("habitant·e", "resident"),
                                    "owner": ("propriétaire", "owner"),
                                    "tenant": ("locataire", "tenant")}),
    # the display links' script
    "manager.js.displays.created": {
        "fr": "Lien créé. Ouvrez cette adresse sur l'écran du hall ; elle ne sera plus "
              "affichée ensuite.",
        "en": "Link made. Open this address on the hall screen; it will not be shown again."},
    "manager.js.displays.url": {"fr": "Adresse de l'écran", "en": "The screen's address"},
    "manager.js.displays.copy": {"fr": "Copier", "en": "Copy"},
    "manager.js.displays.copied": {"fr": "Adresse copiée.", "en": "Address copied."},
    "manager.js.displays.open": {"fr": "Ouvrir l'écran", "en": "Open the screen"},
    "manager.js.displays.none": {"fr": "Aucun lien pour cet immeuble.",
                                 "en": "No link for this building."},
    "manager.js.displays.unnamed": {"fr": "Écran sans nom", "en": "Unnamed screen"},
    "manager.js.displays.hint": {"fr": "Adresse commençant par {hint}…",
                                 "en": "Address starting with {hint}…"},
    "manager.js.displays.status.active": {"fr": "Actif", "en": "Active"},
    "manager.js.displays.status.revoked": {"fr": "Révoqué", "en": "Revoked"},
    "manager.js.displays.made": {"fr": "Créé le {date} par {name}",
                                 "en": "Made on {date} by {name}"},
    "manager.js.displays.last_used": {"fr": "Dernière lecture {date}", "en": "Last read {date}"},
    "manager.js.displays.never_used": {"fr": "Jamais ouvert", "en": "Never opened"},
    "manager.js.displays.revoke": {"fr": "Révoquer", "en": "Revoke"},
    "manager.js.displays.confirm": {"fr": "Confirmer la révocation",
                                    "en": "Confirm revoking"},
    "manager.js.displays.revoked": {
        "fr": "Lien révoqué : l'écran n'affichera plus rien à sa prochaine actualisation.",
        "en": "Link revoked: the screen will show nothing from its next refresh."},
}
