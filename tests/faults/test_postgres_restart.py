"""PostgreSQL (social database and telemetry) crashes and comes back while devices publish.

The gateway must keep running, keep the batch it could not commit unacknowledged (the
broker holds it), say clearly that the database is away and when it is back, and then
store everything exactly once. A message acknowledged without being committed would be
lost: the broker forgets what it was acknowledged for, so "lost=0" checks that too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.faults.harness import (
    Background,
    FaultReport,
    KillableBroker,
    PalierProcess,
    publish_through,
    stored_alarms,
    stored_readings,
    wait_until,
)
from tests.faults.private_postgres import PrivatePostgres, bin_dir
from tests.faults.workload import Incident, Workload

pytestmark = pytest.mark.integration

COUNT, SECONDS = 3000, 10.0
DOWN_SECONDS = 2.0


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    if bin_dir() is None:
        pytest.fail("PostgreSQL server binaries are missing: run ./dev test, which installs them")
    server = PrivatePostgres()
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


def test_postgres_restarted_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, postgres: PrivatePostgres
) -> None:
    social = postgres.create_database("palier")
    telemetry = postgres.create_database("telemetry")
    broker = KillableBroker(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    palier = PalierProcess(tmp_path, broker.url, social, telemetry_url=telemetry)
    report = FaultReport("postgresql crash + restart")
    work = Workload(COUNT, (
        Incident("leak_cave_b", 0.05, 0.15),
        Incident("leak_cave_tilleuls", 0.25, 0.55),  # wet across the outage
        Incident("leak_cave_a", 0.75, 0.85),
    ))
    health: list[int] = []

    def crash_and_restart() -> None:
        postgres.stop("immediate")
        time.sleep(DOWN_SECONDS / 2)
        health.append(httpx.get(f"{palier.api_url}/api/healthz", timeout=5).status_code)
        time.sleep(DOWN_SECONDS / 2)
        postgres.start()

    fault = Background(crash_and_restart)
    try:
        palier.start()
        wanted = publish_through(broker.port, work.send, COUNT, SECONDS, fault, 0.35, report)
        accepted = list(wanted.elements())
        wait_until(lambda: not (wanted - stored_readings(telemetry, ("energy", "temperature"))),
                   60, "every accepted reading stored after the database came back")
        expected = work.expected_alarms()
        wait_until(lambda: sum(stored_alarms(social).alarms.values()) >= sum(expected.values()),
                   20, "every incident's alarm raised")
        time.sleep(1.0)
        report.rejected.update(palier.stats()["rejected_by_reason"])
        report.count_readings(accepted, stored_readings(telemetry, ("energy", "temperature")))
        report.count_alarms(stored_alarms(social), expected)
        log = palier.log()
        report.details["failed commits"] = log.count("database unreachable")
        report.details["healthz while down"] = health[0] if health else None
        report.emit()
        assert palier.alive, "the gateway kept running"
        assert palier.stop() == 0
    finally:
        palier.stop()
        broker.stop()
    assert report.accepted == report.sent
    assert report.lost == 0, report.line()
    assert report.duplicated == 0, report.line()
    assert health == [503], "the health check says the database is away"
    assert "storing a batch failed, database unreachable" in log, "the outage is logged clearly"
    assert "storing a batch works again" in log
