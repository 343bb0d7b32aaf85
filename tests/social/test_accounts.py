"""Passwords, tokens and the members the installation declares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.config.installation import MembershipSpec, MemberSpec
from social.accounts import (
    authenticate,
    create_member,
    issue_token,
    member_for_token,
    revoke_token,
    seed_members,
)
from social.db import Database
from social.errors import UnknownPlace, UsernameTaken
from social.models import AuthToken, Member, Membership, utcnow
from social.places import sync_places
from social.site import PlaceNode


@pytest.fixture
def db(sqlite_database: Database, site: list[PlaceNode]) -> Database:
    with sqlite_database.session() as session:
        sync_places(session, site)
        session.commit()
    return sqlite_database


def spec(password: str = "secret", *memberships: tuple[str, str]) -> MemberSpec:
    return MemberSpec(
        username="gardienne", display_name="La gardienne", password=password,
        memberships=[MembershipSpec(place=p, role=r) for p, r in memberships],
    )


def memberships(db: Database) -> list[tuple[str, str, bool, bool]]:
    with db.session() as session:
        rows = session.scalars(select(Membership).order_by(Membership.id))
        return [(m.place_id, m.role, m.verified, m.ended_at is None) for m in rows]


def test_authenticate_checks_the_password(db: Database) -> None:
    with db.session() as session:
        create_member(session, "alice", "correct horse")
        assert authenticate(session, "alice", "correct horse") is not None
        assert authenticate(session, "alice", "wrong") is None
        assert authenticate(session, "nobody", "correct horse") is None


def test_password_is_not_stored_in_clear(db: Database) -> None:
    with db.session() as session:
        member = create_member(session, "alice", "correct horse")
        assert "correct horse" not in member.password_hash
        assert member.password_hash.startswith("$argon2id$")


def test_username_is_unique(db: Database) -> None:
    with db.session() as session:
        create_member(session, "alice", "pw12")
        with pytest.raises(UsernameTaken, match="'alice' is already taken"):
            create_member(session, "alice", "pw34")


def test_token_maps_back_to_its_member_until_it_expires(db: Database) -> None:
    now = utcnow()
    with db.session() as session:
        member = create_member(session, "alice", "pw12")
        issued = issue_token(session, member, ttl=timedelta(hours=12), now=now)
        session.commit()

        assert member_for_token(session, issued.token, now=now) == member
        assert member_for_token(session, issued.token, now=now + timedelta(hours=13)) is None
        assert member_for_token(session, issued.token + "x", now=now) is None
        stored = session.scalars(select(AuthToken.token_hash)).all()
        assert issued.token not in stored and len(stored[0]) == 64

        revoke_token(session, issued.token)
        assert member_for_token(session, issued.token, now=now) is None


def test_seed_members_is_idempotent(db: Database) -> None:
    for _ in range(2):
        with db.session() as session:
            seed_members(session, [spec("secret", ("lilas", "manager"))])
            session.commit()

    with db.session() as session:
        assert len(session.scalars(select(Member)).all()) == 1
        assert authenticate(session, "gardienne", "secret") is not None
    assert memberships(db) == [("lilas", "manager", True, True)]


def test_seed_members_applies_changes_and_ends_dropped_memberships(db: Database) -> None:
    with db.session() as session:
        seed_members(session, [spec("secret", ("lilas", "manager"))])
        session.commit()
    with db.session() as session:
        seed_members(session, [spec("new-secret", ("tilleuls", "syndic"))])
        session.commit()

    with db.session() as session:
        assert authenticate(session, "gardienne", "secret") is None
        assert authenticate(session, "gardienne", "new-secret") is not None
    assert memberships(db) == [
        ("lilas", "manager", True, False), ("tilleuls", "syndic", True, True)
    ]


def test_seed_members_refuses_an_unknown_place(db: Database) -> None:
    with db.session() as session, pytest.raises(UnknownPlace) as error:
        seed_members(session, [spec("secret", ("nowhere", "resident"))])
    assert str(error.value) == (
        "unknown place 'nowhere' (membership of member 'gardienne'): it is not in the site"
    )


def test_seed_members_sets_and_unsets_on_call(db: Database) -> None:
    def seed(on_call: bool) -> list[tuple[str, bool, bool]]:
        plumber = MemberSpec(username="plombier", display_name="Le plombier", password="secret",
                             memberships=[MembershipSpec(place="lilas", role="installer",
                                                         on_call=on_call)])
        with db.session() as session:
            seed_members(session, [plumber])
            session.commit()
            rows = session.scalars(select(Membership).order_by(Membership.id))
            return [(m.place_id, m.on_call, m.ended_at is None) for m in rows]

    assert seed(True) == [("lilas", True, True)]
    assert seed(False) == [("lilas", False, True)]  # the same membership, no longer on call
    assert MembershipSpec(place="lilas", role="manager").on_call is False


def test_reseeding_checks_each_password_once_and_keeps_the_members_language(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with db.session() as session:
        seed_members(session, [spec("secret", ("lilas", "manager"))])
        session.commit()
    with db.session() as session:
        member = session.scalar(select(Member).where(Member.username == "gardienne"))
        assert member is not None
        member.language = "en"  # the member's own choice, made on the pages
        session.commit()

    import social.accounts as accounts

    checks: list[str] = []
    real_verify = accounts.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        checks.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting_verify)
    for _ in range(3):  # reloads: the file did not change
        with db.session() as session:
            seed_members(session, [spec("secret", ("lilas", "manager"))])
            session.commit()
    assert checks == []
    with db.session() as session:
        member = session.scalar(select(Member).where(Member.username == "gardienne"))
        assert member is not None and member.language == "en"
        # A changed password in the file is still applied.
        seed_members(session, [spec("changed", ("lilas", "manager"))])
        session.commit()
        assert authenticate(session, "gardienne", "changed") is not None
