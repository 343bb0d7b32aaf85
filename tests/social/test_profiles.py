"""Who sees whom, and what a profile says, on SQLite and PostgreSQL.

The member-visibility rule (:func:`social.visibility.visible_member_ids`) is checked on
its own, then through every endpoint that lists or shows members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from social.api import create_app
from social.db import Database
from social.models import Member, utcnow
from social.profiles import public_name, short_name
from social.visibility import visible_member_ids

if TYPE_CHECKING:
    from tests.social.conftest import World


@pytest.fixture
def people(
    database: Database, world: World, make_member: Callable[..., int]
) -> dict[str, int]:
    """The test world, plus an association of the city and a merchant put inside a building
    by mistake, by username."""
    with database.session() as session:
        make_member(session, "amicale", ("evry", "association"))
        make_member(session, "epicerie", ("lilas/b", "merchant"))
        make_member(session, "gerant", ("tilleuls", "manager"))
        session.commit()
        return {name: id_ for name, id_ in session.execute(select(Member.username, Member.id))}


@pytest.fixture
def client(database: Database, people: dict[str, int]) -> Iterator[TestClient]:
    with TestClient(create_app(database)) as client:
        yield client


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": username, "password": "secret"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def seen_by(database: Database, people: dict[str, int], username: str) -> set[str]:
    names = {member_id: name for name, member_id in people.items()}
    with database.session() as session:
        return {names[i] for i in session.scalars(visible_member_ids(people[username]))}


# -- the rule ----------------------------------------------------------------------------

#: Who sees whom in the test world (one row per viewer).
SEES = {
    # Neighbours of Les Lilas (not the ended tenant, not the unverified owner), the local
    # actors of the neighbourhood and the city; nobody from Les Tilleuls.
    "alice": {"alice", "emma", "syndic", "boulanger", "amicale"},
    "emma": {"alice", "emma", "syndic", "boulanger", "amicale"},
    "syndic": {"syndic", "alice", "emma", "boulanger", "amicale"},
    "tom": {"tom", "gerant", "boulanger", "amicale"},
    "gerant": {"tom", "gerant", "boulanger", "amicale"},
    # A merchant sees the public circles only: no resident, even with a membership inside
    # a building (given by mistake), and nobody inside sees it through that membership.
    "boulanger": {"boulanger", "amicale"},
    "epicerie": {"epicerie", "boulanger", "amicale"},
    "amicale": {"amicale"},
    # No current verified membership: oneself only.
    "carol": {"carol"},
    "bob": {"bob"},
}


def test_visible_member_ids(database: Database, people: dict[str, int]) -> None:
    assert {name: seen_by(database, people, name) for name in SEES} == SEES


def test_a_merchant_is_visible_to_the_residents_of_its_neighbourhood_only(
    database: Database, people: dict[str, int], make_member: Callable[..., int]
) -> None:
    with database.session() as session:
        # Someone of the city, outside the neighbourhood: no building, no merchant nearby.
        people = {**people, "ailleurs": make_member(session, "ailleurs", ("evry", "resident"))}
        session.commit()

    watchers = {name for name in ("alice", "tom", "syndic", "ailleurs")
                if "boulanger" in seen_by(database, people, name)}

    assert watchers == {"alice", "tom", "syndic"}


# -- names -------------------------------------------------------------------------------

def test_short_names() -> None:
    assert short_name("Amélie", "Rousseau") == "Amélie R."
    assert short_name("Amélie", "rousseau") == "Amélie R."
    assert short_name("Amélie", "Rousseau", full=True) == "Amélie Rousseau"
    assert short_name("Amélie", None) == "Amélie"
    assert short_name(" Jean-Marc ", " de la Fontaine ") == "Jean-Marc D."


# -- over HTTP ---------------------------------------------------------------------------

def test_a_neighbour_shows_as_first_name_and_initial_never_username_or_email(
    client: TestClient, people: dict[str, int]
) -> None:
    emma = login(client, "emma")
    changed = client.patch("/api/me", headers=emma, json={
        "first_name": "Emma", "last_name": "Wilson", "email": "emma@example.org"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["email"]) == ("Emma W.", "emma@example.org")

    response = client.get(f"/api/members/{people['emma']}", headers=login(client, "alice"))

    assert response.status_code == 200
    assert response.json() == {
        "id": people["emma"], "name": "Emma W.",
        "places": [{"role": "tenant", "place": {"id": "lilas", "kind": "building",
                                                "name": "Résidence Les Lilas"}}],
    }
    assert "emma@" not in response.text and '"emma"' not in response.text

    client.patch("/api/me", headers=emma, json={"show_full_name": True})
    shown = client.get(f"/api/members/{people['emma']}", headers=login(client, "alice")).json()
    assert shown["name"] == "Emma Wilson"


def test_another_buildings_resident_is_not_found(
    client: TestClient, people: dict[str, int]
) -> None:
    response = client.get(f"/api/members/{people['tom']}", headers=login(client, "alice"))
    missing = client.get("/api/members/999999", headers=login(client, "alice"))

    assert (response.status_code, response.json()) == (404, {
        "detail": f"no member {people['tom']} among the members you may see"})
    assert missing.status_code == 404


def test_a_merchant_profile_shows_its_neighbourhood(
    client: TestClient, people: dict[str, int]
) -> None:
    response = client.get(f"/api/members/{people['boulanger']}", headers=login(client, "tom"))

    assert response.json()["places"] == [{"role": "merchant", "place": {
        "id": "pyramides", "kind": "neighbourhood", "name": "Les Pyramides"}}]


def listed(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    ids, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/members", params=query, headers=headers)
        assert response.status_code == 200, response.text
        ids += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return ids


def test_the_members_list_follows_the_rule_and_pages(
    client: TestClient, people: dict[str, int]
) -> None:
    alice = login(client, "alice")
    expected = sorted(people[n] for n in ("alice", "emma", "syndic", "boulanger", "amicale"))

    assert listed(client, alice) == expected
    assert listed(client, alice, limit=2) == expected
    assert listed(client, login(client, "boulanger")) == sorted(
        [people["boulanger"], people["amicale"]])


def test_the_members_list_narrowed_to_a_place(
    client: TestClient, people: dict[str, int]
) -> None:
    expected = {
        "lilas/b/3": {"alice", "emma"},
        "lilas": {"alice", "emma", "syndic"},
        "pyramides": {"alice", "emma", "syndic", "boulanger"},  # not Les Tilleuls' people
        "evry": {"alice", "emma", "syndic", "boulanger", "amicale"},
    }
    names = {member_id: name for name, member_id in people.items()}
    alice = login(client, "alice")

    found = {place: {names[i] for i in listed(client, alice, place=place)} for place in expected}

    assert found == expected


def test_the_members_of_a_place_one_does_not_read_are_not_listed(client: TestClient) -> None:
    response = client.get("/api/members", params={"place": "tilleuls"},
                          headers=login(client, "alice"))

    assert (response.status_code, response.json()) == (404, {
        "detail": "no place 'tilleuls' among the places you may read"})


def test_patch_me_changes_only_what_is_sent(client: TestClient) -> None:
    alice = login(client, "alice")

    first = client.patch("/api/me", headers=alice, json={
        "first_name": "Alice", "last_name": "Martin", "language": "en",
        "quiet_start": "23:30", "quiet_end": "06:45"})
    second = client.patch("/api/me", headers=alice, json={"email": "alice@example.org"})
    cleared = client.patch("/api/me", headers=alice, json={"email": None})

    assert first.status_code == second.status_code == cleared.status_code == 200
    me = cleared.json()
    assert (me["name"], me["display_name"], me["language"], me["quiet_start"], me["quiet_end"],
            me["email"], me["show_full_name"]) == (
        "Alice M.", "Alice M.", "en", "23:30", "06:45", None, False)
    assert second.json()["email"] == "alice@example.org"


def test_patch_me_refuses_bad_values_clearly(client: TestClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"language": "de"}, "body.language: Input should be 'fr' or 'en'"),
        ({"quiet_start": "25:00"}, "body.quiet_start: String should match pattern"),
        ({"email": "not-an-address"}, "body.email: String should match pattern"),
        ({"frist_name": "Alice"}, "body.frist_name: Extra inputs are not permitted"),
        ({"language": None}, "language cannot be null"),
    ]
    alice = login(client, "alice")

    for body, message in cases:
        response = client.patch("/api/me", headers=alice, json=body)
        assert response.status_code == 422, body
        assert message in response.json()["detail"], response.json()
    assert client.get("/api/me", headers=alice).json()["language"] == "fr"


def test_public_name_of_a_deleted_account(database: Database, people: dict[str, int]) -> None:
    with database.session() as session:
        member = session.get(Member, people["alice"])
        assert member is not None
        member.deleted_at = utcnow()
        assert (public_name(member, "fr"), public_name(member, "en")) == (
            "Compte supprimé", "Deleted account")
