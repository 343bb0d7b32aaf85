"""ESPHome's native MQTT: one plain-text state topic per entity, plus the node's status.

Topic layout under a node's topic prefix (its name unless configured), which is
the device's source::

    <node>/<component>/<name>/state   one entity's state       -> StateUpdate
    <node>/status                     online / offline          -> AvailabilityUpdate
    <node>/<component>/<name>/command what Palier sends

A state becomes one value at path ``<component>.<name>`` (``sensor.temperature``,
``binary_sensor.leak``), so two entities of one node never collide. The plain
payload is read as ESPHome writes it: ``ON``/``OFF`` (binary sensors, switches)
as booleans, numbers as numbers (``20`` an int, ``20.5`` a float), anything else
as text (text sensors, ``OPEN``, ``LOCKED``). Lights are the exception: their
state topic carries a JSON object, flattened under ``light.<name>.``.

``nan`` is refused rather than stored: ESPHome publishes it when a sensor failed
to read (a disconnected probe), and a rule must see "no reading", not a number
that compares false with every threshold. An empty live payload is refused the
same way; an empty retained one clears the retained state ESPHome leaves.
"""

from __future__ import annotations

import re

import orjson

from firmware_bridge.base import DecodeError, EncodeError
from firmware_bridge.commands import number_text, on_off, topic_level
from firmware_bridge.flatten import describe, flatten, load_object, load_text
from firmware_bridge.records import (
    AvailabilityUpdate,
    Command,
    Decoded,
    Ignored,
    OutgoingMessage,
    RawMessage,
    Scalar,
    StateUpdate,
)

_STATE = "/state"
_STATE_KEY = ".state"
_STATUS = "/status"
_ONLINE = {"online": True, "offline": False}
_BOOLEANS = {"ON": True, "OFF": False}
_NUMBER_START = frozenset("-0123456789")
#: What a failed float prints as; refused, whatever its case and sign.
_NOT_READINGS = frozenset({"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity"})
_LONGEST_NOT_READING = max(map(len, _NOT_READINGS))
#: A JSON number: what orjson refused although it matches this overflowed a double.
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_LIGHT = "light"
_LIGHT_ON = orjson.dumps({"state": "ON"})
_LIGHT_OFF = orjson.dumps({"state": "OFF"})
_SUPPORTED = (
    "switch.<name> and fan.<name> (true or false), light.<name> (true or false), "
    "number.<name> (a number), select.<name> (an option's text)"
)

_CLEARED = Ignored("empty retained payload: a retained message was cleared")
_NO_NODE = Ignored("no node name in the topic")
_NO_ENTITY = Ignored("no component or entity name in the topic")


class EsphomeDecoder:
    """Decode what ESPHome nodes publish over MQTT and encode their entity commands.

    Pure and stateless: each state topic carries one entity's whole state.
    """

    __slots__ = ("topic_filters",)

    def __init__(self) -> None:
        #: MQTT subscription filters: every entity's state and every node's status.
        self.topic_filters: tuple[str, ...] = ("+/+/+/state", "+/status")

    def __repr__(self) -> str:
        return "EsphomeDecoder()"

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one message into a record; ``None`` for a topic no ESPHome node publishes on.

        Raises ``DecodeError`` carrying the topic when the payload is bad.
        """
        topic = message.topic
        if topic.endswith(_STATE):
            levels = topic.split("/", 4)
            if len(levels) != 4:
                return None
            node, component, name, _ = levels
            if not node:
                return _NO_NODE
            if not component or not name:
                return _NO_ENTITY
            payload = message.payload
            try:
                if not payload:
                    if message.retain:
                        return _CLEARED
                    raise DecodeError("not a reading: empty payload")
                if component == _LIGHT:
                    prefix = f"light.{name}."
                    values = flatten(load_object(payload))
                    return StateUpdate(node, {prefix + path: v for path, v in values.items()})
                return StateUpdate(node, {f"{component}.{name}": _reading(payload)})
            except DecodeError as exc:
                raise DecodeError(exc.reason, topic=topic) from None
        if topic.endswith(_STATUS):
            node = topic[: -len(_STATUS)]
            if "/" in node:
                return None
            if not node:
                return _NO_NODE
            payload = message.payload
            try:
                if not payload:
                    if message.retain:
                        return _CLEARED
                    raise DecodeError("empty payload")
                return AvailabilityUpdate(node, _online(payload))
            except DecodeError as exc:
                raise DecodeError(exc.reason, topic=topic) from None
        return None

    def encode(self, command: Command) -> list[OutgoingMessage]:
        """``<node>/<component>/<name>/command`` with the payload that component reads.

        ``light.<name>.state`` is accepted for ``light.<name>``, so the path a light's
        point reads from is also the one it is switched by. Raises ``EncodeError``
        naming what is supported for any other path, and for a value of the wrong type.
        """
        node = topic_level("esphome node (the command's source)", command.source)
        path, value = command.path, command.value
        component, dot, name = path.partition(".")
        if component == _LIGHT and name.endswith(_STATE_KEY):
            name = name[: -len(_STATE_KEY)]
        if not dot or not name or "." in name:
            raise EncodeError(f"esphome cannot set {describe(path)}; supported: {_SUPPORTED}")
        topic_level("esphome entity name", name)
        if component == "switch" or component == "fan":
            payload = on_off(path, value)
        elif component == _LIGHT:
            payload = _LIGHT_ON if on_off(path, value) == b"ON" else _LIGHT_OFF
        elif component == "number":
            payload = number_text(path, value)
        elif component == "select":
            if type(value) is not str or not value:
                raise EncodeError(f"{path} takes an option's text, got {describe(value)}")
            payload = value.encode()
        else:
            raise EncodeError(f"esphome cannot set {describe(path)}; supported: {_SUPPORTED}")
        return [OutgoingMessage(f"{node}/{component}/{name}/command", payload)]



def _reading(payload: bytes) -> Scalar:
    text = load_text(payload)
    boolean = _BOOLEANS.get(text)
    if boolean is not None:
        return boolean
    if len(text) <= _LONGEST_NOT_READING and text.lower() in _NOT_READINGS:
        raise DecodeError(f"not a reading: {text.lower()}")
    if text[0] in _NUMBER_START:
        try:
            value = orjson.loads(payload)
        except orjson.JSONDecodeError:
            if _NUMBER.fullmatch(text):
                raise DecodeError(f"not a reading: {describe(text)} is out of range") from None
            return text  # a text that starts like a number: a version, an address
        if type(value) is int or type(value) is float:
            return value
    return text


def _online(payload: bytes) -> bool:
    text = load_text(payload).strip()
    online = _ONLINE.get(text)
    if online is None:
        raise DecodeError(f"status must be online or offline, got {describe(text)}")
    return online
