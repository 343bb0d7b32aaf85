"""Intercom events: the Doorman fixture, a generic door station, unmatched and bad payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devices.schema import BridgeFile, EventMapping
from firmware_bridge.base import DecodeError
from firmware_bridge.families import make_decoder, topic_filters
from firmware_bridge.intercom import IntercomDecoder
from firmware_bridge.records import AvailabilityUpdate, DeviceEvent, Ignored, RawMessage

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
INTERCOM_FIXTURES: list[dict[str, Any]] = [
    f
    for f in (json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip())
    if f["family"] == "intercom"
]


def mappings(*raw: dict[str, Any]) -> list[EventMapping]:
    return [EventMapping.model_validate(m) for m in raw]


#: A Doorman (TCS bus gateway) as an installer would map its parsed telegrams.
DOORMAN = IntercomDecoder(
    "{source}/last_telegram",
    mappings(
        {
            "match": {"type": "open_door"},
            "event": "door_opened",
            "data": {"telegram": "telegram", "address": "address"},
        },
        {"match": {"type": "door_call"}, "event": "call", "data": {"from": "type"}},
        {"match": {"type": "floor_call"}, "event": "call", "data": {"from": "type"}},
    ),
    availability_topic="{source}/status",
)

#: A generic door station with a parcel locker and a badge reader.
STATION = IntercomDecoder(
    "portier/{source}/event",
    mappings(
        {"match": {"event": "ring"}, "event": "call", "data": {"unit": "unit"}},
        {"match": {"event": "parcel"}, "event": "parcel_delivered", "data": {"locker": "locker"}},
        {
            "match": {"event": "access_denied"},
            "event": "badge_refused",
            "data": {"badge": "badge", "reader": "reader.name"},
        },
    ),
)


def msg(topic: str, payload: str | bytes, *, retain: bool = False) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic=topic, payload=data, retain=retain)


# -- the Doorman -----------------------------------------------------------------------------


def test_there_is_an_intercom_fixture() -> None:
    assert len(INTERCOM_FIXTURES) == 1


@pytest.mark.parametrize("fixture", INTERCOM_FIXTURES, ids=lambda f: f["topic"])
def test_the_doorman_fixture_is_a_door_opened(fixture: dict[str, Any]) -> None:
    record = DOORMAN.decode(msg(fixture["topic"], fixture["payload"]))
    assert record == DeviceEvent("doorman-s3", "door_opened", {"telegram": "1100", "address": "0"})


@pytest.mark.parametrize("kind", ["door_call", "floor_call"])
def test_doorman_calls(kind: str) -> None:
    payload = json.dumps(
        {
            "telegram": "0C30BA80",
            "type": kind,
            "address": "0",
            "payload": "0",
            "serial_number": "797602",
        }
    )
    assert DOORMAN.decode(msg("doorman-s3/last_telegram", payload)) == DeviceEvent(
        "doorman-s3", "call", {"from": kind}
    )


def test_doorman_chatter_is_skipped_with_the_values_the_mappings_look_at() -> None:
    payload = '{"telegram":"3080","type":"stop_talking","address":"0","payload":"0"}'
    record = DOORMAN.decode(msg("doorman-s3/last_telegram", payload))
    assert record == Ignored("no event mapping matches: type='stop_talking'")


def test_doorman_availability_reads_like_generic_json() -> None:
    assert topic_filters(DOORMAN) == ("+/last_telegram", "+/status")
    assert DOORMAN.decode(msg("doorman-s3/status", "offline")) == AvailabilityUpdate(
        "doorman-s3", online=False
    )
    with pytest.raises(DecodeError) as caught:
        DOORMAN.decode(msg("doorman-s3/status", "maybe"))
    assert caught.value.reason == (
        "availability must be online, offline, true, false, 1 or 0, got 'maybe'"
    )


# -- a generic door station ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"event":"ring","unit":"b-31"}', DeviceEvent("hall-b", "call", {"unit": "b-31"})),
        (
            '{"event":"parcel","locker":"12"}',
            DeviceEvent("hall-b", "parcel_delivered", {"locker": "12"}),
        ),
        (
            '{"event":"access_denied","badge":"04A1B2","reader":{"name":"porte-garage"}}',
            DeviceEvent("hall-b", "badge_refused", {"badge": "04A1B2", "reader": "porte-garage"}),
        ),
        (
            '{"event":"access_denied","badge":"04A1B2"}',
            DeviceEvent("hall-b", "badge_refused", {"badge": "04A1B2", "reader": None}),
        ),
    ],
)
def test_station_events(payload: str, expected: DeviceEvent) -> None:
    assert STATION.decode(msg("portier/hall-b/event", payload)) == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"event":"door_left_open"}', "no event mapping matches: event='door_left_open'"),
        ('{"event":12}', "no event mapping matches: event=12"),
        ('{"event":null}', "no event mapping matches: event=null"),
        (
            '{"event":{"kind":"ring"}}',
            "no event mapping matches: the payload has none of the paths event",
        ),
        ('{"evnt":"ring"}', "no event mapping matches: the payload has none of the paths event"),
        ("{}", "no event mapping matches: the payload has none of the paths event"),
    ],
)
def test_an_unmatched_payload_is_skipped_with_a_reason(payload: str, reason: str) -> None:
    assert STATION.decode(msg("portier/hall-b/event", payload)) == Ignored(reason)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("ring", "not JSON: "),
        ('["ring"]', "expected a JSON object, got array"),
        (b"\xff\xfe", "not UTF-8: byte 0xff at offset 0"),
        ("", "empty payload"),
    ],
)
def test_a_malformed_payload_is_a_decode_error(payload: str | bytes, reason: str) -> None:
    topic = "portier/hall-b/event"
    with pytest.raises(DecodeError) as caught:
        STATION.decode(msg(topic, payload))
    assert caught.value.reason.startswith(reason)
    assert caught.value.topic == topic


def test_an_empty_retained_payload_is_a_clear() -> None:
    assert STATION.decode(msg("portier/hall-b/event", "", retain=True)) == Ignored(
        "empty retained payload: a retained message was cleared"
    )


@pytest.mark.parametrize("topic", ["portier/hall-b", "portier/a/b/event", "doorman-s3/status"])
def test_other_topics_are_none(topic: str) -> None:
    assert STATION.decode(msg(topic, b"\xff")) is None


# -- matching rules --------------------------------------------------------------------------


def _one(match: dict[str, Any]) -> IntercomDecoder:
    return IntercomDecoder("{source}/t", mappings({"match": match, "event": "call"}))


@pytest.mark.parametrize(
    ("match", "payload", "matches"),
    [
        # YAML quoted the telegram, the firmware sent a number, and the reverse
        ({"telegram": "1100"}, {"telegram": 1100}, True),
        ({"telegram": 1100}, {"telegram": "1100"}, True),
        ({"telegram": "1100"}, {"telegram": 1100.0}, True),
        ({"level": 2.5}, {"level": "2.5"}, True),
        ({"level": 2.5}, {"level": 2.5}, True),
        ({"level": 2}, {"level": 2.0}, True),
        ({"telegram": "01100"}, {"telegram": 1100}, False),
        ({"telegram": 1100}, {"telegram": "1100 "}, False),
        ({"telegram": "1100"}, {"telegram": "1101"}, False),
        # booleans only equal booleans
        ({"open": True}, {"open": True}, True),
        ({"open": True}, {"open": 1}, False),
        ({"open": 1}, {"open": True}, False),
        ({"open": False}, {"open": 0}, False),
        ({"open": "true"}, {"open": True}, False),
        # every path must match, nested paths and list items included
        ({"a.b": "x", "c": 1}, {"a": {"b": "x"}, "c": 1}, True),
        ({"a.b": "x", "c": 1}, {"a": {"b": "x"}, "c": 2}, False),
        ({"a.b": "x", "c": 1}, {"a": {"b": "x"}}, False),
        ({"calls.0": "door"}, {"calls": ["door", "floor"]}, True),
        ({"a": "x"}, {"a": None}, False),
    ],
)
def test_match_values(match: dict[str, Any], payload: dict[str, Any], matches: bool) -> None:
    record = _one(match).decode(msg("dev/t", json.dumps(payload)))
    assert isinstance(record, DeviceEvent if matches else Ignored)


def test_the_first_matching_mapping_wins() -> None:
    decoder = IntercomDecoder(
        "{source}/t",
        mappings(
            {"match": {"type": "open_door", "address": "1"}, "event": "door_opened"},
            {"match": {"type": "open_door"}, "event": "call"},
        ),
    )
    assert decoder.decode(msg("d/t", '{"type":"open_door","address":"1"}')) == DeviceEvent(
        "d", "door_opened"
    )
    assert decoder.decode(msg("d/t", '{"type":"open_door","address":"2"}')) == DeviceEvent(
        "d", "call"
    )


def test_the_unmatched_reason_is_cut_short() -> None:
    decoder = IntercomDecoder(
        "{source}/t",
        mappings(*({"match": {f"k{i}": "x"}, "event": "call"} for i in range(8))),
    )
    payload = json.dumps({f"k{i}": "y" for i in range(8)})
    record = decoder.decode(msg("d/t", payload))
    assert record == Ignored("no event mapping matches: k0='y', k1='y', k2='y', k3='y', k4='y', …")
    assert decoder.decode(msg("d/t", "{}")) == Ignored(
        "no event mapping matches: the payload has none of the paths k0, k1, k2, k3, k4, …"
    )


def test_no_mapping_at_all_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="at least one event mapping"):
        IntercomDecoder("{source}/t", [])


# -- from the installer's bridge file --------------------------------------------------------


def test_make_decoder_builds_it_from_the_bridge_file() -> None:
    bridge_file = BridgeFile.model_validate(
        {
            "bridge": {
                "id": "doorman-lilas",
                "format": "intercom",
                "topic": "{source}/last_telegram",
                "availability_topic": "{source}/status",
                "events": [
                    {
                        "match": {"type": "open_door"},
                        "event": "door_opened",
                        "data": {"telegram": "telegram"},
                    },
                    {"match": {"telegram": 1100}, "event": "call"},
                ],
            }
        }
    )
    decoder = make_decoder(bridge_file.bridge, bridge_file.devices)
    assert isinstance(decoder, IntercomDecoder)
    assert topic_filters(decoder) == ("+/last_telegram", "+/status")
    fixture = INTERCOM_FIXTURES[0]
    assert decoder.decode(msg(fixture["topic"], fixture["payload"])) == DeviceEvent(
        "doorman-s3", "door_opened", {"telegram": "1100"}
    )


def test_make_decoder_names_the_bridge_when_both_patterns_are_the_same() -> None:
    bridge_file = BridgeFile.model_validate(
        {
            "bridge": {
                "id": "doorman-lilas",
                "format": "intercom",
                "topic": "{source}/t",
                "availability_topic": "{source}/t",
                "events": [{"match": {"type": "open_door"}, "event": "door_opened"}],
            }
        }
    )
    with pytest.raises(ValueError, match=r"^bridge 'doorman-lilas': topic and availability_topic"):
        make_decoder(bridge_file.bridge)
