"""The recording line format: whatever the broker delivered comes back byte for byte."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.record import BadLine, RecordedMessage

topics = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)
times = st.floats(min_value=0, max_value=4e9, allow_nan=False).map(lambda t: round(t, 6))


@given(t=times, topic=topics, payload=st.binary(max_size=300), qos=st.sampled_from([0, 1, 2]),
       retain=st.booleans())
def test_any_message_survives_a_line(t: float, topic: str, payload: bytes, qos: int,
                                     retain: bool) -> None:
    message = RecordedMessage(t, topic, payload, qos, retain)
    line = message.to_line()
    assert "\n" not in line
    assert RecordedMessage.from_line(line, 1) == message


@given(text=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_text_payloads_stay_readable(text: str) -> None:
    line = RecordedMessage(1.0, "zigbee2mqtt/x", text.encode("utf-8")).to_line()
    assert json.loads(line)["payload"] == text


def test_binary_payloads_are_base64() -> None:
    line = RecordedMessage(1.5, "meters/1", b"\x00\xff\x10").to_line()
    assert json.loads(line) == {"t": 1.5, "topic": "meters/1", "payload": {"base64": "AP8Q"},
                                "qos": 0, "retain": False}


def test_a_string_that_looks_like_base64_stays_a_string() -> None:
    text = '{"base64": "AP8Q"}'
    line = RecordedMessage(1.0, "t", text.encode()).to_line()
    assert RecordedMessage.from_line(line, 1).payload == text.encode()


def test_qos_and_retain_default_when_absent() -> None:
    message = RecordedMessage.from_line('{"t": 2, "topic": "a/b", "payload": "x"}', 3)
    assert (message.qos, message.retain, message.t) == (0, False, 2.0)


@pytest.mark.parametrize(("line", "reason"), [
    ("{", "not JSON (Expecting property name enclosed in double quotes at column 2)"),
    ('"text"', "expected a JSON object, got str"),
    ('{"topic": "a", "payload": "x"}', "t: expected epoch seconds (a number), got nothing"),
    ('{"t": true, "topic": "a", "payload": "x"}', "t: expected epoch seconds (a number), got true"),
    ('{"t": 1, "topic": "", "payload": "x"}', 'topic: expected a non-empty string, got ""'),
    ('{"t": 1, "topic": "a"}', "payload: missing"),
    ('{"t": 1, "topic": "a", "payload": 12}', 'payload: expected a string or {"base64": ...}, '
                                              "got 12"),
    ('{"t": 1, "topic": "a", "payload": {"base64": "A"}}', "payload: base64 is not valid"),
    ('{"t": 1, "topic": "a", "payload": "x", "retain": 1}',
     "retain: expected true or false, got 1"),
    ('{"t": 1, "topic": "a", "payload": "x", "qos": true}', "qos: expected 0, 1 or 2, got true"),
])
def test_a_bad_line_says_what_is_wrong(line: str, reason: str) -> None:
    with pytest.raises(BadLine) as caught:
        RecordedMessage.from_line(line, 7)
    assert (caught.value.line, caught.value.reason) == (7, reason)
    assert str(caught.value) == f"line 7: {reason}"
