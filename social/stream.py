"""What one member receives live, and the count of what they have not read yet.

The hub (``social.events``) announces every change to everyone; this module decides,
member by member, what may be delivered. It does so with the one visibility rule
(``social.visibility``) evaluated once when the stream opens — the member's visible
places, the places they read through a non-manager membership (residents-only
posts), the buildings they manage (alarms) — and again every minute or as soon as
their own memberships change, rather than with a query per event: a leak alert
reaching two hundred open streams costs two hundred set look-ups, not two hundred
queries.

Unread counts use the same rule in SQL (:func:`readable`), counted per circle — the
kind of place a post is scoped to — from the posts published since the member
joined that circle and not in ``post_reads``.

The wire format is Server-Sent Events: ``id``/``event``/``data`` blocks, comment
lines as heartbeats (proxies close idle connections; clients notice dead ones).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

import orjson
from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from social.accounts import member_for_token
from social.community_models import PostRead
from social.db import Database
from social.events import DEFAULT_QUEUE, Envelope, Event, EventHub, Gap
from social.models import Member, Membership, Place, Post, utcnow
from social.moderation import blocked_by, visible_to
from social.posts import localize, localize_content
from social.preferences import load_modes, wants_instant
from social.visibility import (
    RESIDENTS_ONLY_READERS,
    is_managed_post,
    manageable_building_ids,
    managed_part_ids,
    managed_post,
    visible,
    visible_place_ids,
)

log = logging.getLogger(__name__)

Ts = TypeVarTuple("Ts")

#: Circles from the nearest to the widest, as unread counts and digests list them.
CIRCLES = ("unit", "floor", "entrance", "building", "neighbourhood", "city")

#: Event types a client may receive; the hub's others (``post.read``,
#: ``membership.changed``, ``viewer.changed``) only steer the stream itself.
CLIENT_EVENTS = frozenset({
    "post.created", "post.updated", "comment.created", "comment.updated",
    "reaction.changed", "alarm.raised", "alarm.acknowledged", "alarm.escalated",
    "alarm.still_happening", "alarm.cleared", "offer.changed",
    "unread.changed", "stream.resync", "stream.closed",
})

#: Posts marked read per request, at most.
MAX_READS = 500


# -- the rule, as SQL -------------------------------------------------------------------------


def resident_place_ids(member_id: int, *, now: datetime | None = None) -> Select[str]:
    """The places the member reads through a resident's or a moderator's membership: where
    a residents-only post is theirs to read (the narrowing ``visibility.visible`` applies
    to such posts, as a set the stream can hold)."""
    return visible_place_ids(member_id, now=now).where(
        Membership.role.in_(RESIDENTS_ONLY_READERS))


def readable(
    stmt: Select[*Ts],
    member_id: int,
    *,
    now: datetime | None = None,
    since_joining: bool = False,
) -> Select[*Ts]:
    """``stmt`` (over ``posts``) narrowed to the posts ``member_id`` may read.

    The visibility rule (residents-only posts included) and what moderation removes
    (hidden posts, authors the member blocked). With ``since_joining``, a post counts
    only if a membership that shows it had started when it was published: moving in
    does not make years of a building's history "unread".
    """
    stmt = visible_to(visible(stmt, Post.place_id, member_id, now=now), member_id)
    if since_joining:
        joined = Membership.started_at <= Post.created_at
        stmt = stmt.where(or_(
            Post.place_id.in_(visible_place_ids(member_id, now=now).where(joined)
                              .correlate(Post)),
            and_(managed_post(Post.kind, Post.author_id, member_id),
                 Post.place_id.in_(managed_part_ids(member_id, now=now).where(joined)
                                   .correlate(Post))),
        ))
    return stmt


def unread_filter(stmt: Select[*Ts], member_id: int) -> Select[*Ts]:
    """``stmt`` without the member's own posts and the posts they have read."""
    return stmt.where(
        or_(Post.author_id.is_(None), Post.author_id != member_id),
        ~exists(select(PostRead.id).where(PostRead.post_id == Post.id,
                                          PostRead.member_id == member_id)),
    )


@dataclass(frozen=True, slots=True)
class UnreadCounts:
    """Unread posts per circle (every circle present, zero included) and in total."""

    circles: Mapping[str, int]
    total: int

    def as_dict(self) -> dict[str, Any]:
        return {"circles": dict(self.circles), "total": self.total}


def unread_counts(
    session: Session, member_id: int, *, now: datetime | None = None
) -> UnreadCounts:
    now = now or utcnow()
    stmt = unread_filter(readable(
        select(Place.kind, func.count(Post.id))
        .select_from(Post).join(Place, Place.id == Post.place_id),
        member_id, now=now, since_joining=True,
    ), member_id).group_by(Place.kind)
    circles = dict.fromkeys(CIRCLES, 0)
    for kind, count in session.execute(stmt):
        circles[kind] = circles.get(kind, 0) + int(count)
    return UnreadCounts(circles, sum(circles.values()))


def mark_read(
    session: Session, member_id: int, post_ids: Iterable[int], *, now: datetime | None = None
) -> int:
    """Record that the member read these posts; returns how many were newly marked.

    Posts the member may not read are ignored without a word (an error would tell
    them the id exists). Marking again changes nothing; a concurrent request marking
    the same post is absorbed by the UNIQUE constraint. The caller commits.
    """
    now = now or utcnow()
    wanted = sorted(set(post_ids))[:MAX_READS]
    if not wanted:
        return 0
    mine = set(session.scalars(readable(
        select(Post.id).where(Post.id.in_(wanted)), member_id, now=now
    )))
    mine -= set(session.scalars(select(PostRead.post_id).where(
        PostRead.member_id == member_id, PostRead.post_id.in_(mine)
    )))
    marked = 0
    for post_id in sorted(mine):
        try:
            with session.begin_nested():
                session.add(PostRead(post_id=post_id, member_id=member_id, read_at=now))
            marked += 1
        except IntegrityError:
            log.debug("post %d already marked read by member %d", post_id, member_id)
    return marked


# -- one member's view of the events -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Viewer:
    """What one member may receive, as sets computed by the visibility rule."""

    member_id: int
    language: str
    #: Places whose posts the member reads (their memberships' places and ancestors).
    places: frozenset[str]
    #: Those read through a non-manager membership: residents-only posts are for these.
    resident_places: frozenset[str]
    #: Buildings the member manages: their alarms.
    buildings: frozenset[str]
    #: The shared parts of those buildings: their notices and the rules engine's posts.
    managed_parts: frozenset[str]
    #: Members this one blocked: their posts and comments are not delivered.
    blocked: frozenset[int]
    modes: Mapping[str, str]
    quiet: tuple[str, str]

    def sees(self, event: Event) -> bool:
        audience = event.audience
        if audience.kind == "member":
            return audience.target == str(self.member_id)
        if audience.kind == "managers":
            return audience.target in self.buildings
        if audience.target in self.places:
            if audience.residents_only and audience.target not in self.resident_places:
                return False
        elif (audience.residents_only or audience.target not in self.managed_parts
              or not is_managed_post(audience.post_kind, audience.post_author,
                                     self.member_id)):
            return False
        # A blocked author's post is gone for the member, and its comments with it.
        return (_author(event) not in self.blocked
                and audience.post_author not in self.blocked)

    def render(self, event: Event, at: datetime) -> dict[str, Any]:
        """The event's data in the member's language; ``notify`` on a new post says
        whether it should interrupt them (their preferences and quiet hours)."""
        data = event.data
        if "post" in data and "content" in data["post"]:
            post = dict(data["post"])
            title, body = localize_content(post.pop("content"), self.language)
            post |= {"title": title, "body": body}
            rendered: dict[str, Any] = {"post": post}
            if event.type == "post.created":
                rendered["notify"] = post.get("author_id") != self.member_id and wants_instant(
                    self.modes, self.quiet, str(post["kind"]),
                    critical=bool(post.get("critical")), at=at)
            return rendered
        if "alarm" in data:
            alarm = dict(data["alarm"])
            alarm["title"] = str(localize(alarm.get("title") or {}, self.language) or "")
            return {"alarm": alarm}
        return dict(data)


def load_viewer(session: Session, member_id: int, *, now: datetime | None = None) -> Viewer | None:
    """The member's view now; None if the member is gone or deleted their account."""
    now = now or utcnow()
    member = session.get(Member, member_id, populate_existing=True)
    if member is None or member.deleted_at is not None:
        return None
    return Viewer(
        member_id=member.id,
        language=member.language,
        places=frozenset(session.scalars(visible_place_ids(member_id, now=now))),
        resident_places=frozenset(session.scalars(resident_place_ids(member_id, now=now))),
        buildings=frozenset(session.scalars(manageable_building_ids(member_id, now=now))),
        managed_parts=frozenset(session.scalars(managed_part_ids(member_id, now=now))),
        blocked=frozenset(session.scalars(blocked_by(member_id))),
        modes=load_modes(session, member_id),
        quiet=(member.quiet_start, member.quiet_end),
    )


def viewer_for_token(database: Database, token: str) -> Viewer | None:
    """The viewer a still-valid token belongs to, or None. Blocking: run it in a thread."""
    with database.session() as session:
        member = member_for_token(session, token)
        return load_viewer(session, member.id) if member is not None else None


def unread_for(database: Database, member_id: int) -> UnreadCounts:
    with database.session() as session:
        return unread_counts(session, member_id)


# -- Server-Sent Events ------------------------------------------------------------------------


def sse_event(type_: str, data: Mapping[str, Any], id_: str | None = None) -> bytes:
    """One SSE block. JSON has no raw newline, so ``data`` fits one ``data:`` line."""
    head = f"id: {id_}\n" if id_ is not None else ""
    return (f"{head}event: {type_}\ndata: ").encode() + orjson.dumps(data) + b"\n\n"


def sse_comment(text: str) -> bytes:
    return f": {text}\n\n".encode()


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """Timings of a live stream; tests shorten them through ``app.state.stream_settings``."""

    #: A comment line after this many idle seconds keeps proxies and clients assured.
    heartbeat: float = 15.0
    #: Rights, preferences and the token are checked again this often.
    refresh: float = 60.0
    #: Unread counts are recomputed at most this often while posts keep coming.
    unread_delay: float = 1.0
    queue: int = DEFAULT_QUEUE
    #: What EventSource waits before reconnecting.
    retry_ms: int = 3000


async def member_stream(
    hub: EventHub,
    database: Database,
    token: str,
    viewer: Viewer,
    *,
    last_event_id: str | None = None,
    settings: StreamSettings | None = None,
) -> AsyncIterator[bytes]:
    """The SSE bytes for one member, until the client leaves, the token stops being
    valid or the hub closes.

    The subscription is taken before the backlog is read, and envelopes the backlog
    already delivered are skipped: nothing falls between resuming and going live.
    Database work runs in worker threads; the gateway's event loop also runs its
    MQTT intake.
    """
    settings = settings or StreamSettings()
    subscription = hub.subscribe(maxsize=settings.queue)
    try:
        yield f"retry: {settings.retry_ms}\n".encode() + sse_comment("connected")
        skip_upto = 0
        if last_event_id:
            backlog = hub.since(last_event_id)
            if backlog is None:
                yield sse_event("stream.resync", {"reason": "unknown_last_event_id"})
            else:
                skip_upto = backlog[-1].seq if backlog else int(last_event_id.rpartition("-")[2])
                for envelope in backlog:
                    if _forwarded(envelope.event) and viewer.sees(envelope.event):
                        yield _frame(viewer, envelope)
        yield sse_event("unread.changed",
                        (await asyncio.to_thread(unread_for, database, viewer.member_id))
                        .as_dict())

        clock = time.monotonic
        last_write = clock()
        next_refresh = last_write + settings.refresh
        unread_due: float | None = None
        while True:
            deadline = min(last_write + settings.heartbeat, next_refresh,
                           unread_due if unread_due is not None else next_refresh)
            item: Envelope | Gap | bool | None = False
            try:
                async with asyncio.timeout(max(0.0, deadline - clock())):
                    item = await subscription.get()
            except TimeoutError:
                pass
            if item is None:
                yield sse_event("stream.closed", {"reason": "server_shutdown"})
                return
            if isinstance(item, Gap):
                yield sse_event("stream.resync", {"reason": "too_slow", "missed": item.missed})
                last_write = clock()
            elif isinstance(item, Envelope) and item.seq > skip_upto:
                evt = item.event
                if evt.audience.kind == "member" and viewer.sees(evt):
                    if evt.type in ("membership.changed", "viewer.changed"):
                        next_refresh = clock()  # reload now
                    if evt.type in ("membership.changed", "post.read"):
                        unread_due = clock()
                    if _forwarded(evt):  # private to the member: an offer of help
                        yield _frame(viewer, item)
                        last_write = clock()
                elif _forwarded(evt) and viewer.sees(evt):
                    yield _frame(viewer, item)
                    last_write = clock()
                    if evt.type == "post.created" and unread_due is None:
                        unread_due = clock() + settings.unread_delay
            now = clock()
            if now >= next_refresh:
                next_refresh = now + settings.refresh
                try:
                    fresh = await asyncio.to_thread(viewer_for_token, database, token)
                except SQLAlchemyError as exc:
                    log.warning("live stream of member %d: cannot refresh rights (%s); "
                                "keeping the previous ones", viewer.member_id, exc)
                else:
                    if fresh is None or fresh.member_id != viewer.member_id:
                        yield sse_event("stream.closed", {"reason": "token_expired"})
                        return
                    viewer = fresh
            if unread_due is not None and now >= unread_due:
                unread_due = None
                try:
                    counts = await asyncio.to_thread(unread_for, database, viewer.member_id)
                except SQLAlchemyError as exc:
                    log.warning("live stream of member %d: cannot count unread posts (%s)",
                                viewer.member_id, exc)
                else:
                    yield sse_event("unread.changed", counts.as_dict())
                    last_write = clock()
            if clock() - last_write >= settings.heartbeat:
                yield sse_comment("ping")
                last_write = clock()
    finally:
        subscription.close()


def _author(event: Event) -> int | None:
    for key in ("post", "comment"):
        item = event.data.get(key)
        if isinstance(item, Mapping) and isinstance(item.get("author_id"), int):
            return int(item["author_id"])
    return None


def _forwarded(event: Event) -> bool:
    return event.type in CLIENT_EVENTS


def _frame(viewer: Viewer, envelope: Envelope) -> bytes:
    return sse_event(envelope.event.type, viewer.render(envelope.event, utcnow()), envelope.id)
