"""Normalised records the registry hands to the rules and the stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from devices.kinds import PointType

Value = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Point:
    """A canonical point and how to read it from the vendor's payload.

    ``scale``/``offset`` already include any unit conversion, folded at load time.
    """

    name: str
    path: str
    type: PointType
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0
    value_map: Mapping[str, Value] | None = None
    low: float | None = None
    high: float | None = None
    writable: bool = False


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    bridge_id: str
    source: str
    kind: str
    place_id: str
    name: str
    points: tuple[Point, ...]
    offline_after: float | None = None
    bridge_format: str = ""

    def point(self, name: str) -> Point | None:
        return next((p for p in self.points if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Reading:
    """One point's value from one device, at the gateway's receive time (epoch seconds)."""

    device_id: str
    point: str
    value: Value
    at: float


@dataclass(frozen=True, slots=True)
class Availability:
    device_id: str
    online: bool
    at: float


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at a device (intercom call, door opened, ...)."""

    device_id: str
    event: str
    data: Mapping[str, Value | None]
    at: float
