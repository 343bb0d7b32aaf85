"""The worst moment of a crash, made certain: every batch committed, no PUBACK sent.

A SIGKILL lands in the gap between a batch's commit and its acknowledgements only
sometimes (test_gateway_kill.py). Here the gap is forced: the first gateway stores
everything but its acknowledgements never leave (gmqtt's PUBACK is cut), so the broker
redelivers every message to the next gateway, flagged DUP. Each must be recognised as
stored already (gateway.redelivery): every reading once, every alarm once.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from gmqtt.mqtt.handler import MqttPackageHandler

from gateway.mqtt_intake import Acknowledger
from tests.conftest import MosquittoServer
from tests.faults.harness import (
    INSTALLATION,
    FaultReport,
    stored_alarms,
    stored_readings,
    wait_until,
)
from tests.integration.harness import GatewayThread, publish, settings_for

pytestmark = pytest.mark.integration

COUNT = 400


def test_a_committed_batch_whose_acks_were_lost_is_not_stored_twice(
    mosquitto: MosquittoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    telemetry = f"sqlite:///{tmp_path / 'telemetry.db'}"
    social = f"sqlite:///{tmp_path / 'social.db'}"
    settings = replace(settings_for(mosquitto.url, social, tmp_path,
                                    client_id=f"palier-window-{uuid.uuid4().hex[:8]}",
                                    config_dir=INSTALLATION), telemetry_url=telemetry)
    report = FaultReport("commit done, PUBACK lost (forced)")
    messages = [(f"zigbee2mqtt/meter_{1 + i % 4}", json.dumps({"energy": i}))
                for i in range(COUNT)]
    messages.insert(COUNT // 2, ("zigbee2mqtt/leak_cave_b", '{"water_leak": true}'))
    expected = Counter((f"meter-{1 + i % 4}", "energy", float(i)) for i in range(COUNT))

    first = GatewayThread(settings)
    first.start()
    with monkeypatch.context() as cut:
        # both ways Palier acknowledges: gmqtt's own PUBACK, and the batch acknowledger
        cut.setattr(MqttPackageHandler, "_send_puback", lambda self, mid, reason_code=0: None)
        cut.setattr(Acknowledger, "__call__", lambda self, mids: None)
        publish(mosquitto.port, messages)
        wait_until(lambda: not (expected - stored_readings(telemetry, ("energy",))), 30,
                   "the first gateway stored everything")
        first.stop()
    second = GatewayThread(settings)
    second.start()
    try:
        running = second.gateway.running
        deliveries = running.processor._deliveries
        wait_until(lambda: deliveries.repeats + running.pipeline.stats.received >= COUNT + 1,
                   30, "every message redelivered to the second gateway")
        time.sleep(0.5)  # their batch stored, if the guard let them through
        repeats = deliveries.repeats
    finally:
        second.stop()
    report.sent = report.accepted = len(messages)
    report.count_readings(list(expected), stored_readings(telemetry, ("energy",)))
    report.count_alarms(stored_alarms(social), Counter({("water-leak", "leak-lilas-b-cave"): 1}))
    report.details["redeliveries recognised"] = repeats
    report.emit()
    assert report.lost == 0 and report.duplicated == 0, report.line()
    assert repeats == COUNT + 1, "every redelivery recognised as stored"
