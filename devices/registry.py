"""Which device a bridge message is about, and its points' values in Palier's vocabulary."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from devices.kinds import KINDS, PointDef
from devices.records import Device, Point, Reading, Value
from devices.schema import BridgeFile, DeviceSpec, PointSpec
from devices.units import converter
from firmware_bridge.records import Scalar


@dataclass(frozen=True, slots=True)
class PointRejection:
    device_id: str
    point: str
    reason: str


def _point(name: str, spec: PointSpec | None, base: PointDef | None) -> Point:
    unit = (spec.unit if spec and spec.unit is not None else None) or (base.unit if base else "")
    scale = spec.scale if spec else 1.0
    offset = spec.offset if spec else 0.0
    if spec and spec.from_unit and unit and spec.from_unit != unit:
        factor, shift = converter(spec.from_unit, unit)
        # vendor -> canonical: (v * factor + shift), then the installer's scale/offset
        scale, offset = factor * scale, shift * scale + offset
    low, high = spec.range if spec and spec.range else (None, None)
    return Point(
        name=name,
        path=(spec.path if spec and spec.path else None) or name,
        type=(spec.type if spec and spec.type else None) or (base.type if base else "number"),
        unit=unit,
        scale=scale,
        offset=offset,
        value_map=dict(spec.map) if spec and spec.map else None,
        low=low,
        high=high,
        writable=base.writable if base else False,
    )


def _points(spec: DeviceSpec) -> tuple[Point, ...]:
    kind = KINDS[spec.kind]
    merged = {p.name: _point(p.name, spec.points.get(p.name), p) for p in kind}
    for name, point_spec in spec.points.items():
        if name not in merged:
            merged[name] = _point(name, point_spec, None)
    return tuple(merged.values())


def device_from_spec(bridge_id: str, spec: DeviceSpec, bridge_format: str = "") -> Device:
    offline_after = spec.offline_after
    if offline_after is None:
        offline_after = KINDS[spec.kind].offline_after
    return Device(
        id=spec.id,
        bridge_id=bridge_id,
        source=spec.source,
        kind=spec.kind,
        place_id=spec.place,
        name=spec.name or spec.id,
        points=_points(spec),
        offline_after=offline_after,
        bridge_format=bridge_format,
    )


_BOOL_WORDS = {"ON": True, "OFF": False, "TRUE": True, "FALSE": False, "OPEN": True,
               "CLOSED": False}


def coerce(point: Point, raw: Scalar) -> Value:
    """The canonical value of ``raw`` for ``point``; raises ``ValueError`` with the reason.

    Order: the installer's value map, the type check, unit conversion/scale/offset,
    the valid range. Nothing out of range or of the wrong type becomes a reading.
    """
    if point.value_map is not None:
        key = _map_key(raw)
        if key in point.value_map:
            raw = point.value_map[key]
    if point.type == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.upper() in _BOOL_WORDS:
            return _BOOL_WORDS[raw.upper()]
        raise ValueError(f"point {point.name} expects true or false, got {raw!r}")
    if point.type == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"point {point.name} expects a number, got {raw!r}")
        if not math.isfinite(raw):
            raise ValueError(f"point {point.name} got a non-finite number")
        value: float | int = raw
        if point.scale != 1.0 or point.offset != 0.0:
            value = raw * point.scale + point.offset
        if (point.low is not None and value < point.low) or (
                point.high is not None and value > point.high):
            raise ValueError(
                f"point {point.name}: {value:g}{point.unit and ' ' + point.unit} is outside "
                f"its valid range [{point.low:g}, {point.high:g}]")
        return value
    if isinstance(raw, str):
        return raw
    raise ValueError(f"point {point.name} expects text, got {raw!r}")


def _map_key(raw: Scalar) -> str:
    """YAML map keys are text: ``true`` in a payload looks up ``"true"``."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


Converter = Callable[[Scalar], Value]


def point_converter(point: Point) -> Converter:
    """:func:`coerce` for one point, its branches and constants chosen once: the same
    values and the same errors, for the readings the registry converts by the thousand."""
    name = point.name
    if point.type == "bool":
        def convert(raw: Scalar) -> Value:
            if raw is True or raw is False:
                return raw
            if isinstance(raw, str) and raw.upper() in _BOOL_WORDS:
                return _BOOL_WORDS[raw.upper()]
            raise ValueError(f"point {name} expects true or false, got {raw!r}")
    elif point.type == "number":
        scale, offset, low, high, unit = (point.scale, point.offset, point.low, point.high,
                                          point.unit)
        same = scale == 1.0 and offset == 0.0
        bounded = low is not None or high is not None

        def convert(raw: Scalar) -> Value:
            kind = raw.__class__
            if kind is not float and kind is not int and (
                    isinstance(raw, bool) or not isinstance(raw, int | float)):
                raise ValueError(f"point {name} expects a number, got {raw!r}")
            if not math.isfinite(raw):  # type: ignore[arg-type]
                raise ValueError(f"point {name} got a non-finite number")
            value: float | int = raw if same else raw * scale + offset  # type: ignore[operator]
            if bounded and ((low is not None and value < low)
                            or (high is not None and value > high)):
                raise ValueError(
                    f"point {name}: {value:g}{unit and ' ' + unit} is outside "
                    f"its valid range [{low:g}, {high:g}]")
            return value
    else:
        def convert(raw: Scalar) -> Value:
            if isinstance(raw, str):
                return raw
            raise ValueError(f"point {name} expects text, got {raw!r}")
    value_map = point.value_map
    if value_map is None:
        return convert

    def mapped(raw: Scalar) -> Value:
        key = _map_key(raw)
        if key in value_map:
            raw = value_map[key]  # type: ignore[assignment]
        return convert(raw)

    return mapped


#: How a device's points are read from a payload: (path, point name, converter).
Plan = tuple[tuple[str, str, Converter], ...]


def plan_of(device: Device) -> Plan:
    return tuple((p.path, p.name, point_converter(p)) for p in device.points)


def _identity(points: tuple[Point, ...]) -> tuple[object, ...]:
    """What makes two devices' points read alike (a value map is a dict: as items)."""
    return tuple((p.name, p.path, p.type, p.unit, p.scale, p.offset,
                  tuple(p.value_map.items()) if p.value_map is not None else None,
                  p.low, p.high, p.writable) for p in points)


class DeviceRegistry:
    """Devices by id and by (bridge, source name); built once per configuration."""

    def __init__(self, bridges: Iterable[BridgeFile]) -> None:
        self._by_id: dict[str, Device] = {}
        self._by_source: dict[tuple[str, str], Device] = {}
        self._plans: dict[str, Plan] = {}
        # Devices of one kind mostly read alike: they share their points and plan, which
        # at 10,000 devices is megabytes of identical objects not kept.
        shared: dict[tuple[object, ...], tuple[tuple[Point, ...], Plan]] = {}
        for bridge_file in bridges:
            for spec in bridge_file.devices:
                device = device_from_spec(bridge_file.bridge.id, spec,
                                          bridge_file.bridge.format)
                key = _identity(device.points)
                found = shared.get(key)
                if found is None:
                    found = shared[key] = (device.points, plan_of(device))
                elif found[0] is not device.points:
                    device = dataclasses.replace(device, points=found[0])
                self._by_id[device.id] = device
                self._by_source[(device.bridge_id, device.source)] = device
                self._plans[device.id] = found[1]

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Device]:
        return iter(self._by_id.values())

    def get(self, device_id: str) -> Device | None:
        return self._by_id.get(device_id)

    def lookup(self, bridge_id: str, source: str) -> Device | None:
        return self._by_source.get((bridge_id, source))

    def readings(
        self, device: Device, values: Mapping[str, Scalar], at: float
    ) -> tuple[list[Reading], list[PointRejection]]:
        """The device's declared points found in ``values``; other keys are ignored."""
        device_id = device.id
        plan = self._plans.get(device_id)
        if plan is None or self._by_id.get(device_id) is not device:
            plan = plan_of(device)  # a device from elsewhere: read it all the same
        readings: list[Reading] = []
        rejected: list[PointRejection] = []
        get = values.get
        for path, name, convert in plan:
            raw = get(path)
            if raw is None:
                continue
            try:
                readings.append(Reading(device_id, name, convert(raw), at))
            except ValueError as exc:
                rejected.append(PointRejection(device_id, name, str(exc)))
        return readings, rejected
