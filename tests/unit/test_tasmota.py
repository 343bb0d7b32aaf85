"""Tasmota decoder: real payloads, their broken cousins, topic routing and the prefixes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from devices.schema import TasmotaBridge
from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.families import make_decoder, topic_filters
from firmware_bridge.records import (
    AvailabilityUpdate,
    Decoded,
    Ignored,
    RawMessage,
    StateUpdate,
)
from firmware_bridge.tasmota import TasmotaDecoder

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
ALL_FIXTURES: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()
]
TASMOTA_FIXTURES = [f for f in ALL_FIXTURES if f["family"] == "tasmota"]

DECODER = TasmotaDecoder()

AM2301 = (
    '{"Time":"2019-01-01T00:00:00","AM2301":{"Temperature":24.6,"Humidity":58.2},"TempUnit":"C"}'
)

#: Every Tasmota fixture, by (topic, payload), with the one record it must give.
EXPECTED: dict[tuple[str, str], Decoded] = {
    ("tele/chaufferie/SENSOR", AM2301): StateUpdate(
        "chaufferie",
        {"AM2301.Temperature": 24.6, "AM2301.Humidity": 58.2, "TempUnit": "C"},
    ),
    ("tele/chaufferie/LWT", "Offline"): AvailabilityUpdate("chaufferie", online=False),
}

# -- captured from devices of the kinds a building runs (a POW R2 on the boiler, a Dual R2
# -- on the hall lights, a Wemos with DS18B20 probes on the heating loop)

ENERGY = (
    '{"Time":"2024-03-14T12:00:13","ENERGY":{"TotalStartTime":"2023-11-28T15:43:51",'
    '"Total":172.420,"Yesterday":1.318,"Today":0.588,"Period":2,"Power":23,"ApparentPower":37,'
    '"ReactivePower":29,"Factor":0.62,"Voltage":233,"Current":0.160}}'
)
DS18B20 = (
    '{"Time":"2024-01-21T07:25:41","DS18B20":{"Id":"01191ED79AFF","Temperature":21.9},'
    '"TempUnit":"C"}'
)
DS18B20_PAIR = (
    '{"Time":"2024-01-21T07:25:41","DS18B20-1":{"Id":"3C01D607E48E","Temperature":58.4},'
    '"DS18B20-2":{"Id":"3C01D6075E71","Temperature":41.1},"TempUnit":"C"}'
)
STATE = (
    '{"Time":"2024-01-21T07:25:41","Uptime":"3T12:04:17","UptimeSec":302657,"Heap":25,'
    '"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":3,"POWER1":"ON","POWER2":"OFF",'
    '"Wifi":{"AP":1,"SSId":"lilas-iot","BSSId":"30:B5:C2:5D:70:72","Channel":6,"Mode":"11n",'
    '"RSSI":62,"Signal":-69,"LinkCount":2,"Downtime":"0T00:00:07"}}'
)

CAPTURED: list[tuple[str, str, Decoded]] = [
    (
        "tele/chaudiere/SENSOR",
        ENERGY,
        StateUpdate(
            "chaudiere",
            {
                "ENERGY.TotalStartTime": "2023-11-28T15:43:51",
                "ENERGY.Total": 172.42,
                "ENERGY.Yesterday": 1.318,
                "ENERGY.Today": 0.588,
                "ENERGY.Period": 2,
                "ENERGY.Power": 23,
                "ENERGY.ApparentPower": 37,
                "ENERGY.ReactivePower": 29,
                "ENERGY.Factor": 0.62,
                "ENERGY.Voltage": 233,
                "ENERGY.Current": 0.16,
            },
        ),
    ),
    (
        "tele/boucle-chauffage/SENSOR",
        DS18B20,
        StateUpdate(
            "boucle-chauffage",
            {"DS18B20.Id": "01191ED79AFF", "DS18B20.Temperature": 21.9, "TempUnit": "C"},
        ),
    ),
    (
        "tele/boucle-chauffage/SENSOR",
        DS18B20_PAIR,
        StateUpdate(
            "boucle-chauffage",
            {
                "DS18B20-1.Id": "3C01D607E48E",
                "DS18B20-1.Temperature": 58.4,
                "DS18B20-2.Id": "3C01D6075E71",
                "DS18B20-2.Temperature": 41.1,
                "TempUnit": "C",
            },
        ),
    ),
    (
        "tele/hall-a/STATE",
        STATE,
        StateUpdate(
            "hall-a",
            {
                "Uptime": "3T12:04:17",
                "UptimeSec": 302657,
                "Heap": 25,
                "SleepMode": "Dynamic",
                "Sleep": 50,
                "LoadAvg": 19,
                "MqttCount": 3,
                "POWER1": "ON",
                "POWER2": "OFF",
                "Wifi.AP": 1,
                "Wifi.SSId": "lilas-iot",
                "Wifi.BSSId": "30:B5:C2:5D:70:72",
                "Wifi.Channel": 6,
                "Wifi.Mode": "11n",
                "Wifi.RSSI": 62,
                "Wifi.Signal": -69,
                "Wifi.LinkCount": 2,
                "Wifi.Downtime": "0T00:00:07",
            },
        ),
    ),
    ("stat/hall-a/RESULT", '{"POWER1":"ON"}', StateUpdate("hall-a", {"POWER1": "ON"})),
    ("stat/chaudiere/RESULT", '{"POWER":"OFF"}', StateUpdate("chaudiere", {"POWER": "OFF"})),
    (
        "stat/hall-a/RESULT",
        '{"Dimmer":40,"Color":"66"}',
        StateUpdate("hall-a", {"Dimmer": 40, "Color": "66"}),
    ),
    ("stat/chaudiere/POWER", "ON", StateUpdate("chaudiere", {"POWER": "ON"})),
    ("stat/hall-a/POWER2", "OFF", StateUpdate("hall-a", {"POWER2": "OFF"})),
    ("stat/hall-a/POWER32", "on", StateUpdate("hall-a", {"POWER32": "ON"})),
    ("tele/chaudiere/LWT", "Online", AvailabilityUpdate("chaudiere", online=True)),
    ("tele/chaudiere/LWT", "online", AvailabilityUpdate("chaudiere", online=True)),
    ("tele/chaudiere/LWT", "OFFLINE", AvailabilityUpdate("chaudiere", online=False)),
    ("tele/chaudiere/LWT", "Offline\n", AvailabilityUpdate("chaudiere", online=False)),
]


def msg(topic: str, payload: bytes | str, *, retain: bool = False) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic=topic, payload=data, retain=retain)


def decode_error(message: RawMessage, decoder: TasmotaDecoder = DECODER) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        decoder.decode(message)
    assert caught.value.topic == message.topic
    assert str(caught.value) == f"{message.topic}: {caught.value.reason}"
    return caught.value


# -- real payloads ---------------------------------------------------------------------------


def test_every_tasmota_fixture_has_an_expected_record() -> None:
    assert TASMOTA_FIXTURES
    assert {(f["topic"], f["payload"]) for f in TASMOTA_FIXTURES} == set(EXPECTED)


@pytest.mark.parametrize("fixture", TASMOTA_FIXTURES, ids=lambda f: f["topic"])
@pytest.mark.parametrize("retain", [False, True], ids=["live", "retained"])
def test_fixture_decodes_to_its_exact_record(fixture: dict[str, Any], retain: bool) -> None:
    record = DECODER.decode(msg(fixture["topic"], fixture["payload"], retain=retain))
    assert record == EXPECTED[fixture["topic"], fixture["payload"]]


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    CAPTURED,
    ids=[f"{topic}-{i}" for i, (topic, _, _) in enumerate(CAPTURED)],
)
def test_captured_payload_decodes_to_its_exact_record(
    topic: str, payload: str, expected: Decoded
) -> None:
    assert DECODER.decode(msg(topic, payload)) == expected


def test_time_is_dropped_but_other_times_are_kept() -> None:
    record = DECODER.decode(msg("tele/chaudiere/SENSOR", ENERGY))
    assert isinstance(record, StateUpdate)
    assert "Time" not in record.values
    assert record.values["ENERGY.TotalStartTime"] == "2023-11-28T15:43:51"


def test_a_nested_time_is_a_sensor_value_and_kept() -> None:
    record = DECODER.decode(msg("tele/x/SENSOR", '{"Time":"t","GPS":{"Time":"12:00"}}'))
    assert record == StateUpdate("x", {"GPS.Time": "12:00"})


@pytest.mark.parametrize(
    "fixture",
    [f for f in ALL_FIXTURES if f["family"] != "tasmota"],
    ids=lambda f: f["topic"],
)
def test_other_families_fixtures_are_not_tasmotas(fixture: dict[str, Any]) -> None:
    assert DECODER.decode(msg(fixture["topic"], fixture["payload"])) is None


# -- broken cousins --------------------------------------------------------------------------

BAD_LWT = "LWT must be Online or Offline, got "
BAD_POWER = "POWER must be ON or OFF, got "
NOT_OBJECT = "expected a JSON object, got "
TOO_DEEP = "nested deeper than 8 levels at 'x.x.x.x.x.x.x.x'"
OVERSIZE = f"payload of {MAX_PAYLOAD_BYTES + 1} bytes exceeds the 262144-byte limit"


def deep(levels: int) -> bytes:
    wrapped: Any = {"Temperature": 1}
    for _ in range(levels - 1):
        wrapped = {"x": wrapped}
    return orjson.dumps(wrapped)


#: (topic, payload, reason, or a reason prefix ending in ': ' for orjson's own wording)
COUSINS: list[tuple[str, str, bytes, str]] = [
    ("sensor-truncated", "tele/x/SENSOR", DS18B20.encode()[:-1], "not JSON: "),
    ("sensor-half", "tele/x/SENSOR", ENERGY.encode()[:40], "not JSON: "),
    ("sensor-empty", "tele/x/SENSOR", b"", "empty payload"),
    ("sensor-array", "tele/x/SENSOR", b"[" + DS18B20.encode() + b"]", NOT_OBJECT + "array"),
    ("sensor-double-encoded", "tele/x/SENSOR", orjson.dumps(DS18B20), NOT_OBJECT + "string"),
    ("sensor-number", "tele/x/SENSOR", b"21.9", NOT_OBJECT + "number"),
    ("sensor-not-utf8", "tele/x/SENSOR", b'{"DS\xff":1}', "not UTF-8: byte 0xff at offset 4"),
    ("sensor-oversize", "tele/x/SENSOR", DS18B20.encode().ljust(MAX_PAYLOAD_BYTES + 1), OVERSIZE),
    ("sensor-too-deep", "tele/x/SENSOR", deep(9), TOO_DEEP),
    (
        "sensor-dotted-collision",
        "tele/x/SENSOR",
        b'{"AM2301.Temperature":1,"AM2301":{"Temperature":2}}',
        "two keys give the same path 'AM2301.Temperature' (a key contains a dot)",
    ),
    ("state-truncated", "tele/x/STATE", STATE.encode()[:-2], "not JSON: "),
    ("state-plain", "tele/x/STATE", b"ON", "not JSON: "),
    ("result-plain", "stat/x/RESULT", b"ON", "not JSON: "),
    ("result-array", "stat/x/RESULT", b'["ON"]', NOT_OBJECT + "array"),
    ("result-empty", "stat/x/RESULT", b"", "empty payload"),
    ("power-toggle", "stat/x/POWER", b"TOGGLE", BAD_POWER + "'TOGGLE'"),
    ("power-number", "stat/x/POWER2", b"1", "POWER2 must be ON or OFF, got '1'"),
    ("power-json", "stat/x/POWER", b'{"POWER":"ON"}', BAD_POWER + "'{\"POWER\":\"ON\"}'"),
    ("power-empty", "stat/x/POWER1", b"", "empty payload"),
    ("power-not-utf8", "stat/x/POWER", b"O\xffN", "not UTF-8: byte 0xff at offset 1"),
    ("lwt-unknown", "tele/x/LWT", b"Dead", BAD_LWT + "'Dead'"),
    ("lwt-truncated", "tele/x/LWT", b"Offlin", BAD_LWT + "'Offlin'"),
    ("lwt-json", "tele/x/LWT", b'{"state":"Offline"}', BAD_LWT + "'{\"state\":\"Offline\"}'"),
    ("lwt-true", "tele/x/LWT", b"true", BAD_LWT + "'true'"),
    ("lwt-long", "tele/x/LWT", b"x" * 100, BAD_LWT + repr("x" * 39 + "…")),
    ("lwt-empty", "tele/x/LWT", b"", "empty payload"),
    ("lwt-not-utf8", "tele/x/LWT", b"Onl\xffine", "not UTF-8: byte 0xff at offset 3"),
    ("lwt-oversize", "tele/x/LWT", b"Online".ljust(MAX_PAYLOAD_BYTES + 1), OVERSIZE),
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


@pytest.mark.parametrize(
    "topic", ["tele/x/SENSOR", "tele/x/STATE", "tele/x/LWT", "stat/x/RESULT", "stat/x/POWER3"]
)
def test_an_empty_retained_payload_clears_and_is_ignored(topic: str) -> None:
    assert DECODER.decode(msg(topic, b"", retain=True)) == Ignored(
        "empty retained payload: a retained message was cleared"
    )


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("tele/x/", "tele/ is not read (only SENSOR, STATE and LWT)"),
        ("tele/x/INFO1", "tele/INFO1 is not read (only SENSOR, STATE and LWT)"),
        ("tele/x/RESULT", "tele/RESULT is not read (only SENSOR, STATE and LWT)"),
        ("stat/x/STATUS8", "stat/STATUS8 is not read (only RESULT and POWER<n>)"),
        ("stat/x/UPGRADE", "stat/UPGRADE is not read (only RESULT and POWER<n>)"),
        ("stat/x/POWERON", "stat/POWERON is not read (only RESULT and POWER<n>)"),
        ("stat/x/POWER²", "stat/POWER² is not read (only RESULT and POWER<n>)"),
        ("stat/x/power", "stat/power is not read (only RESULT and POWER<n>)"),
    ],
)
def test_other_kinds_are_ignored_unread(topic: str, reason: str) -> None:
    # not even UTF-8: the payload of a kind that is not read is never looked at
    assert DECODER.decode(msg(topic, b"\xff" * 10)) == Ignored(reason)


@pytest.mark.parametrize("topic", ["tele//SENSOR", "stat//POWER", "tele//LWT"])
def test_a_topic_without_a_device_topic_is_ignored(topic: str) -> None:
    assert DECODER.decode(msg(topic, "ON")) == Ignored("no device %topic% in the topic")


@pytest.mark.parametrize(
    "topic",
    [
        "cmnd/chaudiere/POWER",  # Palier's own command, echoed by the broker
        "tele/chaudiere",
        "tele/a/b/SENSOR",
        "stat/a/b/POWER",
        "tele",
        "telemetry/x/SENSOR",
        "Tele/x/SENSOR",
        "/tele/x/SENSOR",
        "",
    ],
)
def test_a_topic_outside_tele_and_stat_is_none(topic: str) -> None:
    assert DECODER.decode(msg(topic, "ON")) is None


def test_default_filters_and_prefixes() -> None:
    assert DECODER.topic_filters == ("tele/+/SENSOR", "tele/+/STATE", "tele/+/LWT", "stat/+/+")
    assert DECODER.prefixes == {"cmnd": "cmnd", "stat": "stat", "tele": "tele"}


# -- prefixes --------------------------------------------------------------------------------


def test_custom_prefixes_move_every_topic() -> None:
    decoder = TasmotaDecoder({"tele": "lilas/tele", "stat": "lilas/stat"})
    assert decoder.topic_filters == (
        "lilas/tele/+/SENSOR",
        "lilas/tele/+/STATE",
        "lilas/tele/+/LWT",
        "lilas/stat/+/+",
    )
    assert decoder.prefixes == {"cmnd": "cmnd", "stat": "lilas/stat", "tele": "lilas/tele"}
    assert decoder.decode(msg("lilas/tele/boucle/SENSOR", DS18B20)) == StateUpdate(
        "boucle", {"DS18B20.Id": "01191ED79AFF", "DS18B20.Temperature": 21.9, "TempUnit": "C"}
    )
    assert decoder.decode(msg("lilas/stat/boucle/POWER", "OFF")) == StateUpdate(
        "boucle", {"POWER": "OFF"}
    )
    assert decoder.decode(msg("tele/boucle/SENSOR", DS18B20)) is None
    assert decode_error(msg("lilas/tele/boucle/LWT", "?"), decoder).reason == BAD_LWT + "'?'"


@pytest.mark.parametrize(
    ("prefixes", "message"),
    [
        ({"telemetry": "t"}, r"tasmota prefixes \['telemetry'\] are unknown"),
        ({"tele": ""}, "tasmota prefix tele must be a non-empty text"),
        ({"tele": "/tele"}, "must not start or end with '/'"),
        ({"stat": "stat/"}, "must not start or end with '/'"),
        ({"stat": "a//b"}, "nor hold an empty level"),
        ({"tele": "tele/+"}, r"must not contain \+, # or NUL"),
        ({"tele": "#"}, r"must not contain \+, # or NUL"),
        ({"cmnd": "stat"}, "tasmota prefixes cmnd='stat' and stat='stat' overlap"),
        ({"tele": "stat/tele"}, "tasmota prefixes stat='stat' and tele='stat/tele' overlap"),
    ],
)
def test_prefixes_that_cannot_work_are_refused(prefixes: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TasmotaDecoder(prefixes)


@pytest.mark.parametrize(
    ("prefixes", "expected"),
    [
        ({}, ("tele/+/SENSOR", "tele/+/STATE", "tele/+/LWT", "stat/+/+")),
        (
            {"tele": "b/tele", "stat": "b/stat", "cmnd": "b/cmnd"},
            ("b/tele/+/SENSOR", "b/tele/+/STATE", "b/tele/+/LWT", "b/stat/+/+"),
        ),
    ],
)
def test_make_decoder_builds_tasmota_from_the_spec(
    prefixes: dict[str, str], expected: tuple[str, ...]
) -> None:
    spec = TasmotaBridge.model_validate({"id": "tasmota-lilas", "format": "tasmota",
                                         "prefixes": prefixes})
    decoder = make_decoder(spec)
    assert isinstance(decoder, TasmotaDecoder)
    assert topic_filters(decoder) == expected
    tele = expected[0].removesuffix("/+/SENSOR")
    assert decoder.decode(msg(f"{tele}/chaufferie/SENSOR", AM2301)) == EXPECTED[
        "tele/chaufferie/SENSOR", AM2301
    ]


def test_make_decoder_names_the_bridge_when_prefixes_overlap() -> None:
    spec = TasmotaBridge(id="tasmota-lilas", format="tasmota", prefixes={"cmnd": "stat"})
    with pytest.raises(ValueError, match=r"^bridge 'tasmota-lilas': tasmota prefixes cmnd="):
        make_decoder(spec)
