"""Generic JSON decoder: topic patterns, every JSON fixture, availability spellings, a fuzz."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from devices.schema import BRIDGE_FORMATS, JsonBridge
from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.families import FAMILIES, make_decoder, topic_filters
from firmware_bridge.generic_json import GenericJsonDecoder, TopicPattern
from firmware_bridge.records import AvailabilityUpdate, Decoded, Ignored, RawMessage, StateUpdate

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
ALL_FIXTURES: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()
]

#: How an installer would point a generic JSON bridge at each family of the fixtures.
PATTERNS: dict[str, tuple[str, str | None]] = {
    "zigbee2mqtt": ("zigbee2mqtt/{source}", "zigbee2mqtt/{source}/availability"),
    "tasmota": ("tele/{source}/SENSOR", "tele/{source}/LWT"),
    "shelly-gen2": ("{source}/events/rpc", "{source}/online"),
    "esphome": ("{source}/sensor/temperature/state", "{source}/status"),
    "ttn-v3": ("v3/app1@ttn/devices/{source}/up", None),
    "intercom": ("{source}/last_telegram", None),
}

#: Every fixture, by (topic, payload), with the record (or the DecodeError reason) it gives.
EXPECTED: dict[tuple[str, str], Decoded | str] = {
    (
        "zigbee2mqtt/leak_cave_b",
        '{"battery":100,"battery_low":false,"device_temperature":26,"last_seen":1656118444933,'
        '"linkquality":83,"tamper":false,"temperature":26,"voltage":3025,"water_leak":false}',
    ): StateUpdate(
        "leak_cave_b",
        {
            "battery": 100,
            "battery_low": False,
            "device_temperature": 26,
            "last_seen": 1656118444933,
            "linkquality": 83,
            "tamper": False,
            "temperature": 26,
            "voltage": 3025,
            "water_leak": False,
        },
    ),
    ("zigbee2mqtt/temp_hall_a", '{"temperature": 27.34, "humidity": 44.72}'): StateUpdate(
        "temp_hall_a", {"temperature": 27.34, "humidity": 44.72}
    ),
    ("zigbee2mqtt/leak_cave_b/availability", '{"state":"offline"}'): AvailabilityUpdate(
        "leak_cave_b", online=False
    ),
    ("zigbee2mqtt/leak_cave_b/availability", "online"): AvailabilityUpdate(
        "leak_cave_b", online=True
    ),
    (
        "tele/chaufferie/SENSOR",
        '{"Time":"2019-01-01T00:00:00","AM2301":{"Temperature":24.6,"Humidity":58.2},'
        '"TempUnit":"C"}',
    ): StateUpdate(
        "chaufferie",
        {
            "Time": "2019-01-01T00:00:00",
            "AM2301.Temperature": 24.6,
            "AM2301.Humidity": 58.2,
            "TempUnit": "C",
        },
    ),
    ("tele/chaufferie/LWT", "Offline"): AvailabilityUpdate("chaufferie", online=False),
    (
        "shellypro4pm-f008d1d8b8b8/events/rpc",
        '{"src":"shellypro4pm-f008d1d8b8b8","dst":"user_1","method":"NotifyStatus",'
        '"params":{"ts":1631186545.04,"switch:0":{"id":0,"output":true,"source":"button"}}}',
    ): StateUpdate(
        "shellypro4pm-f008d1d8b8b8",
        {
            "src": "shellypro4pm-f008d1d8b8b8",
            "dst": "user_1",
            "method": "NotifyStatus",
            "params.ts": 1631186545.04,
            "params.switch:0.id": 0,
            "params.switch:0.output": True,
            "params.switch:0.source": "button",
        },
    ),
    # ESPHome publishes a bare value per sensor: not a JSON object, so not this family's
    ("esp-weather-outdoor/sensor/temperature/state", "20"): "expected a JSON object, got number",
    ("esp-weather-outdoor/status", "offline"): AvailabilityUpdate(
        "esp-weather-outdoor", online=False
    ),
    (
        "v3/app1@ttn/devices/dev1/up",
        '{"end_device_ids":{"device_id":"dev1","application_ids":{"application_id":"app1"}},'
        '"uplink_message":{"f_port":1,"frm_payload":"AQID","decoded_payload":{"bytes":[1,2,3]}}}',
    ): StateUpdate(
        "dev1",
        {
            "end_device_ids.device_id": "dev1",
            "end_device_ids.application_ids.application_id": "app1",
            "uplink_message.f_port": 1,
            "uplink_message.frm_payload": "AQID",
            "uplink_message.decoded_payload.bytes.0": 1,
            "uplink_message.decoded_payload.bytes.1": 2,
            "uplink_message.decoded_payload.bytes.2": 3,
        },
    ),
    (
        "doorman-s3/last_telegram",
        '{"telegram":"1100","type":"open_door","address":"0","payload":"0","serial_number":"0"}',
    ): StateUpdate(
        "doorman-s3",
        {
            "telegram": "1100",
            "type": "open_door",
            "address": "0",
            "payload": "0",
            "serial_number": "0",
        },
    ),
}

TASMOTA = GenericJsonDecoder("tele/{source}/SENSOR", "tele/{source}/LWT")
ACME = GenericJsonDecoder("acme/{source}/data", "acme/{source}/status")


def msg(topic: str, payload: bytes | str, *, retain: bool = False) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic=topic, payload=data, retain=retain)


def decode_error(decoder: GenericJsonDecoder, message: RawMessage) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        decoder.decode(message)
    assert caught.value.topic == message.topic
    return caught.value


# -- real payloads ---------------------------------------------------------------------------


def test_every_fixture_has_an_expected_outcome_and_a_pattern() -> None:
    assert {(f["topic"], f["payload"]) for f in ALL_FIXTURES} == set(EXPECTED)
    assert {f["family"] for f in ALL_FIXTURES} == set(PATTERNS)


@pytest.mark.parametrize(
    "fixture", ALL_FIXTURES, ids=lambda f: f"{f['family']}:{f['topic'].rsplit('/', 1)[-1]}"
)
def test_fixture_decodes_on_its_family_pattern(fixture: dict[str, Any]) -> None:
    decoder = GenericJsonDecoder(*PATTERNS[fixture["family"]])
    message = msg(fixture["topic"], fixture["payload"])
    expected = EXPECTED[fixture["topic"], fixture["payload"]]
    if isinstance(expected, str):
        assert decode_error(decoder, message).reason == expected
    else:
        assert decoder.decode(message) == expected


def test_tasmota_sensor_payload_yields_the_am2301_temperature() -> None:
    tasmota = next(f for f in ALL_FIXTURES if f["topic"] == "tele/chaufferie/SENSOR")
    record = TASMOTA.decode(msg("tele/chaufferie/SENSOR", tasmota["payload"]))
    assert isinstance(record, StateUpdate)
    assert record.source == "chaufferie"
    assert record.values["AM2301.Temperature"] == 24.6


def test_tasmota_payload_on_another_pattern_topic_keeps_its_paths() -> None:
    tasmota = next(f for f in ALL_FIXTURES if f["topic"] == "tele/chaufferie/SENSOR")
    record = ACME.decode(msg("acme/boiler-2/data", tasmota["payload"]))
    assert isinstance(record, StateUpdate)
    assert (record.source, record.values["AM2301.Humidity"]) == ("boiler-2", 58.2)


# -- broken cousins --------------------------------------------------------------------------

SENSOR = b'{"Time":"2019-01-01T00:00:00","AM2301":{"Temperature":24.6,"Humidity":58.2}}'


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(SENSOR[:-1], "not JSON: ", id="truncated"),
        pytest.param(b"Temperature=24.6", "not JSON: ", id="not-json"),
        pytest.param(b"", "empty payload", id="empty"),
        pytest.param(
            SENSOR.ljust(MAX_PAYLOAD_BYTES + 1, b" "),
            "payload of 262145 bytes exceeds the 262144-byte limit",
            id="oversize",
        ),
        pytest.param(b"[" + SENSOR + b"]", "expected a JSON object, got array", id="array"),
        pytest.param(b"24.6", "expected a JSON object, got number", id="bare-number"),
        pytest.param(
            json.dumps(SENSOR.decode()).encode(),
            "expected a JSON object, got string",
            id="double-encoded",
        ),
        pytest.param(
            b'{"a":' * 7 + SENSOR + b"}" * 7,  # pushes AM2301 to level 9
            "nested deeper than 8 levels at 'a.a.a.a.a.a.a.AM2301'",
            id="nested-too-deep",
        ),
        pytest.param(
            SENSOR[:1] + b"\xff" + SENSOR[1:], "not UTF-8: byte 0xff at offset 1", id="not-utf8"
        ),
    ],
)
def test_broken_sensor_payload_is_refused_with_its_reason(payload: bytes, reason: str) -> None:
    error = decode_error(TASMOTA, msg("tele/chaufferie/SENSOR", payload))
    if reason.endswith(": "):
        assert error.reason.startswith(reason)
        assert len(error.reason) > len(reason)
    else:
        assert error.reason == reason


@pytest.mark.parametrize("topic", ["tele/chaufferie/SENSOR", "tele/chaufferie/LWT"])
def test_an_empty_retained_payload_clears_and_is_ignored(topic: str) -> None:
    record = TASMOTA.decode(msg(topic, b"", retain=True))
    assert isinstance(record, Ignored)
    assert "retained message was cleared" in record.reason


def test_an_empty_live_availability_payload_is_refused() -> None:
    assert decode_error(TASMOTA, msg("tele/chaufferie/LWT", b"")).reason == "empty payload"


# -- availability ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "online"),
    [
        ("online", True),
        ("offline", False),
        ("Online", True),
        ("OFFLINE", False),
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
        (" online\r\n", True),
        ('{"state":"online"}', True),
        ('{"state":"Offline"}', False),
        ('{"state":true}', True),
        ('{"state":0}', False),
        ('{"online":true}', True),
        ('{"online":false}', False),
        ('{"online":1}', True),
        ('{"online":"false"}', False),
        (' {"state": "offline"} ', False),
    ],
)
def test_availability_spellings(payload: str, online: bool) -> None:
    record = ACME.decode(msg("acme/boiler-2/status", payload))
    assert record == AvailabilityUpdate("boiler-2", online=online)


EXPECTED_WORDS = "online, offline, true, false, 1 or 0"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("maybe", f"availability must be {EXPECTED_WORDS}, got 'maybe'"),
        ("2", f"availability must be {EXPECTED_WORDS}, got '2'"),
        ("onlin", f"availability must be {EXPECTED_WORDS}, got 'onlin'"),
        ('{"state":2}', f"availability must be {EXPECTED_WORDS}, got 2"),
        ('{"state":null}', f"availability must be {EXPECTED_WORDS}, got null"),
        ('{"online":{"v":1}}', f"availability must be {EXPECTED_WORDS}, got an object"),
        ('{"status":"online"}', 'availability object has neither a "state" nor an "online" key'),
        ('["online"]', "expected a JSON object, got array"),
        ('{"state":"online"', "not JSON: "),
        (b"on\xffline", "not UTF-8: byte 0xff at offset 2"),
        (
            b"online".ljust(MAX_PAYLOAD_BYTES + 1),
            "payload of 262145 bytes exceeds the 262144-byte limit",
        ),
    ],
)
def test_bad_availability_is_refused(payload: str | bytes, reason: str) -> None:
    error = decode_error(ACME, msg("acme/boiler-2/status", payload))
    assert error.reason.startswith(reason) if reason.endswith(": ") else error.reason == reason


def test_without_an_availability_pattern_a_status_topic_is_not_ours() -> None:
    decoder = GenericJsonDecoder("acme/{source}/data")
    assert decoder.decode(msg("acme/boiler-2/status", "offline")) is None
    assert decoder.topic_filters == ("acme/+/data",)


# -- topic patterns --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "topic", "source"),
    [
        ("acme/{source}/data", "acme/boiler-2/data", "boiler-2"),
        ("acme/{source}/data", "acme/a/b/data", None),  # {source} is one level, never two
        ("acme/{source}/data", "acme//data", ""),
        ("acme/{source}/data", "acme/boiler-2/datax", None),
        ("acme/{source}/data", "acmex/boiler-2/data", None),
        ("acme/{source}/data", "acme/boiler-2/data/x", None),
        ("acme/{source}/data", "acme/data", None),
        ("a/{source}/a", "a/a", None),  # prefix and suffix overlapping in a short topic
        ("{source}/data", "boiler/data", "boiler"),
        ("{source}/data", "x/boiler/data", None),
        ("acme/{source}", "acme/boiler", "boiler"),
        ("acme/{source}", "acme/boiler/data", None),
        ("{source}", "boiler", "boiler"),
        ("{source}", "a/b", None),
        ("acme/{source}/data", "ACME/boiler/data", None),
    ],
)
def test_source_is_exactly_one_topic_level(pattern: str, topic: str, source: str | None) -> None:
    assert TopicPattern(pattern).source(topic) == source


@pytest.mark.parametrize(
    ("topic", "availability", "filters"),
    [
        ("acme/{source}/data", None, ("acme/+/data",)),
        ("acme/{source}/data", "acme/{source}/status", ("acme/+/data", "acme/+/status")),
        ("{source}/events/rpc", "{source}/online", ("+/events/rpc", "+/online")),
        ("{source}", None, ("+",)),
    ],
)
def test_topic_filters_put_plus_for_source(
    topic: str, availability: str | None, filters: tuple[str, ...]
) -> None:
    decoder = GenericJsonDecoder(topic, availability)
    assert decoder.topic_filters == filters
    assert topic_filters(decoder) == filters


@pytest.mark.parametrize(
    ("topic", "availability", "complaint"),
    [
        ("acme/data", None, "must contain {source} once"),
        ("acme/{source}/{source}", None, "must contain {source} once"),
        ("acme/dev-{source}/data", None, "must be a whole topic level"),
        ("acme/{source}x/data", None, "must be a whole topic level"),
        ("acme/+/{source}", None, "must not contain the MQTT wildcards"),
        ("acme/{source}/#", None, "must not contain the MQTT wildcards"),
        ("acme/{source}/data", "acme/status", "must contain {source} once"),
        ("acme/{source}/data", "acme/{source}/data", "they must differ"),
    ],
)
def test_an_unsubscribable_pattern_is_refused(
    topic: str, availability: str | None, complaint: str
) -> None:
    with pytest.raises(ValueError) as caught:
        GenericJsonDecoder(topic, availability)
    assert complaint in str(caught.value)


@pytest.mark.parametrize(
    ("topic", "payload"),
    [("acme//data", '{"a":1}'), ("acme//status", "online"), ("acme//data", b"")],
)
def test_an_empty_source_level_is_ignored(topic: str, payload: str | bytes) -> None:
    assert ACME.decode(msg(topic, payload)) == Ignored("the {source} level of the topic is empty")


def test_state_pattern_wins_when_both_match() -> None:
    decoder = GenericJsonDecoder("acme/{source}/x", "acme/status/{source}")
    record = decoder.decode(msg("acme/status/x", '{"state":"online"}'))
    assert record == StateUpdate("status", {"state": "online"})


@pytest.mark.parametrize(
    "topic", ["zigbee2mqtt/leak_cave_b", "acme/boiler-2", "acme/boiler-2/data/extra", ""]
)
def test_other_topics_are_none_whatever_the_payload(topic: str) -> None:
    assert ACME.decode(msg(topic, b"\xff not json")) is None


# -- from the installer's bridge file --------------------------------------------------------


def test_families_are_registered_explicitly() -> None:
    assert set(FAMILIES) == set(BRIDGE_FORMATS), "every bridge format the schema accepts decodes"


def test_make_decoder_builds_generic_json_from_the_spec() -> None:
    spec = JsonBridge(
        id="tasmota-chaufferie",
        format="json",
        topic="tele/{source}/SENSOR",
        availability_topic="tele/{source}/LWT",
    )
    decoder = make_decoder(spec)
    assert isinstance(decoder, GenericJsonDecoder)
    assert topic_filters(decoder) == ("tele/+/SENSOR", "tele/+/LWT")
    assert decoder.decode(msg("tele/chaufferie/LWT", "Offline")) == AvailabilityUpdate(
        "chaufferie", online=False
    )


def test_the_bridge_schema_refuses_a_bad_pattern_at_load_time() -> None:
    with pytest.raises(ValueError, match=r"topic pattern .* whole topic level"):
        JsonBridge(id="acme", format="json", topic="acme/dev-{source}/data")


def test_make_decoder_names_the_bridge_when_its_pattern_is_bad() -> None:
    spec = JsonBridge.model_construct(id="acme", format="json", topic="acme/dev-{source}/data")
    with pytest.raises(ValueError, match=r"^bridge 'acme': topic pattern .* whole topic level"):
        make_decoder(spec)


def test_make_decoder_refuses_an_unknown_format_clearly() -> None:
    # JsonBridge's Literal already refuses it; model_construct is how code could slip past
    spec = JsonBridge.model_construct(id="modbus-1", format="modbus")
    with pytest.raises(ValueError, match=r"^bridge 'modbus-1': unknown format 'modbus'; known: "):
        make_decoder(spec)


def test_topic_filters_refuses_a_decoder_without_any() -> None:
    class Bare:
        def decode(self, message: RawMessage) -> Decoded | None:
            return None

    with pytest.raises(TypeError, match="Bare declares no topic_filters"):
        topic_filters(Bare())


# -- fuzz ------------------------------------------------------------------------------------

FUZZ_TOPICS = ["acme/boiler-2/data", "acme/boiler-2/status", "acme//data", "acme/x/y/data", "x"]
RECORD_TYPES = (StateUpdate, AvailabilityUpdate, Ignored)
SEEDS = [f["payload"].encode() for f in ALL_FIXTURES]


def random_payload(rng: random.Random) -> bytes:
    strategy = rng.randrange(4)
    if strategy == 0:
        return rng.randbytes(rng.randint(0, 64))
    if strategy == 1:
        data = bytearray(rng.choice(SEEDS))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) + 1)
            if at < len(data) and rng.random() < 0.5:
                data[at] = rng.randrange(256)
            elif at < len(data):
                del data[at]
            else:
                data.append(rng.randrange(256))
        return bytes(data)
    if strategy == 2:
        return rng.choice([b"online", b"0", b"1", b"TRUE", b"no", b'{"online":2}', b'{"state":[]}'])
    levels = rng.randint(1, 12)
    return b'{"a":' * levels + b"1" + b"}" * levels


def test_fuzz_decode_returns_a_record_or_raises_decode_error() -> None:
    rng = random.Random(4242)
    outcomes: dict[str, int] = {}
    for example in range(500):
        topic = rng.choice(FUZZ_TOPICS)
        message = msg(topic, random_payload(rng), retain=rng.random() < 0.2)
        try:
            record = ACME.decode(message)
        except DecodeError as exc:
            assert exc.reason, message
            assert exc.topic == topic, message
            outcome = "error"
        except Exception as exc:  # the property under test: nothing else escapes
            pytest.fail(f"example {example}: {message!r} raised {exc!r}")
        else:
            assert record is None or isinstance(record, RECORD_TYPES), message
            outcome = type(record).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("StateUpdate", 0) > 10
    assert outcomes.get("AvailabilityUpdate", 0) > 10
    assert outcomes.get("error", 0) > 100
