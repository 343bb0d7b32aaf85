"""One device floods (a firmware stuck in a loop: up to 10,000 messages a second for 3 s)
while the others report leaks.

The flood is rate-limited per device (gateway.flood) and reported in the status API;
every other device's readings are stored and its alarms raised, on time. For the
flooding device every message the broker accepted is either stored or refused with the
reason "rate limited" — none silently gone.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.harness import (
    Background,
    DevicePublisher,
    FaultReport,
    KillableBroker,
    PalierProcess,
    pace,
    raised_at,
    stored_alarms,
    stored_readings,
    wait_until,
)
from tests.faults.workload import LEAKS, Incident, Workload

pytestmark = pytest.mark.integration

FLOOD_RATE, FLOOD_SECONDS = 10_000, 3.0
COUNT, SECONDS = 800, 6.0
FLOOD_BASE = 1_000_000  # flood readings' values, apart from the workload's


def test_a_flooding_device_is_rate_limited_and_the_others_alarms_arrive(tmp_path: Path) -> None:
    broker = KillableBroker(tmp_path / "broker", snapshot_every_change=False)
    broker.workdir.mkdir()
    broker.start()
    social = f"sqlite:///{tmp_path / 'social.db'}"
    telemetry = f"sqlite:///{tmp_path / 'telemetry.db'}"
    palier = PalierProcess(tmp_path, broker.url, social, telemetry_url=telemetry)
    report = FaultReport(f"flood {FLOOD_RATE}/s x {FLOOD_SECONDS:g}s from one device")
    work = Workload(COUNT, (
        Incident("leak_cave_b", 0.30, 0.60),  # wet during the flood
        Incident("leak_cave_tilleuls", 0.35, 0.65),
    ))
    wet_sent: dict[str, float] = {}

    def send(i: int) -> None:
        leak = work.leak_messages.get(i)
        if leak is not None and leak[1] and leak[0] not in wet_sent:
            wet_sent[leak[0]] = time.time()
        work.send(devices, i)

    flood_sent: dict[str, float] = {}

    def flood() -> None:
        started = time.monotonic()
        pace(int(FLOOD_RATE * FLOOD_SECONDS), FLOOD_SECONDS,
             lambda i: flooder.publish("zigbee2mqtt/meter_flood",
                                       json.dumps({"energy": FLOOD_BASE + i}),
                                       [("meter-flood", "energy", float(FLOOD_BASE + i))]))
        flood_sent["seconds"] = time.monotonic() - started

    try:
        palier.start()
        devices = DevicePublisher(broker.port, "fault-devices")
        flooder = DevicePublisher(broker.port, "fault-flooder")
        flooding = Background(flood, "flood")
        pace(COUNT, SECONDS, send, at={int(COUNT * 0.25): flooding})
        flooding.join()
        devices.settle(timeout=60)
        flooder.settle(timeout=60)
        devices.close()
        flooder.close()
        report.sent = len(devices.sent) + len(flooder.sent)
        report.accepted = len(devices.accepted) + len(flooder.accepted)
        normal = [key for s in devices.accepted for key in s.readings]
        flooded = [key for s in flooder.accepted for key in s.readings]

        def flood_settled() -> bool:  # every flood message either stored or refused
            stats = palier.stats()
            stored = stored_readings(telemetry, ("energy",))
            kept = sum(1 for key in flooded if stored[key])
            return kept + stats["rejected_by_reason"].get("rate limited", 0) >= len(flooded)

        wanted = Counter(normal)
        wait_until(lambda: not (wanted - stored_readings(telemetry, ("energy", "temperature"))),
                   60, "every other device's reading stored")
        wait_until(flood_settled, 60, "the flood processed")
        expected = work.expected_alarms()
        wait_until(lambda: sum(stored_alarms(social).alarms.values()) >= sum(expected.values()),
                   20, "the leak alarms raised")
        status = palier.status()
        stats = status["stats"]
        report.rejected.update(stats["rejected_by_reason"])
        stored = stored_readings(telemetry, ("energy", "temperature"))
        report.count_readings(normal, stored)
        kept = sum(1 for key in flooded if stored[key])
        # a flood message is lost when it is neither stored nor counted as refused
        report.lost += max(0, len(flooded) - kept - stats["rejected_by_reason"]["rate limited"])
        report.count_alarms(stored_alarms(social), expected)
        raised = {source: raised_at(social, "water-leak", LEAKS[source]) for source in wet_sent}
        latency = max((at or float("inf")) - wet_sent[source] for source, at in raised.items())
        report.details["flood rate reached"] = f"{len(flooder.sent) / flood_sent['seconds']:.0f}/s"
        report.details["flood stored"] = kept
        report.details["leak reached the rules after"] = f"{latency:.2f}s"
        report.emit()
        reports = [d for d in status["dead_letters"] if d["reason"].startswith("rate limited")]
        assert palier.stop() == 0
    finally:
        palier.stop()
        broker.stop()
    assert report.accepted == report.sent
    assert report.lost == 0, report.line()
    assert report.duplicated == 0, report.line()
    assert report.rejected["rate limited"] > len(flooded) / 2, "the flood was cut down"
    assert [r["topic"] for r in reports] == ["zigbee2mqtt/meter_flood"], \
        "reported once for the flooding device, none for the others"
    assert "sends more than 100 messages/s" in reports[0]["reason"]
    assert latency < 5.0, "the leak alarm did not wait for the flood to drain"
