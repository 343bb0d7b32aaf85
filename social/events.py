"""The in-process event hub: what changed in the social database, the moment it commits.

Posts, comments, reactions and alarms are written by many hands — the API's routes in
their worker threads, the rules engine's ``AlarmStore`` in the processor's thread, the
escalation tick — and none of them should have to remember to announce what they did,
nor be able to announce something that then rolls back. So the hub listens to the
sessions of one :class:`~social.db.Database` instead (:func:`install_event_hub`):

* ``after_flush`` notes the keys of tracked rows that were added, changed or deleted;
* ``do_orm_execute`` notes the rows an ORM ``UPDATE``/``DELETE ... WHERE`` is about to
  touch, by reading their keys first (acknowledging an alarm is such an ``UPDATE``);
* ``before_commit`` reads those rows back once, inside the committing transaction, and
  turns them into :class:`Event` values;
* ``after_commit`` publishes them; when a root transaction ends without committing,
  what it noted is discarded.

``after_rollback`` is deliberately not the discard signal: it also fires when a
SAVEPOINT rolls back (``AlarmBook`` retries an insert that way), which would drop the
events of the rest of the transaction. Rows inserted inside a savepoint that rolled
back are simply not found when ``before_commit`` reads them back.

Not seen: Core statements (``connection.execute``, ``text()``) and ORM bulk ``INSERT``
statements; write tracked rows through the unit of work (``session.add``).

Every event carries an :class:`Audience` — a place (with its residents-only flag), the
managers of a building, or one member — and the stream checks it against each
member's rights (``social.stream``); the hub itself never decides who may see what.

The hub is one small interface (:class:`EventBus`: ``publish`` and ``subscribe``) so
that a later bridge can forward events between API replicas over MQTT: it subscribes,
sends the events whose ``origin`` is its own hub's ``node`` (:meth:`Event.to_json`),
and publishes what it receives from the others (:meth:`Event.from_json`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

import orjson
from sqlalchemy import Select, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker
from sqlalchemy.orm import attributes as orm_attributes

from social.community_models import (
    Block,
    Comment,
    HelpOffer,
    NotificationPref,
    PostRead,
    Reaction,
)
from social.db import Database
from social.models import Alarm, Member, Membership, Place, Post

log = logging.getLogger(__name__)

#: Events kept for ``Last-Event-ID`` resume; a client away for longer resynchronises.
DEFAULT_BUFFER = 2048
#: Events queued for one subscriber before it is told it missed some (a stalled client).
DEFAULT_QUEUE = 1000
#: An ORM UPDATE/DELETE touching more rows than this is not announced row by row.
_BULK_LIMIT = 5000

AudienceKind = Literal["place", "managers", "member"]


@dataclass(frozen=True, slots=True)
class Audience:
    """Who may receive an event, as the stream checks it against a member's rights.

    ``place``: readers of ``target`` under the visibility rule (and, when
    ``residents_only``, only those who read it through a resident's or moderator's membership);
    ``post_kind`` and ``post_author`` are those of the post the event is about, for the
    managers' reach into the shared parts of their buildings
    (``visibility.is_managed_post``); ``managers``: the managers of building
    ``target``; ``member``: member ``target``.
    """

    kind: AudienceKind
    target: str
    residents_only: bool = False
    post_kind: str | None = None
    post_author: int | None = None

    @classmethod
    def place(cls, place_id: str, *, residents_only: bool = False,
              post_kind: str | None = None, post_author: int | None = None) -> Audience:
        return cls("place", place_id, residents_only, post_kind, post_author)

    @classmethod
    def managers(cls, building_id: str) -> Audience:
        return cls("managers", building_id)

    @classmethod
    def member(cls, member_id: int) -> Audience:
        return cls("member", str(member_id))


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, with everything the stream needs to render it.

    ``data`` is JSON-compatible (texts in every language, times as ISO strings) so an
    event can cross a process boundary unchanged. ``origin`` is the ``node`` of the
    hub it was first published on.
    """

    type: str
    audience: Audience
    data: Mapping[str, Any]
    at: float
    origin: str = ""

    def to_json(self) -> bytes:
        return orjson.dumps({
            "type": self.type,
            "audience": {"kind": self.audience.kind, "target": self.audience.target,
                         "residents_only": self.audience.residents_only,
                         "post_kind": self.audience.post_kind,
                         "post_author": self.audience.post_author},
            "data": self.data, "at": self.at, "origin": self.origin,
        })

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        """The event :meth:`to_json` wrote; ValueError for anything else."""
        try:
            obj = orjson.loads(raw)
            audience = obj["audience"]
            kind = audience["kind"]
            if kind not in ("place", "managers", "member"):
                raise ValueError(f"unknown audience kind {kind!r}")
            return cls(
                type=str(obj["type"]),
                audience=Audience(kind, str(audience["target"]),
                                  bool(audience.get("residents_only", False)),
                                  _optional_str(audience.get("post_kind")),
                                  _optional_int(audience.get("post_author"))),
                data=dict(obj["data"]), at=float(obj["at"]), origin=str(obj.get("origin", "")),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not an event: {exc}") from exc


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"post_author must be an integer, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as one hub numbered it; ``id`` is what SSE clients send back to resume."""

    epoch: str
    seq: int
    event: Event

    @property
    def id(self) -> str:
        return f"{self.epoch}-{self.seq}"


@dataclass(frozen=True, slots=True)
class Gap:
    """Put in a subscription's queue when it overflowed: ``missed`` events were dropped."""

    missed: int


class EventBus(Protocol):
    """The two operations a bridge between replicas needs."""

    def publish(self, event: Event) -> Envelope | None:
        """Deliver ``event`` to every subscriber; safe to call from any thread."""
        ...

    def subscribe(self, *, maxsize: int = DEFAULT_QUEUE) -> Subscription:
        """A subscription delivering into the calling thread's running event loop."""
        ...


class Subscription:
    """One consumer's queue, fed from any thread into the loop it was created in.

    It never blocks the publisher and never grows past ``maxsize``: a consumer that
    falls behind gets a :class:`Gap` instead of the events it missed, and decides
    itself how to recover (the stream tells its client to resynchronise).
    """

    def __init__(self, hub: EventHub, loop: asyncio.AbstractEventLoop, maxsize: int) -> None:
        self._hub = hub
        self._loop = loop
        self._maxsize = maxsize
        self._queue: asyncio.Queue[Envelope | Gap | None] = asyncio.Queue()
        self._pending = 0  # envelopes in the queue, for the overflow check
        self.closed = False

    async def get(self) -> Envelope | Gap | None:
        """The next envelope, a :class:`Gap`, or None once the subscription is closed."""
        if self.closed and self._queue.empty():
            return None
        item = await self._queue.get()
        if isinstance(item, Envelope):
            self._pending -= 1
        return item

    def close(self) -> None:
        """Stop receiving; a pending :meth:`get` returns None. Call from the loop's thread."""
        if not self.closed:
            self.closed = True
            self._hub._forget(self)
            self._queue.put_nowait(None)

    def _offer(self, envelope: Envelope) -> bool:
        """Called by the hub under its lock, from any thread; False once the loop is gone."""
        try:
            self._loop.call_soon_threadsafe(self._put, envelope)
        except RuntimeError:  # the loop was closed without closing the subscription
            return False
        return True

    def _put(self, envelope: Envelope) -> None:
        if self.closed:
            return
        if self._pending >= self._maxsize:
            missed = self._pending + 1
            while not self._queue.empty():
                self._queue.get_nowait()
            self._pending = 0
            self._queue.put_nowait(Gap(missed))
            log.warning("a live-stream subscriber fell %d events behind; it must resync",
                        missed)
            return
        self._pending += 1
        self._queue.put_nowait(envelope)

    def _hub_closed(self) -> None:
        with contextlib.suppress(RuntimeError):  # its loop is gone: nothing left to wake
            self._loop.call_soon_threadsafe(self.close)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()


class EventHub:
    """Numbers events, keeps the last ``buffer`` of them, and fans them out.

    ``epoch`` changes with every hub (every process start), so an event id handed out
    before a restart is recognised as unknown rather than mistaken for a recent one.
    """

    def __init__(self, *, buffer: int = DEFAULT_BUFFER, node: str | None = None) -> None:
        self.epoch = secrets.token_hex(4)
        self.node = node or f"hub-{self.epoch}"
        self._lock = threading.Lock()
        self._seq = 0
        self._buffer: deque[Envelope] = deque(maxlen=buffer)
        self._subscribers: set[Subscription] = set()
        self.closed = False

    def publish(self, event: Event) -> Envelope | None:
        """Number ``event``, buffer it and hand it to every subscriber; None once closed.

        The number and the fan-out happen under one lock, so every subscriber sees
        events in the same order, whichever threads publish them.
        """
        with self._lock:
            if self.closed:
                return None
            self._seq += 1
            envelope = Envelope(self.epoch, self._seq, event)
            self._buffer.append(envelope)
            gone = [sub for sub in self._subscribers if not sub._offer(envelope)]
            self._subscribers.difference_update(gone)
        return envelope

    def subscribe(self, *, maxsize: int = DEFAULT_QUEUE) -> Subscription:
        """A subscription for the running loop; closed at once if the hub is closed."""
        subscription = Subscription(self, asyncio.get_running_loop(), maxsize)
        with self._lock:
            if not self.closed:
                self._subscribers.add(subscription)
                return subscription
        subscription.close()
        return subscription

    def since(self, last_event_id: str) -> list[Envelope] | None:
        """The buffered envelopes after ``last_event_id``, or None when they cannot be
        known: an id of another hub (a restart, another replica), a malformed one, or
        one so old that events after it already left the buffer."""
        epoch, _, seq_text = last_event_id.strip().rpartition("-")
        if epoch != self.epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        with self._lock:
            if seq > self._seq:
                return None
            if seq < self._seq and (not self._buffer or self._buffer[0].seq > seq + 1):
                return None
            return [envelope for envelope in self._buffer if envelope.seq > seq]

    @property
    def last_id(self) -> str:
        with self._lock:
            return f"{self.epoch}-{self._seq}"

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def close(self) -> None:
        """End every subscription (open streams finish, so a server can shut down)."""
        with self._lock:
            self.closed = True
            subscribers, self._subscribers = self._subscribers, set()
        for subscription in subscribers:
            subscription._hub_closed()

    def _forget(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)


# -- capturing changes from the database's sessions ----------------------------------------

_PENDING = "palier.events.pending"
_READY = "palier.events.ready"

#: Post columns whose change is worth telling readers about (``updated_at`` alone is not).
_POST_FIELDS = frozenset({"status", "content", "resolved_at", "moderation", "place_id",
                          "residents_only", "pinned_until", "expires_at", "kind"})
_COMMENT_FIELDS = frozenset({"body", "moderation"})
_MEMBER_FIELDS = frozenset({"quiet_start", "quiet_end", "language", "deleted_at"})


@dataclass
class _Noted:
    """The keys one transaction touched; read back into events at ``before_commit``."""

    posts_created: set[int] = field(default_factory=set)
    posts_changed: set[int] = field(default_factory=set)
    comments_created: set[int] = field(default_factory=set)
    comments_changed: set[int] = field(default_factory=set)
    reaction_posts: set[int] = field(default_factory=set)
    alarms_created: set[int] = field(default_factory=set)
    #: An alarm's state before this transaction changed it.
    alarm_states: dict[int, str] = field(default_factory=dict)
    #: An alarm's escalated steps before this transaction changed them (-1: unknown).
    alarm_steps: dict[int, int] = field(default_factory=dict)
    #: Posts whose "still happening" presses changed (the managers' board counts them).
    still_posts: set[int] = field(default_factory=set)
    readers: set[int] = field(default_factory=set)
    #: "I can help" offers made, accepted, declined or withdrawn (private to two members).
    offers: set[int] = field(default_factory=set)
    members_moved: set[int] = field(default_factory=set)
    #: Members whose preferences, quiet hours, language or blocks changed.
    members_prefs: set[int] = field(default_factory=set)

    def __bool__(self) -> bool:
        return any((self.posts_created, self.posts_changed, self.comments_created,
                    self.comments_changed, self.reaction_posts, self.alarms_created,
                    self.alarm_states, self.alarm_steps, self.readers, self.members_moved,
                    self.members_prefs, self.offers))


def _noted(session: Session) -> _Noted:
    noted: _Noted | None = session.info.get(_PENDING)
    if noted is None:
        noted = session.info[_PENDING] = _Noted()
    return noted


def _value(obj: object, name: str) -> Any:
    """An attribute as loaded, without triggering a load (the row may be gone)."""
    state = orm_attributes.instance_state(obj)
    if name in state.dict:
        return state.dict[name]
    return state.committed_state.get(name)


def _changed(obj: object, names: frozenset[str]) -> set[str]:
    state = orm_attributes.instance_state(obj)
    return {name for name in names
            if name in state.attrs and state.attrs[name].history.has_changes()}


def _note_object(noted: _Noted, obj: object, how: Literal["new", "dirty", "deleted"]) -> None:
    if isinstance(obj, Post):
        if how == "new":
            noted.posts_created.add(obj.id)
        elif how == "dirty" and _changed(obj, _POST_FIELDS):
            noted.posts_changed.add(obj.id)
    elif isinstance(obj, Comment):
        if how == "new":
            noted.comments_created.add(obj.id)
        elif how == "dirty" and _changed(obj, _COMMENT_FIELDS):
            noted.comments_changed.add(obj.id)
    elif isinstance(obj, Reaction):
        if (post_id := _value(obj, "post_id")) is not None:
            noted.reaction_posts.add(post_id)
            if _value(obj, "kind") == "still_happening":
                noted.still_posts.add(post_id)
    elif isinstance(obj, Alarm):
        if how == "new":
            noted.alarms_created.add(obj.id)
        elif how == "dirty":
            attrs = orm_attributes.instance_state(obj).attrs
            history = attrs["state"].history
            if history.added:  # an unloaded old state counts as "changed"
                noted.alarm_states.setdefault(
                    obj.id, history.deleted[0] if history.deleted else "")
            steps = attrs["escalated_steps"].history
            if steps.added:
                noted.alarm_steps.setdefault(obj.id, steps.deleted[0] if steps.deleted else -1)
    elif isinstance(obj, PostRead):
        if (member_id := _value(obj, "member_id")) is not None:
            noted.readers.add(member_id)
    elif isinstance(obj, HelpOffer):
        if how != "deleted" and (offer_id := _value(obj, "id")) is not None:
            noted.offers.add(offer_id)
    elif isinstance(obj, Membership):
        if (member_id := _value(obj, "member_id")) is not None:
            noted.members_moved.add(member_id)
    elif isinstance(obj, NotificationPref):
        if (member_id := _value(obj, "member_id")) is not None:
            noted.members_prefs.add(member_id)
    elif isinstance(obj, Block):
        if (member_id := _value(obj, "blocker_id")) is not None:
            noted.members_prefs.add(member_id)
    elif isinstance(obj, Member) and how == "dirty" and _changed(obj, _MEMBER_FIELDS):
        noted.members_prefs.add(obj.id)


_TRACKED: tuple[type, ...] = (Post, Comment, Reaction, Alarm, PostRead, Membership,
                              NotificationPref, Member, Block, HelpOffer)


def _bulk_keys(entity: type) -> Select[Any] | None:
    """What to read before an ORM UPDATE/DELETE of ``entity`` to know whom it concerns."""
    if entity is Post:
        return select(Post.id)
    if entity is Comment:
        return select(Comment.id)
    if entity is Alarm:
        return select(Alarm.id, Alarm.state, Alarm.escalated_steps)
    if entity is Reaction:
        return select(Reaction.post_id, Reaction.kind)
    if entity is PostRead:
        return select(PostRead.member_id)
    if entity is Membership:
        return select(Membership.member_id)
    if entity is NotificationPref:
        return select(NotificationPref.member_id)
    if entity is Member:
        return select(Member.id)
    if entity is Block:
        return select(Block.blocker_id)
    return None


class _Capture:
    """The session listeners of one hub; see the module docstring for the sequence."""

    def __init__(self, hub: EventHub) -> None:
        self.hub = hub

    def listen(self, sessions: sessionmaker[Session]) -> None:
        event.listen(sessions, "after_flush", self.after_flush)
        event.listen(sessions, "do_orm_execute", self.do_orm_execute)
        event.listen(sessions, "before_commit", self.before_commit)
        event.listen(sessions, "after_commit", self.after_commit)
        event.listen(sessions, "after_transaction_end", self.after_transaction_end)

    def after_flush(self, session: Session, _context: object) -> None:
        noted = _noted(session)
        for how, objects in (("new", session.new), ("dirty", session.dirty),
                             ("deleted", session.deleted)):
            for obj in objects:
                if isinstance(obj, _TRACKED):
                    _note_object(noted, obj, how)  # type: ignore[arg-type]

    def do_orm_execute(self, state: ORMExecuteState) -> None:
        if not (state.is_update or state.is_delete):
            return
        mapper = state.bind_mapper
        entity = mapper.class_ if mapper is not None else None
        keys = _bulk_keys(entity) if entity is not None else None
        if keys is None:
            return
        session = state.session
        parameters = state.parameters
        if isinstance(parameters, list):  # ORM bulk UPDATE by primary key
            ids = [p["id"] for p in parameters if isinstance(p, Mapping) and "id" in p]
            keys = keys.where(entity.id.in_(ids))  # type: ignore[union-attr]
        elif state.statement.whereclause is not None:  # type: ignore[attr-defined]
            keys = keys.where(state.statement.whereclause)  # type: ignore[attr-defined]
        rows = session.execute(keys.limit(_BULK_LIMIT + 1)).all()
        if len(rows) > _BULK_LIMIT:
            log.warning("an ORM %s of more than %d %s rows is not announced live",
                        "UPDATE" if state.is_update else "DELETE", _BULK_LIMIT,
                        entity.__name__)  # type: ignore[union-attr]
            return
        noted = _noted(session)
        for row in rows:
            if entity is Post:
                noted.posts_changed.add(row[0])
            elif entity is Comment:
                noted.comments_changed.add(row[0])
            elif entity is Alarm:
                noted.alarm_states.setdefault(row[0], row[1])
                noted.alarm_steps.setdefault(row[0], row[2])
            elif entity is Reaction:
                noted.reaction_posts.add(row[0])
                if row[1] == "still_happening":
                    noted.still_posts.add(row[0])
            elif entity is PostRead:
                noted.readers.add(row[0])
            elif entity is Membership:
                noted.members_moved.add(row[0])
            else:
                noted.members_prefs.add(row[0])

    def before_commit(self, session: Session) -> None:
        # Fires for SAVEPOINT releases too: only the root commit makes events.
        if session.in_nested_transaction():
            return
        session.flush()  # what the commit would flush next, so that it is noted too
        noted: _Noted | None = session.info.pop(_PENDING, None)
        if not noted:
            return
        try:
            with session.begin_nested():
                events = _events(session, noted, self.hub.node)
        except Exception:
            # Live updates are a convenience: never let them fail the writer's commit.
            log.exception("cannot build the live events of a commit; they are dropped")
            return
        session.info.setdefault(_READY, []).extend(events)

    def after_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return
        events: list[Event] = session.info.pop(_READY, [])
        if session.info.pop(_PENDING, None):
            log.warning("changes committed with a SAVEPOINT still open are not announced live")
        for evt in events:
            try:
                self.hub.publish(evt)
            except Exception:
                log.exception("cannot publish live event %s", evt.type)

    def after_transaction_end(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            session.info.pop(_PENDING, None)
            session.info.pop(_READY, None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _events(session: Session, noted: _Noted, origin: str) -> list[Event]:
    """Read back what ``noted`` names, in the committing transaction, as events.

    Columns, not entities, are selected: the caller's objects stay as they are.
    """
    now = time.time()
    events: list[Event] = []

    def emit(type_: str, audience: Audience, data: Mapping[str, Any]) -> None:
        events.append(Event(type_, audience, data, now, origin))

    # Members first, so a stream reloads someone's rights before what follows.
    for member_id in sorted(noted.members_moved):
        emit("membership.changed", Audience.member(member_id), {})
    for member_id in sorted(noted.members_prefs - noted.members_moved):
        emit("viewer.changed", Audience.member(member_id), {})

    events.extend(_alarm_events(session, noted, now, origin))

    comment_ids = noted.comments_created | noted.comments_changed
    comments = {row.id: row for row in session.execute(
        select(Comment.id, Comment.post_id, Comment.author_id, Comment.body,
               Comment.created_at, Comment.moderation)
        .where(Comment.id.in_(comment_ids))
    )} if comment_ids else {}
    post_ids = (noted.posts_created | noted.posts_changed | noted.reaction_posts
                | {row.post_id for row in comments.values()})
    posts = _posts(session, post_ids)
    critical = _critical_alarms(session, posts.values())

    for post_id in sorted(noted.posts_created):
        post = posts.get(post_id)
        if post is not None and post["moderation"] == "visible":
            emit("post.created", _post_audience(post),
                 {"post": _post_data(post, critical)})
    for post_id in sorted(noted.posts_changed - noted.posts_created):
        post = posts.get(post_id)
        if post is None:
            continue
        data = ({"post": _post_data(post, critical)} if post["moderation"] == "visible"
                else {"post": {"id": post["id"], "place": post["place"],
                               "moderation": post["moderation"]}})
        emit("post.updated", _post_audience(post), data)

    for comment_id in sorted(comment_ids):
        comment = comments.get(comment_id)
        post = posts.get(comment.post_id) if comment is not None else None
        if comment is None or post is None or post["moderation"] != "visible":
            continue
        visible = comment.moderation == "visible"
        data: dict[str, Any] = {"id": comment.id, "post_id": comment.post_id,
                                "moderation": comment.moderation}
        if visible:
            data |= {"author_id": comment.author_id, "body": comment.body,
                     "created_at": _iso(comment.created_at)}
        if comment_id in noted.comments_created:
            if visible:
                emit("comment.created", _post_audience(post), {"comment": data})
        else:
            emit("comment.updated", _post_audience(post), {"comment": data})

    if noted.reaction_posts:
        counts: dict[int, dict[str, int]] = {post_id: {} for post_id in noted.reaction_posts}
        for post_id, kind, count in session.execute(
            select(Reaction.post_id, Reaction.kind, func.count(Reaction.id))
            .where(Reaction.post_id.in_(noted.reaction_posts))
            .group_by(Reaction.post_id, Reaction.kind)
        ):
            counts[post_id][kind] = int(count)
        for post_id in sorted(noted.reaction_posts):
            post = posts.get(post_id)
            if post is not None and post["moderation"] == "visible":
                emit("reaction.changed", _post_audience(post),
                     {"post_id": post_id, "counts": counts[post_id]})

    for member_id in sorted(noted.readers):
        emit("post.read", Audience.member(member_id), {})

    # An offer of help is private to the requester and the helper: one event each.
    if noted.offers:
        for row in session.execute(
            select(HelpOffer.id, HelpOffer.post_id, HelpOffer.member_id, HelpOffer.status,
                   Post.author_id)
            .join(Post, Post.id == HelpOffer.post_id)
            .where(HelpOffer.id.in_(noted.offers)).order_by(HelpOffer.id)
        ):
            data = {"post_id": row.post_id, "offer_id": row.id, "status": row.status}
            for member_id in dict.fromkeys((row.author_id, row.member_id)):
                if member_id is not None:
                    emit("offer.changed", Audience.member(member_id), data)
    return events


def _posts(session: Session, post_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    ids = set(post_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Post.id, Post.place_id, Post.author_id, Post.kind, Post.content, Post.status,
               Post.created_at, Post.updated_at, Post.resolved_at, Post.alarm_id,
               Post.residents_only, Post.pinned_until, Post.expires_at, Post.moderation,
               Place.kind.label("place_kind"), Place.name.label("place_name"))
        .join(Place, Place.id == Post.place_id)
        .where(Post.id.in_(ids))
    )
    return {row.id: {
        "id": row.id, "place": {"id": row.place_id, "kind": row.place_kind,
                                "name": row.place_name},
        "author_id": row.author_id, "kind": row.kind, "content": row.content,
        "status": row.status, "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at), "resolved_at": _iso(row.resolved_at),
        "alarm_id": row.alarm_id, "residents_only": bool(row.residents_only),
        "pinned_until": _iso(row.pinned_until), "expires_at": _iso(row.expires_at),
        "moderation": row.moderation,
    } for row in rows}


def _critical_alarms(session: Session, posts: Iterable[Mapping[str, Any]]) -> set[int]:
    alarm_ids = {p["alarm_id"] for p in posts if p["alarm_id"] is not None}
    if not alarm_ids:
        return set()
    return set(session.scalars(
        select(Alarm.id).where(Alarm.id.in_(alarm_ids), Alarm.severity == "critical")
    ))


def _post_audience(post: Mapping[str, Any]) -> Audience:
    return Audience.place(post["place"]["id"], residents_only=post["residents_only"],
                          post_kind=post["kind"], post_author=post["author_id"])


def _post_data(post: Mapping[str, Any], critical: set[int]) -> dict[str, Any]:
    """A post as events carry it: a critical alert is flagged, since it overrides
    quiet hours and the member's "off" for alerts."""
    return {**post, "critical": post["kind"] == "alert" and post["alarm_id"] in critical}


def _alarm_events(session: Session, noted: _Noted, now: float, origin: str) -> list[Event]:
    """Alarm changes for the managers of their building: raised, acknowledged, escalated,
    cleared, and ``alarm.still_happening`` when residents press "still happening" on its
    alert post (the board shows how many did)."""
    pressed = set(session.scalars(
        select(Post.alarm_id).where(Post.id.in_(noted.still_posts), Post.kind == "alert",
                                    Post.alarm_id.is_not(None))
    )) if noted.still_posts else set()
    ids = noted.alarms_created | set(noted.alarm_states) | set(noted.alarm_steps) | pressed
    if not ids:
        return []
    rows = session.execute(
        select(Alarm.id, Alarm.rule_id, Alarm.device_id, Alarm.place_id, Alarm.building_id,
               Alarm.severity, Alarm.state, Alarm.title, Alarm.raised_at,
               Alarm.acknowledged_at, Alarm.acknowledged_by, Alarm.ack_note, Alarm.cleared_at,
               Alarm.escalated_steps,
               Place.kind.label("place_kind"), Place.name.label("place_name"))
        .join(Place, Place.id == Alarm.place_id)
        .where(Alarm.id.in_(ids))
        .order_by(Alarm.id)
    )
    from social.interactions import still_happening  # it imports the stream, which imports us

    found = [(row, _alarm_change(row, noted, pressed)) for row in rows]
    found = [(row, type_) for row, type_ in found
             if type_ is not None and row.building_id is not None]  # no building: nobody to tell
    still = still_happening(session, [row.id for row, _ in found]) if found else {}
    events = []
    for row, type_ in found:
        pressed_on = still.get(row.id)
        events.append(Event(type_, Audience.managers(row.building_id), {"alarm": {
            "id": row.id, "rule_id": row.rule_id, "device_id": row.device_id,
            "place": {"id": row.place_id, "kind": row.place_kind, "name": row.place_name},
            "building_id": row.building_id, "severity": row.severity, "state": row.state,
            "title": row.title, "raised_at": _iso(row.raised_at),
            "acknowledged_at": _iso(row.acknowledged_at),
            "acknowledged_by": row.acknowledged_by, "ack_note": row.ack_note,
            "cleared_at": _iso(row.cleared_at), "escalated_steps": row.escalated_steps,
            "still_happening": pressed_on.count if pressed_on else 0,
            "still_happening_last_at": _iso(pressed_on.last_at) if pressed_on else None,
        }}, now, origin))
    return events


def _alarm_change(row: Any, noted: _Noted, pressed: set[int]) -> str | None:
    """The event type for what this transaction did to the alarm, if worth telling."""
    if row.id in noted.alarms_created:
        return "alarm.raised"
    before = noted.alarm_states.get(row.id, row.state)
    if row.state != before and row.state in ("acknowledged", "cleared"):
        return f"alarm.{row.state}"
    if row.state == "active" and row.escalated_steps > noted.alarm_steps.get(
            row.id, row.escalated_steps):
        return "alarm.escalated"
    if row.id in pressed:
        return "alarm.still_happening"
    return None


# -- installing ----------------------------------------------------------------------------

_HUBS: weakref.WeakKeyDictionary[Database, EventHub] = weakref.WeakKeyDictionary()
_INSTALL_LOCK = threading.Lock()


def install_event_hub(database: Database, *, hub: EventHub | None = None) -> EventHub:
    """The hub that announces ``database``'s commits, created and attached on first call.

    Calling it again (``create_app`` and the gateway both do) returns the same hub, so
    the API and the processor thread share one hub per database.
    """
    with _INSTALL_LOCK:
        existing = _HUBS.get(database)
        if existing is not None:
            if hub is not None and hub is not existing:
                raise ValueError(f"{database!r} already has an event hub")
            return existing
        hub = hub or EventHub()
        # The sessionmaker every session of this Database comes from.
        _Capture(hub).listen(database._sessions)
        _HUBS[database] = hub
        return hub


def event_hub_of(database: Database) -> EventHub | None:
    """The hub installed on ``database``, if any."""
    with _INSTALL_LOCK:
        return _HUBS.get(database)
