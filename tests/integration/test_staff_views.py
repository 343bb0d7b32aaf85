"""What the manager and installer pages read from a running gateway, through a real Mosquitto:
device health per building, live traffic per topic, and the configuration's state.

Accounts are those of ``tests/integration/installation`` (``syndic`` manages Les Lilas,
``installateur`` installs it, ``amelie`` and ``david`` are residents).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import (
    INSTALLATION,
    ApiUser,
    GatewayThread,
    eventually,
    publish,
    settings_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the test installation, free to be broken and mended."""
    copy = tmp_path / "config"
    shutil.copytree(INSTALLATION, copy)
    return copy


@pytest.fixture
def gateway(mosquitto, config_dir: Path, tmp_path: Path) -> Iterator[GatewayThread]:
    settings = settings_for(mosquitto.url, f"sqlite:///{tmp_path / 'palier.db'}", tmp_path,
                            client_id=f"palier-staff-{uuid.uuid4().hex[:8]}",
                            config_dir=config_dir)
    # Reloads here are the installer's, through the API: the file watcher would race them.
    thread = GatewayThread(dataclasses.replace(settings, watch_config=False))
    thread.start()
    yield thread
    thread.stop()


def api(gateway: GatewayThread) -> str:
    running = gateway.gateway.running
    assert running is not None
    return running.api_url


def device(layout: dict[str, Any], device_id: str) -> dict[str, Any]:
    rows = list(layout["devices"])
    for entrance in layout["entrances"]:
        rows += entrance["devices"]
        for floor in entrance["floors"]:
            rows += floor["devices"]
    [found] = [row for row in rows if row["id"] == device_id]
    return found


def test_device_health_by_entrance_and_floor_for_the_buildings_staff(
    gateway: GatewayThread, mosquitto
) -> None:
    url = api(gateway)
    before = time.time()
    publish(mosquitto.port, [
        ("zigbee2mqtt/temp_hall_a", json.dumps({"temperature": 21.5, "humidity": 40,
                                                "battery": 90, "battery_low": False,
                                                "linkquality": 80})),
        ("zigbee2mqtt/leak_cave_tilleuls", '{"water_leak": false, "battery": 80}'),
    ])
    with ApiUser(url, "syndic") as syndic, ApiUser(url, "installateur") as installer:
        layout = eventually(lambda: (body := syndic.get("/api/buildings/lilas/devices"))
                            and device(body, "temp-lilas-a-hall")["availability"] == "online"
                            and body)

        assert layout["building"] == {"id": "lilas", "kind": "building",
                                      "name": "Résidence Les Lilas"}
        assert [e["id"] for e in layout["entrances"]] == ["lilas/a", "lilas/b"]
        entrance_a = layout["entrances"][0]
        assert [f["id"] for f in entrance_a["floors"]] == [
            "lilas/a/basement", "lilas/a/0", "lilas/a/1", "lilas/a/2"]
        [hall] = entrance_a["floors"][1]["devices"]
        assert (hall["id"], hall["kind"], hall["place"]["id"]) == (
            "temp-lilas-a-hall", "temperature_sensor", "lilas/a/0")
        assert hall["last_seen"] >= before and hall["since"] >= before
        assert (hall["battery"]["percent"], hall["battery"]["low"]) == (90, False)
        points = {p["name"]: (p["value"], p["unit"]) for p in hall["points"]}
        assert points["temperature"] == (21.5, "°C") and points["humidity"] == (40, "%")

        [cave] = layout["entrances"][1]["floors"][0]["devices"]
        assert (cave["id"], cave["availability"], cave["last_seen"]) == (
            "leak-lilas-b-cave", "unknown", None)
        assert cave["battery"] == {"percent": None, "low": None, "at": None}
        assert layout["counts"] == {"devices": 2, "online": 1, "offline": 0, "unknown": 1,
                                    "battery_low": 0}
        assert installer.get("/api/buildings/lilas/devices")["counts"]["devices"] == 2

        publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b/availability", "offline")])
        offline = eventually(lambda: device(syndic.get("/api/buildings/lilas/devices"),
                                            "leak-lilas-b-cave")["availability"] == "offline")
        assert offline

        for path in ("/api/buildings/tilleuls/devices", "/api/buildings/atlantis/devices",
                     "/api/buildings/lilas%2Fa/devices"):
            reply = syndic.http.get(path)
            assert reply.status_code == 404, path
    for username in ("amelie", "david"):
        with ApiUser(url, username) as resident:
            reply = resident.http.get("/api/buildings/lilas/devices")
            assert reply.status_code == 404
            assert reply.json() == {"detail": "no building 'lilas'"}


def test_live_traffic_counts_each_topic_and_says_who_claims_it(
    gateway: GatewayThread, mosquitto
) -> None:
    url = api(gateway)
    wet = '{"water_leak": true, "battery": 100}'
    publish(mosquitto.port, [("zigbee2mqtt/leak_cave_b", wet)] * 3 + [
        ("zigbee2mqtt/leak_cave_tilleuls", wet),  # another building's: not this installer's
        ("zigbee2mqtt/new_sensor", '{"temperature": 19}'),
        ("zigbee2mqtt/temp_hall_a", "{not json"),
        ("zigbee2mqtt/bridge/state", '{"state": "online"}'),
    ])
    with ApiUser(url, "installateur") as installer:
        body = eventually(lambda: (b := installer.get("/api/admin/traffic"))["messages"] >= 7
                          and b)
        topics = {row["topic"]: row for row in body["topics"]}
        assert "zigbee2mqtt/leak_cave_tilleuls" not in topics, "Les Tilleuls is not theirs"
        leak = topics["zigbee2mqtt/leak_cave_b"]
        assert (leak["total"], leak["last_minute"], leak["last_size"]) == (3, 3, len(wet))
        assert leak["claim"] == {"outcome": "device", "bridge": "z2m",
                                 "device": "leak-lilas-b-cave", "source": "leak_cave_b",
                                 "reason": None}
        assert topics["zigbee2mqtt/new_sensor"]["claim"]["outcome"] == "unclaimed"
        bad = topics["zigbee2mqtt/temp_hall_a"]["claim"]
        assert bad["outcome"] == "dead_letter" and bad["reason"].startswith("not JSON")
        assert topics["zigbee2mqtt/bridge/state"]["claim"]["outcome"] == "bridge"
        assert (body["window_seconds"], body["capacity"], body["forgotten"]) == (60, 2000, 0)

        busiest = installer.get("/api/admin/traffic", order="rate", limit=1)
        assert [t["topic"] for t in busiest["topics"]] == ["zigbee2mqtt/leak_cave_b"]
        assert busiest["matching"] == busiest["kept"] == len(body["topics"]) + 1
        only = installer.get("/api/admin/traffic", contains="sensor", order="topic")
        assert [t["topic"] for t in only["topics"]] == ["zigbee2mqtt/new_sensor"]

    for username in ("syndic", "amelie"):
        with ApiUser(url, username) as other:
            reply = other.http.get("/api/admin/traffic")
            assert reply.status_code == 403
            assert reply.json()["detail"] in ("live traffic is for installers and admins",
                                              "this is for the installers and managers of a "
                                              "building")


def test_the_configuration_state_shows_a_refused_reload_with_positions(
    gateway: GatewayThread, config_dir: Path
) -> None:
    url = api(gateway)
    with ApiUser(url, "installateur") as installer:
        state = installer.get("/api/admin/config")
        assert state["root"] == str(config_dir)
        assert state["files"] == ["site.yaml", "bridges/zigbee.yaml", "rules/water.yaml",
                                  "members.yaml"]
        assert state["counts"] == {"bridges": 1, "devices": 3, "rules": 1, "places": 40,
                                   "members": 5}
        assert state["warnings"] == [] and state["last_failure"] is None
        started = state["loaded_at"]

        rules = config_dir / "rules" / "water.yaml"
        good = rules.read_text()
        rules.write_text(good.replace("severity: critical", "severity: dreadful"))
        refused = installer.http.post("/api/admin/reload")
        assert refused.status_code == 422

        state = installer.get("/api/admin/config")
        failure = state["last_failure"]
        assert failure["stale"] is False and failure["trigger"] == "API by installateur"
        [error] = failure["errors"]
        assert (error["file"], error["line"], error["column"], error["field"]) == (
            "rules/water.yaml", 4, 15, "rules[0].severity")
        assert "dreadful" in error["message"]
        assert error["text"].startswith(f"{rules}:4:15: rules[0].severity: ")
        assert state["loaded_at"] == started, "the running configuration stays"

        rules.write_text(good)
        assert installer.http.post("/api/admin/reload").status_code == 200
        state = installer.get("/api/admin/config")
        assert state["loaded_at"] > started
        assert state["last_failure"]["stale"] is True
        assert state["last_reload"]["ok"] is True

    with ApiUser(url, "syndic") as syndic:
        reply = syndic.http.get("/api/admin/config")
        assert reply.status_code == 403
        assert reply.json() == {"detail": "the configuration's state is for installers and "
                                          "admins"}
