"""How big each benchmark is: the issue's full sizes, and a quick mode that proves it works."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Sizes:
    """Every size the suite uses; ``FULL`` is what issue 8 asks for."""

    name: str
    buildings: int
    devices_per_building: int
    messages: int
    rules: int
    memory_rules: int
    latency_seconds: float
    latency_rate: int
    feed_posts: int
    feed_members: int
    feed_clients: int
    feed_seconds: float
    publisher_connections: int

    @property
    def devices(self) -> int:
        return self.buildings * self.devices_per_building


FULL = Sizes(
    name="full",
    buildings=100,
    devices_per_building=100,
    messages=200_000,
    rules=50,
    memory_rules=100,
    latency_seconds=20.0,
    latency_rate=2_000,
    feed_posts=100_000,
    feed_members=5_000,
    feed_clients=50,
    feed_seconds=10.0,
    publisher_connections=4,
)

QUICK = Sizes(
    name="quick",
    buildings=10,
    devices_per_building=100,
    messages=4_000,
    rules=50,
    memory_rules=100,
    latency_seconds=3.0,
    latency_rate=200,
    feed_posts=2_000,
    feed_members=200,
    feed_clients=5,
    feed_seconds=1.0,
    publisher_connections=2,
)
