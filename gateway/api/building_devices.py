"""``GET /api/buildings/{id}/devices``: device health of one building, laid out as it is built.

Devices are grouped by entrance and floor (a device in a flat goes under its floor,
its own place still named), each with its availability (``online``, ``offline`` or
``unknown`` until heard from: :mod:`gateway.availability`), when it was last heard,
its battery when it has one, and the last value of each point. A point's history
for a chart is ``GET /api/devices/{id}/points/{point}/history``.

For the installers and managers of the building; anyone else gets the same 404 as
for a building that does not exist (as the history routes answer).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from devices.records import Device, Reading
from gateway.api.access import Staff, staff_of
from gateway.availability import DeviceHealth
from gateway.config.installation import Installation
from gateway.pipeline import Pipeline
from social.api.deps import CurrentMember, SessionDep
from social.site import PlaceNode

router = APIRouter(tags=["gateway"])

#: The points that say how a battery is doing (``devices.kinds.battery``).
BATTERY_POINT, BATTERY_LOW_POINT = "battery", "battery_low"


def _no_building(building_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no building {building_id!r}")


def building_staff(building_id: str, request: Request, member: CurrentMember,
                   session: SessionDep) -> Staff:
    """The caller's rights when they install or manage ``building_id``; 404 otherwise.

    A plain ``def``: FastAPI runs it in its thread pool, away from the MQTT intake.
    """
    installation: Installation = request.app.state.gateway.installation
    node = installation.places.get(building_id)
    if node is None or node.kind != "building":
        raise _no_building(building_id)
    try:
        staff = staff_of(session, member, installation)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            raise _no_building(building_id) from None
        raise
    if not staff.covers(installation, building_id):
        raise _no_building(building_id)
    session.rollback()  # on SQLite the request's transaction holds the write lock
    return staff


BuildingStaff = Annotated[Staff, Depends(building_staff)]


def _place(node: PlaceNode) -> dict[str, str]:
    return {"id": node.id, "kind": node.kind, "name": node.name}


def _battery(device: Device, values: dict[tuple[str, str], Reading]) -> dict[str, Any] | None:
    """The last battery reading, or None for a device without a battery point."""
    has_level = device.point(BATTERY_POINT) is not None
    has_flag = device.point(BATTERY_LOW_POINT) is not None
    if not (has_level or has_flag):
        return None
    level = values.get((device.id, BATTERY_POINT))
    low = values.get((device.id, BATTERY_LOW_POINT))
    times = [r.at for r in (level, low) if r is not None]
    return {"percent": level.value if level is not None else None,
            "low": low.value if low is not None else None,
            "at": max(times) if times else None}


def device_health(device: Device, health: DeviceHealth | None,
                  values: dict[tuple[str, str], Reading],
                  places: dict[str, PlaceNode]) -> dict[str, Any]:
    """One device as the health board shows it."""
    node = places.get(device.place_id)
    health = health or DeviceHealth()
    points = []
    for point in device.points:
        last = values.get((device.id, point.name))
        points.append({"name": point.name, "type": point.type, "unit": point.unit,
                       "writable": point.writable,
                       "value": last.value if last is not None else None,
                       "at": last.at if last is not None else None})
    return {
        "id": device.id, "name": device.name, "kind": device.kind, "bridge": device.bridge_id,
        "place": _place(node) if node else {"id": device.place_id, "kind": None,
                                            "name": device.place_id},
        "availability": health.state, "since": health.since, "last_seen": health.last_seen,
        "offline_after": device.offline_after,
        "battery": _battery(device, values),
        "points": points,
    }


def building_layout(installation: Installation, pipeline: Pipeline,
                    building_id: str) -> dict[str, Any]:
    """The building's entrances and floors in site order, each with its devices."""
    places = installation.places
    entrances: dict[str, dict[str, Any]] = {}
    floors: dict[str, dict[str, Any]] = {}
    for node in places.values():  # parents before children, floors in order
        if node.kind == "entrance" and node.parent_id == building_id:
            entrances[node.id] = {**_place(node), "devices": [], "floors": []}
        elif node.kind == "floor" and node.parent_id in entrances:
            floor = floors[node.id] = {**_place(node), "devices": []}
            entrances[node.parent_id]["floors"].append(floor)
    at_building: list[dict[str, Any]] = []
    counts = {"devices": 0, "online": 0, "offline": 0, "unknown": 0, "battery_low": 0}
    health, values = pipeline.health, pipeline.last_values
    for device in sorted(pipeline.registry, key=lambda d: (d.place_id, d.id)):
        if installation.building_of(device.place_id) != building_id:
            continue
        row = device_health(device, health.get(device.id), values, places)
        counts["devices"] += 1
        counts[row["availability"]] += 1
        if row["battery"] is not None and row["battery"]["low"] is True:
            counts["battery_low"] += 1
        floor_id = installation.ancestor(device.place_id, "floor")
        entrance_id = installation.ancestor(device.place_id, "entrance")
        if floor_id in floors:
            floors[floor_id]["devices"].append(row)
        elif entrance_id in entrances:
            entrances[entrance_id]["devices"].append(row)
        else:
            at_building.append(row)
    return {"devices": at_building, "entrances": list(entrances.values()), "counts": counts}


@router.get("/api/buildings/{building_id}/devices",
            responses={404: {"description": "no such building among those you install or "
                                            "manage"}})
async def building_devices(building_id: str, request: Request,
                           _staff: BuildingStaff) -> dict[str, Any]:
    """Device health of a building by entrance and floor, with last values and batteries.

    ``async``: it reads the pipeline's live state in the thread that changes it.
    """
    runtime = request.app.state.gateway
    installation: Installation = runtime.installation
    node = installation.places.get(building_id)
    if node is None:  # gone in a reload since the access check
        raise _no_building(building_id)
    return {"building": _place(node), "at": time.time(),
            **building_layout(installation, runtime.pipeline, building_id)}
