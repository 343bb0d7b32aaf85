"""Notification preferences: the API round trip, its validation, and what they decide."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from social.api import create_app
from social.community_models import NotificationPref
from social.db import Database
from social.models import POST_KINDS
from social.preferences import DEFAULT_MODES, load_modes, save_modes, wants_digest, wants_instant

if TYPE_CHECKING:
    from tests.social.conftest import World

pytestmark = pytest.mark.timeout(60)

URL = "/api/me/notification-preferences"
DEFAULTS = {kind: ("instant" if kind in ("alert", "notice") else "digest") for kind in POST_KINDS}


@pytest.fixture
def client(sqlite_database: Database, sqlite_world: World) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_database)) as client:
        yield client


def login(client: TestClient, username: str = "alice") -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": username, "password": "secret"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_defaults_alerts_and_notices_at_once_the_rest_in_the_digest(client: TestClient) -> None:
    response = client.get(URL, headers=login(client))

    assert response.status_code == 200
    assert response.json() == {"kinds": DEFAULTS,
                               "quiet_hours": {"start": "22:00", "end": "07:00"}}


def test_put_replaces_and_get_reads_it_back(client: TestClient) -> None:
    headers = login(client)
    wanted = {"kinds": {"message": "off", "event": "instant", "alert": "digest"},
              "quiet_hours": {"start": "23:30", "end": "06:45"}}

    response = client.put(URL, json=wanted, headers=headers)

    expected = {"kinds": {**DEFAULTS, "message": "off", "event": "instant", "alert": "digest"},
                "quiet_hours": {"start": "23:30", "end": "06:45"}}
    assert response.status_code == 200, response.text
    assert response.json() == expected
    assert client.get(URL, headers=headers).json() == expected
    # what GET answers can be PUT back as is
    assert client.put(URL, json=expected, headers=headers).json() == expected
    # kinds left out go back to their default
    reset = client.put(URL, json={"kinds": {}, "quiet_hours": {"start": "22:00", "end": "22:00"}},
                       headers=headers)
    assert reset.json() == {"kinds": DEFAULTS, "quiet_hours": {"start": "22:00", "end": "22:00"}}
    # another member's preferences are untouched
    assert client.get(URL, headers=login(client, "emma")).json()["kinds"] == DEFAULTS


@pytest.mark.parametrize(("body", "message"), [
    ({"kinds": {"selfie": "off"}, "quiet_hours": {"start": "22:00", "end": "07:00"}},
     "body.kinds: Value error, unknown post kind 'selfie'; expected one of message, alert,"),
    ({"kinds": {"alert": "sometimes"}, "quiet_hours": {"start": "22:00", "end": "07:00"}},
     "body.kinds.alert: Input should be 'instant', 'digest' or 'off'"),
    ({"kinds": {}, "quiet_hours": {"start": "24:00", "end": "07:00"}},
     "body.quiet_hours.start: Value error, '24:00' is not a time of day; write it like 22:00"),
    ({"kinds": {}, "quiet_hours": {"start": "22:00", "end": "7h"}},
     "body.quiet_hours.end: Value error, '7h' is not a time of day"),
    ({"kinds": {}}, "body.quiet_hours: Field required"),
    ({"kinds": {}, "quiet_hours": {"start": "22:00", "end": "07:00"}, "sms": True},
     "body.sms: Extra inputs are not permitted"),
])
def test_invalid_preferences_are_refused_with_the_reason(
    client: TestClient, body: dict[str, object], message: str
) -> None:
    headers = login(client)
    response = client.put(URL, json=body, headers=headers)

    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert client.get(URL, headers=headers).json()["kinds"] == DEFAULTS  # nothing stored


def test_preferences_need_a_login(client: TestClient) -> None:
    assert client.get(URL).status_code == 401
    put = client.put(URL, json={"kinds": {}, "quiet_hours": {"start": "22:00", "end": "07:00"}})
    assert put.status_code == 401


def test_saving_again_and_again_updates_rows_in_place(database: Database, world: World) -> None:
    for chosen in ({"message": "off", "poll": "instant"}, {"message": "instant"},
                   {"message": "off", "lending": "off"}, {}):
        with database.session() as session:
            save_modes(session, world.resident, chosen)  # type: ignore[arg-type]
            session.commit()
        with database.session() as session:
            assert load_modes(session, world.resident) == {**DEFAULTS, **chosen}
            stored = set(session.scalars(select(NotificationPref.kind).where(
                NotificationPref.member_id == world.resident)))
            assert stored == set(chosen)
    with database.session() as session, pytest.raises(ValueError, match="invalid preference"):
        save_modes(session, world.resident, {"selfie": "off"})  # type: ignore[dict-item]


NOON = datetime(2026, 3, 14, 11, 0, tzinfo=UTC)  # 12:00 in Paris
NIGHT = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)  # 00:30 in Paris
QUIET = ("22:00", "07:00")


@pytest.mark.parametrize(("mode", "at", "critical", "expected"), [
    ("instant", NOON, False, True),
    ("instant", NIGHT, False, False),   # quiet hours hold it back
    ("digest", NOON, False, False),
    ("off", NOON, False, False),
    ("instant", NIGHT, True, True),     # a critical alert overrides quiet hours...
    ("off", NIGHT, True, True),         # ...and "off"
    ("digest", NOON, True, True),
])
def test_only_critical_alerts_override_quiet_hours_and_off(
    mode: str, at: datetime, critical: bool, expected: bool
) -> None:
    modes = {**DEFAULT_MODES, "alert": mode}
    assert wants_instant(modes, QUIET, "alert", critical=critical, at=at) is expected


def test_critical_is_for_alerts_and_broken_quiet_hours_do_not_silence() -> None:
    modes = {**DEFAULT_MODES, "notice": "off"}
    assert wants_instant(modes, QUIET, "notice", critical=True, at=NOON) is False
    assert wants_instant(DEFAULT_MODES, ("25:00", "07:00"), "alert", critical=False,
                         at=NIGHT) is True
    assert wants_instant(DEFAULT_MODES, ("22:00", "22:00"), "alert", critical=False,
                         at=NIGHT) is True  # equal times: no quiet hours
    assert wants_digest(DEFAULT_MODES, "message") and not wants_digest(DEFAULT_MODES, "alert")
