"""Mosquitto killed (SIGKILL) and restarted while devices publish at QoS 1.

What must hold: every reading the broker acknowledged to a device is in the telemetry
store exactly once, and every leak incident raised exactly one alarm with one alert post
— none lost to the crash, none doubled by the redeliveries that follow it.
"""

from __future__ import annotations

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
    stored_alarms,
    stored_readings,
    wait_until,
)
from tests.faults.workload import Incident, Workload

pytestmark = pytest.mark.integration

COUNT, SECONDS = 3000, 10.0
DOWN_SECONDS = 1.5


def test_mosquitto_killed_and_restarted_loses_and_doubles_nothing(tmp_path: Path) -> None:
    broker = KillableBroker(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    social = f"sqlite:///{tmp_path / 'social.db'}"
    telemetry = f"sqlite:///{tmp_path / 'telemetry.db'}"
    palier = PalierProcess(tmp_path, broker.url, social, telemetry_url=telemetry)
    report = FaultReport("mosquitto SIGKILL + restart")
    work = Workload(COUNT, (
        Incident("leak_cave_b", 0.05, 0.15),
        Incident("leak_cave_tilleuls", 0.25, 0.50),  # wet across the crash
        Incident("leak_cave_a", 0.70, 0.80),
        Incident("leak_cave_b", 0.85, 0.92),
    ))
    kill_at = int(COUNT * 0.35)
    try:
        palier.start()
        devices = DevicePublisher(broker.port)

        def kill_and_restart() -> None:
            broker.kill()
            time.sleep(DOWN_SECONDS)
            broker.start()  # same port, same persistence file

        fault = Background(kill_and_restart)
        pace(COUNT, SECONDS, lambda i: work.send(devices, i), at={kill_at: fault})
        fault.join()
        devices.settle(timeout=30)
        devices.close()
        report.sent = len(devices.sent)
        accepted = [key for s in devices.accepted for key in s.readings]
        report.accepted = len(devices.accepted)
        if report.sent > report.accepted:
            report.rejected["never acknowledged by the broker"] = report.sent - report.accepted

        wanted = Counter(accepted)
        wait_until(lambda: not (wanted - stored_readings(telemetry, ("energy", "temperature"))),
                   30, "every accepted reading stored")
        expected = work.expected_alarms()
        wait_until(lambda: sum(stored_alarms(social).alarms.values()) >= sum(expected.values()),
                   15, "every incident's alarm raised")
        time.sleep(1.0)  # late redeliveries would land now; count after them
        report.rejected.update(palier.stats()["rejected_by_reason"])
        report.count_readings(accepted, stored_readings(telemetry, ("energy", "temperature")))
        report.count_alarms(stored_alarms(social), expected)
        report.details["redeliveries recognised"] = palier.log().count("redelivered (packet")
        report.details["gateway reconnections"] = palier.log().count("connected to ") - 1
        report.emit()
        assert palier.alive, "the gateway kept running"
        assert palier.stop() == 0
    finally:
        palier.stop()
        broker.stop()
    assert report.details["gateway reconnections"] >= 1, "the broker really went away"
    assert report.accepted == report.sent, "paho resends what the dead broker never acknowledged"
    assert report.lost == 0, report.line()
    assert report.duplicated == 0, report.line()
