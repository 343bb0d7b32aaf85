"""Four firmware families in one installation, through a real Mosquitto.

Readings in the canonical vocabulary, an unclaimed device appearing, availability
by last will and by heartbeat, a hot reload that adds a device while traffic
flows (nothing lost), an invalid reload refused, and a command on the right topic.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.conftest import MosquittoServer
from tests.integration.harness import GatewayThread, eventually, publish, settings_for

pytestmark = pytest.mark.integration

FAMILIES = Path(__file__).parent / "families"
SHELLY = "shellyplus1pm-a8032ab12345"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoServer]:
    """A broker of its own: no retained message of another test reaches these bridges."""
    server = MosquittoServer(tmp_path / "broker")
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(FAMILIES, target)
    return target


@pytest.fixture
def gateway(broker: MosquittoServer, config: Path, tmp_path: Path) -> Iterator[GatewayThread]:
    thread = GatewayThread(settings_for(broker.url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                                        client_id=f"palier-fam-{uuid.uuid4().hex[:8]}",
                                        config_dir=config))
    thread.start()
    yield thread
    thread.stop()


def value(gateway: GatewayThread, device: str, point: str) -> object:
    reading = gateway.gateway.running.pipeline.last_values.get((device, point))
    return reading.value if reading else None


def device_state(user, device_id: str) -> str:
    devices = user.get("/api/gateway/status")["devices"]
    return next(d["state"] for d in devices if d["id"] == device_id)


def test_four_families_give_canonical_readings_and_honest_availability(
    gateway: GatewayThread, broker: MosquittoServer, login
) -> None:
    installer = login(gateway.gateway.running.api_url, "installateur")
    assert device_state(installer, "chaufferie-climate") == "unknown", "never assumed online"
    publish(broker.port, [
        ("zigbee2mqtt/temp_hall_a", '{"temperature": 19.5, "humidity": 48}'),
        ("tele/chaufferie/LWT", "Online"),
        ("tele/chaufferie/SENSOR",
         '{"Time":"2019-01-01T00:00:00","AM2301":{"Temperature":24.6,"Humidity":58.2},'
         '"TempUnit":"C"}'),
        (f"{SHELLY}/status/switch:0",
         '{"id":0,"source":"init","output":false,"apower":0.0,"voltage":231.2}'),
        (f"{SHELLY}/events/rpc",
         json.dumps({"src": SHELLY, "dst": "user_1", "method": "NotifyStatus",
                     "params": {"ts": 1631186545.04,
                                "switch:0": {"id": 0, "output": True, "apower": 412.5}}})),
        ("hall-a-air/status", "online"),
        ("hall-a-air/sensor/co2/state", "612"),
        ("hall-a-air/sensor/temperature/state", "nan"),
    ])
    eventually(lambda: value(gateway, "co2-lilas-a-hall", "co2") == 612)
    assert value(gateway, "temp-lilas-a-hall", "temperature") == 19.5
    assert value(gateway, "chaufferie-climate", "temperature") == 24.6
    assert value(gateway, "chaufferie-climate", "humidity") == 58.2
    assert value(gateway, "pump-lilas-b", "state") is True, "NotifyStatus overlays the status"
    assert value(gateway, "pump-lilas-b", "power") == 412.5
    assert value(gateway, "co2-lilas-a-hall", "temperature") is None, "nan is not a reading"
    reasons = [d["reason"] for d in installer.get("/api/gateway/dead-letters")["items"]]
    assert any("nan" in r for r in reasons), reasons

    assert device_state(installer, "chaufferie-climate") == "online"
    publish(broker.port, [("tele/chaufferie/LWT", "Offline")])
    eventually(lambda: device_state(installer, "chaufferie-climate") == "offline")

    # the ESPHome node has a 1 s heartbeat budget and says nothing more
    eventually(lambda: device_state(installer, "co2-lilas-a-hall") == "offline", timeout=10)
    changes = gateway.gateway.running.pipeline.availability_changes
    assert any(c.device_id == "co2-lilas-a-hall" and c.cause == "heartbeat" for c in changes)
    assert device_state(installer, "pump-lilas-b") == "online"


def test_an_unclaimed_device_is_listed_then_claimed_by_a_hot_reload_losing_nothing(
    gateway: GatewayThread, broker: MosquittoServer, config: Path, login
) -> None:
    running = gateway.gateway.running
    installer = login(running.api_url, "installateur")
    publish(broker.port, [("zigbee2mqtt/leak_cave_a", '{"water_leak": false, "battery": 88}')])
    unclaimed = eventually(lambda: installer.get("/api/gateway/unclaimed")["items"])
    assert unclaimed[0]["source"] == "leak_cave_a" and unclaimed[0]["count"] == 1
    assert unclaimed[0]["topic"] == "zigbee2mqtt/leak_cave_a"
    assert json.loads(unclaimed[0]["last_payload"]) == {"water_leak": False, "battery": 88}

    before = running.pipeline.stats.readings
    sent = 600

    def traffic() -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        infos = []
        for i in range(sent):
            infos.append(client.publish("zigbee2mqtt/temp_hall_a",
                                        json.dumps({"temperature": 15 + i / 100}), qos=1))
            time.sleep(0.002)
        for info in infos:
            info.wait_for_publish(10)
        client.disconnect()
        client.loop_stop()

    publisher = threading.Thread(target=traffic)
    publisher.start()
    time.sleep(0.3)
    bridge = config / "bridges" / "zigbee.yaml"
    bridge.write_text(bridge.read_text() + "  - {id: leak-lilas-a-cave, source: leak_cave_a, "
                      "kind: water_leak_sensor, place: lilas/a/basement}\n")
    reply = installer.http.post("/api/admin/reload")
    assert reply.status_code == 200, reply.text
    assert reply.json()["ok"] is True
    publisher.join(30)

    # every temperature message became a reading: nothing lost across the reload
    eventually(lambda: running.pipeline.stats.readings - before == sent, timeout=20)
    assert running.pipeline.stats.readings - before == sent
    assert running.pipeline.registry.get("leak-lilas-a-cave") is not None
    publish(broker.port, [("zigbee2mqtt/leak_cave_a", '{"water_leak": true}')])
    eventually(lambda: value(gateway, "leak-lilas-a-cave", "water_leak") is True)
    assert installer.get("/api/gateway/unclaimed")["items"] == []
    alarms = eventually(lambda: login(running.api_url, "syndic").get("/api/alarms")["items"])
    assert alarms[0]["device_id"] == "leak-lilas-a-cave", "the rules follow the new device"


def test_an_invalid_reload_is_refused_and_the_running_configuration_stays(
    gateway: GatewayThread, config: Path, login
) -> None:
    running = gateway.gateway.running
    installer = login(running.api_url, "installateur")
    (config / "bridges" / "esphome.yaml").write_text(
        "bridge: {id: esphome, format: esphome}\ndevices:\n"
        "  - {id: x, source: y, kind: co2_sensor, place: lilas/q/0}\n")
    reply = installer.http.post("/api/admin/reload")
    assert reply.status_code == 422
    errors = reply.json()["errors"]
    assert any("esphome.yaml:3:" in e and "devices[0].place" in e for e in errors), errors
    assert running.pipeline.registry.get("co2-lilas-a-hall") is not None
    status = installer.get("/api/gateway/status")["config"]["last_reload"]
    assert status["ok"] is False and status["errors"] == errors
    resident = login(running.api_url, "amelie")
    assert resident.http.post("/api/admin/reload").status_code == 403


def test_a_file_change_reloads_by_itself(gateway: GatewayThread, config: Path, login) -> None:
    running = gateway.gateway.running
    bridge = config / "bridges" / "zigbee.yaml"
    bridge.write_text(bridge.read_text() + "  - {id: temp-lilas-b-hall, source: temp_hall_b, "
                      "kind: temperature_sensor, place: lilas/b/0}\n")
    eventually(lambda: running.pipeline.registry.get("temp-lilas-b-hall") is not None,
               timeout=15)
    assert running.runtime.last_reload.trigger == "file change"


def test_a_command_is_published_on_the_family_topic_and_audited(
    gateway: GatewayThread, broker: MosquittoServer, login
) -> None:
    running = gateway.gateway.running
    received: list[tuple[str, bytes]] = []
    listener = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    listener.on_message = lambda _c, _u, m: received.append((m.topic, m.payload))
    listener.connect("127.0.0.1", broker.port)
    listener.subscribe("+/rpc", qos=1)
    listener.loop_start()
    try:
        time.sleep(0.3)
        syndic = login(running.api_url, "syndic")
        reply = syndic.http.post("/api/devices/pump-lilas-b/commands",
                                 json={"point": "state", "value": True})
        assert reply.status_code == 202, reply.text
        topic, payload = eventually(lambda: received)[0]
        assert topic == f"{SHELLY}/rpc"
        body = json.loads(payload)
        assert body["method"] == "Switch.Set" and body["params"] == {"id": 0, "on": True}
    finally:
        listener.loop_stop()
        listener.disconnect()
    log = syndic.get("/api/devices/pump-lilas-b/commands")["items"]
    assert [(e["point"], e["value"], e["status"]) for e in log] == [("state", True, "published")]

    bad = syndic.http.post("/api/devices/pump-lilas-b/commands",
                           json={"point": "power", "value": 3})
    assert bad.status_code == 422 and "takes no commands" in bad.json()["detail"]
    resident = login(running.api_url, "amelie")
    denied = resident.http.post("/api/devices/pump-lilas-b/commands",
                                json={"point": "state", "value": False})
    assert denied.status_code == 403
    other = login(running.api_url, "david")
    assert other.http.get("/api/devices/pump-lilas-b/commands").status_code == 403
