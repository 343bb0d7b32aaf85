"""What neighbours do with posts, over HTTP: comments, reactions, reads and receipts, help
offers, RSVPs, votes, problem-report tickets and vouches.

Each route is one action of the rights matrix (``social.rights.ACTIONS``), carried out
by :mod:`social.interactions`; a post the caller may not read answers 404, an action
their role may not take answers 403 with the reason in their language, and a post
whose state forbids it (a full event, a second vote) answers 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from social.api.deps import CurrentMember, SessionDep
from social.api.routes.posts import one_post_public, posts_public
from social.api.schemas import ErrorPublic, MemberRefPublic, PostPublic, Public
from social.community_models import Comment, HelpOffer
from social.interactions import VOUCHED_SUMMARY as _VOUCHED
from social.interactions import (
    PollResults,
    ReactionKind,
    RsvpAnswer,
    RsvpSummary,
    TicketState,
    accept_offer,
    add_comment,
    link_alarm,
    list_comments,
    list_offers,
    mark_post_read,
    offer_help,
    poll_results,
    react,
    receipts,
    rsvp_summary,
    set_rsvp,
    tickets,
    unreact,
    unvouch,
    update_ticket,
    vote,
    vouch,
    withdraw_offer,
)
from social.paging import MAX_PAGE
from social.post_kinds import ServiceCategory, TicketStatus

router = APIRouter(prefix="/api", tags=["interactions"])

_READ = {401: {"model": ErrorPublic}, 404: {"model": ErrorPublic}}
_ACT = {**_READ, 403: {"model": ErrorPublic}, 409: {"model": ErrorPublic},
        422: {"model": ErrorPublic}}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- comments ---------------------------------------------------------------------------


class CommentCreate(Strict):
    body: str = Field(min_length=1, max_length=5_000)


class CommentPublic(Public):
    id: int
    post_id: int
    author: MemberRefPublic | None
    body: str
    created_at: datetime
    moderation: str


class CommentsPublic(Public):
    items: list[CommentPublic]
    next_cursor: str | None


def _comment(comment: Comment, name: str | None) -> CommentPublic:
    author = (MemberRefPublic(id=comment.author_id, display_name=name)
              if comment.author_id is not None and name is not None else None)
    return CommentPublic(id=comment.id, post_id=comment.post_id, author=author,
                         body=comment.body, created_at=comment.created_at,
                         moderation=comment.moderation)


@router.get("/posts/{post_id}/comments", responses={**_READ, 400: {"model": ErrorPublic}})
def read_comments(
    post_id: int, member: CurrentMember, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> CommentsPublic:
    """The post's comments, oldest first."""
    page = list_comments(session, member, post_id, limit=limit, cursor=cursor)
    return CommentsPublic(items=[_comment(c, name) for c, name in page.items],
                          next_cursor=page.next_cursor)


@router.post("/posts/{post_id}/comments", status_code=status.HTTP_201_CREATED,
             responses={**_ACT, 429: {"model": ErrorPublic}})
def create_comment(post_id: int, body: CommentCreate, member: CurrentMember,
                   session: SessionDep) -> CommentPublic:
    comment = add_comment(session, member, post_id, body.body)
    session.commit()
    return _comment(comment, member.display_name)


# -- reactions and reads ------------------------------------------------------------------


class ReactionRequest(Strict):
    kind: ReactionKind


class ReactionsPublic(Public):
    #: False when the caller had already reacted so (or had not, for a removal).
    changed: bool
    post: PostPublic


@router.post("/posts/{post_id}/reactions", responses=_ACT)
def add_reaction(post_id: int, body: ReactionRequest, member: CurrentMember,
                 session: SessionDep) -> ReactionsPublic:
    """``like`` and ``thanks`` on any post; ``still_happening`` on an open alert (residents;
    the managers see the count on the alarm); ``me_too`` on a problem report (residents,
    not its author)."""
    changed = react(session, member, post_id, body.kind)
    session.commit()
    return ReactionsPublic(changed=changed, post=one_post_public(session, member, post_id))


@router.delete("/posts/{post_id}/reactions/{kind}", responses=_ACT)
def remove_reaction(post_id: int, kind: ReactionKind, member: CurrentMember,
                    session: SessionDep) -> ReactionsPublic:
    changed = unreact(session, member, post_id, kind)
    session.commit()
    return ReactionsPublic(changed=changed, post=one_post_public(session, member, post_id))


class ReadPublic(Public):
    post_id: int
    #: False when the caller had read it before.
    newly_read: bool


@router.post("/posts/{post_id}/read", responses=_READ)
def read_receipt(post_id: int, member: CurrentMember, session: SessionDep) -> ReadPublic:
    """The caller read the post: unread counts drop, a notice's receipts count it."""
    newly = mark_post_read(session, member, post_id)
    session.commit()
    return ReadPublic(post_id=post_id, newly_read=newly)


class ReceiptsPublic(Public):
    post_id: int
    households: int
    read: int
    percent: int
    #: "Lu par 63 % des foyers (12 sur 19)", in the caller's language.
    summary: str


@router.get("/posts/{post_id}/receipts", responses=_ACT)
def read_receipts(post_id: int, member: CurrentMember, session: SessionDep) -> ReceiptsPublic:
    """For the building's managers: how many households of the notice's place read it."""
    found = receipts(session, member, post_id)
    return ReceiptsPublic(post_id=found.post_id, households=found.households, read=found.read,
                          percent=found.percent, summary=found.summary(member.language))


# -- help offers ----------------------------------------------------------------------------


class OfferCreate(Strict):
    message: str = Field(default="", max_length=2_000)


class OfferPublic(Public):
    id: int
    post_id: int
    helper: MemberRefPublic
    message: str
    status: str
    created_at: datetime


class OffersPublic(Public):
    #: True for the requester, who sees every offer; anyone else sees their own only.
    requester: bool
    items: list[OfferPublic]


def _offer(offer: HelpOffer, name: str) -> OfferPublic:
    return OfferPublic(id=offer.id, post_id=offer.post_id,
                       helper=MemberRefPublic(id=offer.member_id, display_name=name),
                       message=offer.message, status=offer.status, created_at=offer.created_at)


@router.get("/posts/{post_id}/offers", responses=_ACT)
def read_offers(post_id: int, member: CurrentMember, session: SessionDep) -> OffersPublic:
    requester, offers = list_offers(session, member, post_id)
    return OffersPublic(requester=requester, items=[_offer(o, name) for o, name in offers])


@router.post("/posts/{post_id}/offers", status_code=status.HTTP_201_CREATED, responses=_ACT)
def create_offer(post_id: int, body: OfferCreate, member: CurrentMember,
                 session: SessionDep) -> OfferPublic:
    """"I can help": only the requester and the helper ever see the offer."""
    offer = offer_help(session, member, post_id, body.message)
    session.commit()
    return _offer(offer, member.display_name)


@router.post("/posts/{post_id}/offers/{offer_id}/accept", responses=_ACT)
def accept(post_id: int, offer_id: int, member: CurrentMember,
           session: SessionDep) -> OffersPublic:
    """The requester accepts one offer; the others are declined, privately."""
    accept_offer(session, member, post_id, offer_id)
    session.commit()
    return read_offers(post_id, member, session)


@router.post("/posts/{post_id}/offers/{offer_id}/withdraw", responses=_ACT)
def withdraw(post_id: int, offer_id: int, member: CurrentMember,
             session: SessionDep) -> OfferPublic:
    offer = withdraw_offer(session, member, post_id, offer_id)
    session.commit()
    return _offer(offer, member.display_name)


# -- events and polls --------------------------------------------------------------------


class RsvpRequest(Strict):
    answer: RsvpAnswer


class RsvpPublic(Public):
    yes: int
    no: int
    maybe: int
    capacity: int | None
    remaining: int | None
    mine: str | None


def _rsvp(summary: RsvpSummary) -> RsvpPublic:
    return RsvpPublic(yes=summary.yes, no=summary.no, maybe=summary.maybe,
                      capacity=summary.capacity, remaining=summary.remaining,
                      mine=summary.mine)


@router.get("/posts/{post_id}/rsvp", responses=_ACT)
def read_rsvp(post_id: int, member: CurrentMember, session: SessionDep) -> RsvpPublic:
    return _rsvp(rsvp_summary(session, member, post_id))


@router.put("/posts/{post_id}/rsvp", responses=_ACT)
def answer_rsvp(post_id: int, body: RsvpRequest, member: CurrentMember,
                session: SessionDep) -> RsvpPublic:
    """Answer an event's invitation; 409 "full" for a yes beyond its capacity."""
    summary = set_rsvp(session, member, post_id, body.answer)
    session.commit()
    return _rsvp(summary)


class VoteRequest(Strict):
    option: int = Field(ge=0, description="the index of the chosen option")


class OptionPublic(Public):
    index: int
    text: str
    votes: int


class ResultsPublic(Public):
    options: list[OptionPublic]
    total: int
    mine: int | None
    closed: bool


def _results(results: PollResults) -> ResultsPublic:
    return ResultsPublic(
        options=[OptionPublic(index=i, text=text, votes=count)
                 for i, (text, count) in enumerate(results.options)],
        total=results.total, mine=results.mine, closed=results.closed)


@router.get("/posts/{post_id}/results", responses=_ACT)
def read_results(post_id: int, member: CurrentMember, session: SessionDep) -> ResultsPublic:
    return _results(poll_results(session, member, post_id))


@router.post("/posts/{post_id}/votes", status_code=status.HTTP_201_CREATED, responses=_ACT)
def cast_vote(post_id: int, body: VoteRequest, member: CurrentMember,
              session: SessionDep) -> ResultsPublic:
    """One vote per member, final (409 on a second one)."""
    results = vote(session, member, post_id, body.option)
    session.commit()
    return _results(results)


# -- problem reports ---------------------------------------------------------------------


class StatusRequest(Strict):
    status: TicketStatus
    note: str = Field(default="", max_length=2_000)


class LinkAlarmRequest(Strict):
    alarm_id: int


class TicketsPublic(Public):
    items: list[PostPublic]
    next_cursor: str | None


@router.post("/posts/{post_id}/status", responses=_ACT)
def set_status(post_id: int, body: StatusRequest, member: CurrentMember,
               session: SessionDep) -> PostPublic:
    """The building's managers move a problem report on: received → in progress → fixed."""
    update_ticket(session, member, post_id, body.status, body.note)
    session.commit()
    return one_post_public(session, member, post_id)


@router.post("/posts/{post_id}/link-alarm", responses=_ACT)
def link(post_id: int, body: LinkAlarmRequest, member: CurrentMember,
         session: SessionDep) -> PostPublic:
    """Tie a problem report to a sensor alarm of the same building."""
    link_alarm(session, member, post_id, body.alarm_id)
    session.commit()
    return one_post_public(session, member, post_id)


@router.get("/tickets", responses={401: {"model": ErrorPublic}, 403: {"model": ErrorPublic}})
def read_tickets(
    member: CurrentMember, session: SessionDep,
    state: Annotated[TicketState, Query(description="open = not fixed yet")] = "open",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query()] = None,
) -> TicketsPublic:
    """The problem reports of the buildings the caller manages, newest first."""
    page = tickets(session, member, state=state, limit=limit, cursor=cursor)
    return TicketsPublic(items=posts_public(session, member, page.items),
                         next_cursor=page.next_cursor)


# -- vouches --------------------------------------------------------------------------------


class VouchRequest(Strict):
    service: ServiceCategory


class VouchPublic(Public):
    member_id: int
    service: str
    #: Verified neighbours vouching for this member for this service now.
    vouched_by: int
    summary: str


@router.post("/members/{member_id}/vouch", responses=_ACT)
def vouch_for(member_id: int, body: VouchRequest, member: CurrentMember,
              session: SessionDep) -> VouchPublic:
    """Vouch for a neighbour (a verified resident of a building the caller lives in)."""
    count = vouch(session, member, member_id, body.service)
    session.commit()
    return VouchPublic(member_id=member_id, service=body.service, vouched_by=count,
                       summary=(_VOUCHED.get(member.language) or _VOUCHED["en"])
                       .format(count=count))


@router.delete("/members/{member_id}/vouch/{service}", responses=_ACT)
def take_vouch_back(member_id: int, service: ServiceCategory, member: CurrentMember,
                    session: SessionDep) -> VouchPublic:
    count = unvouch(session, member, member_id, service)
    session.commit()
    return VouchPublic(member_id=member_id, service=service, vouched_by=count,
                       summary=(_VOUCHED.get(member.language) or _VOUCHED["en"])
                       .format(count=count))
