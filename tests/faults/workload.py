"""The traffic a fault test sends: meters numbering their messages, and leak incidents.

Message ``i`` of a run is either a meter reading (``energy = i``) or a leak sensor's
state (``water_leak`` with ``temperature = i``), so every stored reading names the
message it came from. Each leak incident is a run of "wet" messages then "dry" ones held
longer than the rule's ``clear … for: 1s``, so it must raise exactly one alarm.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from tests.faults.harness import DevicePublisher

METERS = ("meter_1", "meter_2", "meter_3", "meter_4")
METER_IDS = {"meter_1": "meter-1", "meter_2": "meter-2", "meter_3": "meter-3",
             "meter_4": "meter-4"}
LEAKS = {"leak_cave_b": "leak-lilas-b-cave", "leak_cave_tilleuls": "leak-tilleuls-cave",
         "leak_cave_a": "leak-lilas-a-cave"}
RULE = "water-leak"


@dataclass(frozen=True)
class Incident:
    """``source`` is wet from fraction ``wet`` of the run to ``dry``, reporting every
    ``every`` messages in between (so a fault in that span hits its messages too)."""

    source: str
    wet: float
    dry: float
    every: int = 25


@dataclass
class Workload:
    count: int
    incidents: tuple[Incident, ...]
    #: message index -> (leak source, wet?) for the leak messages
    leak_messages: dict[int, tuple[str, bool]] = field(init=False)

    def __post_init__(self) -> None:
        self.leak_messages = {}
        for n, incident in enumerate(self.incidents):
            start, end = int(incident.wet * self.count), int(incident.dry * self.count)
            # offset per incident, so two incidents never claim the same message
            for i in range(start + n, end, incident.every):
                self.leak_messages[i] = (incident.source, True)
            for i in range(end + n, min(self.count, end + n + 3 * incident.every),
                           incident.every):
                self.leak_messages[i] = (incident.source, False)

    def message(self, i: int) -> tuple[str, str, tuple[str, str, float]]:
        """(topic, payload, the reading that identifies it) of message ``i``."""
        if i in self.leak_messages:
            source, wet = self.leak_messages[i]
            return (f"zigbee2mqtt/{source}", json.dumps({"water_leak": wet, "temperature": i}),
                    (LEAKS[source], "temperature", float(i)))
        source = METERS[i % len(METERS)]
        return (f"zigbee2mqtt/{source}", json.dumps({"energy": i}),
                (METER_IDS[source], "energy", float(i)))

    def send(self, publisher: DevicePublisher, i: int) -> None:
        topic, payload, reading = self.message(i)
        publisher.publish(topic, payload, [reading])

    def expected_alarms(self) -> Counter[tuple[str, str]]:
        return Counter((RULE, LEAKS[incident.source]) for incident in self.incidents)
