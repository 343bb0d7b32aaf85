"""Hall display links over HTTP, on SQLite and PostgreSQL: who makes and revokes them, and
what the public board shows — and, above all, what it never shows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from rules.actions import ClearAlarm, NoticeDraft, PostDraft, RaiseAlarm
from social.alarms import AlarmBook
from social.api import create_app
from social.community_models import DisplayLink
from social.db import Database
from social.display import token_hash
from social.models import Member, Place, Post, utcnow
from social.posts import content_from, create_post
from tests.social.conftest import World

Headers = dict[str, str]


@pytest.fixture
def client(database: Database, world: World,
           make_member: Callable[..., int]) -> Iterator[TestClient]:
    with database.session() as session:
        make_member(session, "syndic2", ("tilleuls", "syndic"))
        make_member(session, "poseur", ("lilas", "installer"))
        session.commit()
    with TestClient(create_app(database)) as client:
        yield client


def login(client: TestClient, username: str) -> Headers:
    response = client.post("/api/auth/token", data={"username": username, "password": "secret"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def make_link(client: TestClient, headers: Headers, building: str = "lilas",
              label: str = "Hall entrée B") -> dict[str, Any]:
    response = client.post(f"/api/buildings/{building}/display-links", json={"label": label},
                           headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def leak(rule: str, device: str, post_place: str, building: str = "lilas", *,
         severity: str = "critical") -> RaiseAlarm:
    """A leak as the rules engine raises it: the post says no more than ``reveal`` allows."""
    return RaiseAlarm(
        rule_id=rule, device_id=device, place_id=f"{building}/b/3/31" if building == "lilas"
        else f"{building}/a/1/11", building_id=building, severity=severity,
        title={"fr": "Fuite d'eau appartement 31", "en": "Water leak flat 31"},
        at=time.time(),
        post=PostDraft(place_id=post_place, kind="alert",
                       title={"fr": "Fuite d'eau — Entrée B, 3e étage",
                              "en": "Water leak — Entrance B, floor 3"},
                       body={"fr": "Les gardiens sont prévenus."}),
        notice=(NoticeDraft(unit_id="lilas/b/3/31", title={"fr": "Coupez l'eau chez vous"})
                if building == "lilas" else None),
        acknowledge_text={},
    )


def test_a_manager_makes_a_link_shown_once_and_lists_it(
    client: TestClient, database: Database
) -> None:
    syndic = login(client, "syndic")
    made = make_link(client, syndic)

    token = made["token"]
    assert len(token) >= 32 and made["hint"] == token[:4]
    assert made["board_path"] == f"/api/display/{token}"
    assert (made["building"]["id"], made["label"], made["status"]) == (
        "lilas", "Hall entrée B", "active")
    assert made["created_by"]["display_name"] == "Syndic"
    with database.session() as session:
        stored = session.scalars(select(DisplayLink)).one()
        assert stored.token_hash == token_hash(token) and token not in stored.token_hash

    listed = client.get("/api/buildings/lilas/display-links", headers=syndic)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert "token" not in item and "board_path" not in item
    assert (item["id"], item["hint"], item["last_used_at"]) == (made["id"], made["hint"], None)


@pytest.mark.parametrize(("username", "building", "code", "detail"), [
    ("alice", "lilas", 403, "only the managers of Résidence Les Lilas may make display links"),
    ("poseur", "lilas", 403, "only the managers of Résidence Les Lilas may make display links"),
    ("syndic2", "lilas", 403, "only the managers of Résidence Les Lilas may make display links"),
    ("syndic", "atlantis", 404, "no building 'atlantis' in the site"),
    ("syndic", "pyramides", 400, "'pyramides' is a neighbourhood, not a building"),
])
def test_only_the_buildings_managers_make_or_list_links(
    client: TestClient, username: str, building: str, code: int, detail: str
) -> None:
    headers = login(client, username)
    made = client.post(f"/api/buildings/{building}/display-links", json={}, headers=headers)
    listed = client.get(f"/api/buildings/{building}/display-links", headers=headers)

    assert (made.status_code, listed.status_code) == (code, code)
    assert made.json()["detail"].startswith(detail)
    assert client.get("/api/buildings/lilas/display-links").status_code == 401


def test_revoking_closes_the_board_and_only_its_managers_may(client: TestClient) -> None:
    syndic = login(client, "syndic")
    made = make_link(client, syndic)
    board = f"/api/display/{made['token']}"
    assert client.get(board).status_code == 200

    for other in ("syndic2", "alice"):
        refused = client.delete(f"/api/display-links/{made['id']}", headers=login(client, other))
        assert refused.status_code == 404
        assert refused.json() == {"detail": f"no display link {made['id']} among those of the "
                                            "buildings you manage"}
    assert client.get(board).status_code == 200

    revoked = client.delete(f"/api/display-links/{made['id']}", headers=syndic)
    assert revoked.status_code == 200
    assert (revoked.json()["status"], revoked.json()["revoked_at"] is not None) == (
        "revoked", True)
    again = client.delete(f"/api/display-links/{made['id']}", headers=syndic)
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]

    closed = client.get(board)
    assert closed.status_code == 404
    assert closed.json()["detail"].startswith("this display link was revoked on ")
    assert closed.headers["cache-control"] == "no-store"
    unknown = client.get("/api/display/" + "x" * 32)
    assert unknown.status_code == 404
    assert unknown.json()["detail"].startswith("no such display link")
    assert [i["status"] for i in client.get("/api/buildings/lilas/display-links",
                                            headers=syndic).json()["items"]] == ["revoked"]


def test_the_board_shows_public_notices_and_incidents_and_nothing_private(
    client: TestClient, database: Database, world: World
) -> None:
    syndic = login(client, "syndic")
    now = utcnow()
    pinned = client.post("/api/posts", headers=syndic, json={
        "place": "lilas", "kind": "notice", "title": "Coupure d'eau jeudi",
        "body": "De 9 h à 12 h.", "data": {"pinned_until": (now + timedelta(days=2)).isoformat()},
    })
    assert pinned.status_code == 201, pinned.text

    def notice(place: str, title: str, **extra: Any) -> int:
        return create_post(session, place, content_from({"fr": title}), kind="notice",
                           author_id=world.manager, **extra).id

    with database.session() as session:
        entrance = notice("lilas/b", "Ascenseur B en maintenance")
        notice("lilas/b/3", "Palier du 3e repeint")  # a floor: its residents only
        notice("lilas/b/3/31", "Colis pour le 31")  # a flat: never in the hall
        notice("lilas", "Entre nous", residents_only=True)
        notice("lilas", "Expirée", expires_at=now - timedelta(minutes=1))
        notice("tilleuls", "Autre immeuble")
        hidden = notice("lilas", "Masquée")
        resolved = notice("lilas", "Réglée")
        create_post(session, "lilas", content_from({"fr": "Qui a vu mon chat ?"}),
                    author_id=world.resident)  # a message, not a notice
        session.execute(update(Post).where(Post.id == hidden).values(moderation="hidden"))
        session.execute(update(Post).where(Post.id == resolved).values(status="resolved"))
        book = AlarmBook()
        [shown] = book.apply(session, [leak("water-leak", "leak-31", "lilas")])
        book.apply(session, [leak("floor-leak", "leak-32", "lilas/b/3", severity="major")])
        book.apply(session, [leak("water-leak", "leak-11", "tilleuls", "tilleuls")])
        [gone] = book.apply(session, [leak("old-leak", "leak-21", "lilas")])
        book.apply(session, [ClearAlarm("old-leak", "leak-21", time.time())])
        session.commit()
    acknowledged = client.post(f"/api/alarms/{shown.alarm_id}/acknowledge", headers=syndic,
                               json={"note": "M. Dupont, plombier, arrive"})
    assert acknowledged.status_code == 200, acknowledged.text

    token = make_link(client, syndic)["token"]
    response = client.get(f"/api/display/{token}")  # no login

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    board = response.json()
    assert board["building"] == {"id": "lilas", "kind": "building",
                                 "name": "Résidence Les Lilas"}
    assert (board["language"], board["refresh_seconds"]) == ("fr", 60)
    assert [(n["title"], n["pinned"], n["place"]["id"]) for n in board["notices"]] == [
        ("Coupure d'eau jeudi", True, "lilas"),
        ("Ascenseur B en maintenance", False, "lilas/b"),
    ]
    assert board["notices"][0]["body"] == "De 9 h à 12 h."
    assert board["notices"][1]["id"] == entrance
    assert board["incidents"] == [{
        "id": shown.post_id, "place": {"id": "lilas", "kind": "building",
                                       "name": "Résidence Les Lilas"},
        "title": "Fuite d'eau — Entrée B, 3e étage", "severity": "critical",
        "acknowledged": True, "since": board["incidents"][0]["since"],
    }]
    assert gone.post_id not in {i["id"] for i in board["incidents"]}
    text = response.text
    for private in ("Syndic", "Dupont", "lilas/b/3", "appartement 31", "flat 31", "leak-",
                    "water-leak", "Alice", "gardiens", "Entre nous", "Colis", "Palier du 3e"):
        assert private not in text, f"{private!r} must not reach the hall"


def test_the_board_speaks_the_buildings_language(
    client: TestClient, database: Database
) -> None:
    with database.session() as session:
        session.execute(update(Place).where(Place.id == "tilleuls").values(language="en"))
        create_post(session, "tilleuls", content_from({"fr": "Réunion mardi",
                                                       "en": "Meeting on Tuesday"}),
                    kind="notice")
        session.commit()
    token = make_link(client, login(client, "syndic2"), "tilleuls")["token"]

    board = client.get(f"/api/display/{token}").json()

    assert board["language"] == "en"
    assert [n["title"] for n in board["notices"]] == ["Meeting on Tuesday"]


def test_a_screens_reads_are_stamped_at_most_every_few_minutes(
    client: TestClient, database: Database
) -> None:
    syndic = login(client, "syndic")
    made = make_link(client, syndic)
    board = f"/api/display/{made['token']}"

    client.get(board)
    first = client.get("/api/buildings/lilas/display-links",
                       headers=syndic).json()["items"][0]["last_used_at"]
    client.get(board)
    assert client.get("/api/buildings/lilas/display-links",
                      headers=syndic).json()["items"][0]["last_used_at"] == first
    with database.session() as session:  # the screen last read it ten minutes ago
        session.execute(update(DisplayLink).values(last_used_at=utcnow() - timedelta(minutes=10)))
        session.commit()
    client.get(board)
    later = client.get("/api/buildings/lilas/display-links",
                       headers=syndic).json()["items"][0]["last_used_at"]
    assert first is not None and later is not None and later > first


def test_a_deleted_managers_links_keep_working_without_a_name(
    client: TestClient, database: Database, world: World
) -> None:
    made = make_link(client, login(client, "syndic"))
    with database.session() as session:
        member = session.get(Member, world.manager)
        assert member is not None
        session.delete(member)
        session.commit()

    assert client.get(f"/api/display/{made['token']}").status_code == 200
