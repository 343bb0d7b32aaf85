"""Normalised records the registry hands to the rules and the stores."""

from __future__ import annotations

from dataclasses import dataclass

from devices.kinds import PointType

Value = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    path: str
    type: PointType
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0


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
