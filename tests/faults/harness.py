"""Real processes for fault tests: a killable broker, a killable ``palier run``, a counting
device publisher, and the ledger that says what was lost or duplicated.

Every count is exact. A message is *sent* when the publisher hands it to paho, *accepted*
when the broker acknowledged it (PUBACK: from then on it is the system's to keep),
*rejected* when the gateway refused it with a reason (a rate limit, a bad value). An
accepted reading is *lost* when it is not in the telemetry store at the end, and
*duplicated* for every extra copy there; alarms and their posts are counted per
(rule, device, episode) the same way. Readings are told apart by their value: each
message carries a number no other message of its device carries.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import create_engine, text

from tests.conftest import MosquittoServer, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
INSTALLATION = Path(__file__).parent / "installation"
ARTIFACTS = ROOT / "var" / "test-artifacts"

#: (device id, point, value): one reading, as the telemetry store keeps it.
ReadingKey = tuple[str, str, float]


# -- the broker -----------------------------------------------------------------------------


class KillableBroker(MosquittoServer):
    """The session's Mosquitto setup (persistence on), plus SIGKILL and an explicit snapshot
    policy. With ``snapshot_every_change`` (``autosave_interval 1`` and
    ``autosave_on_changes``) it writes its persistence file after every change, as an
    operator who cares about a broker crash configures it; each snapshot rewrites every
    queued message, so it is for modest rates (a flood makes it crawl). Without it,
    Mosquitto's default: a snapshot every 30 minutes and at shutdown."""

    def __init__(self, workdir: Path, *, snapshot_every_change: bool = True) -> None:
        super().__init__(workdir)
        self.snapshot_every_change = snapshot_every_change

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.workdir}/\n"
            + ("autosave_interval 1\nautosave_on_changes true\n"
               if self.snapshot_every_change else "")
            + "max_inflight_messages 1000\n"
            "max_queued_messages 100000\n"
            f"log_dest file {self.workdir}/mosquitto.log\n"
            "log_type error\nlog_type warning\n"
            + ("user root\n" if os.geteuid() == 0 else "")
        )
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final snapshot."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)
            self.proc = None


# -- the gateway as an operator runs it --------------------------------------------------------


class PalierProcess:
    """``palier run`` in its own process, its log in a file; it can be killed and restarted
    with the same arguments (same client id, same databases, same ``var/``)."""

    def __init__(self, workdir: Path, broker_url: str, database_url: str, *,
                 config: Path = INSTALLATION, telemetry_url: str | None = None,
                 env: dict[str, str] | None = None, extra_args: Iterable[str] = ()) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "palier.log"
        self.args = ["run", "--config", str(config), "--broker", broker_url,
                     "--database", database_url, "--listen", f"127.0.0.1:{self.port}",
                     *extra_args]
        if telemetry_url:
            self.args += ["--telemetry", telemetry_url]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait until its MQTT session is up (subscribed), so nothing sent after
        this returns can miss it even on a broker that has never seen the gateway."""
        workdir_log = self.log_path.open("ab")
        connected_before = self.log().count("connected to ")
        self.proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", *self.args],
                                     cwd=self.workdir, env=self.env, stdout=workdir_log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        workdir_log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while self.log().count("connected to ") <= connected_before:
            if self.proc.poll() is not None:
                raise AssertionError(f"palier exited with {self.proc.returncode}:\n"
                                     f"{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"palier did not connect in {timeout}s:\n"
                                     f"{self.log()[-3000:]}")
            time.sleep(0.05)
        time.sleep(0.2)  # the SUBSCRIBE leaves right after CONNACK; let the SUBACK come back

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> int:
        """SIGTERM and wait: the exit code (0 when it stopped in order)."""
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @contextmanager
    def api(self, username: str = "installateur") -> Iterator[httpx.Client]:
        """An HTTP client logged in as ``username`` (a test account, password test-pass)."""
        with httpx.Client(base_url=self.api_url, timeout=10) as client:
            reply = client.post("/api/auth/token", data={"username": username,
                                                         "password": "test-pass"})
            reply.raise_for_status()
            client.headers["Authorization"] = f"Bearer {reply.json()['access_token']}"
            yield client

    def status(self) -> dict[str, Any]:
        """``/api/gateway/status`` as the installer sees it."""
        with self.api() as client:
            reply = client.get("/api/gateway/status")
            reply.raise_for_status()
            return reply.json()

    def stats(self) -> dict[str, Any]:
        """The pipeline's counters (received, rejected by reason, ...)."""
        return self.status()["stats"]


# -- the devices ----------------------------------------------------------------------------


@dataclass
class _Sent:
    info: mqtt.MQTTMessageInfo
    readings: tuple[ReadingKey, ...]


class DevicePublisher:
    """Device firmware as paho publishes it: QoS 1, a persistent session, automatic
    reconnection, and every unacknowledged message sent again after a reconnect."""

    def __init__(self, port: int, client_id: str = "fault-devices") -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(200)
        self.client.reconnect_delay_set(min_delay=0.05, max_delay=0.5)
        self.sent: list[_Sent] = []
        #: message ids the broker acknowledged (PUBACK); paho's own flag raises on a
        #: message queued while disconnected, though it is sent and acknowledged later
        self.acknowledged: set[int] = set()
        self.client.on_publish = lambda _c, _u, mid, _rc, _p: self.acknowledged.add(mid)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect_async("127.0.0.1", port, clean_start=False, properties=properties)
        self.client.loop_start()
        deadline = time.monotonic() + 10
        while not self.client.is_connected():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the device publisher cannot reach 127.0.0.1:{port}")
            time.sleep(0.02)

    def publish(self, topic: str, payload: str, readings: Iterable[ReadingKey] = ()) -> None:
        info = self.client.publish(topic, payload, qos=1)
        self.sent.append(_Sent(info, tuple(readings)))

    def settle(self, timeout: float = 30.0) -> None:
        """Wait, bounded, until the broker acknowledged everything (or time is up)."""
        deadline = time.monotonic() + timeout
        while len(self.accepted) < len(self.sent):
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def accepted(self) -> list[_Sent]:
        return [s for s in self.sent if s.info.mid in self.acknowledged]


class Background:
    """A fault injected from a thread of its own, so that traffic goes on meanwhile; call
    the object to start it, :meth:`join` to wait for it and re-raise what it raised."""

    def __init__(self, fault: Callable[[], None], name: str = "fault") -> None:
        self._fault = fault
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            self._fault()
        except BaseException as exc:  # handed to the test by join()
            self._error = exc

    def __call__(self) -> None:
        self._thread.start()

    def join(self, timeout: float = 60.0) -> None:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"the fault injection did not finish in {timeout:g}s")
        if self._error is not None:
            raise self._error


def pace(count: int, seconds: float, step: Callable[[int], None],
         at: dict[int, Callable[[], None]] | None = None) -> float:
    """Call ``step(i)`` for i in range(count), spread evenly over ``seconds``; ``at[i]`` runs
    before step i (the fault injections). The time it took."""
    started = time.monotonic()
    for i in range(count):
        if at and i in at:
            at[i]()
        target = started + i * seconds / count
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        step(i)
    return time.monotonic() - started


# -- what the system kept ---------------------------------------------------------------------


def stored_readings(url: str, points: Iterable[str]) -> Counter[ReadingKey]:
    """Every raw reading of ``points`` in the telemetry store at ``url``, with its count."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT device_id, point, value FROM readings")).all()
    finally:
        engine.dispose()
    wanted = set(points)
    return Counter((d, p, float(v)) for d, p, v in rows if p in wanted)


@dataclass(frozen=True)
class AlarmCount:
    alarms: Counter[tuple[str, str]]  # (rule, device) -> alarms
    posts_per_alarm: dict[int, tuple[str, int]]  # alarm id -> (rule, alert posts for it)

    def posts(self, rules: Iterable[str]) -> int:
        wanted = set(rules)
        return sum(n for rule, n in self.posts_per_alarm.values() if rule in wanted)


def stored_alarms(url: str) -> AlarmCount:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            alarms = connection.execute(
                text("SELECT id, rule_id, device_id FROM alarms")).all()
            posts = Counter(row.alarm_id for row in connection.execute(
                text("SELECT alarm_id FROM posts WHERE kind = 'alert' AND alarm_id IS NOT NULL")
            ).all())
    finally:
        engine.dispose()
    return AlarmCount(Counter((a.rule_id, a.device_id) for a in alarms),
                      {a.id: (a.rule_id, posts[a.id]) for a in alarms})


def raised_at(url: str, rule: str, device: str) -> float | None:
    """When the first alarm of ``rule`` for ``device`` began: the gateway's receive time of
    the message that raised it (epoch seconds)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            value = connection.execute(text(
                "SELECT min(raised_at) FROM alarms WHERE rule_id = :rule AND device_id = :device"),
                {"rule": rule, "device": device}).scalar()
    finally:
        engine.dispose()
    return None if value is None else _epoch(value)


def _epoch(value: object) -> float:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def first_notified(url: str, rule: str, device: str | None = None) -> float | None:
    """When the first notification of ``rule``'s alarm was made (epoch seconds): the moment
    the rule fired, where ``raised_at`` is the moment its condition began."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            value = connection.execute(text(
                "SELECT min(n.created_at) FROM notifications n JOIN alarms a "
                "ON a.id = n.alarm_id WHERE a.rule_id = :rule "
                "AND (:device IS NULL OR a.device_id = :device)"),
                {"rule": rule, "device": device}).scalar()
    finally:
        engine.dispose()
    return None if value is None else _epoch(value)


@dataclass
class FaultReport:
    """The one line a fault test prints: sent, accepted, rejected with reasons, lost, dup."""

    name: str
    sent: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def count_readings(self, accepted: Iterable[ReadingKey], stored: Counter[ReadingKey]) -> None:
        """Lost: accepted but absent. Duplicated: every copy past the first, of anything sent."""
        accepted = list(accepted)
        self.lost += sum(1 for key in accepted if stored[key] == 0)
        self.duplicated += sum(n - 1 for n in stored.values() if n > 1)

    def count_alarms(self, found: AlarmCount, expected: Counter[tuple[str, str]],
                     posting: Iterable[str] = ("water-leak",)) -> None:
        """Alarms per (rule, device) against ``expected``; one alert post per alarm of the
        ``posting`` rules."""
        posting = set(posting)
        for key in set(expected) | set(found.alarms):
            have, want = found.alarms[key], expected[key]
            self.lost += max(0, want - have)
            self.duplicated += max(0, have - want)
        for rule, n in found.posts_per_alarm.values():
            if rule in posting:
                self.lost += 1 if n == 0 else 0
                self.duplicated += max(0, n - 1)
        want_posts = sum(n for (rule, _), n in expected.items() if rule in posting)
        self.details["alarms"] = f"{sum(found.alarms.values())}/{sum(expected.values())}"
        self.details["alert posts"] = f"{found.posts(posting)}/{want_posts}"

    def line(self) -> str:
        reasons = ", ".join(f"{reason}: {n}" for reason, n in self.rejected.most_common())
        extra = "".join(f" {key}={value}" for key, value in self.details.items())
        return (f"{self.name}: sent={self.sent} accepted={self.accepted} "
                f"rejected={sum(self.rejected.values())}({reasons}) lost={self.lost} "
                f"duplicated={self.duplicated}{extra} "
                f"({time.monotonic() - self.started:.1f} s)")

    def emit(self) -> str:
        """Print the line and append it to ``var/test-artifacts/faults.txt``."""
        line = self.line()
        print(line)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with (ARTIFACTS / "faults.txt").open("a") as out:
            out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")
        return line


def wait_until(check: Callable[[], Any], timeout: float, what: str,
               interval: float = 0.2) -> Any:
    """The first truthy value of ``check``; AssertionError naming ``what`` when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:g}s: {what}")
        time.sleep(interval)


def publish_through(broker_port: int, send: Callable[[DevicePublisher, int], object],
                    count: int, seconds: float, fault: Background, at: float,
                    report: FaultReport) -> Counter[Any]:
    """Publish ``count`` messages over ``seconds`` with ``fault`` started at fraction ``at``;
    fill ``report.sent``/``accepted`` and return the readings the broker accepted."""
    devices = DevicePublisher(broker_port)
    pace(count, seconds, lambda i: send(devices, i), at={int(count * at): fault})
    fault.join()
    devices.settle(timeout=30)
    devices.close()
    report.sent = len(devices.sent)
    report.accepted = len(devices.accepted)
    return Counter(key for s in devices.accepted for key in s.readings)

