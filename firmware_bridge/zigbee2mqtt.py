"""zigbee2mqtt: one JSON state topic per device, plus availability and the bridge's own state.

Topic layout under the base topic (``zigbee2mqtt`` unless configured)::

    <base>/bridge/state              the bridge online/offline      -> BridgeStatus
    <base>/bridge/...                logs, device lists, responses  -> Ignored
    <base>/<name>/availability       a device online/offline        -> AvailabilityUpdate
    <base>/<name>/set[/<attr>]       a command to the device        -> Ignored
    <base>/<name>/get[/<attr>]       a read request to the device   -> Ignored
    <base>/<name>                    the device's state (JSON)      -> StateUpdate

Friendly names may contain slashes (``floor1/leak``), so a topic is read from its
end: whatever sits between the base and a trailing ``/availability`` (or command
suffix) is the name, and a topic ending in ``/set``, ``/get`` or ``/set/<attr>``
is a command whatever comes before it.

Availability and bridge state exist in two spellings: the JSON form of
zigbee2mqtt 2.x (``{"state":"online"}``) and the plain ``online``/``offline`` of
earlier versions, which stays retained on brokers long after an upgrade. Both
are read.

Bridge topics are routed before their payload is looked at: ``bridge/devices``
of a large network can exceed the payload limit and is skipped, not refused.
"""

from __future__ import annotations

from typing import Any

import orjson

from firmware_bridge.base import DecodeError, EncodeError
from firmware_bridge.commands import scalar, topic_level
from firmware_bridge.flatten import describe, flatten, load_object, load_text
from firmware_bridge.records import (
    AvailabilityUpdate,
    BridgeStatus,
    Command,
    Decoded,
    Ignored,
    OutgoingMessage,
    RawMessage,
    StateUpdate,
)

_ONLINE = {"online": True, "offline": False}

_CLEARED = Ignored("empty retained payload: a retained message was cleared")
_NO_NAME = Ignored("no device name in the topic")
_COMMAND = Ignored("a command to the device, not its state")
_BRIDGE_STATE = "bridge/state"


class Zigbee2MqttDecoder:
    """Decode the messages one zigbee2mqtt bridge publishes under its base topic.

    Pure and stateless: the same message always gives the same record, so recorded
    traffic replays exactly.
    """

    __slots__ = ("_base", "_cut", "_prefix", "topic_filters")

    def __init__(self, base_topic: str = "zigbee2mqtt") -> None:
        if not base_topic or base_topic.startswith("/") or base_topic.endswith("/"):
            raise ValueError(
                f"zigbee2mqtt base_topic {base_topic!r} must be non-empty "
                "and neither start nor end with '/'"
            )
        if "+" in base_topic or "#" in base_topic:
            raise ValueError(f"zigbee2mqtt base_topic {base_topic!r} must not contain + or #")
        self._base = base_topic
        self._prefix = base_topic + "/"
        self._cut = len(self._prefix)
        #: MQTT subscription filters that deliver every message this bridge publishes.
        self.topic_filters: tuple[str, ...] = (f"{base_topic}/#",)

    @property
    def base_topic(self) -> str:
        return self._base

    def __repr__(self) -> str:
        return f"Zigbee2MqttDecoder(base_topic={self._base!r})"

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one message into a record; ``None`` for a topic outside the base topic.

        Raises ``DecodeError`` carrying the topic when the payload is bad.
        """
        topic = message.topic
        if not topic.startswith(self._prefix):
            # `<base>/#` also delivers `<base>` itself, which zigbee2mqtt never uses
            return _NO_NAME if topic == self._base else None
        rest = topic[self._cut :]
        try:
            # the bulk of the traffic, inlined: a device state, its name without a slash
            if rest and "/" not in rest:
                payload = message.payload
                if payload:
                    return StateUpdate(rest, flatten(load_object(payload)))
            return _route(rest, message)
        except DecodeError as exc:
            raise DecodeError(exc.reason, topic=topic) from None

    def encode(self, command: Command) -> list[OutgoingMessage]:
        """``<base>/<name>/set`` with ``{path: value}``; ``a.b`` nests as ``{"a": {"b": value}}``.

        zigbee2mqtt takes composite attributes as nested objects (``color.x``), the
        same shape its state reports and ``flatten`` turns into the point's path, so a
        point is set by the path it is read from. Raises ``EncodeError`` for a name or
        path that cannot be addressed, or a value JSON cannot carry.
        """
        source, path = command.source, command.path
        what = f"zigbee2mqtt device name {describe(source)}: a level"
        for level in source.split("/"):  # friendly names may hold slashes, not empty levels
            topic_level(what, level)
        keys = path.split(".")
        if not all(keys):
            raise EncodeError(f"zigbee2mqtt attribute path {describe(path)} has an empty part")
        body: Any = scalar(path, command.value)
        for key in reversed(keys):
            body = {key: body}
        try:
            payload = orjson.dumps(body)
        except orjson.JSONEncodeError as exc:
            raise EncodeError(f"{path} cannot be sent as JSON: {exc}") from None
        return [OutgoingMessage(f"{self._prefix}{source}/set", payload)]


def _route(rest: str, message: RawMessage) -> Decoded:
    head, slash, tail = rest.rpartition("/")
    if not slash:
        return _state(rest, message)
    if rest.startswith("bridge/"):
        if rest == _BRIDGE_STATE:
            payload = message.payload
            if not payload:
                return _empty(message)
            return BridgeStatus(online=_online(payload, "bridge state"))
        return Ignored(f"bridge message {rest!r} carries no device state")
    if tail == "availability":
        if not head:
            return _NO_NAME
        payload = message.payload
        if not payload:
            return _empty(message)
        return AvailabilityUpdate(source=head, online=_online(payload, "availability"))
    if tail == "set" or tail == "get" or head.endswith(("/set", "/get")):
        return _COMMAND
    return _state(rest, message)


def _state(name: str, message: RawMessage) -> Decoded:
    if not name:
        return _NO_NAME
    payload = message.payload
    if not payload:
        return _empty(message)
    return StateUpdate(name, flatten(load_object(payload)))


def _empty(message: RawMessage) -> Ignored:
    """An empty retained payload clears a retained message; an empty live one is a fault.

    The broker forwards a clear to subscribers already connected with the retain flag
    reset, unless they subscribed with MQTT 5 "retain as published": intake should
    set that option, or those clears arrive here as live empty payloads.
    """
    if message.retain:
        return _CLEARED
    raise DecodeError("empty payload")


def _online(payload: bytes, what: str) -> bool:
    """Read ``{"state": "online"}`` (2.x) or plain ``online`` (1.x); ``what`` names it in errors."""
    text = load_text(payload).strip()
    if text[:1] in ("{", "["):
        obj = load_object(payload)
        if "state" not in obj:
            raise DecodeError(f'{what} object has no "state" key')
        value = obj["state"]
    else:
        value = text
    online = _ONLINE.get(value) if type(value) is str else None
    if online is None:
        raise DecodeError(f"{what} must be online or offline, got {describe(value)}")
    return online
