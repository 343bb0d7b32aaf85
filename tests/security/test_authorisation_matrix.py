"""Who gets in, and what an outsider sees: every route of the served app, enumerated.

1. Without credentials, every route answers 401 (API) or sends to the login page
   (pages), except the few public by design listed in PUBLIC with their reason. A route
   added later is enumerated too, so it cannot escape: it is either public on purpose
   (added to PUBLIC) or it must refuse.
2. Roles × resources × actions: a resident and a merchant against Les Lilas, a manager and
   an installer of Les Lilas against Les Tilleuls. Every list, detail, search and write
   route is called with the other building's ids (and its place in query and body): the
   answer is a refusal (403/404, or 400/409/422 for a write that changed nothing), never a
   2xx carrying that building's private texts, and never a server error.
3. The live stream: an outsider connected while a building's private post is made
   receives nothing of it; an insider does (the control that shows the check can fail).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.security.site import Building, Route, Site, routes_of

pytestmark = pytest.mark.integration

#: Routes anyone may call, and why.
PUBLIC: dict[str, str] = {
    "POST /api/auth/token": "login",
    "GET /api/invites/{code}": "invite lookup before joining",
    "POST /api/join": "invite redemption (creates the account)",
    "GET /api/healthz": "liveness for load balancers",
    "GET /api/display/{token}": "hall display: the unguessable token is the credential",
    "GET /display/{token}": "hall display page: the same token",
    "GET /openapi.json": "API description", "GET /docs": "API docs",
    "GET /docs/oauth2-redirect": "API docs", "GET /redoc": "API docs",
    "GET /login": "login page", "POST /login": "login form",
    "POST /lang": "language switch (a cookie, nothing else)",
    "GET /join": "invite redemption page", "POST /join": "invite redemption form",
    "GET /static/{file:path}": "stylesheets and scripts",
}
#: A value for each path parameter when the owner does not matter.
ANY_VALUE = {"unit_id": "lilas/b/3/31", "file": "palier.css", "kind": "like",
             "service": "babysitting", "point": "water_leak", "building_id": "lilas",
             "device_id": "leak-lilas-b-cave", "code": "NOPE-NOPE", "token": "nope"}
#: Path parameters whose value names something of a building (Building.ids has them) or
#: that are ids of things the test does not create (an unknown id is refused as well).
UNSEEDED = ("request_id", "membership_id", "report_id", "appeal_id", "offer_id", "link_id",
            "notification_id", "code", "kind", "service", "token")
#: Query parameters that name a place: set to the other building.
PLACE_QUERY = ("place", "building", "building_id", "place_id")
#: Writes an outsider may make with the other building's ids, and why.
ALLOWED_WRITES: dict[str, str] = {
    "POST /api/members/{member_id}/block": "blocking someone only hides them from oneself",
    "DELETE /api/members/{member_id}/block": "unblocking is one's own list",
}

ACTORS = (("david", "lilas", "resident of another building"),
          ("boulangerie", "lilas", "merchant of the neighbourhood"),
          ("syndic", "tilleuls", "manager of another building"),
          ("installateur", "tilleuls", "installer of another building"))


def known_params(site: Site) -> set[str]:
    return set(site.lilas.ids) | set(ANY_VALUE) | set(UNSEEDED)


def fill(route: Route, values: dict[str, str]) -> str:
    return route.url({p: values.get(p, ANY_VALUE.get(p, "999999")) for p in route.params})


def test_every_path_parameter_is_known_to_the_matrix(site: Site) -> None:
    """A route with a parameter the matrix cannot fill would be tested with junk only."""
    unknown = {f"{r}: {p}" for r in routes_of(site.app) for p in r.params
               if p not in known_params(site)}
    assert not unknown, f"teach the matrix these parameters (site.py / ANY_VALUE): {unknown}"


def test_public_routes_exist(site: Site) -> None:
    declared = {str(r) for r in routes_of(site.app)}
    assert {"POST /api/auth/token", "GET /api/healthz", "POST /api/join"} <= declared
    stale = sorted(set(PUBLIC) - declared)
    # pages arrive with the web helper's work: only the API part must be present today
    assert not [s for s in stale if " /api/" in s], f"PUBLIC lists removed routes: {stale}"


def test_without_credentials_every_private_route_refuses(site: Site) -> None:
    refused: Counter[str] = Counter()
    failures = []
    with httpx.Client(base_url=site.api_url, timeout=10, follow_redirects=False) as anonymous:
        for route in routes_of(site.app):
            url = fill(route, {})
            kwargs: dict[str, Any] = {}
            if route.method in ("POST", "PUT", "PATCH", "DELETE") and route.api:
                kwargs["json"] = {}
            reply = anonymous.request(route.method, url, **kwargs)
            where = f"{route} -> {reply.status_code}"
            if reply.status_code >= 500:
                failures.append(f"{where}: server error")
            elif str(route) in PUBLIC:
                if reply.status_code == 401:
                    failures.append(f"{where}: public by design, yet refused")
            elif route.api or route.path.startswith("/api/"):
                if reply.status_code != 401:
                    failures.append(f"{where}: expected 401")
                else:
                    refused["api 401"] += 1
            else:  # a page: 401, or a redirect to the login page
                location = reply.headers.get("location", "")
                if reply.status_code in (302, 303, 307) and location.startswith("/login"):
                    refused["page -> /login"] += 1
                elif reply.status_code in (401, 403):
                    refused[f"page {reply.status_code}"] += 1
                else:
                    failures.append(f"{where}: a page must send to /login or refuse")
    print(f"unauthenticated: {sum(refused.values())} refused {dict(refused)}, "
          f"{len(PUBLIC)} public by design")
    assert not failures, "\n".join(failures)


# -- roles × resources × actions -----------------------------------------------------------


def minimal(schema: dict[str, Any], spec: dict[str, Any], place: str) -> Any:
    """The smallest value ``schema`` accepts, with place-like fields set to ``place``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return minimal(spec["components"]["schemas"][name], spec, place)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return minimal(options[0], spec, place)
    if "allOf" in schema:
        return minimal(schema["allOf"][0], spec, place)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        value = {name: minimal(properties.get(name, {}), spec, place)
                 for name in schema.get("required", [])}
        for name in (*PLACE_QUERY, "unit", "unit_id"):
            if name in properties:
                value[name] = place
        return value
    if kind == "array":
        return [minimal(schema.get("items", {}), spec, place)
                for _ in range(schema.get("minItems", 0))]
    if kind == "integer" or kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time":
            return (datetime.now(UTC) + timedelta(days=1)).isoformat()
        if fmt == "date":
            return (date.today() - timedelta(days=1)).isoformat()
        return "x" * max(1, schema.get("minLength", 1))
    return "x"


def operation(spec: dict[str, Any], route: Route) -> dict[str, Any] | None:
    path = re.sub(r":path}", "}", route.path)
    op: dict[str, Any] | None = spec["paths"].get(path, {}).get(route.method.lower())
    return op


def request_for(route: Route, spec: dict[str, Any], target: Building) -> dict[str, Any]:
    """The URL, query and body that aim ``route`` at ``target``'s things."""
    kwargs: dict[str, Any] = {}
    op = operation(spec, route) or {}
    params: dict[str, str] = {}
    for p in op.get("parameters", []):
        if p["in"] != "query":
            continue
        if p["name"] in PLACE_QUERY:
            params[p["name"]] = target.id
        elif p["name"] == "q":
            params["q"] = f"{target.id.upper()}-SECRET"
        elif p.get("required"):
            params[p["name"]] = str(minimal(p.get("schema", {}), spec, target.id))
    if params:
        kwargs["params"] = params
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        kwargs["json"] = minimal(content["application/json"]["schema"], spec, target.id)
    return kwargs


def leaked(body: str, target: Building) -> list[str]:
    text = body
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(body), ensure_ascii=False)
    return [m for m in (*target.markers, target.resident_name) if m in text]


@pytest.mark.parametrize(("actor", "building", "who"), ACTORS, ids=[a[0] for a in ACTORS])
def test_an_outsider_gets_nothing_of_another_building(site: Site, actor: str, building: str,
                                                      who: str) -> None:
    target = site.lilas if building == "lilas" else site.tilleuls
    spec = site.app.openapi()
    headers = site.as_user(actor)
    outcomes: Counter[str] = Counter()
    failures = []
    for route in routes_of(site.app):
        key = str(route)
        if key in PUBLIC or key == "GET /api/stream" or not route.path.startswith("/api/"):
            continue
        write = route.method != "GET"
        kwargs = request_for(route, spec, target)
        aimed = bool(route.params) or "params" in kwargs or any(
            isinstance(kwargs.get("json"), dict) and f in kwargs["json"]
            for f in (*PLACE_QUERY, "unit", "unit_id"))
        if write and not aimed:
            continue  # acts on the caller's own things (their profile, their reads)
        reply = site.http.request(route.method, fill(route, target.ids), headers=headers,
                                  **kwargs)
        status = reply.status_code
        outcomes[f"{route.method} {status}"] += 1
        where = f"{who} ({actor}) {route} -> {status}"
        if status >= 500:
            failures.append(f"{where}: server error {reply.text[:200]}")
        elif 200 <= status < 300:
            found = leaked(reply.text, target)
            if found:
                failures.append(f"{where}: leaks {found}")
            elif write and key not in ALLOWED_WRITES:
                failures.append(f"{where}: a write on another building's things succeeded")
        elif status in (401,):
            failures.append(f"{where}: the actor's token was refused")
    print(f"{actor} vs {building}: {sum(outcomes.values())} requests {dict(outcomes)}")
    assert not failures, "\n".join(failures)


def test_insiders_do_see_their_building(site: Site) -> None:
    """The control: the markers are findable, so their absence above means something."""
    post = site.http.get(f"/api/posts/{site.lilas.ids['post_id']}",
                         headers=site.as_user("amelie"))
    assert post.status_code == 200 and leaked(post.text, site.lilas)
    found = site.http.get("/api/search", params={"q": "LILAS-SECRET"},
                          headers=site.as_user("amelie"))
    assert found.status_code == 200 and leaked(found.text, site.lilas)
    alarm = site.http.get(f"/api/alarms/{site.lilas.ids['alarm_id']}/explain",
                          headers=site.as_user("syndic"))
    assert alarm.status_code == 200 and "leak-lilas-b-cave" in alarm.text


def _stream(site: Site, user: str, seconds: float, into: list[str]) -> None:
    """Read ``/api/stream`` as ``user`` for ``seconds`` (silence ends it too)."""
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=site.api_url, timeout=httpx.Timeout(seconds)) as client, \
            client.stream("GET", "/api/stream", headers=site.as_user(user)) as reply:
        into.append(f"status {reply.status_code}")
        with contextlib.suppress(httpx.ReadTimeout):  # nothing for the outsider: as hoped
            for chunk in reply.iter_text():
                into.append(chunk)
                if time.monotonic() > deadline:
                    break


def test_the_live_stream_carries_nothing_of_another_building(site: Site) -> None:
    outsider: list[str] = []
    insider: list[str] = []
    readers = [threading.Thread(target=_stream, args=(site, "david", 4.0, outsider)),
               threading.Thread(target=_stream, args=(site, "syndic", 4.0, insider))]
    for reader in readers:
        reader.start()
    time.sleep(1.0)
    marker = f"LILAS-SECRET-live-{time.time_ns()}"
    reply = site.http.post("/api/posts", headers=site.as_user("amelie"), json={
        "place": "lilas", "kind": "message", "title": marker, "body": marker, "data": {}})
    assert reply.status_code == 201, reply.text
    # keep the streams busy so that they reach their deadline and close
    for _ in range(6):
        site.http.post("/api/posts", headers=site.as_user("amelie"), json={
            "place": "lilas/b", "kind": "message", "title": "tick", "body": "", "data": {}})
        time.sleep(0.6)
    for reader in readers:
        reader.join(15)
    assert outsider and outsider[0] == "status 200"
    assert marker in "".join(insider), "the control: the building's manager sees it live"
    assert marker not in "".join(outsider)
    assert not leaked("".join(outsider), site.lilas)
