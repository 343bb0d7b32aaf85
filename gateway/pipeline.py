"""From raw MQTT messages to rule actions: decode, resolve the device, read points, run rules.

This part is synchronous and pure apart from the engine's state, so it can be fed
recorded traffic in tests and replays. Storing the actions is the caller's job.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from devices.records import Device, Event, Reading
from devices.registry import DeviceRegistry
from firmware_bridge.base import DecodeError, Decoder
from firmware_bridge.records import (
    AvailabilityUpdate,
    BridgeStatus,
    Decoded,
    DeviceEvent,
    RawMessage,
    StateUpdate,
)
from gateway.availability import AvailabilityChange, AvailabilityTracker, DeviceHealth
from gateway.flood import FloodGuard
from gateway.routing import TopicRouter
from gateway.traffic import TopicTraffic
from gateway.unclaimed import UnclaimedTraffic
from rules.actions import Action
from rules.engine import RuleEngine

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message Palier could not use, kept for the installer with its reason.

    ``device_id`` when the message was tied to a device (a bad value, a flood): the status
    API shows it only to the staff of that device's building.
    """

    topic: str
    reason: str
    payload: bytes
    at: float
    device_id: str | None = None


@dataclass
class PipelineStats:
    received: int = 0
    readings: int = 0
    availability: int = 0
    ignored: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    unclaimed: Counter[str] = field(default_factory=Counter)
    unrouted: int = 0
    events: int = 0
    #: Messages of devices another gateway worker owns, on a bridge both read (dropped).
    foreign: int = 0

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
            "events": self.events,
            "foreign": self.foreign,
        }


class Pipeline:
    def __init__(
        self,
        routes: Sequence[tuple[str, Decoder]],
        registry: DeviceRegistry,
        engine: RuleEngine,
        *,
        dead_letter_capacity: int = 500,
        flood: FloodGuard | None = None,
    ) -> None:
        self.stats = PipelineStats()
        self.dead_letters: deque[DeadLetter] = deque(maxlen=dead_letter_capacity)
        self.unclaimed = UnclaimedTraffic()
        #: Messages per topic, for the installer's live traffic view (bounded).
        self.traffic = TopicTraffic()
        self.events: deque[Event] = deque(maxlen=200)
        self.availability_changes: deque[AvailabilityChange] = deque(maxlen=500)
        self.bridges_online: dict[str, bool] = {}
        self.last_values: dict[tuple[str, str], Reading] = {}
        self.availability = AvailabilityTracker([])
        self._batch_readings: list[Reading] = []
        self.flood = flood or FloodGuard()
        #: (bridge, source) of devices other workers own (``--partition``): not unclaimed.
        self.foreign: frozenset[tuple[str, str]] = frozenset()
        self.reconfigure(routes, registry, engine)

    def reconfigure(
        self, routes: Sequence[tuple[str, Decoder]], registry: DeviceRegistry, engine: RuleEngine
    ) -> None:
        """Swap in a new configuration between two messages; device health carries over."""
        self._routes = tuple(routes)
        self._router = TopicRouter(self._routes)
        self.registry = registry
        self.engine = engine
        self.availability = AvailabilityTracker(list(registry), self.availability.health)
        for device in registry:
            self.unclaimed.forget(device.bridge_id, device.source)
        self.last_values = {k: v for k, v in self.last_values.items() if registry.get(k[0])}

    def take_readings(self) -> list[Reading]:
        """The readings accepted since the last call, for the telemetry stores."""
        readings, self._batch_readings = self._batch_readings, []
        return readings

    @property
    def routes(self) -> tuple[tuple[str, Decoder], ...]:
        """The bridges' decoders in routing order (read by the traffic view)."""
        return self._routes

    @property
    def health(self) -> dict[str, DeviceHealth]:
        return self.availability.health

    def _reject(self, message: RawMessage, reason: str, device_id: str | None = None) -> None:
        self.stats.rejected[reason.split(":", 1)[0]] += 1
        self.dead_letters.append(DeadLetter(message.topic, reason, message.payload[:1024],
                                            message.received_at, device_id))
        log.warning("rejected %s: %s", message.topic, reason)

    def process(self, messages: Sequence[RawMessage]) -> list[Action]:
        self.traffic.record(messages)
        actions: list[Action] = []
        for message in messages:
            actions.extend(self.process_one(message))
        return actions

    def process_one(self, message: RawMessage) -> list[Action]:
        """Route to the bridge whose device the message is about.

        Broad filters (``+/status``) can match several bridges: a record for a
        configured device wins over a decode error, which wins over a record for a
        source nobody claims (then listed as unclaimed traffic).
        """
        self.stats.received += 1
        error: DecodeError | None = None
        unclaimed: tuple[str, Decoded] | None = None
        for bridge_id, decoder in self._router.candidates(message.topic):
            try:
                decoded = decoder.decode(message)
            except DecodeError as exc:
                error = error or exc
                continue
            if decoded is None:
                continue
            source = getattr(decoded, "source", None)
            if source is None:
                return self._handle(bridge_id, decoded, message)
            device = self.registry.lookup(bridge_id, source)
            if device is not None:
                if not self.flood.allow(bridge_id, source, message.received_at):
                    self._flooded(bridge_id, source, message)
                    return []
                return self._handle(bridge_id, decoded, message, device)
            unclaimed = unclaimed or (bridge_id, decoded)
        if error is not None:
            self._reject(message, error.reason)
        elif unclaimed is not None:
            return self._handle(*unclaimed, message)
        else:
            self.stats.unrouted += 1
        return []

    def _flooded(self, bridge_id: str, source: str, message: RawMessage) -> None:
        self.stats.rejected["rate limited"] += 1
        if self.flood.should_report(bridge_id, source, message.received_at):
            refused = self.flood.refused[f"{bridge_id}/{source}"]
            device = self.registry.lookup(bridge_id, source)
            self._reject(message, f"rate limited: {bridge_id}/{source} sends more than "
                                  f"{self.flood.rate:g} messages/s ({refused} refused so far)",
                         device.id if device is not None else None)
            self.stats.rejected["rate limited"] -= 1  # _reject counted it once more

    def _note(self, change: AvailabilityChange | None) -> list[Action]:
        """Record an availability change and let the rules see it (``offline_for``)."""
        if change is None:
            return []
        self.availability_changes.append(change)
        # A device heard from is online: routine (every device at start-up), so quieter.
        log.log(logging.DEBUG if change.cause == "traffic" else logging.INFO,
                "device %s is %s (%s)", change.device_id, change.state, change.cause)
        if change.state == "unknown":
            return []
        return self.engine.on_availability(change.device_id, change.state == "online",
                                           change.at)

    def check_heartbeats(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for change in self.availability.check_heartbeats(now):
            actions += self._note(change)
        return actions

    def _device(self, bridge_id: str, source: str, message: RawMessage,
                found: Device | None = None) -> Device | None:
        device = found or self.registry.lookup(bridge_id, source)
        if device is None:
            if (bridge_id, source) in self.foreign:
                self.stats.foreign += 1
                return None
            self.stats.unclaimed[f"{bridge_id}/{source}"] += 1
            self.unclaimed.record(bridge_id, source, message.topic, message.payload,
                                  message.received_at)
        return device

    def _handle(self, bridge_id: str, decoded: Decoded, message: RawMessage,
                found: Device | None = None) -> list[Action]:
        """``found``: the device of ``decoded.source``, when the caller looked it up."""
        at = message.received_at
        if isinstance(decoded, StateUpdate):
            device = self._device(bridge_id, decoded.source, message, found)
            if device is None:
                return []
            change = self.availability.heard(device.id, at)
            actions = self._note(change) if change is not None else []
            readings, rejected = self.registry.readings(device, decoded.values, at)
            for r in rejected:
                self._reject(message, f"bad value: {r.reason}", device.id)
            if readings:
                self.stats.readings += len(readings)
                last_values = self.last_values
                for reading in readings:
                    last_values[(reading.device_id, reading.point)] = reading
                self._batch_readings += readings
                on_reading = self.engine.on_reading
                for reading in readings:
                    actions += on_reading(reading)
            return actions
        if isinstance(decoded, AvailabilityUpdate):
            device = self._device(bridge_id, decoded.source, message, found)
            if device is None:
                return []
            self.stats.availability += 1
            return self._note(self.availability.reported(device.id, decoded.online, at))
        if isinstance(decoded, DeviceEvent):
            device = self._device(bridge_id, decoded.source, message, found)
            if device is None:
                return []
            self.stats.events += 1
            event = Event(device.id, decoded.event, dict(decoded.data), at)
            self.events.append(event)
            return self._note(self.availability.heard(device.id, at)) + self.engine.on_event(event)
        if isinstance(decoded, BridgeStatus):
            self.bridges_online[bridge_id] = decoded.online
            return []
        self.stats.ignored += 1
        return []
