"""flatten and the shared payload checks: the shapes and limits every JSON family relies on."""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson
import pytest

from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.flatten import (
    MAX_DEPTH,
    MAX_KEYS,
    describe,
    flatten,
    load_object,
    load_text,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "payloads.jsonl"


def nest(levels: int, leaf: Any) -> dict[str, Any]:
    """``levels`` objects one inside the other (the top one included), ``leaf`` innermost."""
    obj: dict[str, Any] = {"n": leaf}
    for _ in range(levels - 1):
        obj = {"n": obj}
    return obj


def deep_path(levels: int) -> str:
    return ".".join(["n"] * levels)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param({}, {}, id="empty"),
        pytest.param(
            {"temp": 3, "ok": True, "name": "x", "gone": None, "v": 1.5},
            {"temp": 3, "ok": True, "name": "x", "gone": None, "v": 1.5},
            id="flat-all-scalar-types",
        ),
        pytest.param({"env": {"temp": 3}}, {"env.temp": 3}, id="nested-object"),
        pytest.param({"a": [10, 20]}, {"a.0": 10, "a.1": 20}, id="list-by-index"),
        pytest.param({"a": [{"b": 1}, {"b": 2}]}, {"a.0.b": 1, "a.1.b": 2}, id="objects-in-list"),
        pytest.param({"a": [[1], [2, 3]]}, {"a.0.0": 1, "a.1.0": 2, "a.1.1": 3}, id="list-in-list"),
        pytest.param({"a": {}, "b": [], "c": 1}, {"c": 1}, id="empty-containers-give-no-path"),
        pytest.param({"t": (1, 2)}, {"t.0": 1, "t.1": 2}, id="tuple-like-list"),
        pytest.param({"switch:0": {"output": True}}, {"switch:0.output": True}, id="colon-in-key"),
        pytest.param({"température": 21}, {"température": 21}, id="unicode-key"),
        pytest.param(OrderedDict(a=OrderedDict(b=1)), {"a.b": 1}, id="any-mapping"),
        pytest.param(nest(MAX_DEPTH, 7), {deep_path(MAX_DEPTH): 7}, id="deepest-leaf-allowed"),
        pytest.param(
            {f"k{i}": i for i in range(MAX_KEYS)},
            {f"k{i}": i for i in range(MAX_KEYS)},
            id="exactly-max-keys",
        ),
    ],
)
def test_flatten_gives_dotted_paths(obj: dict[str, Any], expected: dict[str, Any]) -> None:
    assert flatten(obj) == expected


def test_flatten_keeps_payload_order() -> None:
    obj = {"z": 1, "a": {"y": 2, "b": 3}, "c": [4]}
    assert list(flatten(obj)) == ["z", "a.y", "a.b", "c.0"]


def test_flatten_returns_a_new_dict() -> None:
    obj = {"a": 1}
    out = flatten(obj)
    out["b"] = 2
    assert obj == {"a": 1}


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        pytest.param(
            nest(MAX_DEPTH + 1, 1),
            f"nested deeper than 8 levels at '{deep_path(MAX_DEPTH)}'",
            id="object-nine-levels",
        ),
        pytest.param(
            {"a": [[[[[[[[1]]]]]]]]},
            "nested deeper than 8 levels at 'a.0.0.0.0.0.0.0'",
            id="list-nine-levels",
        ),
        pytest.param(
            nest(MAX_DEPTH, {}),
            f"nested deeper than 8 levels at '{deep_path(MAX_DEPTH)}'",
            id="empty-container-too-deep",
        ),
        pytest.param(
            {f"k{i}": i for i in range(MAX_KEYS + 1)},
            "more than 500 keys in one payload (nested keys and list items count)",
            id="flat-too-many-keys",
        ),
        pytest.param(
            {"a": list(range(MAX_KEYS))},
            "more than 500 keys in one payload (nested keys and list items count)",
            id="list-items-count",
        ),
        pytest.param(
            {"a": [[]] * MAX_KEYS},
            "more than 500 keys in one payload (nested keys and list items count)",
            id="empty-items-count-too",
        ),
        pytest.param(
            {"a.b": 1, "a": {"b": 2}},
            "two keys give the same path 'a.b' (a key contains a dot)",
            id="dotted-key-then-nested",
        ),
        pytest.param(
            {"a": {"b": 2}, "a.b": 1},
            "two keys give the same path 'a.b' (a key contains a dot)",
            id="nested-then-dotted-key",
        ),
        pytest.param(
            {"a": [1], "x": {"y": 0}, "a.0": 2},
            "two keys give the same path 'a.0' (a key contains a dot)",
            id="index-then-dotted-key",
        ),
        pytest.param(
            {"a": {"b": b"raw"}},
            "value at 'a.b' has type bytes, not a JSON type",
            id="bytes-value",
        ),
        pytest.param({"s": {1, 2}}, "value at 's' has type set, not a JSON type", id="set-value"),
        pytest.param(
            {"k" * 200: object()},
            f"value at '{'k' * 79}…' has type object, not a JSON type",
            id="long-path-cut-short",
        ),
    ],
)
def test_flatten_refuses(obj: dict[str, Any], reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        flatten(obj)
    assert caught.value.reason == reason


def test_a_nested_payload_at_the_key_limit_is_accepted() -> None:
    # 1 top key + 1 list key ... the list holds MAX_KEYS - 2 items: 500 keys in all
    obj = {"a": 1, "b": list(range(MAX_KEYS - 2))}
    assert len(flatten(obj)) == MAX_KEYS - 1


# -- the shared payload checks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(b'{"a":1}', {"a": 1}, id="object"),
        pytest.param(b' \n{"a": [1, 2]}\n', {"a": [1, 2]}, id="whitespace-around"),
        pytest.param('{"t":"été"}'.encode(), {"t": "été"}, id="utf8-text"),
        pytest.param(bytearray(b'{"a":1}'), {"a": 1}, id="bytearray"),
    ],
)
def test_load_object_parses(payload: bytes, expected: dict[str, Any]) -> None:
    assert load_object(payload) == expected


def test_load_object_takes_a_payload_of_exactly_the_limit() -> None:
    payload = b'{"a":1}'.ljust(MAX_PAYLOAD_BYTES, b" ")
    assert load_object(payload) == {"a": 1}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(b"", "empty payload", id="empty"),
        pytest.param(
            b'{"a":1}'.ljust(MAX_PAYLOAD_BYTES + 1, b" "),
            "payload of 262145 bytes exceeds the 262144-byte limit",
            id="one-byte-over",
        ),
        pytest.param(
            b"x" * (4 * MAX_PAYLOAD_BYTES),
            "payload of 1048576 bytes exceeds the 262144-byte limit",
            id="far-over-and-not-json",
        ),
        pytest.param(b"[1, 2]", "expected a JSON object, got array", id="array"),
        pytest.param(b'"text"', "expected a JSON object, got string", id="string"),
        pytest.param(b"42", "expected a JSON object, got number", id="integer"),
        pytest.param(b"4.2", "expected a JSON object, got number", id="float"),
        pytest.param(b"true", "expected a JSON object, got boolean", id="boolean"),
        pytest.param(b"null", "expected a JSON object, got null", id="null"),
        pytest.param(b'{"a":"\xff"}', "not UTF-8: byte 0xff at offset 6", id="latin1-byte"),
        pytest.param(b"\xef\xbb\xbf\xc3", "not UTF-8: byte 0xc3 at offset 3", id="cut-sequence"),
    ],
)
def test_load_object_refuses(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        load_object(payload)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"a":1', id="truncated"),
        pytest.param(b"{'a': 1}", id="single-quotes"),
        pytest.param(b'{"a":1}{"b":2}', id="two-documents"),
        pytest.param(b'{"a":NaN}', id="nan"),
        pytest.param(b'{"a":1e999}', id="infinite-number"),
        pytest.param(b"   ", id="only-whitespace"),
        pytest.param(b"<html>", id="html"),
    ],
)
def test_load_object_says_not_json_with_orjsons_position(payload: bytes) -> None:
    with pytest.raises(DecodeError) as caught:
        load_object(payload)
    assert caught.value.reason.startswith("not JSON: ")
    assert "line 1 column" in caught.value.reason


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(b"online", "online"), (b" Offline\n", " Offline\n"), ("été".encode(), "été")],
)
def test_load_text_decodes_utf8(payload: bytes, expected: str) -> None:
    assert load_text(payload) == expected


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(b"", "empty payload", id="empty"),
        pytest.param(b"on\xffline", "not UTF-8: byte 0xff at offset 2", id="bad-byte"),
        pytest.param(
            b"o" * (MAX_PAYLOAD_BYTES + 1),
            "payload of 262145 bytes exceeds the 262144-byte limit",
            id="oversize",
        ),
    ],
)
def test_load_text_refuses(payload: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as caught:
        load_text(payload)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("maybe", "'maybe'"),
        ("x" * 100, repr("x" * 39 + "…")),
        (None, "null"),
        (True, "true"),
        (3, "3"),
        (2.5, "2.5"),
        ({"a": 1}, "an object"),
        ([1], "an array"),
    ],
)
def test_describe_shows_a_value_briefly(value: object, shown: str) -> None:
    assert describe(value) == shown


# -- real payloads ---------------------------------------------------------------------------


def _json_object_fixtures() -> list[Any]:
    params = []
    for number, line in enumerate(FIXTURES.read_text().splitlines(), start=1):
        fixture = json.loads(line)
        payload = fixture["payload"].encode()
        if payload.startswith(b"{"):
            params.append(pytest.param(payload, id=f"{number}-{fixture['family']}"))
    return params


@pytest.mark.parametrize("payload", _json_object_fixtures())
def test_every_fixture_object_flattens_to_its_leaves(payload: bytes) -> None:
    values = flatten(load_object(payload))
    # each leaf reachable by walking its dotted path in the parsed payload
    parsed = orjson.loads(payload)
    for path, value in values.items():
        node: Any = parsed
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert node == value, path
    assert values  # every fixture object has at least one leaf
