"""Raw binary frames on a topic pattern: decoding, routing, empty and oversize frames."""

from __future__ import annotations

import struct

import pytest

from devices.schema import BinaryBridge, BridgeFile
from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.families import make_decoder, topic_filters
from firmware_bridge.layout_schema import Layout
from firmware_bridge.raw_binary import RawBinaryDecoder
from firmware_bridge.records import Ignored, RawMessage, StateUpdate

#: An in-house boiler-room board: flow and return temperatures, pressure, status flags.
BOILER = Layout.model_validate(
    {
        "endianness": "little",
        "length": 8,
        "fields": [
            {"name": "flow_temperature", "byte": 0, "type": "i16", "scale": 0.1},
            {"name": "return_temperature", "byte": 2, "type": "i16", "scale": 0.1},
            {"name": "pressure", "byte": 4, "type": "u16", "scale": 0.001},
            {"name": "burner", "byte": 6, "bits": [0, 1]},
            {"name": "fault", "byte": 6, "bits": [1, 1]},
            {"name": "fault_code", "byte": 7},
        ],
    }
)
DECODER = RawBinaryDecoder("chaufferie/{source}/frame", BOILER)
FRAME = struct.pack("<hhHBB", 652, 481, 1520, 0b01, 0)


def msg(topic: str, payload: bytes, *, retain: bool = False) -> RawMessage:
    return RawMessage(topic=topic, payload=payload, retain=retain)


def test_a_frame_becomes_the_device_s_values() -> None:
    record = DECODER.decode(msg("chaufferie/boiler-1/frame", FRAME))
    assert record == StateUpdate(
        "boiler-1",
        {
            "flow_temperature": pytest.approx(65.2),
            "return_temperature": pytest.approx(48.1),
            "pressure": pytest.approx(1.52),
            "burner": 1,
            "fault": 0,
            "fault_code": 0,
        },
    )


def test_topic_filters_put_plus_in_the_source_level() -> None:
    assert topic_filters(DECODER) == ("chaufferie/+/frame",)


@pytest.mark.parametrize(
    "topic", ["chaufferie/boiler-1", "chaufferie/a/b/frame", "other/boiler-1/frame", ""]
)
def test_other_topics_are_none_whatever_the_payload(topic: str) -> None:
    assert DECODER.decode(msg(topic, b"\xff")) is None


def test_an_empty_source_level_is_skipped() -> None:
    assert DECODER.decode(msg("chaufferie//frame", FRAME)) == Ignored(
        "the {source} level of the topic is empty"
    )


def test_an_empty_retained_frame_is_a_clear_and_an_empty_live_one_a_fault() -> None:
    assert DECODER.decode(msg("chaufferie/boiler-1/frame", b"", retain=True)) == Ignored(
        "empty retained payload: a retained message was cleared"
    )
    with pytest.raises(DecodeError) as caught:
        DECODER.decode(msg("chaufferie/boiler-1/frame", b""))
    assert caught.value.reason == "empty payload"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (FRAME[:7], "frame of 7 bytes does not have the layout's fixed length of 8 bytes"),
        (FRAME + b"\0", "frame of 9 bytes does not have the layout's fixed length of 8 bytes"),
        (
            b"\0" * (MAX_PAYLOAD_BYTES + 1),
            f"payload of {MAX_PAYLOAD_BYTES + 1} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit",
        ),
    ],
)
def test_a_bad_frame_is_refused_with_its_topic_and_reason(payload: bytes, expected: str) -> None:
    topic = "chaufferie/boiler-1/frame"
    with pytest.raises(DecodeError) as caught:
        DECODER.decode(msg(topic, payload))
    assert caught.value.reason == expected
    assert caught.value.topic == topic


def test_a_short_frame_names_the_field_without_a_fixed_length() -> None:
    decoder = RawBinaryDecoder("{source}/raw", BOILER.model_copy(update={"length": None}))
    with pytest.raises(DecodeError) as caught:
        decoder.decode(msg("boiler-1/raw", FRAME[:5]))
    assert caught.value.reason == (
        "frame of 5 bytes is too short for field 'pressure' at byte 4 (u16)"
    )


def test_a_bad_pattern_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match=r"must contain \{source\} once"):
        RawBinaryDecoder("chaufferie/frame", BOILER)


def test_make_decoder_builds_it_from_the_bridge_file() -> None:
    bridge_file = BridgeFile.model_validate(
        {
            "bridge": {
                "id": "chaufferie-lilas",
                "format": "binary",
                "topic": "chaufferie/{source}/frame",
                "layout": BOILER.model_dump(),
            }
        }
    )
    decoder = make_decoder(bridge_file.bridge, bridge_file.devices)
    assert isinstance(decoder, RawBinaryDecoder)
    assert decoder.decode(msg("chaufferie/boiler-1/frame", FRAME)) == DECODER.decode(
        msg("chaufferie/boiler-1/frame", FRAME)
    )


def test_make_decoder_names_the_bridge_for_a_layout_that_cannot_be_finite() -> None:
    layout = Layout.model_validate(
        {"fields": [{"name": "v", "byte": 0, "type": "u32", "scale": 1e308}]}
    )
    spec = BinaryBridge(id="chaufferie-lilas", format="binary", topic="c/{source}", layout=layout)
    with pytest.raises(ValueError, match=r"^bridge 'chaufferie-lilas': field 'v': scale"):
        make_decoder(spec)
