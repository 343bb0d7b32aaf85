"""Moderation that residents can trust: reports, moderators per scope, a public log with
pseudonymous moderators, appeals, blocking and posting rate limits.

Who moderates what (the *moderation scope*, a rule of its own beside the visibility
rule of :mod:`social.visibility`, which still decides what anyone may *read*):

* a member with a current, verified ``moderator`` membership at place P moderates the
  posts and comments scoped to P and every place below it;
* a member with a current, verified ``admin`` membership (anywhere) moderates everything;
* the managers of a building (manager, syndic, landlord) moderate its space — the
  building and every place below it — **except residents-only posts** and the comments
  on them: that space is hidden from them, so they must not be its judges either.

Content outside the caller's scope answers "not found", exactly like content that
does not exist: probing ids tells nobody what is said elsewhere.

Every hide and restore, and every appeal decision, goes to the public moderation log,
readable per the visibility rule, where the moderator appears only as a stable
pseudonym (``Modérateur·rice 7F3A9C``): an HMAC of their member id keyed by a server
secret, so residents can tell "the same moderator again" without learning who it is,
and nobody can recompute it from a member id without the secret.

Nothing here commits: the caller (a route) commits once the whole change is made.

Errors::

    SocialError
    └── ModerationError
        ├── NotAModerator        the caller moderates nothing at all (HTTP 403)
        ├── TargetNotFound       no such post, comment, member, report or appeal among
        │                        those the caller may see or moderate (HTTP 404)
        ├── ModerationForbidden  a rule forbids it: own content, deciding an appeal on
        │                        one's own decision, commenting a blocker's post (403)
        ├── ModerationConflict   the object's state forbids it: already hidden, already
        │                        appealed, appeal already decided (HTTP 409)
        └── RateLimited          too many posts or comments in the last hour (HTTP 429)
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeVarTuple

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    MetaData,
    Select,
    SQLColumnExpression,
    String,
    Table,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from social.community_models import (
    REPORT_CATEGORIES,
    Appeal,
    Block,
    Comment,
    ModerationEntry,
    Report,
)
from social.errors import PlaceNotVisible, SocialError
from social.models import Member, Membership, Place, PlaceAncestor, Post, utcnow
from social.paging import DEFAULT_PAGE, Page, paginate
from social.visibility import (
    can_see_place,
    current_membership,
    manageable_building_ids,
    visible,
    visible_member_ids,
)

Ts = TypeVarTuple("Ts")

MODERATOR_ROLE = "moderator"
ADMIN_ROLE = "admin"

#: At most this many posts per member in any sliding hour: enough for a busy neighbour,
#: too few for a spammer or a runaway script to flood a building's feed.
POSTS_PER_HOUR = 10
#: Comments are shorter and come in conversations, hence the higher limit.
COMMENTS_PER_HOUR = 60
RATE_WINDOW = timedelta(hours=1)

#: The environment variable holding the secret that keys moderator pseudonyms. Without
#: it, a random secret is created once per database (table ``server_secrets``), so
#: pseudonyms stay stable across restarts and API replicas sharing that database.
SECRET_ENV = "PALIER_SECRET"
PSEUDONYM_PREFIX = "Modérateur·rice"
#: Six hex digits: two moderators of one site sharing a pseudonym is then very unlikely
#: (about 1 in 1,000 for 200 moderators), where four would make it a real risk.
PSEUDONYM_DIGITS = 6

LogAction = Literal["hide", "restore", "appeal_upheld", "appeal_rejected"]


#: Kept out of the ORM metadata on purpose: it is infrastructure, read with Core only,
#: and created by migration 0005 (``social.search.include_name`` hides it from the
#: model/migration comparison).
SECRETS_TABLE = "server_secrets"
_secrets = Table(
    SECRETS_TABLE,
    MetaData(),
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
_PSEUDONYM_SECRET = "moderator_pseudonym"

#: Keys of the PostgreSQL advisory locks that make a rate check and the insert it
#: allows atomic per member (SQLite's BEGIN IMMEDIATE already serialises writers).
_POST_RATE_LOCK = 0x706F7374  # "post"
_COMMENT_RATE_LOCK = 0x636F6D6D  # "comm"


# -- errors ------------------------------------------------------------------------------

class ModerationError(SocialError):
    """Root of the moderation errors."""


class NotAModerator(ModerationError):
    def __init__(self) -> None:
        super().__init__(
            "moderation is for moderators, admins and building managers: you hold no "
            "current verified moderator, admin, manager, syndic or landlord membership"
        )


class TargetNotFound(ModerationError):
    def __init__(self, kind: str, target_id: int, among: str) -> None:
        super().__init__(f"no {kind} {target_id} among {among}")
        self.kind = kind
        self.target_id = target_id


class ModerationForbidden(ModerationError):
    """A moderation rule forbids the action; the message says which."""


class ModerationConflict(ModerationError):
    """The object's state forbids the action; the message says why."""


class RateLimited(ModerationError):
    """Too many posts or comments; ``retry_after`` is in whole seconds (at least 1).

    The message is made of numbers, units and the name of the HTTP header, so that it
    reads the same to a French and to an English neighbour.
    """

    def __init__(self, what: str, limit: int, retry_after: int) -> None:
        super().__init__(f"rate limit: {limit} {what} / 1 h — Retry-After: {retry_after} s")
        self.what = what
        self.limit = limit
        self.retry_after = retry_after


# -- pseudonyms --------------------------------------------------------------------------

def pseudonym_secret(session: Session) -> bytes:
    """The key of moderator pseudonyms: ``$PALIER_SECRET``, else the database's own.

    The database secret is created by whoever needs it first; concurrent creators
    race on the primary key and all read back the one that won.
    """
    from_env = os.environ.get(SECRET_ENV, "")
    if from_env:
        return from_env.encode()
    stored = session.scalar(select(_secrets.c.value).where(_secrets.c.name == _PSEUDONYM_SECRET))
    if stored is None:
        values = {"name": _PSEUDONYM_SECRET, "value": secrets.token_hex(32),
                  "created_at": utcnow()}
        if session.get_bind().dialect.name == "postgresql":
            session.execute(postgresql.insert(_secrets).values(values).on_conflict_do_nothing())
        else:
            session.execute(sqlite.insert(_secrets).values(values).on_conflict_do_nothing())
        stored = session.scalar(
            select(_secrets.c.value).where(_secrets.c.name == _PSEUDONYM_SECRET))
    assert stored is not None  # inserted just above, or by a concurrent creator
    return str(stored).encode()


def pseudonym_for(secret: bytes, member_id: int) -> str:
    """The public name of a moderator: stable for one secret, never their name."""
    digest = hmac.new(secret, f"moderator:{member_id}".encode(), hashlib.sha256).hexdigest()
    return f"{PSEUDONYM_PREFIX} {digest[:PSEUDONYM_DIGITS].upper()}"


def pseudonym(session: Session, member_id: int) -> str:
    return pseudonym_for(pseudonym_secret(session), member_id)


# -- scope -------------------------------------------------------------------------------

def _has_role(session: Session, member_id: int, roles: Iterable[str],
              now: datetime | None) -> bool:
    return bool(session.scalar(select(exists(
        select(Membership.id).where(Membership.member_id == member_id,
                                    Membership.role.in_(list(roles)),
                                    current_membership(now))
    ))))


def is_admin(session: Session, member_id: int, *, now: datetime | None = None) -> bool:
    return _has_role(session, member_id, [ADMIN_ROLE], now)


def moderator_place_ids(member_id: int, *, now: datetime | None = None) -> Select[str]:
    """The places at or below one of the member's current ``moderator`` memberships."""
    return (
        select(PlaceAncestor.place_id)
        .join(Membership, Membership.place_id == PlaceAncestor.ancestor_id)
        .where(Membership.member_id == member_id, Membership.role == MODERATOR_ROLE,
               current_membership(now))
        # Used inside queries that read memberships themselves: stay self-contained.
        .correlate(None)
    )


def managed_place_ids(member_id: int, *, now: datetime | None = None) -> Select[str]:
    """The places of the buildings the member manages, the buildings included."""
    return select(PlaceAncestor.place_id).where(PlaceAncestor.ancestor_id.in_(
        manageable_building_ids(member_id, now=now).correlate(None))).correlate(None)


def is_moderator(session: Session, member_id: int, *, now: datetime | None = None) -> bool:
    """Whether the member moderates anything at all (moderator, admin or manager)."""
    if _has_role(session, member_id, [MODERATOR_ROLE, ADMIN_ROLE], now):
        return True
    return bool(session.scalar(select(exists(manageable_building_ids(member_id, now=now)))))


@dataclass(frozen=True, slots=True)
class Scope:
    """What one member moderates, as SQL conditions on a post (or its alias)."""

    member_id: int
    admin: bool
    now: datetime | None

    def posts(self, post: type[Post] | Post = Post) -> ColumnElement[bool]:
        """True for a post (and so its comments) this member moderates."""
        if self.admin:
            return true()
        return or_(
            post.place_id.in_(moderator_place_ids(self.member_id, now=self.now)),
            and_(post.residents_only.is_(False),
                 post.place_id.in_(managed_place_ids(self.member_id, now=self.now))),
        )

    def members(self, member_id: SQLColumnExpression[int | None]) -> ColumnElement[bool]:
        """True for a member one of whose current memberships lies in this scope."""
        if self.admin:
            return true()
        places = moderator_place_ids(self.member_id, now=self.now).union(
            managed_place_ids(self.member_id, now=self.now))
        return exists(select(Membership.id).where(
            Membership.member_id == member_id, current_membership(self.now),
            Membership.place_id.in_(places)))


def moderation_scope(session: Session, member_id: int, *,
                     now: datetime | None = None) -> Scope:
    """The caller's scope; raises :class:`NotAModerator` when they moderate nothing."""
    if not is_moderator(session, member_id, now=now):
        raise NotAModerator()
    return Scope(member_id, is_admin(session, member_id, now=now), now)


# -- blocks and what a member sees -------------------------------------------------------

def blocked_by(member_id: int) -> Select[int]:
    """The ids of the members ``member_id`` has blocked."""
    return select(Block.blocked_id).where(Block.blocker_id == member_id)


def not_blocked(author: SQLColumnExpression[int | None], member_id: int) -> ColumnElement[bool]:
    """True unless ``author`` is someone ``member_id`` blocked (rules-engine posts pass)."""
    return ~exists(select(Block.id).where(Block.blocker_id == member_id,
                                          Block.blocked_id == author))


def visible_to(stmt: Select[*Ts], member_id: int, *,
               post: type[Post] | Post = Post) -> Select[*Ts]:
    """``stmt`` (already narrowed by the visibility rule) without what moderation removes.

    A hidden post stays visible to its author only (who sees it marked hidden, with the
    reason: :func:`hidden_reasons`); posts by members the reader blocked disappear.
    Call it wherever posts are listed or read: feed, post detail, stream, digest.
    """
    return stmt.where(
        or_(post.moderation == "visible", post.author_id == member_id),
        not_blocked(post.author_id, member_id),
    )


def visible_comments(stmt: Select[*Ts], member_id: int, *,
                     comment: type[Comment] | Comment = Comment) -> Select[*Ts]:
    """The comment counterpart of :func:`visible_to`, for a post's comments.

    The post itself must already be one the reader may see.
    """
    return stmt.where(
        or_(comment.moderation == "visible", comment.author_id == member_id),
        not_blocked(comment.author_id, member_id),
    )


def check_may_comment(session: Session, post: Post, member_id: int) -> None:
    """Raise :class:`ModerationForbidden` when the post's author blocked ``member_id``.

    The message does not say "blocked": blocking is private.
    """
    if post.author_id is None or post.author_id == member_id:
        return
    blocked = session.scalar(select(exists(select(Block.id).where(
        Block.blocker_id == post.author_id, Block.blocked_id == member_id))))
    if blocked:
        raise ModerationForbidden(f"you cannot comment on post {post.id}")


def block_member(session: Session, blocker_id: int, blocked_id: int, *,
                 now: datetime | None = None) -> bool:
    """Block a member the blocker can see; True when the block is new. Idempotent."""
    if blocker_id == blocked_id:
        raise ModerationConflict("you cannot block yourself")
    if not member_is_visible(session, blocker_id, blocked_id, now=now):
        raise TargetNotFound("member", blocked_id, "the members you may see")
    if session.scalar(select(Block.id).where(Block.blocker_id == blocker_id,
                                             Block.blocked_id == blocked_id)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Block(blocker_id=blocker_id, blocked_id=blocked_id,
                              created_at=now or utcnow()))
    except IntegrityError:  # the same block from a concurrent request
        return False
    return True


def unblock_member(session: Session, blocker_id: int, blocked_id: int) -> bool:
    """Lift a block; True when there was one. Says nothing about the member otherwise."""
    block = session.scalar(select(Block).where(Block.blocker_id == blocker_id,
                                               Block.blocked_id == blocked_id))
    if block is None:
        return False
    session.delete(block)
    session.flush()
    return True


def my_blocks(session: Session, member_id: int) -> list[tuple[Block, Member]]:
    """Whom the member blocked, newest first: only they ever see this list."""
    return [(block, member) for block, member in session.execute(
        select(Block, Member).join(Member, Member.id == Block.blocked_id)
        .where(Block.blocker_id == member_id)
        .order_by(Block.created_at.desc(), Block.id.desc()))]


# -- what a member may see, for reports and blocks ---------------------------------------

def _readable_posts(stmt: Select[*Ts], member_id: int, now: datetime | None) -> Select[*Ts]:
    """The visibility rule on posts, with hidden posts left to their authors.

    Blocks are *not* applied: a member may report, or block, someone they blocked.
    """
    return visible(stmt, Post.place_id, member_id, now=now).where(
        or_(Post.moderation == "visible", Post.author_id == member_id))


def member_is_visible(session: Session, viewer_id: int, member_id: int, *,
                      now: datetime | None = None) -> bool:
    """Whether ``viewer_id`` may see ``member_id`` (:func:`visibility.visible_member_ids`,
    deleted accounts left out). Blocks do not matter: a blocked member can be reported."""
    return bool(session.scalar(select(exists(select(Member.id).where(
        Member.id == member_id, Member.deleted_at.is_(None),
        Member.id.in_(visible_member_ids(viewer_id, now=now)))))))


# -- reports -----------------------------------------------------------------------------

def create_report(
    session: Session,
    reporter_id: int,
    *,
    category: str,
    details: str = "",
    post_id: int | None = None,
    comment_id: int | None = None,
    member_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Report, bool]:
    """Report exactly one post, comment or member the reporter can see.

    Returns the report and whether it is new: reporting the same thing twice while
    the first report is open returns the first one, so nobody can flood the queue.
    """
    targets = [t for t in (post_id, comment_id, member_id) if t is not None]
    if len(targets) != 1:
        raise ValueError("report exactly one of post_id, comment_id or member_id")
    if category not in REPORT_CATEGORIES:
        raise ValueError(f"unknown category {category!r}; expected one of "
                         f"{', '.join(REPORT_CATEGORIES)}")
    if post_id is not None:
        found = session.scalar(_readable_posts(select(Post.id), reporter_id, now)
                               .where(Post.id == post_id))
        if found is None:
            raise TargetNotFound("post", post_id, "the posts you may see")
        target = Report.post_id == post_id
    elif comment_id is not None:
        found = session.scalar(
            _readable_posts(select(Comment.id).join(Post, Post.id == Comment.post_id),
                            reporter_id, now)
            .where(Comment.id == comment_id,
                   or_(Comment.moderation == "visible", Comment.author_id == reporter_id)))
        if found is None:
            raise TargetNotFound("comment", comment_id, "the comments you may see")
        target = Report.comment_id == comment_id
    else:
        assert member_id is not None
        if member_id == reporter_id or not member_is_visible(session, reporter_id, member_id,
                                                             now=now):
            raise TargetNotFound("member", member_id, "the members you may see")
        target = Report.member_id == member_id
    existing = session.scalar(select(Report).where(
        target, Report.reporter_id == reporter_id, Report.status == "open"))
    if existing is not None:
        return existing, False
    report = Report(post_id=post_id, comment_id=comment_id, member_id=member_id,
                    reporter_id=reporter_id, category=category, details=details,
                    status="open", created_at=now or utcnow())
    session.add(report)
    session.flush()
    return report, True


@dataclass(frozen=True, slots=True)
class ReportRow:
    """An open report as a moderator sees it: the target, never the reporter."""

    report: Report
    post: Post | None
    comment: Comment | None
    member: Member | None


def open_reports(
    session: Session, moderator_id: int, *, limit: int = DEFAULT_PAGE, cursor: str | None = None,
    now: datetime | None = None,
) -> Page[ReportRow]:
    """The open reports in the moderator's scope, oldest first (a queue)."""
    scope = moderation_scope(session, moderator_id, now=now)
    reported = aliased(Member)
    stmt = (
        select(Report, Post, Comment, reported)
        .outerjoin(Comment, Comment.id == Report.comment_id)
        .outerjoin(Post, Post.id == func.coalesce(Report.post_id, Comment.post_id))
        .outerjoin(reported, reported.id == Report.member_id)
        .where(Report.status == "open",
               or_(and_(Post.id.is_not(None), scope.posts(Post)),
                   and_(Report.member_id.is_not(None), scope.members(Report.member_id))))
    )
    page = paginate(session, stmt, Report.id, limit=limit, cursor=cursor)
    return Page([ReportRow(r, p, c, m) for r, p, c, m in page.items], page.next_cursor)


def dismiss_report(session: Session, report_id: int, moderator_id: int, *,
                   now: datetime | None = None) -> Report:
    """Close an open report without acting on its target (reports are never public)."""
    scope = moderation_scope(session, moderator_id, now=now)
    stmt = (
        select(Report)
        .outerjoin(Comment, Comment.id == Report.comment_id)
        .outerjoin(Post, Post.id == func.coalesce(Report.post_id, Comment.post_id))
        .where(Report.id == report_id,
               or_(and_(Post.id.is_not(None), scope.posts(Post)),
                   and_(Report.member_id.is_not(None), scope.members(Report.member_id))))
    )
    report = session.scalar(stmt)
    if report is None:
        raise TargetNotFound("report", report_id, "the reports of the places you moderate")
    if report.status != "open":
        raise ModerationConflict(f"report {report_id} is already {report.status}")
    report.status = "dismissed"
    session.flush()
    return report


# -- hide and restore --------------------------------------------------------------------

def _log(session: Session, *, place_id: str, post_id: int | None, comment_id: int | None,
         action: LogAction, reason: str, moderator_id: int, now: datetime) -> ModerationEntry:
    entry = ModerationEntry(place_id=place_id, post_id=post_id, comment_id=comment_id,
                            action=action, reason=reason, moderator_id=moderator_id,
                            moderator_pseudonym=pseudonym(session, moderator_id), at=now)
    session.add(entry)
    session.flush()
    return entry


def _clean_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason is required: it is shown in the public moderation log")
    return reason


def _moderated_post(session: Session, scope: Scope, post_id: int) -> Post:
    post = session.scalar(select(Post).where(Post.id == post_id, scope.posts(Post))
                          .with_for_update())
    if post is None:
        raise TargetNotFound("post", post_id, "the posts of the places you moderate")
    if post.author_id == scope.member_id:
        raise ModerationForbidden(
            f"post {post_id} is yours: another moderator must moderate it")
    return post


def _moderated_comment(session: Session, scope: Scope, comment_id: int) -> tuple[Comment, Post]:
    row = session.execute(
        select(Comment, Post).join(Post, Post.id == Comment.post_id)
        .where(Comment.id == comment_id, scope.posts(Post))
        .with_for_update(of=Comment)
    ).first()
    if row is None:
        raise TargetNotFound("comment", comment_id, "the comments of the places you moderate")
    comment, post = row
    if comment.author_id == scope.member_id:
        raise ModerationForbidden(
            f"comment {comment_id} is yours: another moderator must moderate it")
    return comment, post


def hide_post(session: Session, post_id: int, moderator_id: int, reason: str, *,
              now: datetime | None = None) -> ModerationEntry:
    """Hide a post from everyone but its author; its open reports are upheld."""
    reason = _clean_reason(reason)
    now = now or utcnow()
    post = _moderated_post(session, moderation_scope(session, moderator_id, now=now), post_id)
    if post.moderation == "hidden":
        raise ModerationConflict(f"post {post_id} is already hidden")
    post.moderation = "hidden"
    session.execute(update(Report).where(Report.post_id == post_id, Report.status == "open")
                    .values(status="upheld"))
    return _log(session, place_id=post.place_id, post_id=post.id, comment_id=None,
                action="hide", reason=reason, moderator_id=moderator_id, now=now)


def restore_post(session: Session, post_id: int, moderator_id: int, reason: str, *,
                 now: datetime | None = None) -> ModerationEntry:
    """Show a hidden post again; an open appeal on it is thereby granted."""
    reason = _clean_reason(reason)
    now = now or utcnow()
    post = _moderated_post(session, moderation_scope(session, moderator_id, now=now), post_id)
    if post.moderation != "hidden":
        raise ModerationConflict(f"post {post_id} is not hidden")
    post.moderation = "visible"
    session.execute(update(Appeal).where(Appeal.post_id == post_id, Appeal.status == "open")
                    .values(status="upheld", decided_by=moderator_id, decided_at=now))
    return _log(session, place_id=post.place_id, post_id=post.id, comment_id=None,
                action="restore", reason=reason, moderator_id=moderator_id, now=now)


def hide_comment(session: Session, comment_id: int, moderator_id: int, reason: str, *,
                 now: datetime | None = None) -> ModerationEntry:
    reason = _clean_reason(reason)
    now = now or utcnow()
    scope = moderation_scope(session, moderator_id, now=now)
    comment, post = _moderated_comment(session, scope, comment_id)
    if comment.moderation == "hidden":
        raise ModerationConflict(f"comment {comment_id} is already hidden")
    comment.moderation = "hidden"
    session.execute(update(Report).where(Report.comment_id == comment_id,
                                         Report.status == "open").values(status="upheld"))
    return _log(session, place_id=post.place_id, post_id=post.id, comment_id=comment.id,
                action="hide", reason=reason, moderator_id=moderator_id, now=now)


def restore_comment(session: Session, comment_id: int, moderator_id: int, reason: str, *,
                    now: datetime | None = None) -> ModerationEntry:
    reason = _clean_reason(reason)
    now = now or utcnow()
    scope = moderation_scope(session, moderator_id, now=now)
    comment, post = _moderated_comment(session, scope, comment_id)
    if comment.moderation != "hidden":
        raise ModerationConflict(f"comment {comment_id} is not hidden")
    comment.moderation = "visible"
    return _log(session, place_id=post.place_id, post_id=post.id, comment_id=comment.id,
                action="restore", reason=reason, moderator_id=moderator_id, now=now)


def _last_hide(session: Session, post_id: int) -> ModerationEntry | None:
    return session.scalar(
        select(ModerationEntry)
        .where(ModerationEntry.post_id == post_id, ModerationEntry.comment_id.is_(None),
               ModerationEntry.action == "hide")
        .order_by(ModerationEntry.at.desc(), ModerationEntry.id.desc()).limit(1))


def hidden_reasons(session: Session, post_ids: Sequence[int]) -> dict[int, str]:
    """The reason each hidden post among ``post_ids`` was hidden, for showing its author."""
    if not post_ids:
        return {}
    rows = session.execute(
        select(ModerationEntry.post_id, ModerationEntry.reason)
        .join(Post, Post.id == ModerationEntry.post_id)
        .where(ModerationEntry.post_id.in_(list(post_ids)),
               ModerationEntry.comment_id.is_(None), ModerationEntry.action == "hide",
               Post.moderation == "hidden")
        .order_by(ModerationEntry.at, ModerationEntry.id))
    return {post_id: reason for post_id, reason in rows if post_id is not None}


def hidden_comment_reasons(session: Session, comment_ids: Sequence[int]) -> dict[int, str]:
    """The reason each hidden comment among ``comment_ids`` was hidden, for its author."""
    if not comment_ids:
        return {}
    rows = session.execute(
        select(ModerationEntry.comment_id, ModerationEntry.reason)
        .join(Comment, Comment.id == ModerationEntry.comment_id)
        .where(ModerationEntry.comment_id.in_(list(comment_ids)),
               ModerationEntry.action == "hide", Comment.moderation == "hidden")
        .order_by(ModerationEntry.at, ModerationEntry.id))
    return {comment_id: reason for comment_id, reason in rows if comment_id is not None}


# -- the public log ----------------------------------------------------------------------

def moderation_log(
    session: Session, member_id: int, *, place_id: str | None = None, limit: int = DEFAULT_PAGE,
    cursor: str | None = None, now: datetime | None = None,
) -> Page[tuple[ModerationEntry, Place]]:
    """The log entries of the places the member may read, newest first.

    Raises :class:`PlaceNotVisible` for a ``place_id`` the member may not read.
    """
    # An entry about a residents-only post is read like that post: not by its managers.
    stmt = visible(
        select(ModerationEntry, Place).join(Place, Place.id == ModerationEntry.place_id)
        .outerjoin(Post, Post.id == ModerationEntry.post_id),
        ModerationEntry.place_id, member_id, now=now,
        residents_only=func.coalesce(Post.residents_only, false()),
    )
    if place_id is not None:
        if not can_see_place(session, member_id, place_id, now=now):
            raise PlaceNotVisible(place_id)
        stmt = stmt.where(ModerationEntry.place_id == place_id)
    return paginate(session, stmt, ModerationEntry.id, limit=limit, cursor=cursor,
                    descending=True)


# -- appeals -----------------------------------------------------------------------------

def appeal_post(session: Session, post_id: int, author_id: int, appeal_text: str, *,
                now: datetime | None = None) -> Appeal:
    """The author's one appeal against the hiding of their post."""
    appeal_text = appeal_text.strip()
    if not appeal_text:
        raise ValueError("say why the post should be restored")
    post = session.scalar(select(Post).where(Post.id == post_id, Post.author_id == author_id)
                          .with_for_update())
    if post is None:
        raise TargetNotFound("post", post_id, "your posts")
    if post.moderation != "hidden":
        raise ModerationConflict(f"post {post_id} is not hidden: there is nothing to appeal")
    if session.scalar(select(Appeal.id).where(Appeal.post_id == post_id,
                                              Appeal.author_id == author_id)) is not None:
        raise ModerationConflict(f"post {post_id} was already appealed: one appeal per post")
    appeal = Appeal(post_id=post_id, author_id=author_id, text=appeal_text, status="open",
                    created_at=now or utcnow())
    session.add(appeal)
    session.flush()
    return appeal


@dataclass(frozen=True, slots=True)
class AppealRow:
    appeal: Appeal
    post: Post
    hidden_by_caller: bool
    hide_reason: str | None


def open_appeals(session: Session, moderator_id: int, *, limit: int = DEFAULT_PAGE,
                 cursor: str | None = None, now: datetime | None = None) -> Page[AppealRow]:
    """Open appeals on posts in the moderator's scope, oldest first."""
    scope = moderation_scope(session, moderator_id, now=now)
    stmt = (select(Appeal, Post).join(Post, Post.id == Appeal.post_id)
            .where(Appeal.status == "open", scope.posts(Post)))
    page = paginate(session, stmt, Appeal.id, limit=limit, cursor=cursor)
    items = []
    for appeal, post in page.items:
        hide = _last_hide(session, post.id)
        items.append(AppealRow(appeal, post,
                               hide is not None and hide.moderator_id == moderator_id,
                               hide.reason if hide else None))
    return Page(items, page.next_cursor)


def decide_appeal(session: Session, appeal_id: int, moderator_id: int, *, uphold: bool,
                  reason: str, now: datetime | None = None) -> Appeal:
    """Uphold (restore the post) or reject an appeal; both go to the public log.

    The moderator who hid the post cannot decide: an appeal is a second opinion.
    """
    reason = _clean_reason(reason)
    now = now or utcnow()
    scope = moderation_scope(session, moderator_id, now=now)
    row = session.execute(
        select(Appeal, Post).join(Post, Post.id == Appeal.post_id)
        .where(Appeal.id == appeal_id, scope.posts(Post)).with_for_update(of=Appeal)
    ).first()
    if row is None:
        raise TargetNotFound("appeal", appeal_id, "the appeals of the places you moderate")
    appeal, post = row
    if appeal.status != "open":
        raise ModerationConflict(f"appeal {appeal_id} was already decided: {appeal.status}")
    if post.author_id == moderator_id:
        raise ModerationForbidden(f"appeal {appeal_id} is yours: another moderator decides")
    hide = _last_hide(session, post.id)
    if hide is not None and hide.moderator_id == moderator_id:
        raise ModerationForbidden(
            f"you hid post {post.id}: another moderator must decide its appeal")
    appeal.status = "upheld" if uphold else "rejected"
    appeal.decided_by = moderator_id
    appeal.decided_at = now
    if uphold:
        post.moderation = "visible"
    _log(session, place_id=post.place_id, post_id=post.id, comment_id=None,
         action="appeal_upheld" if uphold else "appeal_rejected", reason=reason,
         moderator_id=moderator_id, now=now)
    return appeal


@dataclass(frozen=True, slots=True)
class PostModeration:
    """What the author of a post is told about its moderation."""

    post: Post
    hidden_at: datetime | None
    reason: str | None
    appeal: Appeal | None
    decision_reason: str | None

    @property
    def can_appeal(self) -> bool:
        return self.post.moderation == "hidden" and self.appeal is None


def post_moderation(session: Session, post_id: int, author_id: int) -> PostModeration:
    """The moderation state of one of the author's posts, with the reasons."""
    post = session.scalar(select(Post).where(Post.id == post_id, Post.author_id == author_id))
    if post is None:
        raise TargetNotFound("post", post_id, "your posts")
    hide = _last_hide(session, post_id) if post.moderation == "hidden" else None
    appeal = session.scalar(select(Appeal).where(Appeal.post_id == post_id,
                                                 Appeal.author_id == author_id)
                            .order_by(Appeal.id.desc()).limit(1))
    decision_reason = None
    if appeal is not None and appeal.status != "open":
        decision_reason = session.scalar(
            select(ModerationEntry.reason)
            .where(ModerationEntry.post_id == post_id, ModerationEntry.comment_id.is_(None),
                   ModerationEntry.action.in_(["appeal_upheld", "appeal_rejected", "restore"]),
                   ModerationEntry.at >= appeal.created_at)
            .order_by(ModerationEntry.at, ModerationEntry.id).limit(1))
    return PostModeration(post, hide.at if hide else None, hide.reason if hide else None,
                          appeal, decision_reason)


# -- rate limits -------------------------------------------------------------------------

def _check_rate(session: Session, member_id: int, now: datetime | None, *, what: str,
                limit: int, created_at: SQLColumnExpression[datetime],
                author: SQLColumnExpression[int | None], lock: int) -> None:
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :member)"),
                        {"ns": lock, "member": member_id})
    # The limit-th newest item of the window: once it leaves the window, one more fits.
    pivot = session.scalar(
        select(created_at).where(author == member_id, created_at > now - RATE_WINDOW)
        .order_by(created_at.desc()).offset(limit - 1).limit(1))
    if pivot is not None:
        wait = (pivot + RATE_WINDOW - now).total_seconds()
        raise RateLimited(what, limit, max(1, math.ceil(wait)))


def check_post_rate(session: Session, member_id: int, now: datetime | None = None) -> None:
    """Raise :class:`RateLimited` when the member wrote ``POSTS_PER_HOUR`` posts already.

    Call it in the transaction that inserts the post, right before the insert: on
    PostgreSQL it takes a per-member lock held until commit, so two requests at once
    cannot both squeeze in the last slot.
    """
    _check_rate(session, member_id, now, what="posts", limit=POSTS_PER_HOUR,
                created_at=Post.created_at, author=Post.author_id, lock=_POST_RATE_LOCK)


def check_comment_rate(session: Session, member_id: int, now: datetime | None = None) -> None:
    """The comment counterpart of :func:`check_post_rate` (``COMMENTS_PER_HOUR``)."""
    _check_rate(session, member_id, now, what="comments", limit=COMMENTS_PER_HOUR,
                created_at=Comment.created_at, author=Comment.author_id,
                lock=_COMMENT_RATE_LOCK)


__all__ = [
    "COMMENTS_PER_HOUR", "POSTS_PER_HOUR", "RATE_WINDOW", "AppealRow", "ModerationConflict",
    "ModerationError", "ModerationForbidden", "NotAModerator", "PostModeration",
    "RateLimited", "ReportRow", "Scope", "TargetNotFound", "appeal_post", "block_member",
    "blocked_by", "check_comment_rate", "check_may_comment", "check_post_rate",
    "create_report", "decide_appeal", "dismiss_report", "hidden_comment_reasons",
    "hidden_reasons", "hide_comment", "hide_post", "is_moderator", "member_is_visible",
    "moderation_log", "moderation_scope", "my_blocks", "not_blocked", "open_appeals",
    "open_reports", "post_moderation", "pseudonym", "pseudonym_for", "restore_comment",
    "restore_post", "unblock_member", "visible_comments", "visible_to",
]
