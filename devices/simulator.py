"""A stand-in for an installation's zigbee2mqtt bridges, publishing what real devices would.

Demos, manual tests and integration tests need traffic that looks like the field: the
same topics, the same JSON shapes as the firmware (compare ``tests/fixtures/payloads.jsonl``),
retained availability, and incidents that happen on cue, so that a rule visibly fires
within a minute of starting instead of whenever a real pipe bursts.

The simulator reads nothing but an :class:`~gateway.config.installation.Installation`:
every device of a ``zigbee2mqtt`` bridge gets a small behaviour model chosen by its kind
(``_MODELS``), and its payload is laid out by its points, so a device that declares
``points: {temperature: {path: device_temperature}}`` is simulated the way the gateway
will read it. Bridges of other formats are skipped.

Threads: paho's network loop runs in its own thread (``loop_start``); one scheduler thread
owns the models and publishes. ``paho.mqtt.client.Client.publish`` is thread-safe.

Exception tree::

    SimulatorError          the broker cannot be reached or refuses the connection,
                            or the configuration given to the command line is unusable
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import json
import logging
import os
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from devices.kinds import KINDS, PointType
from devices.schema import DeviceSpec

if TYPE_CHECKING:
    from gateway.config.installation import Installation

log = logging.getLogger(__name__)

Scalar = bool | int | float | str

#: zigbee2mqtt's base topic when a bridge does not set one.
DEFAULT_BASE_TOPIC = "zigbee2mqtt"
QOS = 1
ONLINE = b'{"state":"online"}'
OFFLINE = b'{"state":"offline"}'


class SimulatorError(Exception):
    """The simulator cannot run: broker unreachable or refusing, or unusable configuration."""


# ── scenario ──────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class ScriptedEvent:
    """A change forced on one device at ``at`` seconds into each loop (at speed 1).

    ``pin`` holds point values that override the device's own behaviour until an event
    ``release``-s them; a pinned or released device publishes at once, as zigbee2mqtt
    does on a change.
    """

    at: float
    device_id: str
    pin: Mapping[str, Scalar] = field(default_factory=dict)
    release: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True, slots=True)
class Scenario:
    """Scripted events replayed every ``period`` seconds (at speed 1)."""

    period: float
    events: tuple[ScriptedEvent, ...] = ()

    def __post_init__(self) -> None:
        if self.period <= 0:
            raise ValueError("a scenario's period must be positive")
        for event in self.events:
            if not 0 <= event.at < self.period:
                raise ValueError(
                    f"event {event.label or event.device_id!r} at {event.at}s lies outside "
                    f"the scenario's period of {self.period}s"
                )


LEAK_AT, LEAK_DRY_AT = 20.0, 180.0
LIFT_FAULT_AT, LIFT_BACK_AT = 40.0, 300.0
SCENARIO_PERIOD = 600.0


def default_scenario(installation: Installation) -> Scenario:
    """A leak on the first water leak sensor, a fault on the first lift monitor, every 10 min.

    "First" is the order of the bridge files and of their device lists, so an installer
    picks the actors by listing them first (the demo lists entrance B of Les Lilas first).
    The times leave a demo visitor something to see within a minute, and long enough
    incidents that rules with a ``for`` of a minute or two still raise and clear.
    """
    specs = [spec for _, spec in _zigbee_devices(installation)]
    leak = next((s for s in specs if s.kind == "water_leak_sensor"), None)
    lift = next((s for s in specs if s.kind == "lift_monitor"), None)
    events: list[ScriptedEvent] = []
    if leak is not None:
        events += [
            ScriptedEvent(LEAK_AT, leak.id, pin={"water_leak": True}, label="leak starts"),
            ScriptedEvent(LEAK_DRY_AT, leak.id, release=("water_leak",), label="leak dried"),
        ]
    if lift is not None:
        fault_points = ("fault", "running", "state")
        events += [
            ScriptedEvent(
                LIFT_FAULT_AT,
                lift.id,
                pin={"fault": True, "running": False, "state": "fault"},
                label="lift fault",
            ),
            ScriptedEvent(LIFT_BACK_AT, lift.id, release=fault_points, label="lift repaired"),
        ]
    return Scenario(SCENARIO_PERIOD, tuple(events))


# ── behaviour models, one per device kind ────────────────────────────────────────────


def _setting(installation: Installation, place_id: str) -> str:
    """Where a device sits, as far as its readings care: basement, hall, landing or other."""
    if place_id.endswith("/basement"):
        return "basement"
    node = installation.places.get(place_id)
    if node is not None and node.kind == "floor":
        return "hall" if place_id.endswith("/0") else "landing"
    return "other"


class _Model:
    """The evolving state of one simulated device; subclasses model one kind each.

    ``values()`` are the kind's points by name; ``extras()`` are the keys zigbee2mqtt adds
    that Palier does not model as points (``linkquality``, ``voltage``…). Only ``step``
    moves the state, once per ``period`` seconds of simulated time.
    """

    period: ClassVar[float] = 60.0

    def __init__(self, rng: random.Random, setting: str) -> None:
        self.rng = rng
        self.setting = setting
        self.linkquality = rng.randint(40, 180)

    def step(self) -> None:
        self.linkquality = min(255, max(5, self.linkquality + self.rng.randint(-8, 8)))

    def values(self) -> dict[str, Scalar]:
        return {}

    def extras(self) -> dict[str, Scalar]:
        return {"linkquality": self.linkquality}


class _BatteryModel(_Model):
    """A battery device (Aqara-like): percentage, a CR2032 voltage that follows it."""

    def __init__(self, rng: random.Random, setting: str) -> None:
        super().__init__(rng, setting)
        self.battery = rng.randint(55, 100)

    @property
    def voltage(self) -> int:
        return 2800 + self.battery * 3 - (self.battery % 7)

    def values(self) -> dict[str, Scalar]:
        return {"battery": self.battery}

    def extras(self) -> dict[str, Scalar]:
        return {**super().extras(), "voltage": self.voltage}


def _ambient(setting: str) -> float:
    return {"basement": 13.5, "hall": 18.5, "landing": 20.5}.get(setting, 20.0)


class _Drift:
    """A mean-reverting random walk: readings that wander like a real room's, never jump."""

    def __init__(self, rng: random.Random, mean: float, spread: float, step: float) -> None:
        self.rng, self.mean, self.step_size = rng, mean, step
        self.value = mean + rng.uniform(-spread, spread)

    def step(self) -> float:
        self.value += 0.1 * (self.mean - self.value) + self.rng.gauss(0.0, self.step_size)
        return self.value


class _LeakModel(_BatteryModel):
    """Aqara SJCGQ11LM: dry unless a scenario pins ``water_leak``; reports every minute."""

    period = 60.0

    def __init__(self, rng: random.Random, setting: str) -> None:
        super().__init__(rng, setting)
        self.temperature = _Drift(rng, _ambient(setting), 1.5, 0.2)

    def step(self) -> None:
        super().step()
        self.temperature.step()

    def values(self) -> dict[str, Scalar]:
        return {
            **super().values(),
            "battery_low": self.battery < 20,
            "tamper": False,
            "temperature": round(self.temperature.value),
            "water_leak": False,
        }

    def extras(self) -> dict[str, Scalar]:
        return {**super().extras(), "device_temperature": round(self.temperature.value)}


class _TemperatureModel(_BatteryModel):
    """Aqara WSDCGQ11LM: temperature and humidity drifting slowly; every 30 s."""

    period = 30.0

    def __init__(self, rng: random.Random, setting: str) -> None:
        super().__init__(rng, setting)
        self.temperature = _Drift(rng, _ambient(setting), 1.0, 0.08)
        self.humidity = _Drift(rng, 68.0 if setting == "basement" else 48.0, 4.0, 0.3)

    def step(self) -> None:
        super().step()
        self.temperature.step()
        self.humidity.step()

    def values(self) -> dict[str, Scalar]:
        return {
            **super().values(),
            "humidity": round(min(100.0, max(0.0, self.humidity.value)), 2),
            "temperature": round(self.temperature.value, 2),
        }


class _LiftModel(_Model):
    """A lift controller's monitor: idle or moving, no fault unless a scenario pins one."""

    period = 20.0

    def __init__(self, rng: random.Random, setting: str) -> None:
        super().__init__(rng, setting)
        self.moving = False

    def step(self) -> None:
        super().step()
        self.moving = self.rng.random() < (0.4 if self.moving else 0.35)

    def values(self) -> dict[str, Scalar]:
        state = "moving" if self.moving else "idle"
        return {"fault": False, "running": self.moving, "state": state}

    def extras(self) -> dict[str, Scalar]:
        return {}


class _DoorModel(_BatteryModel):
    """Aqara MCCGQ11LM: ``contact`` true while closed; opened now and then, closed soon."""

    period = 60.0

    def __init__(self, rng: random.Random, setting: str) -> None:
        super().__init__(rng, setting)
        self.closed = True
        self.temperature = _Drift(rng, _ambient(setting), 1.0, 0.1)

    def step(self) -> None:
        super().step()
        self.temperature.step()
        if self.closed:
            self.closed = self.rng.random() >= (0.1 if self.setting == "basement" else 0.3)
        else:
            self.closed = self.rng.random() < 0.8

    def values(self) -> dict[str, Scalar]:
        return {**super().values(), "contact": self.closed}

    def extras(self) -> dict[str, Scalar]:
        return {**super().extras(), "device_temperature": round(self.temperature.value)}


class _MotionModel(_BatteryModel):
    """Aqara RTCGQ11LM: occupancy and illuminance; halls are busier than cellars."""

    period = 60.0

    def __init__(self, rng: random.Random, setting: str) -> None:
        super().__init__(rng, setting)
        self.occupied = False
        self.illuminance = 0

    def step(self) -> None:
        super().step()
        dark = self.setting == "basement"
        self.occupied = self.rng.random() < (0.1 if dark else 0.3)
        lit = self.occupied or not dark
        self.illuminance = self.rng.randint(60, 220) if lit else self.rng.randint(0, 5)

    def values(self) -> dict[str, Scalar]:
        return {**super().values(), "occupancy": self.occupied}

    def extras(self) -> dict[str, Scalar]:
        return {**super().extras(), "illuminance": self.illuminance}


class _PlugModel(_Model):
    """A metering plug (e.g. on a sump pump): a few watts idle, a few hundred when pumping."""

    period = 30.0

    def __init__(self, rng: random.Random, setting: str) -> None:
        super().__init__(rng, setting)
        self.power = 3.0
        self.energy = round(rng.uniform(10.0, 400.0), 2)

    def step(self) -> None:
        super().step()
        pumping = self.rng.random() < 0.1
        self.power = self.rng.uniform(350.0, 450.0) if pumping else self.rng.uniform(1.5, 4.5)
        self.energy = round(self.energy + self.power * self.period / 3_600_000, 3)

    def values(self) -> dict[str, Scalar]:
        return {"power": round(self.power, 1)}

    def extras(self) -> dict[str, Scalar]:
        return {
            **super().extras(),
            "current": round(self.power / 230.0, 2),
            "energy": self.energy,
            "state": "ON",
            "voltage": 230,
        }


_MODELS: dict[str, type[_Model]] = {
    "water_leak_sensor": _LeakModel,
    "temperature_sensor": _TemperatureModel,
    "lift_monitor": _LiftModel,
    "door_sensor": _DoorModel,
    "motion_sensor": _MotionModel,
    "energy_meter": _PlugModel,
    "generic": _Model,
}


# ── devices: a model plus how its points are laid out in the payload ──────────────────


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where one point goes in the payload, and how to undo the gateway's scale/offset."""

    name: str
    path: tuple[str, ...]
    type: PointType
    scale: float = 1.0
    offset: float = 0.0

    def raw(self, value: Scalar) -> Scalar:
        """The value the firmware would send so that ``raw * scale + offset == value``."""
        if self.type != "number" or isinstance(value, bool) or not isinstance(value, int | float):
            return value
        if self.scale in (0.0, 1.0) and self.offset == 0.0:
            return value
        return round((value - self.offset) / (self.scale or 1.0), 6)


def _layouts(spec: DeviceSpec) -> tuple[_Layout, ...]:
    """The device's points: its kind's defaults, overridden or extended by ``points:``."""
    merged = {p.name: _Layout(p.name, (p.name,), p.type) for p in KINDS[spec.kind]}
    for name, point in spec.points.items():
        base = merged.get(name)
        path = point.path or (".".join(base.path) if base else name)
        merged[name] = _Layout(
            name,
            tuple(path.split(".")),
            point.type or (base.type if base else "number"),
            point.scale,
            point.offset,
        )
    return tuple(merged.values())


def _placeholder(point: _Layout, rng: random.Random) -> Scalar:
    """A value for a point the kind's model does not know (a device's own extra point)."""
    if point.type == "bool":
        return False
    if point.type == "text":
        return "ok"
    return round(rng.uniform(0.0, 100.0), 1)


@dataclass(frozen=True, slots=True)
class SimulatedDevice:
    """One device the simulator drives, and where it publishes."""

    device_id: str
    source: str
    kind: str
    place_id: str
    state_topic: str
    availability_topic: str


class _Device:
    """Mutable companion of a :class:`SimulatedDevice`, owned by the scheduler thread."""

    def __init__(self, info: SimulatedDevice, spec: DeviceSpec, model: _Model) -> None:
        self.info = info
        self.model = model
        self.layout = _layouts(spec)
        self.pinned: dict[str, Scalar] = {}
        self.placeholders = {
            p.name: _placeholder(p, model.rng) for p in self.layout if p.name not in model.values()
        }

    def payload(self) -> bytes:
        """The device's state as zigbee2mqtt would publish it: compact JSON, sorted keys."""
        body: dict[str, Any] = dict(self.model.extras())
        values = {**self.placeholders, **self.model.values(), **self.pinned}
        for point in self.layout:
            node = body
            for key in point.path[:-1]:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = node[key] = {}
                node = child
            node[point.path[-1]] = point.raw(values[point.name])
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _zigbee_devices(installation: Installation) -> Iterable[tuple[str, DeviceSpec]]:
    """(base topic, device) for every device of the installation's zigbee2mqtt bridges."""
    for bridge_file in installation.bridges:
        bridge = bridge_file.bridge
        if bridge.format != "zigbee2mqtt":
            log.debug("simulator skips bridge %s: format %s", bridge.id, bridge.format)
            continue
        base = (bridge.base_topic or DEFAULT_BASE_TOPIC).rstrip("/")
        for spec in bridge_file.devices:
            yield base, spec


def _check_topic_part(text: str, what: str) -> None:
    if not text or any(c in text for c in "+#\0"):
        raise ValueError(f"{what} {text!r} cannot be part of an MQTT topic (empty, +, # or NUL)")


# ── the simulator ─────────────────────────────────────────────────────────────────────


class Simulator:
    """Publishes an installation's zigbee2mqtt traffic to a broker until stopped.

    ``speed`` divides every delay (periods and scenario times), so tests can live through
    ten simulated minutes in a few seconds. ``seed`` makes the readings reproducible
    (timing still depends on the machine). Use as a context manager, or ``start()`` /
    ``stop()``. ``start()`` raises :class:`SimulatorError` when nothing listens at
    ``host:port``; once the broker accepts, a background thread announces every bridge
    and device online (retained), publishes their first states, then keeps them
    reporting and plays ``scenario`` on a loop.
    """

    CONNECT_TIMEOUT = 10.0
    STOP_TIMEOUT = 5.0

    def __init__(
        self,
        installation: Installation,
        host: str,
        port: int,
        *,
        speed: float = 1.0,
        seed: int | None = None,
        client_id: str = "palier-simulator",
        scenario: Scenario | None = None,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.host, self.port, self.speed = host, port, speed
        self._rng = random.Random(seed)
        self._bases: list[str] = []
        self._devices: dict[str, _Device] = {}
        for base, spec in _zigbee_devices(installation):
            _check_topic_part(spec.source, f"device {spec.id}: source")
            if base not in self._bases:
                self._bases.append(base)
            info = SimulatedDevice(
                device_id=spec.id,
                source=spec.source,
                kind=spec.kind,
                place_id=spec.place,
                state_topic=f"{base}/{spec.source}",
                availability_topic=f"{base}/{spec.source}/availability",
            )
            model_rng = random.Random(self._rng.random())
            model = _MODELS.get(spec.kind, _Model)(model_rng, _setting(installation, spec.place))
            self._devices[spec.id] = _Device(info, spec, model)
        self.scenario = scenario if scenario is not None else default_scenario(installation)
        for event in self.scenario.events:
            if event.device_id not in self._devices:
                raise ValueError(
                    f"scenario event {event.label!r} names device {event.device_id!r}, "
                    "which is not a zigbee2mqtt device of the installation"
                )

        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if tls:
            self._client.tls_set()
        if self._bases:
            # zigbee2mqtt's own last will: a crashed simulator looks like a crashed bridge.
            self._client.will_set(f"{self._bases[0]}/bridge/state", OFFLINE, qos=QOS, retain=True)
        self._client.max_inflight_messages_set(100)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

        self._connected = threading.Event()
        self._ready = threading.Event()
        self._connect_failure: str | None = None
        self._started = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._queue: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self._pending: list[mqtt.MQTTMessageInfo] = []
        self._pending_lock = threading.Lock()
        self._published = 0

    @property
    def devices(self) -> tuple[SimulatedDevice, ...]:
        """The devices this simulator drives, in configuration order."""
        return tuple(d.info for d in self._devices.values())

    @property
    def bridge_state_topics(self) -> tuple[str, ...]:
        return tuple(f"{base}/bridge/state" for base in self._bases)

    @property
    def published(self) -> int:
        """How many messages were handed to the MQTT client so far."""
        with self._pending_lock:
            return self._published

    # lifecycle

    def start(self) -> None:
        """Open the connection and run in the background; does not wait for the broker's answer.

        Only the TCP connection is made here, so an unreachable broker fails at once with
        :class:`SimulatorError`, while a caller on an event loop is never blocked waiting
        for CONNACK — that loop may be the one running an in-process broker (amqtt).
        The background thread announces the bridges once the broker accepts; see
        :meth:`wait_ready`.
        """
        if self._started:
            raise RuntimeError("a simulator runs once; create another one")
        self._started = True
        try:
            self._client.connect(self.host, self.port, keepalive=30)
        except (OSError, ValueError) as exc:
            raise SimulatorError(
                f"cannot reach the MQTT broker at {self.host}:{self.port}: {exc}"
            ) from exc
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, name="palier-simulator", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once the broker accepted the connection and every device was announced."""
        return self._ready.wait(timeout)

    @property
    def connect_failure(self) -> str | None:
        """Why the broker last refused the connection (bad credentials…), if it did."""
        return self._connect_failure

    def stop(self) -> None:
        """Stop publishing, say the bridges went offline, wait for acks, then disconnect.

        Safe to call twice and after a failed ``start()``.
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join(self.STOP_TIMEOUT)
        if self._ready.is_set():
            for topic in self.bridge_state_topics:
                self._publish(topic, OFFLINE, retain=True)
        deadline = time.monotonic() + self.STOP_TIMEOUT
        with self._pending_lock:
            pending, self._pending = self._pending, []
        for info in pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("simulator stopped before the broker acknowledged every message")
                break
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(remaining)
        self._client.disconnect()
        self._client.loop_stop()
        log.info("simulator stopped after %d messages", self.published)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # paho callbacks (network thread)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: mqtt.ReasonCode,
        properties: mqtt.Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._connect_failure = str(reason_code)
            log.error("the broker at %s:%d refused the simulator: %s",
                      self.host, self.port, reason_code)
            return
        self._connect_failure = None
        self._set_nodelay(client)
        if self._ready.is_set():  # a reconnection: the will said offline, say online again
            log.info("simulator reconnected to %s:%d", self.host, self.port)
            self._announce()
        self._connected.set()

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: mqtt.ReasonCode,
        properties: mqtt.Properties | None,
    ) -> None:
        if not self._stopping.is_set():
            log.warning("simulator lost the broker (%s); paho reconnects", reason_code)

    @staticmethod
    def _set_nodelay(client: mqtt.Client) -> None:
        """paho leaves Nagle on, which adds milliseconds to every small publish."""
        sock = client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # publishing

    def _announce(self) -> None:
        for topic in self.bridge_state_topics:
            self._publish(topic, ONLINE, retain=True)
        for device in self._devices.values():
            self._publish(device.info.availability_topic, ONLINE, retain=True)

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("simulator could not queue %s: %s", topic, mqtt.error_string(info.rc))
            return
        with self._pending_lock:
            self._published += 1
            self._pending.append(info)
            if len(self._pending) > 1000:
                self._pending = [i for i in self._pending if not i.is_published()]

    # scheduling (simulator thread)

    def _delay(self, simulated_seconds: float) -> float:
        return simulated_seconds / self.speed

    def _schedule(self, due: float, task: Callable[[float], None]) -> None:
        heapq.heappush(self._queue, (due, next(self._seq), task))

    def _periodic(self, device: _Device) -> Callable[[float], None]:
        def tick(due: float) -> None:
            device.model.step()
            self._publish(device.info.state_topic, device.payload())
            jitter = self._rng.uniform(0.9, 1.1)
            self._schedule(due + self._delay(device.model.period) * jitter, tick)

        return tick

    def _scripted(self, event: ScriptedEvent) -> Callable[[float], None]:
        device = self._devices[event.device_id]

        def fire(due: float) -> None:
            for name in event.release:
                device.pinned.pop(name, None)
            device.pinned.update(event.pin)
            log.info("scenario: %s (%s)", event.label or "event", event.device_id)
            self._publish(device.info.state_topic, device.payload())
            self._schedule(due + self._delay(self.scenario.period), fire)

        return fire

    def _run(self) -> None:
        while not self._connected.wait(0.1):
            if self._stopping.is_set():
                return
        self._announce()
        for device in self._devices.values():
            self._publish(device.info.state_topic, device.payload())
        now = time.monotonic()
        for device in self._devices.values():
            first = now + self._delay(device.model.period) * self._rng.uniform(0.1, 1.0)
            self._schedule(first, self._periodic(device))
        for event in self.scenario.events:
            self._schedule(now + self._delay(event.at), self._scripted(event))
        self._ready.set()
        log.info("simulating %d devices on %s:%d at speed %g",
                 len(self._devices), self.host, self.port, self.speed)
        while self._queue and not self._stopping.is_set():
            due, _, task = self._queue[0]
            wait = due - time.monotonic()
            if wait > 0:
                self._stopping.wait(wait)
                continue
            heapq.heappop(self._queue)
            try:
                task(due)
            except Exception:
                log.exception("simulator task failed; it will not run again")


# ── command line ─────────────────────────────────────────────────────────────────────


def read_installation(root: Path) -> Installation:
    """The site and bridges of an installation directory, enough to simulate it.

    Deliberately lenient about what the simulator does not need (rules, members), and
    without line numbers: ``palier validate`` is the tool that explains a bad file.
    """
    import yaml
    from pydantic import ValidationError

    from devices.schema import BridgeFile
    from gateway.config.installation import Installation
    from social.site import SiteFile, expand_site

    def load(path: Path) -> object:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f)

    current = root / "site.yaml"
    try:
        site = SiteFile.model_validate(load(current))
        bridges = []
        paths = [*(root / "bridges").glob("*.yaml"), *(root / "bridges").glob("*.yml")]
        for current in sorted(paths):
            bridges.append(BridgeFile.model_validate(load(current)))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise SimulatorError(
            f"{current}: {exc}\n(run `palier validate --config {root}` for details)"
        ) from exc
    places = {node.id: node for node in expand_site(site)}
    return Installation(root=root, site=site, places=places, bridges=tuple(bridges), rules=())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devices.simulator",
        description="Publish simulated zigbee2mqtt traffic for an installation's devices.",
    )
    parser.add_argument("--config", type=Path, required=True, help="installation directory")
    parser.add_argument("--broker",
                        default=os.environ.get("PALIER_BROKER_URL", "mqtt://127.0.0.1:1883"),
                        help="mqtt[s]://[user:password@]HOST:PORT (default: $PALIER_BROKER_URL, "
                             "else mqtt://127.0.0.1:1883)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="divide every delay by this (default 1: real time)")
    parser.add_argument("--seed", type=int, default=None, help="reproducible readings")
    parser.add_argument("--client-id", default="palier-simulator")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many real seconds (default: until interrupted)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every scripted event")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM or ``--duration``; 2 on a usage error."""
    from gateway.broker_url import BrokerUrl

    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.speed > 0:
        parser.error("--speed must be positive")
    try:
        broker = BrokerUrl.parse(args.broker)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        installation = read_installation(args.config)
        simulator = Simulator(
            installation, broker.host, broker.port, speed=args.speed, seed=args.seed,
            client_id=args.client_id, username=broker.username, password=broker.password,
            tls=broker.tls,
        )
    except (SimulatorError, ValueError) as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2

    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        simulator.start()
        if not simulator.wait_ready(Simulator.CONNECT_TIMEOUT):
            reason = simulator.connect_failure or "no answer"
            raise SimulatorError(f"the MQTT broker at {broker} did not accept us: {reason}")
        print(f"simulating {len(simulator.devices)} devices on {broker} "
              f"at speed {args.speed:g}; Ctrl-C to stop", file=sys.stderr)
        done.wait(args.duration)
    except SimulatorError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 1
    finally:
        simulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
