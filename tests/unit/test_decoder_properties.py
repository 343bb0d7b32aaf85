"""Properties every registered family must hold, whatever a broker delivers.

A decoder sits on a shared broker: any client can publish any bytes on any topic
its filters deliver. Whatever arrives, ``decode`` returns ``None`` or a
well-formed record, or raises ``DecodeError`` naming the topic — never another
exception, which would stop the pipeline instead of dead-lettering one message.
Encoders likewise return messages a broker accepts, or raise ``EncodeError``.

Every family in ``families.FAMILIES`` is covered: a family registered without an
example spec in ``SPECS`` fails here until one is added.
"""

from __future__ import annotations

import json
import math
from base64 import b64encode
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.schema import (
    BinaryBridge,
    EsphomeBridge,
    IntercomBridge,
    JsonBridge,
    ShellyGen2Bridge,
    TasmotaBridge,
    TtnV3Bridge,
    Zigbee2MqttBridge,
)
from firmware_bridge.base import DecodeError, EncodeError
from firmware_bridge.families import FAMILIES, make_decoder, make_encoder, topic_filters
from firmware_bridge.flatten import flatten
from firmware_bridge.records import (
    AvailabilityUpdate,
    BridgeStatus,
    Command,
    DeviceEvent,
    Ignored,
    OutgoingMessage,
    RawMessage,
    StateUpdate,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
FIXTURE_LINES = [json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()]
FIXTURE_PAYLOADS = [f["payload"].encode() for f in FIXTURE_LINES]
FIXTURE_TOPICS = [f["topic"] for f in FIXTURE_LINES]

#: A minimal valid bridge of each family, built through the installer's schema so that
#: the spec is one a YAML file could hold. Add one here when registering a family.
SPECS: dict[str, Callable[[], Any]] = {
    "zigbee2mqtt": lambda: Zigbee2MqttBridge(id="z2m", format="zigbee2mqtt"),
    "json": lambda: JsonBridge(
        id="acme", format="json", topic="acme/{source}/data",
        availability_topic="acme/{source}/status",
    ),
    "tasmota": lambda: TasmotaBridge(id="tasmota", format="tasmota"),
    "shelly_gen2": lambda: ShellyGen2Bridge(id="shelly", format="shelly_gen2"),
    "esphome": lambda: EsphomeBridge(id="esphome", format="esphome"),
    "ttn_v3": lambda: TtnV3Bridge.model_validate({
        "id": "ttn", "format": "ttn_v3", "application": "lilas@ttn",
        "layouts": {1: {"fields": [
            {"name": "temperature", "byte": 0, "type": "i16", "scale": 0.01},
            {"name": "battery", "byte": 2},
        ]}},
    }),
    "binary": lambda: BinaryBridge.model_validate({
        "id": "frames", "format": "binary", "topic": "frames/{source}/raw",
        "layout": {"endianness": "little", "fields": [
            {"name": "level", "byte": 0, "type": "f32"},
            {"name": "flags", "byte": 4, "bits": [0, 3]},
        ]},
    }),
    "intercom": lambda: IntercomBridge.model_validate({
        "id": "doorman", "format": "intercom", "topic": "{source}/last_telegram",
        "availability_topic": "{source}/status",
        "events": [
            {"match": {"type": "open_door"}, "event": "door_opened",
             "data": {"address": "address"}},
            {"match": {"telegram": "1100"}, "event": "call"},
        ],
    }),
}

#: The families that take commands; the others must say so by having no encoder.
WITH_COMMANDS = {"zigbee2mqtt", "tasmota", "shelly_gen2", "esphome"}

SCALAR_TYPES = (str, int, float, bool, type(None))
PROPERTY = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,  # the same examples on every run, so CI never flickers
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def example_spec(family: str) -> Any:
    if family not in SPECS:
        pytest.fail(
            f"family {family!r} is registered in FAMILIES but has no example spec: "
            f"add one to SPECS in {Path(__file__).name}"
        )
    spec = SPECS[family]()
    assert spec.format == family
    return spec


# -- what a broker may deliver ---------------------------------------------------------------

#: Topic levels the families route on, so random topics reach every branch.
LEVEL_WORDS = [
    "", "x", "bridge", "state", "availability", "set", "get", "SENSOR", "STATE", "LWT",
    "RESULT", "POWER", "POWER2", "STATUS8", "events", "rpc", "status", "online", "switch:0",
    "sensor", "light", "binary_sensor", "up", "join", "devices", "v3", "lilas@ttn", "raw",
    "data", "last_telegram", "a.b", "é",
]
LEVELS = st.one_of(
    st.sampled_from(LEVEL_WORDS),
    st.text(st.characters(blacklist_characters="/", blacklist_categories=["Cs"]), max_size=8),
)
KEY_WORDS = [
    "state", "online", "method", "params", "events", "event", "component", "ts", "switch:0",
    "output", "Time", "ENERGY", "POWER", "end_device_ids", "device_id", "uplink_message",
    "f_port", "frm_payload", "decoded_payload", "rx_metadata", "type", "telegram", "address",
    "a", "a.b", "",
]
KEYS = st.one_of(st.sampled_from(KEY_WORDS), st.text(max_size=6))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits too
    st.floats(allow_nan=False, allow_infinity=False),  # NaN in JSON: see WORDS
    st.text(max_size=12),
    st.sampled_from(["online", "offline", "ON", "OFF", "true", "open_door", "1100",
                     "single_push", "NotifyStatus", "NotifyEvent", "NotifyFullStatus", "AQID"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=30,
)
SHELLY_EVENT = st.fixed_dictionaries(
    {
        "component": st.sampled_from(["input:0", "sys"]) | JSON_VALUES,
        "event": st.sampled_from(["single_push", "long_push", "btn_down"]) | JSON_VALUES,
    }
)
SHELLY_RPC = st.one_of(
    st.fixed_dictionaries({
        "method": st.sampled_from(["NotifyStatus", "NotifyFullStatus"]),
        "params": st.dictionaries(
            st.sampled_from(["switch:0", "cloud", "ts"]) | KEYS, JSON_VALUES, max_size=4
        ),
    }),
    st.fixed_dictionaries({
        "method": st.just("NotifyEvent"),
        "params": st.fixed_dictionaries(
            {"events": st.lists(SHELLY_EVENT | JSON_VALUES, min_size=1, max_size=3)}
        ),
    }),
    st.fixed_dictionaries({
        "method": st.sampled_from(["NotifyStatus", "NotifyEvent", "NotifyFullStatus"]) | SCALARS,
        "params": JSON_VALUES,
    }),
)
TTN_UPLINK = st.fixed_dictionaries(
    {
        "end_device_ids": st.fixed_dictionaries({"device_id": LEVELS | SCALARS}) | JSON_VALUES,
        "uplink_message": st.fixed_dictionaries(
            {},
            optional={
                "f_port": st.integers(-1, 300) | SCALARS,
                "frm_payload": st.binary(max_size=12).map(lambda b: b64encode(b).decode())
                | SCALARS,
                "decoded_payload": JSON_VALUES,
                "rx_metadata": JSON_VALUES,
            },
        )
        | JSON_VALUES,
    }
)
#: Availability objects, door telegrams, device states.
OBJECTS = st.fixed_dictionaries(
    {"state": SCALARS}, optional={"type": SCALARS, "telegram": SCALARS, "online": SCALARS}
)
TASMOTA_JSON = st.dictionaries(
    st.sampled_from(["Time", "AM2301", "ENERGY", "POWER", "POWER1", "Wifi"]) | KEYS,
    JSON_VALUES,
    max_size=5,
)
#: Payloads shaped like what a family parses, so random values reach its deeper branches;
#: a family not listed gets them all.
SHAPES: dict[str, st.SearchStrategy[object]] = {
    "shelly_gen2": SHELLY_RPC,
    "ttn_v3": TTN_UPLINK,
    "intercom": OBJECTS,
    "zigbee2mqtt": OBJECTS,
    "json": OBJECTS,
    "tasmota": TASMOTA_JSON,
    "esphome": OBJECTS,
}
SHAPED = st.one_of(SHELLY_RPC, TTN_UPLINK, OBJECTS, TASMOTA_JSON)
WORDS = [b"online", b"offline", b"Online", b"true", b"false", b"ON", b"OFF", b"nan", b"NaN",
         b"inf", b"20", b"-3.5", b"1e400", b"", b"{", b"[]", b"null", b'"x"', b"\xff", b" ",
         b'{"state":NaN}', b'{"a":Infinity}', b'{"temperature":-Infinity}',
         # deeper than Python's recursion limit, where a recursive walk would blow up
         b'{"method":"NotifyStatus","params":' + b'{"a":' * 1000 + b"1" + b"}" * 1001,
         b'{"state":' + b"[" * 1000 + b"]" * 1000 + b"}"]
#: Texts that start like a number: the plain-text families read numbers out of these.
NUMBERISH = st.from_regex(r"[-+]?[0-9.]{1,6}([eE][-+]?[0-9]{1,4})?[a-z .:]{0,3}", fullmatch=True)


def dump(value: object) -> bytes:
    # json, not orjson: it writes integers past 64 bits, which a device may send
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(FIXTURE_PAYLOADS)))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["set", "insert", "delete"]))
        if edit == "insert" or at == len(data):
            data.insert(at, draw(st.integers(0, 255)))
        elif edit == "set":
            data[at] = draw(st.integers(0, 255))
        else:
            del data[at]
    return bytes(data)


def nested(levels: int, opener: bytes, closer: bytes) -> bytes:
    return b'{"a":' + opener * levels + b"1" + closer * levels + b"}"


PAYLOADS = st.one_of(
    st.sampled_from(WORDS),
    NUMBERISH.map(str.encode),
    st.binary(max_size=200),
    JSON_VALUES.map(dump),
    st.sampled_from(FIXTURE_PAYLOADS),
    mutated_fixture(),
    # unbalanced nesting, then valid JSON around the depth limit
    st.builds(nested, st.integers(1, 40), st.sampled_from([b'{"a":', b"["]),
              st.just(b"")).map(lambda b: b + b"}" * 60),
    st.builds(nested, st.integers(1, 12), st.just(b"["), st.just(b"]")),
)


def topic_for(draw: st.DrawFn, filters: tuple[str, ...]) -> str:
    """A topic one of ``filters`` delivers, with random levels; sometimes any topic at all."""
    roll = draw(st.integers(0, 9))
    if roll == 0:
        return draw(st.text(max_size=30))
    if roll == 1:
        return draw(st.sampled_from(FIXTURE_TOPICS))
    levels: list[str] = []
    for part in draw(st.sampled_from(filters)).split("/"):
        if part == "+":
            levels.append(draw(LEVELS))
        elif part == "#":  # `a/#` delivers `a` itself too
            levels.extend(draw(st.lists(LEVELS, max_size=4)))
        else:
            levels.append(part)
    return "/".join(levels)


@st.composite
def messages_for(
    draw: st.DrawFn, filters: tuple[str, ...], shaped: st.SearchStrategy[object]
) -> RawMessage:
    topic = topic_for(draw, filters)
    payload = draw(shaped.map(dump)) if draw(st.booleans()) else draw(PAYLOADS)
    return RawMessage(topic=topic, payload=payload, retain=draw(st.booleans()))


# -- the checks ------------------------------------------------------------------------------


def check_values(values: Mapping[object, object], message: RawMessage) -> None:
    for key, value in values.items():
        assert type(key) is str, message
        assert isinstance(value, SCALAR_TYPES), message
        if isinstance(value, float):
            assert math.isfinite(value), f"{message}: {key} = {value}"


def check_decode(decoder: Any, message: RawMessage) -> None:
    """The property: ``None``, a well-formed record, or a ``DecodeError`` naming the topic."""
    try:
        record = decoder.decode(message)
    except DecodeError as exc:
        assert isinstance(exc.reason, str) and exc.reason, message
        assert exc.topic == message.topic, message
        assert str(exc) == f"{message.topic}: {exc.reason}", message
        return
    except Exception as exc:  # the property under test: nothing else escapes
        pytest.fail(f"{type(decoder).__name__} raised {exc!r} on {message!r}")
    if record is None:
        return
    if isinstance(record, StateUpdate):
        assert type(record.source) is str and record.source, message
        check_values(record.values, message)
    elif isinstance(record, AvailabilityUpdate):
        assert type(record.source) is str and record.source, message
        assert type(record.online) is bool, message
    elif isinstance(record, BridgeStatus):
        assert type(record.online) is bool, message
    elif isinstance(record, DeviceEvent):
        assert type(record.source) is str and record.source, message
        assert type(record.event) is str and record.event, message
        check_values(record.data, message)
    elif isinstance(record, Ignored):
        assert type(record.reason) is str and record.reason, message
    else:
        pytest.fail(f"{type(decoder).__name__} returned {record!r}, not a record, on {message!r}")


# -- the properties --------------------------------------------------------------------------


def test_every_registered_family_has_an_example_spec() -> None:
    missing = sorted(set(FAMILIES) - set(SPECS))
    assert not missing, f"add an example spec to SPECS in {Path(__file__).name} for: {missing}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
@PROPERTY
@given(data=st.data())
def test_decode_returns_none_a_record_or_raises_decode_error(
    family: str, data: st.DataObject
) -> None:
    # a fresh decoder per example, fed a short sequence: stateful families (Shelly's
    # known status) are exercised across messages, not only one at a time
    decoder = make_decoder(example_spec(family))
    messages = messages_for(topic_filters(decoder), SHAPES.get(family, SHAPED))
    for message in data.draw(st.lists(messages, min_size=1, max_size=8)):
        check_decode(decoder, message)


class _Exploding:
    topic_filters = ("x/+",)

    def decode(self, message: RawMessage) -> object:
        return {}["missing"]


class _Mistaken:
    topic_filters = ("x/+",)

    def decode(self, message: RawMessage) -> object:
        return StateUpdate("x", {"t": float("nan")})


@pytest.mark.parametrize("decoder", [_Exploding(), _Mistaken()], ids=["raises", "nan"])
def test_the_check_catches_a_decoder_that_breaks_the_property(decoder: object) -> None:
    with pytest.raises((pytest.fail.Exception, AssertionError)):
        check_decode(decoder, RawMessage("x/y", b"{}"))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_make_encoder_matches_the_families_with_commands(family: str) -> None:
    spec = example_spec(family)
    decoder = make_decoder(spec)
    encoder = make_encoder(spec, decoder)
    if family in WITH_COMMANDS:
        assert encoder is decoder
    else:
        assert encoder is None


COMMAND_PATHS = st.one_of(
    st.sampled_from([
        "state", "brightness", "color.x", "POWER", "POWER2", "Dimmer", "switch:0.output",
        "cover:1.pos", "switch.pump", "light.ceiling", "light.ceiling.state", "number.setpoint",
        "select.mode", "fan.extract", "", ".", "a..b", "a/b", "+", "#",
    ]),
    st.text(max_size=20),
)


@pytest.mark.parametrize("family", sorted(WITH_COMMANDS))
@PROPERTY
@given(source=LEVELS | st.text(max_size=20), path=COMMAND_PATHS, value=SCALARS | st.floats())
def test_encode_returns_publishable_messages_or_raises_encode_error(
    family: str, source: str, path: str, value: Any
) -> None:
    spec = example_spec(family)
    encoder = make_encoder(spec, make_decoder(spec))
    assert encoder is not None
    try:
        messages = encoder.encode(Command(source, path, value))
    except EncodeError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        return
    except Exception as exc:  # the property under test: nothing else escapes
        pytest.fail(f"{family} raised {exc!r} on {source!r} {path!r} {value!r}")
    assert messages
    for message in messages:
        assert isinstance(message, OutgoingMessage)
        assert message.topic and not any(c in message.topic for c in "+#\x00")
        assert "//" not in message.topic and not message.topic.startswith("/")
        assert type(message.payload) is bytes
        assert message.qos == 1 and message.retain is False


@PROPERTY
@given(
    source=st.lists(LEVELS.filter(bool), min_size=1, max_size=3).map("/".join),
    keys=st.lists(KEYS.filter(lambda k: bool(k) and "." not in k), min_size=1, max_size=3),
    value=SCALARS.filter(lambda v: v is not None),
)
def test_zigbee2mqtt_sets_a_point_by_the_path_it_is_read_from(
    source: str, keys: list[str], value: Any
) -> None:
    decoder = make_decoder(example_spec("zigbee2mqtt"))
    path = ".".join(keys)
    try:
        [message] = decoder.encode(Command(source, path, value))  # type: ignore[attr-defined]
    except EncodeError:
        return  # a wildcard in the name, a number JSON cannot carry: refused, checked above
    assert message.topic == f"zigbee2mqtt/{source}/set"
    assert flatten(json.loads(message.payload)) == {path: value}
