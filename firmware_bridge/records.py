"""Frozen records that travel through the pipeline, from the socket to the rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: A scalar value as firmware reports it, after JSON decoding.
Scalar = bool | int | float | str | None


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One MQTT message as the broker delivered it.

    ``dup`` and ``mid`` (the DUP flag and packet id of a QoS 1/2 delivery) let the gateway
    recognise a redelivery of a message it already stored (gateway.redelivery).
    """

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    received_at: float = 0.0
    dup: bool = False
    mid: int | None = None


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """A device reported values; keys are dotted paths into its payload (``env.temp``)."""

    source: str
    values: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AvailabilityUpdate:
    """A device went online or offline, as its bridge says."""

    source: str
    online: bool


@dataclass(frozen=True, slots=True)
class BridgeStatus:
    """The bridge itself (not one of its devices) went online or offline."""

    online: bool


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """Something happened at a device (intercom: ``call``, ``door_opened``, ...), not a state."""

    source: str
    event: str
    data: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ignored:
    """A message the family knows and deliberately skips (bridge logs, config echoes)."""

    reason: str


Decoded = StateUpdate | AvailabilityUpdate | BridgeStatus | DeviceEvent | Ignored


@dataclass(frozen=True, slots=True)
class Command:
    """Set a point of a device: ``path`` is the point's vendor path, ``value`` the vendor value."""

    source: str
    path: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """An MQTT message Palier publishes (a device command), at QoS 1 by default."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False
