"""Posts through the API, on SQLite and PostgreSQL: every kind with its fields, residents-only
posts, editing and widening, the feed (pinned notices, expiry, kinds, counts, pages),
and the rights document kept in step with the matrix."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from gateway.config.cross_checks import ROLES as CONFIG_ROLES
from social.api import create_app
from social.community_models import ScopeChange
from social.db import Database
from social.feed import feed_page
from social.models import POST_KINDS, Post, utcnow
from social.post_kinds import PROMOTION_LABEL, example_data
from social.rights import (
    ASSOCIATIONS,
    CREATE,
    DOC_PATH,
    MERCHANTS,
    MUNICIPALITY,
    ROLES,
    render_markdown,
)
from social.visibility import LOCAL_ACTOR_ROLES
from tests.social.posting import (
    add_member,
    bearer,
    counting_queries,
    created,
    publish,
    stored_post,
)

if TYPE_CHECKING:
    from tests.social.conftest import World


@pytest.fixture
def client(database: Database, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


@pytest.fixture
def alice(database: Database, world: World) -> dict[str, str]:
    """Resident of lilas/b/3/31, French."""
    return bearer(database, world.resident)


@pytest.fixture
def emma(database: Database, world: World) -> dict[str, str]:
    """Tenant of lilas/b/3/32, English."""
    return bearer(database, world.english_resident)


@pytest.fixture
def syndic(database: Database, world: World) -> dict[str, str]:
    """Manager of the building Les Lilas."""
    return bearer(database, world.manager)


# -- the matrix and its document ------------------------------------------------------------


def test_the_matrix_covers_every_kind_and_role() -> None:
    assert tuple(CREATE) == POST_KINDS
    assert ROLES == CONFIG_ROLES, "the roles a membership may carry, as the config knows them"
    assert MERCHANTS.roles | ASSOCIATIONS.roles | MUNICIPALITY.roles == LOCAL_ACTOR_ROLES
    assert CREATE["alert"].create == (), "alerts come from the rules engine only"
    for rights in CREATE.values():
        for grant in rights.create:
            if grant.who.roles & LOCAL_ACTOR_ROLES:
                assert set(grant.at) <= {"neighbourhood", "city"}, "never inside a building"


def test_the_rights_document_is_generated_from_the_matrix() -> None:
    assert DOC_PATH.read_text(encoding="utf-8") == render_markdown(), (
        "docs/rights-matrix.md is stale: run .venv/bin/python -m social.rights")


# -- every kind, created and validated ------------------------------------------------------

#: Who posts each kind in these tests, and where.
AUTHORS: dict[str, tuple[str, str]] = {
    "message": ("alice", "lilas/b"), "notice": ("syndic", "lilas"),
    "help_request": ("alice", "lilas"), "service_offer": ("alice", "pyramides"),
    "service_request": ("alice", "lilas/b/3"), "lending": ("alice", "lilas"),
    "event": ("alice", "lilas"), "promotion": ("merchant", "pyramides"),
    "lost_found": ("alice", "lilas/b"), "poll": ("alice", "lilas"),
    "problem_report": ("alice", "lilas"),
}


def _headers(database: Database, world: World, who: str) -> dict[str, str]:
    member = {"alice": world.resident, "syndic": world.manager, "merchant": world.merchant,
              "emma": world.english_resident}[who]
    return bearer(database, member)


@pytest.mark.parametrize("kind", list(AUTHORS))
def test_each_kind_is_created_with_its_fields(
    client: TestClient, database: Database, world: World, kind: str
) -> None:
    who, place = AUTHORS[kind]
    headers = _headers(database, world, who)
    data = example_data(kind, utcnow())

    response = publish(client, headers, place, kind, title="Bonjour", body="Texte", data=data)

    assert response.status_code == 201, response.text
    post = response.json()
    assert (post["kind"], post["place"]["id"], post["title"], post["body"], post["language"]) \
        == (kind, place, "Bonjour", "Texte", "fr")
    assert post["author"]["id"] == {"alice": world.resident, "syndic": world.manager,
                                    "merchant": world.merchant}[who]
    again = client.get(f"/api/posts/{post['id']}", headers=headers)
    assert again.status_code == 200
    assert again.json() == post
    expected = {key: value for key, value in data.items()
                if key not in ("pinned_until", "expires_at")}
    for key, value in expected.items():
        assert post["data"][key] == (value.replace("+00:00", "Z") if isinstance(value, str)
                                     and "T" in value else value), key
    if kind == "problem_report":
        assert post["data"]["status"] == "received"
        assert [step["status"] for step in post["data"]["history"]] == ["received"]
    if kind == "promotion":
        assert post["label"] == PROMOTION_LABEL["fr"]
        assert post["expires_at"] is not None
    else:
        assert post["label"] is None
    if kind == "notice":
        assert post["pinned"] is True
        assert post["pinned_until"] is not None and post["expires_at"] is not None


def test_a_post_is_stored_in_its_author_language(
    client: TestClient, database: Database, emma: dict[str, str], alice: dict[str, str]
) -> None:
    post_id = created(publish(client, emma, "lilas/b/3", "message", title="Parcel found"))

    with database.session() as session:
        post = session.get(Post, post_id)
        assert post is not None
        assert post.content == {"en": {"title": "Parcel found", "body": ""}}
    seen = client.get(f"/api/posts/{post_id}", headers=alice).json()
    assert (seen["title"], seen["language"]) == ("Parcel found", "en")


BAD_DATA: list[tuple[str, dict[str, Any], list[str]]] = [
    ("lending", {"condition": "good"}, ["body", "data", "object"]),
    ("lending", {"object": "perceuse", "condition": "broken"}, ["body", "data", "condition"]),
    ("lending", {"object": "perceuse", "condition": "good", "due": "2001-01-01"},
     ["body", "data", "due"]),
    ("event", {"starts_at": "2031-06-21T18:00:00+02:00", "location": "cour", "capacity": 0},
     ["body", "data", "capacity"]),
    ("event", {"starts_at": "2031-06-21T18:00:00+02:00", "location": "cour",
               "ends_at": "2031-06-21T17:00:00+02:00"}, ["body", "data", "ends_at"]),
    ("event", {"starts_at": "2031-06-21T18:00:00", "location": "cour"},
     ["body", "data", "starts_at"]),
    ("event", {"location": "cour"}, ["body", "data", "starts_at"]),
    ("poll", {"options": ["oui"]}, ["body", "data", "options"]),
    ("poll", {"options": [str(i) for i in range(11)]}, ["body", "data", "options"]),
    ("poll", {"options": ["Oui", "oui"]}, ["body", "data", "options"]),
    ("promotion", {}, ["body", "data", "expires_at"]),
    ("promotion", {"expires_at": "2099-01-01T00:00:00Z"}, ["body", "data", "expires_at"]),
    ("promotion", {"expires_at": "2030-01-01T00:00:00Z", "label": "none"},
     ["body", "data", "label"]),
    ("problem_report", {"category": "door", "status": "fixed"}, ["body", "data", "status"]),
    ("problem_report", {"category": "roof"}, ["body", "data", "category"]),
    ("lost_found", {"type": "stolen", "item": "vélo"}, ["body", "data", "type"]),
    ("service_offer", {"category": "plumbing"}, ["body", "data", "category"]),
    ("notice", {"pinned_until": "2030-02-01T00:00:00Z", "expires_at": "2030-01-01T00:00:00Z"},
     ["body", "data", "expires_at"]),
    ("message", {"colour": "red"}, ["body", "data", "colour"]),
]


@pytest.mark.parametrize(("kind", "data", "loc"), BAD_DATA,
                         ids=[f"{kind}-{loc[-1]}" for kind, _data, loc in BAD_DATA])
def test_bad_data_is_422_naming_the_field(
    client: TestClient, database: Database, world: World, kind: str, data: dict[str, Any],
    loc: list[str],
) -> None:
    who, place = AUTHORS[kind]

    response = publish(client, _headers(database, world, who), place, kind, data=data)

    assert response.status_code == 422, response.text
    body = response.json()
    assert loc in [error["loc"] for error in body["errors"]], body
    assert body["detail"].startswith("invalid request: ")
    assert ".".join(loc) + ": " in body["detail"]
    with database.session() as session:
        assert session.scalar(select(Post.id).where(Post.kind == kind)) is None


def test_unknown_kind_and_missing_title_are_422(client: TestClient, alice: dict[str, str]
                                               ) -> None:
    response = client.post("/api/posts", headers=alice,
                           json={"place": "lilas", "kind": "advert", "title": "x"})
    assert response.status_code == 422
    assert ["body", "kind"] in [e["loc"] for e in response.json()["errors"]]
    response = client.post("/api/posts", headers=alice, json={"place": "lilas", "kind": "message"})
    assert ["body", "title"] in [e["loc"] for e in response.json()["errors"]]


def test_a_refusal_says_why_in_the_member_language(
    client: TestClient, alice: dict[str, str], emma: dict[str, str]
) -> None:
    french = publish(client, alice, "lilas", "notice")
    english = publish(client, emma, "lilas", "notice")
    alert = publish(client, emma, "lilas", "alert")

    assert (french.status_code, english.status_code, alert.status_code) == (403, 403, 403)
    assert french.json() == {
        "detail": "Votre rôle ne permet pas de publier « avis officiel » (réservé à : "
                  "gestionnaires de l'immeuble).",
        "code": "role_may_not_post"}
    assert english.json()["detail"] == ('Your role may not post "official notice" (reserved '
                                        "to: building managers).")
    assert alert.json() == {
        "detail": "Alerts come from the building's sensors (the rules engine), never from a "
                  "member.", "code": "rules_engine_only"}
    wrong_scope = publish(client, alice, "pyramides", "problem_report")
    assert wrong_scope.status_code == 403
    assert wrong_scope.json() == {
        "detail": "« signalement » ne se publie qu'à ces niveaux : immeuble.",
        "code": "wrong_scope"}


def test_posting_elsewhere_is_404_like_a_missing_place(
    client: TestClient, alice: dict[str, str]
) -> None:
    other = publish(client, alice, "tilleuls", "message")
    missing = publish(client, alice, "nowhere", "message")

    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json() == {"detail": "no place 'tilleuls' among the places you may read"}


def test_what_may_i_post_here(client: TestClient, alice: dict[str, str],
                              syndic: dict[str, str]) -> None:
    mine = {r["kind"]: r for r in client.get("/api/rights", params={"place": "lilas"},
                                             headers=alice).json()["kinds"]}
    theirs = {r["kind"]: r for r in client.get("/api/rights", params={"place": "lilas/b"},
                                               headers=syndic).json()["kinds"]}

    assert [k for k, r in mine.items() if r["allowed"]] == [
        "message", "help_request", "service_offer", "service_request", "lending", "event",
        "lost_found", "poll", "problem_report"]
    assert mine["notice"]["reason"] == "role_may_not_post"
    assert [k for k, r in theirs.items() if r["allowed"]] == ["message", "notice", "event",
                                                                "poll"]
    assert client.get("/api/rights", params={"place": "tilleuls"},
                      headers=alice).status_code == 404


# -- reading one post ------------------------------------------------------------------------


def test_a_post_out_of_reach_is_404_like_a_missing_one(
    client: TestClient, database: Database, world: World, alice: dict[str, str]
) -> None:
    post_id = created(publish(client, alice, "lilas/b", "message"))
    tom = bearer(database, world.other_resident)

    hidden = client.get(f"/api/posts/{post_id}", headers=tom)
    missing = client.get("/api/posts/999999", headers=tom)

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == {"detail": f"no post {post_id} among the posts you may read"}


# -- residents only ------------------------------------------------------------------------


def test_residents_only_is_hidden_from_the_building_managers(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str], syndic: dict[str, str],
) -> None:
    secret = created(publish(client, alice, "lilas", "message", title="AG sans le syndic",
                             residents_only=True))
    public = created(publish(client, alice, "lilas", "message", title="Pour tous"))
    both = bearer(database, add_member(database, "double", ("lilas", "landlord"),
                                       ("lilas/a/1/11", "owner")))

    assert client.get(f"/api/posts/{secret}", headers=syndic).status_code == 404
    assert client.get(f"/api/posts/{secret}", headers=emma).json()["residents_only"] is True
    assert client.get(f"/api/posts/{secret}", headers=both).status_code == 200
    # Residents only means residents: the building's installer and admin do not read it,
    # its moderator (who answers for the space) does.
    for role, code in (("installer", 404), ("admin", 404), ("moderator", 200)):
        other = bearer(database, add_member(database, f"{role}-lilas", ("lilas", role)))
        assert client.get(f"/api/posts/{secret}", headers=other).status_code == code, role
        assert client.get(f"/api/posts/{public}", headers=other).status_code == 200, role
    syndic_feed = [p["id"] for p in client.get("/api/feed", headers=syndic).json()["items"]]
    emma_feed = [p["id"] for p in client.get("/api/feed", headers=emma).json()["items"]]
    assert public in syndic_feed and secret not in syndic_feed
    assert secret in emma_feed
    # Comments and reactions go through the same rule.
    assert client.get(f"/api/posts/{secret}/comments", headers=syndic).status_code == 404
    assert client.post(f"/api/posts/{secret}/reactions", json={"kind": "like"},
                       headers=syndic).status_code == 404


@pytest.mark.parametrize(("who", "place", "kind", "code"), [
    ("alice", "pyramides", "message", "residents_only_outside"),
    ("alice", "lilas", "problem_report", "residents_only_kind"),
    ("syndic", "lilas", "notice", "residents_only_kind"),
    ("syndic", "lilas", "message", "residents_only_residents"),
])
def test_residents_only_is_refused_where_it_means_nothing(
    client: TestClient, database: Database, world: World, who: str, place: str, kind: str,
    code: str,
) -> None:
    response = publish(client, _headers(database, world, who), place, kind, residents_only=True)

    assert response.status_code == 403, response.text
    assert response.json()["code"] == code


# -- editing and widening --------------------------------------------------------------------


def test_the_author_edits_text_and_editable_fields(
    client: TestClient, alice: dict[str, str], emma: dict[str, str]
) -> None:
    lending = created(publish(client, alice, "lilas", "lending"))
    event = created(publish(client, alice, "lilas", "event"))
    poll = created(publish(client, alice, "lilas", "poll"))

    returned = client.patch(f"/api/posts/{lending}", headers=alice,
                            json={"title": "Perceuse rendue", "data": {"returned": True}})
    moved = client.patch(f"/api/posts/{event}", headers=alice,
                         json={"data": {"location": "salle commune", "capacity": None}})
    frozen = client.patch(f"/api/posts/{poll}", headers=alice,
                          json={"data": {"options": ["a", "b"]}})
    unknown = client.patch(f"/api/posts/{lending}", headers=alice, json={"data": {"x": 1}})
    not_mine = client.patch(f"/api/posts/{lending}", headers=emma, json={"title": "À moi"})

    assert returned.status_code == 200, returned.text
    assert (returned.json()["title"], returned.json()["data"]["returned"],
            returned.json()["data"]["object"]) == ("Perceuse rendue", True, "perceuse")
    assert moved.json()["data"]["location"] == "salle commune"
    assert "capacity" not in moved.json()["data"]
    assert frozen.status_code == 422
    assert frozen.json()["errors"][0]["loc"] == ["body", "data", "options"]
    assert unknown.json()["errors"][0]["msg"] == "not a field of this kind"
    assert not_mine.status_code == 403
    assert not_mine.json()["code"] == "author_only"


def test_widening_is_the_author_only_upwards_and_recorded(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str],
) -> None:
    post_id = created(publish(client, alice, "lilas", "lending"))
    tom = bearer(database, world.other_resident)
    assert client.get(f"/api/posts/{post_id}", headers=tom).status_code == 404

    by_other = client.post(f"/api/posts/{post_id}/widen", json={"place": "pyramides"},
                           headers=emma)
    downwards = client.post(f"/api/posts/{post_id}/widen", json={"place": "lilas/b"},
                            headers=alice)
    sideways = client.post(f"/api/posts/{post_id}/widen", json={"place": "tilleuls"},
                           headers=alice)
    widened = client.post(f"/api/posts/{post_id}/widen", json={"place": "pyramides"},
                          headers=alice)

    assert by_other.status_code == 403
    assert downwards.status_code == sideways.status_code == 422
    assert downwards.json()["errors"][0]["loc"] == ["body", "place"]
    assert widened.status_code == 200, widened.text
    assert widened.json()["place"]["id"] == "pyramides"
    assert client.get(f"/api/posts/{post_id}", headers=tom).status_code == 200
    with database.session() as session:
        changes = session.scalars(select(ScopeChange)).all()
        assert [(c.post_id, c.from_place, c.to_place, c.by) for c in changes] == [
            (post_id, "lilas", "pyramides", world.resident)]


def test_widening_is_refused_for_residents_only_posts_and_tickets(
    client: TestClient, alice: dict[str, str]
) -> None:
    secret = created(publish(client, alice, "lilas", "message", residents_only=True))
    ticket = created(publish(client, alice, "lilas", "problem_report"))

    kept = client.post(f"/api/posts/{secret}/widen", json={"place": "pyramides"}, headers=alice)
    ticket_kept = client.post(f"/api/posts/{ticket}/widen", json={"place": "pyramides"},
                              headers=alice)

    assert kept.status_code == 409
    assert kept.json()["code"] == "residents_only_stays"
    assert ticket_kept.status_code == 403
    assert ticket_kept.json()["code"] == "wrong_scope"


# -- the feed --------------------------------------------------------------------------------


def test_pinned_notices_come_first_until_their_pin_ends(
    client: TestClient, database: Database, world: World, alice: dict[str, str]
) -> None:
    now = utcnow()
    old_pin = stored_post(database, "lilas", "notice", author=world.manager,
                          at=now - timedelta(days=3), data={},
                          pinned_until=now + timedelta(days=1))
    pin_over = stored_post(database, "lilas/b", "notice", author=world.manager,
                           at=now - timedelta(days=2), data={},
                           pinned_until=now - timedelta(hours=1))
    newer = stored_post(database, "lilas/b/3", "message", author=world.resident,
                        at=now - timedelta(hours=2))

    items = client.get("/api/feed", headers=alice).json()["items"]

    assert [item["id"] for item in items] == [old_pin, newer, pin_over]
    assert [item["pinned"] for item in items] == [True, False, False]


def test_expired_promotions_and_notices_drop_out(
    client: TestClient, database: Database, world: World, alice: dict[str, str]
) -> None:
    now = utcnow()
    live = stored_post(database, "pyramides", "promotion", author=world.merchant)
    expired = stored_post(database, "pyramides", "promotion", author=world.merchant,
                          at=now - timedelta(days=10), expires_at=now - timedelta(minutes=1))
    gone = stored_post(database, "lilas", "notice", author=world.manager, data={},
                       at=now - timedelta(days=10), expires_at=now - timedelta(days=1))

    ids = [item["id"] for item in client.get("/api/feed", headers=alice).json()["items"]]

    assert live in ids
    assert expired not in ids and gone not in ids


def test_hidden_posts_leave_the_feed_but_their_author_sees_them(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str],
) -> None:
    post_id = stored_post(database, "lilas", "message", author=world.resident)
    with database.session() as session:
        session.execute(update(Post).where(Post.id == post_id).values(moderation="hidden"))
        session.commit()

    emma_ids = [i["id"] for i in client.get("/api/feed", headers=emma).json()["items"]]
    alice_items = client.get("/api/feed", headers=alice).json()["items"]

    assert post_id not in emma_ids
    assert client.get(f"/api/posts/{post_id}", headers=emma).status_code == 404
    assert [(i["id"], i["moderation"]) for i in alice_items] == [(post_id, "hidden")]


def test_the_feed_filters_by_kind(
    client: TestClient, database: Database, world: World, alice: dict[str, str]
) -> None:
    event = stored_post(database, "lilas", "event", author=world.resident)
    poll = stored_post(database, "lilas", "poll", author=world.resident)
    stored_post(database, "lilas", "message", author=world.resident)

    only = client.get("/api/feed", params={"kind": ["event", "poll"]}, headers=alice).json()
    bad = client.get("/api/feed", params={"kind": "advert"}, headers=alice)

    assert sorted(item["id"] for item in only["items"]) == sorted([event, poll])
    assert bad.status_code == 422


def test_feed_pages_with_pinned_notices_have_no_duplicate_and_no_gap(
    database: Database, world: World
) -> None:
    now = utcnow()
    base = now - timedelta(days=1)
    expected_pinned, expected_rest = [], []
    for i in range(7):  # pinned notices, some pins ending soon
        at = base + timedelta(minutes=i // 2)  # shared timestamps: the id breaks ties
        pinned_until = now + timedelta(minutes=5 if i % 3 == 0 else 600)
        expected_pinned.append((at, stored_post(database, "lilas", "notice",
                                                author=world.manager, at=at, data={},
                                                pinned_until=pinned_until)))
    for i in range(16):
        at = base + timedelta(minutes=i // 3)
        kind = "notice" if i % 5 == 0 else "message"  # unpinned notices mix in
        expected_rest.append((at, stored_post(database, "lilas/b/3/31", kind, at=at,
                                              data={})))
    expected = ([pid for _at, pid in sorted(expected_pinned, reverse=True)]
                + [pid for _at, pid in sorted(expected_rest, reverse=True)])

    seen: list[int] = []
    cursor: str | None = None
    while True:
        # One session per page, as one request per page: SQLite lets one writer in at once.
        with database.session() as session:
            page = feed_page(session, world.resident, limit=4, cursor=cursor,
                             now=now if cursor is None else now + timedelta(minutes=30))
        seen += [post.id for post, _place in page.entries]
        cursor = page.next_cursor
        if cursor is None:
            break
        if len(seen) == 4:
            # While scrolling: a new pinned notice, a new post, and time passing beyond
            # some pins. The scroll keeps its snapshot.
            stored_post(database, "lilas", "notice", author=world.manager, data={},
                        pinned_until=now + timedelta(days=1))
            stored_post(database, "lilas", "message")

    assert seen == expected


def test_feed_counts_take_a_fixed_number_of_queries(
    client: TestClient, database: Database, world: World, alice: dict[str, str],
    emma: dict[str, str],
) -> None:
    ids = [stored_post(database, "lilas", kind, author=world.resident)
           for kind in ("message", "event", "poll", "service_offer") * 6]
    for post_id in ids[:8]:
        assert client.post(f"/api/posts/{post_id}/comments", json={"body": "Super"},
                           headers=emma).status_code == 201
        assert client.post(f"/api/posts/{post_id}/reactions", json={"kind": "thanks"},
                           headers=emma).status_code == 200

    with counting_queries(database) as small:
        few = client.get("/api/feed", params={"limit": 4}, headers=alice).json()["items"]
    with counting_queries(database) as large:
        many = client.get("/api/feed", params={"limit": 24}, headers=alice).json()["items"]

    assert (len(few), len(many)) == (4, 24)
    assert len(small) == len(large), "a bigger page must not run more queries"
    by_id = {item["id"]: item for item in many}
    assert [by_id[i]["counts"]["comments"] for i in ids[:8]] == [1] * 8
    assert [by_id[i]["counts"]["reactions"] for i in ids[:8]] == [{"thanks": 1}] * 8
    assert by_id[ids[1]]["counts"]["attending"] == 0
    assert by_id[ids[2]]["counts"]["votes"] == 0
    assert by_id[ids[3]]["vouched_by"] == 0
    assert by_id[ids[0]]["vouched_by"] is None


def test_the_new_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert {
        "/api/posts", "/api/posts/{post_id}", "/api/posts/{post_id}/widen", "/api/rights",
        "/api/posts/{post_id}/comments", "/api/posts/{post_id}/reactions",
        "/api/posts/{post_id}/reactions/{kind}", "/api/posts/{post_id}/read",
        "/api/posts/{post_id}/receipts", "/api/posts/{post_id}/offers",
        "/api/posts/{post_id}/offers/{offer_id}/accept",
        "/api/posts/{post_id}/offers/{offer_id}/withdraw", "/api/posts/{post_id}/rsvp",
        "/api/posts/{post_id}/results", "/api/posts/{post_id}/votes",
        "/api/posts/{post_id}/status", "/api/posts/{post_id}/link-alarm", "/api/tickets",
        "/api/members/{member_id}/vouch", "/api/members/{member_id}/vouch/{service}",
    } <= set(paths)
