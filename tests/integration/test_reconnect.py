"""The intake survives its broker: reconnection with backoff, resubscription, nothing lost."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import MosquittoServer
from tests.integration.harness import GatewayThread, eventually, publish, settings_for

pytestmark = pytest.mark.integration

WET = '{"water_leak":true}'


def test_the_gateway_reconnects_after_a_broker_restart(tmp_path: Path, login) -> None:
    broker = MosquittoServer(tmp_path / "broker")
    broker.workdir.mkdir()
    broker.start()
    thread = GatewayThread(settings_for(broker.url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                                        client_id=f"palier-reconnect-{uuid.uuid4().hex[:8]}"))
    running = thread.start()
    try:
        broker.stop()
        eventually(lambda: not running.intake.connected.is_set(), timeout=10)
        broker.start()  # same port, same persistence directory
        eventually(lambda: running.intake.connected.is_set(), timeout=30)
        assert running.intake.connections >= 2
        publish(broker.port, [("zigbee2mqtt/leak_cave_b", WET)])
        amelie = login(running.api_url, "amelie")
        assert len(eventually(lambda: [p for p in amelie.feed() if p["kind"] == "alert"])) == 1
    finally:
        thread.stop()
        broker.stop()


@pytest.mark.parametrize("kind", ["mosquitto", "amqtt"])
def test_the_embedded_broker_carries_the_whole_path(tmp_path: Path, login, kind: str) -> None:
    """With no broker configured Palier brings one: Mosquitto, else pure-Python amqtt."""
    settings = replace(
        settings_for("mqtt://127.0.0.1:1", f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                     client_id=f"palier-emb-{uuid.uuid4().hex[:8]}"),
        broker=None, embedded_broker=kind,
    )
    thread = GatewayThread(settings)
    running = thread.start()
    try:
        port = int(running.broker_url.rsplit(":", 1)[1])
        assert port != 1883 or kind == "mosquitto"
        publish(port, [("zigbee2mqtt/leak_cave_b", WET)], mqtt5=kind == "mosquitto")
        amelie = login(running.api_url, "amelie")
        assert len(eventually(lambda: [p for p in amelie.feed() if p["kind"] == "alert"])) == 1
    finally:
        thread.stop()
