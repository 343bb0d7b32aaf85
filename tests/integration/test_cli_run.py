"""``palier run`` as an operator starts it: flags and PALIER_* variables, SIGTERM, bad input."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.integration.harness import INSTALLATION, publish

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def palier(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=cwd, env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"palier exited early: {proc.communicate()[1]}")
        try:
            reply = httpx.get(f"{url}/api/healthz", timeout=1)
            if reply.status_code == 200:
                return reply.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("palier did not become healthy")


def test_run_from_environment_then_stop_cleanly_on_sigterm(mosquitto, tmp_path: Path) -> None:
    port = free_port()
    proc = palier(
        "run", "--config", str(INSTALLATION),
        env={"PALIER_BROKER_URL": mosquitto.url,
             "PALIER_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
             "PALIER_LISTEN": f"127.0.0.1:{port}"},
        cwd=tmp_path,
    )
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert health["status"] == "ok"
        publish(mosquitto.port, [("zigbee2mqtt/temp_hall_a", '{"temperature": 19.5}')])
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "stopping" in err


def test_run_refuses_an_invalid_installation_with_positions(tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "bridges").mkdir(parents=True)
    (config / "site.yaml").write_text((INSTALLATION / "site.yaml").read_text())
    (config / "bridges" / "z.yaml").write_text(
        "bridge: {id: z, format: zigbee2mqtt}\n"
        "devices:\n"
        "  - {id: d1, source: s1, kind: water_leak_sensor, place: lilas/z/basement}\n"
    )
    proc = palier("run", "--config", str(config), "--listen", f"127.0.0.1:{free_port()}")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"{config}/bridges/z.yaml:3:" in err and "devices[0].place" in err
    assert "Traceback" not in err


def test_run_says_clearly_when_its_port_is_taken(mosquitto, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = palier("run", "--config", str(INSTALLATION), "--broker", mosquitto.url,
                      "--database", f"sqlite:///{tmp_path / 'x.db'}",
                      "--listen", f"127.0.0.1:{port}", cwd=tmp_path)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_run_rejects_a_malformed_broker_url(tmp_path: Path) -> None:
    proc = palier("run", "--config", str(INSTALLATION), "--broker", "http://x")
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "must start with mqtt:// or mqtts://" in err
