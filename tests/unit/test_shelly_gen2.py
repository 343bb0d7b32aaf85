"""Shelly Gen2 decoder: the known status and its overlays, button events, bounds, routing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.schema import ShellyGen2Bridge
from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.families import make_decoder, topic_filters
from firmware_bridge.flatten import flatten
from firmware_bridge.records import (
    AvailabilityUpdate,
    Decoded,
    DeviceEvent,
    Ignored,
    RawMessage,
    StateUpdate,
)
from firmware_bridge.shelly_gen2 import MAX_STATUS_BYTES, ShellyGen2Decoder

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"
ALL_FIXTURES: list[dict[str, Any]] = [
    json.loads(line) for line in FIXTURES.read_text().splitlines() if line.strip()
]
SHELLY_FIXTURES = [f for f in ALL_FIXTURES if f["family"] == "shelly-gen2"]

PRO4PM = "shellypro4pm-f008d1d8b8b8"

#: Every Shelly fixture, by (topic, payload), with the record it gives to a fresh decoder.
EXPECTED: dict[tuple[str, str], Decoded] = {
    (
        f"{PRO4PM}/events/rpc",
        '{"src":"shellypro4pm-f008d1d8b8b8","dst":"user_1","method":"NotifyStatus",'
        '"params":{"ts":1631186545.04,"switch:0":{"id":0,"output":true,"source":"button"}}}',
    ): StateUpdate(
        PRO4PM, {"switch:0.id": 0, "switch:0.output": True, "switch:0.source": "button"}
    ),
}

# -- captured: a Pro 4PM running the stairwell lights on a 10-minute timer, a Plus i4 with
# -- the lobby buttons, a Plus H&T in the bike room

SWITCH_0 = (
    '{"id":0,"source":"timer","output":true,"timer_started_at":1712300000.12,'
    '"timer_duration":600.00,"apower":512.3,"voltage":231.4,"freq":50.0,"current":2.241,'
    '"pf":0.99,"aenergy":{"total":1530.412,"by_minute":[8512.321,8498.001,8530.112],'
    '"minute_ts":1712300040},"temperature":{"tC":43.1,"tF":109.6}}'
)
SWITCH_0_VALUES = {
    "switch:0.id": 0,
    "switch:0.source": "timer",
    "switch:0.output": True,
    "switch:0.timer_started_at": 1712300000.12,
    "switch:0.timer_duration": 600.0,
    "switch:0.apower": 512.3,
    "switch:0.voltage": 231.4,
    "switch:0.freq": 50.0,
    "switch:0.current": 2.241,
    "switch:0.pf": 0.99,
    "switch:0.aenergy.total": 1530.412,
    "switch:0.aenergy.by_minute.0": 8512.321,
    "switch:0.aenergy.by_minute.1": 8498.001,
    "switch:0.aenergy.by_minute.2": 8530.112,
    "switch:0.aenergy.minute_ts": 1712300040,
    "switch:0.temperature.tC": 43.1,
    "switch:0.temperature.tF": 109.6,
}
POWER_DROPS = (
    '{"src":"shellypro4pm-f008d1d8b8b8","dst":"shellypro4pm-f008d1d8b8b8/events",'
    '"method":"NotifyStatus","params":{"ts":1712300101.37,'
    '"switch:0":{"id":0,"apower":498.7,"current":2.183}}}'
)
TIMER_ENDS = (
    '{"src":"shellypro4pm-f008d1d8b8b8","dst":"shellypro4pm-f008d1d8b8b8/events",'
    '"method":"NotifyStatus","params":{"ts":1712300600.15,"switch:0":{"id":0,"output":false,'
    '"source":"timer","timer_started_at":null,"timer_duration":null,"apower":0.0,"current":0.0}}}'
)
CLOUD_LOST = (
    '{"src":"shellypro4pm-f008d1d8b8b8","dst":"shellypro4pm-f008d1d8b8b8/events",'
    '"method":"NotifyStatus","params":{"ts":1624348482.25,"cloud":{"connected":false}}}'
)
HT = "shellyplusht-b8d61a8b17cc"
HT_FULL = (
    '{"src":"shellyplusht-b8d61a8b17cc","dst":"shellyplusht-b8d61a8b17cc/events",'
    '"method":"NotifyFullStatus","params":{"ts":1680962879.62,"ble":{},'
    '"cloud":{"connected":false},"devicepower:0":{"id":0,"battery":{"V":5.43,"percent":84},'
    '"external":{"present":false}},"humidity:0":{"id":0,"rh":42.2},"mqtt":{"connected":true},'
    '"sys":{"mac":"B8D61A8B17CC","restart_required":false,"time":null,"unixtime":null,'
    '"uptime":3},"temperature:0":{"id":0,"tC":19.8,"tF":67.6},'
    '"wifi":{"sta_ip":"192.168.3.183","status":"got ip","ssid":"lilas-iot","rssi":-61}}}'
)
HT_VALUES = {
    "cloud.connected": False,
    "devicepower:0.id": 0,
    "devicepower:0.battery.V": 5.43,
    "devicepower:0.battery.percent": 84,
    "devicepower:0.external.present": False,
    "humidity:0.id": 0,
    "humidity:0.rh": 42.2,
    "mqtt.connected": True,
    "sys.mac": "B8D61A8B17CC",
    "sys.restart_required": False,
    "sys.time": None,  # a full status: null is the value (no time yet), not a removal
    "sys.unixtime": None,
    "sys.uptime": 3,
    "temperature:0.id": 0,
    "temperature:0.tC": 19.8,
    "temperature:0.tF": 67.6,
    "wifi.sta_ip": "192.168.3.183",
    "wifi.status": "got ip",
    "wifi.ssid": "lilas-iot",
    "wifi.rssi": -61,
}
I4 = "shellyplusi4-a8032ab1e0c4"


def press(event: str, component: str = "input:0") -> str:
    return (
        '{"src":"shellyplusi4-a8032ab1e0c4","dst":"shellyplusi4-a8032ab1e0c4/events",'
        '"method":"NotifyEvent","params":{"ts":1712300222.54,"events":[{"component":'
        f'"{component}","id":0,"event":"{event}","ts":1712300222.54}}]}}}}'
    )


CONFIG_CHANGED = (
    '{"src":"shellyplusi4-a8032ab1e0c4","dst":"shellyplusi4-a8032ab1e0c4/events",'
    '"method":"NotifyEvent","params":{"ts":1712300250.01,"events":[{"component":"sys",'
    '"event":"config_changed","restart_required":false,"ts":1712300250.01,"cfg_rev":12}]}}'
)


def msg(topic: str, payload: bytes | str, *, retain: bool = False) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(topic=topic, payload=data, retain=retain)


def decode_error(decoder: ShellyGen2Decoder, message: RawMessage) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        decoder.decode(message)
    assert caught.value.topic == message.topic
    assert str(caught.value) == f"{message.topic}: {caught.value.reason}"
    return caught.value


def rpc(method: object, params: object) -> bytes:
    return orjson.dumps({"src": PRO4PM, "dst": "user_1", "method": method, "params": params})


# -- real payloads ---------------------------------------------------------------------------


def test_every_shelly_fixture_has_an_expected_record() -> None:
    assert SHELLY_FIXTURES
    assert {(f["topic"], f["payload"]) for f in SHELLY_FIXTURES} == set(EXPECTED)


@pytest.mark.parametrize("fixture", SHELLY_FIXTURES, ids=lambda f: f["topic"])
def test_fixture_decodes_to_its_exact_record(fixture: dict[str, Any]) -> None:
    record = ShellyGen2Decoder().decode(msg(fixture["topic"], fixture["payload"]))
    assert record == EXPECTED[fixture["topic"], fixture["payload"]]


def test_a_component_status_then_partial_overlays_report_the_whole_status() -> None:
    decoder = ShellyGen2Decoder()
    first = decoder.decode(msg(f"{PRO4PM}/status/switch:0", SWITCH_0))
    assert first == StateUpdate(PRO4PM, SWITCH_0_VALUES)

    # only apower and current changed: output, energy and temperature still hold
    drop = decoder.decode(msg(f"{PRO4PM}/events/rpc", POWER_DROPS))
    assert drop == StateUpdate(
        PRO4PM, {**SWITCH_0_VALUES, "switch:0.apower": 498.7, "switch:0.current": 2.183}
    )

    # the timer ran out: its keys are sent as null, meaning they no longer exist
    ended = decoder.decode(msg(f"{PRO4PM}/events/rpc", TIMER_ENDS))
    expected = {
        **SWITCH_0_VALUES,
        "switch:0.output": False,
        "switch:0.apower": 0.0,
        "switch:0.current": 0.0,
    }
    del expected["switch:0.timer_started_at"], expected["switch:0.timer_duration"]
    assert ended == StateUpdate(PRO4PM, expected)
    assert isinstance(ended, StateUpdate)
    assert list(ended.values) == list(expected)  # components and keys keep their place

    # another component joins the known status beside switch:0
    cloud = decoder.decode(msg(f"{PRO4PM}/events/rpc", CLOUD_LOST))
    assert cloud == StateUpdate(PRO4PM, {**expected, "cloud.connected": False})


def test_ts_is_not_a_reading() -> None:
    record = ShellyGen2Decoder().decode(msg(f"{PRO4PM}/events/rpc", POWER_DROPS))
    assert record == StateUpdate(
        PRO4PM, {"switch:0.id": 0, "switch:0.apower": 498.7, "switch:0.current": 2.183}
    )


def test_a_component_status_replaces_the_known_component_whole() -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{PRO4PM}/status/switch:0", SWITCH_0))
    decoder.decode(msg(f"{PRO4PM}/events/rpc", CLOUD_LOST))
    record = decoder.decode(msg(f"{PRO4PM}/status/switch:0", '{"id":0,"output":false}'))
    assert record == StateUpdate(
        PRO4PM, {"switch:0.id": 0, "switch:0.output": False, "cloud.connected": False}
    )


def test_a_full_status_replaces_everything_known_and_keeps_its_nulls() -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{HT}/status/switch:0", '{"id":0,"output":true}'))  # nothing in full
    assert decoder.decode(msg(f"{HT}/events/rpc", HT_FULL)) == StateUpdate(HT, HT_VALUES)
    partial = rpc("NotifyStatus", {"ts": 1, "temperature:0": {"tC": 20.1, "tF": 68.2}})
    record = decoder.decode(msg(f"{HT}/events/rpc", partial))
    assert record == StateUpdate(
        HT, {**HT_VALUES, "temperature:0.tC": 20.1, "temperature:0.tF": 68.2}
    )


def test_a_null_component_removes_it_and_an_unknown_null_is_a_no_op() -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{PRO4PM}/status/switch:0", '{"id":0,"output":true}'))
    decoder.decode(msg(f"{PRO4PM}/events/rpc", CLOUD_LOST))
    patch = rpc("NotifyStatus", {"cloud": None, "switch:0": {"errors": None, "x": {"y": None}}})
    record = decoder.decode(msg(f"{PRO4PM}/events/rpc", patch))
    assert record == StateUpdate(PRO4PM, {"switch:0.id": 0, "switch:0.output": True})
    assert decoder.known_status(PRO4PM) == {"switch:0": {"id": 0, "output": True, "x": {}}}


def test_a_nested_object_is_merged_and_a_list_replaced_whole() -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{PRO4PM}/status/switch:0", SWITCH_0))
    patch = rpc("NotifyStatus", {"switch:0": {"aenergy": {"by_minute": [1.5]}}})
    record = decoder.decode(msg(f"{PRO4PM}/events/rpc", patch))
    assert isinstance(record, StateUpdate)
    assert record.values["switch:0.aenergy.total"] == 1530.412
    assert record.values["switch:0.aenergy.by_minute.0"] == 1.5
    assert "switch:0.aenergy.by_minute.1" not in record.values


def test_devices_do_not_share_status() -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{PRO4PM}/status/switch:0", SWITCH_0))
    other = decoder.decode(msg("shellypro4pm-aaaaaaaaaaaa/events/rpc", CLOUD_LOST))
    assert other == StateUpdate("shellypro4pm-aaaaaaaaaaaa", {"cloud.connected": False})
    assert decoder.source_count == 2


def test_the_same_messages_in_the_same_order_give_the_same_records() -> None:
    messages = [
        msg(f"{PRO4PM}/status/switch:0", SWITCH_0),
        msg(f"{PRO4PM}/events/rpc", POWER_DROPS),
        msg(f"{PRO4PM}/events/rpc", TIMER_ENDS),
        msg(f"{HT}/events/rpc", HT_FULL),
    ]
    first, second = ShellyGen2Decoder(), ShellyGen2Decoder()
    assert [first.decode(m) for m in messages] == [second.decode(m) for m in messages]


# -- events and availability -----------------------------------------------------------------


@pytest.mark.parametrize("event", ["single_push", "double_push", "triple_push", "long_push"])
def test_a_button_press_is_a_device_event(event: str) -> None:
    record = ShellyGen2Decoder().decode(msg(f"{I4}/events/rpc", press(event, "input:2")))
    assert record == DeviceEvent(I4, event, {"component": "input:2"})


def test_the_first_press_of_a_batch_is_reported() -> None:
    payload = rpc("NotifyEvent", {"events": [
        {"component": "sys", "event": "config_changed"},
        {"component": "input:1", "event": "long_push"},
        {"component": "input:0", "event": "single_push"},
    ]})
    record = ShellyGen2Decoder().decode(msg(f"{I4}/events/rpc", payload))
    assert record == DeviceEvent(I4, "long_push", {"component": "input:1"})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (CONFIG_CHANGED, "NotifyEvent 'config_changed' is not a button press"),
        (press("btn_down"), "NotifyEvent 'btn_down' is not a button press"),
        (
            rpc("NotifyEvent", {"events": [{"event": n} for n in ("a", "b", 3, None)]}),
            "NotifyEvent 'a', 'b', 3, … is not a button press",
        ),
        (rpc("NotifyEvent", {"events": []}), "NotifyEvent carries no event"),
        (rpc("NotifyEvent", {"events": [{"event": ["single_push"]}]}),
         "NotifyEvent an array is not a button press"),
        (rpc("NotifySomething", None), "rpc notification 'NotifySomething' carries no status"),
        (rpc("Shelly.GetStatus", {}), "rpc notification 'Shelly.GetStatus' carries no status"),
    ],
)
def test_other_notifications_are_ignored_with_their_reason(
    payload: str | bytes, reason: str
) -> None:
    decoder = ShellyGen2Decoder()
    assert decoder.decode(msg(f"{I4}/events/rpc", payload)) == Ignored(reason)
    assert decoder.source_count == 0


@pytest.mark.parametrize(
    ("payload", "online"),
    [("true", True), ("false", False), ("true\n", True)],
)
def test_online_is_availability(payload: str, online: bool) -> None:
    record = ShellyGen2Decoder().decode(msg(f"{PRO4PM}/online", payload, retain=True))
    assert record == AvailabilityUpdate(PRO4PM, online)


# -- broken cousins --------------------------------------------------------------------------

BAD_ONLINE = "online must be true or false, got "
OVERSIZE = f"payload of {MAX_PAYLOAD_BYTES + 1} bytes exceeds the 262144-byte limit"


def deep_component(levels: int) -> bytes:
    wrapped: Any = {"tC": 1}
    for _ in range(levels - 1):
        wrapped = {"x": wrapped}
    return orjson.dumps(wrapped)


COUSINS: list[tuple[str, str, bytes, str]] = [
    ("rpc-truncated", "events/rpc", POWER_DROPS.encode()[:-1], "not JSON: "),
    ("rpc-half", "events/rpc", TIMER_ENDS.encode()[:60], "not JSON: "),
    ("rpc-array", "events/rpc", b"[" + POWER_DROPS.encode() + b"]",
     "expected a JSON object, got array"),
    ("rpc-empty", "events/rpc", b"", "empty payload"),
    ("rpc-oversize", "events/rpc", POWER_DROPS.encode().ljust(MAX_PAYLOAD_BYTES + 1), OVERSIZE),
    ("rpc-not-utf8", "events/rpc", b'{"src":"\xff"}', "not UTF-8: byte 0xff at offset 8"),
    ("no-method", "events/rpc", b'{"src":"x","params":{}}', 'rpc notification has no "method"'),
    ("method-number", "events/rpc", rpc(1, {}),
     'rpc notification "method" must be a string, got 1'),
    ("method-null", "events/rpc", rpc(None, {}),
     'rpc notification "method" must be a string, got null'),
    ("no-params", "events/rpc", b'{"method":"NotifyStatus"}', 'NotifyStatus has no "params"'),
    ("params-array", "events/rpc", rpc("NotifyStatus", [{"switch:0": {}}]),
     'NotifyStatus "params" must be an object, got an array'),
    ("full-params-text", "events/rpc", rpc("NotifyFullStatus", "{}"),
     'NotifyFullStatus "params" must be an object, got \'{}\''),
    ("event-params-null", "events/rpc", rpc("NotifyEvent", None),
     'NotifyEvent "params" must be an object, got null'),
    ("events-missing", "events/rpc", rpc("NotifyEvent", {"ts": 1}),
     'NotifyEvent "params.events" must be an array, got null'),
    ("events-object", "events/rpc", rpc("NotifyEvent", {"events": {"event": "single_push"}}),
     'NotifyEvent "params.events" must be an array, got an object'),
    ("event-text", "events/rpc", rpc("NotifyEvent", {"events": ["single_push"]}),
     "NotifyEvent event must be an object, got 'single_push'"),
    ("press-no-component", "events/rpc", rpc("NotifyEvent", {"events": [{"event": "single_push"}]}),
     'single_push event "component" must be a non-empty text, got null'),
    ("press-number-component", "events/rpc",
     rpc("NotifyEvent", {"events": [{"event": "double_push", "component": 5}]}),
     'double_push event "component" must be a non-empty text, got 5'),
    ("press-empty-component", "events/rpc",
     rpc("NotifyEvent", {"events": [{"event": "long_push", "component": ""}]}),
     'long_push event "component" must be a non-empty text, got \'\''),
    ("status-too-deep", "events/rpc", rpc("NotifyStatus", {"a": orjson.loads(deep_component(8))}),
     "nested deeper than 8 levels at 'a.x.x.x.x.x.x.x'"),
    ("status-thousand-deep", "events/rpc",
     b'{"method":"NotifyStatus","params":' + b'{"a":' * 1000 + b"1" + b"}" * 1001,
     "nested deeper than 8 levels at 'a.a.a.a.a.a.a.a'"),
    ("status-too-many-keys", "events/rpc",
     rpc("NotifyStatus", {f"input:{i}": {"id": i} for i in range(300)}),
     "more than 500 keys in one payload (nested keys and list items count)"),
    ("component-not-json", "status/switch:0", SWITCH_0.encode()[:-1], "not JSON: "),
    ("component-array", "status/switch:0", b"[]", "expected a JSON object, got array"),
    ("component-text", "status/switch:0", b"on", "not JSON: "),
    ("component-empty", "status/switch:0", b"", "empty payload"),
    ("component-too-deep", "status/switch:0", deep_component(8),
     "known status with this update: nested deeper than 8 levels at "
     "'switch:0.x.x.x.x.x.x.x'"),
    ("online-yes", "online", b"yes", BAD_ONLINE + "'yes'"),
    ("online-capital", "online", b"True", BAD_ONLINE + "'True'"),
    ("online-json", "online", b'{"online":true}', BAD_ONLINE + "'{\"online\":true}'"),
    ("online-empty", "online", b"", "empty payload"),
    ("online-not-utf8", "online", b"tr\xffue", "not UTF-8: byte 0xff at offset 2"),
]


@pytest.mark.parametrize(
    ("level", "payload", "reason"),
    [pytest.param(level, p, r, id=name) for name, level, p, r in COUSINS],
)
def test_broken_cousin_is_refused_and_the_known_status_kept(
    level: str, payload: bytes, reason: str
) -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{PRO4PM}/status/switch:0", SWITCH_0))
    before = decoder.known_status(PRO4PM)
    error = decode_error(decoder, msg(f"{PRO4PM}/{level}", payload))
    if reason.endswith(": "):  # the rest is orjson's own wording and position
        assert error.reason.startswith(reason)
        assert len(error.reason) > len(reason)
    else:
        assert error.reason == reason
    assert decoder.known_status(PRO4PM) == before
    assert decoder.decode(msg(f"{PRO4PM}/events/rpc", CLOUD_LOST)) == StateUpdate(
        PRO4PM, {**SWITCH_0_VALUES, "cloud.connected": False}
    )


@pytest.mark.parametrize("level", ["events/rpc", "status/switch:0", "online"])
def test_an_empty_retained_payload_clears_and_is_ignored(level: str) -> None:
    record = ShellyGen2Decoder().decode(msg(f"{PRO4PM}/{level}", b"", retain=True))
    assert record == Ignored("empty retained payload: a retained message was cleared")


# -- bounds ----------------------------------------------------------------------------------


def test_the_least_recently_updated_device_is_forgotten_past_max_sources() -> None:
    decoder = ShellyGen2Decoder(max_sources=3)
    for name in ("a", "b", "c"):
        decoder.decode(msg(f"{name}/status/switch:0", '{"output":true}'))
    decoder.decode(msg("a/events/rpc", rpc("NotifyStatus", {"cloud": {"connected": True}})))
    decoder.decode(msg("d/status/switch:0", '{"output":false}'))  # b is the oldest now
    assert decoder.source_count == 3
    assert decoder.known_status("b") is None
    assert decoder.known_status("a") == {"switch:0": {"output": True}, "cloud": {"connected": True}}
    # a forgotten device starts over from what its next message says
    record = decoder.decode(msg("b/events/rpc", rpc("NotifyStatus", {"switch:0": {"apower": 1}})))
    assert record == StateUpdate("b", {"switch:0.apower": 1})


def test_a_flood_of_fake_ids_stays_within_max_sources() -> None:
    decoder = ShellyGen2Decoder(max_sources=100)
    for i in range(1000):
        decoder.decode(msg(f"fake-{i}/status/switch:0", '{"output":true}'))
    assert decoder.source_count == 100
    assert decoder.known_status("fake-999") is not None
    assert decoder.known_status("fake-899") is None
    assert decoder.known_bytes == 100 * len(b'{"switch:0":{"output":true}}')


def test_a_status_past_the_per_device_limit_is_refused_and_the_known_one_kept() -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{PRO4PM}/status/switch:0", SWITCH_0))
    half = "x" * (MAX_STATUS_BYTES // 2)
    decoder.decode(msg(f"{PRO4PM}/status/script:1", orjson.dumps({"text": half})))
    error = decode_error(
        decoder, msg(f"{PRO4PM}/status/script:2", orjson.dumps({"text": half}))
    )
    assert error.reason.startswith("known status would grow to ")
    assert error.reason.endswith(
        f" bytes, past the {MAX_STATUS_BYTES}-byte limit per device; the update is dropped"
    )
    known = decoder.known_status(PRO4PM)
    assert known is not None
    assert set(known) == {"switch:0", "script:1"}


def test_an_overlay_refused_after_merging_leaves_the_known_status_untouched() -> None:
    decoder = ShellyGen2Decoder()
    decoder.decode(msg(f"{PRO4PM}/status/switch:0", SWITCH_0))
    half = "x" * (MAX_STATUS_BYTES // 2)
    decoder.decode(msg(f"{PRO4PM}/status/script:1", orjson.dumps({"text": half})))
    before = orjson.dumps(decoder.known_status(PRO4PM))
    # each part is fine alone; merged into switch:0 the status grows past the limit
    patch = rpc("NotifyStatus", {"switch:0": {"output": False, "note": half}})
    error = decode_error(decoder, msg(f"{PRO4PM}/events/rpc", patch))
    assert error.reason.startswith("known status would grow to ")
    assert orjson.dumps(decoder.known_status(PRO4PM)) == before


def test_an_overlay_past_the_key_limit_is_refused_as_the_known_status() -> None:
    decoder = ShellyGen2Decoder()
    many = {f"input:{i}": {"id": i} for i in range(150)}
    decoder.decode(msg(f"{PRO4PM}/events/rpc", rpc("NotifyFullStatus", many)))
    before = orjson.dumps(decoder.known_status(PRO4PM))
    more = {f"input:{i}": {"id": i, "state": False} for i in range(150, 250)}
    error = decode_error(decoder, msg(f"{PRO4PM}/events/rpc", rpc("NotifyStatus", more)))
    assert error.reason == (
        "known status with this update: "
        "more than 500 keys in one payload (nested keys and list items count)"
    )
    assert orjson.dumps(decoder.known_status(PRO4PM)) == before


def test_the_total_size_is_bounded_by_forgetting_the_oldest() -> None:
    decoder = ShellyGen2Decoder(max_bytes=MAX_STATUS_BYTES)
    text = "x" * (MAX_STATUS_BYTES // 3)
    for name in ("a", "b", "c", "d"):
        decoder.decode(msg(f"{name}/status/script:1", orjson.dumps({"text": text})))
    assert decoder.known_bytes <= MAX_STATUS_BYTES
    assert decoder.known_status("a") is None
    assert decoder.known_status("d") is not None
    assert decoder.known_bytes == sum(
        len(orjson.dumps(decoder.known_status(n))) for n in ("b", "c", "d")
        if decoder.known_status(n) is not None
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_sources": 0}, "max_sources must be at least 1, got 0"),
        ({"max_bytes": 1024}, f"max_bytes must be at least {MAX_STATUS_BYTES}, got 1024"),
    ],
)
def test_bounds_that_cannot_hold_a_device_are_refused(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ShellyGen2Decoder(**kwargs)


SOURCES = st.sampled_from(["a", "b", "c", "d", "e"])
COMPONENTS = st.sampled_from(["switch:0", "cloud", "sys", "temperature:0"])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=300))
STATUS = st.recursive(
    LEAVES, lambda c: st.dictionaries(st.sampled_from(["id", "output", "x", "y"]), c, max_size=3),
    max_leaves=12,
)


@st.composite
def shelly_messages(draw: st.DrawFn) -> RawMessage:
    source = draw(SOURCES)
    kind = draw(st.sampled_from(["status", "NotifyStatus", "NotifyFullStatus"]))
    if kind == "status":
        return msg(f"{source}/status/{draw(COMPONENTS)}", orjson.dumps(draw(STATUS)))
    params = draw(st.dictionaries(COMPONENTS, STATUS, max_size=3))
    return msg(f"{source}/events/rpc", rpc(kind, params))


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(shelly_messages(), min_size=1, max_size=30))
def test_the_bounds_hold_whatever_the_traffic(messages: list[RawMessage]) -> None:
    decoder = ShellyGen2Decoder(max_sources=3, max_bytes=MAX_STATUS_BYTES)
    for message in messages:
        try:
            record = decoder.decode(message)
        except DecodeError:
            continue
        if isinstance(record, StateUpdate):
            # what is reported is exactly what is kept, flattened
            known = decoder.known_status(record.source)
            assert known is not None
            assert record.values == flatten(known)
            assert len(orjson.dumps(known)) <= MAX_STATUS_BYTES
        assert decoder.source_count <= 3
        assert decoder.known_bytes <= MAX_STATUS_BYTES
        kept = [decoder.known_status(s) for s in "abcde"]
        assert decoder.known_bytes == sum(len(orjson.dumps(k)) for k in kept if k is not None)


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "record"),
    [
        ("/online", Ignored("no device id in the topic")),
        ("/events/rpc", Ignored("no device id in the topic")),
        ("/status/switch:0", Ignored("no device id in the topic")),
        (f"{PRO4PM}/status/", Ignored("no component in the topic")),
    ],
)
@pytest.mark.parametrize("payload", ["true", ""], ids=["payload", "empty"])
def test_a_topic_without_a_device_or_component_is_ignored(
    topic: str, record: Ignored, payload: str
) -> None:
    assert ShellyGen2Decoder().decode(msg(topic, payload)) == record


@pytest.mark.parametrize(
    "topic",
    [
        f"{PRO4PM}/rpc",  # requests to the device, Palier's own included
        "palier/rpc",  # the device's answers to Palier
        f"{PRO4PM}/events/rpc/x",
        f"{PRO4PM}/status/switch:0/x",
        f"{PRO4PM}/status",
        f"{PRO4PM}/events",
        f"{PRO4PM}/online/x",
        f"home/{PRO4PM}/online",
        PRO4PM,
        "",
    ],
)
def test_a_topic_no_shelly_publishes_is_none(topic: str) -> None:
    assert ShellyGen2Decoder().decode(msg(topic, "true")) is None


@pytest.mark.parametrize(
    "fixture",
    [f for f in ALL_FIXTURES if f["family"] != "shelly-gen2"],
    ids=lambda f: f["topic"],
)
def test_other_families_fixtures_are_not_shellys(fixture: dict[str, Any]) -> None:
    assert ShellyGen2Decoder().decode(msg(fixture["topic"], fixture["payload"])) is None


def test_make_decoder_builds_shelly_gen2_from_the_spec() -> None:
    decoder = make_decoder(ShellyGen2Bridge(id="shelly-lilas", format="shelly_gen2"))
    assert isinstance(decoder, ShellyGen2Decoder)
    assert topic_filters(decoder) == ("+/events/rpc", "+/status/+", "+/online")
    fixture = SHELLY_FIXTURES[0]
    assert decoder.decode(msg(fixture["topic"], fixture["payload"])) == EXPECTED[
        fixture["topic"], fixture["payload"]
    ]
