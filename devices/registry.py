"""Which device a bridge message is about, and its points' values in Palier's vocabulary."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from devices.kinds import KINDS
from devices.records import Device, Point, Reading, Value
from devices.schema import BridgeFile, DeviceSpec
from firmware_bridge.records import Scalar


@dataclass(frozen=True, slots=True)
class PointRejection:
    device_id: str
    point: str
    reason: str


def _points(spec: DeviceSpec) -> tuple[Point, ...]:
    merged: dict[str, Point] = {
        p.name: Point(p.name, p.name, p.type, p.unit) for p in KINDS[spec.kind]
    }
    for name, ps in spec.points.items():
        base = merged.get(name)
        merged[name] = Point(
            name=name,
            path=ps.path or (base.path if base else name),
            type=ps.type or (base.type if base else "number"),
            unit=ps.unit if ps.unit is not None else (base.unit if base else ""),
            scale=ps.scale,
            offset=ps.offset,
        )
    return tuple(merged.values())


def device_from_spec(bridge_id: str, spec: DeviceSpec) -> Device:
    return Device(
        id=spec.id,
        bridge_id=bridge_id,
        source=spec.source,
        kind=spec.kind,
        place_id=spec.place,
        name=spec.name or spec.id,
        points=_points(spec),
        offline_after=spec.offline_after,
    )


def coerce(point: Point, raw: Scalar) -> Value:
    """The value of ``raw`` for ``point``'s type; raises ``ValueError`` with the reason."""
    if point.type == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.upper() in ("ON", "OFF"):
            return raw.upper() == "ON"
        raise ValueError(f"point {point.name} expects true or false, got {raw!r}")
    if point.type == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError(f"point {point.name} expects a number, got {raw!r}")
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueError(f"point {point.name} got a non-finite number")
        if point.scale == 1.0 and point.offset == 0.0:
            return raw
        return raw * point.scale + point.offset
    if isinstance(raw, str):
        return raw
    raise ValueError(f"point {point.name} expects text, got {raw!r}")


class DeviceRegistry:
    """Devices by id and by (bridge, source name); built once per configuration."""

    def __init__(self, bridges: Iterable[BridgeFile]) -> None:
        self._by_id: dict[str, Device] = {}
        self._by_source: dict[tuple[str, str], Device] = {}
        for bridge_file in bridges:
            for spec in bridge_file.devices:
                device = device_from_spec(bridge_file.bridge.id, spec)
                self._by_id[device.id] = device
                self._by_source[(device.bridge_id, device.source)] = device

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Device]:
        return iter(self._by_id.values())

    def get(self, device_id: str) -> Device | None:
        return self._by_id.get(device_id)

    def lookup(self, bridge_id: str, source: str) -> Device | None:
        return self._by_source.get((bridge_id, source))

    @staticmethod
    def readings(
        device: Device, values: Mapping[str, Scalar], at: float
    ) -> tuple[list[Reading], list[PointRejection]]:
        """The device's declared points found in ``values``; other keys are ignored."""
        readings: list[Reading] = []
        rejected: list[PointRejection] = []
        for point in device.points:
            if point.path not in values:
                continue
            raw = values[point.path]
            if raw is None:
                continue
            try:
                readings.append(Reading(device.id, point.name, coerce(point, raw), at))
            except ValueError as exc:
                rejected.append(PointRejection(device.id, point.name, str(exc)))
        return readings, rejected
