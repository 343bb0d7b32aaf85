"""The Things Stack v3: the fixture, decoded_payload or frm_payload, layouts by port, bad input."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from devices.schema import BridgeFile
from firmware_bridge.base import DecodeError
from firmware_bridge.families import make_decoder, topic_filters
from firmware_bridge.layout_schema import Layout
from firmware_bridge.records import Ignored, RawMessage, StateUpdate
from firmware_bridge.ttn_v3 import TtnV3Decoder

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
TTN_FIXTURES: list[dict[str, Any]] = [
    f
    for f in (json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip())
    if f["family"] == "ttn-v3"
]

#: Dragino LHT65 port 2: battery word (2 status bits + mV), temperature, humidity, probe.
LHT65 = Layout.model_validate(
    {
        "fields": [
            {"name": "battery_status", "byte": 0, "type": "u16", "bits": [14, 2]},
            {"name": "battery", "byte": 0, "type": "u16", "bits": [0, 14], "scale": 0.001},
            {"name": "temperature", "byte": 2, "type": "i16", "scale": 0.01},
            {"name": "humidity", "byte": 4, "type": "u16", "scale": 0.1},
            {"name": "probe", "byte": 6},
        ]
    }
)
#: The same device's port 3: a heartbeat with only the battery.
HEARTBEAT = Layout.model_validate({"fields": [{"name": "battery_mv", "byte": 0, "type": "u16"}]})
#: A device of the fleet flashed with a little-endian firmware that reports a counter on port 2.
COUNTER = Layout.model_validate(
    {"endianness": "little", "fields": [{"name": "count", "byte": 0, "type": "u32"}]}
)

LHT65_FRAME = bytes([0xCB, 0xB8, 0x08, 0xCB, 0x02, 0x14, 0x01])  # 3.0 V, 22.51 °C, 53.2 %

DECODER = TtnV3Decoder("palier-lilas@ttn", {2: LHT65, 3: HEARTBEAT}, {"compteur-eau": {2: COUNTER}})


def up(device: str = "lht65-cave", app: str = "palier-lilas@ttn") -> str:
    return f"v3/{app}/devices/{device}/up"


def uplink(device: str = "lht65-cave", **message: Any) -> bytes:
    return orjson.dumps(
        {
            "end_device_ids": {
                "device_id": device,
                "application_ids": {"application_id": "palier-lilas"},
                "dev_eui": "A84041000181C2D1",
            },
            "received_at": "2024-03-04T10:42:00.123Z",
            "uplink_message": message,
        }
    )


def b64(frame: bytes) -> str:
    return base64.b64encode(frame).decode()


def msg(topic: str, payload: bytes | str, *, retain: bool = False) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic=topic, payload=data, retain=retain)


def reason(decoder: TtnV3Decoder, message: RawMessage) -> str:
    with pytest.raises(DecodeError) as caught:
        decoder.decode(message)
    assert caught.value.topic == message.topic
    assert str(caught.value) == f"{message.topic}: {caught.value.reason}"
    return caught.value.reason


# -- the fixture -----------------------------------------------------------------------------


def test_there_is_a_ttn_fixture() -> None:
    assert len(TTN_FIXTURES) == 1


@pytest.mark.parametrize("fixture", TTN_FIXTURES, ids=lambda f: f["topic"])
def test_the_fixture_reads_its_decoded_payload(fixture: dict[str, Any]) -> None:
    decoder = TtnV3Decoder("app1@ttn")
    record = decoder.decode(msg(fixture["topic"], fixture["payload"]))
    assert record == StateUpdate("dev1", {"bytes.0": 1, "bytes.1": 2, "bytes.2": 3})


@pytest.mark.parametrize("fixture", TTN_FIXTURES, ids=lambda f: f["topic"])
def test_the_fixture_s_frm_payload_reads_with_a_layout_when_there_is_no_decoded_payload(
    fixture: dict[str, Any],
) -> None:
    obj = json.loads(fixture["payload"])
    del obj["uplink_message"]["decoded_payload"]
    layout = Layout.model_validate(
        {"fields": [{"name": f"b{i}", "byte": i} for i in range(3)], "length": 3}
    )
    decoder = TtnV3Decoder("app1@ttn", {1: layout})
    record = decoder.decode(msg(fixture["topic"], json.dumps(obj)))
    assert record == StateUpdate("dev1", {"b0": 1, "b1": 2, "b2": 3})


# -- values ----------------------------------------------------------------------------------


def test_frm_payload_is_read_with_the_layout_of_its_port() -> None:
    record = DECODER.decode(msg(up(), uplink(f_port=2, frm_payload=b64(LHT65_FRAME))))
    assert record == StateUpdate(
        "lht65-cave",
        {
            "battery_status": 3,
            "battery": pytest.approx(3.0),
            "temperature": pytest.approx(22.51),
            "humidity": pytest.approx(53.2),
            "probe": 1,
        },
    )
    heartbeat = DECODER.decode(msg(up(), uplink(f_port=3, frm_payload=b64(b"\x0b\xb8"))))
    assert heartbeat == StateUpdate("lht65-cave", {"battery_mv": 3000})


def test_decoded_payload_wins_over_frm_payload() -> None:
    record = DECODER.decode(
        msg(
            up(),
            uplink(
                f_port=2,
                frm_payload=b64(LHT65_FRAME),
                decoded_payload={"TempC_SHT": 22.51, "Hum_SHT": 53.2, "ext": {"probe": 1}},
            ),
        )
    )
    assert record == StateUpdate(
        "lht65-cave", {"TempC_SHT": 22.51, "Hum_SHT": 53.2, "ext.probe": 1}
    )


def test_a_decoded_payload_that_is_not_an_object_falls_back_to_the_layout() -> None:
    record = DECODER.decode(
        msg(up(), uplink(f_port=3, frm_payload=b64(b"\x0b\xb8"), decoded_payload=None))
    )
    assert record == StateUpdate("lht65-cave", {"battery_mv": 3000})


def test_a_device_s_own_layouts_override_the_bridge_s_for_their_port_only() -> None:
    own = DECODER.decode(
        msg(up("compteur-eau"), uplink("compteur-eau", f_port=2, frm_payload=b64(b"\x10\x27\0\0")))
    )
    assert own == StateUpdate("compteur-eau", {"count": 10000})
    bridge_s = DECODER.decode(
        msg(up("compteur-eau"), uplink("compteur-eau", f_port=3, frm_payload=b64(b"\x0b\xb8")))
    )
    assert bridge_s == StateUpdate("compteur-eau", {"battery_mv": 3000})


def test_radio_metadata_of_the_first_gateway_is_added() -> None:
    record = DECODER.decode(
        msg(
            up(),
            uplink(
                f_port=3,
                frm_payload=b64(b"\x0b\xb8"),
                rx_metadata=[
                    {"gateway_ids": {"gateway_id": "gw-toit"}, "rssi": -97, "snr": 7.25},
                    {"gateway_ids": {"gateway_id": "gw-far"}, "rssi": -119, "snr": -12.5},
                ],
            ),
        )
    )
    assert record == StateUpdate(
        "lht65-cave", {"battery_mv": 3000, "radio.rssi": -97, "radio.snr": 7.25}
    )


@pytest.mark.parametrize(
    ("rx_metadata", "expected"),
    [
        ([], {}),
        ("gw", {}),
        (["gw"], {}),
        ([{"rssi": -97}], {"radio.rssi": -97}),
        ([{"rssi": "-97", "snr": True}], {}),
    ],
)
def test_missing_or_odd_radio_metadata_never_costs_the_reading(
    rx_metadata: Any, expected: dict[str, Any]
) -> None:
    record = DECODER.decode(
        msg(up(), uplink(f_port=3, frm_payload=b64(b"\x0b\xb8"), rx_metadata=rx_metadata))
    )
    assert record == StateUpdate("lht65-cave", {"battery_mv": 3000, **expected})


def test_radio_metadata_never_overwrites_the_payload_s_own_value() -> None:
    record = DECODER.decode(
        msg(up(), uplink(decoded_payload={"radio": {"rssi": 1}}, rx_metadata=[{"rssi": -97}]))
    )
    assert record == StateUpdate("lht65-cave", {"radio.rssi": 1})


# -- topics ----------------------------------------------------------------------------------


def test_topic_filters_are_the_application_s_uplinks() -> None:
    assert topic_filters(DECODER) == ("v3/palier-lilas@ttn/devices/+/up",)
    assert topic_filters(TtnV3Decoder()) == ("v3/+/devices/+/up",)


@pytest.mark.parametrize(
    "topic",
    [
        "v3/palier-lilas@ttn/devices/lht65-cave/join",
        "v3/palier-lilas@ttn/devices/lht65-cave/down/queued",
        "v3/palier-lilas@ttn/devices/lht65-cave/down/sent",
        "v3/palier-lilas@ttn/devices/lht65-cave/service/data",
        "v3/palier-lilas@ttn/devices/lht65-cave/location/solved",
        "v3/palier-lilas@ttn/devices/lht65-cave/up/extra",
    ],
)
def test_other_device_events_are_ignored_whatever_their_payload(topic: str) -> None:
    record = DECODER.decode(msg(topic, b"\xff not json"))
    assert isinstance(record, Ignored)
    assert record.reason == f"a {topic.split('/', 4)[4]!r} message carries no uplink"


@pytest.mark.parametrize(
    "topic",
    [
        "v3/other-app@ttn/devices/lht65-cave/up",
        "v3/palier-lilas@ttn/devices/lht65-cave",
        "v3/palier-lilas@ttn/devices/lht65-cave/",
        "v3/palier-lilas@ttn/gateways/gw/up",
        "v2/palier-lilas@ttn/devices/lht65-cave/up",
        "zigbee2mqtt/lht65-cave",
        "",
    ],
)
def test_topics_outside_the_application_are_none(topic: str) -> None:
    assert DECODER.decode(msg(topic, b"\xff not json")) is None


def test_every_application_with_plus() -> None:
    decoder = TtnV3Decoder("+", {3: HEARTBEAT})
    payload = uplink(f_port=3, frm_payload=b64(b"\x0b\xb8"))
    for app in ("palier-lilas@ttn", "autre@tti-tenant"):
        assert decoder.decode(msg(up(app=app), payload)) == StateUpdate(
            "lht65-cave", {"battery_mv": 3000}
        )
    assert decoder.decode(msg("v3/palier-lilas@ttn/gateways/gw/up", payload)) is None
    assert decoder.decode(msg("v3//devices/lht65-cave/up", payload)) is None


def test_an_empty_device_level_is_skipped() -> None:
    record = DECODER.decode(msg("v3/palier-lilas@ttn/devices//up", uplink()))
    assert record == Ignored("the device level of the topic is empty")


def test_an_empty_retained_uplink_is_a_clear() -> None:
    record = DECODER.decode(msg(up(), b"", retain=True))
    assert record == Ignored("empty retained payload: a retained message was cleared")


def test_a_layout_that_cannot_be_finite_names_its_port_and_device() -> None:
    bad = Layout.model_validate(
        {"fields": [{"name": "v", "byte": 0, "type": "u32", "scale": 1e308}]}
    )
    with pytest.raises(ValueError, match=r"^layouts, f_port 4: field 'v': scale 1e\+308 overflows"):
        TtnV3Decoder("+", {4: bad})
    with pytest.raises(ValueError, match=r"^device 'compteur-eau' layouts, f_port 4: field 'v'"):
        TtnV3Decoder("+", {}, {"compteur-eau": {4: bad}})


@pytest.mark.parametrize("application", ["", "a/b", "app+", "#", "app#1"])
def test_an_application_mqtt_cannot_subscribe_with_is_refused(application: str) -> None:
    with pytest.raises(ValueError, match=r"ttn_v3 application .* must be one topic level"):
        TtnV3Decoder(application)


# -- broken cousins --------------------------------------------------------------------------

GOOD = {"f_port": 2, "frm_payload": b64(LHT65_FRAME)}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"", "empty payload"),
        (b'{"end_device_ids"', "not JSON: "),
        (b"[1, 2]", "expected a JSON object, got array"),
        (
            orjson.dumps({"uplink_message": GOOD}),
            "no end_device_ids.device_id in the uplink",
        ),
        (
            orjson.dumps({"end_device_ids": "lht65-cave", "uplink_message": GOOD}),
            "no end_device_ids.device_id in the uplink",
        ),
        (
            orjson.dumps({"end_device_ids": {"device_id": 7}, "uplink_message": GOOD}),
            "no end_device_ids.device_id in the uplink",
        ),
        (
            uplink("lht65-grenier", **GOOD),
            "end_device_ids.device_id 'lht65-grenier' differs from the topic's device 'lht65-cave'",
        ),
        (
            orjson.dumps({"end_device_ids": {"device_id": "lht65-cave"}}),
            "no uplink_message in the uplink",
        ),
        (
            orjson.dumps({"end_device_ids": {"device_id": "lht65-cave"}, "uplink_message": [1]}),
            "uplink_message must be an object, got an array",
        ),
        (
            uplink(frm_payload=b64(LHT65_FRAME)),
            "uplink_message has no f_port (and no decoded_payload), so no layout can be chosen",
        ),
        (uplink(f_port="2", frm_payload=b64(LHT65_FRAME)), "f_port must be an integer, got '2'"),
        (uplink(f_port=2.0, frm_payload=b64(LHT65_FRAME)), "f_port must be an integer, got 2.0"),
        (
            uplink(f_port=9, frm_payload=b64(LHT65_FRAME)),
            "no layout for f_port 9 of device lht65-cave; declare one under layouts",
        ),
        (
            uplink(f_port=2, frm_payload="y7gIywIUAQ=!"),
            "frm_payload 'y7gIywIUAQ=!' is not valid base64: ",
        ),
        (
            uplink(f_port=2, frm_payload="y7gIywIUA"),
            "frm_payload 'y7gIywIUA' is not valid base64: ",
        ),
        (uplink(f_port=2, frm_payload="é"), "frm_payload 'é' is not valid base64: "),
        # a lenient decoder would drop the stray characters and read a wrong frame
        (
            uplink(f_port=2, frm_payload="y7gI*ywIUAQ=="),
            "frm_payload 'y7gI*ywIUAQ==' is not valid base64: ",
        ),
        (
            uplink(f_port=2, frm_payload="y7gI ywIU AQ=="),
            "frm_payload 'y7gI ywIU AQ==' is not valid base64: ",
        ),
        (uplink(f_port=2, frm_payload=[203]), "frm_payload must be a base64 string, got an array"),
        (
            uplink(f_port=2, frm_payload=b64(LHT65_FRAME[:5])),
            "f_port 2: frame of 5 bytes is too short for field 'humidity' at byte 4 (u16)",
        ),
        (
            uplink(f_port=2),
            "f_port 2: frame of 0 bytes is too short for field 'battery_status' at byte 0 (u16)",
        ),
        (
            uplink(decoded_payload={"a.b": 1, "a": {"b": 2}}),
            "two keys give the same path 'a.b' (a key contains a dot)",
        ),
    ],
)
def test_each_broken_uplink_says_why(payload: bytes, expected: str) -> None:
    got = reason(DECODER, msg(up(), payload))
    if expected.endswith(": "):
        assert got.startswith(expected)
    else:
        assert got == expected


def test_the_f_port_without_a_layout_names_the_device_as_in_the_brief() -> None:
    decoder = TtnV3Decoder("app1@ttn", {1: HEARTBEAT})
    payload = uplink("dev1", f_port=2, frm_payload="AQID")
    assert reason(decoder, msg(up("dev1", "app1@ttn"), payload)) == (
        "no layout for f_port 2 of device dev1; declare one under layouts"
    )


# -- from the installer's bridge file --------------------------------------------------------


def test_make_decoder_gives_each_device_its_own_layouts() -> None:
    bridge_file = BridgeFile.model_validate(
        {
            "bridge": {
                "id": "ttn-lilas",
                "format": "ttn_v3",
                "application": "palier-lilas@ttn",
                "layouts": {3: {"fields": [{"name": "battery_mv", "byte": 0, "type": "u16"}]}},
            },
            "devices": [
                {
                    "id": "compteur-eau-lilas",
                    "source": "compteur-eau",
                    "kind": "water_meter",
                    "place": "lilas/b/basement",
                    "layouts": {
                        3: {
                            "endianness": "little",
                            "fields": [{"name": "count", "byte": 0, "type": "u32"}],
                        }
                    },
                },
            ],
        }
    )
    decoder = make_decoder(bridge_file.bridge, bridge_file.devices)
    assert isinstance(decoder, TtnV3Decoder)
    assert topic_filters(decoder) == ("v3/palier-lilas@ttn/devices/+/up",)
    frame = b64(b"\x10\x27\0\0")
    meter = msg(up("compteur-eau"), uplink("compteur-eau", f_port=3, frm_payload=frame))
    sensor = msg(up("lht65-cave"), uplink("lht65-cave", f_port=3, frm_payload=frame))
    assert decoder.decode(meter) == StateUpdate("compteur-eau", {"count": 10000})
    assert decoder.decode(sensor) == StateUpdate("lht65-cave", {"battery_mv": 0x1027})
    # without the devices, the bridge's layouts apply to every device
    plain = make_decoder(bridge_file.bridge)
    assert plain.decode(meter) == StateUpdate("compteur-eau", {"battery_mv": 0x1027})


def test_make_decoder_names_the_bridge_when_the_application_is_bad() -> None:
    bridge_file = BridgeFile.model_validate(
        {"bridge": {"id": "ttn-lilas", "format": "ttn_v3", "application": "a/b"}}
    )
    with pytest.raises(ValueError, match=r"^bridge 'ttn-lilas': ttn_v3 application 'a/b'"):
        make_decoder(bridge_file.bridge)
