"""Members, passwords and bearer tokens.

Passwords are hashed with argon2id. Tokens are opaque random strings handed to the
client once; the database keeps only their SHA-256, so reading the table does not
let anyone log in. The caller commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from social.db import lock_for_setup
from social.errors import UnknownPlace, UsernameTaken
from social.models import AuthToken, Member, Membership, Place, utcnow

if TYPE_CHECKING:  # the gateway's config is a caller, not a dependency of the social layer
    from gateway.config.installation import MemberSpec

DEFAULT_TOKEN_TTL = timedelta(hours=12)


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
    """A new member; raises :class:`UsernameTaken` when the username is in use."""
    if session.scalar(select(Member.id).where(Member.username == username)) is not None:
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
    member = session.scalar(select(Member).where(Member.username == username))
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
        .where(AuthToken.token_hash == _token_hash(token), AuthToken.expires_at > now)
    )


def revoke_token(session: Session, token: str) -> None:
    session.execute(delete(AuthToken).where(AuthToken.token_hash == _token_hash(token)))


def purge_expired_tokens(session: Session, *, now: datetime | None = None) -> int:
    result = session.execute(delete(AuthToken).where(AuthToken.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)


def seed_members(session: Session, specs: Sequence[MemberSpec]) -> list[Member]:
    """Create or update the members declared in the installation, with verified memberships.

    The configuration is the truth for these accounts: running it twice changes
    nothing, a changed password or name is applied, and a membership the file no
    longer lists is ended (so removing a bootstrap admin's role revokes it).
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
        else:
            member.display_name = spec.display_name
            member.language = spec.language
            if not verify_password(member.password_hash, spec.password):
                member.password_hash = hash_password(spec.password)
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
