"""zigbee2mqtt decoder: real payloads, their broken cousins, topic routing and a small fuzz."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from devices.schema import Zigbee2MqttBridge
from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.families import make_decoder, topic_filters
from firmware_bridge.records import (
    AvailabilityUpdate,
    BridgeStatus,
    Decoded,
    Ignored,
    RawMessage,
    StateUpdate,
)
from firmware_bridge.zigbee2mqtt import Zigbee2MqttDecoder

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
ALL_FIXTURES: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()
]
Z2M_FIXTURES = [f for f in ALL_FIXTURES if f["family"] == "zigbee2mqtt"]

DECODER = Zigbee2MqttDecoder()

LEAK_STATE = (
    '{"battery":100,"battery_low":false,"device_temperature":26,"last_seen":1656118444933,'
    '"linkquality":83,"tamper":false,"temperature":26,"voltage":3025,"water_leak":false}'
)

#: Every zigbee2mqtt fixture, by (topic, payload), with the one record it must give.
EXPECTED: dict[tuple[str, str], Decoded] = {
    ("zigbee2mqtt/leak_cave_b", LEAK_STATE): StateUpdate(
        source="leak_cave_b",
        values={
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
        source="temp_hall_a", values={"temperature": 27.34, "humidity": 44.72}
    ),
    ("zigbee2mqtt/leak_cave_b/availability", '{"state":"offline"}'): AvailabilityUpdate(
        source="leak_cave_b", online=False
    ),
    ("zigbee2mqtt/leak_cave_b/availability", "online"): AvailabilityUpdate(
        source="leak_cave_b", online=True
    ),
}


def msg(topic: str, payload: bytes | str, *, retain: bool = False) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic=topic, payload=data, retain=retain)


def decode_error(message: RawMessage, decoder: Zigbee2MqttDecoder = DECODER) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        decoder.decode(message)
    assert caught.value.topic == message.topic
    assert str(caught.value) == f"{message.topic}: {caught.value.reason}"
    return caught.value


def fixture_id(fixture: dict[str, Any]) -> str:
    name = fixture["topic"].removeprefix("zigbee2mqtt/")
    form = "json" if fixture["payload"].startswith("{") else "plain"
    return f"{name}-{form}"


# -- real payloads ---------------------------------------------------------------------------


def test_every_zigbee2mqtt_fixture_has_an_expected_record() -> None:
    assert {(f["topic"], f["payload"]) for f in Z2M_FIXTURES} == set(EXPECTED)


@pytest.mark.parametrize("fixture", Z2M_FIXTURES, ids=fixture_id)
@pytest.mark.parametrize("retain", [False, True], ids=["live", "retained"])
def test_fixture_decodes_to_its_exact_record(fixture: dict[str, Any], retain: bool) -> None:
    record = DECODER.decode(msg(fixture["topic"], fixture["payload"], retain=retain))
    assert record == EXPECTED[fixture["topic"], fixture["payload"]]


def test_leak_state_reports_a_dry_sensor_with_a_full_battery() -> None:
    record = DECODER.decode(msg("zigbee2mqtt/leak_cave_b", LEAK_STATE))
    assert isinstance(record, StateUpdate)
    assert record.values["water_leak"] is False
    assert record.values["battery"] == 100
    assert type(record.values["battery"]) is int


@pytest.mark.parametrize(
    "fixture",
    [f for f in ALL_FIXTURES if f["family"] != "zigbee2mqtt"],
    ids=lambda f: f["topic"],
)
def test_other_families_fixtures_are_outside_the_base(fixture: dict[str, Any]) -> None:
    assert DECODER.decode(msg(fixture["topic"], fixture["payload"])) is None


# -- broken cousins --------------------------------------------------------------------------

TOO_MANY = "more than 500 keys in one payload (nested keys and list items count)"


def oversize(payload: bytes) -> tuple[bytes, str]:
    padded = payload.ljust(MAX_PAYLOAD_BYTES + 1, b" ")
    return padded, f"payload of {MAX_PAYLOAD_BYTES + 1} bytes exceeds the 262144-byte limit"


def state_cousins(payload: bytes) -> list[tuple[str, bytes, str]]:
    """(name, payload, reason or reason prefix ending in ': ') for a JSON state payload."""
    obj = orjson.loads(payload)
    first_value = next(iter(obj.values()))
    wrapped: Any = obj
    for _ in range(8):
        wrapped = {"x": wrapped}
    crowded = {**obj, **{f"extra{i}": i for i in range(500)}}
    return [
        ("truncated-end", payload[:-1], "not JSON: "),
        ("truncated-half", payload[: len(payload) // 2], "not JSON: "),
        ("single-quotes", payload.replace(b'"', b"'"), "not JSON: "),
        ("key-value-text", b"battery=100 water_leak=false", "not JSON: "),
        ("empty", b"", "empty payload"),
        ("oversize", *oversize(payload)),
        ("array", b"[" + payload + b"]", "expected a JSON object, got array"),
        ("double-encoded", orjson.dumps(payload.decode()), "expected a JSON object, got string"),
        ("bare-value", orjson.dumps(first_value), "expected a JSON object, got number"),
        ("null", b"null", "expected a JSON object, got null"),
        (
            "nested-too-deep",
            orjson.dumps(wrapped),
            "nested deeper than 8 levels at 'x.x.x.x.x.x.x.x'",
        ),
        ("too-many-keys", orjson.dumps(crowded), TOO_MANY),
        ("not-utf8", payload[:2] + b"\xff" + payload[2:], "not UTF-8: byte 0xff at offset 2"),
        (
            "dotted-key-collision",
            orjson.dumps({**obj, "env": {"t": 1}, "env.t": 2}),
            "two keys give the same path 'env.t' (a key contains a dot)",
        ),
    ]


def availability_json_cousins(payload: bytes) -> list[tuple[str, bytes, str]]:
    bad_value = "availability must be online or offline, got "
    return [
        ("truncated-end", payload[:-1], "not JSON: "),
        ("truncated-half", payload[: len(payload) // 2], "not JSON: "),
        ("empty", b"", "empty payload"),
        ("oversize", *oversize(payload)),
        ("array", b"[" + payload + b"]", "expected a JSON object, got array"),
        ("unknown-value", b'{"state":"maybe"}', bad_value + "'maybe'"),
        ("number", b'{"state":0}', bad_value + "0"),
        ("boolean", b'{"state":false}', bad_value + "false"),
        ("null", b'{"state":null}', bad_value + "null"),
        ("nested", b'{"state":' + payload + b"}", bad_value + "an object"),
        ("upper-case", b'{"state":"OFFLINE"}', bad_value + "'OFFLINE'"),
        ("missing-state", b'{"status":"offline"}', 'availability object has no "state" key'),
        ("not-utf8", b'{"state":"off\xffline"}', "not UTF-8: byte 0xff at offset 13"),
    ]


def availability_plain_cousins(payload: bytes) -> list[tuple[str, bytes, str]]:
    bad_value = "availability must be online or offline, got "
    return [
        ("truncated-end", payload[:-1], bad_value + repr(payload[:-1].decode())),
        ("empty", b"", "empty payload"),
        ("oversize", *oversize(payload)),
        ("unknown-value", b"maybe", bad_value + "'maybe'"),
        ("json-string", orjson.dumps(payload.decode()), bad_value + repr(f'"{payload.decode()}"')),
        ("array", b'["' + payload + b'"]', "expected a JSON object, got array"),
        ("not-json-object", b"{" + payload, "not JSON: "),
        ("not-utf8", payload[:3] + b"\xff" + payload[3:], "not UTF-8: byte 0xff at offset 3"),
        ("long-value-cut", b"x" * 100, bad_value + repr("x" * 39 + "…")),
    ]


def cousins() -> list[Any]:
    params = []
    for fixture in Z2M_FIXTURES:
        topic, payload = fixture["topic"], fixture["payload"].encode()
        if not topic.endswith("/availability"):
            made = state_cousins(payload)
        elif payload.startswith(b"{"):
            made = availability_json_cousins(payload)
        else:
            made = availability_plain_cousins(payload)
        params += [
            pytest.param(topic, bad, reason, id=f"{fixture_id(fixture)}-{name}")
            for name, bad, reason in made
        ]
    return params


@pytest.mark.parametrize(("topic", "payload", "reason"), cousins())
def test_broken_cousin_is_refused_with_its_reason(topic: str, payload: bytes, reason: str) -> None:
    error = decode_error(msg(topic, payload))
    if reason.endswith(": "):  # the rest is orjson's own wording and position
        assert error.reason.startswith(reason)
        assert len(error.reason) > len(reason)
    else:
        assert error.reason == reason


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt/leak_cave_b", "zigbee2mqtt/leak_cave_b/availability", "zigbee2mqtt/bridge/state"],
)
def test_an_empty_retained_payload_clears_and_is_ignored(topic: str) -> None:
    record = DECODER.decode(msg(topic, b"", retain=True))
    assert isinstance(record, Ignored)
    assert "retained message was cleared" in record.reason


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt/leak_cave_b", "zigbee2mqtt/leak_cave_b/availability", "zigbee2mqtt/bridge/state"],
)
def test_an_empty_live_payload_is_refused(topic: str) -> None:
    assert decode_error(msg(topic, b"")).reason == "empty payload"


def test_a_payload_of_exactly_the_limit_is_decoded() -> None:
    payload = LEAK_STATE.encode().ljust(MAX_PAYLOAD_BYTES, b" ")
    record = DECODER.decode(msg("zigbee2mqtt/leak_cave_b", payload))
    assert record == EXPECTED["zigbee2mqtt/leak_cave_b", LEAK_STATE]


def test_eight_levels_of_nesting_are_decoded() -> None:
    wrapped: Any = {"water_leak": True}
    for _ in range(7):
        wrapped = {"x": wrapped}
    record = DECODER.decode(msg("zigbee2mqtt/leak_cave_b", orjson.dumps(wrapped)))
    assert record == StateUpdate("leak_cave_b", {"x.x.x.x.x.x.x.water_leak": True})


# -- the bridge ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "online"),
    [
        pytest.param('{"state":"online"}', True, id="2.x-online"),
        pytest.param('{"state":"offline"}', False, id="2.x-offline"),
        pytest.param('{"state": "online"}\n', True, id="2.x-spaced"),
        pytest.param("online", True, id="legacy-online"),
        pytest.param("offline", False, id="legacy-offline"),
    ],
)
def test_bridge_state_in_both_forms(payload: str, online: bool) -> None:
    record = DECODER.decode(msg("zigbee2mqtt/bridge/state", payload, retain=True))
    assert record == BridgeStatus(online=online)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("maybe", "bridge state must be online or offline, got 'maybe'"),
        ('{"state":true}', "bridge state must be online or offline, got true"),
        ("{}", 'bridge state object has no "state" key'),
        ('{"state":"online"', "not JSON: "),
        ('["online"]', "expected a JSON object, got array"),
    ],
)
def test_bad_bridge_state_is_refused(payload: str, reason: str) -> None:
    error = decode_error(msg("zigbee2mqtt/bridge/state", payload))
    assert error.reason.startswith(reason) if reason.endswith(": ") else error.reason == reason


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/bridge/logging",
        "zigbee2mqtt/bridge/devices",
        "zigbee2mqtt/bridge/info",
        "zigbee2mqtt/bridge/event",
        "zigbee2mqtt/bridge/response/device/rename",
        "zigbee2mqtt/bridge/request/permit_join",
    ],
)
def test_other_bridge_topics_are_ignored_unread(topic: str) -> None:
    # not JSON and over the limit: a bridge topic is skipped before its payload is read
    record = DECODER.decode(msg(topic, b"\xff" * (MAX_PAYLOAD_BYTES + 1)))
    assert isinstance(record, Ignored)
    assert topic.removeprefix("zigbee2mqtt/") in record.reason


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "source"),
    [
        ("zigbee2mqtt/floor1/leak", "floor1/leak"),
        ("zigbee2mqtt/lilas/b/cave/leak", "lilas/b/cave/leak"),
        ("zigbee2mqtt/bridge", "bridge"),  # only bridge/… is the bridge's
        ("zigbee2mqtt/availability", "availability"),
        ("zigbee2mqtt/settings/lamp", "settings/lamp"),
    ],
)
def test_state_source_is_everything_after_the_base(topic: str, source: str) -> None:
    assert DECODER.decode(msg(topic, '{"water_leak":true}')) == StateUpdate(
        source, {"water_leak": True}
    )


@pytest.mark.parametrize(
    ("topic", "source"),
    [
        ("zigbee2mqtt/floor1/leak/availability", "floor1/leak"),
        ("zigbee2mqtt/lilas/b/cave/leak/availability", "lilas/b/cave/leak"),
        ("zigbee2mqtt/leak/set/availability", "leak/set"),
    ],
)
@pytest.mark.parametrize("payload", ['{"state":"online"}', "online"], ids=["json", "legacy"])
def test_availability_source_may_contain_slashes(topic: str, source: str, payload: str) -> None:
    assert DECODER.decode(msg(topic, payload)) == AvailabilityUpdate(source, online=True)


@pytest.mark.parametrize(
    "topic",
    [
        "zigbee2mqtt/lamp/set",
        "zigbee2mqtt/lamp/get",
        "zigbee2mqtt/lamp/set/brightness",
        "zigbee2mqtt/lamp/get/state",
        "zigbee2mqtt/floor1/lamp/set",
        "zigbee2mqtt/floor1/lamp/set/color_temp",
    ],
)
def test_commands_are_ignored_whatever_their_payload(topic: str) -> None:
    record = DECODER.decode(msg(topic, b"not json at all"))
    assert isinstance(record, Ignored)
    assert "command" in record.reason


@pytest.mark.parametrize(
    "topic",
    ["zigbee2mqtt", "zigbee2mqtt/", "zigbee2mqtt//availability"],
)
def test_a_topic_without_a_device_name_is_ignored(topic: str) -> None:
    record = DECODER.decode(msg(topic, '{"a":1}'))
    assert record == Ignored("no device name in the topic")


@pytest.mark.parametrize(
    "topic",
    [
        "tele/chaufferie/SENSOR",
        "zigbee2mqttx/leak",
        "zigbee2mqt",
        "Zigbee2mqtt/leak",
        "home/zigbee2mqtt/leak",
        "/zigbee2mqtt/leak",
        "",
    ],
)
def test_a_topic_outside_the_base_is_none(topic: str) -> None:
    assert DECODER.decode(msg(topic, "{not even json")) is None


def test_a_custom_base_topic_with_a_slash() -> None:
    decoder = Zigbee2MqttDecoder("home/zb")
    assert decoder.topic_filters == ("home/zb/#",)
    assert decoder.decode(msg("home/zb/lamp", '{"state":"ON"}')) == StateUpdate(
        "lamp", {"state": "ON"}
    )
    assert decoder.decode(msg("home/zb/bridge/state", "online")) == BridgeStatus(True)
    assert decoder.decode(msg("zigbee2mqtt/lamp", '{"state":"ON"}')) is None
    assert decode_error(msg("home/zb/lamp", "["), decoder).reason.startswith("not JSON: ")


def test_default_topic_filter_covers_the_whole_base() -> None:
    assert DECODER.topic_filters == ("zigbee2mqtt/#",)
    assert DECODER.base_topic == "zigbee2mqtt"


@pytest.mark.parametrize("base", ["", "/zigbee2mqtt", "zigbee2mqtt/", "zigbee2mqtt/#", "z/+/b"])
def test_an_unsubscribable_base_topic_is_refused(base: str) -> None:
    with pytest.raises(ValueError, match="base_topic"):
        Zigbee2MqttDecoder(base)


# -- from the installer's bridge file --------------------------------------------------------


@pytest.mark.parametrize(
    ("base_topic", "expected_filters"),
    [(None, ("zigbee2mqtt/#",)), ("lilas/zigbee", ("lilas/zigbee/#",))],
)
def test_make_decoder_builds_zigbee2mqtt_from_the_spec(
    base_topic: str | None, expected_filters: tuple[str, ...]
) -> None:
    fields = {"base_topic": base_topic} if base_topic is not None else {}
    spec = Zigbee2MqttBridge(id="z2m-lilas", format="zigbee2mqtt", **fields)
    decoder = make_decoder(spec)
    assert isinstance(decoder, Zigbee2MqttDecoder)
    assert topic_filters(decoder) == expected_filters
    base = expected_filters[0].removesuffix("/#")
    assert (
        decoder.decode(msg(f"{base}/leak_cave_b", LEAK_STATE))
        == EXPECTED["zigbee2mqtt/leak_cave_b", LEAK_STATE]
    )


def test_make_decoder_names_the_bridge_when_its_base_topic_is_bad() -> None:
    spec = Zigbee2MqttBridge.model_construct(
        id="z2m-lilas", format="zigbee2mqtt", base_topic="zigbee2mqtt/#"
    )
    with pytest.raises(ValueError, match=r"^bridge 'z2m-lilas': zigbee2mqtt base_topic"):
        make_decoder(spec)


# -- fuzz ------------------------------------------------------------------------------------

#: Device topics first and weighted up: they are where payloads get parsed.
FUZZ_TOPICS = [
    ("zigbee2mqtt/leak_cave_b", 5),
    ("zigbee2mqtt/floor1/leak", 2),
    ("zigbee2mqtt/leak_cave_b/availability", 3),
    ("zigbee2mqtt/bridge/state", 2),
    ("zigbee2mqtt/bridge/logging", 1),
    ("zigbee2mqtt/lamp/set", 1),
    ("zigbee2mqtt/", 1),
    ("elsewhere/leak", 1),
]
WORDS = [b"online", b"offline", b"maybe", b"", b"ONLINE", b"{", b"[]", b"null", b'{"state":1}']
RECORD_TYPES = (StateUpdate, AvailabilityUpdate, BridgeStatus, Ignored)
SCALAR_TYPES = (str, int, float, bool, type(None))


def random_json(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 11 or roll < 0.45:
        return rng.choice([0, -1, 2**70, 1.5, True, False, None, "", "online", "a.b", "é"])
    if roll < 0.75:
        keys = ["a", "b", "a.b", "state", "0", "é", ""]
        return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def random_payload(rng: random.Random) -> bytes:
    strategy = rng.randrange(6)
    if strategy == 0:
        return rng.randbytes(rng.randint(0, 64))
    if strategy == 1:
        data = bytearray(rng.choice(Z2M_FIXTURES)["payload"].encode())
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data) + 1)
            edit = rng.randrange(3)
            if edit == 0 and at < len(data):
                data[at] = rng.randrange(256)
            elif edit == 1:
                data.insert(at, rng.randrange(256))
            elif at < len(data):
                del data[at]
        return bytes(data)
    if strategy == 2:
        value = random_json(rng, 0)
        if rng.random() < 0.8:
            value = {"state": value, "battery": 3}
        return json.dumps(value, ensure_ascii=False).encode()  # orjson refuses ints over 64 bits
    if strategy == 3:
        return rng.choice(WORDS)
    if strategy == 4:  # valid JSON around the depth limit
        levels = rng.randint(1, 12)
        opener, closer = rng.choice([(b'{"a":', b"}"), (b"[", b"]")])
        return b'{"a":' + opener * levels + b"1" + closer * levels + b"}"
    return b"{" * rng.choice([1, 9, 2000]) + b"}" * rng.choice([0, 1, 9])


def test_fuzz_decode_returns_a_record_or_raises_decode_error() -> None:
    rng = random.Random(20240611)
    topics, weights = zip(*FUZZ_TOPICS, strict=True)
    outcomes: dict[str, int] = {}
    for example in range(500):
        [topic] = rng.choices(topics, weights)
        message = msg(topic, random_payload(rng), retain=rng.random() < 0.2)
        try:
            record = DECODER.decode(message)
        except DecodeError as exc:
            assert exc.reason, message
            assert exc.topic == topic, message
            outcome = "error"
        except Exception as exc:  # the property under test: nothing else escapes
            pytest.fail(f"example {example}: {message!r} raised {exc!r}")
        else:
            assert record is None or isinstance(record, RECORD_TYPES), message
            if isinstance(record, StateUpdate):
                assert all(type(k) is str for k in record.values), message
                assert all(isinstance(v, SCALAR_TYPES) for v in record.values.values()), message
            outcome = type(record).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # the fuzz reached both sides: decoded records and refusals
    assert outcomes.get("StateUpdate", 0) > 10
    assert outcomes.get("error", 0) > 100
