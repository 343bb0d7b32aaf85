"""Availability that tells the truth: unknown until heard from, then online or offline.

Two signals: each family's own (last will, status or availability topic) and a
heartbeat budget per device (``offline_after``, defaulting to the kind's). Every
change is an ``AvailabilityChange`` the rules can use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from devices.records import Device

State = Literal["unknown", "online", "offline"]
Cause = Literal["bridge", "traffic", "heartbeat"]


@dataclass(frozen=True, slots=True)
class AvailabilityChange:
    device_id: str
    state: State
    previous: State
    at: float
    cause: Cause


@dataclass(slots=True)
class DeviceHealth:
    state: State = "unknown"
    last_seen: float | None = None
    since: float | None = None

    @property
    def online(self) -> bool | None:
        return None if self.state == "unknown" else self.state == "online"


class AvailabilityTracker:
    """Every device's health. Heartbeats are checked against a lower bound of the next
    deadline (``_due``), so a check with none due costs nothing instead of a walk over
    every device: a device's deadline only moves later as it is heard again, except when
    it comes online (or its clock steps back), which lowers the bound."""

    def __init__(self, devices: list[Device], previous: dict[str, DeviceHealth] | None = None):
        previous = previous or {}
        self.health = {d.id: previous.get(d.id) or DeviceHealth() for d in devices}
        self._budget = {d.id: d.offline_after for d in devices if d.offline_after}
        self._due = -math.inf  # no device goes offline by heartbeat before this time

    def _deadline(self, device_id: str, last_seen: float) -> None:
        budget = self._budget.get(device_id)
        if budget is not None and last_seen + budget < self._due:
            self._due = last_seen + budget

    def _set(self, device_id: str, state: State, at: float,
             cause: Cause) -> AvailabilityChange | None:
        health = self.health[device_id]
        if health.state == state:
            return None
        change = AvailabilityChange(device_id, state, health.state, at, cause)
        health.state, health.since = state, at
        return change

    def heard(self, device_id: str, at: float) -> AvailabilityChange | None:
        """A message from the device itself: it is evidently online."""
        health = self.health[device_id]
        previous = health.last_seen
        health.last_seen = at
        change = self._set(device_id, "online", at, "traffic")
        if change is not None or (previous is not None and at < previous):
            self._deadline(device_id, at)
        return change

    def reported(self, device_id: str, online: bool, at: float) -> AvailabilityChange | None:
        """The bridge's own signal (last will, status topic)."""
        health = self.health[device_id]
        previous = health.last_seen
        if online:
            health.last_seen = at
        change = self._set(device_id, "online" if online else "offline", at, "bridge")
        if online and (change is not None or (previous is not None and at < previous)):
            self._deadline(device_id, at)
        return change

    def check_heartbeats(self, now: float) -> list[AvailabilityChange]:
        changes: list[AvailabilityChange] = []
        if now <= self._due:
            return changes
        due = math.inf
        for device_id, budget in self._budget.items():
            health = self.health[device_id]
            if health.state == "online" and health.last_seen is not None:
                if now - health.last_seen > budget:
                    change = self._set(device_id, "offline", now, "heartbeat")
                    if change is not None:
                        changes.append(change)
                elif health.last_seen + budget < due:
                    due = health.last_seen + budget
        self._due = due
        return changes
