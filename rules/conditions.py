"""Per-device condition trackers: the truth of one condition for one device, over time.

A tracker is compiled once per rule binding (:func:`tracker_for`) and is pure: it
reads and updates a plain ``dict`` (one device's state) and returns whether the
condition is true now, with the evidence. The engine owns what truth means for
alarms (``for``, clear, cooldown, counting devices).

Each call also says whether the part of the state a *restart* needs changed
(``Step.saved``), and :meth:`Tracker.saved` gives that part alone. Most readings
change nothing a restart needs — a temperature that stays above its threshold only
moves ``last_value`` — so the engine stores a rule state only when it matters:
a condition turning true or false, an offline clock starting, an event, the
previous value of a ``changed`` or ``rate`` test. The one approximation: the time
of the last reading of a ``missing`` test is saved at most every
:data:`MISSING_SAVE_EVERY` seconds (or a tenth of the silence, if shorter), so
after a crash its silence may be counted from up to that much earlier.
"""

from __future__ import annotations

import math
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from devices.records import Device, Event, Reading
from rules.actions import Evidence
from rules.schema import (
    BatteryLowCondition,
    EventCondition,
    OfflineCondition,
    PointCondition,
    ValueTest,
    _same,
)

DeviceConditionModel = PointCondition | OfflineCondition | BatteryLowCondition | EventCondition
State = MutableMapping[str, Any]

#: The longest a ``missing`` test's saved last-reading time may lag the live one.
MISSING_SAVE_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class Truth:
    """The condition's truth after an input; ``evidence`` says why when it is true."""

    true: bool
    at: float
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """What one input did: the new truth (None: the input does not bear on it) and
    whether the state a restart needs changed (``saved``)."""

    truth: Truth | None
    saved: bool


_IRRELEVANT = Step(None, False)
# A reading that leaves the condition false: shared, since the engine takes the time
# from the reading itself (these carry 0).
_FALSE = Step(Truth(False, 0.0), False)
_FALSE_SAVED = Step(Truth(False, 0.0), True)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compile_test(condition: ValueTest) -> Callable[[object, bool], bool]:
    """``condition.test`` as a closure over its operands, for the tests a reading is put
    to thousands of times a second; the same answers (rules.schema.ValueTest.test)."""
    if condition.is_ is not None:
        expected = condition.is_
        if isinstance(expected, bool):
            return lambda value, _was: value is expected
        return lambda value, _was: _same(value, expected)
    h = condition.hysteresis
    if condition.above is not None:
        above = condition.above
        return lambda value, was: _is_number(value) and value > above - (h if was else 0.0)  # type: ignore[operator]
    if condition.below is not None:
        below = condition.below
        return lambda value, was: _is_number(value) and value < below + (h if was else 0.0)  # type: ignore[operator]
    if condition.between is not None:
        low, high = condition.between
        return lambda value, was: _is_number(value) and (  # type: ignore[operator]
            low - (h if was else 0.0) <= value <= high + (h if was else 0.0))
    return condition.test


class Tracker:
    """The default: a condition that no input bears on."""

    __slots__ = ("condition", "description", "watched")

    def __init__(self, condition: DeviceConditionModel, watched: tuple[str, ...] = ()) -> None:
        self.condition = condition
        self.description = condition.describe()
        #: The points whose readings can change the condition.
        self.watched = watched

    def on_reading(self, device_id: str, state: State, reading: Reading) -> Step:
        """A reading of a watched point; the truth's time is the reading's (the engine
        takes it from the reading)."""
        return _IRRELEVANT

    def on_event(self, device_id: str, state: State, event: Event) -> Step:
        return _IRRELEVANT

    def on_availability(self, device_id: str, state: State, online: bool, at: float) -> Step:
        return _IRRELEVANT

    def on_tick(self, device_id: str, state: State, now: float) -> Step:
        return _IRRELEVANT

    def saved(self, state: State) -> dict[str, Any]:
        """The part of ``state`` a restart needs; empty when a fresh state would do."""
        return {"cond": True} if state.get("cond") else {}


class PointTracker(Tracker):
    """``point`` tested by its history (changed, rate, missing); see :class:`ValueTracker`
    for the tests of a value alone."""

    __slots__ = ("_missing", "_save_every", "_test", "point", "test_name")

    def __init__(self, condition: PointCondition) -> None:
        super().__init__(condition, (condition.point,))
        self.point = condition.point
        self.test_name = condition.test_name
        self._test = compile_test(condition)
        self._missing = condition.missing
        self._save_every = (min(MISSING_SAVE_EVERY, condition.missing / 10)
                            if condition.missing is not None else 0.0)

    def _evidence(self, device_id: str, reading: Reading) -> Evidence:
        return Evidence(device_id, f"{reading.point} = {_show(reading.value)}", reading.at,
                        self.description, reading.value)

    def on_reading(self, device_id: str, state: State, reading: Reading) -> Step:
        value, at = reading.value, reading.at
        test = self.test_name
        was = bool(state.get("cond"))
        if test == "missing":
            state["last_at"] = at
            state["cond"] = False
            saved = was
            if at - state.get("_saved_at", -math.inf) >= self._save_every:
                state["_saved_at"] = at
                saved = True
            return _FALSE_SAVED if saved else _FALSE
        if test == "changed":
            previous, previous_at = state.get("last_value"), state.get("last_at")
            state["last_value"], state["last_at"] = value, at
            true = previous_at is not None and previous != value
            saved = previous_at is None or previous != value or true != was
        elif test == "rate":
            previous, previous_at = state.get("last_value"), state.get("last_at")
            state["last_value"], state["last_at"] = value, at
            true = False
            rate = self.condition.rate  # type: ignore[union-attr]
            if (rate is not None and previous_at is not None and at > previous_at
                    and _is_number(value) and _is_number(previous)):
                per_period = (value - previous) / (at - previous_at) * rate.per  # type: ignore[operator]
                if math.isfinite(per_period):
                    true = (per_period > rate.above if rate.above is not None
                            else per_period < rate.below)  # type: ignore[operator]
            saved = True  # the next rate needs this value and time exactly
        else:
            true = self._test(value, was)
            saved = true != was
        state["cond"] = true
        if not true:
            return _FALSE_SAVED if saved else _FALSE
        return Step(Truth(True, at, self._evidence(device_id, reading)), saved)

    def on_tick(self, device_id: str, state: State, now: float) -> Step:
        """Silence makes ``missing`` true with time alone."""
        missing = self._missing
        if missing is None:
            return _IRRELEVANT
        last = state.get("last_at")
        saved = False
        if last is None:
            last = state.get("watch_since")
            if last is None:
                last = state["watch_since"] = now
                saved = True
        if not state.get("cond") and now - last >= missing:
            state["cond"] = True
            at = last + missing
            return Step(Truth(True, at, Evidence(device_id, f"no {self.point} reading", at,
                                                 self.description)), True)
        return Step(None, saved)

    def saved(self, state: State) -> dict[str, Any]:
        out: dict[str, Any] = {"cond": True} if state.get("cond") else {}
        test = self.test_name
        if test in ("changed", "rate"):
            if state.get("last_at") is not None:
                out["last_value"] = state.get("last_value")
                out["last_at"] = state["last_at"]
        elif test == "missing":
            for key in ("last_at", "watch_since"):
                if state.get(key) is not None:
                    out[key] = state[key]
        return out


class BatteryTracker(Tracker):
    """Low when ``battery_low`` is true or ``battery`` is below the threshold."""

    __slots__ = ("below",)

    def __init__(self, condition: BatteryLowCondition) -> None:
        super().__init__(condition, ("battery_low", "battery"))
        self.below = condition.below

    def _low_parts(self, values: dict[str, Any]) -> tuple[bool, bool]:
        battery = values.get("battery")
        return (values.get("battery_low") is True,
                _is_number(battery) and battery < self.below)

    def on_reading(self, device_id: str, state: State, reading: Reading) -> Step:
        values = state.setdefault("values", {})
        before = self._low_parts(values)
        values[reading.point] = reading.value
        after = self._low_parts(values)
        low = after[0] or after[1]
        state["cond"] = low
        if not low:
            return _FALSE_SAVED if after != before else _FALSE
        what = (f"battery_low = {_show(values.get('battery_low'))}, "
                f"battery = {_show(values.get('battery'))}")
        return Step(Truth(True, reading.at, Evidence(device_id, what, reading.at,
                                                     self.description)), after != before)

    def saved(self, state: State) -> dict[str, Any]:
        """Only the values that make the battery low: the others change nothing."""
        out: dict[str, Any] = {"cond": True} if state.get("cond") else {}
        values = state.get("values") or {}
        low, below = self._low_parts(values)
        kept = {}
        if low:
            kept["battery_low"] = True
        if below:
            kept["battery"] = values["battery"]
        if kept:
            out["values"] = kept
        return out


class OfflineTracker(Tracker):
    """Availability starts a clock when the device goes offline; time makes it true."""

    __slots__ = ("offline_for",)

    def __init__(self, condition: OfflineCondition) -> None:
        super().__init__(condition)
        self.offline_for = condition.offline_for

    def on_availability(self, device_id: str, state: State, online: bool, at: float) -> Step:
        if online:
            saved = state.get("offline_since") is not None or bool(state.get("cond"))
            state["offline_since"] = None
            state["cond"] = False
            return Step(Truth(False, at), saved)
        state.setdefault("offline_since", None)
        if state["offline_since"] is None:
            state["offline_since"] = at
            return Step(None, True)  # true only once offline_for has passed: see on_tick
        return _IRRELEVANT

    def on_tick(self, device_id: str, state: State, now: float) -> Step:
        since = state.get("offline_since")
        if since is not None and not state.get("cond") and now - since >= self.offline_for:
            state["cond"] = True
            return Step(Truth(True, since + self.offline_for,
                              Evidence(device_id, "offline", since, self.description)), True)
        return _IRRELEVANT

    def saved(self, state: State) -> dict[str, Any]:
        out: dict[str, Any] = {"cond": True} if state.get("cond") else {}
        if state.get("offline_since") is not None:
            out["offline_since"] = state["offline_since"]
        return out


class EventTracker(Tracker):
    """True at the moment of a matching event (for a count: while it is recent)."""

    __slots__ = ("event",)

    def __init__(self, condition: EventCondition) -> None:
        super().__init__(condition)
        self.event = condition.event

    def on_event(self, device_id: str, state: State, event: Event) -> Step:
        if event.event != self.event:
            return _IRRELEVANT
        for path, expected in self.condition.match.items():  # type: ignore[union-attr]
            got = event.data.get(path)
            if got != expected and str(got) != str(expected):
                return _IRRELEVANT
        state["event_at"] = event.at
        state["event"] = {"name": event.event, "data": dict(event.data)}
        detail = ", ".join(f"{k}={_show(v)}" for k, v in sorted(event.data.items()))
        what = f"event {event.event}" + (f" ({detail})" if detail else "")
        return Step(Truth(True, event.at, Evidence(device_id, what, event.at,
                                                   self.description)), True)

    def saved(self, state: State) -> dict[str, Any]:
        out: dict[str, Any] = {"cond": True} if state.get("cond") else {}
        if state.get("event_at") is not None:
            out["event_at"] = state["event_at"]
        if state.get("event") is not None:
            event = state["event"]
            out["event"] = {"name": event["name"], "data": dict(event["data"])}
        return out


class ValueTracker(PointTracker):
    """``point`` tested by value (is, in, above, below, between): the bulk of the rules."""

    __slots__ = ()

    def on_reading(self, device_id: str, state: State, reading: Reading) -> Step:
        was = bool(state.get("cond"))
        true = self._test(reading.value, was)
        state["cond"] = true
        if true:
            return Step(Truth(True, reading.at, self._evidence(device_id, reading)), not was)
        return _FALSE_SAVED if was else _FALSE


def tracker_for(condition: DeviceConditionModel) -> Tracker:
    """The compiled tracker of one condition (its test and description computed once)."""
    if isinstance(condition, PointCondition):
        if condition.test_name in ("changed", "rate", "missing"):
            return PointTracker(condition)
        return ValueTracker(condition)
    if isinstance(condition, BatteryLowCondition):
        return BatteryTracker(condition)
    if isinstance(condition, OfflineCondition):
        return OfflineTracker(condition)
    if isinstance(condition, EventCondition):
        return EventTracker(condition)
    return Tracker(condition)


def watched_points(condition: DeviceConditionModel) -> tuple[str, ...]:
    """The points whose readings can change the condition."""
    return tracker_for(condition).watched


# The functions below keep the original one-call-per-input interface, for callers
# that hold a condition rather than a compiled tracker.

def on_reading(condition: DeviceConditionModel, device: Device, state: State,
               reading: Reading) -> Truth | None:
    """Update ``state`` with a reading; the new truth, or None if the reading is irrelevant."""
    truth = tracker_for(condition).on_reading(device.id, state, reading).truth
    return None if truth is None else Truth(truth.true, reading.at, truth.evidence)


def on_event(condition: DeviceConditionModel, device: Device, state: State,
             event: Event) -> Truth | None:
    return tracker_for(condition).on_event(device.id, state, event).truth


def on_availability(condition: DeviceConditionModel, device: Device, state: State,
                    online: bool, at: float) -> Truth | None:
    """Availability feeds ``offline_for``: the clock starts when the device goes offline."""
    return tracker_for(condition).on_availability(device.id, state, online, at).truth


def on_tick(condition: DeviceConditionModel, device: Device, state: State,
            now: float) -> Truth | None:
    """Conditions of silence become true with time alone (offline_for, missing)."""
    return tracker_for(condition).on_tick(device.id, state, now).truth
