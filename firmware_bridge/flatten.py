"""JSON payloads turned into dotted paths, the one shape rules and points read.

Installers name a point by where it sits in the payload (``AM2301.Temperature``,
``params.switch:0.output``), so every family hands its JSON object to ``flatten``
and the rest of the pipeline never walks vendor structures again. Lists are
addressed by index (``bytes.0``).

Both limits exist because a payload comes from a device we do not control: a
runaway firmware, or a hostile publisher on a shared broker, must not make one
message cost a large, unbounded amount of work and memory downstream.

``load_object`` and ``load_text`` are the payload checks every JSON family shares
(size, UTF-8, JSON, object), so that the same fault gets the same reason whichever
family met it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.records import Scalar

#: Containers nested deeper than this are refused; the top-level object is level 1.
MAX_DEPTH = 8

#: More keys than this in one payload are refused. Every key counts, nested ones and
#: list items included, so the bound holds the work per message, not only the output.
MAX_KEYS = 500

# exact types, so the check is one set lookup; bool is listed because type(True) is bool
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})

_TOO_MANY = f"more than {MAX_KEYS} keys in one payload (nested keys and list items count)"

_SHOWN_PATH_CHARS = 80
_SHOWN_TEXT_CHARS = 40

_JSON_KINDS = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def flatten(obj: Mapping[str, object]) -> dict[str, Scalar]:
    """Map every leaf of ``obj`` to its dotted path, in payload order.

    An empty object or list contributes no path: it carries no value a point could
    read, and the ``Scalar`` type has no spelling for it.

    Raises ``DecodeError`` when nesting goes deeper than ``MAX_DEPTH``, when there
    are more than ``MAX_KEYS`` keys, when two different spellings land on the same
    path (``{"a.b": 1, "a": {"b": 2}}`` — silently keeping either would be a guess),
    or when a value is not a JSON type.
    """
    seen = len(obj)
    if seen > MAX_KEYS:
        raise DecodeError(_TOO_MANY)
    for value in obj.values():
        if type(value) not in _SCALAR_TYPES:
            break
    else:  # flat, the common case for sensors: keys of one object cannot collide
        return dict(obj)
    # the top level is walked here rather than by _walk to skip building "" + key
    out: dict[str, Scalar] = {}
    for key, value in obj.items():
        cls = type(value)
        if cls in _SCALAR_TYPES:
            if key in out:
                raise DecodeError(_collision(key))
            out[key] = value
        else:
            seen = _enter(key, value, cls, 1, seen, out)
    return out


def _walk(
    items: Iterable[tuple[object, Any]],
    prefix: str,
    depth: int,
    seen: int,
    out: dict[str, Scalar],
) -> int:
    """Add the leaves under ``prefix`` to ``out``; return the number of keys seen so far."""
    for key, value in items:
        cls = type(value)
        if cls in _SCALAR_TYPES:
            path = f"{prefix}{key}"
            if path in out:
                raise DecodeError(_collision(path))
            out[path] = value
        else:
            seen = _enter(f"{prefix}{key}", value, cls, depth, seen, out)
    return seen


def _enter(path: str, value: Any, cls: type, depth: int, seen: int, out: dict[str, Scalar]) -> int:
    """Walk into a container found at ``depth``, after checking both limits."""
    if cls is dict or cls is list or cls is tuple or isinstance(value, Mapping):
        # checked before looking inside, so an empty container too deep is refused too
        if depth >= MAX_DEPTH:
            raise DecodeError(f"nested deeper than {MAX_DEPTH} levels at {_shown(path)}")
        seen += len(value)
        if seen > MAX_KEYS:
            raise DecodeError(_TOO_MANY)
        items = enumerate(value) if cls is list or cls is tuple else value.items()
        return _walk(items, path + ".", depth + 1, seen, out)
    raise DecodeError(f"value at {_shown(path)} has type {cls.__name__}, not a JSON type")


def _collision(path: str) -> str:
    return f"two keys give the same path {_shown(path)} (a key contains a dot)"


def _shown(path: str) -> str:
    """Quote a path for an error message, cut short: the reason must stay readable."""
    if len(path) > _SHOWN_PATH_CHARS:
        path = path[: _SHOWN_PATH_CHARS - 1] + "…"
    return repr(path)


def load_object(payload: bytes) -> dict[str, Any]:
    """Parse a payload that must be one JSON object, or say precisely why it is not.

    The size is checked before parsing so that an oversize message costs nothing;
    a UTF-8 fault is told apart from a JSON one because the fix differs (the first
    is a firmware encoding bug, the second a truncated or non-JSON message).
    """
    size = len(payload)
    if size > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload of {size} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit")
    if not size:
        raise DecodeError("empty payload")
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(_not_utf8(payload) or f"not JSON: {exc}") from None
    if type(obj) is not dict:
        raise DecodeError(f"expected a JSON object, got {_JSON_KINDS[type(obj)]}")
    return obj


def load_text(payload: bytes) -> str:
    """Decode a plain-text payload (``online``, ``offline``) under the same limits."""
    size = len(payload)
    if size > MAX_PAYLOAD_BYTES:
        raise DecodeError(f"payload of {size} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit")
    if not size:
        raise DecodeError("empty payload")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(_utf8_reason(payload, exc)) from None


def describe(value: object) -> str:
    """Show a payload value in an error reason: strings quoted and cut short, JSON for the rest."""
    if type(value) is str:
        if len(value) > _SHOWN_TEXT_CHARS:
            value = value[: _SHOWN_TEXT_CHARS - 1] + "…"
        return repr(value)
    if value is None or type(value) is bool:
        return orjson.dumps(value).decode()
    if type(value) in (int, float):
        return repr(value)
    kind = _JSON_KINDS.get(type(value), type(value).__name__)
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _not_utf8(payload: bytes) -> str | None:
    """Tell a UTF-8 fault from a JSON one after orjson refused the payload (the rare path)."""
    try:
        bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        return _utf8_reason(payload, exc)
    return None


def _utf8_reason(payload: bytes, exc: UnicodeDecodeError) -> str:
    return f"not UTF-8: byte 0x{payload[exc.start]:02x} at offset {exc.start}"
