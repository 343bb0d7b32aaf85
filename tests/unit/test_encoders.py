"""Command encoders of zigbee2mqtt, Tasmota, Shelly Gen2 and ESPHome: exact messages, refusals."""

from __future__ import annotations

import pytest

from devices.schema import (
    EsphomeBridge,
    JsonBridge,
    ShellyGen2Bridge,
    TasmotaBridge,
    Zigbee2MqttBridge,
)
from firmware_bridge.base import EncodeError
from firmware_bridge.esphome import EsphomeDecoder
from firmware_bridge.families import make_decoder, make_encoder
from firmware_bridge.records import Command, OutgoingMessage, Scalar
from firmware_bridge.shelly_gen2 import ShellyGen2Decoder
from firmware_bridge.tasmota import TasmotaDecoder
from firmware_bridge.zigbee2mqtt import Zigbee2MqttDecoder

Z2M = Zigbee2MqttDecoder()
TASMOTA = TasmotaDecoder()
SHELLY = ShellyGen2Decoder()
ESPHOME = EsphomeDecoder()

Encoder = Zigbee2MqttDecoder | TasmotaDecoder | ShellyGen2Decoder | EsphomeDecoder


def one(encoder: Encoder, source: str, path: str, value: Scalar) -> OutgoingMessage:
    [message] = encoder.encode(Command(source, path, value))
    assert message.qos == 1
    assert message.retain is False  # a retained command would replay on every reconnection
    return message


def refused(encoder: Encoder, source: str, path: str, value: Scalar) -> str:
    with pytest.raises(EncodeError) as caught:
        encoder.encode(Command(source, path, value))
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


# -- zigbee2mqtt -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "path", "value", "topic", "payload"),
    [
        ("vanne_cave", "state", "ON", "zigbee2mqtt/vanne_cave/set", b'{"state":"ON"}'),
        ("lampe_hall", "brightness", 128, "zigbee2mqtt/lampe_hall/set", b'{"brightness":128}'),
        ("thermostat_b3", "current_heating_setpoint", 19.5,
         "zigbee2mqtt/thermostat_b3/set", b'{"current_heating_setpoint":19.5}'),
        ("prise_local", "child_lock", True, "zigbee2mqtt/prise_local/set", b'{"child_lock":true}'),
        ("lampe_hall", "color.x", 0.3, "zigbee2mqtt/lampe_hall/set", b'{"color":{"x":0.3}}'),
        ("a", "l1.l2.l3", "v", "zigbee2mqtt/a/set", b'{"l1":{"l2":{"l3":"v"}}}'),
        ("floor1/leak", "state", "OFF", "zigbee2mqtt/floor1/leak/set", b'{"state":"OFF"}'),
        ("hall", "brightness", 50.0, "zigbee2mqtt/hall/set", b'{"brightness":50.0}'),
    ],
)
def test_zigbee2mqtt_sets_the_attribute_on_the_set_topic(
    source: str, path: str, value: Scalar, topic: str, payload: bytes
) -> None:
    assert one(Z2M, source, path, value) == OutgoingMessage(topic, payload)


def test_zigbee2mqtt_uses_the_bridge_base_topic() -> None:
    decoder = Zigbee2MqttDecoder("lilas/zigbee")
    assert one(decoder, "vanne", "state", "ON").topic == "lilas/zigbee/vanne/set"


@pytest.mark.parametrize(
    ("source", "path", "value", "reason"),
    [
        ("", "state", "ON", "zigbee2mqtt device name '': a level is empty"),
        ("a//b", "state", "ON", "zigbee2mqtt device name 'a//b': a level is empty"),
        ("/a", "state", "ON", "zigbee2mqtt device name '/a': a level is empty"),
        ("a/", "state", "ON", "zigbee2mqtt device name 'a/': a level is empty"),
        ("a+", "state", "ON", "zigbee2mqtt device name 'a+': a level 'a+' contains '+'"),
        ("#", "state", "ON", "zigbee2mqtt device name '#': a level '#' contains '#'"),
        ("a\x00", "state", "ON", "zigbee2mqtt device name 'a\\x00': a level 'a\\x00' contains NUL"),
        ("a", "", "ON", "zigbee2mqtt attribute path '' has an empty part"),
        ("a", "color.", 1, "zigbee2mqtt attribute path 'color.' has an empty part"),
        ("a", ".x", 1, "zigbee2mqtt attribute path '.x' has an empty part"),
        ("a", "state", None, "state needs a value, got null"),
        ("a", "brightness", float("nan"), "brightness takes a finite number, got nan"),
        ("a", "brightness", float("inf"), "brightness takes a finite number, got inf"),
        ("a", "brightness", 2**70,
         "brightness cannot be sent as JSON: Integer exceeds 64-bit range"),
    ],
)
def test_zigbee2mqtt_refuses_what_it_cannot_send(
    source: str, path: str, value: Scalar, reason: str
) -> None:
    assert refused(Z2M, source, path, value) == reason


# -- Tasmota ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "path", "value", "topic", "payload"),
    [
        ("chaudiere", "POWER", True, "cmnd/chaudiere/POWER", b"ON"),
        ("chaudiere", "POWER", False, "cmnd/chaudiere/POWER", b"OFF"),
        ("hall-a", "POWER2", True, "cmnd/hall-a/POWER2", b"ON"),
        ("hall-a", "Dimmer", 40, "cmnd/hall-a/Dimmer", b"40"),
        ("hall-a", "Dimmer", 40.0, "cmnd/hall-a/Dimmer", b"40"),
        ("clim", "TempTarget", 21.5, "cmnd/clim/TempTarget", b"21.5"),
        ("clim", "TempTarget", -0.5, "cmnd/clim/TempTarget", b"-0.5"),
        ("hall-a", "POWER1", "TOGGLE", "cmnd/hall-a/POWER1", b"TOGGLE"),
        ("hall-a", "Color", "FF8000", "cmnd/hall-a/Color", b"FF8000"),
        ("hall-a", "Power", "", "cmnd/hall-a/Power", b""),  # empty asks for the state
    ],
)
def test_tasmota_sends_the_command_on_cmnd(
    source: str, path: str, value: Scalar, topic: str, payload: bytes
) -> None:
    assert one(TASMOTA, source, path, value) == OutgoingMessage(topic, payload)


def test_tasmota_uses_the_cmnd_prefix() -> None:
    decoder = TasmotaDecoder({"cmnd": "lilas/cmnd"})
    assert one(decoder, "chaudiere", "POWER", True).topic == "lilas/cmnd/chaudiere/POWER"


TOPIC = "tasmota %topic% (the command's source)"
COMMAND = "tasmota command (the command's path)"


@pytest.mark.parametrize(
    ("source", "path", "value", "reason"),
    [
        ("chaudiere", "", True, f"{COMMAND} is empty"),
        ("chaudiere", "POWER/1", True, f"{COMMAND} 'POWER/1' contains '/'"),
        ("chaudiere", "POWER+", True, f"{COMMAND} 'POWER+' contains '+'"),
        ("chaudiere", "#", True, f"{COMMAND} '#' contains '#'"),
        ("", "POWER", True, f"{TOPIC} is empty"),
        ("a/b", "POWER", True, f"{TOPIC} 'a/b' contains '/'"),
        ("+", "POWER", True, f"{TOPIC} '+' contains '+'"),
        ("chaudiere", "POWER", None, "POWER takes a number, got null"),
        ("chaudiere", "Dimmer", float("nan"), "Dimmer takes a finite number, got nan"),
    ],
)
def test_tasmota_refuses_what_it_cannot_send(
    source: str, path: str, value: Scalar, reason: str
) -> None:
    assert refused(TASMOTA, source, path, value) == reason


# -- Shelly Gen2 -----------------------------------------------------------------------------

PRO4PM = "shellypro4pm-f008d1d8b8b8"


@pytest.mark.parametrize(
    ("path", "value", "payload"),
    [
        ("switch:0.output", True,
         b'{"id":1,"src":"palier","method":"Switch.Set","params":{"id":0,"on":true}}'),
        ("switch:3.output", False,
         b'{"id":1,"src":"palier","method":"Switch.Set","params":{"id":3,"on":false}}'),
        ("cover:0.pos", 40,
         b'{"id":1,"src":"palier","method":"Cover.GoToPosition","params":{"id":0,"pos":40}}'),
        ("cover:1.pos", 100.0,
         b'{"id":1,"src":"palier","method":"Cover.GoToPosition","params":{"id":1,"pos":100}}'),
        ("cover:0.pos", 0,
         b'{"id":1,"src":"palier","method":"Cover.GoToPosition","params":{"id":0,"pos":0}}'),
        ("cover:0.current_pos", 12.5,
         b'{"id":1,"src":"palier","method":"Cover.GoToPosition","params":{"id":0,"pos":12.5}}'),
    ],
)
def test_shelly_sends_an_rpc_request(path: str, value: Scalar, payload: bytes) -> None:
    assert one(SHELLY, PRO4PM, path, value) == OutgoingMessage(f"{PRO4PM}/rpc", payload)


UNSUPPORTED = (
    "; supported: switch:<n>.output (true or false), cover:<n>.pos (0 to 100)"
)


@pytest.mark.parametrize(
    ("source", "path", "value", "reason"),
    [
        (PRO4PM, "switch:0.apower", 1, "shelly_gen2 cannot set 'switch:0.apower'" + UNSUPPORTED),
        (PRO4PM, "switch:0", True, "shelly_gen2 cannot set 'switch:0'" + UNSUPPORTED),
        (PRO4PM, "switch.output", True, "shelly_gen2 cannot set 'switch.output'" + UNSUPPORTED),
        (PRO4PM, "switch:01.output", True,
         "shelly_gen2 cannot set 'switch:01.output'" + UNSUPPORTED),
        (PRO4PM, "switch:-1.output", True,
         "shelly_gen2 cannot set 'switch:-1.output'" + UNSUPPORTED),
        (PRO4PM, "switch:x.output", True,
         "shelly_gen2 cannot set 'switch:x.output'" + UNSUPPORTED),
        (PRO4PM, "light:0.output", True, "shelly_gen2 cannot set 'light:0.output'" + UNSUPPORTED),
        (PRO4PM, "", True, "shelly_gen2 cannot set ''" + UNSUPPORTED),
        (PRO4PM, "switch:0.output", 1, "switch:0.output takes true or false, got 1"),
        (PRO4PM, "switch:0.output", "on", "switch:0.output takes true or false, got 'on'"),
        (PRO4PM, "cover:0.pos", 101, "cover:0.pos takes a position from 0 to 100, got 101"),
        (PRO4PM, "cover:0.pos", -1, "cover:0.pos takes a position from 0 to 100, got -1"),
        (PRO4PM, "cover:0.pos", True, "cover:0.pos takes a number, got true"),
        (PRO4PM, "cover:0.pos", "50", "cover:0.pos takes a number, got '50'"),
        (PRO4PM, "cover:0.pos", float("nan"), "cover:0.pos takes a finite number, got nan"),
        ("", "switch:0.output", True, "shelly device id (the command's source) is empty"),
        ("a/b", "switch:0.output", True,
         "shelly device id (the command's source) 'a/b' contains '/'"),
        ("#", "switch:0.output", True,
         "shelly device id (the command's source) '#' contains '#'"),
    ],
)
def test_shelly_refuses_what_it_cannot_send(
    source: str, path: str, value: Scalar, reason: str
) -> None:
    assert refused(SHELLY, source, path, value) == reason


# -- ESPHome ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "topic", "payload"),
    [
        ("switch.pump", True, "esp-cave/switch/pump/command", b"ON"),
        ("switch.pump", False, "esp-cave/switch/pump/command", b"OFF"),
        ("fan.extract", True, "esp-cave/fan/extract/command", b"ON"),
        ("number.setpoint", 21.5, "esp-cave/number/setpoint/command", b"21.5"),
        ("number.setpoint", 20, "esp-cave/number/setpoint/command", b"20"),
        ("number.setpoint", 20.0, "esp-cave/number/setpoint/command", b"20"),
        ("light.ceiling", True, "esp-cave/light/ceiling/command", b'{"state":"ON"}'),
        ("light.ceiling", False, "esp-cave/light/ceiling/command", b'{"state":"OFF"}'),
        ("light.ceiling.state", True, "esp-cave/light/ceiling/command", b'{"state":"ON"}'),
        ("select.mode", "eco", "esp-cave/select/mode/command", b"eco"),
    ],
)
def test_esphome_sends_the_entity_command(
    path: str, value: Scalar, topic: str, payload: bytes
) -> None:
    assert one(ESPHOME, "esp-cave", path, value) == OutgoingMessage(topic, payload)


SUPPORTED = (
    "; supported: switch.<name> and fan.<name> (true or false), light.<name> (true or false), "
    "number.<name> (a number), select.<name> (an option's text)"
)


@pytest.mark.parametrize(
    ("source", "path", "value", "reason"),
    [
        ("esp-cave", "sensor.temperature", 1,
         "esphome cannot set 'sensor.temperature'" + SUPPORTED),
        ("esp-cave", "switch", True, "esphome cannot set 'switch'" + SUPPORTED),
        ("esp-cave", "switch.", True, "esphome cannot set 'switch.'" + SUPPORTED),
        ("esp-cave", "switch.a.b", True, "esphome cannot set 'switch.a.b'" + SUPPORTED),
        ("esp-cave", "light..state", True, "esphome cannot set 'light..state'" + SUPPORTED),
        ("esp-cave", "switch.a/b", True, "esphome entity name 'a/b' contains '/'"),
        ("esp-cave", "switch.+", True, "esphome entity name '+' contains '+'"),
        ("esp-cave", "switch.pump", 1, "switch.pump takes true or false, got 1"),
        ("esp-cave", "switch.pump", "ON", "switch.pump takes true or false, got 'ON'"),
        ("esp-cave", "light.ceiling", None, "light.ceiling takes true or false, got null"),
        ("esp-cave", "number.setpoint", True, "number.setpoint takes a number, got true"),
        ("esp-cave", "number.setpoint", float("-inf"),
         "number.setpoint takes a finite number, got -inf"),
        ("esp-cave", "select.mode", "", "select.mode takes an option's text, got ''"),
        ("esp-cave", "select.mode", 2, "select.mode takes an option's text, got 2"),
        ("", "switch.pump", True, "esphome node (the command's source) is empty"),
        ("a/b", "switch.pump", True, "esphome node (the command's source) 'a/b' contains '/'"),
    ],
)
def test_esphome_refuses_what_it_cannot_send(
    source: str, path: str, value: Scalar, reason: str
) -> None:
    assert refused(ESPHOME, source, path, value) == reason


# -- the registry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        Zigbee2MqttBridge(id="z2m", format="zigbee2mqtt"),
        TasmotaBridge(id="tasmota", format="tasmota"),
        ShellyGen2Bridge(id="shelly", format="shelly_gen2"),
        EsphomeBridge(id="esphome", format="esphome"),
    ],
    ids=lambda spec: spec.format,
)
def test_make_encoder_is_the_decoder_of_a_family_with_commands(spec: object) -> None:
    decoder = make_decoder(spec)  # type: ignore[arg-type]
    assert make_encoder(spec, decoder) is decoder  # type: ignore[arg-type]


def test_make_encoder_is_none_for_a_family_without_commands() -> None:
    spec = JsonBridge(id="acme", format="json", topic="acme/{source}/data")
    assert make_encoder(spec, make_decoder(spec)) is None
