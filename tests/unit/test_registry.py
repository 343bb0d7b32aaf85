"""Vendor values become canonical readings: maps, units, ranges, types, missing keys."""

from __future__ import annotations

import pytest

from devices.registry import DeviceRegistry
from devices.schema import BridgeFile


def registry(points: dict, kind: str = "temperature_sensor") -> DeviceRegistry:
    return DeviceRegistry([BridgeFile.model_validate({
        "bridge": {"id": "b", "format": "zigbee2mqtt"},
        "devices": [{"id": "d", "source": "s", "kind": kind, "place": "x", "points": points}],
    })])


def read(reg: DeviceRegistry, values: dict) -> tuple[dict, list[str]]:
    device = reg.get("d")
    assert device is not None
    readings, rejected = reg.readings(device, values, 10.0)
    return {r.point: r.value for r in readings}, [r.reason for r in rejected]


def test_fahrenheit_is_converted_to_celsius() -> None:
    reg = registry({"temperature": {"path": "temp_f", "from_unit": "°F"}})
    values, _ = read(reg, {"temp_f": 212})
    assert values["temperature"] == pytest.approx(100.0)


def test_watt_hours_become_kilowatt_hours_after_scale() -> None:
    reg = registry({"energy": {"path": "ENERGY.Total", "from_unit": "Wh"}}, kind="energy_meter")
    values, _ = read(reg, {"ENERGY.Total": 12500})
    assert values["energy"] == pytest.approx(12.5)


def test_a_value_map_turns_vendor_words_into_canonical_values() -> None:
    reg = registry({"state": {"path": "POWER", "map": {"ON": True, "OFF": False}}}, kind="switch")
    assert read(reg, {"POWER": "ON"})[0] == {"state": True}
    assert read(reg, {"POWER": "OFF"})[0] == {"state": False}


def test_a_reading_outside_its_range_is_rejected_with_a_reason() -> None:
    reg = registry({"temperature": {"range": [-30, 60]}})
    values, reasons = read(reg, {"temperature": 85.0, "humidity": 40})
    assert values == {"humidity": 40}
    assert reasons == ["point temperature: 85 °C is outside its valid range [-30, 60]"]


def test_a_reading_of_the_wrong_type_is_rejected_not_coerced() -> None:
    reg = registry({})
    values, reasons = read(reg, {"temperature": "warm"})
    assert values == {}
    assert reasons == ["point temperature expects a number, got 'warm'"]


def test_a_missing_key_is_no_reading_never_false() -> None:
    reg = registry({}, kind="water_leak_sensor")
    values, reasons = read(reg, {"battery": 90})
    assert values == {"battery": 90} and reasons == []
    assert "water_leak" not in values


def test_a_non_finite_number_is_rejected() -> None:
    values, reasons = read(registry({}), {"temperature": float("nan")})
    assert values == {} and "non-finite" in reasons[0]


def test_kind_defaults_give_a_heartbeat_budget_and_device_overrides_it() -> None:
    assert registry({}).get("d").offline_after == 3600.0
    reg = DeviceRegistry([BridgeFile.model_validate({
        "bridge": {"id": "b", "format": "zigbee2mqtt"},
        "devices": [{"id": "d", "source": "s", "kind": "temperature_sensor", "place": "x",
                     "offline_after": "5m"}],
    })])
    assert reg.get("d").offline_after == 300.0


def test_writable_points_come_from_the_kind() -> None:
    device = registry({}, kind="switch").get("d")
    assert device.point("state").writable and not device.point("power").writable
