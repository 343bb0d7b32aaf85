"""A running gateway with two buildings' worth of private data, for the security tests.

Les Lilas and Les Tilleuls share a neighbourhood. Each building gets posts of several
kinds, a comment, an alarm (a real leak over MQTT), a rejected message in the dead
letters, an invite; every text private to a building carries a marker
(``LILAS-SECRET-…`` / ``TILLEULS-SECRET-…``) that must never reach an outsider.

The app is the one the gateway serves: ``create_app`` is wrapped while the gateway
starts, so the routes enumerated are exactly those answering on the socket.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import select
from starlette.routing import Mount

import gateway.app
from gateway.app import Running
from social.models import Alarm
from social.post_kinds import example_data
from tests.conftest import MosquittoServer
from tests.integration.harness import GatewayThread, eventually, publish, settings_for

PASSWORD = "test-pass"
USERS = ("syndic", "amelie", "david", "boulangerie", "installateur")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as declared, ``{param}`` or ``{param:path}``
    api: bool  # in the OpenAPI schema

    @property
    def params(self) -> list[str]:
        import re

        return [p.split(":")[0] for p in re.findall(r"{([^}]+)}", self.path)]

    def url(self, values: dict[str, str]) -> str:
        import re

        return re.sub(r"{([^}:]+)(:path)?}", lambda m: values[m.group(1)], self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def routes_of(app: FastAPI) -> list[Route]:
    """Every (method, path) the app answers, included routers and pages alike."""
    found: list[Route] = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            found.append(Route("GET", context.path + "/{file:path}", False))
            continue
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                found.append(Route(method, context.path,
                                   bool(getattr(context, "include_in_schema", False))))
    return found


@dataclass
class Building:
    """One building's private things and the words that betray them."""

    id: str
    unit: str
    device: str
    resident: str  # username
    resident_name: str
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> a value of its own
    markers: list[str] = field(default_factory=list)


@dataclass
class Site:
    app: FastAPI
    api_url: str
    tokens: dict[str, str]
    lilas: Building
    tilleuls: Building
    http: httpx.Client

    def as_user(self, username: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}


def _login(http: httpx.Client, username: str) -> str:
    reply = http.post("/api/auth/token", data={"username": username, "password": PASSWORD})
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def _created(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code in (200, 201), f"{reply.request.url}: {reply.status_code} {reply.text}"
    body: dict[str, Any] = reply.json()
    return body


def _seed(site: Site, broker: MosquittoServer, running: Running) -> None:
    now = datetime.now(UTC)
    for building, poster in ((site.lilas, "amelie"), (site.tilleuls, "david")):
        auth = site.as_user(poster)
        tag = f"{building.id.upper()}-SECRET"
        posts = {}
        entrance = "/".join(building.unit.split("/")[:2])
        for kind, place in (("message", building.id), ("poll", entrance),
                            ("event", building.unit.rsplit("/", 1)[0]),
                            ("lending", building.id), ("problem_report", building.id)):
            marker = f"{tag}-{kind}-{uuid.uuid4().hex[:6]}"
            body = {"place": place, "kind": kind, "title": marker, "body": f"{marker} body",
                    "data": example_data(kind, now)}
            posts[kind] = _created(site.http.post("/api/posts", json=body, headers=auth))
            building.markers.append(marker)
        building.ids["post_id"] = str(posts["message"]["id"])
        comment = f"{tag}-comment-{uuid.uuid4().hex[:6]}"
        building.ids["comment_id"] = str(_created(site.http.post(
            f"/api/posts/{posts['message']['id']}/comments", json={"body": comment},
            headers=auth))["id"])
        building.markers.append(comment)
        # a leak, then a rejected payload carrying the building's marker (the dead letters,
        # and the last message of the device's topic in the installer's traffic view)
        bad = f"{tag}-payload"
        publish(broker.port, [(f"zigbee2mqtt/{building.device}", '{"water_leak": true}'),
                              (f"zigbee2mqtt/{building.device}",
                               json.dumps({"water_leak": bad}))])
        building.markers.append(bad)
    eventually(lambda: len(running.pipeline.dead_letters) >= 2)
    staff = site.as_user("syndic")

    def alarms() -> list[tuple[int, str]]:  # from the database: Les Tilleuls has no manager
        with running.database.session() as session:
            return [(a.id, a.device_id) for a in session.scalars(select(Alarm))]

    found = eventually(lambda: len({device for _, device in alarms()}) >= 2 and alarms())
    for alarm_id, device_id in found:
        building = site.lilas if device_id == "leak-lilas-b-cave" else site.tilleuls
        building.ids["alarm_id"] = str(alarm_id)
    invite = _created(site.http.post(f"/api/places/{site.lilas.unit}/invites", json={},
                                     headers=staff))
    site.lilas.ids["code"] = str(invite.get("code"))
    notifications = site.http.get("/api/notifications", headers=staff).json()["items"]
    if notifications:
        site.lilas.ids["notification_id"] = str(notifications[0]["id"])


@pytest.fixture(scope="package")
def site(mosquitto: MosquittoServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp: Path = tmp_path_factory.mktemp("security")
    apps: list[FastAPI] = []
    original = gateway.app.create_app

    def capture(*args: Any, **kwargs: Any) -> FastAPI:
        app = original(*args, **kwargs)
        apps.append(app)
        return app

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gateway.app, "create_app", capture)
        thread = GatewayThread(settings_for(mosquitto.url, f"sqlite:///{tmp / 'p.db'}", tmp,
                                            client_id=f"palier-sec-{uuid.uuid4().hex[:8]}"))
        running = thread.start()
    http = httpx.Client(base_url=running.api_url, timeout=20)
    try:
        tokens = {user: _login(http, user) for user in USERS}
        lilas = Building("lilas", "lilas/b/3/31", "leak_cave_b", "amelie", "Amélie R.")
        tilleuls = Building("tilleuls", "tilleuls/a/1/11", "leak_cave_tilleuls", "david",
                            "David K.")
        lilas.ids.update(building_id="lilas", unit_id=lilas.unit, device_id="leak-lilas-b-cave",
                         point="water_leak", place_id="lilas")
        tilleuls.ids.update(building_id="tilleuls", unit_id=tilleuls.unit,
                            device_id="leak-tilleuls-cave", point="water_leak",
                            place_id="tilleuls")
        site = Site(apps[0], running.api_url, tokens, lilas, tilleuls, http)
        me = {user: http.get("/api/me", headers=site.as_user(user)).json() for user in USERS}
        lilas.ids["member_id"] = str(me["amelie"]["id"])
        tilleuls.ids["member_id"] = str(me["david"]["id"])
        _seed(site, mosquitto, running)
        yield site
    finally:
        http.close()
        thread.stop()
