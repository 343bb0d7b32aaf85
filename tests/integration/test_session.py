"""The gateway's MQTT session: persistent across restarts, QoS 1, Nagle off."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from gateway.mqtt_intake import socket_of
from tests.integration.harness import GatewayThread, eventually, publish, settings_for

pytestmark = pytest.mark.integration

WET = '{"water_leak":true,"battery":97}'


def test_messages_sent_while_the_gateway_is_down_arrive_when_it_returns(
    mosquitto, tmp_path: Path, login
) -> None:
    settings = settings_for(mosquitto.url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                            client_id=f"palier-session-{uuid.uuid4().hex[:8]}")
    first = GatewayThread(settings)
    first.start()
    first.stop()

    publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", WET)])  # nobody is connected

    second = GatewayThread(settings)
    running = second.start()
    try:
        amelie = login(running.api_url, "amelie")
        posts = eventually(lambda: [p for p in amelie.feed() if p["kind"] == "alert"])
        assert len(posts) == 1
    finally:
        second.stop()


def test_the_client_socket_has_nagle_disabled(mosquitto, tmp_path: Path) -> None:
    settings = settings_for(mosquitto.url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                            client_id=f"palier-nodelay-{uuid.uuid4().hex[:8]}")
    thread = GatewayThread(settings)
    running = thread.start()
    try:
        sock = socket_of(running.intake)
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        thread.stop()
