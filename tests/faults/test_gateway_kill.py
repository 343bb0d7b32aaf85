"""``palier run`` killed with SIGKILL mid-stream and started again.

While it is down, the broker keeps the QoS 1 messages for its persistent session; the
new process drains that queue. Every accepted reading must then be stored exactly once,
every leak incident must have exactly one alarm and one alert post, and a ``for:`` timer
pending at the kill must still fire, on time, from the state the first process saved.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.faults.harness import (
    INSTALLATION,
    DevicePublisher,
    FaultReport,
    KillableBroker,
    PalierProcess,
    first_notified,
    pace,
    stored_alarms,
    stored_readings,
    wait_until,
)
from tests.faults.workload import Incident, Workload

pytestmark = pytest.mark.integration

COUNT, SECONDS = 3000, 10.0
HELD_FOR = 4.0
HELD = f"""rules:
  - id: leak-held
    when: {{device: leak-lilas-a-cave, point: water_leak, is: true}}
    for: {HELD_FOR:g}s
    severity: warning
    raise: {{notify: managers}}
    clear: {{when: {{is: false}}, for: 1s}}
"""


def test_the_gateway_killed_mid_stream_resumes_exactly(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(INSTALLATION, config)
    (config / "rules" / "held.yaml").write_text(HELD)
    broker = KillableBroker(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    social = f"sqlite:///{tmp_path / 'social.db'}"
    telemetry = f"sqlite:///{tmp_path / 'telemetry.db'}"
    palier = PalierProcess(tmp_path, broker.url, social, config=config, telemetry_url=telemetry)
    report = FaultReport("palier run SIGKILL + restart")
    held_at = int(COUNT * 0.20)
    kill_at = int(COUNT * 0.30)
    work = Workload(COUNT, (
        Incident("leak_cave_b", 0.05, 0.15),
        Incident("leak_cave_tilleuls", 0.25, 0.50),  # wet across the kill
        Incident("leak_cave_b", 0.70, 0.85),
    ))
    # one "wet" from the held sensor, then silence: only the saved timer can raise it
    work.leak_messages[held_at] = ("leak_cave_a", True)
    restarted = threading.Thread(target=palier.start, name="palier-restart")
    sent_wet: dict[str, float] = {}

    def send(i: int) -> None:
        if i == held_at:
            sent_wet["at"] = time.time()
        work.send(devices, i)

    def kill() -> None:
        palier.kill()
        restarted.start()  # publishing goes on while the new process starts

    try:
        palier.start()
        devices = DevicePublisher(broker.port)
        pace(COUNT, SECONDS, send, at={kill_at: kill})
        restarted.join(60)
        devices.settle(timeout=30)
        devices.close()
        report.sent = len(devices.sent)
        report.accepted = len(devices.accepted)
        accepted = [key for s in devices.accepted for key in s.readings]
        wanted = Counter(accepted)
        wait_until(lambda: not (wanted - stored_readings(telemetry, ("energy", "temperature"))),
                   30, "the session's queue drained into the store")
        expected = work.expected_alarms() + Counter({("water-leak", "leak-lilas-a-cave"): 1,
                                                     ("leak-held", "leak-lilas-a-cave"): 1})
        wait_until(lambda: sum(stored_alarms(social).alarms.values()) >= sum(expected.values()),
                   20, "every incident's alarm raised, the held one too")
        time.sleep(1.0)  # late redeliveries would land now; count after them
        report.rejected.update(palier.stats()["rejected_by_reason"])
        report.count_readings(accepted, stored_readings(telemetry, ("energy", "temperature")))
        report.count_alarms(stored_alarms(social), expected)
        report.details["redeliveries recognised"] = palier.log().count("redelivered (packet")
        held = first_notified(social, "leak-held")
        report.details["held for: fired after"] = (
            f"{held - sent_wet['at']:.1f}s" if held is not None else "never")
        report.emit()
        assert palier.stop() == 0
    finally:
        palier.stop()
        broker.stop()
    assert palier.starts == 2
    assert report.accepted == report.sent
    assert report.lost == 0, report.line()
    assert report.duplicated == 0, report.line()
    assert held is not None and held >= sent_wet["at"] + HELD_FOR - 0.5, \
        "the pending for: fired, and not before its time"
