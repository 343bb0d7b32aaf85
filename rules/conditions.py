"""Per-device condition trackers: the truth of one condition for one device, over time.

A tracker is pure: it reads and updates a plain ``dict`` (its persisted state) and
returns whether the condition is true now, with the evidence. The engine owns
what truth means for alarms (``for``, clear, cooldown, counting devices).
"""

from __future__ import annotations

import math
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from devices.records import Device, Event, Reading
from rules.actions import Evidence
from rules.schema import (
    BatteryLowCondition,
    EventCondition,
    OfflineCondition,
    PointCondition,
)

DeviceConditionModel = PointCondition | OfflineCondition | BatteryLowCondition | EventCondition
State = MutableMapping[str, Any]


@dataclass(frozen=True, slots=True)
class Truth:
    """The condition's truth after an input; ``evidence`` says why when it is true."""

    true: bool
    at: float
    evidence: Evidence | None = None


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def watched_points(condition: DeviceConditionModel) -> tuple[str, ...]:
    """The points whose readings can change the condition."""
    if isinstance(condition, PointCondition):
        return (condition.point,)
    if isinstance(condition, BatteryLowCondition):
        return ("battery_low", "battery")
    return ()


def on_reading(condition: DeviceConditionModel, device: Device, state: State,
               reading: Reading) -> Truth | None:
    """Update ``state`` with a reading; the new truth, or None if the reading is irrelevant."""
    if isinstance(condition, PointCondition):
        return _point_reading(condition, device, state, reading)
    if isinstance(condition, BatteryLowCondition):
        values = state.setdefault("values", {})
        values[reading.point] = reading.value
        battery = values.get("battery")
        low = values.get("battery_low") is True or (
            isinstance(battery, int | float) and not isinstance(battery, bool)
            and battery < condition.below)
        what = f"battery_low = {_show(values.get('battery_low'))}, battery = {_show(battery)}"
        state["cond"] = low
        return Truth(low, reading.at,
                     Evidence(device.id, what, reading.at, condition.describe()) if low else None)
    return None


def _point_reading(condition: PointCondition, device: Device, state: State,
                   reading: Reading) -> Truth:
    value, at = reading.value, reading.at
    previous, previous_at = state.get("last_value"), state.get("last_at")
    state["last_value"], state["last_at"] = value, at
    test = condition.test_name
    if test == "missing":
        state["cond"] = False
        return Truth(False, at)
    if test == "changed":
        true = previous_at is not None and previous != value
    elif test == "rate":
        true = False
        rate = condition.rate
        if (rate is not None and previous_at is not None and at > previous_at
                and isinstance(value, int | float) and isinstance(previous, int | float)
                and not isinstance(value, bool) and not isinstance(previous, bool)):
            per_period = (value - previous) / (at - previous_at) * rate.per
            if math.isfinite(per_period):
                true = (per_period > rate.above if rate.above is not None
                        else per_period < rate.below)  # type: ignore[operator]
    else:
        true = condition.test(value, was_true=bool(state.get("cond")))
    state["cond"] = true
    evidence = None
    if true:
        evidence = Evidence(device.id, f"{reading.point} = {_show(value)}", at,
                            condition.describe(), value)
    return Truth(true, at, evidence)


def on_event(condition: DeviceConditionModel, device: Device, state: State,
             event: Event) -> Truth | None:
    if not isinstance(condition, EventCondition) or event.event != condition.event:
        return None
    for path, expected in condition.match.items():
        got = event.data.get(path)
        if got != expected and str(got) != str(expected):
            return None
    state["event_at"] = event.at
    state["event"] = {"name": event.event, "data": dict(event.data)}
    detail = ", ".join(f"{k}={_show(v)}" for k, v in sorted(event.data.items()))
    what = f"event {event.event}" + (f" ({detail})" if detail else "")
    return Truth(True, event.at, Evidence(device.id, what, event.at, condition.describe()))


def on_availability(condition: DeviceConditionModel, device: Device, state: State,
                    online: bool, at: float) -> Truth | None:
    """Availability feeds ``offline_for``: the clock starts when the device goes offline."""
    if not isinstance(condition, OfflineCondition):
        return None
    if online:
        state["offline_since"] = None
        state["cond"] = False
        return Truth(False, at)
    state.setdefault("offline_since", None)
    if state["offline_since"] is None:
        state["offline_since"] = at
    return None  # true only once offline_for has passed: see on_tick


def on_tick(condition: DeviceConditionModel, device: Device, state: State,
            now: float) -> Truth | None:
    """Conditions of silence become true with time alone (offline_for, missing)."""
    if isinstance(condition, OfflineCondition):
        since = state.get("offline_since")
        if since is not None and not state.get("cond") and now - since >= condition.offline_for:
            state["cond"] = True
            return Truth(True, since + condition.offline_for,
                         Evidence(device.id, "offline", since, condition.describe()))
        return None
    if isinstance(condition, PointCondition) and condition.missing is not None:
        last = state.get("last_at")
        if last is None:
            last = state.setdefault("watch_since", now)
        if not state.get("cond") and now - last >= condition.missing:
            state["cond"] = True
            at = last + condition.missing
            return Truth(True, at, Evidence(device.id, f"no {condition.point} reading", at,
                                            condition.describe()))
    return None
