"""Moderation through the HTTP API, on SQLite and PostgreSQL: reports, moderators per
scope, the public log and its pseudonyms, appeals, blocks and posting rate limits."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from social import moderation
from social.api import create_app
from social.api.deps import CurrentMember, SessionDep
from social.api.routes.moderation import ReportCategory
from social.community_models import REPORT_CATEGORIES, Comment
from social.db import Database
from social.models import Post
from social.posts import content_from, create_post
from social.visibility import visible

if TYPE_CHECKING:
    from tests.social.conftest import World

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
PSEUDONYM = re.compile(r"^Modérateur·rice [0-9A-F]{6}$")


@dataclass
class Cast:
    """The world's people, plus moderators, an admin and a neighbour of entrance A."""

    world: World
    mod_b: int
    mod_b2: int
    admin: int
    amir: int


@pytest.fixture
def cast(database: Database, world: World, make_member: Callable[..., int]) -> Cast:
    with database.session() as session:
        people = Cast(
            world=world,
            mod_b=make_member(session, "modb", ("lilas/b", "moderator"), ("lilas/b/2/21",
                                                                          "resident")),
            mod_b2=make_member(session, "modb2", ("lilas/b", "moderator")),
            admin=make_member(session, "admin", ("evry", "admin")),
            amir=make_member(session, "amir", ("lilas/a/2/21", "resident")),
        )
        session.commit()
    return people


@pytest.fixture
def client(database: Database, cast: Cast) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": username, "password": "secret"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def write(database: Database, place_id: str, author_id: int | None, title: str = "Annonce",
          *, body: str = "", residents_only: bool = False) -> int:
    with database.session() as session:
        post = create_post(session, place_id, content_from({"fr": title}, {"fr": body}),
                           author_id=author_id)
        post.residents_only = residents_only
        session.commit()
        return post.id


def comment(database: Database, post_id: int, author_id: int, body: str) -> int:
    with database.session() as session:
        row = Comment(post_id=post_id, author_id=author_id, body=body, created_at=T0)
        session.add(row)
        session.commit()
        return row.id


def hide(client: TestClient, headers: dict[str, str], post_id: int,
         reason: str = "propos injurieux") -> tuple[int, dict[str, object]]:
    response = client.post(f"/api/moderation/posts/{post_id}/hide", json={"reason": reason},
                           headers=headers)
    return response.status_code, response.json()


def feed(client: TestClient, username: str) -> dict[int, str]:
    """The caller's feed through the API: post id → moderation state."""
    response = client.get("/api/feed", headers=login(client, username))
    assert response.status_code == 200, response.text
    return {item["id"]: item["moderation"] for item in response.json()["items"]}


def readable_ids(database: Database, member_id: int) -> set[int]:
    """Post ids the member reads with the feed's rule plus :func:`moderation.visible_to`."""
    with database.session() as session:
        stmt = moderation.visible_to(visible(select(Post.id), Post.place_id, member_id),
                                     member_id)
        return set(session.scalars(stmt))


# -- scope -------------------------------------------------------------------------------

def test_a_moderator_of_entrance_b_moderates_b_and_below_only(
    client: TestClient, database: Database, cast: Cast
) -> None:
    in_a = write(database, "lilas/a", cast.amir)
    in_b_floor = write(database, "lilas/b/3", cast.world.resident)
    above_b = write(database, "lilas", cast.world.resident)
    headers = login(client, "modb")

    status_a, body_a = hide(client, headers, in_a)
    status_above, _ = hide(client, headers, above_b)
    status_b, body_b = hide(client, headers, in_b_floor)

    assert (status_a, body_a) == (404, {"detail": f"no post {in_a} among the posts of the "
                                                  "places you moderate"})
    assert status_above == 404  # the building is above entrance B: not B's to judge
    assert status_b == 200
    assert body_b["action"] == "hide"
    with database.session() as session:
        states = {pid: state for pid, state in session.execute(select(Post.id, Post.moderation))}
    assert states == {in_a: "visible", in_b_floor: "hidden", above_b: "visible"}


def test_managers_cannot_moderate_the_residents_only_space_but_admins_can(
    client: TestClient, database: Database, cast: Cast
) -> None:
    private = write(database, "lilas", cast.world.resident, "Entre voisins",
                    residents_only=True)
    public = write(database, "lilas", cast.world.resident, "Pour tous")
    syndic, admin = login(client, "syndic"), login(client, "admin")

    assert hide(client, syndic, private)[0] == 404
    assert hide(client, syndic, public)[0] == 200
    assert hide(client, admin, private)[0] == 200


def test_a_moderator_may_moderate_the_residents_only_space_of_their_entrance(
    client: TestClient, database: Database, cast: Cast
) -> None:
    private = write(database, "lilas/b/3", cast.world.resident, residents_only=True)

    assert hide(client, login(client, "modb"), private)[0] == 200


def test_residents_are_not_moderators(client: TestClient, database: Database, cast: Cast) -> None:
    post_id = write(database, "lilas/b/3", cast.world.english_resident)

    status, body = hide(client, login(client, "alice"), post_id)

    assert status == 403
    assert "moderation is for moderators" in str(body["detail"])


def test_moderators_do_not_judge_their_own_posts(
    client: TestClient, database: Database, cast: Cast
) -> None:
    own = write(database, "lilas/b", cast.mod_b)

    status, body = hide(client, login(client, "modb"), own)

    assert status == 403
    assert body == {"detail": f"post {own} is yours: another moderator must moderate it"}


def test_hide_twice_conflicts_and_restore_needs_a_hidden_post(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b", cast.world.resident)
    headers = login(client, "modb")

    restore_first = client.post(f"/api/moderation/posts/{post_id}/restore",
                                json={"reason": "x"}, headers=headers)
    assert hide(client, headers, post_id)[0] == 200
    again = hide(client, headers, post_id)
    blank = client.post(f"/api/moderation/posts/{post_id}/restore", json={"reason": "  "},
                        headers=headers)
    restored = client.post(f"/api/moderation/posts/{post_id}/restore",
                           json={"reason": "erreur de ma part"}, headers=headers)

    assert restore_first.status_code == 409
    assert again == (409, {"detail": f"post {post_id} is already hidden"})
    assert blank.status_code == 422
    assert restored.status_code == 200
    assert restored.json()["action"] == "restore"


# -- what the author and the others see --------------------------------------------------

def test_the_author_sees_a_hidden_post_with_its_reason_and_nobody_else_does(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b/3", cast.world.resident)
    hide(client, login(client, "modb"), post_id, reason="données personnelles")

    mine = client.get(f"/api/posts/{post_id}/moderation", headers=login(client, "alice"))
    theirs = client.get(f"/api/posts/{post_id}/moderation", headers=login(client, "emma"))

    assert mine.status_code == 200
    assert mine.json() | {"hidden_at": None} == {
        "post_id": post_id, "moderation": "hidden", "hidden_at": None,
        "reason": "données personnelles", "can_appeal": True, "appeal": None,
        "decision_reason": None,
    }
    assert theirs.status_code == 404
    assert post_id in readable_ids(database, cast.world.resident)
    assert post_id not in readable_ids(database, cast.world.english_resident)
    # The feed calls moderation.visible_to: the author sees the post marked hidden.
    assert feed(client, "alice") == {post_id: "hidden"}
    assert feed(client, "emma") == {}
    with database.session() as session:
        assert moderation.hidden_reasons(session, [post_id]) == {post_id: "données personnelles"}


def test_hidden_comments_are_left_to_their_authors(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b", cast.world.resident)
    rude = comment(database, post_id, cast.world.english_resident, "grossier")
    kind = comment(database, post_id, cast.world.english_resident, "merci")

    response = client.post(f"/api/moderation/comments/{rude}/hide",
                           json={"reason": "insulte"}, headers=login(client, "modb"))

    assert response.status_code == 200
    assert (response.json()["post_id"], response.json()["comment_id"]) == (post_id, rude)

    def comments_for(member_id: int) -> set[int]:
        with database.session() as session:
            stmt = moderation.visible_comments(
                select(Comment.id).where(Comment.post_id == post_id), member_id)
            return set(session.scalars(stmt))

    assert comments_for(cast.world.resident) == {kind}
    assert comments_for(cast.world.english_resident) == {rude, kind}
    with database.session() as session:
        assert moderation.hidden_comment_reasons(session, [rude, kind]) == {rude: "insulte"}


# -- the public log ----------------------------------------------------------------------

def test_the_public_log_shows_a_stable_pseudonym_and_the_reason_never_the_name(
    client: TestClient, database: Database, cast: Cast
) -> None:
    first = write(database, "lilas/b", cast.world.resident)
    second = write(database, "lilas/b/3", cast.world.english_resident)
    third = write(database, "lilas/b", cast.world.english_resident)
    hide(client, login(client, "modb"), first, reason="spam")
    hide(client, login(client, "modb"), second, reason="publicité")
    hide(client, login(client, "modb2"), third, reason="doublon")

    log = client.get("/api/moderation/log", headers=login(client, "alice")).json()

    assert [(e["post_id"], e["action"], e["reason"]) for e in log["items"]] == [
        (third, "hide", "doublon"), (second, "hide", "publicité"), (first, "hide", "spam"),
    ]
    names = [e["moderator"] for e in log["items"]]
    assert all(PSEUDONYM.match(name) for name in names)
    assert names[1] == names[2] != names[0]  # the same moderator twice, another once
    assert not any(word in str(log).lower() for word in ("modb", "modb2"))
    assert log["items"][0]["place"]["id"] == "lilas/b"


def test_the_log_follows_the_visibility_rule(
    client: TestClient, database: Database, cast: Cast
) -> None:
    in_b = write(database, "lilas/b", cast.world.resident)
    private = write(database, "lilas", cast.world.resident, residents_only=True)
    admin = login(client, "admin")
    hide(client, admin, in_b)
    hide(client, admin, private)

    tom = client.get("/api/moderation/log", headers=login(client, "tom"))
    tom_b = client.get("/api/moderation/log", params={"place": "lilas/b"},
                       headers=login(client, "tom"))
    syndic = client.get("/api/moderation/log", params={"place": "lilas"},
                        headers=login(client, "syndic"))
    alice = client.get("/api/moderation/log", headers=login(client, "alice"))

    assert tom.json() == {"items": [], "next_cursor": None}
    assert tom_b.status_code == 404
    # A residents-only post is read without its managers, and so is its log entry.
    assert syndic.json()["items"] == []
    assert {e["post_id"] for e in alice.json()["items"]} == {in_b, private}


def test_the_log_pages_with_a_cursor(client: TestClient, database: Database, cast: Cast) -> None:
    admin = login(client, "admin")
    posts = [write(database, "lilas/b", cast.world.resident) for _ in range(5)]
    for post_id in posts:
        hide(client, admin, post_id)
    headers = login(client, "alice")

    first = client.get("/api/moderation/log", params={"limit": 3}, headers=headers).json()
    second = client.get("/api/moderation/log", params={"limit": 3, "cursor": first["next_cursor"]},
                        headers=headers).json()
    bad = client.get("/api/moderation/log", params={"cursor": "nope"}, headers=headers)

    assert [e["post_id"] for e in first["items"] + second["items"]] == posts[::-1]
    assert second["next_cursor"] is None
    assert bad.status_code == 400


def test_pseudonyms_come_from_palier_secret_or_one_stored_secret(
    database: Database, cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(moderation.SECRET_ENV, raising=False)
    with database.session() as session:
        stored = moderation.pseudonym(session, cast.mod_b)
        session.commit()
    with database.session() as session:
        again = moderation.pseudonym(session, cast.mod_b)
        rows = session.execute(text("SELECT count(*) FROM server_secrets")).scalar()
    monkeypatch.setenv(moderation.SECRET_ENV, "a-secret-from-the-environment")
    with database.session() as session:
        from_env = moderation.pseudonym(session, cast.mod_b)

    assert stored == again
    assert rows == 1
    assert from_env == moderation.pseudonym_for(b"a-secret-from-the-environment", cast.mod_b)
    assert from_env != stored
    assert PSEUDONYM.match(from_env)


# -- appeals -----------------------------------------------------------------------------

def test_an_appeal_is_made_once_and_decided_by_another_moderator(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b/3", cast.world.resident)
    hide(client, login(client, "modb"), post_id, reason="hors sujet")
    alice, modb, modb2 = login(client, "alice"), login(client, "modb"), login(client, "modb2")

    appeal = client.post(f"/api/posts/{post_id}/appeal", json={"text": "C'est une info utile"},
                         headers=alice)
    twice = client.post(f"/api/posts/{post_id}/appeal", json={"text": "encore"}, headers=alice)
    by_other = client.post(f"/api/posts/{post_id}/appeal", json={"text": "moi"},
                           headers=login(client, "emma"))
    queue = client.get("/api/moderation/appeals", headers=modb).json()["items"]
    appeal_id = appeal.json()["id"]
    by_hider = client.post(f"/api/moderation/appeals/{appeal_id}/decide",
                           json={"decision": "uphold", "reason": "ok"}, headers=modb)
    decided = client.post(f"/api/moderation/appeals/{appeal_id}/decide",
                          json={"decision": "uphold", "reason": "l'info est utile"},
                          headers=modb2)
    decided_again = client.post(f"/api/moderation/appeals/{appeal_id}/decide",
                                json={"decision": "reject", "reason": "non"}, headers=modb2)
    after = client.get(f"/api/posts/{post_id}/moderation", headers=alice).json()
    log = client.get("/api/moderation/log", headers=alice).json()["items"]

    assert appeal.status_code == 201
    assert twice.status_code == 409
    assert twice.json() == {"detail": f"post {post_id} was already appealed: one appeal per post"}
    assert by_other.status_code == 404
    assert [(a["id"], a["can_decide"], a["hide_reason"]) for a in queue] == [
        (appeal_id, False, "hors sujet")]
    assert by_hider.status_code == 403
    assert decided.status_code == 200 and decided.json()["status"] == "upheld"
    assert decided_again.status_code == 409
    assert after["moderation"] == "visible"
    assert after["appeal"]["status"] == "upheld"
    assert after["decision_reason"] == "l'info est utile"
    assert after["can_appeal"] is False
    assert [(e["action"], e["reason"]) for e in log] == [
        ("appeal_upheld", "l'info est utile"), ("hide", "hors sujet")]
    assert log[0]["moderator"] != log[1]["moderator"]
    assert post_id in readable_ids(database, cast.world.english_resident)


def test_a_rejected_appeal_keeps_the_post_hidden_and_tells_the_author(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b", cast.world.resident)
    hide(client, login(client, "modb"), post_id, reason="spam")
    alice = login(client, "alice")
    appeal_id = client.post(f"/api/posts/{post_id}/appeal", json={"text": "pas du spam"},
                            headers=alice).json()["id"]

    rejected = client.post(f"/api/moderation/appeals/{appeal_id}/decide",
                           json={"decision": "reject", "reason": "c'est bien du spam"},
                           headers=login(client, "admin"))
    after = client.get(f"/api/posts/{post_id}/moderation", headers=alice).json()
    once_more = client.post(f"/api/posts/{post_id}/appeal", json={"text": "s'il vous plaît"},
                            headers=alice)

    assert rejected.json()["status"] == "rejected"
    assert (after["moderation"], after["reason"], after["appeal"]["status"],
            after["decision_reason"], after["can_appeal"]) == (
        "hidden", "spam", "rejected", "c'est bien du spam", False)
    assert once_more.status_code == 409
    assert post_id not in readable_ids(database, cast.world.english_resident)


def test_a_visible_post_cannot_be_appealed(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b", cast.world.resident)

    response = client.post(f"/api/posts/{post_id}/appeal", json={"text": "?"},
                           headers=login(client, "alice"))

    assert response.status_code == 409


# -- reports -----------------------------------------------------------------------------

def test_reports_reach_the_moderators_of_the_place_and_never_name_the_reporter(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b/3", cast.world.english_resident, "Vends des trucs",
                    body="prix imbattables")
    alice = login(client, "alice")

    first = client.post("/api/reports", json={"post_id": post_id, "category": "advertising",
                                              "details": "pub"}, headers=alice)
    again = client.post("/api/reports", json={"post_id": post_id, "category": "spam"},
                        headers=alice)
    queue_b = client.get("/api/moderation/reports", headers=login(client, "modb")).json()
    queue_admin = client.get("/api/moderation/reports", headers=login(client, "admin")).json()
    as_resident = client.get("/api/moderation/reports", headers=login(client, "amir"))

    assert first.status_code == 201
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    assert [(r["id"], r["category"], r["target"]["type"], r["target"]["post_id"],
             r["target"]["excerpt"]) for r in queue_b["items"]] == [
        (first.json()["id"], "advertising", "post", post_id, "Vends des trucs\nprix imbattables")]
    assert "reporter" not in str(queue_b) and "alice" not in str(queue_b).lower()
    assert [r["id"] for r in queue_admin["items"]] == [first.json()["id"]]
    assert as_resident.status_code == 403

    hide(client, login(client, "modb"), post_id)
    assert client.get("/api/moderation/reports", headers=login(client, "modb")).json()[
        "items"] == []


def test_managers_do_not_receive_reports_from_the_residents_only_space(
    client: TestClient, database: Database, cast: Cast
) -> None:
    private = write(database, "lilas", cast.world.english_resident, residents_only=True)
    public = write(database, "lilas", cast.world.english_resident)
    alice = login(client, "alice")
    for post_id in (private, public):
        assert client.post("/api/reports", json={"post_id": post_id, "category": "abuse"},
                           headers=alice).status_code == 201

    syndic = client.get("/api/moderation/reports", headers=login(client, "syndic")).json()
    admin = client.get("/api/moderation/reports", headers=login(client, "admin")).json()

    assert [r["target"]["post_id"] for r in syndic["items"]] == [public]
    assert {r["target"]["post_id"] for r in admin["items"]} == {private, public}


def test_reporting_what_you_cannot_see_is_not_found(
    client: TestClient, database: Database, cast: Cast
) -> None:
    elsewhere = write(database, "tilleuls", cast.world.other_resident)
    hidden = write(database, "lilas/b", cast.world.english_resident)
    hide(client, login(client, "admin"), hidden)
    alice = login(client, "alice")

    other_building = client.post("/api/reports", json={"post_id": elsewhere,
                                                       "category": "spam"}, headers=alice)
    hidden_post = client.post("/api/reports", json={"post_id": hidden, "category": "spam"},
                              headers=alice)
    stranger = client.post("/api/reports", json={"member_id": cast.world.other_resident,
                                                 "category": "harassment"}, headers=alice)
    missing = client.post("/api/reports", json={"comment_id": 999_999, "category": "spam"},
                          headers=alice)

    assert [r.status_code for r in (other_building, hidden_post, stranger, missing)] == [
        404, 404, 404, 404]
    assert other_building.json() == {"detail": f"no post {elsewhere} among the posts you may see"}


@pytest.mark.parametrize("body", [
    {"category": "spam"},
    {"post_id": 1, "comment_id": 1, "category": "spam"},
    {"post_id": 1, "category": "rude"},
    {"post_id": 1, "category": "spam", "extra": True},
])
def test_malformed_reports_are_422(client: TestClient, cast: Cast, body: dict[str, object]) -> None:
    response = client.post("/api/reports", json=body, headers=login(client, "alice"))

    assert response.status_code == 422
    assert response.json()["detail"].startswith("invalid request: ")


def test_comments_and_members_can_be_reported_and_reports_dismissed(
    client: TestClient, database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b", cast.world.resident)
    rude = comment(database, post_id, cast.world.english_resident, "remarque déplacée")
    alice, modb = login(client, "alice"), login(client, "modb")

    on_comment = client.post("/api/reports", json={"comment_id": rude, "category": "abuse"},
                             headers=alice)
    on_member = client.post("/api/reports", json={"member_id": cast.world.english_resident,
                                                  "category": "harassment"}, headers=alice)
    queue = client.get("/api/moderation/reports", headers=modb).json()["items"]
    dismissed = client.post(f"/api/moderation/reports/{on_member.json()['id']}/dismiss",
                            headers=modb)
    dismissed_twice = client.post(f"/api/moderation/reports/{on_member.json()['id']}/dismiss",
                                  headers=modb)

    assert (on_comment.status_code, on_member.status_code) == (201, 201)
    assert [(r["target"]["type"], r["target"]["excerpt"]) for r in queue] == [
        ("comment", "remarque déplacée"), ("member", "Emma")]
    assert dismissed.json()["status"] == "dismissed"
    assert dismissed_twice.status_code == 409


def test_the_api_categories_are_the_models() -> None:
    assert set(get_args(ReportCategory)) == set(REPORT_CATEGORIES)


# -- blocks ------------------------------------------------------------------------------

def test_blocking_hides_posts_and_comments_and_stops_comments_and_stays_private(
    client: TestClient, database: Database, cast: Cast
) -> None:
    theirs = write(database, "lilas/b", cast.world.english_resident, "Perceuse à prêter")
    mine = write(database, "lilas/b", cast.world.resident, "Qui a une échelle ?")
    their_comment = comment(database, mine, cast.world.english_resident, "moi !")
    alice, emma = login(client, "alice"), login(client, "emma")

    blocked = client.post(f"/api/members/{cast.world.english_resident}/block", headers=alice)
    blocked_twice = client.post(f"/api/members/{cast.world.english_resident}/block",
                                headers=alice)

    assert (blocked.status_code, blocked_twice.status_code) == (204, 204)
    assert theirs not in readable_ids(database, cast.world.resident)
    assert set(feed(client, "alice")) == {mine}
    assert theirs in readable_ids(database, cast.mod_b)
    with database.session() as session:
        assert list(session.scalars(moderation.visible_comments(
            select(Comment.id).where(Comment.post_id == mine), cast.world.resident))) == []
        with pytest.raises(moderation.ModerationForbidden, match=f"comment on post {mine}$"):
            moderation.check_may_comment(session, session.get_one(Post, mine),
                                         cast.world.english_resident)
        moderation.check_may_comment(session, session.get_one(Post, theirs), cast.world.resident)
    assert [b["id"] for b in client.get("/api/me/blocks", headers=alice).json()["items"]] == [
        cast.world.english_resident]
    assert client.get("/api/me/blocks", headers=emma).json() == {"items": []}
    # A blocked member can still be reported, and their comment too.
    assert client.post("/api/reports", json={"member_id": cast.world.english_resident,
                                             "category": "harassment"},
                       headers=alice).status_code == 201
    assert client.post("/api/reports", json={"comment_id": their_comment, "category": "abuse"},
                       headers=alice).status_code == 201

    assert client.delete(f"/api/members/{cast.world.english_resident}/block",
                         headers=alice).status_code == 204
    assert theirs in readable_ids(database, cast.world.resident)


def test_blocking_needs_a_member_you_can_see(client: TestClient, cast: Cast) -> None:
    alice = login(client, "alice")

    yourself = client.post(f"/api/members/{cast.world.resident}/block", headers=alice)
    stranger = client.post(f"/api/members/{cast.world.other_resident}/block", headers=alice)
    nobody = client.post("/api/members/999999/block", headers=alice)
    unblock_nobody = client.delete("/api/members/999999/block", headers=alice)

    assert yourself.status_code == 400
    assert (stranger.status_code, nobody.status_code) == (404, 404)
    assert stranger.json() == {"detail": f"no member {cast.world.other_resident} among the "
                                         "members you may see"}
    assert unblock_nobody.status_code == 204


# -- rate limits -------------------------------------------------------------------------

def test_the_eleventh_post_within_an_hour_is_refused_until_the_first_leaves_the_window(
    database: Database, cast: Cast
) -> None:
    with database.session() as session:
        for minute in range(moderation.POSTS_PER_HOUR):
            at = T0 + timedelta(minutes=minute)
            moderation.check_post_rate(session, cast.world.resident, at)
            create_post(session, "lilas/b", content_from({"fr": "x"}),
                        author_id=cast.world.resident, at=at)
        session.commit()
    late = T0 + timedelta(minutes=10)

    with database.session() as session, pytest.raises(moderation.RateLimited) as limited:
        moderation.check_post_rate(session, cast.world.resident, late)
    with database.session() as session:
        moderation.check_post_rate(session, cast.world.english_resident, late)  # others may
        moderation.check_post_rate(session, cast.world.resident, T0 + timedelta(hours=1))

    assert limited.value.retry_after == 50 * 60
    assert str(limited.value) == "rate limit: 10 posts / 1 h — Retry-After: 3000 s"


def test_the_sixty_first_comment_within_an_hour_is_refused(
    database: Database, cast: Cast
) -> None:
    post_id = write(database, "lilas/b", cast.world.english_resident)
    with database.session() as session:
        session.add_all([Comment(post_id=post_id, author_id=cast.world.resident, body="ok",
                                 created_at=T0 + timedelta(seconds=i))
                         for i in range(moderation.COMMENTS_PER_HOUR)])
        session.commit()

    with database.session() as session, pytest.raises(moderation.RateLimited) as limited:
        moderation.check_comment_rate(session, cast.world.resident, T0 + timedelta(minutes=5))

    assert limited.value.retry_after == 55 * 60
    assert limited.value.limit == 60


def test_rate_limits_answer_429_with_retry_after(database: Database, cast: Cast) -> None:
    """The app turns :class:`RateLimited` into a 429 for any route that checks the rate."""
    app: FastAPI = create_app(database)

    @app.post("/test/posts", status_code=201)
    def post(member: CurrentMember, session: SessionDep) -> dict[str, int]:
        moderation.check_post_rate(session, member.id)
        created = create_post(session, "lilas/b", content_from({"fr": "x"}),
                              author_id=member.id)
        session.commit()
        return {"id": created.id}

    with TestClient(app) as client:
        headers = login(client, "alice")
        answers = [client.post("/test/posts", headers=headers) for _ in range(11)]

    assert [a.status_code for a in answers] == [201] * 10 + [429]
    refused = answers[-1]
    assert 3590 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.json()["detail"] == (
        f"rate limit: 10 posts / 1 h — Retry-After: {refused.headers['retry-after']} s")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 10


def test_reasons_are_required_by_the_domain_too(database: Database, cast: Cast) -> None:
    post_id = write(database, "lilas/b", cast.world.resident)
    with database.session() as session, pytest.raises(ValueError, match="a reason is required"):
        moderation.hide_post(session, post_id, cast.mod_b, "   ")
