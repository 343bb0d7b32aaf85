"""From raw MQTT messages to rule actions: decode, resolve the device, read points, run rules.

This part is synchronous and pure apart from the engine's state, so it can be fed
recorded traffic in tests and replays. Storing the actions is the caller's job.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from devices.records import Reading
from devices.registry import DeviceRegistry
from firmware_bridge.base import DecodeError, Decoder
from firmware_bridge.records import (
    AvailabilityUpdate,
    BridgeStatus,
    Ignored,
    RawMessage,
    StateUpdate,
)
from rules.actions import Action
from rules.engine import RuleEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message Palier could not use, kept for the installer with its reason."""

    topic: str
    reason: str
    payload: bytes
    at: float


@dataclass
class PipelineStats:
    received: int = 0
    readings: int = 0
    availability: int = 0
    ignored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    unclaimed: Counter[str] = field(default_factory=Counter)
    unrouted: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "received": self.received,
            "readings": self.readings,
            "availability": self.availability,
            "ignored": self.ignored,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(self.rejected.most_common(20)),
            "unclaimed_sources": dict(self.unclaimed.most_common(20)),
            "unrouted": self.unrouted,
        }


@dataclass
class DeviceHealth:
    online: bool | None = None
    last_seen: float | None = None


class Pipeline:
    def __init__(
        self,
        routes: Sequence[tuple[str, Decoder]],
        registry: DeviceRegistry,
        engine: RuleEngine,
        *,
        dead_letter_capacity: int = 500,
    ) -> None:
        self._routes = tuple(routes)
        self.registry = registry
        self.engine = engine
        self.stats = PipelineStats()
        self.dead_letters: deque[DeadLetter] = deque(maxlen=dead_letter_capacity)
        self.health: dict[str, DeviceHealth] = {d.id: DeviceHealth() for d in registry}
        self.bridges_online: dict[str, bool] = {}
        self.last_values: dict[tuple[str, str], Reading] = {}

    def _reject(self, message: RawMessage, reason: str) -> None:
        self.stats.rejected[reason.split(":", 1)[0]] += 1
        self.dead_letters.append(DeadLetter(message.topic, reason, message.payload[:1024],
                                            message.received_at))
        log.warning("rejected %s: %s", message.topic, reason)

    def process(self, messages: Sequence[RawMessage]) -> list[Action]:
        actions: list[Action] = []
        for message in messages:
            actions.extend(self.process_one(message))
        return actions

    def process_one(self, message: RawMessage) -> list[Action]:
        self.stats.received += 1
        for bridge_id, decoder in self._routes:
            try:
                decoded = decoder.decode(message)
            except DecodeError as exc:
                self._reject(message, exc.reason)
                return []
            if decoded is not None:
                return self._handle(bridge_id, decoded, message)
        self.stats.unrouted += 1
        return []

    def _handle(self, bridge_id: str, decoded: object, message: RawMessage) -> list[Action]:
        at = message.received_at
        if isinstance(decoded, StateUpdate):
            device = self.registry.lookup(bridge_id, decoded.source)
            if device is None:
                self.stats.unclaimed[f"{bridge_id}/{decoded.source}"] += 1
                return []
            health = self.health[device.id]
            health.last_seen = at
            if health.online is None:
                health.online = True
            readings, rejected = self.registry.readings(device, decoded.values, at)
            for r in rejected:
                self._reject(message, f"bad value: {r.reason}")
            actions: list[Action] = []
            for reading in readings:
                self.stats.readings += 1
                self.last_values[(reading.device_id, reading.point)] = reading
                actions.extend(self.engine.on_reading(reading))
            return actions
        if isinstance(decoded, AvailabilityUpdate):
            device = self.registry.lookup(bridge_id, decoded.source)
            if device is None:
                self.stats.unclaimed[f"{bridge_id}/{decoded.source}"] += 1
                return []
            self.stats.availability += 1
            health = self.health[device.id]
            health.online, health.last_seen = decoded.online, at
            return []
        if isinstance(decoded, BridgeStatus):
            self.bridges_online[bridge_id] = decoded.online
            return []
        if isinstance(decoded, Ignored):
            self.stats.ignored += 1
        return []
