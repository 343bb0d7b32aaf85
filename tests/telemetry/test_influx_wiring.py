"""``palier run --influx-url`` sends the readings it accepts to a real InfluxDB v2 write API."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from tests.integration.harness import GatewayThread, eventually, publish, settings_for
from tests.telemetry.victoria import VictoriaMetrics

pytestmark = pytest.mark.integration


def test_accepted_readings_reach_the_influx_write_api(
    mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PALIER_INFLUX_TOKEN", "not-needed-by-victoria")
    (tmp_path / "vm").mkdir()
    vm = VictoriaMetrics(tmp_path / "vm")
    vm.start()
    try:
        settings = replace(
            settings_for(
                mosquitto.url,
                f"sqlite:///{tmp_path / 'p.db'}",
                tmp_path,
                client_id=f"palier-influx-{uuid.uuid4().hex[:8]}",
            ),
            influx_url=vm.url,
            influx_org="palier",
            influx_bucket="building",
        )
        thread = GatewayThread(settings)
        thread.start()
        try:
            publish(
                mosquitto.port,
                [("zigbee2mqtt/temp_hall_a", '{"temperature": 19.5, "humidity": 48}')],
            )

            def exported() -> list:
                return [s for s in vm.export() if s.name.startswith("temperature")]

            series = eventually(exported, timeout=20)
        finally:
            thread.stop()
    finally:
        vm.stop()
    assert series[0].labels["device"] == "temp-lilas-a-hall"
    assert series[0].labels["building"] == "lilas"
    assert series[0].values == [19.5]
