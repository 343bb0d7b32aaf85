"""Three gateway workers on one broker and one PostgreSQL, splitting the buildings.

Every reading reaches exactly one worker; every leak raises one alarm; a resident
whose stream is served by a worker that does not own their building still sees
their building's alert live (the event relay over the broker); a stopped worker's
backlog waits in its own persistent session and is delivered when it returns.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.partition import Partition
from tests.conftest import MosquittoServer, free_port
from tests.integration.harness import ApiUser, GatewayThread, eventually, publish, settings_for

BUILDINGS = [f"res{n}" for n in range(9)]
READINGS_PER_DEVICE = 15


def _installation(root: Path) -> Path:
    """Nine buildings, each with its own zigbee2mqtt coordinator (base topic)."""
    (root / "bridges").mkdir(parents=True)
    (root / "rules").mkdir()
    buildings = "\n".join(
        f"      - id: {b}\n        name: Résidence {b}\n"
        f"        entrances: {{a: {{floors: 2, units_per_floor: 1, basement: true}}}}"
        for b in BUILDINGS)
    (root / "site.yaml").write_text(
        "city: {id: evry, name: Évry}\nneighbourhoods:\n  - id: quartier\n    name: Quartier\n"
        f"    buildings:\n{buildings}\n", encoding="utf-8")
    for b in BUILDINGS:
        (root / "bridges" / f"{b}.yaml").write_text(
            f"bridge: {{id: z2m-{b}, format: zigbee2mqtt, base_topic: z2m/{b}}}\n"
            "devices:\n"
            f"  - {{id: leak-{b}, source: leak, kind: water_leak_sensor, place: {b}/a/basement}}\n"
            f"  - {{id: temp-{b}, source: temp, kind: temperature_sensor, place: {b}/a/0}}\n",
            encoding="utf-8")
    (root / "rules" / "water.yaml").write_text(
        "rules:\n  - id: water-leak\n"
        "    when: {kind: water_leak_sensor, point: water_leak, is: true}\n"
        "    severity: critical\n"
        "    raise:\n      notify: managers\n"
        "      post: {scope: building, kind: alert, title: \"Fuite — {{ device.place.name }}\"}\n",
        encoding="utf-8")
    members = ["members:",
               "  - {username: syndic, display_name: Syndic S., password: test-pass,",
               "     memberships: [" + ", ".join(f"{{place: {b}, role: manager}}"
                                               for b in BUILDINGS) + "]}"]
    members += [f"  - {{username: resident-{b}, display_name: R. {b}, password: test-pass, "
                f"memberships: [{{place: {b}/a/1/11, role: resident}}]}}" for b in BUILDINGS]
    (root / "members.yaml").write_text("\n".join(members) + "\n", encoding="utf-8")
    return root


@dataclasses.dataclass
class Workers:
    threads: dict[int, GatewayThread]
    make: Any

    def start(self, index: int) -> GatewayThread:
        thread = self.make(index)
        thread.start()
        self.threads[index] = thread
        return thread

    def stop(self, index: int) -> None:
        self.threads.pop(index).stop()


@pytest.fixture
def workers(mosquitto: MosquittoServer, fresh_postgres_url: str,
            tmp_path: Path) -> Iterator[Workers]:
    config = _installation(tmp_path / "installation")
    ports = {index: free_port() for index in (1, 2, 3)}

    def make(index: int) -> GatewayThread:
        settings = settings_for(mosquitto.url, fresh_postgres_url, tmp_path / f"var{index}",
                                f"partition-{tmp_path.name}", config_dir=config,
                                port=ports[index])
        return GatewayThread(dataclasses.replace(
            settings, partition=Partition(index, 3), relay_events=True, watch_config=False))

    pool = Workers({}, make)
    try:
        for index in (1, 2, 3):
            pool.start(index)
        yield pool
    finally:
        for index in list(pool.threads):
            pool.stop(index)


def _owner(pool: Workers, device_id: str) -> int:
    owners = [index for index, thread in pool.threads.items()
              if thread.gateway.running.pipeline.registry.get(device_id) is not None]
    assert len(owners) == 1, f"{device_id} owned by {owners}"
    return owners[0]


def _temperatures(building: str, start: int, count: int) -> list[tuple[str, str]]:
    return [(f"z2m/{building}/temp", orjson.dumps({"temperature": 15 + n / 10}).decode())
            for n in range(start, start + count)]


def _readings(thread: GatewayThread) -> int:
    return thread.gateway.running.pipeline.stats.readings


def test_three_workers_split_the_buildings_exactly_once(
        workers: Workers, mosquitto: MosquittoServer) -> None:
    owners = {b: _owner(workers, f"temp-{b}") for b in BUILDINGS}
    assert all(_owner(workers, f"leak-{b}") == owners[b] for b in BUILDINGS)
    assert len(set(owners.values())) >= 2, f"the hash put every building on one worker: {owners}"

    messages = [m for b in BUILDINGS for m in _temperatures(b, 0, READINGS_PER_DEVICE)]
    publish(mosquitto.port, messages)
    expected = {i: READINGS_PER_DEVICE * sum(1 for o in owners.values() if o == i)
                for i in (1, 2, 3)}
    eventually(lambda: {i: _readings(t) for i, t in workers.threads.items()} == expected,
               timeout=20)
    for thread in workers.threads.values():
        stats = thread.gateway.running.pipeline.stats
        assert not stats.unclaimed and not stats.rejected and stats.unrouted == 0

    publish(mosquitto.port, [(f"z2m/{b}/leak", '{"water_leak": true}') for b in BUILDINGS])
    with ApiUser(workers.threads[1].gateway.running.api_url, "syndic") as syndic:
        def one_alarm_per_building() -> bool:
            alarms = syndic.get("/api/alarms", state="active")["items"]
            return len(alarms) >= len(BUILDINGS)
        eventually(one_alarm_per_building, timeout=20)
        alarms = syndic.get("/api/alarms")["items"]
        per_device: dict[str, int] = {}
        for alarm in alarms:
            per_device[alarm["device_id"]] = per_device.get(alarm["device_id"], 0) + 1
        assert per_device == {f"leak-{b}": 1 for b in BUILDINGS}


def test_a_stream_on_another_worker_sees_the_alert_live(
        workers: Workers, mosquitto: MosquittoServer) -> None:
    building = next(b for b in BUILDINGS if _owner(workers, f"leak-{b}") != 3)
    stranger = next(b for b in BUILDINGS if b != building)
    api = workers.threads[3].gateway.running.api_url
    seen: dict[str, list[dict[str, Any]]] = {building: [], stranger: []}
    ready = {building: threading.Event(), stranger: threading.Event()}

    def listen(b: str) -> None:
        with ApiUser(api, f"resident-{b}") as user, user.http.stream(
                "GET", "/api/stream", timeout=httpx.Timeout(10, read=15)) as reply:
            event = None
            for line in reply.iter_lines():
                if line.startswith(": connected"):
                    ready[b].set()
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "post.created":
                    seen[b].append(orjson.loads(line.removeprefix("data: ")))
                    return

    listeners = [threading.Thread(target=listen, args=(b,), daemon=True)
                 for b in (building, stranger)]
    for listener in listeners:
        listener.start()
    assert ready[building].wait(10) and ready[stranger].wait(10)
    publish(mosquitto.port, [(f"z2m/{building}/leak", '{"water_leak": true}')])
    listeners[0].join(15)
    assert seen[building], "the alert raised by another worker never reached the stream"
    assert seen[building][0]["post"]["kind"] == "alert"
    # It came over the broker: worker 3's relay received what another worker's hub sent.
    relay = workers.threads[3].gateway.relay
    assert relay is not None and relay.received >= 1
    listeners[1].join(1)  # the stranger's stream stays silent about another building
    assert seen[stranger] == []


def test_a_stopped_worker_gets_its_backlog_when_it_returns(
        workers: Workers, mosquitto: MosquittoServer) -> None:
    owners = {b: _owner(workers, f"temp-{b}") for b in BUILDINGS}
    victim = owners[BUILDINGS[0]]
    mine = [b for b, owner in owners.items() if owner == victim]
    workers.stop(victim)
    publish(mosquitto.port, [m for b in BUILDINGS for m in _temperatures(b, 0, 10)])
    others = {i: 10 * sum(1 for o in owners.values() if o == i)
              for i in workers.threads}
    eventually(lambda: {i: _readings(t) for i, t in workers.threads.items()} == others,
               timeout=20)
    returned = workers.start(victim)
    eventually(lambda: _readings(returned) == 10 * len(mine), timeout=20)
    # Nothing more arrives: the others did not take the absent worker's share.
    assert {i: _readings(t) for i, t in workers.threads.items() if i != victim} == others


def test_a_bridge_shared_by_two_buildings_drops_the_other_workers_devices(
        mosquitto: MosquittoServer, tmp_path: Path) -> None:
    """One zigbee2mqtt bridge serves Les Lilas and Les Tilleuls; the Tilleuls worker reads
    both buildings' topics, keeps its own device and counts the other's as foreign."""
    settings = settings_for(mosquitto.url, f"sqlite:///{tmp_path / 'p.db'}", tmp_path,
                            f"shared-{tmp_path.name}")
    thread = GatewayThread(dataclasses.replace(
        settings, partition=Partition.of_buildings(["tilleuls"]), watch_config=False))
    running = thread.start()
    try:
        eventually(running.intake.subscribed.is_set, timeout=10)
        publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", '{"water_leak": false}'),
                                 ("zigbee2mqtt/temp_hall_a", '{"temperature": 19.5}'),
                                 ("zigbee2mqtt/leak_cave_tilleuls", '{"water_leak": false}'),
                                 ("zigbee2mqtt/stranger", '{"temperature": 3}')])
        stats = running.pipeline.stats
        eventually(lambda: stats.received == 4, timeout=15)
        assert stats.foreign == 2
        assert stats.readings == 1
        assert dict(stats.unclaimed) == {"z2m/stranger": 1}  # a real stranger still shows
    finally:
        thread.stop()
