"""Readings published over MQTT become history, through a real gateway and Mosquitto.

The path under test is the real one: a zigbee2mqtt payload on the broker, the
gateway's intake and processor, the telemetry store, the history API — and its
access rules, with the accounts of ``tests/integration/installation``.

Until the store is wired into the gateway the history route is not mounted; the
test then reports itself as an expected failure, saying so, rather than passing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import ApiUser, GatewayThread, eventually, publish, settings_for

pytestmark = pytest.mark.integration

HALL = "/api/devices/temp-lilas-a-hall/points/temperature/history"
HISTORY_ROUTE = "/api/devices/{device_id}/points/{point}/history"


@pytest.fixture
def gateway(mosquitto, tmp_path: Path) -> Iterator[GatewayThread]:
    thread = GatewayThread(settings_for(mosquitto.url, f"sqlite:///{tmp_path / 'palier.db'}",
                                        tmp_path,
                                        client_id=f"palier-telemetry-{uuid.uuid4().hex[:8]}"))
    thread.start()
    yield thread
    thread.stop()


def counted(user: ApiUser) -> int:
    return sum(p["count"] for p in user.get(HALL, every="1m")["points"])


def test_published_readings_are_history_for_the_buildings_staff_only(
        gateway: GatewayThread, mosquitto) -> None:
    running = gateway.gateway.running
    assert running is not None
    api = running.api_url
    temperatures = [19.5, 19.75, 20.0, 20.25, 20.5]
    publish(mosquitto.port, [
        ("zigbee2mqtt/temp_hall_a", json.dumps({"temperature": t, "humidity": 40,
                                                "battery": 90, "linkquality": 80}))
        for t in temperatures])
    # and one from the other building, which the manager of Les Lilas must not reach
    publish(mosquitto.port, [("zigbee2mqtt/leak_cave_tilleuls",
                              '{"water_leak": false, "temperature": 11.5, "battery": 80}')])

    with ApiUser(api, "installateur") as installer, ApiUser(api, "syndic") as syndic:
        eventually(lambda: counted(installer) == len(temperatures))
        body = syndic.get(HALL, every="1h")
        assert (body["device"], body["unit"], body["source"]) == ("temp-lilas-a-hall", "°C", "1h")
        (point,) = body["points"]
        assert (point["min"], point["max"], point["count"], point["last"]) == (
            19.5, 20.5, 5, 20.5)
        assert point["mean"] == pytest.approx(20.0)

        other = syndic.http.get("/api/devices/leak-tilleuls-cave/points/temperature/history")
        assert other.status_code == 404

    for username in ("amelie", "david"):
        with ApiUser(api, username) as resident:
            reply = resident.http.get(HALL)
            assert reply.status_code == 404
            assert reply.json() == {"detail": "no device 'temp-lilas-a-hall'"}
