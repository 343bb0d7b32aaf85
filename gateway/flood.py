"""Per-device flood control: one misbehaving device must not drown the others' alarms.

A token bucket per (bridge, source): ``rate`` messages a second sustained, ``burst``
at once (defaults far above any real sensor, which reports every few seconds, and far
below a stuck firmware loop). Excess messages are refused cheaply, counted per device,
and reported as one dead letter per device and minute rather than one per message.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Bucket:
    tokens: float
    last: float
    reported_at: float = float("-inf")


@dataclass
class FloodGuard:
    rate: float = 100.0
    burst: float = 1000.0
    report_every: float = 60.0
    refused: Counter[str] = field(default_factory=Counter)
    #: bridge → source → bucket (two look-ups, no key tuple to build per message)
    _buckets: dict[str, dict[str, _Bucket]] = field(default_factory=dict)
    _count: int = 0

    def allow(self, bridge_id: str, source: str, now: float) -> bool:
        sources = self._buckets.get(bridge_id)
        if sources is None:
            sources = self._buckets[bridge_id] = {}
        bucket = sources.get(source)
        if bucket is None:
            if self._count > 100_000:  # a storm of fake sources: start again
                self._buckets.clear()
                self._count = 0
                sources = self._buckets[bridge_id] = {}
            bucket = sources[source] = _Bucket(self.burst, now)
            self._count += 1
        tokens = bucket.tokens + (now - bucket.last) * self.rate
        bucket.last = now
        if tokens >= 1.0:
            bucket.tokens = (tokens if tokens < self.burst else self.burst) - 1.0
            return True
        bucket.tokens = tokens
        self.refused[f"{bridge_id}/{source}"] += 1
        return False

    def should_report(self, bridge_id: str, source: str, now: float) -> bool:
        """True once a ``report_every`` per flooding device, to keep the dead letters readable."""
        bucket = self._buckets[bridge_id][source]
        if now - bucket.reported_at >= self.report_every:
            bucket.reported_at = now
            return True
        return False
