"""ESPHome decoder: plain states read as booleans, numbers or text, lights, status, routing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devices.schema import EsphomeBridge
from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.esphome import EsphomeDecoder
from firmware_bridge.families import make_decoder, topic_filters
from firmware_bridge.records import AvailabilityUpdate, Decoded, Ignored, RawMessage, StateUpdate

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
ALL_FIXTURES: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()
]
ESPHOME_FIXTURES = [f for f in ALL_FIXTURES if f["family"] == "esphome"]

DECODER = EsphomeDecoder()
NODE = "esp-weather-outdoor"

#: Every ESPHome fixture, by (topic, payload), with the one record it must give.
EXPECTED: dict[tuple[str, str], Decoded] = {
    (f"{NODE}/sensor/temperature/state", "20"): StateUpdate(NODE, {"sensor.temperature": 20}),
    (f"{NODE}/status", "offline"): AvailabilityUpdate(NODE, online=False),
}

# -- captured: the outdoor weather node, the basement pump controller, the hall light

LIGHT = (
    '{"state":"ON","color_mode":"color_temp","brightness":179,"color_temp":370,'
    '"color":{},"effect":"None"}'
)

CAPTURED: list[tuple[str, str, str, Decoded]] = [
    ("float", f"{NODE}/sensor/temperature/state", "21.45",
     StateUpdate(NODE, {"sensor.temperature": 21.45})),
    ("negative", f"{NODE}/sensor/temperature/state", "-3.2",
     StateUpdate(NODE, {"sensor.temperature": -3.2})),
    ("exponent", f"{NODE}/sensor/illuminance/state", "1.5e3",
     StateUpdate(NODE, {"sensor.illuminance": 1500.0})),
    ("zero", f"{NODE}/sensor/rain/state", "0",
     StateUpdate(NODE, {"sensor.rain": 0})),
    ("binary-on", "esp-pompe-cave/binary_sensor/leak/state", "ON",
     StateUpdate("esp-pompe-cave", {"binary_sensor.leak": True})),
    ("binary-off", "esp-pompe-cave/binary_sensor/leak/state", "OFF",
     StateUpdate("esp-pompe-cave", {"binary_sensor.leak": False})),
    ("switch-off", "esp-pompe-cave/switch/pump/state", "OFF",
     StateUpdate("esp-pompe-cave", {"switch.pump": False})),
    ("text-version", "esp-pompe-cave/text_sensor/version/state", "2024.6.1 Jun 12 2024, 10:00:00",
     StateUpdate("esp-pompe-cave", {"text_sensor.version": "2024.6.1 Jun 12 2024, 10:00:00"})),
    ("text-address", "esp-pompe-cave/text_sensor/ip/state", "10.0.4.17",
     StateUpdate("esp-pompe-cave", {"text_sensor.ip": "10.0.4.17"})),
    ("text-leading-zero", "esp-pompe-cave/text_sensor/code/state", "0042",
     StateUpdate("esp-pompe-cave", {"text_sensor.code": "0042"})),
    ("text-lower-on", "esp-pompe-cave/text_sensor/mode/state", "on",
     StateUpdate("esp-pompe-cave", {"text_sensor.mode": "on"})),
    ("cover", "esp-garage/cover/door/state", "OPEN",
     StateUpdate("esp-garage", {"cover.door": "OPEN"})),
    ("lock", "esp-hall/lock/front/state", "LOCKED",
     StateUpdate("esp-hall", {"lock.front": "LOCKED"})),
    ("light-json", "esp-hall/light/ceiling/state", LIGHT,
     StateUpdate("esp-hall", {
         "light.ceiling.state": "ON",
         "light.ceiling.color_mode": "color_temp",
         "light.ceiling.brightness": 179,
         "light.ceiling.color_temp": 370,
         "light.ceiling.effect": "None",
     })),
    ("online", f"{NODE}/status", "online", AvailabilityUpdate(NODE, online=True)),
]


def msg(topic: str, payload: bytes | str, *, retain: bool = False) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic=topic, payload=data, retain=retain)


def decode_error(message: RawMessage) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        DECODER.decode(message)
    assert caught.value.topic == message.topic
    assert str(caught.value) == f"{message.topic}: {caught.value.reason}"
    return caught.value


# -- real payloads ---------------------------------------------------------------------------


def test_every_esphome_fixture_has_an_expected_record() -> None:
    assert ESPHOME_FIXTURES
    assert {(f["topic"], f["payload"]) for f in ESPHOME_FIXTURES} == set(EXPECTED)


@pytest.mark.parametrize("fixture", ESPHOME_FIXTURES, ids=lambda f: f["topic"])
@pytest.mark.parametrize("retain", [False, True], ids=["live", "retained"])
def test_fixture_decodes_to_its_exact_record(fixture: dict[str, Any], retain: bool) -> None:
    record = DECODER.decode(msg(fixture["topic"], fixture["payload"], retain=retain))
    assert record == EXPECTED[fixture["topic"], fixture["payload"]]


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [pytest.param(t, p, e, id=name) for name, t, p, e in CAPTURED],
)
def test_captured_payload_decodes_to_its_exact_record(
    topic: str, payload: str, expected: Decoded
) -> None:
    assert DECODER.decode(msg(topic, payload)) == expected


def test_an_integer_stays_an_int_and_a_decimal_a_float() -> None:
    whole = DECODER.decode(msg(f"{NODE}/sensor/temperature/state", "20"))
    decimal = DECODER.decode(msg(f"{NODE}/sensor/temperature/state", "20.0"))
    assert isinstance(whole, StateUpdate) and isinstance(decimal, StateUpdate)
    assert type(whole.values["sensor.temperature"]) is int
    assert type(decimal.values["sensor.temperature"]) is float


@pytest.mark.parametrize(
    "fixture",
    [f for f in ALL_FIXTURES if f["family"] != "esphome"],
    ids=lambda f: f["topic"],
)
def test_other_families_fixtures_are_not_esphomes(fixture: dict[str, Any]) -> None:
    assert DECODER.decode(msg(fixture["topic"], fixture["payload"])) is None


# -- broken cousins --------------------------------------------------------------------------

STATE = f"{NODE}/sensor/temperature/state"
STATUS = f"{NODE}/status"
BAD_STATUS = "status must be online or offline, got "
OVERSIZE = f"payload of {MAX_PAYLOAD_BYTES + 1} bytes exceeds the 262144-byte limit"

COUSINS: list[tuple[str, str, bytes, str]] = [
    ("nan", STATE, b"nan", "not a reading: nan"),
    ("NaN", STATE, b"NaN", "not a reading: nan"),
    ("minus-nan", STATE, b"-nan", "not a reading: -nan"),
    ("inf", STATE, b"inf", "not a reading: inf"),
    ("minus-inf", STATE, b"-inf", "not a reading: -inf"),
    ("overflow", STATE, b"1e400", "not a reading: '1e400' is out of range"),
    ("empty", STATE, b"", "not a reading: empty payload"),
    ("not-utf8", STATE, b"2\xff", "not UTF-8: byte 0xff at offset 1"),
    ("oversize", STATE, b"20".ljust(MAX_PAYLOAD_BYTES + 1), OVERSIZE),
    ("light-truncated", "esp-hall/light/ceiling/state", LIGHT.encode()[:-1], "not JSON: "),
    ("light-plain", "esp-hall/light/ceiling/state", b"ON", "not JSON: "),
    ("light-array", "esp-hall/light/ceiling/state", b"[]", "expected a JSON object, got array"),
    ("light-empty", "esp-hall/light/ceiling/state", b"", "not a reading: empty payload"),
    ("status-capital", STATUS, b"Online", BAD_STATUS + "'Online'"),
    ("status-truncated", STATUS, b"offlin", BAD_STATUS + "'offlin'"),
    ("status-boolean", STATUS, b"true", BAD_STATUS + "'true'"),
    ("status-empty", STATUS, b"", "empty payload"),
    ("status-not-utf8", STATUS, b"on\xffline", "not UTF-8: byte 0xff at offset 2"),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [pytest.param(t, p, r, id=name) for name, t, p, r in COUSINS],
)
def test_broken_cousin_is_refused_with_its_reason(topic: str, payload: bytes, reason: str) -> None:
    error = decode_error(msg(topic, payload))
    if reason.endswith(": "):  # the rest is orjson's own wording and position
        assert error.reason.startswith(reason)
        assert len(error.reason) > len(reason)
    else:
        assert error.reason == reason


@pytest.mark.parametrize("topic", [STATE, STATUS, "esp-hall/light/ceiling/state"])
def test_an_empty_retained_payload_clears_and_is_ignored(topic: str) -> None:
    assert DECODER.decode(msg(topic, b"", retain=True)) == Ignored(
        "empty retained payload: a retained message was cleared"
    )


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "record"),
    [
        ("/sensor/temperature/state", Ignored("no node name in the topic")),
        ("/status", Ignored("no node name in the topic")),
        (f"{NODE}//temperature/state", Ignored("no component or entity name in the topic")),
        (f"{NODE}/sensor//state", Ignored("no component or entity name in the topic")),
    ],
)
def test_a_topic_without_a_node_or_entity_is_ignored(topic: str, record: Ignored) -> None:
    assert DECODER.decode(msg(topic, "20")) == record


@pytest.mark.parametrize(
    "topic",
    [
        f"{NODE}/debug",
        f"{NODE}/sensor/temperature/command",
        f"{NODE}/switch/pump/command",  # Palier's own command, echoed by the broker
        f"{NODE}/temperature/state",
        f"{NODE}/climate/heating/mode/state",
        f"home/{NODE}/sensor/temperature/state",
        f"home/{NODE}/status",
        "homeassistant/sensor/esp-weather-outdoor-temperature/config",
        "state",
        "status",
        "",
    ],
)
def test_a_topic_no_esphome_node_publishes_is_none(topic: str) -> None:
    assert DECODER.decode(msg(topic, "20")) is None


def test_make_decoder_builds_esphome_from_the_spec() -> None:
    decoder = make_decoder(EsphomeBridge(id="esphome-lilas", format="esphome"))
    assert isinstance(decoder, EsphomeDecoder)
    assert topic_filters(decoder) == ("+/+/+/state", "+/status")
    assert decoder.decode(msg(f"{NODE}/status", "offline")) == EXPECTED[f"{NODE}/status", "offline"]
