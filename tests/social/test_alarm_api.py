"""Acknowledging and explaining alarms, and notifications, over HTTP (real SQLite file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from rules.actions import EscalationStep, Evidence, NoticeDraft, PostDraft, RaiseAlarm
from social.alarms import AlarmBook, escalate_due
from social.api import create_app
from social.db import Database
from social.models import Membership, Post

if TYPE_CHECKING:
    from tests.social.conftest import World

#: A weekday noon in Paris, in the past: notifications made then are delivered now.
T0 = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


@pytest.fixture
def client(
    sqlite_database: Database, sqlite_world: World, make_member: Callable[..., int]
) -> Iterator[TestClient]:
    with sqlite_database.session() as session:
        make_member(session, "syndic2", ("tilleuls", "syndic"))
        # Memberships are checked when the alarm happens: make them current at T0.
        session.execute(update(Membership).where(Membership.ended_at.is_(None))
                        .values(started_at=T0 - timedelta(days=365)))
        session.commit()
    with TestClient(create_app(sqlite_database)) as client:
        yield client


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/auth/token", data={"username": username, "password": "secret"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def raise_leak(database: Database) -> int:
    leak = RaiseAlarm(
        rule_id="water-leak", device_id="leak-lilas-b-cave", place_id="lilas/b/basement",
        building_id="lilas", severity="critical", title={"fr": "Fuite d'eau", "en": "Water leak"},
        at=T0.timestamp(),
        post=PostDraft(place_id="lilas", kind="alert", title={"fr": "Fuite d'eau au sous-sol B"},
                       body={"fr": "Les gardiens sont prévenus."}),
        notice=NoticeDraft(unit_id="lilas/b/3/31", title={"fr": "Coupure d'eau à 14 h",
                                                           "en": "Water cut at 2 pm"}),
        acknowledge_text={"fr": "Un plombier est en route : {{ note }}"},
        evidence=(Evidence("leak-lilas-b-cave", "water_leak = true", T0.timestamp() - 120,
                           "water_leak is true"),
                  Evidence("leak-lilas-b-cave-2", "water_leak = true", T0.timestamp() - 60,
                           "water_leak is true")),
        escalation=(),
        quiet_hours_apply=False,
    )
    with database.session() as session:
        [change] = AlarmBook().apply(session, [leak], now=T0)
        session.commit()
    return change.alarm_id


def test_a_manager_acknowledges_and_the_post_is_updated_once(
    client: TestClient, sqlite_database: Database
) -> None:
    alarm_id = raise_leak(sqlite_database)
    syndic = login(client, "syndic")

    response = client.post(f"/api/alarms/{alarm_id}/acknowledge",
                           json={"note": "arrivée 15 h"}, headers=syndic)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["state"], body["ack_note"], body["acknowledged_by"]) == (
        alarm_id, "acknowledged", "arrivée 15 h", {"id": body["acknowledged_by"]["id"],
                                                    "display_name": "Syndic"})
    assert body["acknowledged_at"] is not None
    feed = client.get("/api/feed", headers=login(client, "alice")).json()["items"]
    alerts = [item for item in feed if item["alarm_id"] == alarm_id]
    assert [a["body"] for a in alerts] == [
        "Les gardiens sont prévenus.\n\nUn plombier est en route : arrivée 15 h"]
    with sqlite_database.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 1
    listed = client.get("/api/alarms", headers=syndic).json()["items"]
    assert [(a["id"], a["state"], a["ack_note"]) for a in listed] == [
        (alarm_id, "acknowledged", "arrivée 15 h")]
    assert client.get("/api/alarms", params={"state": "active"},
                      headers=syndic).json()["items"] == []


def test_acknowledging_twice_is_409(client: TestClient, sqlite_database: Database) -> None:
    alarm_id = raise_leak(sqlite_database)
    syndic = login(client, "syndic")
    client.post(f"/api/alarms/{alarm_id}/acknowledge", json={"note": "ok"}, headers=syndic)

    again = client.post(f"/api/alarms/{alarm_id}/acknowledge", json={"note": "re"},
                        headers=syndic)

    assert again.status_code == 409
    assert again.json()["detail"].startswith(
        f"alarm {alarm_id} is already acknowledged by Syndic at ")


@pytest.mark.parametrize("username", ["alice", "syndic2", "boulanger"])
def test_acknowledge_and_explain_are_404_for_anyone_but_its_managers(
    client: TestClient, sqlite_database: Database, username: str
) -> None:
    alarm_id = raise_leak(sqlite_database)
    headers = login(client, username)
    expected = {"detail": f"no alarm {alarm_id} among the alarms of the buildings you manage"}
    missing = {"detail": "no alarm 999 among the alarms of the buildings you manage"}

    ack = client.post(f"/api/alarms/{alarm_id}/acknowledge", json={"note": "x"}, headers=headers)
    explain = client.get(f"/api/alarms/{alarm_id}/explain", headers=headers)
    unknown = client.get("/api/alarms/999/explain", headers=headers)

    assert (ack.status_code, ack.json()) == (404, expected)
    assert (explain.status_code, explain.json()) == (404, expected)
    assert (unknown.status_code, unknown.json()) == (404, missing)  # the same answer


def test_a_too_long_note_is_a_validation_error(
    client: TestClient, sqlite_database: Database
) -> None:
    alarm_id = raise_leak(sqlite_database)

    response = client.post(f"/api/alarms/{alarm_id}/acknowledge", json={"note": "x" * 2001},
                           headers=login(client, "syndic"))

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "invalid request: body.note: String should have at most 2000 characters")


def test_explain_gives_the_evidence_and_the_times(
    client: TestClient, sqlite_database: Database
) -> None:
    lift = RaiseAlarm(
        rule_id="lift-b", device_id="lift-lilas-b", place_id="lilas/b", building_id="lilas",
        severity="major", title={"fr": "Ascenseur B en panne"}, at=T0.timestamp(),
        evidence=(Evidence("lift-lilas-b", "status = fault", T0.timestamp(), "status is fault"),),
        escalation=(EscalationStep(after=1800),),
    )
    with sqlite_database.session() as session:
        [change] = AlarmBook().apply(session, [lift], now=T0)
        escalate_due(session, T0 + timedelta(minutes=31))
        session.commit()

    response = client.get(f"/api/alarms/{change.alarm_id}/explain",
                          headers=login(client, "syndic"))

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rule_id"], body["severity"], body["alarm"]["state"]) == (
        "lift-b", "major", "active")
    assert body["evidence"] == [{"device_id": "lift-lilas-b", "what": "status = fault",
                                 "at": "2026-03-10T11:00:00Z", "condition": "status is fault"}]
    assert body["times"] == {
        "raised_at": "2026-03-10T11:00:00Z", "acknowledged_at": None, "cleared_at": None,
        "escalations": [{"step": 0, "after_seconds": 1800.0, "notify": "on_call",
                         "due_at": "2026-03-10T11:30:00Z",
                         "escalated_at": "2026-03-10T11:31:00Z", "help_request": False}],
    }


def test_notifications_are_the_callers_own_and_can_be_read(
    client: TestClient, sqlite_database: Database
) -> None:
    raise_leak(sqlite_database)
    alice, syndic = login(client, "alice"), login(client, "syndic")

    mine = client.get("/api/notifications", headers=alice).json()["items"]
    theirs = client.get("/api/notifications", headers=syndic).json()["items"]

    assert [(n["kind"], n["title"]) for n in mine] == [("notice", "Coupure d'eau à 14 h")]
    assert [(n["kind"], n["title"]) for n in theirs] == [("alarm", "Fuite d'eau")]
    notice_id = mine[0]["id"]
    assert client.post(f"/api/notifications/{notice_id}/read",
                       headers=syndic).status_code == 404
    read = client.post(f"/api/notifications/{notice_id}/read", headers=alice)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/api/notifications", params={"unread": True},
                      headers=alice).json()["items"] == []
