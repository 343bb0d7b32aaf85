"""What neighbours do with posts: comments, reactions, reads and receipts, help offers,
RSVPs, poll votes, problem-report tickets and vouches.

Every operation is one action of :data:`social.rights.ACTIONS`, checked by
:func:`social.posts.post_for` before anything is read or written: a member who may not
read a post is told it does not exist, one who may read it but not act on it is told
why, in their language.

Rows are written through the unit of work (``session.add``), never with Core inserts,
so that the live stream's event hub sees them. Where the database has the last word
(one reaction of a kind, one vote, one offer, one read per member), the insert runs
in a SAVEPOINT and a concurrent duplicate becomes "already there" — the database, not
a check-then-insert, enforces "one vote per member". Nothing here commits.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from social.community_models import (
    Comment,
    HelpOffer,
    PollVote,
    PostRead,
    Reaction,
    Rsvp,
    Vouch,
)
from social.errors import (
    AlarmNotFound,
    InvalidPostData,
    MemberNotFound,
    NotAllowed,
    NotAManager,
    OfferNotFound,
    PostConflict,
)
from social.models import Alarm, Member, Membership, Place, PlaceAncestor, Post, utcnow
from social.moderation import (
    check_comment_rate,
    check_may_comment,
    visible_comments,
    visible_to,
)
from social.paging import Page, paginate
from social.post_kinds import SERVICE_CATEGORIES, TICKET_TRANSITIONS
from social.posts import post_for
from social.rights import REACTIONS, Decision, building_of, can_act
from social.stream import mark_read
from social.visibility import (
    RESIDENT_ROLES,
    current_membership,
    manageable,
    manages_any_building,
)

ReactionKind = Literal["like", "thanks", "still_happening", "me_too"]
RsvpAnswer = Literal["yes", "no", "maybe"]

CONFLICTS: dict[str, Mapping[str, str]] = {
    "full": {"fr": "Complet : il n'y a plus de place pour cet événement.",
             "en": "Full: there is no place left for this event."},
    "event_over": {"fr": "Cet événement est terminé.", "en": "This event is over."},
    "already_voted": {"fr": "Vous avez déjà voté à ce sondage.",
                      "en": "You have already voted in this poll."},
    "poll_closed": {"fr": "Ce sondage est clos.", "en": "This poll is closed."},
    "help_found": {"fr": "Cette demande a déjà trouvé de l'aide.",
                   "en": "This request has already found help."},
    "already_offered": {"fr": "Vous avez déjà proposé votre aide.",
                        "en": "You have already offered to help."},
    "offer_not_open": {"fr": "Cette offre n'est plus en attente.",
                       "en": "This offer is no longer pending."},
    "ticket_transition": {"fr": "Un signalement « {current} » ne peut pas passer à "
                                "« {wanted} ».",
                          "en": "A problem report that is {current} cannot become {wanted}."},
    "alert_over": {"fr": "Cette alerte est terminée.", "en": "This alert is over."},
}
TICKET_LABELS: dict[str, Mapping[str, str]] = {
    "received": {"fr": "reçu", "en": "received"},
    "in_progress": {"fr": "en cours", "en": "in progress"},
    "fixed": {"fr": "réparé", "en": "fixed"},
}
RECEIPTS_SUMMARY = {"fr": "Lu par {percent} % des foyers ({read} sur {households})",
                    "en": "Read by {percent}% of households ({read} of {households})"}
VOUCHED_SUMMARY = {"fr": "Recommandé·e par {count} voisin·e·s",
                   "en": "Vouched for by {count} neighbours"}


def _text(texts: Mapping[str, str], lang: str, **values: object) -> str:
    return (texts.get(lang) or texts["en"]).format(**values)


def _conflict(post: Post, member: Member, code: str, **values: object) -> PostConflict:
    return PostConflict(post.id, _text(CONFLICTS[code], member.language, **values), code)


def _add_once(session: Session, row: object) -> bool:
    """Insert ``row`` unless a UNIQUE constraint says it is there already."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


def _pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """``{first: second}`` of two-column rows (a ``Result`` is not a mapping source)."""
    return {key: value for key, value in rows}


def _at(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# -- counts shown with every post --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostCounts:
    """What the feed shows under a post; None for counts its kind does not have."""

    comments: int = 0
    reactions: Mapping[str, int] = field(default_factory=dict)
    mine: tuple[str, ...] = ()
    attending: int | None = None
    votes: int | None = None
    vouched_by: int | None = None


def post_counts(
    session: Session, posts: Sequence[Post], member_id: int, *, now: datetime | None = None
) -> dict[int, PostCounts]:
    """Counts for a page of posts in a fixed number of queries, whatever the page size."""
    ids = [post.id for post in posts]
    if not ids:
        return {}
    comments: dict[int, int] = _pairs(session.execute(visible_comments(
        select(Comment.post_id, func.count(Comment.id)).where(Comment.post_id.in_(ids)),
        member_id).group_by(Comment.post_id)))
    reactions: dict[int, dict[str, int]] = defaultdict(dict)
    for post_id, kind, count in session.execute(
            select(Reaction.post_id, Reaction.kind, func.count(Reaction.id))
            .where(Reaction.post_id.in_(ids)).group_by(Reaction.post_id, Reaction.kind)):
        reactions[post_id][kind] = count
    mine: dict[int, list[str]] = defaultdict(list)
    for post_id, kind in session.execute(
            select(Reaction.post_id, Reaction.kind)
            .where(Reaction.post_id.in_(ids), Reaction.member_id == member_id)
            .order_by(Reaction.kind)):
        mine[post_id].append(kind)
    events = [post.id for post in posts if post.kind == "event"]
    attending: dict[int, int] = {}
    if events:
        attending = _pairs(session.execute(
            select(Rsvp.post_id, func.count(Rsvp.id))
            .where(Rsvp.post_id.in_(events), Rsvp.answer == "yes").group_by(Rsvp.post_id)
        ))
    polls = [post.id for post in posts if post.kind == "poll"]
    votes: dict[int, int] = {}
    if polls:
        votes = _pairs(session.execute(
            select(PollVote.post_id, func.count(PollVote.id))
            .where(PollVote.post_id.in_(polls)).group_by(PollVote.post_id)))
    offers = [post for post in posts
              if post.kind == "service_offer" and post.author_id is not None]
    vouched = vouch_counts(session, {(post.author_id, str(post.data.get("category", "")))
                                     for post in offers if post.author_id is not None},
                           now=now) if offers else {}
    return {
        post.id: PostCounts(
            comments=comments.get(post.id, 0),
            reactions=dict(reactions.get(post.id, {})),
            mine=tuple(mine.get(post.id, ())),
            attending=attending.get(post.id, 0) if post.kind == "event" else None,
            votes=votes.get(post.id, 0) if post.kind == "poll" else None,
            vouched_by=(vouched.get((post.author_id, str(post.data.get("category", ""))), 0)
                        if post in offers else None),
        )
        for post in posts
    }


# -- comments ---------------------------------------------------------------------------


def list_comments(
    session: Session, member: Member, post_id: int, *, limit: int = 50,
    cursor: str | None = None, now: datetime | None = None,
) -> Page[tuple[Comment, str | None]]:
    """A post's comments, oldest first (a conversation), with their authors' names."""
    post_for(session, member, post_id, "read", now=now)
    stmt = visible_comments(
        select(Comment, Member.display_name)
        .outerjoin(Member, Member.id == Comment.author_id)
        .where(Comment.post_id == post_id),
        member.id)
    return paginate(session, stmt, Comment.id, limit=limit, cursor=cursor)


def add_comment(session: Session, member: Member, post_id: int, body: str, *,
                now: datetime | None = None) -> Comment:
    now = now or utcnow()
    post = post_for(session, member, post_id, "comment", now=now)
    check_may_comment(session, post, member.id)
    check_comment_rate(session, member.id, now)
    comment = Comment(post_id=post.id, author_id=member.id, body=body, created_at=now,
                      moderation="visible")
    session.add(comment)
    session.flush()
    return comment


# -- reactions and reads ------------------------------------------------------------------


def react(session: Session, member: Member, post_id: int, kind: ReactionKind, *,
          now: datetime | None = None) -> bool:
    """Add a reaction; True when it is new (reacting twice is harmless).

    "Still happening" is for an alert that is still open: the managers see the count
    on the alarm, and a cleared alarm has nothing left to confirm.
    """
    now = now or utcnow()
    post = post_for(session, member, post_id, REACTIONS[kind], now=now)
    if kind == "still_happening" and post.status != "active":
        raise _conflict(post, member, "alert_over")
    exists_already = session.scalar(select(Reaction.id).where(
        Reaction.post_id == post.id, Reaction.member_id == member.id, Reaction.kind == kind))
    if exists_already is not None:
        return False
    return _add_once(session, Reaction(post_id=post.id, member_id=member.id, kind=kind,
                                       created_at=now))


def unreact(session: Session, member: Member, post_id: int, kind: ReactionKind, *,
            now: datetime | None = None) -> bool:
    """Take a reaction back; True when there was one."""
    post = post_for(session, member, post_id, REACTIONS[kind], now=now)
    reaction = session.scalar(select(Reaction).where(
        Reaction.post_id == post.id, Reaction.member_id == member.id, Reaction.kind == kind))
    if reaction is None:
        return False
    session.delete(reaction)
    session.flush()
    return True


def mark_post_read(session: Session, member: Member, post_id: int, *,
                   now: datetime | None = None) -> bool:
    """Record that ``member`` read the post (for unread counts and notice receipts)."""
    post_for(session, member, post_id, "read", now=now)
    return mark_read(session, member.id, [post_id], now=now) == 1


@dataclass(frozen=True, slots=True)
class Receipts:
    """How many households of a notice's place read it.

    A household is a unit with at least one current resident (resident, owner or
    tenant) membership; it has read the notice when one of those residents did.
    """

    post_id: int
    households: int
    read: int

    @property
    def percent(self) -> int:
        """Rounded half up: 62.5 % reads as 63 %, like a person would say it."""
        return (200 * self.read + self.households) // (2 * self.households) \
            if self.households else 0

    def summary(self, lang: str) -> str:
        return _text(RECEIPTS_SUMMARY, lang, percent=self.percent, read=self.read,
                     households=self.households)


def receipts(session: Session, member: Member, post_id: int, *,
             now: datetime | None = None) -> Receipts:
    """Read receipts per household of an official notice, for its building's managers."""
    post = post_for(session, member, post_id, "receipts", now=now)
    households = (
        select(Membership.place_id.label("unit_id"), Membership.member_id)
        .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
        .where(PlaceAncestor.ancestor_id == post.place_id,
               Membership.place_id.in_(select(Place.id).where(Place.kind == "unit")),
               Membership.role.in_(sorted(RESIDENT_ROLES)),
               current_membership(now))
        .subquery()
    )
    readers = select(PostRead.member_id).where(PostRead.post_id == post.id)
    total, read = session.execute(select(
        func.count(households.c.unit_id.distinct()),
        func.count(households.c.unit_id.distinct()).filter(
            households.c.member_id.in_(readers)),
    )).one()
    return Receipts(post.id, int(total), int(read))


# -- help offers ----------------------------------------------------------------------------


def offer_help(session: Session, member: Member, post_id: int, message: str = "", *,
               now: datetime | None = None) -> HelpOffer:
    """"I can help": seen by the requester and by the helper, nobody else."""
    now = now or utcnow()
    post = post_for(session, member, post_id, "offer_help", now=now, lock=True)
    if post.status != "active" or post.data.get("accepted_offer_id"):
        raise _conflict(post, member, "help_found")
    offer = session.scalar(select(HelpOffer).where(HelpOffer.post_id == post.id,
                                                   HelpOffer.member_id == member.id))
    if offer is not None:
        if offer.status != "withdrawn":
            raise _conflict(post, member, "already_offered")
        offer.status, offer.message, offer.created_at = "offered", message, now
        session.flush()
        return offer
    offer = HelpOffer(post_id=post.id, member_id=member.id, message=message, status="offered",
                      created_at=now)
    if not _add_once(session, offer):
        raise _conflict(post, member, "already_offered")
    return offer


def is_requester(session: Session, member: Member, post: Post, *,
                 now: datetime | None = None) -> bool:
    return can_act(session, member, "accept_offer", post, readable=True, now=now).allowed


def list_offers(session: Session, member: Member, post_id: int, *,
                now: datetime | None = None) -> tuple[bool, list[tuple[HelpOffer, str]]]:
    """``(is_requester, offers)``: the requester sees every offer, anyone else their own.

    A declined offer stays between the requester and its helper.
    """
    post = post_for(session, member, post_id, "read", now=now)
    if post.kind != "help_request":
        raise PostConflict(post.id, Decision(False, "not_for_kind", kind=post.kind,
                                             action="offer_help").message(member.language),
                           "not_for_kind")
    requester = is_requester(session, member, post, now=now)
    stmt = (select(HelpOffer, Member.display_name).join(Member, Member.id == HelpOffer.member_id)
            .where(HelpOffer.post_id == post.id).order_by(HelpOffer.id))
    if not requester:
        stmt = stmt.where(HelpOffer.member_id == member.id)
    return requester, [(offer, name) for offer, name in session.execute(stmt)]


def accept_offer(session: Session, member: Member, post_id: int, offer_id: int, *,
                 now: datetime | None = None) -> HelpOffer:
    """The requester accepts one offer: the request is resolved, the others declined."""
    now = now or utcnow()
    post = post_for(session, member, post_id, "accept_offer", now=now, lock=True)
    offer = session.scalar(select(HelpOffer).where(HelpOffer.id == offer_id,
                                                   HelpOffer.post_id == post.id))
    if offer is None:
        raise OfferNotFound(offer_id)
    if post.data.get("accepted_offer_id") or post.status != "active":
        raise _conflict(post, member, "help_found")
    if offer.status != "offered":
        raise _conflict(post, member, "offer_not_open")
    for other in session.scalars(select(HelpOffer).where(HelpOffer.post_id == post.id,
                                                         HelpOffer.status == "offered")):
        other.status = "accepted" if other.id == offer.id else "declined"
    post.data = {**post.data, "accepted_offer_id": offer.id}
    post.status, post.resolved_at, post.updated_at = "resolved", now, now
    session.flush()
    return offer


def withdraw_offer(session: Session, member: Member, post_id: int, offer_id: int, *,
                   now: datetime | None = None) -> HelpOffer:
    """A helper takes back their own pending offer."""
    post = post_for(session, member, post_id, "read", now=now, lock=True)
    offer = session.scalar(select(HelpOffer).where(
        HelpOffer.id == offer_id, HelpOffer.post_id == post.id, HelpOffer.member_id == member.id))
    if offer is None:
        raise OfferNotFound(offer_id)
    if offer.status != "offered":
        raise _conflict(post, member, "offer_not_open")
    offer.status = "withdrawn"
    session.flush()
    return offer


# -- events -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RsvpSummary:
    yes: int
    no: int
    maybe: int
    capacity: int | None
    mine: str | None

    @property
    def remaining(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.yes)


def _rsvp_summary(session: Session, post: Post, member_id: int) -> RsvpSummary:
    counts = Counter(_pairs(session.execute(
        select(Rsvp.answer, func.count(Rsvp.id)).where(Rsvp.post_id == post.id)
        .group_by(Rsvp.answer))))
    mine = session.scalar(select(Rsvp.answer).where(Rsvp.post_id == post.id,
                                                    Rsvp.member_id == member_id))
    capacity = post.data.get("capacity")
    return RsvpSummary(counts["yes"], counts["no"], counts["maybe"],
                       capacity if isinstance(capacity, int) else None, mine)


def rsvp_summary(session: Session, member: Member, post_id: int, *,
                 now: datetime | None = None) -> RsvpSummary:
    post = post_for(session, member, post_id, "rsvp", now=now)
    return _rsvp_summary(session, post, member.id)


def set_rsvp(session: Session, member: Member, post_id: int, answer: RsvpAnswer, *,
             now: datetime | None = None) -> RsvpSummary:
    """Answer an invitation; "yes" beyond the capacity is refused as "full".

    The event's row is locked while the seats are counted, so two neighbours answering
    yes for the last seat at once end with one seat taken and one "full".
    """
    now = now or utcnow()
    post = post_for(session, member, post_id, "rsvp", now=now, lock=True)
    ends = _at(post.data.get("ends_at")) or _at(post.data.get("starts_at"))
    if ends is not None and ends < now:
        raise _conflict(post, member, "event_over")
    rsvp = session.scalar(select(Rsvp).where(Rsvp.post_id == post.id,
                                             Rsvp.member_id == member.id))
    capacity = post.data.get("capacity")
    if answer == "yes" and isinstance(capacity, int) and (rsvp is None or rsvp.answer != "yes"):
        taken = session.scalar(select(func.count(Rsvp.id)).where(
            Rsvp.post_id == post.id, Rsvp.answer == "yes")) or 0
        if taken >= capacity:
            raise _conflict(post, member, "full")
    if rsvp is None:
        session.add(Rsvp(post_id=post.id, member_id=member.id, answer=answer, created_at=now))
    else:
        rsvp.answer = answer
    session.flush()
    return _rsvp_summary(session, post, member.id)


# -- polls --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollResults:
    options: list[tuple[str, int]]
    mine: int | None
    closed: bool

    @property
    def total(self) -> int:
        return sum(count for _option, count in self.options)


def _results(session: Session, post: Post, member_id: int, now: datetime) -> PollResults:
    counts = _pairs(session.execute(
        select(PollVote.option, func.count(PollVote.id)).where(PollVote.post_id == post.id)
        .group_by(PollVote.option)))
    mine = session.scalar(select(PollVote.option).where(PollVote.post_id == post.id,
                                                        PollVote.member_id == member_id))
    closes = _at(post.data.get("closes_at"))
    options = [str(option) for option in post.data.get("options", [])]
    return PollResults([(option, counts.get(i, 0)) for i, option in enumerate(options)], mine,
                       closes is not None and closes <= now)


def poll_results(session: Session, member: Member, post_id: int, *,
                 now: datetime | None = None) -> PollResults:
    now = now or utcnow()
    post = post_for(session, member, post_id, "vote", now=now)
    return _results(session, post, member.id, now)


def vote(session: Session, member: Member, post_id: int, option: int, *,
         now: datetime | None = None) -> PollResults:
    """One vote per member and poll, final: the UNIQUE constraint has the last word."""
    now = now or utcnow()
    post = post_for(session, member, post_id, "vote", now=now)
    options = post.data.get("options", [])
    if not 0 <= option < len(options):
        raise InvalidPostData([{"loc": ["body", "option"], "type": "option_range",
                                "msg": f"must be an option index from 0 to {len(options) - 1}"}])
    if _results(session, post, member.id, now).closed:
        raise _conflict(post, member, "poll_closed")
    if not _add_once(session, PollVote(post_id=post.id, member_id=member.id, option=option,
                                       created_at=now)):
        raise _conflict(post, member, "already_voted")
    return _results(session, post, member.id, now)


# -- problem reports --------------------------------------------------------------------------


def update_ticket(session: Session, member: Member, post_id: int, status: str, note: str = "",
                  *, now: datetime | None = None) -> Post:
    """A manager of the building moves a problem report on; the history keeps each step.

    A fixed report is resolved in the feed; reopening it (fixed → in progress) makes it
    active again.
    """
    now = now or utcnow()
    post = post_for(session, member, post_id, "update_status", now=now, lock=True)
    current = str(post.data.get("status", "received"))
    if status not in TICKET_TRANSITIONS.get(current, ()):
        raise _conflict(post, member, "ticket_transition",
                        current=_text(TICKET_LABELS[current], member.language),
                        wanted=_text(TICKET_LABELS.get(status, {"en": status}), member.language))
    step = {"status": status, "at": now.isoformat(), "by": member.id}
    if note.strip():
        step["note"] = note.strip()
    post.data = {**post.data, "status": status,
                 "history": [*post.data.get("history", []), step]}
    post.status = "resolved" if status == "fixed" else "active"
    post.resolved_at = now if status == "fixed" else None
    post.updated_at = now
    session.flush()
    return post


def link_alarm(session: Session, member: Member, post_id: int, alarm_id: int, *,
               now: datetime | None = None) -> Post:
    """A manager ties a problem report to a sensor alarm of the same building.

    An alarm of another building (or one they do not manage) is "not found", exactly
    as on the alarm board.
    """
    now = now or utcnow()
    post = post_for(session, member, post_id, "link_alarm", now=now, lock=True)
    building = building_of(session, post.place_id)
    alarm = session.scalar(manageable(
        select(Alarm).where(Alarm.id == alarm_id, Alarm.building_id == building),
        Alarm.building_id, member.id, now=now))
    if alarm is None or building is None:
        raise AlarmNotFound(alarm_id)
    post.data = {**post.data, "linked_alarm_id": alarm.id}
    post.updated_at = now
    session.flush()
    return post


TicketState = Literal["open", "fixed", "all"]


def tickets(session: Session, member: Member, *, state: TicketState = "open", limit: int = 50,
            cursor: str | None = None, now: datetime | None = None
            ) -> Page[tuple[Post, Place]]:
    """The problem reports of the buildings ``member`` manages, newest first."""
    if not manages_any_building(session, member.id, now=now):
        raise NotAManager("problem reports are for building managers: you hold no verified "
                          "manager, syndic or landlord membership of a building")
    stmt = visible_to(manageable(
        select(Post, Place).join(Place, Place.id == Post.place_id)
        .where(Post.kind == "problem_report"),
        Post.place_id, member.id, now=now), member.id)
    if state != "all":
        stmt = stmt.where(Post.status == ("active" if state == "open" else "resolved"))
    return paginate(session, stmt, Post.id, limit=limit, cursor=cursor, descending=True)


# -- alarms -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StillHappening:
    count: int
    last_at: datetime | None


def still_happening(session: Session, alarm_ids: Sequence[int]) -> dict[int, StillHappening]:
    """How many residents pressed "still happening" on each alarm's alert post, and when
    last (one query for a whole board)."""
    if not alarm_ids:
        return {}
    rows = session.execute(
        select(Post.alarm_id, func.count(Reaction.id), func.max(Reaction.created_at))
        .join(Reaction, Reaction.post_id == Post.id)
        .where(Post.alarm_id.in_(list(alarm_ids)), Post.kind == "alert",
               Reaction.kind == "still_happening")
        .group_by(Post.alarm_id))
    found = {}
    for alarm_id, count, last in rows:
        if alarm_id is not None:
            found[alarm_id] = StillHappening(int(count), _utc(last))
    return found


def _utc(value: datetime | None) -> datetime | None:
    """``max()`` bypasses the column type on SQLite: put the zone back."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# -- vouches ------------------------------------------------------------------------------


def resident_buildings(session: Session, member_ids: set[int], *,
                       now: datetime | None = None) -> dict[int, set[str]]:
    """The buildings each member currently lives in (a verified resident membership)."""
    rows = session.execute(
        select(Membership.member_id, PlaceAncestor.ancestor_id)
        .join(PlaceAncestor, PlaceAncestor.place_id == Membership.place_id)
        .join(Place, Place.id == PlaceAncestor.ancestor_id)
        .where(Membership.member_id.in_(sorted(member_ids)),
               Membership.role.in_(sorted(RESIDENT_ROLES)), current_membership(now),
               Place.kind == "building"))
    found: dict[int, set[str]] = defaultdict(set)
    for member_id, building_id in rows:
        found[member_id].add(building_id)
    return found


def vouch_counts(session: Session, pairs: set[tuple[int, str]], *,
                 now: datetime | None = None) -> dict[tuple[int, str], int]:
    """For each ``(member, service)``: the verified neighbours who vouch for them now.

    A vouch counts while its author still lives in a building where the member lives:
    a neighbour who moved out no longer vouches as a neighbour.
    """
    if not pairs:
        return {}
    vouchees = {member_id for member_id, _service in pairs}
    rows = session.execute(select(Vouch.vouchee_id, Vouch.service, Vouch.voucher_id).where(
        Vouch.vouchee_id.in_(sorted(vouchees)),
        Vouch.service.in_(sorted({service for _member, service in pairs}))))
    vouches = [(vouchee, service, voucher) for vouchee, service, voucher in rows
               if (vouchee, service) in pairs]
    homes = resident_buildings(session, vouchees | {v for _m, _s, v in vouches}, now=now)
    counts: Counter[tuple[int, str]] = Counter()
    for vouchee, service, voucher in vouches:
        if homes.get(vouchee, set()) & homes.get(voucher, set()):
            counts[(vouchee, service)] += 1
    return {pair: counts[pair] for pair in pairs}


def _check_neighbours(session: Session, member: Member, other_id: int,
                      now: datetime | None) -> None:
    if other_id == member.id:
        raise NotAllowed(Decision(False, "vouch_self").message(member.language), "vouch_self")
    homes = resident_buildings(session, {member.id, other_id}, now=now)
    if not homes.get(member.id):
        raise NotAllowed(Decision(False, "vouch_residents_only").message(member.language),
                         "vouch_residents_only")
    if not homes[member.id] & homes.get(other_id, set()):
        raise MemberNotFound(other_id)


def vouch(session: Session, member: Member, vouchee_id: int, service: str, *,
          now: datetime | None = None) -> int:
    """``member`` vouches for a neighbour for ``service``; returns the neighbour's count.

    Only between verified residents of a shared building: someone who does not live
    with the member is "not found" to them. Vouching twice changes nothing.
    """
    now = now or utcnow()
    if service not in SERVICE_CATEGORIES:
        raise InvalidPostData([{"loc": ["body", "service"], "type": "literal_error",
                                "msg": f"expected one of {', '.join(SERVICE_CATEGORIES)}"}])
    _check_neighbours(session, member, vouchee_id, now)
    exists_already = session.scalar(select(Vouch.id).where(
        Vouch.voucher_id == member.id, Vouch.vouchee_id == vouchee_id, Vouch.service == service))
    if exists_already is None:
        _add_once(session, Vouch(voucher_id=member.id, vouchee_id=vouchee_id, service=service,
                                 created_at=now))
    return vouch_counts(session, {(vouchee_id, service)}, now=now)[(vouchee_id, service)]


def unvouch(session: Session, member: Member, vouchee_id: int, service: str, *,
            now: datetime | None = None) -> int:
    """Take a vouch back; returns the neighbour's count for the service."""
    vouch_row = session.scalar(select(Vouch).where(
        Vouch.voucher_id == member.id, Vouch.vouchee_id == vouchee_id, Vouch.service == service))
    if vouch_row is None:
        raise MemberNotFound(vouchee_id)
    session.delete(vouch_row)
    session.flush()
    return vouch_counts(session, {(vouchee_id, service)}, now=now)[(vouchee_id, service)]
