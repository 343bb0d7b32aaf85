"""Full-text search on SQLite (FTS5) and PostgreSQL (GIN): only what the caller may see,
ranked, with snippets, and safe whatever the user types."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text, update

from social import moderation
from social.api import create_app
from social.community_models import Comment
from social.db import Database
from social.models import Post
from social.posts import content_from, create_post
from social.search import (
    MAX_TERM_LENGTH,
    MAX_TERMS,
    PG_COMMENT_VECTOR,
    PG_POST_VECTOR,
    fts5_query,
    include_name,
    make_snippet,
    search,
    search_terms,
    tsquery,
)

if TYPE_CHECKING:
    from tests.social.conftest import World

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(database: Database, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


@pytest.fixture
def headers(client: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def login(username: str) -> dict[str, str]:
        if username not in cache:
            response = client.post("/api/auth/token",
                                   data={"username": username, "password": "secret"})
            assert response.status_code == 200, response.text
            cache[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return cache[username]

    return login


def write(database: Database, place_id: str, author_id: int | None, title: dict[str, str],
          body: dict[str, str] | None = None, *, residents_only: bool = False,
          at: datetime | None = None) -> int:
    with database.session() as session:
        post = create_post(session, place_id, content_from(title, body), author_id=author_id,
                           at=at)
        post.residents_only = residents_only
        session.commit()
        return post.id


def comment(database: Database, post_id: int, author_id: int, body: str) -> int:
    with database.session() as session:
        row = Comment(post_id=post_id, author_id=author_id, body=body, created_at=T0)
        session.add(row)
        session.commit()
        return row.id


def found(client: TestClient, headers: dict[str, str], q: str,
          **params: Any) -> list[tuple[str, int]]:
    response = client.get("/api/search", params={"q": q, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [(hit["type"], hit["comment_id"] or hit["post_id"]) for hit in response.json()["items"]]


# -- the visibility rule -----------------------------------------------------------------

def test_search_finds_only_what_the_caller_may_see(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    words = {"fr": "Fuite d'eau dans la cave"}
    mine = write(database, "lilas/b", world.resident, words)
    city = write(database, "evry", None, {"fr": "Fuite d'eau rue de la Paix"})
    other_entrance = write(database, "lilas/a", None, words)
    other_building = write(database, "tilleuls", world.other_resident, words)
    other_unit = write(database, "lilas/b/3/32", world.english_resident, words)

    alice = found(client, headers("alice"), "fuite eau")
    tom = found(client, headers("tom"), "fuite eau")
    merchant = found(client, headers("boulanger"), "fuite")

    assert sorted(alice) == sorted([("post", mine), ("post", city)])
    assert sorted(tom) == sorted([("post", other_building), ("post", city)])
    assert merchant == [("post", city)]
    assert other_entrance not in {pid for _t, pid in alice + tom}
    assert other_unit not in {pid for _t, pid in alice + tom}


def test_residents_only_posts_are_not_found_by_managers(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    private = write(database, "lilas", world.resident, {"fr": "Cadeau pour le gardien"},
                    residents_only=True)
    public = write(database, "lilas", world.resident, {"fr": "Cadeau de fin d'année"})

    assert sorted(found(client, headers("alice"), "cadeau")) == sorted(
        [("post", private), ("post", public)])
    assert found(client, headers("syndic"), "cadeau") == [("post", public)]


def test_hidden_posts_and_comments_are_never_found_even_by_their_author(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    hidden = write(database, "lilas/b", world.resident, {"fr": "Vélo volé"})
    kept = write(database, "lilas/b", world.english_resident, {"fr": "Vélo trouvé"})
    rude = comment(database, kept, world.resident, "vélo moche")
    with database.session() as session:
        session.execute(update(Post).where(Post.id == hidden).values(moderation="hidden"))
        session.execute(update(Comment).where(Comment.id == rude).values(moderation="hidden"))
        session.commit()

    assert found(client, headers("alice"), "vélo") == [("post", kept)]
    assert found(client, headers("emma"), "vélo") == [("post", kept)]


def test_blocked_members_disappear_from_the_blockers_search(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    theirs = write(database, "lilas/b", world.english_resident, {"fr": "Perceuse à prêter"})
    mine = write(database, "lilas/b", world.resident, {"fr": "Besoin d'une échelle"})
    their_comment = comment(database, mine, world.english_resident, "j'ai une perceuse aussi")
    alice = headers("alice")
    assert sorted(found(client, alice, "perceuse")) == sorted(
        [("post", theirs), ("comment", their_comment)])

    assert client.post(f"/api/members/{world.english_resident}/block",
                       headers=alice).status_code == 204

    assert found(client, alice, "perceuse") == []
    assert ("post", theirs) in found(client, headers("emma"), "perceuse")  # not mutual


def test_comments_are_found_only_on_posts_the_caller_may_see(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    here = write(database, "lilas/b", world.resident, {"fr": "Fête des voisins"})
    there = write(database, "tilleuls", world.other_resident, {"fr": "Fête des voisins"})
    on_here = comment(database, here, world.english_resident, "J'apporte une tarte aux pommes")
    comment(database, there, world.other_resident, "J'apporte une tarte aux poires")

    response = client.get("/api/search", params={"q": "tarte"}, headers=headers("alice"))

    hits = response.json()["items"]
    assert [(h["type"], h["comment_id"], h["post_id"]) for h in hits] == [
        ("comment", on_here, here)]
    assert hits[0]["title"] == "Fête des voisins"
    assert hits[0]["snippet"] == "J'apporte une tarte aux pommes"
    [(start, end)] = hits[0]["highlights"]
    assert hits[0]["snippet"][start:end] == "tarte"


# -- matching, ranking, snippets ---------------------------------------------------------

def test_every_language_is_searched_and_words_match_as_prefixes(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    leak = write(database, "lilas/b", None, {"fr": "Fuite d'eau", "en": "Water leak"},
                 {"fr": "Cave de l'entrée B", "en": "Basement of entrance B"})

    emma = headers("emma")  # reads English
    by_french = client.get("/api/search", params={"q": "fui"}, headers=emma).json()["items"]
    by_english = found(client, headers("alice"), "LEAK")

    assert [h["post_id"] for h in by_french] == [leak]
    assert by_french[0]["title"] == "Water leak"  # the reader's language...
    assert by_french[0]["snippet"] == "Fuite d'eau"  # ...but the words that matched
    assert by_english == [("post", leak)]
    assert found(client, emma, "fuite basement") == [("post", leak)]
    assert found(client, emma, "fuite absent") == []


def test_titles_rank_above_bodies(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    in_body = write(database, "lilas/b", None, {"fr": "Information"},
                    {"fr": "L'ascenseur sera révisé jeudi matin par le technicien"})
    in_title = write(database, "lilas/b", None, {"fr": "Ascenseur en panne"},
                     {"fr": "Le technicien est prévenu"})

    response = client.get("/api/search", params={"q": "ascenseur"}, headers=headers("alice"))

    hits = response.json()["items"]
    assert [h["post_id"] for h in hits] == [in_title, in_body]
    assert hits[1]["snippet"] == "L'ascenseur sera révisé jeudi matin par le technicien"
    assert hits[1]["highlights"] == [[2, 11]]


def test_pages_follow_the_ranking_without_repeats(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    ids = {write(database, "lilas/b", None, {"fr": f"Brocante numéro {i}"},
                 {"fr": "brocante " * (i % 4)}, at=T0 + timedelta(minutes=i))
           for i in range(23)}
    alice = headers("alice")

    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params: dict[str, Any] = {"q": "brocante", "limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/search", params=params, headers=alice).json()
        seen += [hit["post_id"] for hit in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 23
    assert set(seen) == ids
    bad = client.get("/api/search", params={"q": "brocante", "cursor": "abc"}, headers=alice)
    assert bad.status_code == 400


@pytest.mark.parametrize("query", [
    '"unclosed', "OR AND *", "NOT", "NEAR(fuite eau)", "title:fuite", "fuite*", "^fuite",
    "-fuite", "fuite & | ! eau", "'", "\\", "(", "))", ":*", "*", "***", "é'", "🙂",
    "fuite" + " x" * 50, "a" * 400,
])
def test_query_syntax_is_never_an_error(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]], query: str,
) -> None:
    leak = write(database, "lilas/b", None, {"fr": "Fuite d'eau"})

    response = client.get("/api/search", params={"q": query}, headers=headers("alice"))

    assert response.status_code == 200, response.text
    hits = [hit["post_id"] for hit in response.json()["items"]]
    assert hits in ([], [leak])


def test_an_unclosed_quote_still_finds_the_word(
    client: TestClient, database: Database, world: World,
    headers: Callable[[str], dict[str, str]],
) -> None:
    leak = write(database, "lilas/b", None, {"fr": "Fuite d'eau"})

    assert found(client, headers("alice"), '"fuite') == [("post", leak)]
    assert found(client, headers("alice"), "fuite OR chat") == []  # OR is a word, not an operator


def test_an_empty_query_is_422_and_a_wordless_one_finds_nothing(
    client: TestClient, world: World, headers: Callable[[str], dict[str, str]],
) -> None:
    alice = headers("alice")

    assert client.get("/api/search", params={"q": ""}, headers=alice).status_code == 422
    assert client.get("/api/search", headers=alice).status_code == 422
    assert client.get("/api/search", params={"q": "  ?!*"}, headers=alice).json() == {
        "items": [], "next_cursor": None}
    assert client.get("/api/search", params={"q": "x"}).status_code == 401


# -- the index stays in sync -------------------------------------------------------------

def test_edits_and_deletions_reach_the_index(database: Database, world: World) -> None:
    post_id = write(database, "lilas/b", world.resident, {"fr": "Perdu un chat"})
    comment_id = comment(database, post_id, world.english_resident, "chat roux ?")
    with database.session() as session:
        post = session.get_one(Post, post_id)
        post.content = content_from({"fr": "Perdu un chien"})
        session.get_one(Comment, comment_id).body = "chien roux ?"
        session.commit()

    with database.session() as session:
        assert search(session, world.resident, "chat").hits == []
        hits = search(session, world.resident, "chien").hits
        assert sorted((h.kind, h.post.id) for h in hits) == [
            ("comment", post_id), ("post", post_id)]
        session.execute(delete(Post).where(Post.id == post_id))
        session.commit()
    with database.session() as session:
        assert search(session, world.resident, "chien").hits == []


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_posts_written_before_the_migration_are_indexed(
    empty_database: Database, world_site: Callable[[Database], World],
) -> None:
    empty_database.migrate("0004")
    people = world_site(empty_database)
    post_id = write(empty_database, "lilas/b", people.resident, {"fr": "Ancienne annonce"})

    empty_database.migrate()

    with empty_database.session() as session:
        assert [h.post.id for h in search(session, people.resident, "ancienne").hits] == [
            post_id]


@pytest.fixture
def world_site(site: Any, make_member: Callable[..., int]) -> Callable[[Database], World]:
    from tests.social.conftest import build_world

    return lambda database: build_world(database, site, make_member)


@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"], indirect=True)
def test_search_objects_exist_at_head_and_go_away_on_downgrade(
    empty_database: Database,
) -> None:
    """A later migration that rebuilds posts or comments on SQLite drops their triggers:
    this catches it."""
    empty_database.migrate()
    if empty_database.dialect == "sqlite":
        query = ("SELECT name FROM sqlite_master "
                 "WHERE type IN ('trigger', 'table') AND name LIKE '%fts%'")
        expected = {"posts_fts", "comments_fts", "posts_fts_insert", "posts_fts_update",
                    "posts_fts_delete", "comments_fts_insert", "comments_fts_update",
                    "comments_fts_delete"}
    else:
        query = "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%search'"
        expected = {"ix_posts_search", "ix_comments_search"}

    with empty_database.engine.connect() as connection:
        names = {row[0] for row in connection.execute(text(query))}
    empty_database.downgrade("0004")
    with empty_database.engine.connect() as connection:
        after = {row[0] for row in connection.execute(text(query))}

    assert expected <= names
    assert after == set()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_postgresql_search_expressions_are_the_indexed_ones(database: Database) -> None:
    """PostgreSQL uses an expression index only for the very same expression: this fails
    if the expressions of ``social.search`` and migration 0005 drift apart."""
    plans = {}
    with database.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        for table, vector in (("posts", PG_POST_VECTOR), ("comments", PG_COMMENT_VECTOR)):
            plans[table] = "\n".join(connection.execute(text(
                f"EXPLAIN SELECT id FROM {table} WHERE {vector} @@ to_tsquery('simple', :q)"
            ), {"q": "fuite:*"}).scalars())

    assert "Bitmap Index Scan on ix_posts_search" in plans["posts"]
    assert "Bitmap Index Scan on ix_comments_search" in plans["comments"]


# -- pure parts --------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "terms"), [
    ("Fuite d'eau", ["fuite", "d", "eau"]),
    ('"unclosed', ["unclosed"]),
    ("OR AND *", ["or", "and"]),
    ("NEAR(a b) a", ["near", "a", "b"]),
    ("col:term_x", ["col", "term", "x"]),
    ("Électricité e\u0301lectricite\u0301", ["électricité"]),
    ("*?!", []),
])
def test_search_terms_keep_letters_and_digits_only(query: str, terms: list[str]) -> None:
    assert search_terms(query) == terms


def test_search_terms_are_bounded() -> None:
    words = search_terms(" ".join(f"mot{i}" for i in range(50)) + " " + "z" * 100)

    assert len(words) == MAX_TERMS
    assert search_terms("z" * 100) == ["z" * MAX_TERM_LENGTH]


def test_backend_queries_quote_every_term() -> None:
    assert fts5_query(["fuite", "or"]) == '"fuite"* AND "or"*'
    assert tsquery(["fuite", "or"]) == "fuite:* & or:*"


def test_snippets_cut_around_the_first_match_with_offsets() -> None:
    text_ = " ".join(f"mot{i}" for i in range(40)) + " ascenseur " + "fin " * 40
    snippet = make_snippet(["rien ici", text_], ["asc"], words=6)

    assert snippet.text == "…mot38 mot39 ascenseur fin fin fin…"
    start, end = snippet.highlights[0]
    assert snippet.text[start:end] == "ascenseur"
    assert make_snippet(["Électricité coupée"], ["electr"]).highlights == [(0, 11)]
    assert make_snippet(["pas de correspondance"], ["zzz"]).text == "pas de correspondance"


def test_the_comparison_filter_names_only_the_search_objects() -> None:
    assert not include_name("posts_fts_data", "table", {})
    assert not include_name("server_secrets", "table", {})
    assert not include_name("ix_posts_search", "index", {})
    assert include_name("posts", "table", {})
    assert include_name("ix_posts_feed", "index", {})
    assert moderation.SECRETS_TABLE == "server_secrets"
