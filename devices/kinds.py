"""The vocabulary of device kinds and their canonical points.

In the spirit of Brick and Project Haystack, each kind says which points a
device of that kind has, with types and units, which of them accept commands,
and how long it may stay silent before it counts as offline. Kinds are plain
data composed from small point builders (as zigbee-herdsman-converters'
``extend: [temperature(), battery()]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

PointType = Literal["bool", "number", "text"]

MINUTE, HOUR = 60.0, 3600.0


@dataclass(frozen=True, slots=True)
class PointDef:
    name: str
    type: PointType
    unit: str = ""
    writable: bool = False


@dataclass(frozen=True, slots=True)
class KindDef:
    points: tuple[PointDef, ...]
    offline_after: float | None = None  # heartbeat budget, overridable per device
    events: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[PointDef]:
        return iter(self.points)

    def point(self, name: str) -> PointDef | None:
        return next((p for p in self.points if p.name == name), None)


def number(name: str, unit: str = "", *, writable: bool = False) -> PointDef:
    return PointDef(name, "number", unit, writable)


def flag(name: str, *, writable: bool = False) -> PointDef:
    return PointDef(name, "bool", "", writable)


def text(name: str) -> PointDef:
    return PointDef(name, "text")


def temperature(name: str = "temperature") -> PointDef:
    return number(name, "°C")


def humidity() -> PointDef:
    return number("humidity", "%")


def battery() -> tuple[PointDef, PointDef]:
    return number("battery", "%"), flag("battery_low")


def power() -> PointDef:
    return number("power", "W")


def energy() -> PointDef:
    return number("energy", "kWh")


KINDS: dict[str, KindDef] = {
    "water_leak_sensor": KindDef(
        (flag("water_leak"), *battery(), flag("tamper"), temperature()), 2 * HOUR),
    "temperature_sensor": KindDef((temperature(), humidity(), *battery()), HOUR),
    "co2_sensor": KindDef((number("co2", "ppm"), temperature(), humidity()), 30 * MINUTE),
    "smoke_detector": KindDef((flag("smoke"), *battery(), flag("tamper")), 6 * HOUR),
    "door_sensor": KindDef((flag("contact"), *battery()), 2 * HOUR),
    "motion_sensor": KindDef((flag("occupancy"), *battery()), 2 * HOUR),
    "garage_door": KindDef(
        (flag("open", writable=True), flag("moving"), flag("obstruction")), 30 * MINUTE),
    "lift_monitor": KindDef(
        (flag("running"), flag("fault"), text("state"), flag("door_open")), 15 * MINUTE),
    "boiler": KindDef(
        (temperature("flow_temperature"), temperature("return_temperature"),
         number("pressure", "bar"), flag("burner"), flag("fault"),
         number("setpoint", "°C", writable=True)), 15 * MINUTE),
    "pump": KindDef((flag("running", writable=True), flag("fault"), power()), 15 * MINUTE),
    "valve": KindDef((flag("open", writable=True), number("position", "%")), HOUR),
    "switch": KindDef((flag("state", writable=True), power(), energy()), 15 * MINUTE),
    "energy_meter": KindDef(
        (power(), energy(), number("voltage", "V"), number("current", "A")), 15 * MINUTE),
    "water_meter": KindDef((number("volume", "m³"), number("flow", "L/min")), HOUR),
    "intercom": KindDef((), None, ("call", "door_opened", "parcel_delivered", "badge_refused")),
    "generic": KindDef(()),
}
