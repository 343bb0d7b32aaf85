"""The residents' pages: the feed with its circles, notification settings, joining a home.

The feed page only lays out the member's circles (the places they read, from the one
visibility rule) and the composer; its script (``static/js/feed.js``) fills it from
``GET /api/feed``, keeps it live from ``GET /api/stream``, and acts through the
interaction routes. Joining with an invite code is a plain form (it works before
one has an account): the page calls the same functions as ``POST /api/join`` and
``POST /api/me/join``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, get_args

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from social.accounts import issue_token
from social.api.deps import SessionDep, TokenTtlDep
from social.api.member_schemas import JoinCreate
from social.errors import (
    InvalidInviteCode,
    InviteGone,
    InviteNotFound,
    InviteUsed,
    MembershipConflict,
    SocialError,
    UsernameTaken,
)
from social.membership import InviteTarget, describe_invite, join_with_invite, redeem_invite
from social.models import Place
from social.post_kinds import SERVICE_CATEGORIES, ProblemCategory
from social.preferences import DEFAULT_MODES, MODES
from social.rights import MEMBER_KINDS
from social.stream import CIRCLES
from social.visibility import visible_place_ids
from social.web.pages import (
    NavItem,
    OptionalPageUserDep,
    PageError,
    PageUser,
    PageUserDep,
    check_form,
    redirect,
    render,
)
from social.web.session import set_session

router = APIRouter(include_in_schema=False)

NAV: tuple[NavItem, ...] = (
    NavItem("/", "resident.nav.feed"),
    NavItem("/settings", "resident.nav.settings"),
)

#: What the feed's script looks up (besides ``js.``).
JS_PREFIXES = ("resident.", "kind.", "place.", "circle.")

LENDING_CONDITIONS = ("new", "very_good", "good", "fair", "worn")
PROBLEM_CATEGORIES: tuple[str, ...] = get_args(ProblemCategory)


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a post kind's ``data`` in the composer.

    ``input``: ``text``, ``select`` (``options`` are ``(value, catalogue key)``),
    ``datetime`` (sent as an ISO time with the browser's offset), ``date``,
    ``number``, ``lines`` (one list item per line).
    """

    name: str
    input: str
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return f"resident.field.{self.name}"


def _choices(prefix: str, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((value, f"{prefix}{value}") for value in values)


#: The composer's fields per kind: ``social.post_kinds`` checks them again on the API.
KIND_FIELDS: dict[str, tuple[Field, ...]] = {
    "message": (),
    "notice": (Field("pinned_until", "datetime"), Field("expires_at", "datetime")),
    "help_request": (Field("needed_at", "datetime"),),
    "service_offer": (
        Field("category", "select", True, _choices("resident.service.", SERVICE_CATEGORIES)),
        Field("availability", "text")),
    "service_request": (
        Field("category", "select", True, _choices("resident.service.", SERVICE_CATEGORIES)),
        Field("needed_at", "datetime")),
    "lending": (
        Field("object", "text", True),
        Field("condition", "select", True, _choices("resident.condition.", LENDING_CONDITIONS)),
        Field("due", "date")),
    "event": (
        Field("starts_at", "datetime", True), Field("ends_at", "datetime"),
        Field("location", "text", True), Field("capacity", "number")),
    "promotion": (Field("expires_at", "datetime", True),),
    "lost_found": (
        Field("type", "select", True, _choices("resident.lost_found.", ("lost", "found"))),
        Field("item", "text", True), Field("where", "text"), Field("when", "date")),
    "poll": (Field("options", "lines", True), Field("closes_at", "datetime")),
    "problem_report": (
        Field("category", "select", True, _choices("resident.problem.", PROBLEM_CATEGORIES)),
        Field("location", "text")),
}


@dataclass(frozen=True, slots=True)
class Circle:
    """A place the member reads, as a feed tab."""

    id: str
    kind: str
    name: str

    @property
    def short_name(self) -> str:
        """"3e étage" of "Résidence Les Lilas, Entrée B, 3e étage"."""
        return self.name.rsplit(", ", 1)[-1]


def member_circles(session: Session, member_id: int) -> list[Circle]:
    """The member's circles, nearest first (their home up to the city)."""
    rows = session.execute(
        select(Place.id, Place.kind, Place.name)
        .where(Place.id.in_(visible_place_ids(member_id)))
    ).all()
    order = {kind: index for index, kind in enumerate(CIRCLES)}
    circles = [Circle(row.id, row.kind, row.name) for row in rows]
    return sorted(circles, key=lambda c: (order.get(c.kind, len(order)), c.name))


@router.get("/")
def feed(
    request: Request,
    user: PageUserDep,
    session: SessionDep,
    place: Annotated[str | None, Query(description="one circle only")] = None,
) -> Response:
    circles = member_circles(session, user.member.id)
    if place is not None and place not in {circle.id for circle in circles}:
        raise PageError(404, "error.not_found")
    default_place = place or next(
        (c.id for c in circles if c.kind == "building"), circles[0].id if circles else "")
    return render(
        request, "resident/feed.html", user=user, title="resident.feed.title",
        script="feed.js", js_prefixes=JS_PREFIXES, circles=circles, place=place or "",
        default_place=default_place,
        kinds=[kind for kind in MEMBER_KINDS if kind in KIND_FIELDS],
        kind_fields=KIND_FIELDS,
    )


@router.get("/settings")
def settings(request: Request, user: PageUserDep) -> Response:
    return render(
        request, "resident/settings.html", user=user, title="resident.settings.title",
        script="settings.js", js_prefixes=("resident.settings.",),
        kinds=list(DEFAULT_MODES), modes=MODES,
    )


# -- joining with an invite code ---------------------------------------------------------

#: The page's message for each reason a code or an account is refused.
JOIN_ERRORS: tuple[tuple[type[SocialError], str], ...] = (
    (InvalidInviteCode, "resident.join.error.invalid"),
    (InviteNotFound, "resident.join.error.unknown"),
    (InviteGone, "resident.join.error.gone"),
    (InviteUsed, "resident.join.error.used"),
    (UsernameTaken, "resident.join.error.username_taken"),
    (MembershipConflict, "resident.join.error.already_member"),
)
_FIELD_ERRORS = {"username": "resident.join.error.username",
                 "password": "resident.join.error.password",
                 "display_name": "resident.join.error.name"}
_JOIN_FAILURES = tuple(error for error, _key in JOIN_ERRORS)


def _join_error(exc: SocialError) -> str:
    return next(key for error, key in JOIN_ERRORS if isinstance(exc, error))


def _join_page(request: Request, user: PageUser | None, *, code: str,
               target: InviteTarget | None = None, error: str | None = None,
               field_errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    return render(request, "resident/join.html", user=user, title="resident.join.title",
                  status_code=status_code, code=code, target=target, error=error,
                  field_errors=field_errors or {}, values=values or {})


@router.get("/join")
def join_form(
    request: Request,
    user: OptionalPageUserDep,
    session: SessionDep,
    code: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Where a code leads (no login needed), and the form to create an account or, for a
    member, to add the home to their places."""
    if not code.strip():
        return _join_page(request, user, code="")
    try:
        target = describe_invite(session, code)
    except _JOIN_FAILURES as exc:
        return _join_page(request, user, code=code, error=_join_error(exc), status_code=400)
    return _join_page(request, user, code=code, target=target)


@router.post("/join")
def join(
    request: Request,
    user: OptionalPageUserDep,
    session: SessionDep,
    ttl: TokenTtlDep,
    code: Annotated[str, Form(max_length=40)] = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    display_name: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "fr",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    check_form(request, csrf_token)
    try:
        target = describe_invite(session, code)
        if user is not None:
            redeem_invite(session, user.member, code)
            session.commit()
            return redirect("/?joined=1")
    except _JOIN_FAILURES as exc:
        return _join_page(request, user, code=code, error=_join_error(exc), status_code=400)
    values = {"username": username.strip(), "display_name": display_name.strip(),
              "language": language}
    try:
        body = JoinCreate(code=code, username=values["username"], password=password,
                          display_name=values["display_name"] or None,
                          language=language if language in ("fr", "en") else "fr")
    except ValidationError as exc:
        fields = {str(error["loc"][0]): _FIELD_ERRORS.get(str(error["loc"][0]),
                                                          "resident.join.error.fields")
                  for error in exc.errors() if error["loc"]}
        return _join_page(request, None, code=code, target=target, values=values,
                          error="resident.join.error.fields", field_errors=fields,
                          status_code=400)
    if body.display_name is None:
        return _join_page(request, None, code=code, target=target, values=values,
                          error="resident.join.error.fields",
                          field_errors={"display_name": "resident.join.error.name"},
                          status_code=400)
    try:
        member, _membership = join_with_invite(
            session, body.code, username=body.username, password=body.password,
            language=body.language, display_name=body.display_name)
    except _JOIN_FAILURES as exc:
        session.rollback()
        key = _join_error(exc)
        fields = {"username": key} if isinstance(exc, UsernameTaken) else {}
        return _join_page(request, None, code=code, target=target, values=values, error=key,
                          field_errors=fields, status_code=409 if fields else 400)
    issued = issue_token(session, member, ttl=ttl)
    session.commit()
    response = redirect("/?joined=1")
    set_session(response, request, issued.token, ttl)
    return response


STRINGS: dict[str, dict[str, str]] = {
    "resident.nav.feed": {"fr": "Fil", "en": "Feed"},
    "resident.nav.settings": {"fr": "Réglages", "en": "Settings"},
    # the feed
    "resident.feed.title": {"fr": "Mon fil", "en": "My feed"},
    "resident.feed.circles": {"fr": "Cercles", "en": "Circles"},
    "resident.feed.pinned": {"fr": "Avis officiels", "en": "Official notices"},
    "resident.feed.latest": {"fr": "Publications", "en": "Posts"},
    "resident.feed.more": {"fr": "Voir plus", "en": "Show more"},
    "resident.feed.joined": {"fr": "Bienvenue ! Votre logement est maintenant dans vos cercles.",
                             "en": "Welcome! Your home is now one of your circles."},
    "resident.household.title": {"fr": "Pour votre foyer", "en": "For your household"},
    # the composer
    "resident.compose.open": {"fr": "Publier quelque chose", "en": "Post something"},
    "resident.compose.place": {"fr": "Où", "en": "Where"},
    "resident.compose.kind": {"fr": "Type de publication", "en": "Kind of post"},
    "resident.compose.title": {"fr": "Titre", "en": "Title"},
    "resident.compose.body": {"fr": "Texte", "en": "Text"},
    "resident.compose.residents_only": {
        "fr": "Entre habitants : invisible pour la gestion de l'immeuble",
        "en": "Residents only: hidden from the building's managers"},
    "resident.compose.submit": {"fr": "Publier", "en": "Publish"},
    "resident.field.pinned_until": {"fr": "Épinglé jusqu'au", "en": "Pinned until"},
    "resident.field.expires_at": {"fr": "Expire le", "en": "Expires on"},
    "resident.field.needed_at": {"fr": "Pour quand", "en": "Needed by"},
    "resident.field.category": {"fr": "Catégorie", "en": "Category"},
    "resident.field.availability": {"fr": "Disponibilités", "en": "Availability"},
    "resident.field.object": {"fr": "Objet prêté", "en": "Object lent"},
    "resident.field.condition": {"fr": "État", "en": "Condition"},
    "resident.field.due": {"fr": "À rendre le", "en": "Due back"},
    "resident.field.starts_at": {"fr": "Début", "en": "Starts"},
    "resident.field.ends_at": {"fr": "Fin", "en": "Ends"},
    "resident.field.location": {"fr": "Lieu", "en": "Location"},
    "resident.field.capacity": {"fr": "Nombre de places", "en": "Number of places"},
    "resident.field.type": {"fr": "Perdu ou trouvé", "en": "Lost or found"},
    "resident.field.item": {"fr": "Objet", "en": "Item"},
    "resident.field.where": {"fr": "Où", "en": "Where"},
    "resident.field.when": {"fr": "Quand", "en": "When"},
    "resident.field.options": {"fr": "Choix (un par ligne)", "en": "Options (one per line)"},
    "resident.field.closes_at": {"fr": "Fin du vote", "en": "Voting closes"},
    "resident.service.babysitting": {"fr": "Garde d'enfants", "en": "Babysitting"},
    "resident.service.pet_sitting": {"fr": "Garde d'animaux", "en": "Pet-sitting"},
    "resident.service.odd_jobs": {"fr": "Petits travaux", "en": "Odd jobs"},
    "resident.service.lending": {"fr": "Prêt d'objets", "en": "Lending"},
    "resident.service.tutoring": {"fr": "Soutien scolaire", "en": "Tutoring"},
    "resident.service.gardening": {"fr": "Jardinage", "en": "Gardening"},
    "resident.service.shopping": {"fr": "Courses", "en": "Shopping"},
    "resident.service.transport": {"fr": "Transport", "en": "Transport"},
    "resident.service.other": {"fr": "Autre", "en": "Other"},
    "resident.problem.lighting": {"fr": "Éclairage", "en": "Lighting"},
    "resident.problem.door": {"fr": "Porte", "en": "Door"},
    "resident.problem.lift": {"fr": "Ascenseur", "en": "Lift"},
    "resident.problem.plumbing": {"fr": "Plomberie", "en": "Plumbing"},
    "resident.problem.heating": {"fr": "Chauffage", "en": "Heating"},
    "resident.problem.electricity": {"fr": "Électricité", "en": "Electricity"},
    "resident.problem.intercom": {"fr": "Interphone", "en": "Intercom"},
    "resident.problem.cleanliness": {"fr": "Propreté", "en": "Cleanliness"},
    "resident.problem.other": {"fr": "Autre", "en": "Other"},
    "resident.condition.new": {"fr": "Neuf", "en": "New"},
    "resident.condition.very_good": {"fr": "Très bon état", "en": "Very good"},
    "resident.condition.good": {"fr": "Bon état", "en": "Good"},
    "resident.condition.fair": {"fr": "État correct", "en": "Fair"},
    "resident.condition.worn": {"fr": "Usé", "en": "Worn"},
    "resident.lost_found.lost": {"fr": "Perdu", "en": "Lost"},
    "resident.lost_found.found": {"fr": "Trouvé", "en": "Found"},
    # the feed's script
    "resident.js.empty": {"fr": "Rien de publié ici pour l'instant.",
                          "en": "Nothing posted here yet."},
    "resident.js.by": {"fr": "par {name}", "en": "by {name}"},
    "resident.js.published": {"fr": "Publié.", "en": "Published."},
    "resident.js.fix_fields": {"fr": "Vérifiez les champs signalés.",
                               "en": "Check the fields marked."},
    "resident.js.residents_only": {"fr": "Entre habitants", "en": "Residents only"},
    "resident.js.pinned_until": {"fr": "Épinglé jusqu'au {date}", "en": "Pinned until {date}"},
    "resident.js.alert.active": {"fr": "En cours", "en": "Ongoing"},
    "resident.js.alert.acknowledged": {"fr": "Pris en charge", "en": "Being handled"},
    "resident.js.alert.resolved": {"fr": "Résolu", "en": "Resolved"},
    "resident.js.alert.new": {"fr": "Nouvelle alerte : {title}", "en": "New alert: {title}"},
    "resident.js.alert.changed": {"fr": "Alerte « {title} » : {state}",
                                  "en": "Alert \"{title}\": {state}"},
    "resident.js.react.like": {"fr": "J'aime", "en": "Like"},
    "resident.js.react.thanks": {"fr": "Merci", "en": "Thanks"},
    "resident.js.react.still_happening": {"fr": "Toujours d'actualité",
                                          "en": "Still happening"},
    "resident.js.react.me_too": {"fr": "Moi aussi", "en": "Me too"},
    "resident.js.comments": {"fr": "Commentaires ({count})", "en": "Comments ({count})"},
    "resident.js.comment.label": {"fr": "Votre commentaire", "en": "Your comment"},
    "resident.js.comment.submit": {"fr": "Commenter", "en": "Comment"},
    "resident.js.comment.none": {"fr": "Pas encore de commentaire.", "en": "No comments yet."},
    "resident.js.help.offer": {"fr": "Je peux aider", "en": "I can help"},
    "resident.js.help.message": {"fr": "Un mot pour la personne (facultatif)",
                                 "en": "A word for them (optional)"},
    "resident.js.help.send": {"fr": "Proposer mon aide", "en": "Offer my help"},
    "resident.js.help.offered": {"fr": "Vous avez proposé votre aide.",
                                 "en": "You offered to help."},
    "resident.js.help.accepted": {"fr": "Votre aide a été acceptée : merci !",
                                  "en": "Your offer of help was accepted: thank you!"},
    "resident.js.help.offers": {"fr": "Propositions d'aide", "en": "Offers of help"},
    "resident.js.help.no_offers": {"fr": "Pas encore de proposition.", "en": "No offers yet."},
    "resident.js.help.accept": {"fr": "Accepter", "en": "Accept"},
    "resident.js.help.status.offered": {"fr": "proposée", "en": "offered"},
    "resident.js.help.status.accepted": {"fr": "acceptée", "en": "accepted"},
    "resident.js.help.status.declined": {"fr": "déclinée", "en": "declined"},
    "resident.js.help.status.withdrawn": {"fr": "retirée", "en": "withdrawn"},
    "resident.js.rsvp.question": {"fr": "Vous venez ?", "en": "Are you coming?"},
    "resident.js.rsvp.yes": {"fr": "Oui", "en": "Yes"},
    "resident.js.rsvp.maybe": {"fr": "Peut-être", "en": "Maybe"},
    "resident.js.rsvp.no": {"fr": "Non", "en": "No"},
    "resident.js.rsvp.summary": {"fr": "{yes} oui · {maybe} peut-être · {no} non",
                                 "en": "{yes} yes · {maybe} maybe · {no} no"},
    "resident.js.rsvp.remaining": {"fr": "{remaining} places restantes",
                                   "en": "{remaining} places left"},
    "resident.js.poll.vote": {"fr": "Voter", "en": "Vote"},
    "resident.js.poll.votes": {"fr": "{count} voix", "en": "{count} votes"},
    "resident.js.poll.closed": {"fr": "Vote clos", "en": "Voting closed"},
    "resident.js.poll.mine": {"fr": "votre choix", "en": "your choice"},
    "resident.js.lending.returned": {"fr": "Rendu", "en": "Returned"},
    "resident.js.vouched": {"fr": "Recommandé·e par {count} voisin·e·s",
                            "en": "Vouched for by {count} neighbours"},
    "resident.js.mark_read": {"fr": "Marquer comme lu", "en": "Mark as read"},
    "resident.js.unread": {"fr": "{count} non lues", "en": "{count} unread"},
    # settings
    "resident.settings.title": {"fr": "Réglages des notifications",
                                "en": "Notification settings"},
    "resident.settings.intro": {
        "fr": "Pour chaque type de publication, choisissez si elle vous prévient tout de "
              "suite, dans le résumé quotidien ou jamais. Tout reste visible dans le fil. Une "
              "alerte critique (fuite d'eau, incendie) prévient toujours.",
        "en": "For each kind of post, choose whether it tells you at once, in the daily "
              "digest, or never. Everything stays in the feed. A critical alert (water leak, "
              "fire) always tells you."},
    "resident.settings.kinds": {"fr": "Par type de publication", "en": "By kind of post"},
    "resident.settings.mode.instant": {"fr": "Tout de suite", "en": "At once"},
    "resident.settings.mode.digest": {"fr": "Résumé quotidien", "en": "Daily digest"},
    "resident.settings.mode.off": {"fr": "Jamais", "en": "Never"},
    "resident.settings.quiet": {"fr": "Heures calmes", "en": "Quiet hours"},
    "resident.settings.quiet.intro": {
        "fr": "Pendant ces heures, rien ne vous dérange, sauf une alerte critique. Deux heures "
              "identiques : pas d'heures calmes.",
        "en": "During these hours nothing disturbs you but a critical alert. Two equal times: "
              "no quiet hours."},
    "resident.settings.quiet.start": {"fr": "De", "en": "From"},
    "resident.settings.quiet.end": {"fr": "À", "en": "To"},
    "resident.settings.save": {"fr": "Enregistrer", "en": "Save"},
    "resident.settings.join": {"fr": "Rejoindre un autre logement avec un code d'invitation",
                               "en": "Join another home with an invite code"},
    # joining
    "resident.join.title": {"fr": "Rejoindre votre immeuble", "en": "Join your building"},
    "resident.join.intro": {
        "fr": "Saisissez le code d'invitation que la gestion de votre immeuble vous a remis.",
        "en": "Enter the invite code your building's management gave you."},
    "resident.join.code": {"fr": "Code d'invitation", "en": "Invite code"},
    "resident.join.check": {"fr": "Vérifier le code", "en": "Check the code"},
    "resident.join.target": {"fr": "Ce code ouvre : {name}", "en": "This code opens: {name}"},
    "resident.join.account": {"fr": "Votre compte", "en": "Your account"},
    "resident.join.display_name": {"fr": "Nom affiché aux voisins",
                                   "en": "Name shown to neighbours"},
    "resident.join.username": {"fr": "Identifiant de connexion", "en": "Username"},
    "resident.join.username.hint": {
        "fr": "3 à 64 caractères : minuscules, chiffres, « . », « _ » ou « - ». Jamais montré "
              "aux voisins.",
        "en": "3 to 64 characters: lower-case letters, digits, '.', '_' or '-'. Never shown "
              "to neighbours."},
    "resident.join.password": {"fr": "Mot de passe", "en": "Password"},
    "resident.join.password.hint": {"fr": "8 caractères au moins.",
                                    "en": "At least 8 characters."},
    "resident.join.language": {"fr": "Langue", "en": "Language"},
    "resident.join.create": {"fr": "Créer mon compte", "en": "Create my account"},
    "resident.join.redeem": {"fr": "Ajouter ce logement à mes cercles",
                             "en": "Add this home to my circles"},
    "resident.join.have_account": {
        "fr": "Vous avez déjà un compte ? Connectez-vous, puis revenez à ce lien.",
        "en": "Already have an account? Log in, then come back to this link."},
    "resident.join.error.invalid": {
        "fr": "Ce n'est pas un code d'invitation : 10 lettres et chiffres, comme ABCD-EFGH-JK.",
        "en": "This is not an invite code: 10 letters and digits, like ABCD-EFGH-JK."},
    "resident.join.error.unknown": {
        "fr": "Ce code n'existe pas. Vérifiez-le, ou demandez-le à la gestion de l'immeuble.",
        "en": "This code does not exist. Check it, or ask your building's management."},
    "resident.join.error.gone": {
        "fr": "Ce code a expiré ou a été révoqué : demandez-en un nouveau à la gestion.",
        "en": "This code expired or was revoked: ask the management for a new one."},
    "resident.join.error.used": {
        "fr": "Ce code a déjà servi : un code ne fait entrer qu'une personne.",
        "en": "This code was already used: a code admits one person."},
    "resident.join.error.username_taken": {"fr": "Cet identifiant est déjà pris.",
                                           "en": "This username is already taken."},
    "resident.join.error.already_member": {"fr": "Vous habitez déjà ce logement.",
                                           "en": "You already live in this home."},
    "resident.join.error.fields": {"fr": "Vérifiez les champs signalés.",
                                   "en": "Check the fields marked."},
    "resident.join.error.username": {
        "fr": "3 à 64 caractères : minuscules, chiffres, « . », « _ » ou « - ».",
        "en": "3 to 64 characters: lower-case letters, digits, '.', '_' or '-'."},
    "resident.join.error.password": {"fr": "8 caractères au moins.",
                                     "en": "At least 8 characters."},
    "resident.join.error.name": {"fr": "Indiquez le nom que verront vos voisins.",
                                 "en": "Enter the name your neighbours will see."},
}
