"""Who may post what, where, and do what with a post: ONE declarative matrix.

The matrix is data — :data:`CREATE` (per post kind: which role groups may create it, at
which place kinds, and how far from their own places) and :data:`ACTIONS` (per action:
on which kinds, by whom). Everything else reads it: :func:`can_post` and
:func:`can_act` answer the API, :func:`render_markdown` writes ``docs/rights-matrix.md``
(``python -m social.rights``), and ``tests/social/test_rights_matrix.py`` is generated
from it and checks every role × scope × kind through the real API.

Reaching a place is never decided here: :mod:`social.visibility` is the one rule, and
this module only narrows it to the memberships of a role group (a merchant reads the
neighbourhood through a merchant membership, a manager manages a building through a
manager one).

Two reaches exist:

``circles``
    the place is one the member may read through a membership of the group: the
    place of that membership or an ancestor of it (a resident of ``lilas/b/3/31``
    posts in that unit, floor 3, entrance B, the building, the neighbourhood, the city);
``managed``
    the place is at or below a building the member manages through the group
    (a syndic of Les Lilas pins a notice at its entrance B).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import Select, exists, literal_column, select, union_all
from sqlalchemy.orm import Session, aliased

from social.models import POST_KINDS, Member, Membership, Place, PlaceAncestor, Post
from social.post_kinds import EXAMPLES, FIELDS
from social.site import KIND_ORDER, PlaceKind
from social.visibility import (
    MANAGER_ROLES,
    RESIDENT_ROLES,
    current_membership,
    manageable_building_ids,
    place_ids_through,
    visible_place_ids,
)

#: Every role a membership may carry (DESIGN.md, "Places: the variable geometry").
ROLES: tuple[str, ...] = (
    "resident", "owner", "tenant", "manager", "syndic", "landlord", "installer",
    "merchant", "association", "municipality", "moderator", "admin",
)
LocalText = Mapping[str, str]
Reach = Literal["circles", "managed"]


@dataclass(frozen=True, slots=True)
class RoleGroup:
    """Roles that carry the same rights; a member holds the group's rights at a place
    when one of their current memberships with one of these roles reaches it."""

    key: str
    roles: frozenset[str]
    label: LocalText


RESIDENTS = RoleGroup("residents", RESIDENT_ROLES,
                      {"fr": "habitants", "en": "residents"})
MANAGERS = RoleGroup("managers", MANAGER_ROLES,
                     {"fr": "gestionnaires de l'immeuble", "en": "building managers"})
MERCHANTS = RoleGroup("merchants", frozenset({"merchant"}),
                      {"fr": "commerçants", "en": "merchants"})
ASSOCIATIONS = RoleGroup("associations", frozenset({"association"}),
                         {"fr": "associations", "en": "associations"})
MUNICIPALITY = RoleGroup("municipality", frozenset({"municipality"}),
                         {"fr": "la mairie", "en": "the municipality"})
GROUPS: tuple[RoleGroup, ...] = (RESIDENTS, MANAGERS, MERCHANTS, ASSOCIATIONS, MUNICIPALITY)

#: Every circle, narrowest first: the unit up to the city.
CIRCLES: tuple[PlaceKind, ...] = tuple(reversed(KIND_ORDER))
#: Where local actors speak: never inside a building.
PUBLIC: tuple[PlaceKind, ...] = ("neighbourhood", "city")
#: Where a building's managers speak officially: the building and its parts that are
#: shared (a unit is someone's home).
SHARED_PARTS: tuple[PlaceKind, ...] = ("building", "entrance", "floor")
#: The building's private space, where a post may be restricted to residents.
BUILDING_SPACE: tuple[PlaceKind, ...] = ("building", "entrance", "floor", "unit")


@dataclass(frozen=True, slots=True)
class Grant:
    """``who`` may create the kind at a place of one of the kinds ``at`` within ``reach``."""

    who: RoleGroup
    at: tuple[PlaceKind, ...]
    reach: Reach = "circles"


@dataclass(frozen=True, slots=True)
class KindRights:
    """Who may create one post kind; ``residents_only`` says whether a resident may hide
    it from the building's managers."""

    create: tuple[Grant, ...]
    residents_only: bool
    why: LocalText


CREATE: dict[str, KindRights] = {
    "message": KindRights(
        (Grant(RESIDENTS, CIRCLES), Grant(MANAGERS, SHARED_PARTS, "managed"),
         Grant(ASSOCIATIONS, PUBLIC), Grant(MUNICIPALITY, PUBLIC)),
        residents_only=True,
        why={"fr": "Pas de message commercial : les commerçants publient des offres, "
                   "étiquetées.",
             "en": "No commercial messages: merchants post promotions, which are labelled."}),
    "alert": KindRights(
        (), residents_only=False,
        why={"fr": "Publiées par le moteur de règles à partir des capteurs, jamais par un "
                   "membre.",
             "en": "Posted by the rules engine from the sensors, never by a member."}),
    "notice": KindRights(
        (Grant(MANAGERS, SHARED_PARTS, "managed"),),
        residents_only=False,
        why={"fr": "Un avis officiel engage la gestion de l'immeuble : seuls ses "
                   "gestionnaires le publient, dans ses parties communes.",
             "en": "An official notice speaks for the building's management: only its "
                   "managers post one, in its shared parts."}),
    "help_request": KindRights(
        (Grant(RESIDENTS, CIRCLES), Grant(ASSOCIATIONS, PUBLIC)),
        residents_only=True,
        why={"fr": "Entre voisins ; une association peut chercher des bénévoles.",
             "en": "Between neighbours; an association may look for volunteers."}),
    "service_offer": KindRights(
        (Grant(RESIDENTS, CIRCLES),), residents_only=True,
        why={"fr": "Services entre voisins (garde d'enfants, d'animaux, petits travaux).",
             "en": "Services between neighbours (babysitting, pet-sitting, odd jobs)."}),
    "service_request": KindRights(
        (Grant(RESIDENTS, CIRCLES),), residents_only=True,
        why={"fr": "Services entre voisins.", "en": "Services between neighbours."}),
    "lending": KindRights(
        (Grant(RESIDENTS, CIRCLES),), residents_only=True,
        why={"fr": "Prêts d'objets entre voisins.", "en": "Lending things between neighbours."}),
    "event": KindRights(
        (Grant(RESIDENTS, CIRCLES), Grant(MANAGERS, SHARED_PARTS, "managed"),
         Grant(MERCHANTS, PUBLIC), Grant(ASSOCIATIONS, PUBLIC), Grant(MUNICIPALITY, PUBLIC)),
        residents_only=True,
        why={"fr": "Les acteurs locaux invitent dans le quartier et la ville, jamais dans un "
                   "immeuble.",
             "en": "Local actors invite in the neighbourhood and the city, never inside a "
                   "building."}),
    "promotion": KindRights(
        (Grant(MERCHANTS, PUBLIC),), residents_only=False,
        why={"fr": "Toujours étiquetée et datée : elle disparaît à son expiration.",
             "en": "Always labelled and dated: it drops out when it expires."}),
    "lost_found": KindRights(
        (Grant(RESIDENTS, CIRCLES), Grant(MUNICIPALITY, PUBLIC)), residents_only=True,
        why={"fr": "Entre voisins ; la mairie tient les objets trouvés.",
             "en": "Between neighbours; the municipality keeps a lost property office."}),
    "poll": KindRights(
        (Grant(RESIDENTS, CIRCLES), Grant(MANAGERS, SHARED_PARTS, "managed"),
         Grant(ASSOCIATIONS, PUBLIC), Grant(MUNICIPALITY, PUBLIC)),
        residents_only=True,
        why={"fr": "Une voix par membre, garantie par la base de données.",
             "en": "One vote per member, enforced by the database."}),
    "problem_report": KindRights(
        (Grant(RESIDENTS, ("building",)),), residents_only=False,
        why={"fr": "Un signalement est un ticket pour les gestionnaires : il est publié au "
                   "niveau de l'immeuble, qu'ils lisent, et jamais réservé aux habitants.",
             "en": "A problem report is a ticket for the managers: it is posted at the "
                   "building level, which they read, and never restricted to residents."}),
}

Who = Literal["reader", "resident_reader", "reader_not_author", "resident_reader_not_author",
              "author", "requester", "building_manager", "neighbour"]

WHO_LABELS: dict[Who, LocalText] = {
    "reader": {"fr": "quiconque peut lire la publication",
               "en": "anyone who may read the post"},
    "resident_reader": {"fr": "les habitants qui peuvent la lire",
                        "en": "residents who may read it"},
    "reader_not_author": {"fr": "quiconque peut la lire, sauf son auteur",
                          "en": "anyone who may read it but its author"},
    "resident_reader_not_author": {"fr": "les habitants qui peuvent la lire, sauf son auteur",
                                   "en": "residents who may read it but its author"},
    "author": {"fr": "son auteur, tant qu'il pourrait encore la publier là",
               "en": "its author, while they could still post it there"},
    "requester": {"fr": "l'auteur de la demande (les gestionnaires pour une demande du "
                        "moteur de règles)",
                  "en": "the requester (the managers for a request from the rules engine)"},
    "building_manager": {"fr": "les gestionnaires de l'immeuble de la publication",
                         "en": "the managers of the post's building"},
    "neighbour": {"fr": "un habitant vérifié, pour un habitant vérifié du même immeuble",
                  "en": "a verified resident, for a verified resident of the same building"},
}


@dataclass(frozen=True, slots=True)
class ActionRights:
    """Who may do ``action``; ``on`` lists the post kinds it applies to (None: to a member)."""

    on: tuple[str, ...] | None
    who: Who
    label: LocalText


#: The kinds members write (and so may edit or widen).
MEMBER_KINDS = tuple(kind for kind, rights in CREATE.items() if rights.create)

ACTIONS: dict[str, ActionRights] = {
    "read": ActionRights(POST_KINDS, "reader", {"fr": "lire, marquer comme lu",
                                                "en": "read, mark as read"}),
    "comment": ActionRights(POST_KINDS, "reader", {"fr": "commenter", "en": "comment"}),
    "react": ActionRights(POST_KINDS, "reader", {"fr": "réagir (j'aime, merci)",
                                                 "en": "react (like, thanks)"}),
    "still_happening": ActionRights(("alert",), "resident_reader",
                                    {"fr": "« toujours d'actualité »",
                                     "en": "\"still happening\""}),
    "me_too": ActionRights(("problem_report",), "resident_reader_not_author",
                           {"fr": "« moi aussi »", "en": "\"me too\""}),
    "rsvp": ActionRights(("event",), "reader", {"fr": "répondre à l'invitation",
                                                "en": "RSVP"}),
    "vote": ActionRights(("poll",), "reader", {"fr": "voter", "en": "vote"}),
    "offer_help": ActionRights(("help_request",), "reader_not_author",
                               {"fr": "« je peux aider »", "en": "\"I can help\""}),
    "accept_offer": ActionRights(("help_request",), "requester",
                                 {"fr": "accepter une offre d'aide (les autres sont déclinées "
                                        "et restent privées)",
                                  "en": "accept a help offer (the others are declined and "
                                        "stay private)"}),
    "edit": ActionRights(MEMBER_KINDS, "author", {"fr": "modifier", "en": "edit"}),
    "widen": ActionRights(MEMBER_KINDS, "author",
                          {"fr": "élargir vers un cercle plus large (enregistré)",
                           "en": "widen to a wider circle (recorded)"}),
    "update_status": ActionRights(("problem_report",), "building_manager",
                                  {"fr": "faire avancer le ticket (reçu → en cours → réparé)",
                                   "en": "move the ticket on (received → in progress → fixed)"}),
    "link_alarm": ActionRights(("problem_report",), "building_manager",
                               {"fr": "lier à une alarme du même immeuble",
                                "en": "link to an alarm of the same building"}),
    "receipts": ActionRights(("notice",), "building_manager",
                             {"fr": "voir les accusés de lecture par foyer",
                              "en": "see read receipts per household"}),
    "vouch": ActionRights(None, "neighbour", {"fr": "recommander pour un service",
                                              "en": "vouch for a service"}),
}

#: Reactions and the action that governs each.
REACTIONS: dict[str, str] = {
    "like": "react", "thanks": "react", "still_happening": "still_happening", "me_too": "me_too",
}

# -- texts ------------------------------------------------------------------------------

KIND_LABELS: dict[str, LocalText] = {
    "message": {"fr": "message", "en": "message"},
    "alert": {"fr": "alerte", "en": "alert"},
    "notice": {"fr": "avis officiel", "en": "official notice"},
    "help_request": {"fr": "demande d'aide", "en": "help request"},
    "service_offer": {"fr": "offre de service", "en": "service offer"},
    "service_request": {"fr": "demande de service", "en": "service request"},
    "lending": {"fr": "prêt d'objet", "en": "lending"},
    "event": {"fr": "événement", "en": "event"},
    "promotion": {"fr": "offre commerçante", "en": "promotion"},
    "lost_found": {"fr": "objet perdu ou trouvé", "en": "lost and found"},
    "poll": {"fr": "sondage", "en": "poll"},
    "problem_report": {"fr": "signalement", "en": "problem report"},
}
PLACE_KIND_LABELS: dict[str, LocalText] = {
    "unit": {"fr": "logement", "en": "unit"},
    "floor": {"fr": "étage", "en": "floor"},
    "entrance": {"fr": "entrée", "en": "entrance"},
    "building": {"fr": "immeuble", "en": "building"},
    "neighbourhood": {"fr": "quartier", "en": "neighbourhood"},
    "city": {"fr": "ville", "en": "city"},
}

#: Why a decision was taken, in both languages; ``{kind}``, ``{scopes}``, ``{who}`` and
#: ``{action}`` are filled in the reader's language.
REASONS: dict[str, LocalText] = {
    "allowed": {"fr": "Autorisé.", "en": "Allowed."},
    "unknown_kind": {"fr": "Type de publication inconnu : {kind}.",
                     "en": "Unknown post kind: {kind}."},
    "not_visible": {"fr": "Ce lieu ne fait pas partie de vos cercles.",
                    "en": "This place is not one of your circles."},
    "rules_engine_only": {
        "fr": "Les alertes viennent des capteurs de l'immeuble (moteur de règles), jamais "
              "d'un membre.",
        "en": "Alerts come from the building's sensors (the rules engine), never from a "
              "member."},
    "role_may_not_post": {"fr": "Votre rôle ne permet pas de publier « {kind} » (réservé à : "
                                "{who}).",
                          "en": "Your role may not post \"{kind}\" (reserved to: {who})."},
    "wrong_scope": {"fr": "« {kind} » ne se publie qu'à ces niveaux : {scopes}.",
                    "en": "\"{kind}\" may only be posted at these levels: {scopes}."},
    "outside_circles": {"fr": "« {kind} » ne se publie que dans vos propres cercles : votre "
                              "logement et les lieux au-dessus.",
                        "en": "\"{kind}\" may only be posted in your own circles: your home "
                              "and the places above it."},
    "not_your_building": {"fr": "Seuls les gestionnaires de cet immeuble peuvent y publier "
                                "« {kind} ».",
                          "en": "Only this building's managers may post \"{kind}\" here."},
    "residents_only_kind": {"fr": "« {kind} » ne peut pas être réservé aux habitants.",
                            "en": "\"{kind}\" cannot be restricted to residents."},
    "residents_only_outside": {"fr": "« Réservé aux habitants » ne vaut que dans l'espace "
                                     "d'un immeuble.",
                               "en": "\"Residents only\" applies inside a building's space "
                                     "only."},
    "residents_only_residents": {"fr": "Seuls les habitants peuvent réserver une publication "
                                       "aux habitants.",
                                 "en": "Only residents may restrict a post to residents."},
    "post_not_readable": {"fr": "Publication introuvable parmi celles que vous pouvez lire.",
                          "en": "No such post among those you may read."},
    "not_for_kind": {"fr": "« {action} » ne s'applique pas à « {kind} ».",
                     "en": "\"{action}\" does not apply to \"{kind}\"."},
    "residents_action": {"fr": "Réservé aux habitants : {action}.",
                         "en": "Reserved to residents: {action}."},
    "own_post": {"fr": "Pas sur votre propre publication : {action}.",
                 "en": "Not on your own post: {action}."},
    "author_only": {"fr": "Seul l'auteur de la publication peut : {action}.",
                    "en": "Only the post's author may: {action}."},
    "requester_only": {"fr": "Seule la personne qui demande de l'aide peut : {action}.",
                       "en": "Only the person asking for help may: {action}."},
    "managers_only": {"fr": "Réservé aux gestionnaires de cet immeuble : {action}.",
                      "en": "Reserved to this building's managers: {action}."},
    "vouch_residents_only": {"fr": "Seuls les habitants vérifiés peuvent recommander un "
                                   "voisin.",
                             "en": "Only verified residents may vouch for a neighbour."},
    "vouch_self": {"fr": "Vous ne pouvez pas vous recommander vous-même.",
                   "en": "You cannot vouch for yourself."},
}
#: Reasons that must not tell whether the thing exists: answered as "not found" (404).
HIDING_REASONS = frozenset({"not_visible", "post_not_readable"})
#: Reasons about the post rather than the member (409).
CONFLICT_REASONS = frozenset({"not_for_kind"})


def _pick(texts: LocalText, lang: str) -> str:
    return texts.get(lang) or texts["en"]


def _join(labels: Sequence[LocalText], lang: str) -> str:
    return ", ".join(_pick(label, lang) for label in labels)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the matrix says, and why (a stable code the message is looked up by)."""

    allowed: bool
    reason: str
    kind: str | None = None
    action: str | None = None
    scopes: tuple[str, ...] = ()
    who: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def hides(self) -> bool:
        """True when the answer must be "not found": the member may not even read it."""
        return self.reason in HIDING_REASONS

    @property
    def conflicts(self) -> bool:
        return self.reason in CONFLICT_REASONS

    def message(self, lang: str) -> str:
        """The reason in ``lang`` (French or English), ready to show."""
        values = {
            "kind": _pick(KIND_LABELS.get(self.kind or "", {"en": self.kind or ""}), lang),
            "action": _pick(ACTIONS[self.action].label, lang) if self.action in ACTIONS
            else self.action or "",
            "scopes": _join([PLACE_KIND_LABELS[s] for s in self.scopes], lang),
            "who": _join([g.label for g in GROUPS if g.key in self.who], lang),
        }
        return _pick(REASONS[self.reason], lang).format(**values)


# -- answering --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a member stands towards one place, per role group."""

    holds: frozenset[str]      # groups the member holds a current membership of, anywhere
    reaches: frozenset[str]    # groups through which the place is in their circles
    manages: frozenset[str]    # groups through which they manage the place's building
    reads: bool                # the place is in their circles at all (any role)


def _buildings_above(place_id: str) -> Select[str]:
    """The building at or above ``place_id`` (an uncorrelated subquery)."""
    above, kind = aliased(PlaceAncestor), aliased(Place)
    return (select(above.ancestor_id).join(kind, kind.id == above.ancestor_id)
            .where(above.place_id == place_id, kind.kind == "building").correlate(None))


def _standing(session: Session, member_id: int, place_id: str, now: datetime | None) -> Standing:
    """Every question about the member and the place, in one round trip: the roles of the
    memberships through which the rule lets them read the place, those through which
    they manage its building, and all their current roles."""
    what, role = literal_column("'reads'").label("what"), Membership.role.label("role")
    reads = (visible_place_ids(member_id, now=now).with_only_columns(what, role)
             .select_from(PlaceAncestor).where(PlaceAncestor.ancestor_id == place_id))
    manages = (manageable_building_ids(member_id, now=now)
               .with_only_columns(literal_column("'manages'").label("what"), role)
               .select_from(PlaceAncestor)
               .where(PlaceAncestor.ancestor_id.in_(_buildings_above(place_id))))
    holds = select(literal_column("'holds'").label("what"), role).where(
        Membership.member_id == member_id, current_membership(now))
    found: dict[str, set[str]] = {"reads": set(), "manages": set(), "holds": set()}
    for kind, held_role in session.execute(union_all(reads, manages, holds)):
        found[kind].add(held_role)

    def groups(roles: set[str]) -> frozenset[str]:
        return frozenset(group.key for group in GROUPS if group.roles & roles)

    return Standing(groups(found["holds"]), groups(found["reads"]),
                     groups(found["manages"]), bool(found["reads"]))


def can_post(
    session: Session,
    member: Member,
    kind: str,
    place_id: str,
    *,
    residents_only: bool = False,
    now: datetime | None = None,
) -> Decision:
    """May ``member`` create a post of ``kind`` at ``place_id`` (restricted to residents)?

    The denial names the most useful reason: the place is not theirs to read (answer
    "not found"), nobody posts that kind, their role may not, not at that level, not
    that far from home, not in a building they manage.
    """
    place = session.get(Place, place_id)
    if place is None or kind not in CREATE:
        return Decision(False, "not_visible" if place is None else "unknown_kind", kind=kind)
    return decide(kind, place.kind, _standing(session, member.id, place_id, now),
                  residents_only=residents_only)


def decide(kind: str, place_kind: str, standing: Standing, *,
           residents_only: bool = False) -> Decision:
    """The matrix applied to where the member stands: no database, no clock."""
    rights = CREATE[kind]
    if not standing.reads and not standing.manages:
        return Decision(False, "not_visible", kind=kind)
    if not rights.create:
        return Decision(False, "rules_engine_only", kind=kind)
    grants = rights.create
    if residents_only:
        if not rights.residents_only:
            return Decision(False, "residents_only_kind", kind=kind)
        if place_kind not in BUILDING_SPACE:
            return Decision(False, "residents_only_outside", kind=kind)
        grants = tuple(grant for grant in grants if grant.who is RESIDENTS)
        if RESIDENTS.key not in standing.holds:
            return Decision(False, "residents_only_residents", kind=kind)
    for grant in grants:
        reached = standing.reaches if grant.reach == "circles" else standing.manages
        if place_kind in grant.at and grant.who.key in reached:
            return Decision(True, "allowed", kind=kind)
    held = [grant for grant in grants if grant.who.key in standing.holds]
    if not held:
        return Decision(False, "role_may_not_post", kind=kind,
                        who=tuple(dict.fromkeys(g.who.key for g in grants)))
    fitting = [grant for grant in held if place_kind in grant.at]
    if not fitting:
        scopes = {scope for grant in held for scope in grant.at}
        return Decision(False, "wrong_scope", kind=kind,
                        scopes=tuple(s for s in CIRCLES if s in scopes))
    if any(grant.reach == "managed" for grant in fitting):
        return Decision(False, "not_your_building", kind=kind)
    return Decision(False, "outside_circles", kind=kind)


def postable_kinds(
    session: Session, member: Member, place_id: str, *, now: datetime | None = None
) -> dict[str, Decision]:
    """What ``member`` may post at ``place_id``, kind by kind (for a "new post" menu)."""
    place = session.get(Place, place_id)
    if place is None:
        return {kind: Decision(False, "not_visible", kind=kind) for kind in POST_KINDS}
    standing = _standing(session, member.id, place_id, now)
    return {kind: decide(kind, place.kind, standing) for kind in POST_KINDS}


def building_of(session: Session, place_id: str) -> str | None:
    """The building at or above ``place_id``; None in the neighbourhood and the city."""
    return session.scalar(_buildings_above(place_id))


def manages_building_of(
    session: Session, member_id: int, place_id: str, *, now: datetime | None = None
) -> bool:
    """True when ``member_id`` manages the building at or above ``place_id``."""
    return bool(session.scalar(select(exists(
        manageable_building_ids(member_id, now=now).correlate(None)
        .where(PlaceAncestor.ancestor_id.in_(_buildings_above(place_id)))
    ))))


def reads_through(
    session: Session, member_id: int, place_id: str, roles: frozenset[str], *,
    now: datetime | None = None,
) -> bool:
    """True when ``place_id`` is in the member's circles through one of ``roles``."""
    return bool(session.scalar(select(exists(
        place_ids_through(member_id, roles, now=now).where(PlaceAncestor.ancestor_id == place_id)
    ))))


def can_act(
    session: Session,
    member: Member,
    action: str,
    post: Post,
    *,
    readable: bool,
    now: datetime | None = None,
) -> Decision:
    """May ``member`` do ``action`` on ``post``? ``readable`` is the visibility rule's
    answer for this post (the caller has it already: it looked the post up through it).

    A member who may not read the post is told it does not exist, unless the action is
    theirs by right without reading it (an author editing their post). A manager's
    rights on a post (receipts, tickets) need them to read it: the visibility rule lets
    them read their buildings' notices wherever in the shared parts, and never a
    unit's private notice or a post moderation hid.
    """
    rights = ACTIONS[action]
    by_right = False
    if rights.who == "building_manager":
        by_right = readable and manages_building_of(session, member.id, post.place_id,
                                                    now=now)
    elif rights.who == "author":
        by_right = post.author_id == member.id and can_post(
            session, member, post.kind, post.place_id, residents_only=post.residents_only,
            now=now).allowed
    if not readable and not by_right:
        return Decision(False, "post_not_readable", kind=post.kind, action=action)
    if rights.on is not None and post.kind not in rights.on:
        return Decision(False, "not_for_kind", kind=post.kind, action=action)
    own = post.author_id == member.id
    denied: str | None = None
    match rights.who:
        case "reader":
            pass
        case "reader_not_author":
            denied = "own_post" if own else None
        case "resident_reader" | "resident_reader_not_author":
            if not reads_through(session, member.id, post.place_id, RESIDENT_ROLES, now=now):
                denied = "residents_action"
            elif own and rights.who == "resident_reader_not_author":
                denied = "own_post"
        case "author" | "building_manager":
            denied = None if by_right else (
                "author_only" if rights.who == "author" else "managers_only")
        case "requester":
            requester = own or (post.author_id is None
                                and manages_building_of(session, member.id, post.place_id,
                                                        now=now))
            denied = None if requester else "requester_only"
        case _:
            raise ValueError(f"action {action!r} is not about a post")
    if denied:
        return Decision(False, denied, kind=post.kind, action=action)
    return Decision(True, "allowed", kind=post.kind, action=action)


# -- the document -----------------------------------------------------------------------

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "rights-matrix.md"
_SCOPE_LETTERS = {"unit": "U", "floor": "F", "entrance": "E", "building": "B",
                  "neighbourhood": "N", "city": "C"}


def _role_kind_cell(role: str, kind: str) -> str:
    letters = []
    for scope in CIRCLES:
        if any(role in grant.who.roles and scope in grant.at for grant in CREATE[kind].create):
            letters.append(_SCOPE_LETTERS[scope])
    return " ".join(letters) if letters else "—"


def render_markdown() -> str:
    """``docs/rights-matrix.md``, from the matrix alone (a test keeps the file in step)."""
    out = [
        "# Rights matrix",
        "",
        "<!-- Generated from social/rights.py by `python -m social.rights`: do not edit. "
        "tests/social/test_posts.py fails when this file is stale. -->",
        "",
        "Who may post what, where, and do what with a post. Reaching a place always goes "
        "through the one visibility rule (`social/visibility.py`): a member reads a place "
        "when it is the place of one of their verified, current memberships or an "
        "ancestor of it; local actors never reach inside a building. A building's managers "
        "also read, in its shared parts (the building, its entrances and floors, never a "
        "unit), its official notices, the rules engine's posts (alerts, help requests) and "
        "their own posts; a manager's action on a post (receipts, tickets) needs them to "
        "read it.",
        "",
        "Reaches: **circles** — the place is the member's own place (through a membership "
        "of that role) or an ancestor of it; **managed** — the place is at or below a "
        "building the member manages (manager, syndic, landlord).",
        "",
        "Answers: allowed → `201`; the place is not one the member may read → `404` (no "
        "hint that it exists); otherwise → `403` with the reason in the member's language.",
        "",
        "## Creating posts, kind by kind",
        "",
        "| kind | who | at | reach | residents only? | why |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for kind, rights in CREATE.items():
        ro = "yes" if rights.residents_only else "no"
        if not rights.create:
            out.append(f"| `{kind}` | nobody (rules engine) | — | — | {ro} | {rights.why['en']} |")
        for i, grant in enumerate(rights.create):
            roles = ", ".join(sorted(grant.who.roles))
            first = (f"`{kind}`", ro, rights.why["en"]) if i == 0 else ("", "", "")
            out.append(f"| {first[0]} | {grant.who.key} ({roles}) | {', '.join(grant.at)} | "
                       f"{grant.reach} | {first[1]} | {first[2]} |")
    out += [
        "",
        "## Role by role",
        "",
        "Levels where each role may create each kind (U unit, F floor, E entrance, "
        "B building, N neighbourhood, C city), within the reach above.",
        "",
        "| role | " + " | ".join(f"`{k}`" for k in POST_KINDS) + " |",
        "| --- | " + " | ".join("---" for _ in POST_KINDS) + " |",
    ]
    for role in ROLES:
        out.append(f"| {role} | " + " | ".join(_role_kind_cell(role, k) for k in POST_KINDS)
                   + " |")
    out += [
        "",
        "A *residents only* post (a resident's choice, inside a building's space) is read "
        "only through resident, owner, tenant or moderator memberships (never a manager's, "
        "an installer's or an administrator's), and is never widened.",
        "",
        "## Actions",
        "",
        "| action | on | who |",
        "| --- | --- | --- |",
    ]
    for action, act in ACTIONS.items():
        on = "a member" if act.on is None else (
            "every kind" if act.on == POST_KINDS else ", ".join(f"`{k}`" for k in act.on))
        out.append(f"| `{action}` — {act.label['en']} | {on} | {WHO_LABELS[act.who]['en']} |")
    out += [
        "",
        "Reactions: " + ", ".join(f"`{r}` ({a})" for r, a in REACTIONS.items()) + ".",
        "",
        "## Kind-specific fields (`data`)",
        "",
        "| kind | fields | example |",
        "| --- | --- | --- |",
    ]
    for kind in POST_KINDS:
        fields = ", ".join(f"`{name}`" for name in FIELDS[kind]) or "—"
        out.append(f"| `{kind}` | {fields} | `{json.dumps(EXAMPLES[kind], ensure_ascii=False)}` |")
    out += [
        "",
        "## Reasons",
        "",
        "| code | français | English |",
        "| --- | --- | --- |",
    ]
    for code, texts in REASONS.items():
        out.append(f"| `{code}` | {texts['fr']} | {texts['en']} |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m social.rights [--check]``: write the document, or check it is current."""
    parser = argparse.ArgumentParser(prog="python -m social.rights", description=main.__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--out", type=Path, default=DOC_PATH)
    args = parser.parse_args(argv)
    text = render_markdown()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is stale: run python -m social.rights", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
