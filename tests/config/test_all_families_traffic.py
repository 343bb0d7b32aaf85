"""The installer guide's "Bridges, family by family", replayed against ``valid_all_families``.

Each example is the MQTT traffic a real device of that family publishes, fed through
the decoder the gateway registers for the bridge and through the device registry,
as the pipeline does. The guide quotes these payloads and these outcomes, so this
file is what keeps the guide true while decoders and the registry evolve.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devices.registry import DeviceRegistry
from devices.schema import BridgeFile
from firmware_bridge.families import make_decoder
from firmware_bridge.records import (
    AvailabilityUpdate,
    Decoded,
    DeviceEvent,
    RawMessage,
    StateUpdate,
)
from gateway.config.installation import Installation
from gateway.config.loader import load_installation

CASE = Path(__file__).resolve().parent / "cases" / "valid_all_families"

Values = dict[str, object]


@pytest.fixture(scope="module")
def installation() -> Installation:
    return load_installation(CASE)


def bridge_file(installation: Installation, bridge_id: str) -> BridgeFile:
    (found,) = [b for b in installation.bridges if b.bridge.id == bridge_id]
    return found


def decode(installation: Installation, bridge_id: str, *messages: tuple[str, bytes]) -> Decoded:
    """The last message's record; earlier ones feed a stateful decoder (Shelly) first."""
    file = bridge_file(installation, bridge_id)
    decoder = make_decoder(file.bridge, file.devices)
    decoded: Decoded | None = None
    for topic, payload in messages:
        decoded = decoder.decode(RawMessage(topic, payload))
    assert decoded is not None
    return decoded


def readings(installation: Installation, bridge_id: str, device_id: str,
             *messages: tuple[str, bytes]) -> Values:
    decoded = decode(installation, bridge_id, *messages)
    assert isinstance(decoded, StateUpdate), decoded
    registry = DeviceRegistry(installation.bridges)
    device = registry.get(device_id)
    assert device is not None and device.source == decoded.source
    found, rejected = registry.readings(device, decoded.values, 0.0)
    assert rejected == []
    return {r.point: r.value for r in found}


def units(installation: Installation, device_id: str) -> dict[str, str]:
    device = DeviceRegistry(installation.bridges).get(device_id)
    assert device is not None
    return {p.name: p.unit for p in device.points if p.unit}


def test_zigbee2mqtt(installation: Installation) -> None:
    state = (b'{"battery":100,"battery_low":false,"device_temperature":26,"linkquality":83,'
             b'"tamper":false,"temperature":26,"voltage":3025,"water_leak":false}')

    assert readings(installation, "z2m-lilas", "leak-lilas-b-cave",
                    ("zigbee2mqtt/leak_cave_b", state)) == {
        "water_leak": False, "battery": 100, "battery_low": False, "tamper": False,
        "temperature": 26,
    }
    assert decode(installation, "z2m-lilas", ("zigbee2mqtt/leak_cave_b/availability",
                                              b'{"state":"online"}')) == \
        AvailabilityUpdate("leak_cave_b", True)


def test_tasmota(installation: Installation) -> None:
    sensor = (b'{"Time":"2024-11-05T08:15:00","ENERGY":{"TotalStartTime":"2024-01-10T10:00:00",'
              b'"Total":12.345,"Yesterday":0.850,"Today":0.310,"Power":412,"ApparentPower":420,'
              b'"ReactivePower":81,"Factor":0.98,"Voltage":231,"Current":1.790}}')
    state = (b'{"Time":"2024-11-05T08:15:00","Uptime":"3T04:12:55","POWER":"ON",'
             b'"Wifi":{"SSId":"lilas-tech","RSSI":76}}')

    assert readings(installation, "tasmota-lilas", "plug-lilas-chaufferie",
                    ("tele/plug-chaufferie/SENSOR", sensor)) == {"power": 412, "energy": 12.345}
    assert readings(installation, "tasmota-lilas", "plug-lilas-chaufferie",
                    ("tele/plug-chaufferie/STATE", state)) == {"state": True}
    assert decode(installation, "tasmota-lilas", ("tele/plug-chaufferie/LWT", b"Offline")) == \
        AvailabilityUpdate("plug-chaufferie", False)


def test_shelly_gen2(installation: Installation) -> None:
    pump = "shellypro1pm-a8032ab1c2d0"
    status = (b'{"src":"shellypro1pm-a8032ab1c2d0","dst":"shellypro1pm-a8032ab1c2d0/events",'
              b'"method":"NotifyStatus","params":{"ts":1730794500.12,"switch:0":{"id":0,'
              b'"output":true,"apower":48.2,"aenergy":{"total":1532.7,'
              b'"by_minute":[801.2,790.0,795.5],"minute_ts":1730794500}}}}')

    got = readings(installation, "shelly-lilas", "pump-lilas-chauffage",
                   (f"{pump}/events/rpc", status))

    assert got == {"running": True, "power": 48.2, "energy": pytest.approx(1.5327)}
    assert units(installation, "pump-lilas-chauffage")["energy"] == "kWh"
    gate = "shellyplus2pm-c4d8d5566f10"
    cover = b'{"id":0,"source":"MQTT","state":"opening","apower":85.1,"current_pos":40}'
    assert readings(installation, "shelly-lilas", "gate-lilas-parking",
                    (f"{gate}/status/cover:0", cover)) == {"open": True, "moving": True}
    assert decode(installation, "shelly-lilas", (f"{pump}/online", b"true")) == \
        AvailabilityUpdate(pump, True)


def test_esphome(installation: Installation) -> None:
    node = "chaufferie-boiler"

    assert readings(installation, "esphome-lilas", "boiler-lilas",
                    (f"{node}/sensor/flow_temp/state", b"63.5")) == {"flow_temperature": 63.5}
    assert readings(installation, "esphome-lilas", "boiler-lilas",
                    (f"{node}/binary_sensor/flame/state", b"ON")) == {"burner": True}
    assert decode(installation, "esphome-lilas", (f"{node}/status", b"offline")) == \
        AvailabilityUpdate(node, False)


def test_ttn_v3_with_a_layout_and_with_a_payload_formatter(installation: Installation) -> None:
    meter = (b'{"end_device_ids":{"device_id":"eau-generale-lilas","application_ids":'
             b'{"application_id":"palier-lilas"},"dev_eui":"70B3D57ED005A1B2"},'
             b'"received_at":"2024-11-05T08:15:02.114Z","uplink_message":{"f_port":2,'
             b'"frm_payload":"AAHiQAB9AQ==","rx_metadata":[{"gateway_ids":'
             b'{"gateway_id":"lilas-toit"},"rssi":-97,"snr":7.5}]}}')
    co2 = (b'{"end_device_ids":{"device_id":"am103-0042"},"uplink_message":{"f_port":85,'
           b'"frm_payload":"AXVcAmfVAARoUgd9hQI=","decoded_payload":{"battery":98,"co2":645,'
           b'"humidity":41.5,"temperature":21.3}}}')

    assert readings(installation, "ttn-lilas", "water-lilas-general",
                    ("v3/palier-lilas@ttn/devices/eau-generale-lilas/up", meter)) == {
        "volume": pytest.approx(123.456), "flow": pytest.approx(12.5), "leak": True,
        "battery_low": False, "rssi": -97,
    }
    assert units(installation, "water-lilas-general")["volume"] == "m³"
    assert readings(installation, "ttn-lilas", "co2-lilas-b-local-velos",
                    ("v3/palier-lilas@ttn/devices/am103-0042/up", co2)) == {
        "co2": 645, "temperature": 21.3, "humidity": 41.5,
    }


def test_binary(installation: Installation) -> None:
    frame = bytes.fromhex("87d612005203fd08740e")

    assert readings(installation, "wmbus-lilas", "meter-lilas-communs",
                    ("meters/04811234/frame", frame)) == {
        "energy": pytest.approx(1234.567), "power": 850, "voltage": pytest.approx(230.1),
        "current": pytest.approx(3.7),
    }
    assert units(installation, "meter-lilas-communs") == {
        "power": "W", "energy": "kWh", "voltage": "V", "current": "A",
    }


def test_json(installation: Installation) -> None:
    state = b'{"valve":{"state":"OPEN","position":100},"fault":false}'

    assert readings(installation, "acme-lilas", "valve-lilas-ecs",
                    ("acme/vanne-ecs/data", state)) == {"open": True, "position": 100}
    assert decode(installation, "acme-lilas", ("acme/vanne-ecs/status", b"online")) == \
        AvailabilityUpdate("vanne-ecs", True)


def test_intercom(installation: Installation) -> None:
    topic = "portier/station-b/event"

    assert decode(installation, "portier-lilas", (topic, b'{"event":"ring","apartment":"31"}')) \
        == DeviceEvent("station-b", "call", {"apartment": "31"})
    assert decode(installation, "portier-lilas", (topic, b'{"event":"door","state":"open"}')) \
        == DeviceEvent("station-b", "door_opened", {})
    assert decode(installation, "portier-lilas", (topic, b'{"event":"access_denied",'
                                                         b'"badge":"04A1B2C3"}')) \
        == DeviceEvent("station-b", "badge_refused", {"badge": "04A1B2C3"})
