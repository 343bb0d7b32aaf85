"""The vocabulary of device kinds and the points each one has by default.

Kinds are plain data composed from small point builders, in the spirit of
zigbee-herdsman-converters' ``extend: [temperature(), battery()]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PointType = Literal["bool", "number", "text"]


@dataclass(frozen=True, slots=True)
class PointDef:
    name: str
    type: PointType
    unit: str = ""


def water_leak() -> PointDef:
    return PointDef("water_leak", "bool")


def temperature() -> PointDef:
    return PointDef("temperature", "number", "°C")


def humidity() -> PointDef:
    return PointDef("humidity", "number", "%")


def battery() -> PointDef:
    return PointDef("battery", "number", "%")


def battery_low() -> PointDef:
    return PointDef("battery_low", "bool")


def tamper() -> PointDef:
    return PointDef("tamper", "bool")


def contact() -> PointDef:
    return PointDef("contact", "bool")


def occupancy() -> PointDef:
    return PointDef("occupancy", "bool")


def lift_running() -> PointDef:
    return PointDef("running", "bool")


def lift_fault() -> PointDef:
    return PointDef("fault", "bool")


def power() -> PointDef:
    return PointDef("power", "number", "W")


def state_text() -> PointDef:
    return PointDef("state", "text")


KINDS: dict[str, tuple[PointDef, ...]] = {
    "water_leak_sensor": (water_leak(), battery(), battery_low(), tamper(), temperature()),
    "temperature_sensor": (temperature(), humidity(), battery()),
    "lift_monitor": (lift_running(), lift_fault(), state_text()),
    "door_sensor": (contact(), battery()),
    "motion_sensor": (occupancy(), battery()),
    "energy_meter": (power(),),
    "generic": (),
}
