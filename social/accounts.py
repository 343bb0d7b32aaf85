"""Members, passwords and bearer tokens; logins rate-limited; one's data exported or erased.

Passwords are hashed with argon2id. Tokens are opaque random strings handed to the
client once; the database keeps only their SHA-256, so reading the table does not
let anyone log in. The caller commits.

Failed logins are counted per username in ``login_attempts``, in the shared database,
so the limit holds whichever API replica answers; a success erases nothing, the
window simply moves on. A deleted account keeps its row — its posts and comments
stay, signed "Compte supprimé" — but nothing that identifies the person is left in it.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session

from social.community_models import (
    Comment,
    HelpOffer,
    JoinRequest,
    LoginAttempt,
    NotificationPref,
    PollVote,
    Reaction,
    Rsvp,
    Vouch,
)
from social.db import lock_for_setup
from social.errors import TooManyLoginAttempts, UnknownPlace, UsernameTaken, WrongPassword
from social.models import AuthToken, Member, Membership, Notification, Place, Post, utcnow
from social.profiles import DELETED_NAME

if TYPE_CHECKING:  # the gateway's config is a caller, not a dependency of the social layer
    from gateway.config.installation import MemberSpec

DEFAULT_TOKEN_TTL = timedelta(hours=12)
#: After this many failed logins for one username inside the window, logins wait.
MAX_FAILED_LOGINS = 5
LOGIN_WINDOW = timedelta(minutes=15)
#: The prefix of a deleted account's username; nobody may sign up with it.
DELETED_PREFIX = "deleted-"


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so both cases cost the same."""
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_member(
    session: Session,
    username: str,
    password: str,
    *,
    display_name: str | None = None,
    language: str = "fr",
) -> Member:
    """A new member; raises :class:`UsernameTaken` when the username is in use.

    ``deleted-…`` names are reserved: deleting account N renames it ``deleted-N``.
    """
    if (username.startswith(DELETED_PREFIX)
            or session.scalar(select(Member.id).where(Member.username == username)) is not None):
        raise UsernameTaken(username)
    member = Member(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        language=language,
        created_at=utcnow(),
    )
    session.add(member)
    session.flush()
    return member


def authenticate(session: Session, username: str, password: str) -> Member | None:
    """The member when the password matches, else None, in about the same time either way."""
    member = session.scalar(
        select(Member).where(Member.username == username, Member.deleted_at.is_(None))
    )
    if member is None:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(member.password_hash, password):
        return None
    if _hasher().check_needs_rehash(member.password_hash):
        member.password_hash = hash_password(password)
    return member


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as the client sees it; only its hash is stored."""

    token: str
    expires_at: datetime
    ttl: timedelta


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    member: Member,
    *,
    ttl: timedelta = DEFAULT_TOKEN_TTL,
    now: datetime | None = None,
) -> IssuedToken:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(AuthToken(
        token_hash=_token_hash(token), member_id=member.id, created_at=now, expires_at=now + ttl
    ))
    session.flush()
    return IssuedToken(token, now + ttl, ttl)


def member_for_token(
    session: Session, token: str, *, now: datetime | None = None
) -> Member | None:
    """The member a still-valid token belongs to, or None."""
    now = now or utcnow()
    return session.scalar(
        select(Member)
        .join(AuthToken, AuthToken.member_id == Member.id)
        .where(AuthToken.token_hash == _token_hash(token), AuthToken.expires_at > now,
               Member.deleted_at.is_(None))
    )


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(AuthToken).where(AuthToken.token_hash == _token_hash(token)))


def purge_expired_tokens(session: Session, *, now: datetime | None = None) -> int:
    result = session.execute(delete(AuthToken).where(AuthToken.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)


# -- login rate limiting -----------------------------------------------------------------

def _attempt_key(username: str) -> str:
    return username[:64]


def _serialise_logins(session: Session, username: str) -> None:
    """Make concurrent logins for one username take turns, on every replica.

    Without it, a burst of parallel guesses would all pass the check before the first
    failure is recorded. PostgreSQL takes a transaction-scoped advisory lock keyed by
    the username; SQLite's ``BEGIN IMMEDIATE`` already lets one writer in at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(b"palier-login:" + username.encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def login_retry_after(
    session: Session, username: str, *, now: datetime | None = None
) -> int | None:
    """Whole seconds before ``username`` may try again, or None when it may now."""
    now = now or utcnow()
    recent = session.scalars(
        select(LoginAttempt.at)
        .where(LoginAttempt.username == _attempt_key(username),
               LoginAttempt.at > now - LOGIN_WINDOW)
        .order_by(LoginAttempt.at.desc())
        .limit(MAX_FAILED_LOGINS)
    ).all()
    if len(recent) < MAX_FAILED_LOGINS:
        return None
    # The limit lifts when the oldest of the last few failures leaves the window.
    return max(1, math.ceil((recent[-1] + LOGIN_WINDOW - now).total_seconds()))


def record_failed_login(session: Session, username: str, *, now: datetime | None = None) -> None:
    """Count a failure, and forget this username's failures that left the window."""
    now = now or utcnow()
    key = _attempt_key(username)
    session.execute(delete(LoginAttempt).where(
        LoginAttempt.username == key, LoginAttempt.at <= now - LOGIN_WINDOW
    ))
    session.add(LoginAttempt(username=key, at=now))
    session.flush()


def check_login_allowed(session: Session, username: str, *, now: datetime | None = None) -> None:
    """Raise :class:`TooManyLoginAttempts` while ``username`` is paused.

    Attempts made while paused are not counted: the pause ends on time for the real
    owner, however long someone keeps guessing.
    """
    _serialise_logins(session, username)
    wait = login_retry_after(session, username, now=now)
    if wait is not None:
        raise TooManyLoginAttempts(username, wait)


def login(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> Member | None:
    """:func:`authenticate`, rate-limited per username; a failure is recorded.

    Raises :class:`TooManyLoginAttempts` while paused, even for the right password —
    otherwise the pause would tell a guesser when they found it. The caller commits
    (a failure too, so that it counts).
    """
    now = now or utcnow()
    check_login_allowed(session, username, now=now)
    member = authenticate(session, username, password)
    if member is None:
        record_failed_login(session, username, now=now)
    return member


# -- one's own data: export and deletion -------------------------------------------------

def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(objects: Iterable[Any], fields: Sequence[str]) -> list[dict[str, Any]]:
    return [{field: _plain(getattr(obj, field)) for field in fields} for obj in objects]


def export_account(
    session: Session, member: Member, *, now: datetime | None = None
) -> dict[str, Any]:
    """Everything stored about ``member`` that is theirs, as JSON-ready data.

    Their own rows only: the posts they wrote, not the comments others left on them;
    the comments they wrote, by post id, not the posts themselves; a vouch names the
    other member by id only. Notifications held back by quiet hours are left out, as
    everywhere in the API, until they are due.
    """
    now = now or utcnow()
    me = member.id

    def owned(model: Any, column: Any) -> list[Any]:
        return list(session.scalars(select(model).where(column == me).order_by(model.id)))

    memberships = session.execute(
        select(Membership, Place.name).join(Place, Place.id == Membership.place_id)
        .where(Membership.member_id == me).order_by(Membership.id)
    )
    notifications = session.scalars(
        select(Notification)
        .where(Notification.member_id == me, Notification.deliver_after <= now)
        .order_by(Notification.id)
    )
    return {
        "format": "palier-account-export/1",
        "exported_at": now.isoformat(),
        "profile": _rows([member], (
            "id", "username", "display_name", "first_name", "last_name", "show_full_name",
            "email", "language", "quiet_start", "quiet_end", "created_at",
        ))[0],
        "memberships": [
            {**_rows([m], ("id", "place_id", "role", "verified", "started_at", "ended_at",
                           "on_call"))[0], "place_name": name}
            for m, name in memberships
        ],
        "join_requests": _rows(owned(JoinRequest, JoinRequest.member_id), (
            "id", "place_id", "role", "message", "status", "created_at", "decided_at",
        )),
        "posts": _rows(owned(Post, Post.author_id), (
            "id", "place_id", "kind", "content", "data", "status", "residents_only",
            "moderation", "created_at", "updated_at", "resolved_at", "pinned_until",
            "expires_at",
        )),
        "comments": _rows(owned(Comment, Comment.author_id),
                          ("id", "post_id", "body", "moderation", "created_at")),
        "reactions": _rows(owned(Reaction, Reaction.member_id),
                           ("id", "post_id", "kind", "created_at")),
        "poll_votes": _rows(owned(PollVote, PollVote.member_id),
                            ("id", "post_id", "option", "created_at")),
        "rsvps": _rows(owned(Rsvp, Rsvp.member_id), ("id", "post_id", "answer", "created_at")),
        "help_offers": _rows(owned(HelpOffer, HelpOffer.member_id),
                             ("id", "post_id", "message", "status", "created_at")),
        "vouches_given": _rows(owned(Vouch, Vouch.voucher_id),
                               ("id", "vouchee_id", "service", "created_at")),
        "vouches_received": _rows(owned(Vouch, Vouch.vouchee_id),
                                  ("id", "voucher_id", "service", "created_at")),
        "notifications": _rows(notifications, (
            "id", "kind", "alarm_id", "content", "created_at", "deliver_after", "read_at",
        )),
    }


def delete_account(
    session: Session, member: Member, password: str, *, now: datetime | None = None
) -> None:
    """Erase the person from ``member``, confirmed by their password; the row stays.

    Tokens are revoked and memberships ended (nothing the account held still opens a
    door); the name, email and username go (``deleted-<id>``) and the password can
    never match again. What the person wrote for the neighbours — posts, comments,
    reactions, votes, RSVPs, help offers — stays, signed "Compte supprimé" /
    "Deleted account": a discussion keeps its sense. What only made sense for the
    person — notifications and their settings, join requests, vouches — is removed.

    A wrong password raises :class:`WrongPassword` and counts as a failed login
    (commit it), so a stolen token does not give unlimited guesses either.
    """
    now = now or utcnow()
    check_login_allowed(session, member.username, now=now)
    if not verify_password(member.password_hash, password):
        record_failed_login(session, member.username, now=now)
        raise WrongPassword("your account was not deleted")
    me = member.id
    session.execute(delete(AuthToken).where(AuthToken.member_id == me))
    session.execute(
        update(Membership)
        .where(Membership.member_id == me,
               or_(Membership.ended_at.is_(None), Membership.ended_at > now))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    for model, column in ((JoinRequest, JoinRequest.member_id),
                          (Notification, Notification.member_id),
                          (NotificationPref, NotificationPref.member_id)):
        session.execute(delete(model).where(column == me))
    session.execute(delete(Vouch).where(or_(Vouch.voucher_id == me, Vouch.vouchee_id == me)))
    session.execute(delete(LoginAttempt).where(
        LoginAttempt.username == _attempt_key(member.username)
    ))
    member.username = f"{DELETED_PREFIX}{me}"
    member.display_name = DELETED_NAME["fr"]
    member.first_name = member.last_name = member.email = None
    member.show_full_name = False
    # Not an argon2 hash: verification fails on its format, whatever is typed.
    member.password_hash = f"!deleted:{secrets.token_hex(16)}"
    member.deleted_at = now
    session.flush()


#: (stored hash, SHA-256 of the configured password) pairs already verified in this
#: process: a reload re-checks a password only when the file or the account changed,
#: instead of one argon2 verification (~0.1-0.4 s) per account under the write lock.
_VERIFIED_SEEDS: dict[tuple[str, str], None] = {}
_VERIFIED_SEEDS_MAX = 10_000


def _seed_key(password_hash: str, password: str) -> tuple[str, str]:
    return password_hash, hashlib.sha256(password.encode("utf-8")).hexdigest()


def _remember_seeded(password_hash: str, password: str) -> None:
    if len(_VERIFIED_SEEDS) >= _VERIFIED_SEEDS_MAX:
        _VERIFIED_SEEDS.pop(next(iter(_VERIFIED_SEEDS)))
    _VERIFIED_SEEDS[_seed_key(password_hash, password)] = None


def _seeded_password_holds(password_hash: str, password: str) -> bool:
    """Whether ``password`` still matches ``password_hash`` (argon2 only on a change)."""
    if _seed_key(password_hash, password) in _VERIFIED_SEEDS:
        return True
    if verify_password(password_hash, password):
        _remember_seeded(password_hash, password)
        return True
    return False


def seed_members(session: Session, specs: Sequence[MemberSpec]) -> list[Member]:
    """Create or update the members declared in the installation, with verified memberships.

    The configuration is the truth for these accounts: running it twice changes
    nothing, a changed password or name is applied, and a membership the file no
    longer lists is ended (so removing a bootstrap admin's role revokes it). The
    language in the file is the account's first language; the member's own choice
    (the pages' FR/EN switch, ``PATCH /api/me``) survives reloads.
    """
    lock_for_setup(session)
    now = utcnow()
    known_places = set(session.scalars(select(Place.id).where(
        Place.id.in_({m.place for spec in specs for m in spec.memberships})
    )))
    members = []
    for spec in specs:
        for wanted in spec.memberships:
            if wanted.place not in known_places:
                raise UnknownPlace(wanted.place, f"membership of member {spec.username!r}")
        member = session.scalar(select(Member).where(Member.username == spec.username))
        if member is None:
            member = create_member(session, spec.username, spec.password,
                                   display_name=spec.display_name, language=spec.language)
            _remember_seeded(member.password_hash, spec.password)
        else:
            # The language is the member's own choice once the account exists.
            member.display_name = spec.display_name
            if not _seeded_password_holds(member.password_hash, spec.password):
                member.password_hash = hash_password(spec.password)
                _remember_seeded(member.password_hash, spec.password)
        _seed_memberships(session, member,
                          {(m.place, m.role): m.on_call for m in spec.memberships}, now)
        members.append(member)
    session.flush()
    return members


def _seed_memberships(
    session: Session, member: Member, wanted: Mapping[tuple[str, str], bool], now: datetime
) -> None:
    """Make ``member``'s current memberships exactly ``wanted`` ((place, role) → on call)."""
    current = session.scalars(select(Membership).where(
        Membership.member_id == member.id, Membership.ended_at.is_(None)
    )).all()
    present = set()
    for membership in current:
        key = (membership.place_id, membership.role)
        if key in wanted:
            membership.verified = True
            membership.on_call = wanted[key]
            present.add(key)
        else:
            membership.ended_at = now
    for place_id, role in sorted(set(wanted) - present):
        session.add(Membership(member_id=member.id, place_id=place_id, role=role,
                               verified=True, started_at=now,
                               on_call=wanted[(place_id, role)]))
