"""The Things Stack v3: uplinks of LoRaWAN devices, as its MQTT server publishes them.

Topic layout (``<app>`` is ``app-id@tenant-id`` on TTN/TTI, the MQTT username)::

    v3/<app>/devices/<device_id>/up              an uplink            -> StateUpdate
    v3/<app>/devices/<device_id>/join            a join accept        -> Ignored
    v3/<app>/devices/<device_id>/down/...        downlink lifecycle   -> Ignored
    v3/<app>/devices/<device_id>/service/data    service data         -> Ignored
    v3/<app>/devices/<device_id>/location/solved location            -> Ignored

The bridge subscribes to uplinks only; the other events are still recognised, so a
broker route or a replayed recording that delivers them is skipped, not refused.

An uplink carries its values in one of two ways:

* ``uplink_message.decoded_payload``, when an uplink payload formatter ran on the
  network server: a JSON object, flattened like any other family's payload;
* otherwise ``frm_payload``, the application bytes in base64, read with the binary
  layout declared for the uplink's ``f_port`` — the device's own layouts first (a
  device in a mixed fleet may speak another firmware), then the bridge's.

The device is named twice, in the topic and in ``end_device_ids.device_id``; they
must agree, because a disagreement means a misrouted or forged message and either
choice would credit the reading to the wrong device.

``radio.rssi`` and ``radio.snr`` of the first gateway that heard the uplink are
added when present, so installers can watch link quality with ordinary rules.
They never overwrite a value of the payload with the same path, and a malformed
metadata entry is skipped rather than refused: the reading is what matters.
"""

from __future__ import annotations

from base64 import b64decode
from collections.abc import Mapping
from typing import Any

from firmware_bridge.base import DecodeError
from firmware_bridge.binary_layout import CompiledLayout
from firmware_bridge.flatten import describe, flatten, load_object
from firmware_bridge.layout_schema import Layout
from firmware_bridge.records import Decoded, Ignored, RawMessage, StateUpdate

_CLEARED = Ignored("empty retained payload: a retained message was cleared")
_NO_DEVICE = Ignored("the device level of the topic is empty")
_NUMBER_TYPES = (int, float)


class TtnV3Decoder:
    """Decode The Things Stack v3 uplinks of one application (or of all, with ``+``).

    Layouts are compiled once here; ``device_layouts`` maps a device's ``device_id``
    to its own layouts by ``f_port``, which replace the bridge's for that port.
    Raises ``ValueError`` for an application name MQTT could not subscribe with.
    """

    __slots__ = ("_application", "_device_layouts", "_layouts", "_prefix", "topic_filters")

    def __init__(
        self,
        application: str = "+",
        layouts: Mapping[int, Layout] = {},
        device_layouts: Mapping[str, Mapping[int, Layout]] = {},
    ) -> None:
        if (
            not application
            or "/" in application
            or "#" in application
            or ("+" in application and application != "+")
        ):
            raise ValueError(
                f"ttn_v3 application {application!r} must be one topic level: "
                "app-id@tenant-id, or + for every application"
            )
        self._application = application
        self._prefix = "v3/" if application == "+" else f"v3/{application}/devices/"
        self._layouts = _compile(layouts, "layouts")
        self._device_layouts = {
            device: _compile(by_port, f"device {device!r} layouts")
            for device, by_port in device_layouts.items()
        }
        #: MQTT subscription filters that deliver the uplinks this bridge reads.
        self.topic_filters: tuple[str, ...] = (f"v3/{application}/devices/+/up",)

    def __repr__(self) -> str:
        return (
            f"TtnV3Decoder(application={self._application!r}, layouts={sorted(self._layouts)}, "
            f"device_layouts={sorted(self._device_layouts)})"
        )

    def decode(self, message: RawMessage) -> Decoded | None:
        """Turn one message into a record; ``None`` for a topic outside the application.

        Raises ``DecodeError`` carrying the topic when an uplink cannot be read.
        """
        topic = message.topic
        if not topic.startswith(self._prefix):
            return None
        rest = topic[len(self._prefix) :]
        if self._application == "+":
            application, slash, rest = rest.partition("/")
            if not slash or not application or not rest.startswith("devices/"):
                return None
            rest = rest[8:]
        device, slash, event = rest.partition("/")
        if not slash or not event:
            return None
        if not device:
            return _NO_DEVICE
        if event != "up":
            return Ignored(f"a {event!r} message carries no uplink")
        payload = message.payload
        if not payload and message.retain:
            return _CLEARED
        try:
            return self._uplink(device, load_object(payload))
        except DecodeError as exc:
            raise DecodeError(exc.reason, topic=topic) from None

    def _uplink(self, device: str, obj: dict[str, Any]) -> StateUpdate:
        ids = obj.get("end_device_ids")
        source = ids.get("device_id") if type(ids) is dict else None
        if type(source) is not str or not source:
            raise DecodeError("no end_device_ids.device_id in the uplink")
        if source != device:
            raise DecodeError(
                f"end_device_ids.device_id {describe(source)} differs from the topic's "
                f"device {describe(device)}"
            )
        uplink = obj.get("uplink_message")
        if type(uplink) is not dict:
            if uplink is None:
                raise DecodeError("no uplink_message in the uplink")
            raise DecodeError(f"uplink_message must be an object, got {describe(uplink)}")

        decoded = uplink.get("decoded_payload")
        # Any: the two branches give dict[str, Scalar] and dict[str, float | int], both fine
        values: dict[str, Any] = (
            flatten(decoded) if type(decoded) is dict else self._frame(source, uplink)
        )
        _add_radio(uplink, values)
        return StateUpdate(source, values)

    def _frame(self, source: str, uplink: dict[str, Any]) -> dict[str, float | int]:
        """Read ``frm_payload`` with the layout of the uplink's ``f_port``."""
        port = uplink.get("f_port")
        if port is None:
            raise DecodeError(
                "uplink_message has no f_port (and no decoded_payload), so no layout can be chosen"
            )
        if type(port) is not int:
            raise DecodeError(f"f_port must be an integer, got {describe(port)}")
        own = self._device_layouts.get(source)
        layout = own.get(port) if own is not None else None
        if layout is None:
            layout = self._layouts.get(port)
            if layout is None:
                raise DecodeError(
                    f"no layout for f_port {port} of device {source}; declare one under layouts"
                )
        # The Things Stack leaves an empty frm_payload out of the JSON
        text = uplink.get("frm_payload", "")
        if type(text) is not str:
            raise DecodeError(f"frm_payload must be a base64 string, got {describe(text)}")
        try:
            frame = b64decode(text, validate=True)
        except ValueError as exc:  # binascii.Error, or a str that is not ASCII
            raise DecodeError(f"frm_payload {describe(text)} is not valid base64: {exc}") from None
        try:
            return layout.decode(frame)
        except DecodeError as exc:
            raise DecodeError(f"f_port {port}: {exc.reason}") from None


def _compile(layouts: Mapping[int, Layout], where: str) -> dict[int, CompiledLayout]:
    """Compile layouts by port; a refusal names the port, and the device when it is one's."""
    compiled: dict[int, CompiledLayout] = {}
    for port, layout in layouts.items():
        try:
            compiled[port] = CompiledLayout(layout)
        except ValueError as exc:
            raise ValueError(f"{where}, f_port {port}: {exc}") from exc
    return compiled


def _add_radio(uplink: dict[str, Any], values: dict[str, Any]) -> None:
    metadata = uplink.get("rx_metadata")
    if type(metadata) is not list or not metadata or type(metadata[0]) is not dict:
        return
    first = metadata[0]
    for key in ("rssi", "snr"):
        value = first.get(key)
        if type(value) in _NUMBER_TYPES:
            values.setdefault(f"radio.{key}", value)
