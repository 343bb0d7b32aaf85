"""Gateway routes mounted on the social API: status, unclaimed traffic, reload, commands,
the configuration's state, live traffic, device health per building."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api import admin, building_devices, commands, history, installer, status

GATEWAY_ROUTERS: tuple[APIRouter, ...] = (
    status.router, admin.router, commands.router, history.router, installer.router,
    building_devices.router,
)
