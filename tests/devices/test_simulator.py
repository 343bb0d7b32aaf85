"""The demo configuration against its schemas, and the device simulator against a real Mosquitto.

The installations here are built by hand from the YAML (``yaml.safe_load`` + the pydantic
models + ``expand_site``) so that these tests depend on the schemas, not on the gateway's
loader. Broker tests use a unique base topic per test and clear what they retained, so
they leave nothing behind for other tests sharing the session's Mosquitto.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from devices.kinds import KINDS
from devices.schema import BridgeFile
from devices.simulator import (
    LEAK_AT,
    LIFT_FAULT_AT,
    Scenario,
    ScriptedEvent,
    Simulator,
    SimulatorError,
    default_scenario,
    main,
)
from gateway.config.installation import Installation, MembersFile
from rules.schema import RuleFile
from social.site import SiteFile, expand_site

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo"
EXAMPLE = ROOT / "config"
SPEED = 100.0

#: Keys zigbee2mqtt adds to the payloads of the devices the demo uses, beyond Palier's points.
Z2M_EXTRAS = {"linkquality", "voltage", "device_temperature", "illuminance", "current",
              "energy", "state"}


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def installation_from(root: Path, *, base_topic: str | None = None) -> Installation:
    site = SiteFile.model_validate(load_yaml(root / "site.yaml"))
    bridges = [BridgeFile.model_validate(load_yaml(p))
               for p in sorted((root / "bridges").glob("*.yaml"))]
    if base_topic is not None:
        bridges = [b.model_copy(update={"bridge": b.bridge.model_copy(
            update={"base_topic": base_topic})}) for b in bridges]
    rules = [rule for p in sorted((root / "rules").glob("*.yaml"))
             for rule in RuleFile.model_validate(load_yaml(p)).rules]
    members_path = root / "members.yaml"
    members = (MembersFile.model_validate(load_yaml(members_path)).members
               if members_path.exists() else [])
    return Installation(
        root=root,
        site=site,
        places={node.id: node for node in expand_site(site)},
        bridges=tuple(bridges),
        rules=tuple(rules),
        members=tuple(members),
    )


def custom_installation(base_topic: str | None) -> Installation:
    """One building, a zigbee2mqtt device with its own point layout, and a json bridge."""
    site = SiteFile.model_validate({
        "city": {"id": "evry", "name": "Évry"},
        "neighbourhoods": [{"id": "pyramides", "buildings": [{
            "id": "lilas", "name": "Les Lilas",
            "entrances": {"b": {"floors": 2, "basement": True}},
        }]}],
    })
    z2m = BridgeFile.model_validate({
        "bridge": {"id": "z2m", "format": "zigbee2mqtt",
                   **({"base_topic": base_topic} if base_topic is not None else {})},
        "devices": [{
            "id": "env-b", "source": "env_hall_b", "kind": "temperature_sensor",
            "place": "lilas/b/0",
            "points": {
                "temperature": {"path": "env.temp", "scale": 0.01},
                "co2": {"path": "air.co2", "unit": "ppm"},
                "alarm": {"type": "bool"},
            },
        }],
    })
    acme = BridgeFile.model_validate({
        "bridge": {"id": "acme", "format": "json", "topic": "acme/{source}/data"},
        "devices": [{"id": "meter-b", "source": "m1", "kind": "energy_meter",
                     "place": "lilas/b/basement"}],
    })
    return Installation(root=Path("."), site=site, places={n.id: n for n in expand_site(site)},
                        bridges=(z2m, acme), rules=())


# ── the configuration files ───────────────────────────────────────────────────────────


@pytest.mark.parametrize("root", [EXAMPLE, DEMO], ids=["example", "demo"])
def test_configuration_validates_and_refers_to_existing_places(root: Path) -> None:
    installation = installation_from(root)
    places = installation.places

    device_ids: set[str] = set()
    for bridge_file in installation.bridges:
        sources = [d.source for d in bridge_file.devices]
        assert len(sources) == len(set(sources)), f"{bridge_file.bridge.id}: duplicate sources"
        for device in bridge_file.devices:
            assert device.place in places, f"{device.id}: no place {device.place}"
            assert device.id not in device_ids, f"duplicate device id {device.id}"
            device_ids.add(device.id)

    assert installation.rules, "every installation ships at least one rule"
    rule_ids = [rule.id for rule in installation.rules]
    assert len(rule_ids) == len(set(rule_ids))
    for rule in installation.rules:
        when = rule.when
        assert when.kind in KINDS, f"{rule.id}: unknown kind {when.kind}"
        assert when.point in {p.name for p in KINDS[when.kind]}, f"{rule.id}: {when.point}"
        assert when.place is None or when.place in places, f"{rule.id}: {when.place}"
        tells_residents = rule.raise_.post is not None or rule.raise_.help_request is not None
        assert tells_residents and rule.clear is not None, f"{rule.id}: residents see nothing"

    for member in installation.members:
        for membership in member.memberships:
            assert membership.place in places, f"{member.username}: {membership.place}"


def test_demo_site_has_the_described_buildings() -> None:
    installation = installation_from(DEMO)
    places = installation.places
    assert places["evry"].name == "Évry-Courcouronnes"
    assert places["pyramides"].name == "Les Pyramides"
    assert {p.id for p in places.values() if p.kind == "building"} == {"lilas", "tilleuls"}
    assert {p.id for p in places.values() if p.kind == "entrance"} == {
        "lilas/a", "lilas/b", "tilleuls/a"}
    floors = {p.id for p in places.values() if p.kind == "floor"}
    assert {"lilas/a/5", "lilas/b/7", "tilleuls/a/4", "lilas/b/basement"} <= floors
    assert not {"lilas/a/6", "lilas/b/8", "tilleuls/a/5"} & floors
    assert {"lilas/b/3/31", "lilas/b/3/34"} <= places.keys()
    assert "lilas/b/3/35" not in places


def test_demo_devices_equip_every_entrance() -> None:
    installation = installation_from(DEMO)
    devices = [d for b in installation.bridges for d in b.devices]
    assert 30 <= len(devices) <= 40
    by_kind_place: dict[tuple[str, str], int] = {}
    for d in devices:
        by_kind_place[d.kind, d.place] = by_kind_place.get((d.kind, d.place), 0) + 1
        assert d.offline_after is not None, f"{d.id} has no offline_after"
    for entrance in ("lilas/a", "lilas/b", "tilleuls/a"):
        assert by_kind_place.get(("water_leak_sensor", f"{entrance}/basement"), 0) >= 1
        assert by_kind_place.get(("door_sensor", f"{entrance}/basement"), 0) >= 1
        assert by_kind_place.get(("temperature_sensor", f"{entrance}/0"), 0) == 1
        assert by_kind_place.get(("lift_monitor", entrance), 0) == 1
    assert by_kind_place[("water_leak_sensor", "lilas/b/basement")] == 2


def test_demo_accounts() -> None:
    members = {m.username: m for m in installation_from(DEMO).members}
    expected = {
        "syndic": ("fr", {("lilas", "manager"), ("tilleuls", "manager")}),
        "amelie": ("fr", {("lilas/b/3/31", "resident")}),
        "bruno": ("fr", {("lilas/a/2/21", "resident")}),
        "chloe": ("en", {("lilas/b/7/72", "resident")}),
        "david": ("fr", {("tilleuls/a/1/11", "resident")}),
        "emma": ("en", {("tilleuls/a/4/42", "resident")}),
        "boulangerie": ("fr", {("pyramides", "merchant")}),
        "installateur": ("fr", {("lilas", "installer"), ("tilleuls", "installer")}),
    }
    assert members.keys() == expected.keys()
    for username, (language, memberships) in expected.items():
        member = members[username]
        assert member.password == "demo"
        assert member.language == language
        assert {(m.place, m.role) for m in member.memberships} == memberships


# ── the simulator without a broker ────────────────────────────────────────────────────


def test_simulator_drives_zigbee2mqtt_devices_only_with_the_default_base_topic() -> None:
    simulator = Simulator(custom_installation(base_topic=None), "127.0.0.1", 1)
    [device] = simulator.devices
    assert device.device_id == "env-b"
    assert device.state_topic == "zigbee2mqtt/env_hall_b"
    assert device.availability_topic == "zigbee2mqtt/env_hall_b/availability"
    assert simulator.bridge_state_topics == ("zigbee2mqtt/bridge/state",)


def test_default_scenario_scripts_the_first_leak_and_lift_of_the_demo() -> None:
    scenario = default_scenario(installation_from(DEMO))
    events = sorted(scenario.events, key=lambda e: e.at)
    assert [(e.at, e.device_id) for e in events] == [
        (20.0, "leak-lilas-b-cave"),
        (40.0, "lift-lilas-b"),
        (180.0, "leak-lilas-b-cave"),
        (300.0, "lift-lilas-b"),
    ]
    assert scenario.period == 600.0


def test_bad_arguments_are_refused_before_connecting() -> None:
    installation = installation_from(DEMO)
    with pytest.raises(ValueError, match="speed"):
        Simulator(installation, "127.0.0.1", 1, speed=0)
    ghost = Scenario(60.0, (ScriptedEvent(1.0, "no-such-device", label="ghost"),))
    with pytest.raises(ValueError, match="no-such-device"):
        Simulator(installation, "127.0.0.1", 1, scenario=ghost)
    with pytest.raises(ValueError, match="outside"):
        Scenario(60.0, (ScriptedEvent(60.0, "leak-lilas-b-cave"),))


def test_start_fails_clearly_when_no_broker_listens() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    simulator = Simulator(installation_from(DEMO), "127.0.0.1", port)
    with pytest.raises(SimulatorError, match=f"127.0.0.1:{port}"):
        simulator.start()
    simulator.stop()


def test_start_does_not_wait_for_a_broker_that_does_not_answer() -> None:
    """An in-process broker may run on the caller's event loop: start() must not block it."""
    with socket.socket() as silent:  # the kernel accepts connections; nobody answers them
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        simulator = Simulator(installation_from(DEMO), "127.0.0.1", silent.getsockname()[1])
        started = time.monotonic()
        simulator.start()
        assert time.monotonic() - started < 1.0
        assert not simulator.wait_ready(0.3)
        simulator.stop()
        assert time.monotonic() - started < 3.0


def test_command_line_reports_an_unusable_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "site.yaml").write_text("city: {id: Evry, name: x}\n", encoding="utf-8")
    assert main(["--config", str(tmp_path), "--broker", "mqtt://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert "site.yaml" in err and "city.id" in err


# ── against a real broker ─────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


class Recorder:
    """A paho subscriber that keeps every message it receives, in arrival order."""

    def __init__(self, port: int, topic: str) -> None:
        self.port, self.topic = port, topic
        self._messages: list[Message] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"recorder-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append(Message(msg.topic, msg.payload, bool(msg.retain)))

    def __enter__(self) -> Recorder:
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        self.client.subscribe(self.topic, qos=1)
        assert self._subscribed.wait(5), "no SUBACK from the broker"
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, done: Callable[[list[Message]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done(self.messages):
                return True
            time.sleep(0.05)
        return done(self.messages)


@pytest.fixture
def clear_retained(mosquitto: Any) -> Iterator[list[str]]:
    """Topics a test retained on the shared broker; emptied afterwards."""
    topics: list[str] = []
    yield topics
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", mosquitto.port)
    client.loop_start()
    infos = [client.publish(t, b"", qos=1, retain=True) for t in topics]
    for info in infos:
        info.wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def changes(values: list[Any]) -> list[Any]:
    """``values`` without consecutive repeats: the transitions a rule would see."""
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]


def states_of(messages: list[Message], topic: str, key: str) -> list[Any]:
    return [m.json()[key] for m in messages if m.topic == topic]


def scripted_incidents_over(messages: list[Message], base: str) -> bool:
    leak = changes(states_of(messages, f"{base}/leak_cave_b", "water_leak"))
    lift = changes(states_of(messages, f"{base}/lift_lilas_b", "fault"))
    return len(leak) >= 3 and len(lift) >= 3


def type_ok(value: object, point_type: str) -> bool:
    if point_type == "bool":
        return isinstance(value, bool)
    if point_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


@pytest.mark.integration
def test_simulator_publishes_the_demo_traffic_and_its_scripted_incidents(
    mosquitto: Any, clear_retained: list[str]
) -> None:
    base = f"sim-{uuid.uuid4().hex[:8]}"
    installation = installation_from(DEMO, base_topic=base)
    simulator = Simulator(installation, "127.0.0.1", mosquitto.port, speed=SPEED, seed=7,
                          client_id=f"sim-{base}")
    devices = {d.source: d for d in simulator.devices}
    clear_retained += [d.availability_topic for d in devices.values()]
    clear_retained += [f"{base}/bridge/state"]

    with Recorder(mosquitto.port, f"{base}/#") as live:
        started = time.monotonic()
        with simulator:
            assert simulator.wait_ready(5.0)
            over = live.wait_for(lambda ms: scripted_incidents_over(ms, base), timeout=8.0)
        elapsed = time.monotonic() - started
        live.wait_for(lambda ms: ms[-1].topic == f"{base}/bridge/state", timeout=2.0)
    messages = live.messages
    assert over, "the scripted leak and lift fault did not both happen and clear within 8 s"
    # 300 simulated seconds for the lift to come back, at speed 100: about 3 s, not 10.
    assert elapsed < 3.0 + 2.0

    bridge_states = [m.payload for m in messages if m.topic == f"{base}/bridge/state"]
    assert bridge_states[0] == b'{"state":"online"}'
    assert bridge_states[-1] == b'{"state":"offline"}'

    for source, device in devices.items():
        topics = [m.topic for m in messages]
        assert device.availability_topic in topics, f"{source}: no availability"
        assert device.state_topic in topics, f"{source}: no state"
        assert topics.index(device.availability_topic) < topics.index(device.state_topic)
        availability = {m.payload for m in messages if m.topic == device.availability_topic}
        assert availability == {b'{"state":"online"}'}

        points = {p.name: p.type for p in KINDS[device.kind]}
        payloads = [m.json() for m in messages if m.topic == device.state_topic]
        assert len(payloads) >= 2, f"{source}: no periodic state after the first"
        for payload in payloads:
            assert isinstance(payload, dict)
            assert points.keys() <= payload.keys(), f"{source}: {payload}"
            assert set(payload) - points.keys() <= Z2M_EXTRAS, f"{source}: {payload}"
            for name, point_type in points.items():
                assert type_ok(payload[name], point_type), f"{source}.{name}: {payload}"

    leak_topic, lift_topic = f"{base}/leak_cave_b", f"{base}/lift_lilas_b"
    assert changes(states_of(messages, leak_topic, "water_leak"))[:3] == [False, True, False]
    assert changes(states_of(messages, lift_topic, "fault"))[:3] == [False, True, False]
    for source, device in devices.items():
        if device.kind == "water_leak_sensor" and source != "leak_cave_b":
            assert set(states_of(messages, device.state_topic, "water_leak")) == {False}
    faulted = [m.json() for m in messages if m.topic == lift_topic and m.json()["fault"]]
    assert all(p["running"] is False and p["state"] == "fault" for p in faulted)
    assert {p["state"] for p in (m.json() for m in messages if m.topic == lift_topic)
            if not p["fault"]} <= {"idle", "moving"}

    # The timeline: leak (20 s) before the lift fault (40 s), leak dry (180 s) before lift
    # back (300 s); one connection keeps the order across topics.
    scripted = [(m.topic, m.json()) for m in messages if m.topic in (leak_topic, lift_topic)]
    marks = [i for i, (topic, p) in enumerate(scripted) if (
        topic == leak_topic and p["water_leak"]) or (topic == lift_topic and p["fault"])]
    first_leak = next(i for i in marks if scripted[i][0] == leak_topic)
    first_fault = next(i for i in marks if scripted[i][0] == lift_topic)
    assert first_leak < first_fault
    assert LEAK_AT < LIFT_FAULT_AT

    # A subscriber arriving afterwards still learns who is there: availability is retained.
    with Recorder(mosquitto.port, f"{base}/+/availability") as late, \
            Recorder(mosquitto.port, f"{base}/bridge/state") as late_bridge:
        assert late.wait_for(lambda ms: len(ms) >= len(devices), timeout=3.0)
        assert late_bridge.wait_for(lambda ms: len(ms) >= 1, timeout=3.0)
    retained = late.messages + late_bridge.messages
    assert all(m.retain for m in retained)
    assert {m.topic for m in late.messages} == {d.availability_topic for d in devices.values()}
    assert {m.payload for m in late.messages} == {b'{"state":"online"}'}
    assert late_bridge.messages[0].payload == b'{"state":"offline"}'


@pytest.mark.integration
def test_payload_follows_the_device_points_and_skips_other_bridges(
    mosquitto: Any, clear_retained: list[str]
) -> None:
    base = f"sim-{uuid.uuid4().hex[:8]}"
    simulator = Simulator(custom_installation(base), "127.0.0.1", mosquitto.port,
                          speed=SPEED, seed=1, client_id=f"sim-{base}")
    clear_retained += [f"{base}/env_hall_b/availability", f"{base}/bridge/state"]
    with Recorder(mosquitto.port, "#") as everything:
        state = f"{base}/env_hall_b"
        with simulator:
            assert everything.wait_for(
                lambda ms: sum(m.topic == state for m in ms) >= 3, timeout=3.0)
    payloads = [m.json() for m in everything.messages if m.topic == state]
    for payload in payloads:
        assert "temperature" not in payload
        assert 1000 <= payload["env"]["temp"] <= 3000, "raw = value / scale (0.01)"
        assert isinstance(payload["air"]["co2"], float)
        assert payload["alarm"] is False
        assert {"humidity", "battery"} <= payload.keys()
    assert not [m for m in everything.messages if m.topic.startswith("acme/")]


@pytest.mark.integration
def test_command_line_runs_the_demo_for_a_bounded_time(
    mosquitto: Any, clear_retained: list[str]
) -> None:
    demo = installation_from(DEMO)
    sources = [d.source for b in demo.bridges for d in b.devices]
    clear_retained += [f"zigbee2mqtt/{s}/availability" for s in sources]
    clear_retained += ["zigbee2mqtt/bridge/state"]
    with Recorder(mosquitto.port, "zigbee2mqtt/#") as live:
        argv = ["--config", str(DEMO), "--broker", mosquitto.url, "--speed", "100",
                "--seed", "3", "--duration", "0.5", "--client-id", f"cli-{uuid.uuid4().hex}"]
        started = time.monotonic()
        assert main(argv) == 0
        assert time.monotonic() - started < 3.0
        assert live.wait_for(
            lambda ms: any(m.topic == "zigbee2mqtt/bridge/state" and m.payload.endswith(
                b'"offline"}') for m in ms), timeout=2.0)
    topics = {m.topic for m in live.messages}
    assert {f"zigbee2mqtt/{s}" for s in sources} <= topics
