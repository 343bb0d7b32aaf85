"""Live traffic per topic for the installer: what arrives, how often, and who claims it.

The pipeline calls :meth:`TopicTraffic.record` once per batch, before decoding. Per
message it costs a dictionary look-up and a few integer updates (0.3 to 0.5 µs in
CPython, see ``bench/topic_traffic.py``); nothing is decoded, copied or allocated
unless the topic is new. Memory is bounded twice: at most ``capacity`` topics are
kept (past it, the one heard least recently is forgotten, so a flood of random topics
costs a fixed amount), and a payload over :data:`KEPT_PAYLOAD` bytes is not kept.

The rate is "messages in the last minute", counted in 5-second buckets (the current
bucket and the eleven before it), so it lags a changing rate by at most 5 seconds.

Who claims a topic is worked out when someone asks (:func:`classify`), from the
topic's last message and the running configuration: the hot path stays free of it,
and after a reload the answer is already the new configuration's. The routing order
is the pipeline's (:meth:`gateway.pipeline.Pipeline.process_one`): a configured
device wins over a decode error, which wins over a source nobody claims.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from devices.records import Device
from devices.registry import DeviceRegistry
from firmware_bridge.base import DecodeError, Decoder
from firmware_bridge.records import RawMessage, StateUpdate

#: Width of one rate bucket, and how many make the one-minute window.
BUCKET_SECONDS = 5
SLOTS = 12
WINDOW_SECONDS = BUCKET_SECONDS * SLOTS
DEFAULT_CAPACITY = 2000
#: A larger payload is counted but not kept (``classify`` then says so).
KEPT_PAYLOAD = 4096

Outcome = Literal["device", "bridge", "unclaimed", "foreign", "dead_letter", "unrouted",
                  "unknown"]


class TopicEntry:
    """One topic's counters.

    ``current`` counts bucket number ``slot`` (the newest); ``buckets[n % SLOTS]`` holds
    the count of an older bucket ``n`` once the window has moved past it, and ``before``
    everything counted before the current bucket.
    """

    __slots__ = ("before", "buckets", "current", "first_seen", "last_seen", "oversize",
                 "payload", "slot", "topic")

    def __init__(self, topic: str, at: float) -> None:
        self.topic = topic
        self.before = 0
        self.current = 0
        self.slot = int(at) // BUCKET_SECONDS
        self.buckets = [0] * SLOTS
        self.first_seen = at
        self.last_seen = at
        self.payload: bytes | None = None
        #: The size of the last payload when it was too large to keep, else 0.
        self.oversize = 0

    def roll(self, slot: int) -> None:
        """Move the window forward to bucket ``slot``, emptying the buckets it passes."""
        self.before += self.current
        passed = slot - self.slot
        if passed >= SLOTS:
            self.buckets = [0] * SLOTS
        else:
            buckets = self.buckets
            buckets[self.slot % SLOTS] = self.current
            for step in range(1, passed):
                buckets[(self.slot + step) % SLOTS] = 0
        self.current = 0
        self.slot = slot

    @property
    def total(self) -> int:
        return self.before + self.current

    @property
    def last_size(self) -> int:
        return len(self.payload) if self.payload is not None else self.oversize

    def last_minute(self, now: float) -> int:
        """Messages in the bucket of ``now`` and the eleven before it."""
        age = int(now) // BUCKET_SECONDS - self.slot
        if age >= SLOTS:
            return 0
        count = self.current
        # Older buckets still inside the window: slot - 1 back to slot - (SLOTS - 1 - age).
        for back in range(1, SLOTS - max(age, 0)):
            count += self.buckets[(self.slot - back) % SLOTS]
        return count


@dataclass(frozen=True, slots=True)
class TopicSnapshot:
    """A copy of one entry, safe to read in another thread."""

    topic: str
    total: int
    last_minute: int
    first_seen: float
    last_seen: float
    last_size: int
    payload: bytes | None


class TopicTraffic:
    """Counters per topic, the ``capacity`` heard most recently; fed from one thread."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._topics: OrderedDict[str, TopicEntry] = OrderedDict()
        #: Messages counted, and topics forgotten to stay within ``capacity``.
        self.total = 0
        self.forgotten = 0

    def __len__(self) -> int:
        return len(self._topics)

    def record(self, messages: Sequence[RawMessage]) -> None:
        """Count a batch of messages; the hot path, so written for speed over elegance.

        The order of topics is brought up to date once per topic and bucket (every 5
        seconds at most), not per message: "least recently heard" is judged to 5 s.
        """
        topics = self._topics
        get, to_end = topics.get, topics.move_to_end
        for message in messages:
            topic = message.topic
            at = message.received_at
            entry = get(topic)
            if entry is None:
                entry = self._add(topic, at)
            slot = int(at) // BUCKET_SECONDS
            if slot > entry.slot:
                entry.roll(slot)
                to_end(topic)
            # A late message (an older receive time) counts in the newest bucket.
            entry.current += 1
            entry.last_seen = at
            payload = message.payload
            if len(payload) <= KEPT_PAYLOAD:
                entry.payload = payload
            else:
                entry.payload, entry.oversize = None, len(payload)
        self.total += len(messages)

    def _add(self, topic: str, at: float) -> TopicEntry:
        topics = self._topics
        if len(topics) >= self.capacity:
            topics.popitem(last=False)
            self.forgotten += 1
        entry = topics[topic] = TopicEntry(topic, at)
        return entry

    def snapshot(self, now: float) -> list[TopicSnapshot]:
        """Every kept topic, heard most recently first. Call it from the recording thread
        (the event loop's): the copies it returns may then go anywhere."""
        copies = [
            TopicSnapshot(e.topic, e.total, e.last_minute(now), e.first_seen, e.last_seen,
                          e.last_size, e.payload)
            for e in self._topics.values()
        ]
        copies.sort(key=lambda c: c.last_seen, reverse=True)
        return copies


@dataclass(frozen=True, slots=True)
class Claim:
    """Who takes a topic's last message: ``device`` (a configured device), ``bridge``
    (a bridge message about no device: its own status), ``unclaimed`` (a source no
    device claims; ``foreign`` when another gateway worker's device does), ``dead_letter``
    (refused, with ``reason``), ``unrouted`` (no bridge listens there) or ``unknown`` (the
    payload was too large to keep)."""

    outcome: Outcome
    bridge: str | None = None
    device: str | None = None
    source: str | None = None
    reason: str | None = None


def classify(topic: str, payload: bytes | None, routes: Sequence[tuple[str, Decoder]],
             registry: DeviceRegistry) -> Claim:
    """What the pipeline does with ``payload`` on ``topic`` under ``routes`` and ``registry``.

    Decoders are pure, so this may run in any thread while the pipeline runs.
    """
    if payload is None:
        return Claim("unknown", reason=f"payload over {KEPT_PAYLOAD} bytes, not kept")
    message = RawMessage(topic, payload)
    error: tuple[str, DecodeError] | None = None
    unclaimed: Claim | None = None
    for bridge_id, decoder in routes:
        try:
            decoded = decoder.decode(message)
        except DecodeError as exc:
            error = error or (bridge_id, exc)
            continue
        if decoded is None:
            continue
        source = getattr(decoded, "source", None)
        if source is None:
            return Claim("bridge", bridge=bridge_id)
        device = registry.lookup(bridge_id, source)
        if device is not None:
            return _device_claim(bridge_id, source, device, decoded, registry)
        unclaimed = unclaimed or Claim("unclaimed", bridge=bridge_id, source=source)
    if error is not None:
        return Claim("dead_letter", bridge=error[0], reason=error[1].reason)
    return unclaimed or Claim("unrouted")


def _device_claim(bridge_id: str, source: str, device: Device, decoded: object,
                  registry: DeviceRegistry) -> Claim:
    """A device's message; a dead letter after all when one of its values is refused."""
    if isinstance(decoded, StateUpdate):
        _readings, rejected = registry.readings(device, decoded.values, 0.0)
        if rejected:
            return Claim("dead_letter", bridge=bridge_id, device=device.id, source=source,
                         reason=f"bad value: {rejected[0].reason}")
    return Claim("device", bridge=bridge_id, device=device.id, source=source)
