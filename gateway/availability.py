"""Availability that tells the truth: unknown until heard from, then online or offline.

Two signals: each family's own (last will, status or availability topic) and a
heartbeat budget per device (``offline_after``, defaulting to the kind's). Every
change is an ``AvailabilityChange`` the rules can use.
"""

from __future__ import annotations

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
    def __init__(self, devices: list[Device], previous: dict[str, DeviceHealth] | None = None):
        previous = previous or {}
        self.health = {d.id: previous.get(d.id) or DeviceHealth() for d in devices}
        self._budget = {d.id: d.offline_after for d in devices if d.offline_after}

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
        self.health[device_id].last_seen = at
        return self._set(device_id, "online", at, "traffic")

    def reported(self, device_id: str, online: bool, at: float) -> AvailabilityChange | None:
        """The bridge's own signal (last will, status topic)."""
        if online:
            self.health[device_id].last_seen = at
        return self._set(device_id, "online" if online else "offline", at, "bridge")

    def check_heartbeats(self, now: float) -> list[AvailabilityChange]:
        changes = []
        for device_id, budget in self._budget.items():
            health = self.health[device_id]
            if (health.state == "online" and health.last_seen is not None
                    and now - health.last_seen > budget):
                change = self._set(device_id, "offline", now, "heartbeat")
                if change is not None:
                    changes.append(change)
        return changes
