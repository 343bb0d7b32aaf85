"""Device commands: a canonical value turned into the MQTT messages a device's firmware expects.

The HTTP API (a manager sets a pump) and the outbox (a rule does) go through the same
:func:`encode_command`, so a rule can never send what a manager could not: the point
must be writable, the value of its type and range, and the firmware family must take
commands. The value is turned back into the vendor's value (value map, scale, unit)
before the family encodes it.

Errors carry the reason as their message::

    ValueError
    └── CommandRejected      the command cannot be sent as asked
        ├── PointNotWritable unknown point, or one that takes no commands
        └── NoCommands       the device's firmware family takes no commands at all
    EncodeError              (firmware_bridge) the family refused the vendor value
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from devices.records import Device, Point, Value
from firmware_bridge.records import Command, OutgoingMessage

if TYPE_CHECKING:
    from gateway.runtime import Runtime

#: A firmware family's encoder (``decoder.encode`` for the families that take commands).
EncodeFn = Callable[[Command], list[OutgoingMessage]]


class CommandRejected(ValueError):
    """The command cannot be sent as asked; the message says why."""


class PointNotWritable(CommandRejected):
    pass


class NoCommands(CommandRejected):
    pass


def vendor_value(point: Point, value: Value) -> Value:
    """The canonical ``value`` as the device expects it; ValueError with the reason."""
    if point.type == "bool" and not isinstance(value, bool):
        raise ValueError(f"point {point.name} takes true or false, not {value!r}")
    if point.type == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise ValueError(f"point {point.name} takes a number, not {value!r}")
        if (point.low is not None and value < point.low) or (
                point.high is not None and value > point.high):
            raise ValueError(f"{value} is outside the valid range [{point.low}, {point.high}]")
    if point.type == "text" and not isinstance(value, str):
        raise ValueError(f"point {point.name} takes text, not {value!r}")
    if point.value_map:
        for vendor, canonical in point.value_map.items():
            if canonical == value and type(canonical) is type(value):
                return vendor
    if point.type == "number" and (point.scale != 1.0 or point.offset != 0.0):
        return (value - point.offset) / point.scale  # type: ignore[operator]
    return value


def encode_command(
    device: Device, point_name: str, canonical_value: Value, encoder: EncodeFn | None
) -> list[OutgoingMessage]:
    """The messages that set ``point_name`` of ``device`` to ``canonical_value``.

    Raises :class:`PointNotWritable`, :class:`NoCommands`, ``ValueError`` (a value of
    the wrong type or out of range) or ``EncodeError``, each with the reason.
    """
    point = device.point(point_name)
    if point is None or not point.writable:
        writable = ", ".join(p.name for p in device.points if p.writable) or "none"
        raise PointNotWritable(f"point {point_name!r} of {device.id} takes no commands; "
                               f"points that do: {writable}")
    if encoder is None:
        raise NoCommands(f"the {device.bridge_format} bridge of {device.id} takes no commands")
    return encoder(Command(device.source, point.path, vendor_value(point, canonical_value)))


class CommandSender:
    """``send_command`` for the outbox dispatcher: look the device up, encode, publish.

    The lookups are callables rather than objects so that a hot reload (new registry,
    new decoders) is seen by the next command without rewiring anything.
    """

    def __init__(
        self,
        device: Callable[[str], Device | None],
        encoder_for: Callable[[str], EncodeFn | None],
        publish: Callable[[Sequence[OutgoingMessage]], Awaitable[None]],
    ) -> None:
        self._device = device
        self._encoder_for = encoder_for
        self._publish = publish

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> CommandSender:
        """Commands through a running gateway's registry, bridges and MQTT client."""
        return cls(
            lambda device_id: runtime.pipeline.registry.get(device_id),
            lambda bridge_id: getattr(runtime.decoder_for(bridge_id), "encode", None),
            runtime.intake.publish,
        )

    async def __call__(self, device_id: str, point: str, value: Value) -> None:
        """Publish the command; raises LookupError, CommandRejected, EncodeError or
        ConnectionError (not connected: the outbox retries later)."""
        device = self._device(device_id)
        if device is None:
            raise LookupError(f"no device {device_id!r} in the running configuration")
        messages = encode_command(device, point, value, self._encoder_for(device.bridge_id))
        await self._publish(messages)
