"""The HTTP API on a real SQLite file, through FastAPI's test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from rules.actions import ClearAlarm, RaiseAlarm
from social.alarms import AlarmBook
from social.api import create_app
from social.db import Database

if TYPE_CHECKING:
    from tests.social.conftest import World

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(sqlite_database: Database, sqlite_world: World) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_database)) as client:
        yield client


def login(client: TestClient, username: str, password: str = "secret") -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_token_flow(client: TestClient) -> None:
    response = client.post("/api/auth/token", data={"username": "alice", "password": "secret"})

    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 12 * 3600
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    assert [(m["place"]["id"], m["role"], m["verified"]) for m in me.json()["memberships"]] == [
        ("lilas/b/3/31", "resident", True)
    ]


def test_token_lifetime_follows_the_app_setting(
    sqlite_database: Database, sqlite_world: World
) -> None:
    with TestClient(create_app(sqlite_database, token_ttl=timedelta(minutes=5))) as client:
        response = client.post("/api/auth/token", data={"username": "alice", "password": "secret"})
    assert response.json()["expires_in"] == 300


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), ("nobody", "secret")])
def test_wrong_credentials_are_401(client: TestClient, username: str, password: str) -> None:
    response = client.post("/api/auth/token", data={"username": username, "password": password})

    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}
    assert response.headers["www-authenticate"] == "Bearer"


def test_missing_token_is_401(client: TestClient) -> None:
    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "not authenticated: send 'Authorization: Bearer <token>' "
                  "(get one at /api/auth/token)"
    }


def test_unknown_token_is_401(client: TestClient) -> None:
    response = client.get("/api/feed", headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 401
    assert response.json() == {"detail": "invalid or expired token: log in again"}


def test_expired_token_is_401(sqlite_database: Database, sqlite_world: World) -> None:
    with TestClient(create_app(sqlite_database, token_ttl=timedelta(seconds=-1))) as client:
        headers = login(client, "alice")
        response = client.get("/api/me", headers=headers)
    assert response.status_code == 401


def test_feed_pages_have_no_duplicate_and_no_gap(
    client: TestClient, sqlite_database: Database, post_at: Callable[..., int]
) -> None:
    with sqlite_database.session() as session:
        mine = []
        for i in range(25):
            # Groups of three posts share a timestamp, so the id must break ties.
            at = T0 + timedelta(minutes=i // 3)
            mine.append((at, post_at(session, ("lilas/b/3/31", "lilas", "evry")[i % 3], at=at)))
            post_at(session, "lilas/a", at=at)  # another entrance: never in alice's feed
        session.commit()
    expected = [post_id for _at, post_id in sorted(mine, reverse=True)]
    headers = login(client, "alice")

    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, str | int] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/feed", params=params, headers=headers).json()
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if pages == 1:  # a post published while scrolling must not shift later pages
            with sqlite_database.session() as session:
                post_at(session, "lilas", at=T0 + timedelta(hours=1))
                session.commit()

    assert pages == 3
    assert seen == expected


def test_feed_item_shape_and_language(
    client: TestClient, sqlite_database: Database, post_at: Callable[..., int]
) -> None:
    with sqlite_database.session() as session:
        post_at(session, "lilas/b/3", fr="Ascenseur en panne", en="Lift out of order", at=T0)
        post_at(session, "lilas/b", fr="Réunion mardi", at=T0 - timedelta(hours=1))
        session.commit()

    french = client.get("/api/feed", headers=login(client, "alice")).json()["items"]
    english = client.get("/api/feed", headers=login(client, "emma")).json()["items"]

    assert french[0] == {
        "id": french[0]["id"],
        "place": {"id": "lilas/b/3", "kind": "floor",
                  "name": "Résidence Les Lilas, Entrée B, 3e étage"},
        "kind": "message", "title": "Ascenseur en panne", "body": "", "status": "active",
        "created_at": "2026-03-14T09:00:00Z", "resolved_at": None, "alarm_id": None,
        "language": "fr", "updated_at": "2026-03-14T09:00:00Z", "author": None,
        "residents_only": False, "data": {}, "label": None, "pinned": False,
        "pinned_until": None, "expires_at": None, "moderation": "visible",
        "counts": {"comments": 0, "reactions": {}, "attending": None, "votes": None},
        "my_reactions": [], "vouched_by": None, "alarm_state": None,
    }
    assert [item["title"] for item in english] == ["Lift out of order", "Réunion mardi"]


def test_feed_narrowed_to_one_place(
    client: TestClient, sqlite_database: Database, post_at: Callable[..., int]
) -> None:
    with sqlite_database.session() as session:
        for place in ("lilas/b/3/31", "lilas", "lilas", "evry"):
            post_at(session, place)
        session.commit()
    headers = login(client, "alice")

    lilas = client.get("/api/feed", params={"place": "lilas"}, headers=headers)
    other = client.get("/api/feed", params={"place": "lilas/a"}, headers=headers)

    assert [item["place"]["id"] for item in lilas.json()["items"]] == ["lilas", "lilas"]
    assert other.status_code == 404
    assert other.json() == {"detail": "no place 'lilas/a' among the places you may read"}


def test_feed_rejects_a_forged_cursor(client: TestClient) -> None:
    response = client.get("/api/feed", params={"cursor": "bm9wZQ"}, headers=login(client, "alice"))

    assert response.status_code == 400
    assert response.json() == {
        "detail": "invalid cursor: pass back the next_cursor of a previous page as is"
    }


def test_alarms_are_403_for_a_resident(client: TestClient) -> None:
    response = client.get("/api/alarms", headers=login(client, "alice"))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "alarms are for building managers: you hold no verified manager, syndic or "
                  "landlord membership of a building"
    }


def test_manager_reads_the_alarms_of_their_building(
    client: TestClient, sqlite_database: Database
) -> None:
    def leak(device: str, place: str, building: str, at: datetime) -> RaiseAlarm:
        return RaiseAlarm(rule_id="water-leak", device_id=device, place_id=place,
                          building_id=building, severity="critical",
                          title={"fr": "Fuite d'eau", "en": "Water leak"}, at=at.timestamp())

    with sqlite_database.session() as session:
        AlarmBook().apply(session, [
            leak("cave-b", "lilas/b/basement", "lilas", T0),
            leak("cave-a", "lilas/a", "lilas", T0 + timedelta(minutes=1)),
            leak("cave-t", "tilleuls/a", "tilleuls", T0),
            ClearAlarm("water-leak", "cave-a", (T0 + timedelta(minutes=5)).timestamp()),
        ])
        session.commit()
    headers = login(client, "syndic")

    def devices(state: str) -> list[str]:
        response = client.get("/api/alarms", params={"state": state}, headers=headers)
        assert response.status_code == 200, response.text
        return [alarm["device_id"] for alarm in response.json()["items"]]

    assert devices("active") == ["cave-b"]
    assert devices("cleared") == ["cave-a"]
    assert devices("all") == ["cave-a", "cave-b"]
    first = client.get("/api/alarms", headers=headers).json()["items"][0]
    assert (first["title"], first["place"]["kind"], first["episode"]) == (
        "Fuite d'eau", "floor", 1
    )


def test_validation_errors_are_clear_json(client: TestClient) -> None:
    headers = login(client, "syndic")

    response = client.get("/api/alarms", params={"state": "closed"}, headers=headers)
    feed = client.get("/api/feed", params={"limit": 0}, headers=headers)

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "invalid request: query.state: Input should be 'active', 'acknowledged', 'open', "
        "'cleared' or 'all'"
    )
    assert response.json()["errors"] == [{
        "loc": ["query", "state"],
        "msg": "Input should be 'active', 'acknowledged', 'open', 'cleared' or 'all'",
        "type": "literal_error",
    }]
    assert feed.json()["detail"] == (
        "invalid request: query.limit: Input should be greater than or equal to 1"
    )


def test_login_without_a_password_is_a_validation_error(client: TestClient) -> None:
    response = client.post("/api/auth/token", data={"username": "alice"})

    assert response.status_code == 422
    assert response.json()["detail"] == "invalid request: body.password: Field required"


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/api/nope")

    assert response.status_code == 404
    assert response.json() == {"detail": "no such route: GET /api/nope"}


def test_wrong_method_is_json_405(client: TestClient) -> None:
    response = client.delete("/api/feed")

    assert response.status_code == 405
    assert response.json() == {"detail": "method DELETE is not allowed on /api/feed"}


def test_healthz_needs_no_login(client: TestClient) -> None:
    response = client.get("/api/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_a_dead_database_with_503(tmp_path: Path) -> None:
    missing = Database(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'palier.sqlite3'}")
    with TestClient(create_app(missing)) as client:
        response = client.get("/api/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable (OperationalError)"}


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    # Each part of the API checks its own routes too; these are the original ones.
    assert {
        "/api/auth/token", "/api/me", "/api/feed", "/api/alarms",
        "/api/alarms/{alarm_id}/acknowledge", "/api/alarms/{alarm_id}/explain",
        "/api/notifications", "/api/notifications/{notification_id}/read", "/api/healthz",
    } <= set(paths)
    assert client.get("/docs").status_code == 200
