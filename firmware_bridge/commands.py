"""Checks every command encoder shares, so one fault gets one reason whichever family met it.

A command ends up as an MQTT topic name and a payload a device will act on: a
source or path holding ``/``, ``+``, ``#`` or NUL would address another device or
be refused by the broker, and a value that JSON or the firmware cannot spell
(``None``, ``nan``) would reach the device as something nobody asked for. Both
are refused here, before anything is published.
"""

from __future__ import annotations

import math

from firmware_bridge.base import EncodeError
from firmware_bridge.flatten import describe
from firmware_bridge.records import Scalar

_NOT_IN_A_LEVEL = ("/", "+", "#", "\x00")

#: Integral floats up to this magnitude are sent as integers: ``50.0`` reaches a
#: firmware that reads an integer (Tasmota ``Dimmer``) as ``50``; past 2**53 a float
#: no longer holds every integer, so it keeps its float spelling.
_EXACT_INTEGERS = 2**53


def topic_level(what: str, text: str) -> str:
    """Return ``text`` if it can stand as one topic level, else say why it cannot."""
    if not text:
        raise EncodeError(f"{what} is empty")
    for char in _NOT_IN_A_LEVEL:
        if char in text:
            shown = "NUL" if char == "\x00" else repr(char)
            raise EncodeError(f"{what} {describe(text)} contains {shown}")
    return text


def on_off(path: str, value: Scalar) -> bytes:
    """``ON``/``OFF`` for a boolean; 0/1 and words are refused because the intent is unclear."""
    if type(value) is not bool:
        raise EncodeError(f"{path} takes true or false, got {describe(value)}")
    return b"ON" if value else b"OFF"


def number(path: str, value: Scalar) -> int | float:
    """A finite number, integral floats as ``int``; booleans are refused (``True`` is an int)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EncodeError(f"{path} takes a number, got {describe(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EncodeError(f"{path} takes a finite number, got {value!r}")
        if value.is_integer() and abs(value) <= _EXACT_INTEGERS:
            return int(value)
    return value


def number_text(path: str, value: Scalar) -> bytes:
    """A number as plain-text firmwares read it (``21.5``, ``50``)."""
    return repr(number(path, value)).encode()


def scalar(path: str, value: Scalar) -> Scalar:
    """Any value JSON can carry unchanged; ``None`` is refused: a command needs a value."""
    if value is None:
        raise EncodeError(f"{path} needs a value, got null")
    if isinstance(value, float) and not math.isfinite(value):
        raise EncodeError(f"{path} takes a finite number, got {value!r}")
    return value
