"""The first end-to-end path, through a real Mosquitto and a real database.

A zigbee2mqtt leak message becomes an alarm for the building's managers and an
alert post that residents of that building see, and nobody else; the dry
message resolves both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import ApiUser, GatewayThread, eventually, publish, settings_for

pytestmark = pytest.mark.integration

WET = '{"battery":100,"battery_low":false,"linkquality":83,"tamper":false,"water_leak":true}'
DRY = '{"battery":100,"battery_low":false,"linkquality":83,"tamper":false,"water_leak":false}'


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'palier.db'}"
    return request.getfixturevalue("fresh_postgres_url")


@pytest.fixture
def gateway(mosquitto, database_url: str, tmp_path: Path) -> Iterator[GatewayThread]:
    thread = GatewayThread(settings_for(mosquitto.url, database_url, tmp_path,
                                        client_id=f"palier-test-{uuid.uuid4().hex[:8]}"))
    thread.start()
    yield thread
    thread.stop()


def alerts(user: ApiUser) -> list[dict]:
    return [p for p in user.feed() if p["kind"] == "alert"]


def test_leak_reaches_the_right_neighbours_and_clears(
    gateway: GatewayThread, mosquitto, login
) -> None:
    api = gateway.gateway.running.api_url
    amelie, david = login(api, "amelie"), login(api, "david")
    merchant, syndic = login(api, "boulangerie"), login(api, "syndic")

    # the broker may redeliver: the same message twice must give one alarm and one post
    publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", WET), ("zigbee2mqtt/leak_cave_b", WET)])

    posts = eventually(lambda: alerts(amelie))
    assert len(posts) == 1
    post = posts[0]
    assert post["title"] == "Fuite d'eau — Résidence Les Lilas, Entrée B, sous-sol"
    assert post["place"]["id"] == "lilas"
    assert post["status"] == "active"

    alarms = eventually(lambda: syndic.get("/api/alarms")["items"])
    assert [(a["rule_id"], a["device_id"], a["state"]) for a in alarms] == [
        ("water-leak", "leak-lilas-b-cave", "active")]
    assert alerts(david) == [], "a resident of another building must not see it"
    assert alerts(merchant) == [], "a merchant never sees inside a building"

    publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", DRY)])
    resolved = eventually(lambda: [p for p in alerts(amelie) if p["status"] == "resolved"])
    assert len(resolved) == 1 and resolved[0]["id"] == post["id"]
    assert "Résolu après" in resolved[0]["body"]
    cleared = syndic.get("/api/alarms", state="all")["items"]
    assert [a["state"] for a in cleared] == ["cleared"]
    assert gateway.gateway.running.pipeline.stats.readings >= 3


def test_a_bad_payload_is_rejected_and_the_gateway_keeps_going(
    gateway: GatewayThread, mosquitto, login
) -> None:
    running = gateway.gateway.running
    publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", "{not json"),
                             ("zigbee2mqtt/leak_cave_b", '{"water_leak": "very wet"}'),
                             ("zigbee2mqtt/leak_cave_b", WET)])
    amelie = login(running.api_url, "amelie")
    assert len(eventually(lambda: alerts(amelie))) == 1
    installer = login(running.api_url, "installateur")
    status = installer.get("/api/gateway/status")
    reasons = [d["reason"] for d in status["dead_letters"]]
    assert any(r.startswith("not JSON") for r in reasons), reasons
    assert any("water_leak expects true or false" in r for r in reasons), reasons
    assert status["stats"]["rejected"] == 2
    assert status["stats"]["readings"] >= 1
    leak = next(d for d in status["devices"] if d["id"] == "leak-lilas-b-cave")
    assert leak["online"] is True and leak["last_seen"] is not None
    assert "leak-tilleuls-cave" not in {d["id"] for d in status["devices"]}, (
        "an installer of Les Lilas sees no device of Les Tilleuls")
    forbidden = amelie.http.get("/api/gateway/status")
    assert forbidden.status_code == 403
    assert "installers" in forbidden.json()["detail"]
