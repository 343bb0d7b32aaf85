"""Shelly Gen2+ (Plus, Pro, Gen3): RPC notifications, per-component status and ``online``.

Topic layout under a device's topic prefix (its id, ``shellypro4pm-f008d1d8b8b8``,
unless configured), which is the device's source::

    <id>/events/rpc              NotifyStatus / NotifyFullStatus  -> StateUpdate
                                 NotifyEvent with a button press  -> DeviceEvent
                                 other notifications              -> Ignored
    <id>/status/<component>      one component's whole status     -> StateUpdate
    <id>/online                  true / false, retained           -> AvailabilityUpdate

and it takes RPC requests on ``<id>/rpc``.

Why this decoder keeps state: ``NotifyStatus`` carries only what changed (Shelly's
documentation says to overlay it on the known status; a key sent as ``null`` was
removed). Reading it alone would report a switch's power without its output, so
the decoder remembers each device's status as a dict of components and every
``StateUpdate`` carries the whole overlaid status, flattened (``switch:0.output``,
``switch:0.apower``, ``temperature:0.tC``) — what a fresh ``Shelly.GetStatus``
would say. That memory is the only state, it depends only on the messages seen,
in order, so recorded traffic still replays exactly.

It is bounded, because any client on the broker can publish under ``+/status/+``:
one device's status may not exceed ``MAX_STATUS_BYTES`` (the update that would
grow it past the limit is refused, the known status kept), and the decoder keeps
at most ``max_sources`` devices and ``max_bytes`` of status in all, forgetting the
least recently updated first. A forgotten device loses nothing but the part of
its status that its next notifications do not repeat.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import orjson

from firmware_bridge.base import DecodeError, EncodeError
from firmware_bridge.commands import number, topic_level
from firmware_bridge.flatten import describe, flatten, load_object, load_text
from firmware_bridge.records import (
    AvailabilityUpdate,
    Command,
    Decoded,
    DeviceEvent,
    Ignored,
    OutgoingMessage,
    RawMessage,
    StateUpdate,
)

#: Devices whose status is kept at most; the least recently updated is forgotten first.
MAX_SOURCES = 10_000

#: One device's status, serialised as JSON, may not grow past this. A Pro 4PM's whole
#: status is about 3 KiB; the margin is for add-ons and virtual components.
MAX_STATUS_BYTES = 32 * 1024

#: All devices' statuses together, serialised as JSON.
MAX_KNOWN_BYTES = 64 * 1024 * 1024

#: NotifyEvent events reported as a ``DeviceEvent``: an input of type button was pressed.
BUTTON_EVENTS = frozenset({"single_push", "double_push", "triple_push", "long_push"})

#: The RPC ``src`` of Palier's requests: Shelly answers on ``palier/rpc``, which Palier
#: does not read, so the request ``id`` only has to be present.
RPC_SOURCE = "palier"
RPC_ID = 1

_ONLINE = {"true": True, "false": False}
_TS = "ts"
_STATUS_LEVEL = "status/"
_EVENTS_RPC = "events/rpc"
_ONLINE_LEVEL = "online"
_SUPPORTED = "switch:<n>.output (true or false), cover:<n>.pos (0 to 100)"
_MAX_INDEX_DIGITS = 4

_CLEARED = Ignored("empty retained payload: a retained message was cleared")
_NO_SOURCE = Ignored("no device id in the topic")
_NO_COMPONENT = Ignored("no component in the topic")


class ShellyGen2Decoder:
    """Decode what Shelly Gen2+ devices publish and encode ``Switch.Set``/``Cover.GoToPosition``.

    Holds each device's known status (see the module docstring for why); one
    instance per bridge, fed by one pipeline, is not shared across threads.
    """

    __slots__ = ("_bytes", "_known", "_max_bytes", "_max_sources", "topic_filters")

    def __init__(
        self, *, max_sources: int = MAX_SOURCES, max_bytes: int = MAX_KNOWN_BYTES
    ) -> None:
        if max_sources < 1:
            raise ValueError(f"shelly_gen2 max_sources must be at least 1, got {max_sources}")
        if max_bytes < MAX_STATUS_BYTES:
            raise ValueError(
                f"shelly_gen2 max_bytes must be at least {MAX_STATUS_BYTES}, got {max_bytes}"
            )
        self._max_sources = max_sources
        self._max_bytes = max_bytes
        #: source -> (status by component, its size as JSON), least recently updated first
        self._known: OrderedDict[str, tuple[dict[str, Any], int]] = OrderedDict()
        self._bytes = 0
        #: MQTT subscription filters that deliver every message a device publishes.
        self.topic_filters: tuple[str, ...] = ("+/events/rpc", "+/status/+", "+/online")

    def __repr__(self) -> str:
        return f"ShellyGen2Decoder(max_sources={self._max_sources}, max_bytes={self._max_bytes})"

    @property
    def source_count(self) -> int:
        """How many devices' statuses are kept."""
        return len(self._known)

    @property
    def known_bytes(self) -> int:
        """The kept statuses' size, as JSON."""
        return self._bytes

    def known_status(self, source: str) -> Mapping[str, Any] | None:
        """The status kept for ``source``, by component; ``None`` if none is kept.

        The decoder's own dict, for inspection: modifying it would break the size account.
        """
        entry = self._known.get(source)
        return None if entry is None else entry[0]

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one message into a record; ``None`` for a topic no Shelly Gen2 device uses.

        Raises ``DecodeError`` carrying the topic when the payload is bad; a refused
        message leaves the known status as it was.
        """
        topic = message.topic
        source, slash, rest = topic.partition("/")
        if not slash:
            return None
        component = None
        if rest.startswith(_STATUS_LEVEL):
            component = rest[len(_STATUS_LEVEL) :]
            if "/" in component:
                return None
        elif rest != _EVENTS_RPC and rest != _ONLINE_LEVEL:
            return None
        if not source:
            return _NO_SOURCE
        if component == "":
            return _NO_COMPONENT
        payload = message.payload
        try:
            if not payload:
                return _empty(message)
            if component is not None:
                return self._replace(source, component, load_object(payload))
            if rest == _EVENTS_RPC:
                return self._rpc(source, load_object(payload))
            return AvailabilityUpdate(source, _online(payload))
        except DecodeError as exc:
            raise DecodeError(exc.reason, topic=topic) from None

    def _replace(self, source: str, component: str, status: dict[str, Any]) -> StateUpdate:
        """``status/<component>`` is that component's whole status: it replaces the known one."""
        entry = self._known.get(source)
        merged = dict(entry[0]) if entry is not None else {}
        merged[component] = status
        return self._commit(source, merged)

    def _rpc(self, source: str, obj: dict[str, Any]) -> Decoded:
        if "method" not in obj:
            raise DecodeError('rpc notification has no "method"')
        method = obj["method"]
        if type(method) is not str:
            raise DecodeError(f'rpc notification "method" must be a string, got {describe(method)}')
        if method != "NotifyStatus" and method != "NotifyFullStatus" and method != "NotifyEvent":
            return Ignored(f"rpc notification {describe(method)} carries no status")
        if "params" not in obj:
            raise DecodeError(f'{method} has no "params"')
        params = obj["params"]
        if type(params) is not dict:
            raise DecodeError(f'{method} "params" must be an object, got {describe(params)}')
        if method == "NotifyEvent":
            return _event(source, params)
        flatten(params)  # the payload's own limits (depth, keys), before any of it is kept
        params.pop(_TS, None)  # when it was sent, not a reading
        if method == "NotifyFullStatus":  # the whole status: nothing known before still holds
            return self._commit(source, params)
        entry = self._known.get(source)
        return self._commit(source, _overlay(entry[0] if entry is not None else {}, params))

    def _commit(self, source: str, status: dict[str, Any]) -> StateUpdate:
        """Keep ``status`` as the device's known status, within the bounds, and report it whole."""
        try:  # first: a status that cannot be reported is never kept
            values = flatten(status)
        except DecodeError as exc:
            raise DecodeError(f"known status with this update: {exc.reason}") from None
        size = len(orjson.dumps(status))
        if size > MAX_STATUS_BYTES:
            raise DecodeError(
                f"known status would grow to {size} bytes, past the {MAX_STATUS_BYTES}-byte "
                "limit per device; the update is dropped"
            )
        known = self._known
        previous = known.pop(source, None)
        if previous is not None:
            self._bytes -= previous[1]
        known[source] = (status, size)
        self._bytes += size
        while len(known) > self._max_sources or self._bytes > self._max_bytes:
            _, (_, forgotten) = known.popitem(last=False)
            self._bytes -= forgotten
        return StateUpdate(source, values)

    def encode(self, command: Command) -> list[OutgoingMessage]:
        """An RPC request on ``<id>/rpc``: ``Switch.Set`` or ``Cover.GoToPosition``.

        Raises ``EncodeError`` naming what is supported for any other path, and for a
        value of the wrong type or out of range.
        """
        source = topic_level("shelly device id (the command's source)", command.source)
        path, value = command.path, command.value
        component, dot, key = path.partition(".")
        kind, colon, index = component.partition(":")
        if not (dot and colon and _is_index(index)):
            raise EncodeError(f"shelly_gen2 cannot set {describe(path)}; supported: {_SUPPORTED}")
        params: dict[str, Any]
        if kind == "switch" and key == "output":
            if type(value) is not bool:
                raise EncodeError(f"{path} takes true or false, got {describe(value)}")
            method, params = "Switch.Set", {"id": int(index), "on": value}
        elif kind == "cover" and (key == "pos" or key == "current_pos"):
            position = number(path, value)
            if not 0 <= position <= 100:
                raise EncodeError(f"{path} takes a position from 0 to 100, got {position!r}")
            method, params = "Cover.GoToPosition", {"id": int(index), "pos": position}
        else:
            raise EncodeError(f"shelly_gen2 cannot set {describe(path)}; supported: {_SUPPORTED}")
        request = {"id": RPC_ID, "src": RPC_SOURCE, "method": method, "params": params}
        return [OutgoingMessage(f"{source}/rpc", orjson.dumps(request))]


def _overlay(known: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``known`` with ``changes`` laid over it, objects merged key by key, ``null`` deleting.

    Copy on write: ``known`` is never modified, so a change refused later (too large)
    leaves the kept status intact. Lists are replaced whole, as Shelly sends them whole.
    Depth is bounded by the ``flatten`` check the caller ran on ``changes``.
    """
    out = dict(known)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif type(value) is dict:
            prior = out.get(key)
            out[key] = _overlay(prior if type(prior) is dict else {}, value)
        else:
            out[key] = value
    return out


def _event(source: str, params: dict[str, Any]) -> DeviceEvent | Ignored:
    """The first button press of a NotifyEvent; other events (config_changed, ...) are skipped.

    A device sends one press per notification; were several batched, the first is
    reported, since a record carries one event.
    """
    events = params.get("events")
    if type(events) is not list:
        raise DecodeError(f'NotifyEvent "params.events" must be an array, got {describe(events)}')
    names: list[str] = []
    for event in events:
        if type(event) is not dict:
            raise DecodeError(f"NotifyEvent event must be an object, got {describe(event)}")
        name = event.get("event")
        if type(name) is str and name in BUTTON_EVENTS:
            component = event.get("component")
            if type(component) is not str or not component:
                raise DecodeError(
                    f'{name} event "component" must be a non-empty text, got {describe(component)}'
                )
            return DeviceEvent(source, name, {"component": component})
        names.append(describe(name))
    if not names:
        return Ignored("NotifyEvent carries no event")
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return Ignored(f"NotifyEvent {shown} is not a button press")


def _is_index(text: str) -> bool:
    """A component id as Shelly writes it: ``0``, ``1``, ``200``, never ``01`` or ``-1``."""
    return (
        0 < len(text) <= _MAX_INDEX_DIGITS
        and text.isascii()
        and text.isdigit()
        and (text == "0" or text[0] != "0")
    )


def _online(payload: bytes) -> bool:
    text = load_text(payload).strip()
    online = _ONLINE.get(text)
    if online is None:
        raise DecodeError(f"online must be true or false, got {describe(text)}")
    return online


def _empty(message: RawMessage) -> Ignored:
    """An empty retained payload clears a retained message (``online``); a live one is a fault."""
    if message.retain:
        return _CLEARED
    raise DecodeError("empty payload")
