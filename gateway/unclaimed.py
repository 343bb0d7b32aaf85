"""Traffic on a bridge's topics that no configured device claims: new devices joining."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class UnclaimedSource:
    bridge_id: str
    source: str
    topic: str
    count: int
    first_seen: float
    last_seen: float
    last_payload: bytes


class UnclaimedTraffic:
    """Bounded: past ``capacity`` sources, the one heard least recently is forgotten."""

    def __init__(self, capacity: int = 1000) -> None:
        self.capacity = capacity
        self._sources: dict[tuple[str, str], UnclaimedSource] = {}
        self.total = 0

    def record(self, bridge_id: str, source: str, topic: str, payload: bytes, at: float) -> None:
        self.total += 1
        key = (bridge_id, source)
        entry = self._sources.get(key)
        if entry is None:
            if len(self._sources) >= self.capacity:
                oldest = min(self._sources.values(), key=lambda e: e.last_seen)
                del self._sources[(oldest.bridge_id, oldest.source)]
            self._sources[key] = UnclaimedSource(bridge_id, source, topic, 1, at, at,
                                                 payload[:1024])
            return
        entry.count += 1
        entry.topic, entry.last_seen, entry.last_payload = topic, at, payload[:1024]

    def forget(self, bridge_id: str, source: str) -> None:
        """A device now claims this source (after a reload)."""
        self._sources.pop((bridge_id, source), None)

    def entries(self) -> list[UnclaimedSource]:
        return sorted(self._sources.values(), key=lambda e: e.last_seen, reverse=True)
