"""Nested JSON objects turned into dotted paths, the one shape rules and points read.

Installers name a point by where it sits in the payload (``AM2301.Temperature``,
``params.switch:0.output``), so every family hands its JSON object to ``flatten``
and the rest of the pipeline never walks vendor structures again. Lists are
addressed by index (``bytes.0``).

Both limits exist because a payload comes from a device we do not control: a
runaway firmware, or a hostile publisher on a shared broker, must not make one
message cost a large, unbounded amount of work and memory downstream.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from firmware_bridge.base import DecodeError
from firmware_bridge.records import Scalar

#: Containers nested deeper than this are refused; the top-level object is level 1.
MAX_DEPTH = 8

#: More leaf values than this in one payload are refused.
MAX_KEYS = 500

# exact types, so the check is one set lookup; bool is listed because type(True) is bool
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})

_SHOWN_PATH_CHARS = 80


def flatten(obj: Mapping[str, object]) -> dict[str, Scalar]:
    """Map every leaf of ``obj`` to its dotted path, in payload order.

    An empty object or list contributes no path: it carries no value a point could
    read, and the ``Scalar`` type has no spelling for it.

    Raises ``DecodeError`` when nesting goes deeper than ``MAX_DEPTH``, when there
    are more than ``MAX_KEYS`` leaves, when two different spellings land on the same
    path (``{"a.b": 1, "a": {"b": 2}}`` — silently keeping either would be a guess),
    or when a value is not a JSON type.
    """
    out: dict[str, Scalar] = {}
    _walk(obj.items(), "", 1, out)
    return out


def _walk(
    items: Iterable[tuple[object, Any]], prefix: str, depth: int, out: dict[str, Scalar]
) -> None:
    for key, value in items:
        path = f"{prefix}{key}"
        cls = type(value)
        if cls in _SCALAR_TYPES:
            if path in out:
                raise DecodeError(f"two keys give the same path {_shown(path)} (a key has a dot)")
            out[path] = value
            if len(out) > MAX_KEYS:
                raise DecodeError(f"more than {MAX_KEYS} values in one payload")
        elif cls is dict or (cls is not list and isinstance(value, Mapping)):
            _enter(value.items(), path, depth, out)
        elif cls is list or cls is tuple:
            _enter(enumerate(value), path, depth, out)
        else:
            raise DecodeError(
                f"value at {_shown(path)} is a {cls.__name__}, not a JSON type"
            )


def _enter(
    items: Iterable[tuple[object, Any]], path: str, depth: int, out: dict[str, Scalar]
) -> None:
    # checked before looking inside, so an empty container too deep is refused as well
    if depth >= MAX_DEPTH:
        raise DecodeError(f"nested deeper than {MAX_DEPTH} levels at {_shown(path)}")
    _walk(items, path + ".", depth + 1, out)


def _shown(path: str) -> str:
    """Quote a path for an error message, cut short: the reason must stay readable."""
    if len(path) > _SHOWN_PATH_CHARS:
        path = path[: _SHOWN_PATH_CHARS - 1] + "…"
    return repr(path)
