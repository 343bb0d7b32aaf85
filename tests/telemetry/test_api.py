"""The history and summary API over HTTP: who may read what, and clear refusals.

The app is the real one (social API, real accounts and memberships from the
installation, the history router) around a store filled directly; the test through
a running gateway and MQTT is ``test_gateway_history.py``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devices.records import Reading
from devices.registry import DeviceRegistry
from gateway.api import history
from gateway.config.loader import load_installation
from gateway.telemetry.store import TelemetryStore
from social.accounts import create_member, issue_token, seed_members
from social.api import create_app
from social.db import Database
from social.models import Membership, utcnow
from social.places import sync_places
from tests.integration.harness import INSTALLATION as GATEWAY_INSTALLATION
from tests.telemetry.conftest import T0, Clock
from tests.telemetry.test_summary import D2, D3, at, fill_building

METERS_INSTALLATION = Path(__file__).parent / "installation"
Client = Callable[[str], TestClient]


def build_app(installation_dir: Path, database: Database, store: TelemetryStore | None) -> FastAPI:
    """What the gateway builds, minus MQTT: the social API with the history router mounted."""
    installation = load_installation(installation_dir)
    app = create_app(database)
    app.include_router(history.router)
    app.state.gateway = SimpleNamespace(
        installation=installation,
        pipeline=SimpleNamespace(registry=DeviceRegistry(installation.bridges)))
    if store is not None:
        app.state.telemetry = store
    return app


@pytest.fixture(scope="module")
def social(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One social database for the module: hashing passwords is what takes time here.

    Both installations have the same places and accounts, so they share it.
    """
    gateway, meters = (load_installation(p) for p in (GATEWAY_INSTALLATION, METERS_INSTALLATION))
    def accounts(members):
        return sorted(members, key=lambda m: m.username)

    assert gateway.places == meters.places
    assert accounts(gateway.members) == accounts(meters.members)
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('social') / 'palier.sqlite3'}")
    database.migrate()
    with database.session() as session:
        sync_places(session, list(gateway.places.values()))
        seed_members(session, gateway.members)
        session.commit()
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def tokens(social: Database) -> Callable[[str], str]:
    issued: dict[str, str] = {}

    def token(username: str) -> str:
        if username not in issued:
            with TestClient(create_app(social)) as client:
                reply = client.post("/api/auth/token",
                                    data={"username": username, "password": "test-pass"})
                assert reply.status_code == 200, reply.text
                issued[username] = reply.json()["access_token"]
        return issued[username]

    return token


def logged_in(app: FastAPI, tokens: Callable[[str], str]) -> tuple[Client, list[TestClient]]:
    clients: list[TestClient] = []

    def login(username: str) -> TestClient:
        client = TestClient(app, headers={"Authorization": f"Bearer {tokens(username)}"})
        clients.append(client)
        return client

    return login, clients


@pytest.fixture
def gateway_api(social: Database, tokens: Callable[[str], str],
                store: TelemetryStore) -> Iterator[Client]:
    """The integration installation: lilas (syndic, installateur, amelie), tilleuls (david)."""
    login, clients = logged_in(build_app(GATEWAY_INSTALLATION, social, store), tokens)
    yield login
    for client in clients:
        client.close()


@pytest.fixture
def meters_api(social: Database, tokens: Callable[[str], str], store: TelemetryStore,
               clock: Clock) -> Iterator[Client]:
    """The meters installation, three days of readings, and 'now' on 5 March."""
    fill_building(store, clock)
    clock.now = at(D3, 30)
    login, clients = logged_in(build_app(METERS_INSTALLATION, social, store), tokens)
    yield login
    for client in clients:
        client.close()


HALL = "/api/devices/temp-lilas-a-hall/points/temperature/history"


def hall_readings(store: TelemetryStore) -> list[Reading]:
    rows = [Reading("temp-lilas-a-hall", "temperature", 18 + (i % 10) / 4, T0 - 7200 + 15 * i)
            for i in range(480)]
    store.write_batch(rows)
    return rows


def test_installer_and_manager_read_a_point_history(gateway_api: Client,
                                                   store: TelemetryStore) -> None:
    hall_readings(store)
    start = datetime.fromtimestamp(T0 - 7200, UTC).isoformat()  # 2026-03-09T22:00:00+00:00
    for username in ("installateur", "syndic"):
        reply = gateway_api(username).get(HALL, params={"from": start, "to": str(int(T0)),
                                                        "every": "5m"})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert {k: body[k] for k in ("device", "point", "unit", "every", "every_seconds",
                                     "source", "coarsened", "notes", "from", "to")} == {
            "device": "temp-lilas-a-hall", "point": "temperature", "unit": "°C", "every": "5m",
            "every_seconds": 300, "source": "1m", "coarsened": False, "notes": [],
            "from": T0 - 7200, "to": T0}
        expected = store.history("temp-lilas-a-hall", "temperature", T0 - 7200, T0, 300)
        assert body["points"] == [{"t": p.ts, "min": p.min, "max": p.max, "mean": p.mean,
                                   "last": p.last, "count": p.count} for p in expected.points]
        assert len(body["points"]) == 24 and sum(p["count"] for p in body["points"]) == 480
        assert body["points"][0] == {"t": T0 - 7200, "min": 18.0, "max": 20.25, "mean": 19.125,
                                     "last": 20.25, "count": 20}


@pytest.mark.parametrize("username", ["amelie", "david", "boulangerie"])
def test_anyone_else_gets_the_same_404_as_for_an_unknown_device(
        gateway_api: Client, store: TelemetryStore, username: str) -> None:
    hall_readings(store)
    client = gateway_api(username)
    reply = client.get(HALL)
    assert reply.status_code == 404
    assert reply.json() == {"detail": "no device 'temp-lilas-a-hall'"}
    # A bad point or range must not tell them either that the device exists.
    assert client.get("/api/devices/temp-lilas-a-hall/points/nope/history").status_code == 404
    assert client.get(HALL, params={"every": "fast"}).status_code == 404
    unknown = client.get("/api/devices/ghost/points/temperature/history")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "no device 'ghost'"}


def test_a_manager_of_one_building_cannot_read_another(gateway_api: Client) -> None:
    reply = gateway_api("syndic").get(
        "/api/devices/leak-tilleuls-cave/points/temperature/history")
    assert reply.status_code == 404
    assert reply.json() == {"detail": "no device 'leak-tilleuls-cave'"}


@pytest.mark.parametrize(("params", "point", "detail"), [
    ({"every": "fast"}, "temperature",
     "every: 'fast' is not a duration; write it like 90s, 2m, 1h30m or 1d"),
    ({"every": "500ms"}, "temperature",
     "every: '500ms' is under a second; the finest interval is 1s"),
    ({"from": "2026-03-10T10:00:00+01:00", "to": "2026-03-10T09:00:00+01:00"}, "temperature",
     "the range is empty: 'from' must be before 'to'"),
    ({"from": "yesterday"}, "temperature",
     "from: 'yesterday' is neither an ISO 8601 time (2026-03-10T08:00:00+01:00) nor epoch "
     "seconds"),
    ({"to": "-1e3"}, "temperature",
     "to: '-1e3' is neither an ISO 8601 time (2026-03-10T08:00:00+01:00) nor epoch seconds"),
    ({}, "co2", "device 'temp-lilas-a-hall' has no point 'co2'; its points: temperature, "
                "humidity, battery, battery_low"),
])
def test_bad_questions_get_a_clear_422(gateway_api: Client, params: dict[str, str], point: str,
                                       detail: str) -> None:
    reply = gateway_api("syndic").get(
        f"/api/devices/temp-lilas-a-hall/points/{point}/history", params=params)
    assert reply.status_code == 422
    assert reply.json() == {"detail": detail}


def test_too_fine_an_interval_is_coarsened_and_the_answer_says_so(
        gateway_api: Client, store: TelemetryStore) -> None:
    hall_readings(store)
    body = gateway_api("syndic").get(HALL, params={"from": str(T0 - 7 * 86400), "to": str(T0),
                                                   "every": "1s"}).json()
    assert (body["every"], body["requested_every"], body["coarsened"], body["source"]) == (
        "10m", "1s", True, "1m")
    assert body["notes"] == ["every raised from 1s to 10m to keep the answer within 2000 points"]
    assert sum(p["count"] for p in body["points"]) == 480


def test_without_parameters_the_last_day_at_the_finest_fitting_interval(
        gateway_api: Client, store: TelemetryStore) -> None:
    hall_readings(store)
    body = gateway_api("installateur").get(HALL).json()
    assert (body["from"], body["to"], body["every"], body["coarsened"]) == (
        T0 - 86400, T0, "1m", False)
    assert sum(p["count"] for p in body["points"]) == 480


def test_a_time_without_offset_is_the_sites_local_time(gateway_api: Client,
                                                       store: TelemetryStore) -> None:
    hall_readings(store)
    body = gateway_api("syndic").get(HALL, params={"from": "2026-03-09T23:00:00",
                                                   "to": "2026-03-10T01:00", "every": "1h"}).json()
    assert (body["from"], body["to"], body["source"]) == (T0 - 7200, T0, "1h")


def test_a_gateway_without_a_store_says_so(social: Database,
                                           tokens: Callable[[str], str]) -> None:
    login, clients = logged_in(build_app(GATEWAY_INSTALLATION, social, None), tokens)
    reply = login("syndic").get(HALL)
    assert reply.status_code == 503
    assert reply.json() == {"detail": "the telemetry store is not running on this gateway"}
    for client in clients:
        client.close()


def test_a_store_that_fails_is_a_503_naming_it(social: Database,
                                               tokens: Callable[[str], str]) -> None:
    down = TelemetryStore("postgresql+psycopg://palier:secret@127.0.0.1:1/telemetry")
    login, clients = logged_in(build_app(GATEWAY_INSTALLATION, social, down), tokens)
    try:
        reply = login("syndic").get(HALL)
        summary = login("syndic").get("/api/buildings/lilas/summary")
    finally:
        for client in clients:
            client.close()
        down.close()
    assert reply.status_code == 503 and summary.status_code == 503
    detail = reply.json()["detail"]
    assert detail.startswith("telemetry database postgresql+psycopg://palier:***@127.0.0.1:1/")
    assert "secret" not in detail


def test_history_needs_a_login(gateway_api: Client) -> None:
    with TestClient(gateway_api("syndic").app) as anonymous:
        reply = anonymous.get(HALL)
    assert reply.status_code == 401 and reply.json()["detail"].startswith("not authenticated")


def test_a_text_point_has_no_history_but_its_last_value_is_told(meters_api: Client,
                                                               store: TelemetryStore) -> None:
    store.write_batch([Reading("lift-lilas-b", "state", "idle", store.now() - 60)])
    reply = meters_api("installateur").get("/api/devices/lift-lilas-b/points/state/history")
    assert reply.status_code == 422
    assert reply.json() == {"detail": "point 'state' is text: history is kept for numbers and "
                                      "true/false points only; its last value is 'idle'"}


# -- summaries ------------------------------------------------------------------------

SUMMARY = "/api/buildings/lilas/summary"
PUBLIC = "/api/buildings/lilas/public-summary"
SHARES = "/api/buildings/lilas/public-summary/shares"


def test_managers_and_installers_get_the_building_summary(meters_api: Client) -> None:
    for username in ("syndic", "installateur"):
        reply = meters_api(username).get(SUMMARY, params={"period": "day",
                                                          "date": D2.isoformat()})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["building"], body["name"], body["energy"]["total"], body["shared"]) == (
            "lilas", "Résidence Les Lilas", 63.0, [])
        assert [d["device"] for d in body["energy"]["devices"]] == [
            "elec-lilas-communs", "elec-lilas-a11", "elec-lilas-a12", "elec-lilas-b31"]
    month = meters_api("syndic").get(SUMMARY, params={"period": "month", "date": "2026-03-15"})
    assert month.json()["energy"]["total"] == 207.0
    assert [d["date"] for d in month.json()["days"]][:5] == [
        "2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]


@pytest.mark.parametrize("username", ["amelie", "david", "boulangerie"])
def test_the_building_summary_is_404_for_everyone_else(meters_api: Client,
                                                       username: str) -> None:
    client = meters_api(username)
    reply = client.get(SUMMARY)
    assert reply.status_code == 404 and reply.json() == {"detail": "no building 'lilas'"}
    assert client.get("/api/buildings/nowhere/summary").json() == {
        "detail": "no building 'nowhere'"}


def test_a_manager_of_one_building_gets_404_for_another(meters_api: Client) -> None:
    syndic = meters_api("syndic")  # manages Les Lilas only
    for path in ("/api/buildings/tilleuls/summary",
                 "/api/buildings/tilleuls/public-summary/shares"):
        reply = syndic.get(path)
        assert reply.status_code == 404 and reply.json() == {"detail": "no building 'tilleuls'"}
    assert syndic.put("/api/buildings/tilleuls/public-summary/shares",
                      json={"metrics": ["energy"]}).status_code == 404
    assert syndic.get("/api/buildings/tilleuls/public-summary",
                      params={"date": D3.isoformat()}).status_code == 404


def test_summary_parameters_are_checked(meters_api: Client) -> None:
    client = meters_api("syndic")
    bad_date = client.get(SUMMARY, params={"date": "03/03/2026"})
    assert bad_date.status_code == 422
    assert bad_date.json() == {"detail": "date: '03/03/2026' is not a date; write it YYYY-MM-DD"}
    bad_period = client.get(SUMMARY, params={"period": "week"})
    assert bad_period.status_code == 422
    assert "period" in bad_period.json()["detail"]
    assert client.get("/api/buildings/lilas%2Fb/summary").status_code == 404  # not a building


def test_only_managers_choose_what_residents_see(meters_api: Client) -> None:
    syndic, installer = meters_api("syndic"), meters_api("installateur")
    assert syndic.get(SHARES).json() == {"building": "lilas", "metrics": []}
    refused = installer.put(SHARES, json={"metrics": ["energy"]})
    assert refused.status_code == 403
    assert refused.json() == {"detail": "choosing what residents see is for the building's "
                                        "managers"}
    assert meters_api("amelie").put(SHARES, json={"metrics": ["energy"]}).status_code == 404
    assert meters_api("david").get(SHARES).status_code == 404
    bad = syndic.put(SHARES, json={"metrics": ["energy", "gas"]})
    assert bad.status_code == 422
    assert syndic.put(SHARES, json={"metrics": ["water", "energy", "energy"]}).json() == {
        "building": "lilas", "metrics": ["energy", "water"]}
    assert installer.get(SHARES).json()["metrics"] == ["energy", "water"]
    assert syndic.get(SUMMARY).json()["shared"] == ["energy", "water"]


def test_residents_see_only_shared_building_totals(meters_api: Client) -> None:
    meters_api("syndic").put(SHARES, json={"metrics": ["energy"]}).raise_for_status()
    reply = meters_api("amelie").get(PUBLIC, params={"date": D3.isoformat()})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["energy"] == {"unit": "kWh", "total": 75.0, "includes_units": True}
    assert "water" not in body and "temperature" not in body
    assert body["shared"] == ["energy"]
    text = json.dumps(body)
    assert "elec-" not in text and "lilas/" not in text and "devices" not in text
    # two flats only on 3 March: the common areas alone
    assert meters_api("amelie").get(PUBLIC, params={"date": D2.isoformat()}).json()[
        "energy"]["total"] == 48.0


def test_nothing_shared_shows_nothing(meters_api: Client) -> None:
    body = meters_api("amelie").get(PUBLIC, params={"date": D3.isoformat()}).json()
    assert body["shared"] == [] and not {"energy", "water", "temperature"} & set(body)


@pytest.mark.parametrize("username", ["david", "boulangerie"])
def test_the_public_summary_is_for_members_of_the_building(meters_api: Client,
                                                          username: str) -> None:
    reply = meters_api(username).get(PUBLIC, params={"date": D3.isoformat()})
    assert reply.status_code == 404 and reply.json() == {"detail": "no building 'lilas'"}


def test_a_merchant_placed_inside_the_building_by_mistake_still_gets_404(
        meters_api: Client, social: Database) -> None:
    """Local actors stay out of buildings, whatever membership they were given."""
    with social.session() as session:
        merchant = create_member(session, f"epicerie-{uuid.uuid4().hex[:8]}", "test-pass")
        session.add(Membership(member_id=merchant.id, place_id="lilas", role="merchant",
                               verified=True, started_at=utcnow()))
        token = issue_token(session, merchant).token
        session.commit()
    with TestClient(meters_api("amelie").app,
                    headers={"Authorization": f"Bearer {token}"}) as client:
        reply = client.get(PUBLIC, params={"date": D3.isoformat()})
    assert reply.status_code == 404 and reply.json() == {"detail": "no building 'lilas'"}


def test_the_public_summary_covers_finished_days_only(meters_api: Client) -> None:
    amelie = meters_api("amelie")
    today = amelie.get(PUBLIC, params={"date": "2026-03-05"})
    assert today.status_code == 422
    assert today.json() == {"detail": "the public summary covers finished days only: ask for "
                                      "2026-03-04 or earlier"}
    assert amelie.get(PUBLIC).json()["date"] == "2026-03-04"  # yesterday by default
    month = amelie.get(PUBLIC, params={"period": "month", "date": "2026-03-01"}).json()
    assert (month["complete"], month["days_counted"]) == (False, 4)
