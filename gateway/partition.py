"""Splitting one installation between several gateway workers, by building.

A worker started with ``--partition 2/3`` owns the buildings whose stable hash
falls in slot 2 of 3 (``--buildings lilas,tilleuls`` names them instead). It keeps
only the devices of those buildings: it subscribes to the bridges that carry them,
tracks only their heartbeats (a worker must never call a device offline because
another worker hears it) and evaluates the rules over them. Every device's
readings therefore reach exactly one worker, in the order the broker delivers its
topic, and each worker keeps its own persistent session (its client id carries
the partition) so a stopped worker's backlog waits for it alone.

The hash is CRC-32 of the building id: the same on every machine and every Python
(``hash()`` is salted per process), so workers started separately agree without
talking to each other.

A bridge whose devices lie in several buildings (a TTN application, a JSON bridge
for a whole district) is subscribed by every worker owning one of them; each drops
the messages of devices it does not own (counted as ``foreign``, never reported as
unclaimed). Give each building its own base topic where you can: then a worker's
broker traffic is only its own.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gateway.config.installation import Installation


class PartitionError(ValueError):
    """A ``--partition`` or ``--buildings`` value that cannot be used."""


@dataclass(frozen=True, slots=True)
class Partition:
    """Which buildings this worker owns: slot ``index`` of ``count``, or a named list."""

    index: int = 1
    count: int = 1
    buildings: frozenset[str] | None = None

    @classmethod
    def parse(cls, text: str) -> Partition:
        """``"2/3"`` → slot 2 of 3 (slots count from 1)."""
        index_text, sep, count_text = text.strip().partition("/")
        if not sep or not index_text.isdigit() or not count_text.isdigit():
            raise PartitionError(f"partition {text!r} must be N/M, e.g. 1/3")
        index, count = int(index_text), int(count_text)
        if count < 1 or not 1 <= index <= count:
            raise PartitionError(f"partition {text!r}: N must be between 1 and M")
        return cls(index, count)

    @classmethod
    def of_buildings(cls, names: Iterable[str]) -> Partition:
        buildings = frozenset(name.strip() for name in names if name.strip())
        if not buildings:
            raise PartitionError("--buildings needs at least one building id")
        return cls(buildings=buildings)

    @property
    def whole(self) -> bool:
        """True for a single worker that owns everything."""
        return self.buildings is None and self.count == 1

    @property
    def leader(self) -> bool:
        """The worker that runs the once-per-installation jobs (digest, retention)."""
        return self.buildings is None and self.index == 1

    @property
    def label(self) -> str:
        if self.buildings is not None:
            return "buildings " + ",".join(sorted(self.buildings))
        return f"{self.index}/{self.count}"

    def owns(self, building_id: str | None) -> bool:
        """Whether this worker handles ``building_id``; devices above buildings go to slot 1."""
        if self.buildings is not None:
            return building_id in self.buildings
        if self.count == 1:
            return True
        if building_id is None:
            return self.index == 1
        return slot_of(building_id, self.count) == self.index

    def client_id(self, base: str) -> str:
        """One persistent session per worker: the broker queues each worker's backlog apart."""
        if self.whole:
            return base
        if self.buildings is not None:
            digest = zlib.crc32(",".join(sorted(self.buildings)).encode()) & 0xFFFFFFFF
            return f"{base}-b{digest:08x}"
        return f"{base}-p{self.index}of{self.count}"


def slot_of(building_id: str, count: int) -> int:
    """The slot (1..count) a building falls in, identical in every process."""
    return zlib.crc32(building_id.encode("utf-8")) % count + 1


@dataclass(frozen=True, slots=True)
class Restricted:
    """An installation cut down to one worker's buildings, and what was cut away."""

    installation: Installation
    #: (bridge id, device source) of devices on kept bridges that another worker owns.
    foreign: frozenset[tuple[str, str]]
    #: Bridges kept with only part of their devices: subscribe per device where possible.
    shared: frozenset[str]
    devices_kept: int
    devices_dropped: int


def restrict(installation: Installation, partition: Partition) -> Restricted:
    """The part of ``installation`` that ``partition`` owns; the whole of it for one worker."""
    total = sum(len(bridge.devices) for bridge in installation.bridges)
    if partition.whole:
        return Restricted(installation, frozenset(), frozenset(), total, 0)
    unknown = (partition.buildings or frozenset()) - {
        place.id for place in installation.places.values() if place.kind == "building"}
    if unknown:
        raise PartitionError("--buildings names buildings the site does not have: "
                             + ", ".join(sorted(unknown)))
    bridges = []
    foreign: set[tuple[str, str]] = set()
    shared: set[str] = set()
    kept = 0
    for bridge_file in installation.bridges:
        mine = [device for device in bridge_file.devices
                if partition.owns(installation.building_of(device.place))]
        if not mine:
            continue
        mine_ids = {device.id for device in mine}
        if len(mine) < len(bridge_file.devices):
            shared.add(bridge_file.bridge.id)
        foreign.update((bridge_file.bridge.id, device.source)
                       for device in bridge_file.devices if device.id not in mine_ids)
        kept += len(mine)
        bridges.append(bridge_file.model_copy(update={"devices": mine}))
    cut = dataclasses.replace(installation, bridges=tuple(bridges))
    return Restricted(cut, frozenset(foreign), frozenset(shared), kept, total - kept)


def per_device_filters(filters: Sequence[str], sources: Sequence[str]) -> tuple[str, ...]:
    """``filters`` narrowed to ``sources``: the first ``+`` level names the device.

    That holds for every family whose topics carry the device (Tasmota's
    ``tele/+/SENSOR``, Shelly's ``+/events/rpc``, ESPHome's ``+/status``, TTN's
    ``v3/app/devices/+/up``). A filter without ``+`` (zigbee2mqtt's ``base/#``) or a
    source that is not one topic level stays as it was: correct, only wider.
    """
    safe = all(source and not any(c in source for c in "+#/") for source in sources)
    narrowed: list[str] = []
    for topic_filter in filters:
        levels = topic_filter.split("/")
        if not safe or "+" not in levels:
            narrowed.append(topic_filter)
            continue
        at = levels.index("+")
        narrowed += ["/".join([*levels[:at], source, *levels[at + 1:]]) for source in sources]
    return tuple(dict.fromkeys(narrowed))
