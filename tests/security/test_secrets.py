"""Secrets come from the environment or from files, and never show in logs or answers.

``palier run`` is started as an operator would with secrets handed over as files
(``PALIER_BROKER_PASSWORD_FILE``, ``PALIER_DATABASE_URL_FILE``,
``PALIER_INFLUX_TOKEN_FILE``): it must use them (it logs in to a broker that requires the
password, to a PostgreSQL URL that carries one) and they must appear nowhere in its log
nor in what its API answers. The installation's YAML has no place for them at all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from gateway.secrets import SecretError, secret
from gateway.telemetry.errors import TelemetryError
from gateway.telemetry.influx import token_from_env
from tests.conftest import PostgresServer, free_port, wait_for_port
from tests.faults.harness import INSTALLATION, PalierProcess, wait_until

BROKER_PASSWORD = "br0ker-Pa55-Lilas-71"
DB_PASSWORD = "db-Pa55-Tilleuls-93"
INFLUX_TOKEN = "influx-T0ken-Pyramides-28"
DEVICE_PASSWORD = "device-pass-5"


def test_a_secret_comes_from_the_variable_or_from_its_file(tmp_path: Path) -> None:
    file = tmp_path / "password"
    file.write_text("from-the-file\n")
    assert secret("X", {"X": "direct", "X_FILE": str(file)}) == "direct"
    assert secret("X", {"X_FILE": str(file)}) == "from-the-file", "one trailing newline cut"
    assert secret("X", {}) is None
    with pytest.raises(SecretError, match=r"\$X_FILE names .*missing, which cannot be read"):
        secret("X", {"X_FILE": str(tmp_path / "missing")})
    assert token_from_env({"PALIER_INFLUX_TOKEN_FILE": str(file)}) == "from-the-file"
    with pytest.raises(TelemetryError, match="PALIER_INFLUX_TOKEN_FILE"):
        token_from_env({})


def test_the_yaml_has_no_place_for_a_secret(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(INSTALLATION, config)
    bridge = config / "bridges" / "zigbee.yaml"
    bridge.write_text(bridge.read_text().replace(
        "bridge: {id: z2m, format: zigbee2mqtt, base_topic: zigbee2mqtt}",
        "bridge: {id: z2m, format: zigbee2mqtt, base_topic: zigbee2mqtt, password: hunter2}"))
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "validate",
                           "--config", str(config)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    out = done.stdout + done.stderr
    assert done.returncode == 1
    assert re.search(rf"{re.escape(str(bridge))}:\d+:\d+: bridge.password: unknown field", out), out
    assert "Traceback" not in out


@pytest.fixture
def locked_broker(tmp_path: Path) -> Iterator[int]:
    """A Mosquitto that lets in only ``palier`` and ``device``, with their passwords."""
    d = tmp_path / "broker"
    d.mkdir()
    passwd = d / "passwd"
    passwd.write_text(f"palier:{BROKER_PASSWORD}\ndevice:{DEVICE_PASSWORD}\n")
    subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)
    port = free_port()
    (d / "mosquitto.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\n"
        f"persistence true\npersistence_location {d}/\nlog_dest none\n"
        + ("user root\n" if os.geteuid() == 0 else ""))
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c",
                             str(d / "mosquitto.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.integration
def test_secrets_from_files_are_used_and_never_shown(
    tmp_path: Path, locked_broker: int, postgres_server: PostgresServer
) -> None:
    database = make_url(postgres_server.fresh_database()).set(password=DB_PASSWORD)
    files = tmp_path / "secrets"
    files.mkdir(mode=0o700)
    (files / "broker").write_text(BROKER_PASSWORD + "\n")
    (files / "database").write_text(database.render_as_string(hide_password=False))
    (files / "influx").write_text(INFLUX_TOKEN)
    closed = free_port()  # an InfluxDB that is not there: its errors get logged
    palier = PalierProcess(
        tmp_path, f"mqtt://palier@127.0.0.1:{locked_broker}", "", env={
            "PALIER_BROKER_PASSWORD_FILE": str(files / "broker"),
            "PALIER_DATABASE_URL_FILE": str(files / "database"),
            "PALIER_INFLUX_TOKEN_FILE": str(files / "influx"),
        }, extra_args=["--influx-url", f"http://127.0.0.1:{closed}", "--influx-org", "o",
                       "--influx-bucket", "b"])
    palier.args.remove("--database")
    palier.args.remove("")
    answers = []
    try:
        palier.start()  # connected: the broker accepted the password from the file
        import paho.mqtt.client as mqtt

        device = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        device.username_pw_set("device", DEVICE_PASSWORD)
        device.connect("127.0.0.1", locked_broker)
        device.loop_start()
        device.publish("zigbee2mqtt/leak_cave_b", '{"water_leak": true}', qos=1) \
            .wait_for_publish(10)
        device.disconnect()
        device.loop_stop()
        with palier.api("syndic") as syndic:
            wait_until(lambda: syndic.get("/api/alarms").json()["items"], 20,
                       "the leak reached the PostgreSQL database")
        with palier.api("installateur") as installer:
            for path in ("/api/gateway/status", "/api/admin/config", "/api/gateway/dead-letters",
                         "/api/admin/traffic", "/openapi.json"):
                reply = installer.get(path)
                answers.append(f"{path} {reply.status_code} {reply.text}")
        answers.append(httpx.get(f"{palier.api_url}/api/healthz").text)
        wait_until(lambda: "unreachable" in palier.log() or "InfluxDB" in palier.log(), 20,
                   "the InfluxDB sink tried and logged its failure")
        assert palier.stop() == 0
    finally:
        palier.stop()
    log = palier.log()
    assert f"mqtt://palier@127.0.0.1:{locked_broker}" in log, "the URL is logged, bare"
    for name, value in (("broker password", BROKER_PASSWORD), ("database password", DB_PASSWORD),
                        ("influx token", INFLUX_TOKEN)):
        assert value not in log, f"the {name} is in the log"
        assert not [a[:80] for a in answers if value in a], f"the {name} is in an API answer"
