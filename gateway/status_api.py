"""``GET /api/gateway/status``: what installers and managers need to trust the intake.

Counters of received, accepted and rejected messages, the last dead letters with
their reasons (installers and admins), and device health for the buildings the
caller installs or manages — never another building's devices.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select

from gateway.config.installation import Installation
from gateway.pipeline import Pipeline
from social.api.deps import CurrentMember, SessionDep
from social.models import Membership
from social.visibility import MANAGER_ROLES, current_membership

router = APIRouter(tags=["gateway"])

INSTALLER_ROLES = frozenset({"installer", "admin"})


@router.get("/api/gateway/status")
def gateway_status(request: Request, member: CurrentMember, session: SessionDep) -> dict[str, Any]:
    pipeline: Pipeline = request.app.state.pipeline
    installation: Installation = request.app.state.installation
    rows = session.execute(
        select(Membership.place_id, Membership.role).where(
            Membership.member_id == member.id, current_membership()
        )
    ).all()
    staff = [(place, role) for place, role in rows
             if role in INSTALLER_ROLES or role in MANAGER_ROLES]
    if not staff:
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "the gateway status is for installers and building managers")
    is_admin = any(role == "admin" for _, role in staff)
    buildings = {installation.building_of(place) for place, _ in staff}
    devices = [
        {
            "id": device.id,
            "kind": device.kind,
            "place": device.place_id,
            "online": health.online,
            "last_seen": health.last_seen,
        }
        for device in pipeline.registry
        if (health := pipeline.health[device.id])
        and (is_admin or installation.building_of(device.place_id) in buildings)
    ]
    body: dict[str, Any] = {"devices": devices, "bridges_online": pipeline.bridges_online}
    if any(role in INSTALLER_ROLES for _, role in staff):
        body["stats"] = pipeline.stats.as_dict()
        body["dead_letters"] = [
            {"topic": d.topic, "reason": d.reason, "at": d.at,
             "payload": d.payload.decode("utf-8", "replace")}
            for d in list(pipeline.dead_letters)[-50:]
        ]
    return body
