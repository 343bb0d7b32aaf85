"""``palier record`` against a real Mosquitto: what firmware publishes, line by line.

Each test gets its own base topics, so retained messages other tests leave on the
session's broker never reach its recorder.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.record import RecordedMessage
from tests.conftest import MosquittoServer, free_port
from tests.integration.harness import publish
from tests.replay.test_replay import CONFIG, replay

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BINARY = bytes([0x02, 0x00, 0xFE, 0x81, 0x10, 0x00, 0x7F, 0xC3])


@dataclass
class Installation:
    """A copy of the replay fixture's site, with bridges under this test's own topics."""

    config: Path
    z2m: str
    tele: str


@pytest.fixture
def installation(tmp_path: Path) -> Installation:
    uid = uuid.uuid4().hex[:8]
    config = tmp_path / "config"
    (config / "bridges").mkdir(parents=True)
    shutil.copy(CONFIG / "site.yaml", config / "site.yaml")
    (config / "rules").mkdir()
    shutil.copy(CONFIG / "rules" / "water.yaml", config / "rules" / "water.yaml")
    z2m, tele = f"z2m-{uid}", f"tele-{uid}"
    (config / "bridges" / "zigbee.yaml").write_text(
        f"bridge: {{id: z2m-lilas, format: zigbee2mqtt, base_topic: {z2m}}}\n"
        "devices:\n"
        "  - {id: leak-lilas-b-cave, source: leak_cave_b, kind: water_leak_sensor,\n"
        "     place: lilas/b/basement}\n", encoding="utf-8")
    (config / "bridges" / "tasmota.yaml").write_text(
        "bridge: {id: tasmota-lilas, format: tasmota,\n"
        f"         prefixes: {{tele: {tele}, stat: stat-{uid}, cmnd: cmnd-{uid}}}}}\n"
        "devices:\n"
        "  - id: pump-lilas-b\n"
        "    source: pompe-b\n"
        "    kind: switch\n"
        "    place: lilas/b/basement\n"
        "    points: {state: {path: POWER}, power: {path: ENERGY.Power}}\n", encoding="utf-8")
    return Installation(config, z2m, tele)


class Recording:
    """``palier record`` in a child process, its stderr read as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "record", *args], cwd=ROOT,
            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        self._lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        assert self.proc.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(self.proc.stderr,), daemon=True)
        self._reader.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self._lines.put(line)

    def wait_for(self, text: str, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self._lines.empty():
                    break
                continue
            self.stderr.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from palier record; stderr so far: {self.stderr}")

    def finish(self, timeout: float = 15.0) -> tuple[int, str, str]:
        """Wait for the exit; (exit code, stdout, all of stderr). Closes the pipes."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        code = self.proc.wait(timeout)
        stdout = self.proc.stdout.read()
        self.proc.stdout.close()
        self._reader.join(5)
        self.proc.stderr.close()
        while not self._lines.empty():
            self.stderr.append(self._lines.get())
        return code, stdout, "".join(self.stderr)


@pytest.fixture
def recordings() -> Iterator[list[Recording]]:
    started: list[Recording] = []
    yield started
    for recording in started:
        if recording.proc.poll() is None:
            recording.proc.kill()
        if recording.proc.stdout is not None and not recording.proc.stdout.closed:
            recording.finish()


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_record_writes_one_line_per_message_then_stops_at_count(
        mosquitto: MosquittoServer, installation: Installation, tmp_path: Path,
        recordings: list[Recording]) -> None:
    z2m, tele = installation.z2m, installation.tele
    # Retained before we start: a fresh subscriber gets it first, flagged retained.
    publish(mosquitto.port, [(f"{z2m}/leak_cave_b/availability", '{"state":"online"}')],
            retain=True)
    out = tmp_path / "traffic.jsonl"
    before = time.time()
    recording = Recording("--config", str(installation.config), "--out", str(out),
                          "--count", "5", env={"PALIER_BROKER_URL": mosquitto.url})
    recordings.append(recording)
    announced = recording.wait_for("recording")
    assert f"{z2m}/#" in announced and f"{tele}/+/SENSOR" in announced
    assert "palier-record-" in announced
    publish(mosquitto.port, [
        ("elsewhere/not/ours", "ignored: no bridge subscribes to it"),
        (f"{z2m}/leak_cave_b", '{"water_leak":true,"battery":76}'),
        (f"{z2m}/leak_cave_b", BINARY),
        (f"{tele}/pompe-b/SENSOR", '{"Time":"2026-11-25T10:45:00","ENERGY":{"Power":"n/a"}}'),
        (f"{z2m}/leak_cave_b", '{"water_leak":false,"battery":76}'),
        (f"{z2m}/leak_cave_b", "after the count: not recorded"),
    ])
    code, stdout, stderr = recording.finish()
    after = time.time()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert re.fullmatch(rf"recorded 5 messages on 3 topics in \d+\.\d s to {out}\n", stdout)

    lines = lines_of(out)
    assert [(line["topic"], line["retain"]) for line in lines] == [
        (f"{z2m}/leak_cave_b/availability", True),
        (f"{z2m}/leak_cave_b", False),
        (f"{z2m}/leak_cave_b", False),
        (f"{tele}/pompe-b/SENSOR", False),
        (f"{z2m}/leak_cave_b", False),
    ]
    assert lines[1]["payload"] == '{"water_leak":true,"battery":76}'
    assert lines[2]["payload"] == {"base64": base64.b64encode(BINARY).decode()}
    assert all(line["qos"] == 1 for line in lines)
    times = [line["t"] for line in lines]
    assert before <= times[0] and times == sorted(times) and times[-1] <= after
    assert set(lines[0]) == {"t", "topic", "payload", "qos", "retain"}

    # What was recorded replays: the leak is raised and cleared, the binary frame and
    # the Tasmota "n/a" are rejected with their reasons.
    messages = [RecordedMessage.from_line(text, n) for n, text in
                enumerate(out.read_text(encoding="utf-8").splitlines(), 1)]
    assert messages[2].payload == BINARY
    code, timeline, err = replay(out, installation.config)
    assert code == 0, err
    assert "RAISE     critical  water-leak  leak-lilas-b-cave" in timeline
    assert f"REJECT    {z2m}/leak_cave_b  not UTF-8" in timeline
    assert f"REJECT    {tele}/pompe-b/SENSOR  bad value: point power expects a number" in timeline
    assert "CLEAR     water-leak  leak-lilas-b-cave" in timeline


def test_record_flushes_as_it_goes_and_stops_on_sigterm(
        mosquitto: MosquittoServer, installation: Installation, tmp_path: Path,
        recordings: list[Recording]) -> None:
    out = tmp_path / "traffic.jsonl"
    recording = Recording("--config", str(installation.config), "--out", str(out),
                          "--broker", mosquitto.url)
    recordings.append(recording)
    recording.wait_for("recording")
    publish(mosquitto.port, [(f"{installation.z2m}/leak_cave_b", '{"water_leak":false}'),
                             (f"{installation.tele}/pompe-b/LWT", "Online")])
    deadline = time.monotonic() + 10
    while (not out.exists() or len(out.read_text().splitlines()) < 2) and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(lines_of(out)) == 2, "lines must be on disk before the recorder stops"
    recording.proc.send_signal(signal.SIGTERM)
    code, stdout, stderr = recording.finish()
    assert code == 0, stderr
    assert stdout.startswith("recorded 2 messages on 2 topics in ")
    assert "Traceback" not in stderr


def test_record_stops_after_its_duration(mosquitto: MosquittoServer, installation: Installation,
                                         tmp_path: Path, recordings: list[Recording]) -> None:
    out = tmp_path / "quiet.jsonl"
    started = time.monotonic()
    recording = Recording("--config", str(installation.config), "--out", str(out),
                          "--broker", mosquitto.url, "--duration", "1s")
    recordings.append(recording)
    code, stdout, stderr = recording.finish(timeout=20)
    assert code == 0, stderr
    assert time.monotonic() - started >= 1.0
    assert stdout.startswith("recorded 0 messages on 0 topics in ")
    assert out.read_text() == ""


def test_record_without_a_broker_says_so(installation: Installation, tmp_path: Path) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "record", "--config", str(installation.config),
         "--out", str(tmp_path / "x.jsonl"), "--broker", url],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(f"palier record: cannot connect to the MQTT broker at {url}")
    assert "Traceback" not in done.stderr


def test_record_refuses_an_invalid_config(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main

    assert main(["record", "--config", str(tmp_path / "nowhere"),
                 "--out", str(tmp_path / "x.jsonl")]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'nowhere'}:1:1: -: no such directory",
        f"palier record: {tmp_path / 'nowhere'} is not valid; nothing recorded",
    ]
    assert not (tmp_path / "x.jsonl").exists()
