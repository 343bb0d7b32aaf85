"""Telemetry over HTTP: a point's history, building summaries, and what residents may see.

``GET /api/devices/{id}/points/{point}/history`` and ``GET /api/buildings/{id}/summary``
are for the installers and managers of the building. Anyone else — a resident, a
manager of another building — gets the same 404 as for a device or building that
does not exist, so nobody learns what another building has by probing ids.

``GET /api/buildings/{id}/public-summary`` is for every current member of the
building: building totals of the metrics its managers chose to share
(``PUT …/public-summary/shares``), never a device, never a flat's own meter (the
rules are in :mod:`gateway.telemetry.summary`).

The store is ``app.state.telemetry`` (a :class:`~gateway.telemetry.store.TelemetryStore`);
the devices and places come from the running gateway, ``app.state.gateway``.
Routes are plain ``def``: the store blocks, so FastAPI runs them in its thread pool.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.durations import parse_duration
from devices.records import Device
from gateway.api.access import Staff, staff_of
from gateway.config.installation import Installation
from gateway.telemetry.errors import QueryError, StoreError
from gateway.telemetry.rollup import format_every
from gateway.telemetry.store import TelemetryStore
from gateway.telemetry.summary import (
    METRICS,
    Metric,
    PeriodKind,
    building_devices,
    manager_view,
    measure,
    period_of,
    public_view,
)
from social.api.deps import CurrentMember, SessionDep
from social.models import Member, Membership
from social.notifications import SITE_ZONE
from social.visibility import LOCAL_ACTOR_ROLES, current_membership, manageable_building_ids

router = APIRouter(tags=["telemetry"])

_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_UNPROCESSABLE = status.HTTP_422_UNPROCESSABLE_CONTENT
DEFAULT_SPAN = 86400.0


class SharesRequest(BaseModel):
    """The metrics every member of the building may see as building totals."""

    model_config = ConfigDict(extra="forbid")
    metrics: list[Metric]


# -- what the route needs from the app ---------------------------------------------


def _store(request: Request) -> TelemetryStore:
    store: TelemetryStore | None = getattr(request.app.state, "telemetry", None)
    if store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the telemetry store is not running on this gateway")
    return store


def _installation(request: Request) -> Installation:
    installation: Installation = request.app.state.gateway.installation
    return installation


def _devices(request: Request) -> list[Device]:
    return list(request.app.state.gateway.pipeline.registry)


def _staff(session: Session, member: Member, installation: Installation) -> Staff | None:
    """The caller's staff rights, or None for anyone else (who then gets a 404, not a 403)."""
    try:
        return staff_of(session, member, installation)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            return None
        raise


def _no_device(device_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no device {device_id!r}")


def _no_building(building_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no building {building_id!r}")


def _unprocessable(detail: str) -> HTTPException:
    return HTTPException(_UNPROCESSABLE, detail)


def _unavailable(exc: StoreError) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))


def _release(session: Session) -> None:
    """End the request's social-database transaction once access is decided.

    On SQLite that transaction began ``IMMEDIATE`` and holds the write lock: kept
    open while the telemetry store answers, it would make alarms wait for a chart.
    """
    session.rollback()


# -- parameters ---------------------------------------------------------------------


def parse_instant(text: str, name: str) -> float:
    """Epoch seconds from ``1773129600`` or an ISO 8601 time; a time without an offset
    is the site's local time (what a manager in Paris means by ``2026-03-10T08:00``)."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _unprocessable(
            f"{name}: {text!r} is neither an ISO 8601 time (2026-03-10T08:00:00+01:00) nor "
            "epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SITE_ZONE)
    return moment.timestamp()


def parse_every(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise _unprocessable(f"every: {exc}") from None
    if seconds < 1:
        raise _unprocessable(f"every: {text!r} is under a second; the finest interval is 1s")
    return seconds


def _day(text: str | None, now: float) -> date:
    if text is None:
        return datetime.fromtimestamp(now, SITE_ZONE).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _unprocessable(f"date: {text!r} is not a date; write it YYYY-MM-DD") from None


# -- history ------------------------------------------------------------------------


@router.get("/api/devices/{device_id}/points/{point}/history",
            responses={404: {"description": "no such device among those you install or manage"},
                       422: {"description": "a bad range, interval or point"}})
def point_history(
    device_id: str,
    point: str,
    request: Request,
    member: CurrentMember,
    session: SessionDep,
    start: Annotated[str | None, Query(alias="from", description="ISO 8601 or epoch seconds; "
                                       "default: 24 hours before 'to'")] = None,
    end: Annotated[str | None, Query(alias="to", description="ISO 8601 or epoch seconds; "
                                     "default: now")] = None,
    every: Annotated[str | None, Query(description="bucket width: 30s, 5m, 1h, 1d; default: "
                                       "the finest that fits in 2000 points")] = None,
) -> dict[str, Any]:
    installation = _installation(request)
    device = request.app.state.gateway.pipeline.registry.get(device_id)
    staff = _staff(session, member, installation)
    if device is None or staff is None or not staff.covers(installation, device.place_id):
        raise _no_device(device_id)
    _release(session)
    store = _store(request)
    declared = device.point(point)
    if declared is None:
        names = ", ".join(p.name for p in device.points) or "none"
        raise _unprocessable(f"device {device.id!r} has no point {point!r}; its points: {names}")
    if declared.type == "text":
        try:
            last = store.last_value(device.id, point)
        except StoreError as exc:
            raise _unavailable(exc) from exc
        said = f"; its last value is {last[1]!r}" if last else ""
        raise _unprocessable(f"point {point!r} is text: history is kept for numbers and true/false "
                             f"points only{said}")
    until = parse_instant(end, "to") if end is not None else store.now()
    since = parse_instant(start, "from") if start is not None else until - DEFAULT_SPAN
    try:
        found = store.history(device.id, point, since, until,
                              parse_every(every) if every is not None else None)
    except QueryError as exc:
        raise _unprocessable(str(exc)) from None
    except StoreError as exc:
        raise _unavailable(exc) from exc
    plan = found.plan
    return {
        "device": device.id,
        "point": point,
        "unit": declared.unit,
        "type": declared.type,
        "from": plan.start,
        "to": plan.end,
        "every": format_every(plan.every),
        "every_seconds": plan.every,
        "requested_every": format_every(plan.requested_every),
        "coarsened": plan.coarsened,
        "notes": list(plan.notes),
        "source": plan.source,
        "points": [{"t": p.ts, "min": p.min, "max": p.max, "mean": p.mean, "last": p.last,
                    "count": p.count} for p in found.points],
    }


# -- building summaries ---------------------------------------------------------------


def _building(installation: Installation, building_id: str) -> None:
    node = installation.places.get(building_id)
    if node is None or node.kind != "building":
        raise _no_building(building_id)


def _staff_building(request: Request, session: Session, member: Member,
                    building_id: str) -> tuple[Installation, Staff]:
    installation = _installation(request)
    _building(installation, building_id)
    staff = _staff(session, member, installation)
    if staff is None or not staff.covers(installation, building_id):
        raise _no_building(building_id)
    return installation, staff


def _is_member(session: Session, member: Member, installation: Installation,
               building_id: str) -> bool:
    """A current membership inside the building; local actors never count (visibility rule)."""
    rows = session.execute(
        select(Membership.place_id, Membership.role).where(
            Membership.member_id == member.id, current_membership())
    ).all()
    return any(installation.building_of(place) == building_id
               and role not in LOCAL_ACTOR_ROLES for place, role in rows)


@router.get("/api/buildings/{building_id}/summary",
            responses={404: {"description": "no such building among those you install or "
                                            "manage"}})
def building_summary(
    building_id: str,
    request: Request,
    member: CurrentMember,
    session: SessionDep,
    period: PeriodKind = "day",
    day: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD in the site's "
                                     "time zone; default: today")] = None,
) -> dict[str, Any]:
    installation, _ = _staff_building(request, session, member, building_id)
    _release(session)
    store = _store(request)
    now = store.now()
    chosen = period_of(period, _day(day, now), SITE_ZONE)
    devices = building_devices(installation, _devices(request), building_id)
    try:
        figures = measure(store, devices, chosen)
        shared = store.shares(building_id)
    except StoreError as exc:
        raise _unavailable(exc) from exc
    body: dict[str, Any] = {"building": building_id,
                            "name": installation.places[building_id].name}
    body |= manager_view(devices, figures, chosen, SITE_ZONE, now)
    body["shared"] = [m for m in METRICS if m in shared]
    return body


@router.get("/api/buildings/{building_id}/public-summary",
            responses={404: {"description": "no such building among those you belong to"},
                       422: {"description": "a day that is not over yet"}})
def public_summary(
    building_id: str,
    request: Request,
    member: CurrentMember,
    session: SessionDep,
    period: PeriodKind = "day",
    day: Annotated[str | None, Query(alias="date", description="YYYY-MM-DD; default: "
                                     "yesterday")] = None,
) -> dict[str, Any]:
    installation = _installation(request)
    _building(installation, building_id)
    staff = _staff(session, member, installation)
    if not (_is_member(session, member, installation, building_id)
            or (staff is not None and staff.covers(installation, building_id))):
        raise _no_building(building_id)
    _release(session)
    store = _store(request)
    now = store.now()
    today = datetime.fromtimestamp(now, SITE_ZONE).date()
    yesterday = today - timedelta(days=1)
    asked = _day(day, now) if day is not None else yesterday
    chosen = period_of(period, asked, SITE_ZONE)
    if chosen.days[0].end > now:
        raise _unprocessable("the public summary covers finished days only: ask for "
                             f"{yesterday.isoformat()} or earlier")
    devices = building_devices(installation, _devices(request), building_id)
    try:
        shared = store.shares(building_id)
        figures = measure(store, devices, chosen)
    except StoreError as exc:
        raise _unavailable(exc) from exc
    body: dict[str, Any] = {"building": building_id,
                            "name": installation.places[building_id].name}
    body |= public_view(devices, figures, chosen, SITE_ZONE, now, shared)
    body["shared"] = [m for m in METRICS if m in shared]
    return body


def _manager(session: Session, member: Member, staff: Staff, building_id: str) -> bool:
    managed = session.scalars(manageable_building_ids(member.id)).all()
    return staff.admin or building_id in managed


@router.get("/api/buildings/{building_id}/public-summary/shares")
def get_shares(building_id: str, request: Request, member: CurrentMember,
               session: SessionDep) -> dict[str, Any]:
    _staff_building(request, session, member, building_id)
    _release(session)
    try:
        shared = _store(request).shares(building_id)
    except StoreError as exc:
        raise _unavailable(exc) from exc
    return {"building": building_id, "metrics": [m for m in METRICS if m in shared]}


@router.put("/api/buildings/{building_id}/public-summary/shares",
            responses={403: {"description": "installers may read the choice, not make it"}})
def put_shares(building_id: str, body: SharesRequest, request: Request,
               member: CurrentMember, session: SessionDep) -> dict[str, Any]:
    _, staff = _staff_building(request, session, member, building_id)
    if not _manager(session, member, staff, building_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "choosing what residents see is for the building's managers")
    _release(session)
    try:
        shared = _store(request).set_shares(building_id, body.metrics)
    except StoreError as exc:
        raise _unavailable(exc) from exc
    return {"building": building_id, "metrics": [m for m in METRICS if m in shared]}

