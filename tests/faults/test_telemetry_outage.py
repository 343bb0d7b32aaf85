"""The InfluxDB server (VictoriaMetrics' InfluxDB v2 write API) away for a while.

Readings keep flowing into the embedded store; the InfluxDB sink buffers on disk what it
cannot send, reports it in ``/api/gateway/status``, and flushes it when the server is
back. VictoriaMetrics keeps every sample it is sent, duplicates included, so what it
holds at the end tells lost from doubled exactly.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import (
    Background,
    FaultReport,
    KillableBroker,
    PalierProcess,
    ReadingKey,
    publish_through,
    stored_readings,
    wait_until,
)
from tests.faults.workload import Incident, Workload
from tests.telemetry.victoria import VictoriaMetrics, binary

pytestmark = pytest.mark.integration

COUNT, SECONDS = 2000, 8.0
DOWN_SECONDS = 3.0


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    if binary() is None:
        pytest.fail("victoria-metrics is not installed: run ./dev test, which installs it")
    (tmp_path / "vm").mkdir()
    server = VictoriaMetrics(tmp_path / "vm")
    server.start()
    yield server
    server.stop()


def exported(server: VictoriaMetrics) -> Counter[ReadingKey]:
    samples: Counter[ReadingKey] = Counter()
    for series in server.export('{__name__=~"energy_value|temperature_value"}'):
        point = series.name.removesuffix("_value")
        for value in series.values:
            samples[(series.labels["device"], point, float(value))] += 1
    return samples


def test_influx_away_for_a_while_buffers_flushes_and_counts(
    tmp_path: Path, victoria: VictoriaMetrics
) -> None:
    broker = KillableBroker(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    telemetry = f"sqlite:///{tmp_path / 'telemetry.db'}"
    palier = PalierProcess(
        tmp_path, broker.url, f"sqlite:///{tmp_path / 'social.db'}", telemetry_url=telemetry,
        env={"PALIER_INFLUX_TOKEN": "victoria-needs-none"},
        extra_args=["--influx-url", victoria.url, "--influx-org", "palier",
                    "--influx-bucket", "building"])
    report = FaultReport("influxdb (victoria-metrics) down 3 s")
    work = Workload(COUNT, (Incident("leak_cave_b", 0.3, 0.6),))
    during: dict[str, object] = {}

    def outage() -> None:
        victoria.stop()
        time.sleep(DOWN_SECONDS)
        during.update(palier.status()["influx"])  # what the operator sees meanwhile
        victoria.start()

    fault = Background(outage)
    try:
        palier.start()
        wanted = publish_through(broker.port, work.send, COUNT, SECONDS, fault, 0.3, report)
        accepted = list(wanted.elements())
        wait_until(lambda: not (wanted - stored_readings(telemetry, ("energy", "temperature"))),
                   30, "every accepted reading in the embedded store")
        wait_until(lambda: not (wanted - exported(victoria)), 60,
                   "every accepted reading flushed to the server")
        time.sleep(1.0)
        after = palier.status()["influx"]
        report.rejected.update(palier.stats()["rejected_by_reason"])
        report.rejected.update({f"influx {why}": n for why, n in after["dropped_points"].items()})
        report.count_readings(accepted, exported(victoria))
        embedded = FaultReport("embedded")
        embedded.count_readings(accepted, stored_readings(telemetry, ("energy", "temperature")))
        report.details["buffered while down"] = during.get("buffered_points")
        report.details["influx sent"] = after["sent_points"]
        report.details["embedded store lost/dup"] = f"{embedded.lost}/{embedded.duplicated}"
        report.emit()
        assert palier.stop() == 0
    finally:
        palier.stop()
        broker.stop()
    assert report.accepted == report.sent
    assert report.lost == 0 and embedded.lost == 0, report.line()
    assert report.duplicated == 0 and embedded.duplicated == 0, report.line()
    assert isinstance(during.get("buffered_points"), int) and during["buffered_points"] > 0, \
        "readings were buffered while the server was away"
    assert str(during.get("last_error", "")).startswith("unreachable")
    assert after["buffered_points"] == 0 and after["dropped_points"] == {}
    # every accepted numeric reading (energy, temperature, water_leak): sent once
    assert after["sent_points"] >= len(accepted)
