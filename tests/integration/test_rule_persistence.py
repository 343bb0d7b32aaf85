"""Rule timers survive a restart and a hot reload: a pending ``for:`` still fires on time."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.harness import (
    INSTALLATION,
    GatewayThread,
    eventually,
    publish,
    settings_for,
)

pytestmark = pytest.mark.integration

HELD = """rules:
  - id: water-leak
    when: {kind: water_leak_sensor, point: water_leak, is: true}
    for: 4s
    severity: critical
    raise:
      post: {scope: building, kind: alert, title: "Fuite d'eau — {{ device.place.name }}"}
    clear: {when: {is: false}, for: 1s}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(INSTALLATION, target)
    (target / "rules" / "water.yaml").write_text(HELD)
    return target


def alarms(gateway: GatewayThread, login) -> list[dict]:
    return login(gateway.gateway.running.api_url, "syndic").get("/api/alarms")["items"]


def test_a_restart_in_the_middle_of_a_for_still_raises_on_time(
    mosquitto, config: Path, tmp_path: Path, login
) -> None:
    settings = settings_for(mosquitto.url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                            client_id=f"palier-restart-{uuid.uuid4().hex[:8]}",
                            config_dir=config)
    first = GatewayThread(settings)
    running = first.start()
    publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", '{"water_leak": true}')])
    started = time.monotonic()
    eventually(lambda: running.pipeline.stats.readings >= 1)
    first.stop()  # 1 s or so into the 4 s
    assert time.monotonic() - started < 4, "the test must stop inside the for: window"

    second = GatewayThread(settings)
    second.start()
    try:
        raised = eventually(lambda: alarms(second, login), timeout=10)
        assert [(a["rule_id"], a["device_id"]) for a in raised] == [
            ("water-leak", "leak-lilas-b-cave")]
        assert time.monotonic() - started >= 3.5, "not before its time"
    finally:
        second.stop()


def test_a_hot_reload_keeps_a_pending_for(mosquitto, config: Path, tmp_path: Path,
                                          login) -> None:
    settings = settings_for(mosquitto.url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                            client_id=f"palier-reload-{uuid.uuid4().hex[:8]}",
                            config_dir=config)
    thread = GatewayThread(settings)
    running = thread.start()
    try:
        publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", '{"water_leak": true}')])
        eventually(lambda: running.pipeline.stats.readings >= 1)
        installer = login(running.api_url, "installateur")
        bridge = config / "bridges" / "zigbee.yaml"
        bridge.write_text(bridge.read_text() + "  - {id: temp-lilas-b-hall, source: temp_b, "
                          "kind: temperature_sensor, place: lilas/b/0}\n")
        assert installer.http.post("/api/admin/reload").json()["ok"] is True
        raised = eventually(lambda: alarms(thread, login), timeout=10)
        assert len(raised) == 1
    finally:
        thread.stop()
