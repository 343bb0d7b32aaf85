"""The broker connection over TLS, with a certificate authority made by the test and a login.

The password travels in ``PALIER_BROKER_URL`` (environment, never YAML) and must
not appear in the logs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from gateway.broker_url import BrokerUrl
from tests.conftest import free_port, wait_for_port
from tests.integration.harness import GatewayThread, eventually, settings_for

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Lilas-42"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_broker(tmp_path: Path):
    d = tmp_path
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            "/CN=Palier test CA", "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", "server.key", "-out", "server.csr", cwd=d)
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=d)
    (d / "passwd").write_text(f"palier:{PASSWORD}\n")
    subprocess.run(["mosquitto_passwd", "-U", str(d / "passwd")], check=True)
    port = free_port()
    (d / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\n"
        f"cafile {d}/ca.crt\ncertfile {d}/server.crt\nkeyfile {d}/server.key\n"
        "allow_anonymous false\n"
        f"password_file {d}/passwd\n"
        "log_dest none\n" + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen(["mosquitto", "-c", str(d / "mosquitto.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port, d / "ca.crt"
    finally:
        proc.terminate()
        proc.wait(5)


def test_the_gateway_connects_over_tls_with_a_login_and_keeps_the_password_out_of_logs(
    tls_broker, tmp_path: Path, caplog: pytest.LogCaptureFixture, login
) -> None:
    port, ca = tls_broker
    caplog.set_level(logging.DEBUG)
    url = f"mqtts://palier:{PASSWORD}@127.0.0.1:{port}"
    settings = settings_for(url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                            client_id=f"palier-tls-{uuid.uuid4().hex[:8]}")
    from dataclasses import replace

    thread = GatewayThread(replace(settings, ca_file=str(ca)))
    running = thread.start()
    try:
        device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        device.username_pw_set("palier", PASSWORD)
        device.tls_set(ca_certs=str(ca))
        device.connect("127.0.0.1", port)
        device.loop_start()
        info = device.publish("zigbee2mqtt/leak_cave_b", '{"water_leak": true}', qos=1)
        info.wait_for_publish(10)
        device.disconnect()
        device.loop_stop()
        amelie = login(running.api_url, "amelie")
        assert eventually(lambda: [p for p in amelie.feed() if p["kind"] == "alert"])
    finally:
        thread.stop()
    assert "mqtts://palier@127.0.0.1" in caplog.text, "the URL is logged without its password"
    assert PASSWORD not in caplog.text


def test_a_wrong_ca_is_refused_and_retried_not_a_crash(tls_broker, tmp_path: Path) -> None:
    port, _ = tls_broker
    other = tmp_path / "other"
    other.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
            "/CN=Someone else", "-keyout", "o.key", "-out", "o.crt", cwd=other)
    import asyncio

    from gateway.mqtt_intake import GmqttIntake

    async def attempt() -> bool:
        intake = GmqttIntake(BrokerUrl.parse(f"mqtts://palier:{PASSWORD}@127.0.0.1:{port}"),
                             "palier-badca", ["x/#"], ca_file=str(other / "o.crt"))

        async def handler(_message: object) -> None:
            return None

        task = asyncio.create_task(intake.run(handler))
        await asyncio.sleep(1.5)
        connected = intake.connected.is_set()
        await intake.stop()
        await asyncio.wait_for(task, 10)
        return connected

    assert asyncio.run(attempt()) is False
