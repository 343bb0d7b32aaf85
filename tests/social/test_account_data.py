"""Logins rate-limited, one's data exported and one's account deleted, on SQLite and
PostgreSQL, over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from social.accounts import (
    LOGIN_WINDOW,
    create_member,
    login_retry_after,
    record_failed_login,
)
from social.api import create_app
from social.community_models import (
    Comment,
    HelpOffer,
    JoinRequest,
    LoginAttempt,
    PollVote,
    Reaction,
    Rsvp,
    Vouch,
)
from social.db import Database
from social.models import AuthToken, Member, Membership, Notification, Post, utcnow
from social.posts import content_from, create_post
from social.profiles import author_name

if TYPE_CHECKING:
    from tests.social.conftest import World


@pytest.fixture
def client(database: Database, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


def token(client: TestClient, username: str, password: str = "secret") -> Any:
    return client.post("/api/auth/token", data={"username": username, "password": password})


def login(client: TestClient, username: str) -> dict[str, str]:
    response = token(client, username)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def back_date_attempts(database: Database, by: timedelta) -> None:
    with database.session() as session:
        for attempt in session.scalars(select(LoginAttempt)):
            attempt.at -= by
        session.commit()


# -- login rate limiting -----------------------------------------------------------------

def test_five_failures_pause_logins_across_replicas_until_the_window_passes(
    database: Database, world: World
) -> None:
    with TestClient(create_app(database)) as one, TestClient(create_app(database)) as two:
        failures = [token(one if i < 3 else two, "alice", "wrong").status_code for i in range(5)]
        paused = token(one, "alice")  # the right password changes nothing

        assert failures == [401] * 5
        assert paused.status_code == 429
        assert paused.json() == {
            "detail": "too many failed logins for 'alice': try again in 15 min "
                      "(or ask your manager if you forgot your password)"}
        assert 890 <= int(paused.headers["retry-after"]) <= 900
        assert token(two, "alice").status_code == 429
        assert token(one, "emma").status_code == 200  # other usernames are not affected

        back_date_attempts(database, LOGIN_WINDOW)
        assert token(two, "alice").status_code == 200


def test_a_success_clears_nothing(client: TestClient) -> None:
    for _ in range(4):
        assert token(client, "alice", "wrong").status_code == 401
    assert token(client, "alice").status_code == 200
    assert token(client, "alice", "wrong").status_code == 401

    assert token(client, "alice").status_code == 429


def test_unknown_usernames_are_limited_alike(client: TestClient) -> None:
    statuses = [token(client, "nobody", "guess").status_code for _ in range(6)]

    assert statuses == [401] * 5 + [429]


def test_the_pause_ends_when_the_oldest_failure_leaves_the_window(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        for minutes_ago in (14, 10, 9, 3, 1):
            record_failed_login(session, "alice", now=now - timedelta(minutes=minutes_ago))
        session.commit()

        assert login_retry_after(session, "alice", now=now) == 60
        assert login_retry_after(session, "alice", now=now + timedelta(seconds=61)) is None
        assert login_retry_after(session, "bob", now=now) is None
        # Failures older than the window are forgotten when the next one is recorded.
        record_failed_login(session, "alice", now=now + timedelta(minutes=5))
        session.commit()
        kept = session.scalar(select(func.count()).select_from(LoginAttempt))
    assert kept == 4


def test_tokens_expire(database: Database, world: World) -> None:
    with TestClient(create_app(database, token_ttl=timedelta(seconds=-1))) as client:
        response = client.get("/api/me", headers=login(client, "alice"))
    assert response.status_code == 401


# -- export ------------------------------------------------------------------------------

def _write(session: Session, model: type[Any], **values: Any) -> int:
    row = model(created_at=utcnow(), **values)
    session.add(row)
    session.flush()
    return int(row.id)


def fill(session: Session, member_id: int, other_id: int, third_id: int) -> dict[str, set[int]]:
    """One of everything by ``member_id``, the same by ``other_id``, and a vouch between
    ``other_id`` and ``third_id``; the ids of ``member_id``'s rows, by export section."""
    now = utcnow()
    ids: dict[str, set[int]] = {key: set() for key in (
        "posts", "comments", "reactions", "poll_votes", "rsvps", "help_offers",
        "vouches_given", "vouches_received", "notifications", "join_requests")}
    for author, mine in ((member_id, True), (other_id, False)):
        post = create_post(session, "lilas/b", content_from({"fr": f"Annonce de {author}"}),
                           author_id=author, kind="poll")
        theirs = {
            "posts": post.id,
            "comments": _write(session, Comment, post_id=post.id, author_id=author,
                               body=f"commentaire de {author}"),
            "reactions": _write(session, Reaction, post_id=post.id, member_id=author,
                                kind="like"),
            "poll_votes": _write(session, PollVote, post_id=post.id, member_id=author, option=1),
            "rsvps": _write(session, Rsvp, post_id=post.id, member_id=author, answer="yes"),
            "help_offers": _write(session, HelpOffer, post_id=post.id, member_id=author,
                                  message=f"je peux aider ({author})"),
            "notifications": _write(session, Notification, member_id=author, kind="notice",
                                    content={"fr": {"title": f"Colis pour {author}"}},
                                    deliver_after=now),
            "join_requests": _write(session, JoinRequest, member_id=author,
                                    place_id="lilas/a/1/11", role="tenant",
                                    message=f"demande de {author}"),
        }
        if mine:
            for key, row_id in theirs.items():
                ids[key].add(row_id)
    ids["vouches_given"].add(_write(session, Vouch, voucher_id=member_id, vouchee_id=other_id,
                                    service="babysitting"))
    ids["vouches_received"].add(_write(session, Vouch, voucher_id=other_id,
                                       vouchee_id=member_id, service="pet_sitting"))
    _write(session, Vouch, voucher_id=other_id, vouchee_id=third_id, service="odd_jobs")
    # A notification still held back by quiet hours does not exist for the API yet.
    _write(session, Notification, member_id=member_id, kind="notice",
           content={"fr": {"title": "pas encore"}}, deliver_after=now + timedelta(hours=8))
    session.commit()
    return ids


def test_the_export_holds_exactly_ones_own_data(
    client: TestClient, database: Database, world: World
) -> None:
    with database.session() as session:
        mine = fill(session, world.resident, world.english_resident, world.other_resident)

    response = client.get("/api/me/export", headers=login(client, "alice"))

    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="palier-alice.json"'
    data = response.json()
    assert {key: {row["id"] for row in data[key]} for key in mine} == mine
    assert data["profile"]["username"] == "alice"
    assert [(m["place_id"], m["role"]) for m in data["memberships"]] == [
        ("lilas/b/3/31", "resident")]
    assert data["posts"][0]["content"] == {"fr": {"title": f"Annonce de {world.resident}",
                                                  "body": ""}}
    text = json.dumps(data, ensure_ascii=False)
    assert str(world.english_resident) not in {str(row.get("author_id")) for row in data["posts"]}
    for trace in ("emma", f"de {world.english_resident}", f"({world.english_resident})",
                  f"pour {world.english_resident}", "pas encore"):
        assert trace not in text, trace


# -- deletion ----------------------------------------------------------------------------

def test_a_wrong_password_deletes_nothing(client: TestClient, database: Database) -> None:
    alice = login(client, "alice")

    response = client.request("DELETE", "/api/me", headers=alice, json={"password": "wrong"})

    assert (response.status_code, response.json()) == (403, {
        "detail": "wrong password: your account was not deleted"})
    assert client.get("/api/me", headers=alice).json()["username"] == "alice"
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def test_deleting_an_account_anonymises_it_and_keeps_what_it_wrote(
    client: TestClient, database: Database, world: World, post_at: Callable[..., int]
) -> None:
    with database.session() as session:
        fill(session, world.resident, world.english_resident, world.other_resident)
        alice = session.get(Member, world.resident)
        assert alice is not None
        alice.first_name, alice.last_name, alice.email = "Alice", "Martin", "alice@example.org"
        session.commit()
    headers = login(client, "alice")
    other_session = login(client, "alice")

    response = client.request("DELETE", "/api/me", headers=headers, json={"password": "secret"})

    assert response.status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401
    assert client.get("/api/me", headers=other_session).status_code == 401
    assert token(client, "alice").status_code == 401
    with database.session() as session:
        member = session.get(Member, world.resident)
        assert member is not None
        assert (member.username, member.first_name, member.last_name, member.email,
                member.display_name) == (f"deleted-{world.resident}", None, None, None,
                                         "Compte supprimé")
        assert member.deleted_at is not None
        assert not member.password_hash.startswith("$argon2")
        assert session.scalar(select(func.count()).select_from(AuthToken)
                              .where(AuthToken.member_id == world.resident)) == 0
        assert set(session.scalars(select(Membership.ended_at)
                                   .where(Membership.member_id == world.resident))) != {None}
        assert session.scalar(select(func.count()).select_from(Membership).where(
            Membership.member_id == world.resident, Membership.ended_at.is_(None))) == 0
        for model, column in ((Notification, Notification.member_id),
                              (JoinRequest, JoinRequest.member_id),
                              (Vouch, Vouch.voucher_id), (Vouch, Vouch.vouchee_id)):
            assert session.scalar(select(func.count()).select_from(model)
                                  .where(column == world.resident)) == 0, model
        posts = session.scalars(select(Post).where(Post.author_id == world.resident)).all()
        comments = session.scalars(
            select(Comment).where(Comment.author_id == world.resident)).all()
        assert len(posts) == len(comments) == 1
        author = session.get(Member, posts[0].author_id)
        assert (author_name(author, "fr"), author_name(author, "en")) == (
            "Compte supprimé", "Deleted account")
    emma = login(client, "emma")
    assert client.get(f"/api/members/{world.resident}", headers=emma).status_code == 404
    assert world.resident not in {m["id"] for m in
                                  client.get("/api/members", headers=emma).json()["items"]}


def test_a_deleted_accounts_username_may_be_taken_again(
    client: TestClient, database: Database
) -> None:
    client.request("DELETE", "/api/me", headers=login(client, "alice"),
                   json={"password": "secret"})
    with database.session() as session:
        create_member(session, "alice", "a new password")
        session.commit()

    assert token(client, "alice", "a new password").status_code == 200
