"""What installers and managers need to trust the intake.

``/api/gateway/status``: counters and device health; ``/api/gateway/unclaimed``:
traffic no device claims (new devices joining); ``/api/gateway/dead-letters``:
rejected messages with their reasons. Each shows only the caller's buildings,
except bridge-wide traffic (unclaimed, dead letters) which installers see.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gateway.api.access import Staff, staff_of
from gateway.config.installation import Installation
from gateway.pipeline import DeadLetter, Pipeline
from social.api.deps import CurrentMember, SessionDep

router = APIRouter(tags=["gateway"])


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", "replace")


def _parts(request: Request) -> tuple[Pipeline, Installation]:
    return request.app.state.gateway.pipeline, request.app.state.gateway.installation


@router.get("/api/gateway/status")
def gateway_status(request: Request, member: CurrentMember, session: SessionDep) -> dict[str, Any]:
    pipeline, installation = _parts(request)
    staff = staff_of(session, member, installation)
    devices = []
    for device in pipeline.registry:
        if not staff.covers(installation, device.place_id):
            continue
        health = pipeline.health[device.id]
        devices.append({
            "id": device.id, "kind": device.kind, "place": device.place_id,
            "state": health.state, "online": health.online, "last_seen": health.last_seen,
            "since": health.since, "offline_after": device.offline_after,
        })
    body: dict[str, Any] = {"devices": devices, "bridges_online": pipeline.bridges_online,
                            "config": request.app.state.gateway.config_state()}
    if staff.installer:
        body["stats"] = pipeline.stats.as_dict()
        influx = getattr(request.app.state, "influx", None)
        if influx is not None:  # buffered while the server is away, then sent, or dropped
            body["influx"] = influx.stats()
        body["dead_letters"] = _dead_letters(pipeline, 50, staff, installation)
    return body


def _dead_letters(pipeline: Pipeline, limit: int, staff: Staff,
                  installation: Installation) -> list[dict[str, Any]]:
    """The newest ``limit`` dead letters the caller may see: those of a device of their
    buildings and, for installers, those tied to no device (undecodable: bridge-wide)."""

    def visible(letter: DeadLetter) -> bool:
        if letter.device_id is None:
            return staff.installer
        device = pipeline.registry.get(letter.device_id)
        return device is not None and staff.covers(installation, device.place_id)

    letters = [d for d in list(pipeline.dead_letters) if visible(d)]
    return [
        {"topic": d.topic, "reason": d.reason, "at": d.at, "payload": _text(d.payload)}
        for d in letters[-limit:]
    ]


@router.get("/api/gateway/dead-letters")
def dead_letters(request: Request, member: CurrentMember, session: SessionDep,
                 limit: int = 100) -> dict[str, Any]:
    pipeline, installation = _parts(request)
    staff = staff_of(session, member, installation)
    return {"items": _dead_letters(pipeline, max(1, min(limit, 500)), staff, installation)}


@router.get("/api/gateway/unclaimed")
def unclaimed(request: Request, member: CurrentMember, session: SessionDep) -> dict[str, Any]:
    pipeline, installation = _parts(request)
    staff_of(session, member, installation)
    return {"items": [
        {"bridge": e.bridge_id, "source": e.source, "topic": e.topic, "count": e.count,
         "first_seen": e.first_seen, "last_seen": e.last_seen,
         "last_payload": _text(e.last_payload)}
        for e in pipeline.unclaimed.entries()
    ]}
