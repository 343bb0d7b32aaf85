"""Device commands: ``POST /api/devices/{id}/commands`` and their audit log.

Only managers and installers of the device's building may send one. The value is
the canonical one (``true``, ``21.5`` °C); :func:`gateway.commands.encode_command`
turns it into the vendor's messages (the outbox sends rules' commands the same way),
published at QoS 1. Every attempt, sent or not, is written to the audit log.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from devices.records import Device
from firmware_bridge.base import EncodeError
from gateway.api.access import staff_of
from gateway.commands import NoCommands, encode_command
from social.api.deps import CurrentMember, SessionDep
from social.models import CommandLog, utcnow

router = APIRouter(tags=["devices"])


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    point: str
    value: bool | int | float | str


def _device(request: Request, device_id: str) -> Device:
    device = request.app.state.gateway.pipeline.registry.get(device_id)
    if device is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")
    return device


def _authorise(request: Request, session: SessionDep, member: CurrentMember,
               device: Device) -> None:
    runtime = request.app.state.gateway
    staff = staff_of(session, member, runtime.installation)
    if not staff.covers(runtime.installation, device.place_id):
        # Same answer as an unknown device: no probing other buildings' equipment.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device.id!r}")


def _log_row(row: CommandLog) -> dict[str, Any]:
    return {"id": row.id, "device_id": row.device_id, "point": row.point, "value": row.value,
            "topic": row.topic, "payload": row.payload, "status": row.status,
            "error": row.error, "member_id": row.member_id,
            "created_at": row.created_at.isoformat()}


@router.post("/api/devices/{device_id}/commands", status_code=status.HTTP_202_ACCEPTED)
async def send_command(device_id: str, body: CommandRequest, request: Request,
                       member: CurrentMember, session: SessionDep) -> dict[str, Any]:
    runtime = request.app.state.gateway
    device = _device(request, device_id)
    _authorise(request, session, member, device)
    encoder = getattr(runtime.decoder_for(device.bridge_id), "encode", None)
    try:
        messages = encode_command(device, body.point, body.value, encoder)
    except NoCommands as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    except EncodeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.reason) from exc
    error = None
    try:
        await runtime.intake.publish(messages)
    except ConnectionError as exc:
        error = str(exc)
    row = CommandLog(
        member_id=member.id, device_id=device.id, point=body.point, value=body.value,
        topic=" ".join(m.topic for m in messages),
        payload="\n".join(m.payload.decode("utf-8", "replace") for m in messages),
        status="failed" if error else "published", error=error, created_at=utcnow(),
    )
    session.add(row)
    session.commit()
    if error:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, error)
    return _log_row(row)


@router.get("/api/devices/{device_id}/commands")
def command_log(device_id: str, request: Request, member: CurrentMember,
                session: SessionDep, limit: int = 50) -> dict[str, Any]:
    device = _device(request, device_id)
    _authorise(request, session, member, device)
    rows = session.scalars(
        select(CommandLog).where(CommandLog.device_id == device.id)
        .order_by(CommandLog.id.desc()).limit(max(1, min(limit, 500)))
    )
    return {"items": [_log_row(r) for r in rows]}
